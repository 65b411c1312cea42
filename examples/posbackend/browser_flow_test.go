package main

import (
	"encoding/json"
	"html/template"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

// The page plays POS: it loads the extension's client module
// (../pos-extension/src/client.js), calls the backend the way the modal
// does (fetchShop), and runs the background target's sync
// (startTransactionSync) on a stand-in for its `shopify` global, firing
// transactioncomplete events shaped like POS's: a sale, the same sale
// again, and a return of it.
var flowPage = template.Must(template.New("flow").Parse(`<!doctype html>
<meta charset="utf-8">
<title>posbackend POS flow</title>
<pre id="out">running</pre>
<script type="module">
import {fetchShop, startTransactionSync} from '/client.js';
const backend = {{.Backend}};
const token = {{.Token}};
const session = {
  currentSession: {shopId: 11, userId: {{.UserID}}, shopDomain: {{.Shop}}, locationId: 22, staffMemberId: 33, currency: 'CAD', posVersion: '10.14.0'},
  getSessionToken: async () => token,
};
const store = new Map();
const storage = {
  set: async (k, v) => { store.set(k, structuredClone(v)); },
  get: async (k) => store.get(k),
  delete: async (k) => store.delete(k),
  clear: async () => store.clear(),
  entries: async () => [...store.entries()],
};
const listeners = [];
const results = [];
let settle;
const next = () => new Promise((r) => (settle = r));
const shopify = {
  session,
  storage,
  addEventListener: (type, l) => { if (type === 'transactioncomplete') listeners.push(l); },
  connectivity: {current: {value: {internetConnected: 'Connected'}, subscribe: () => () => {}}},
};
const money = (amount) => ({amount, currency: 'CAD'});
const sale = {
  transactionType: 'Sale', orderId: {{.OrderID}}, executedAt: '2026-12-01T12:00:00Z',
  grandTotal: money(22.6), subtotal: money(20), taxTotal: money(2.6), discounts: [], paymentMethods: [],
  balanceDue: money(0), shippingLines: [], taxLines: [], customer: {id: 501},
  lineItems: [{uuid: 'a', quantity: 1, price: 10, discounts: [], taxable: true, taxLines: [], properties: {}, isGiftCard: false},
              {uuid: 'b', quantity: 1, price: 10, discounts: [], taxable: true, taxLines: [], properties: {}, isGiftCard: false}],
};
const ret = {...sale, transactionType: 'Return', returnId: 9001, refundId: 9002, executedAt: '2026-12-01T13:00:00Z',
  grandTotal: money(-11.3), subtotal: money(-10), taxTotal: money(-1.3), lineItems: [sale.lineItems[0]]};
const report = {};
try {
  report.shop = await fetchShop(backend, session);
  let p = next();
  startTransactionSync(shopify, backend, {onResult: (r) => { results.push(r); settle(); }});
  await p; // the flush at start: nothing waiting
  for (const event of [sale, sale, ret]) {
    p = next();
    listeners[0](event);
    await p;
  }
  report.results = results;
  report.pending = store.size;
  const res = await fetch(backend + '/api/transactions', {headers: {Authorization: 'Bearer ' + token}});
  report.ledger = await res.json();
} catch (e) {
  report.exception = String(e);
}
document.getElementById('out').textContent = JSON.stringify(report, null, 1);
await fetch('/report', {method: 'POST', body: JSON.stringify(report)});
</script>
`))

// TestBrowserPOSFlow: headless Chromium runs the extension's code in a
// page on another origin; the backend verifies its session tokens, acts
// for the shop through access (a token exchange) and admin (Admin API
// calls), and Shopify (shopifytest) ends up with exactly the order tags
// the transactions call for, once each.
func TestBrowserPOSFlow(t *testing.T) {
	chromium := chromiumPath(t)
	page := listenPage(t)

	fake := shopifytest.NewServer()
	defer fake.Close()
	const shop = "browser-flow.myshopify.com"
	order := "gid://shopify/Order/4242"
	fake.AddOrder(shop, order) // the sale POS just made
	t.Setenv("POSBACKEND_FLOW_SECRET", fake.ClientSecret())
	a, _, logs := startApp(t, config{clientID: fake.ClientID(), secretEnv: "POSBACKEND_FLOW_SECRET", shopifyURL: fake.URL, allowedOrigins: []string{page.origin}})

	m := sdktest.Minter{Secret: fake.ClientSecret(), ClientID: fake.ClientID(), Shop: shop, UserID: "777"}
	page.serve(t, flowPage, func() map[string]any {
		return map[string]any{
			"Backend": a.url, "Token": m.Admin(sdktest.Set("exp", time.Now().Add(5*time.Minute).Unix())),
			"Shop": shop, "UserID": template.JS("777"), "OrderID": template.JS("4242"),
		}
	})

	raw := browse(t, chromium, page.origin, page.reports, logs)
	var rep struct {
		Shop struct {
			OK   bool `json:"ok"`
			Shop struct {
				Name, CurrencyCode, MyshopifyDomain string
			} `json:"shop"`
		} `json:"shop"`
		Results []struct{ Sent, Kept, Dropped int } `json:"results"`
		Pending int                                 `json:"pending"`
		Ledger  struct {
			Transactions []transaction `json:"transactions"`
		} `json:"ledger"`
		Exception string `json:"exception"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("report %s: %v", raw, err)
	}
	t.Logf("page report: %s", raw)
	if rep.Exception != "" {
		t.Fatalf("page threw: %s\nbackend log:\n%s", rep.Exception, logs.String())
	}
	if !rep.Shop.OK || rep.Shop.Shop.Name != "browser-flow" || rep.Shop.Shop.MyshopifyDomain != shop {
		t.Errorf("fetchShop: %s", raw)
	}
	// Start (nothing), sale, sale again (a duplicate: sent, not ingested
	// twice), return.
	if len(rep.Results) != 4 || rep.Results[1].Sent != 1 || rep.Results[2].Sent != 1 || rep.Results[3].Sent != 1 || rep.Pending != 0 {
		t.Errorf("sync results %+v, %d pending", rep.Results, rep.Pending)
	}
	if n := len(rep.Ledger.Transactions); n != 2 {
		t.Errorf("ledger holds %d transactions, want 2 (the sale once, the return)", n)
	}

	// What reached Shopify.
	added := fake.TagsAdded(shop)
	if len(added) != 2 || added[0].OrderID != order || !slices.Equal(added[0].Tags, []string{"possession", "pos-sale"}) ||
		!slices.Equal(added[1].Tags, []string{"possession", "pos-return"}) {
		t.Errorf("tagsAdd mutations on the fake: %+v", added)
	}
	if got := fake.OrderTags(shop, order); !slices.Equal(got, []string{"pos-return", "pos-sale", "possession"}) {
		t.Errorf("order tags %q", got)
	}
	if c := fake.GrantCounts(); c.Exchange != 1 {
		t.Errorf("grants %+v, want one token exchange", c)
	}
	if n := strings.Count(logs.String(), "method=OPTIONS path=/api/transactions status=204"); n == 0 {
		t.Errorf("no preflight of POST /api/transactions answered:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), fake.ClientSecret()) {
		t.Error("the client secret was logged")
	}
}

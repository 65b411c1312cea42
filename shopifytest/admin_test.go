package shopifytest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/access/accesstest"
	"github.com/possession-dev/possession/shopifytest"
)

const testShop = "fake-admin.myshopify.com"

// newClock is a settable clock for the fake.
func newClock() *accesstest.Clock {
	return accesstest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
}

type gqlResult struct {
	status  int
	header  http.Header
	raw     string
	Data    map[string]json.RawMessage `json:"data"`
	Errors  []map[string]any           `json:"errors"`
	Ext     *struct{ Cost *costJSON }  `json:"extensions"`
	decoded map[string]any
}

type costJSON struct {
	RequestedQueryCost int  `json:"requestedQueryCost"`
	ActualQueryCost    *int `json:"actualQueryCost"`
	ThrottleStatus     struct {
		MaximumAvailable   float64 `json:"maximumAvailable"`
		CurrentlyAvailable float64 `json:"currentlyAvailable"`
		RestoreRate        float64 `json:"restoreRate"`
	} `json:"throttleStatus"`
}

// post sends a GraphQL request for shop with token to version.
func post(t *testing.T, s *shopifytest.Server, shop, version, token, query string, vars any) gqlResult {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	r := send(t, s, http.MethodPost, shop, version, token, "application/json", string(body))
	if r.status == http.StatusOK {
		if err := json.Unmarshal([]byte(r.raw), &r); err != nil {
			t.Fatalf("response is not JSON: %v\n%s", err, r.raw)
		}
		_ = json.Unmarshal([]byte(r.raw), &r.decoded)
	}
	return r
}

// send makes a request of version's GraphQL endpoint for shop, with the
// access token and the content type when not empty; the result holds the
// status, header and body, not decoded.
func send(t *testing.T, s *shopifytest.Server, method, shop, version, token, ctype, body string) gqlResult {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+"/admin/api/"+version+"/graphql.json", strings.NewReader(body))
	req.Host = shop
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("X-Shopify-Access-Token", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return gqlResult{status: res.StatusCode, header: res.Header, raw: string(b)}
}

const version = "2026-10"

func newFake(t *testing.T, opts ...shopifytest.Option) (*shopifytest.Server, string) {
	t.Helper()
	s := shopifytest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s, s.IssueAccessToken(testShop, "read_products,write_orders", 0)
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAdminShopQuery(t *testing.T) {
	s, tok := newFake(t, shopifytest.WithClock(newClock().Now))
	r := post(t, s, testShop, version, tok, `{ shop { name currencyCode myshopifyDomain } }`, nil)
	if r.status != 200 || len(r.Errors) > 0 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	if got, want := string(r.Data["shop"]), `{"name":"fake-admin","currencyCode":"CAD","myshopifyDomain":"fake-admin.myshopify.com"}`; got != want {
		t.Fatalf("shop = %s, want %s", got, want)
	}
	c := r.Ext.Cost
	if c.RequestedQueryCost != 1 || c.ActualQueryCost == nil || *c.ActualQueryCost != 1 {
		t.Fatalf("cost = %+v, want requested 1 actual 1", c)
	}
	if ts := c.ThrottleStatus; ts.MaximumAvailable != 2000 || ts.CurrentlyAvailable != 1999 || ts.RestoreRate != 100 {
		t.Fatalf("throttleStatus = %+v", ts)
	}
	if !strings.Contains(r.raw, `"maximumAvailable":2000.0`) || !strings.Contains(r.raw, `"restoreRate":100.0`) {
		t.Fatalf("maximumAvailable/restoreRate not written as Shopify writes them: %s", r.raw)
	}
	if id := r.header.Get("X-Request-Id"); !uuidRE.MatchString(id) {
		t.Fatalf("X-Request-Id = %q", id)
	}
	if v := r.header.Get("X-Shopify-API-Version"); v != version {
		t.Fatalf("X-Shopify-API-Version = %q", v)
	}
	if r.header.Get("X-Shopify-API-Deprecated-Reason") != "" {
		t.Fatal("deprecation header without a deprecated field")
	}
	if s.Requests(shopifytest.RouteAdminGraphQL) != 1 {
		t.Fatalf("Requests = %d", s.Requests(shopifytest.RouteAdminGraphQL))
	}
}

func TestAdminProductsCostAndPagination(t *testing.T) {
	s, tok := newFake(t, shopifytest.WithClock(newClock().Now)) // no refill between the queries
	q := `query P($n: Int!, $after: String) { products(first: $n, after: $after) { edges { cursor node { id title } } pageInfo { hasNextPage endCursor } } }`
	r := post(t, s, testShop, version, tok, q, map[string]any{"n": 48})
	if len(r.Errors) > 0 {
		t.Fatal(r.raw)
	}
	if c := r.Ext.Cost; c.RequestedQueryCost != 50 || *c.ActualQueryCost != 50 {
		t.Fatalf("cost %+v, want 50/50 (2 + 48 nodes)", c)
	}
	var page struct {
		Edges []struct {
			Cursor string
			Node   struct{ ID, Title string }
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   string
		}
	}
	if err := json.Unmarshal(r.Data["products"], &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Edges) != 48 || page.Edges[0].Node.ID != "gid://shopify/Product/1" || !page.PageInfo.HasNextPage {
		t.Fatalf("first page: %d edges, first %+v, hasNext %v", len(page.Edges), page.Edges[0], page.PageInfo.HasNextPage)
	}
	// The rest: 52 products; the requested cost assumes 60, the actual
	// cost counts what came back.
	r = post(t, s, testShop, version, tok, q, map[string]any{"n": 60, "after": page.PageInfo.EndCursor})
	if err := json.Unmarshal(r.Data["products"], &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Edges) != shopifytest.CannedProducts-48 || page.Edges[0].Node.Title != "Product 49" || page.PageInfo.HasNextPage {
		t.Fatalf("second page: %d edges, first %+v, hasNext %v", len(page.Edges), page.Edges[0], page.PageInfo.HasNextPage)
	}
	if c := r.Ext.Cost; c.RequestedQueryCost != 62 || *c.ActualQueryCost != 54 {
		t.Fatalf("cost %+v, want requested 62, actual 54", c)
	}
	// The bucket was refunded the difference: 2000 - 50 - 54.
	if got := r.Ext.Cost.ThrottleStatus.CurrentlyAvailable; got != 2000-50-54 {
		t.Fatalf("currentlyAvailable = %v, want %d", got, 2000-50-54)
	}
	if s.CostSpent(testShop) != 104 {
		t.Fatalf("CostSpent = %d", s.CostSpent(testShop))
	}
}

func TestAdminProductQueries(t *testing.T) {
	s, tok := newFake(t)
	tests := []struct {
		name, query     string
		vars            map[string]any
		want            string // data, JSON
		requested, cost int
		deprecated      bool
	}{
		{"one product with alias", `query($id: ID!) { p: product(id: $id) { id handle } }`, map[string]any{"id": "gid://shopify/Product/7"},
			`{"p":{"id":"gid://shopify/Product/7","handle":"product-7"}}`, 1, 1, false},
		{"missing product is null", `{ product(id: "gid://shopify/Product/999") { id } }`, nil, `{"product":null}`, 1, 1, false},
		{"deprecated bodyHtml", `{ product(id: "gid://shopify/Product/1") { bodyHtml } }`, nil,
			`{"product":{"bodyHtml":"\u003cp\u003eCanned product 1.\u003c/p\u003e"}}`, 1, 1, true},
		{"nodes, last, typename", `{ products(last: 2) { __typename nodes { title } } }`, nil,
			`{"products":{"__typename":"ProductConnection","nodes":[{"title":"Product 99"},{"title":"Product 100"}]}}`, 4, 4, false},
		{"search", `{ products(first: 50, query: "title:Product 10") { nodes { id } } }`, nil,
			`{"products":{"nodes":[{"id":"gid://shopify/Product/10"},{"id":"gid://shopify/Product/100"}]}}`, 52, 4, false},
		{"fragment and skip", `query { shop { ...S name @skip(if: true) } } fragment S on Shop { currencyCode }`, nil,
			`{"shop":{"currencyCode":"CAD"}}`, 1, 1, false},
		{"reverse", `{ products(first: 1, reverse: true) { edges { node { id } } } }`, nil,
			`{"products":{"edges":[{"node":{"id":"gid://shopify/Product/100"}}]}}`, 3, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, s, testShop, version, tok, tt.query, tt.vars)
			if r.status != 200 || len(r.Errors) > 0 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			var top struct{ Data json.RawMessage }
			_ = json.Unmarshal([]byte(r.raw), &top)
			if got := string(top.Data); got != tt.want {
				t.Fatalf("data = %s\nwant   %s", top.Data, tt.want)
			}
			if c := r.Ext.Cost; c.RequestedQueryCost != tt.requested || *c.ActualQueryCost != tt.cost {
				t.Fatalf("cost requested %d actual %d, want %d %d", c.RequestedQueryCost, *c.ActualQueryCost, tt.requested, tt.cost)
			}
			if got := r.header.Get("X-Shopify-API-Deprecated-Reason"); (got != "") != tt.deprecated || (tt.deprecated && got != shopifytest.DeprecationNotice) {
				t.Fatalf("X-Shopify-API-Deprecated-Reason = %q", got)
			}
		})
	}
}

func TestAdminTagsAdd(t *testing.T) {
	s, tok := newFake(t)
	m := `mutation Tag($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { node { id ... on Order { tags } } userErrors { field message } } }`
	order := shopifytest.CannedOrders[0]
	r := post(t, s, testShop, version, tok, m, map[string]any{"id": order, "tags": []string{"pos", "possession"}})
	if len(r.Errors) > 0 {
		t.Fatal(r.raw)
	}
	if got, want := string(r.Data["tagsAdd"]), `{"node":{"id":"`+order+`","tags":["pos","possession"]},"userErrors":[]}`; got != want {
		t.Fatalf("tagsAdd = %s\nwant %s", got, want)
	}
	if c := r.Ext.Cost; c.RequestedQueryCost != 10 || *c.ActualQueryCost != 10 {
		t.Fatalf("mutation cost %+v, want 10", c)
	}
	// A comma-separated string, a duplicate in another case.
	r = post(t, s, testShop, version, tok, `mutation { tagsAdd(id: "`+order+`", tags: "POS, late") { userErrors { message } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatal(r.raw)
	}
	if got := s.OrderTags(testShop, order); !slices.Equal(got, []string{"late", "pos", "possession"}) {
		t.Fatalf("OrderTags = %q", got)
	}
	if got := s.TagsAdded(testShop); len(got) != 2 || got[0].OrderID != order || !slices.Equal(got[1].Tags, []string{"POS", " late"}) {
		t.Fatalf("TagsAdded = %+v", got)
	}
	// An order that does not exist: a user error, nothing recorded.
	r = post(t, s, testShop, version, tok, m, map[string]any{"id": "gid://shopify/Order/424242", "tags": []string{"x"}})
	if got := string(r.Data["tagsAdd"]); got != `{"node":null,"userErrors":[{"field":["id"],"message":"Resource not found"}]}` {
		t.Fatalf("tagsAdd on a missing order = %s", got)
	}
	s.AddOrder(testShop, "gid://shopify/Order/424242")
	r = post(t, s, testShop, version, tok, m, map[string]any{"id": "gid://shopify/Order/424242", "tags": []string{"x"}})
	if got := s.OrderTags(testShop, "gid://shopify/Order/424242"); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("after AddOrder: %s, tags %q", r.raw, got)
	}
	// Another shop's orders are its own.
	if got := s.OrderTags("other.myshopify.com", order); got != nil {
		t.Fatalf("other shop's order has tags %q", got)
	}
}

// TestAdminThrottled: the bucket empties, the next query is THROTTLED in
// exactly the shape Shopify sends, and refills at the restore rate on the
// server's clock.
func TestAdminThrottled(t *testing.T) {
	c := newClock()
	s, tok := newFake(t, shopifytest.WithClock(c.Now), shopifytest.WithAdminBucket(100, 10))
	q := `{ products(first: 48) { nodes { id } } }` // 50 points
	for i := range 2 {
		if r := post(t, s, testShop, version, tok, q, nil); len(r.Errors) > 0 {
			t.Fatalf("query %d: %s", i, r.raw)
		}
	}
	r := post(t, s, testShop, version, tok, q, nil)
	want := `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],"extensions":{"cost":{"requestedQueryCost":50,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":100.0,"currentlyAvailable":0,"restoreRate":10.0}}}}`
	if r.status != 200 || r.raw != want {
		t.Fatalf("throttled answer %d:\n%s\nwant\n%s", r.status, r.raw, want)
	}
	if s.Throttled(testShop) != 1 {
		t.Fatalf("Throttled = %d", s.Throttled(testShop))
	}
	c.Advance(4900 * time.Millisecond) // 49 points back: not enough
	if r := post(t, s, testShop, version, tok, q, nil); len(r.Errors) != 1 || r.Ext.Cost.ThrottleStatus.CurrentlyAvailable != 49 {
		t.Fatalf("after 4.9 s: %s", r.raw)
	}
	c.Advance(100 * time.Millisecond)
	if r := post(t, s, testShop, version, tok, q, nil); len(r.Errors) != 0 || r.Ext.Cost.ThrottleStatus.CurrentlyAvailable != 0 {
		t.Fatalf("after 5 s: %s", r.raw)
	}
	// The bucket never fills past its maximum.
	c.Advance(time.Hour)
	if r := post(t, s, testShop, version, tok, `{ shop { name } }`, nil); r.Ext.Cost.ThrottleStatus.CurrentlyAvailable != 99 {
		t.Fatalf("after an hour: %s", r.raw)
	}
	// Shopify lowers the limit: the points above the new maximum go.
	s.SetAdminBucket(testShop, 40, 5)
	if r := post(t, s, testShop, version, tok, q, nil); len(r.Errors) != 1 || r.Ext.Cost.ThrottleStatus.MaximumAvailable != 40 {
		t.Fatalf("after SetAdminBucket: %s", r.raw)
	}
	// Other shops have their own bucket.
	other := s.IssueAccessToken("other.myshopify.com", "", 0)
	if r := post(t, s, "other.myshopify.com", version, other, q, nil); len(r.Errors) != 0 {
		t.Fatalf("other shop: %s", r.raw)
	}
}

func TestAdminUnauthorized(t *testing.T) {
	c := newClock()
	s, tok := newFake(t, shopifytest.WithClock(c.Now))
	expiring := s.IssueAccessToken("expiring.myshopify.com", "", time.Hour)
	revoked := s.IssueAccessToken("revoked.myshopify.com", "", 0)
	s.Revoke("revoked.myshopify.com")
	c.Advance(time.Hour)
	tests := []struct{ name, shop, token string }{
		{"no token", testShop, ""},
		{"unknown token", testShop, "shpat_00000000000000000000000000000000"},
		{"another shop's token", "other.myshopify.com", tok},
		{"expired", "expiring.myshopify.com", expiring},
		{"revoked", "revoked.myshopify.com", revoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, s, tt.shop, version, tt.token, `{ shop { name } }`, nil)
			if r.status != http.StatusUnauthorized || r.raw != `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}` {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			if r.header.Get("X-Request-Id") == "" {
				t.Fatal("no X-Request-Id on a 401")
			}
		})
	}
}

func TestAdminVersions(t *testing.T) {
	c := newClock() // 2026-12-01
	s, tok := newFake(t, shopifytest.WithClock(c.Now))
	if got, want := shopifytest.SupportedVersions(c.Now()), []string{"2026-01", "2026-04", "2026-07", "2026-10", "2027-01", "unstable"}; !slices.Equal(got, want) {
		t.Fatalf("SupportedVersions = %q, want %q", got, want)
	}
	if got, want := shopifytest.SupportedVersions(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), []string{"2026-04", "2026-07", "2026-10", "2027-01", "2027-04", "unstable"}; !slices.Equal(got, want) {
		t.Fatalf("SupportedVersions(2027-01-01) = %q, want %q", got, want)
	}
	tests := []struct {
		version string
		status  int
		served  string
	}{
		{"2026-10", 200, "2026-10"},
		{"2027-01", 200, "2027-01"}, // release candidate
		{"unstable", 200, "unstable"},
		{"2025-10", 200, "2026-01"}, // retired: falls forward to the oldest supported
		{"2019-04", 200, "2026-01"},
		{"2026-02", 404, ""},
		{"2027-04", 404, ""},
		{"latest", 404, ""},
		{"2026-1", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			r := post(t, s, testShop, tt.version, tok, `{ shop { name } }`, nil)
			if r.status != tt.status || r.header.Get("X-Shopify-API-Version") != tt.served {
				t.Fatalf("status %d, X-Shopify-API-Version %q; want %d %q", r.status, r.header.Get("X-Shopify-API-Version"), tt.status, tt.served)
			}
		})
	}
}

func TestAdminErrors(t *testing.T) {
	s, tok := newFake(t)
	tests := []struct {
		name, query string
		vars        map[string]any
		code        string // extensions.code of the first error, "" for none
		message     string // a part of the first error's message
	}{
		{"syntax", `{ shop { name }`, nil, "", "Parse error"},
		{"unknown root field", `{ customers(first: 1) { nodes { id } } }`, nil, "undefinedField", "Field 'customers' doesn't exist on type 'QueryRoot'"},
		{"unknown field", `{ shop { name plan } }`, nil, "undefinedField", "doesn't exist on type 'Shop'"},
		{"unknown argument", `{ shop(id: 1) { name } }`, nil, "argumentNotAccepted", "doesn't accept argument 'id'"},
		{"missing required argument", `{ product { id } }`, nil, "missingRequiredArguments", "missing required arguments: id"},
		{"missing variable", `query($id: ID!) { product(id: $id) { id } }`, nil, "INVALID_VARIABLE", "Variable $id of type ID! was provided invalid value"},
		{"undeclared variable", `{ product(id: $id) { id } }`, nil, "variableNotDefined", "Variable $id is used by query but not declared"},
		{"wrong argument type", `{ products(first: "ten") { nodes { id } } }`, nil, "argumentLiteralsIncompatible", "Argument 'first' on Field 'products' has an invalid value"},
		{"no page size", `{ products { nodes { id } } }`, nil, "", "you must provide one of first or last"},
		{"page too large", `{ products(first: 251) { nodes { id } } }`, nil, "", "between 0 and 250"},
		{"selection on a scalar", `{ shop { name { x } } }`, nil, "selectionMismatch", "Selections can't be made on scalars"},
		{"object without selection", `{ shop }`, nil, "selectionMismatch", "Field must have selections"},
		{"undefined fragment", `{ shop { ...Nope } }`, nil, "undefinedFragment", "Fragment Nope was used, but not defined"},
		{"impossible fragment", `{ shop { ... on Product { title } } }`, nil, "fragmentSpreadImpossible", "can't be spread inside Shop"},
		{"fragment cycle", `{ shop { ...A } } fragment A on Shop { ...B } fragment B on Shop { ...A }`, nil, "infiniteLoop", "Fragment A contains an infinite loop"},
		{"fragment fan-out", `{ shop { ...A } } ` + fanOut(12), nil, "fragmentSpreadLimit", "Too many fragment spreads"},
		{"subscription", `subscription { shop { name } }`, nil, "missingSubscriptionConfiguration", "not supported"},
		{"two operations, no name", `query A { shop { name } } query B { shop { name } }`, nil, "", "operation name is required"},
		{"max cost", `{ a: products(first: 250) { nodes { id } } b: products(first: 250) { nodes { id } } c: products(first: 250) { nodes { id } } d: products(first: 250) { nodes { id } } }`, nil,
			"MAX_COST_EXCEEDED", "Query cost is 1008, which exceeds the single query max cost limit (1000)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, s, testShop, version, tok, tt.query, tt.vars)
			if r.status != 200 || len(r.Errors) == 0 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			e := r.Errors[0]
			code := ""
			if ext, ok := e["extensions"].(map[string]any); ok {
				code, _ = ext["code"].(string)
			}
			if code != tt.code || !strings.Contains(e["message"].(string), tt.message) {
				t.Fatalf("first error %v, want code %q and message containing %q", e, tt.code, tt.message)
			}
			if r.Data != nil {
				t.Fatalf("data with a request error: %s", r.raw)
			}
		})
	}
	if got := s.CostSpent(testShop); got != 0 {
		t.Fatalf("failed requests cost %d points", got)
	}
}

// fanOut defines fragments F0..Fn where each spreads the next one twice:
// 2^n spreads without a cycle.
func fanOut(n int) string {
	var b strings.Builder
	b.WriteString("fragment A on Shop { ...F0 } ")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Shop { ...F%d ...F%d } ", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Shop { name }", n)
	return b.String()
}

func TestAdminHTTPErrors(t *testing.T) {
	s, tok := newFake(t)
	tests := []struct {
		name, method, host, ctype, body string
		status                          int
		contains                        string
	}{
		{"application/graphql body", "POST", testShop, "application/graphql", `{ shop { name } }`, 200, `"name":"fake-admin"`},
		{"bad JSON", "POST", testShop, "application/json", `{"query":`, 400, "Required parameter missing or invalid"},
		{"no query", "POST", testShop, "application/json", `{"variables":{}}`, 400, "Required parameter missing or invalid"},
		{"not a shop host", "POST", "127.0.0.1", "application/json", `{"query":"{ shop { name } }"}`, 404, "Not Found"},
		{"GET", "GET", testShop, "", "", 405, ""},
		{"too large", "POST", testShop, "application/json", `{"query":"` + strings.Repeat(" ", 1<<20) + `{ shop { name } }"}`, 413, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, s, tt.method, tt.host, version, tok, tt.ctype, tt.body)
			if r.status != tt.status || !strings.Contains(r.raw, tt.contains) {
				t.Fatalf("%d %s, want %d containing %q", r.status, r.raw, tt.status, tt.contains)
			}
		})
	}
}

func TestAdminInjectedFaults(t *testing.T) {
	s, tok := newFake(t)
	s.Inject(shopifytest.RouteAdminGraphQL, shopifytest.Fault{Status: 429, RetryAfter: "2"}, shopifytest.Fault{Status: 503})
	r := post(t, s, testShop, version, tok, `{ shop { name } }`, nil)
	if r.status != 429 || r.header.Get("Retry-After") != "2" || r.header.Get("X-Request-Id") == "" {
		t.Fatalf("first: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if r := post(t, s, testShop, version, tok, `{ shop { name } }`, nil); r.status != 503 {
		t.Fatalf("second: %d", r.status)
	}
	if r := post(t, s, testShop, version, tok, `{ shop { name } }`, nil); r.status != 200 {
		t.Fatalf("third: %d", r.status)
	}
	if got := s.Requests(shopifytest.RouteAdminGraphQL); got != 3 {
		t.Fatalf("Requests = %d", got)
	}
}

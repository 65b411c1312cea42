package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/shopifytest"
	"github.com/possession-dev/possession/webhook"
)

const exampleSecret = "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"

// deliverTo sends one signed delivery to h, as Shopify would, and returns
// the status.
func deliverTo(h http.Handler, wh shopifytest.Webhook, key string) int {
	sender := shopifytest.NewWebhookSender(key)
	req, _ := sender.NewRequest(context.Background(), "http://app.example/webhooks", sender.Prepare(wh))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

// The middleware verifies each delivery and a Router hands it to the
// topic's handler.
func Example() {
	src, _ := keysource.Static(exampleSecret)
	v, err := webhook.New(src)
	if err != nil {
		panic(err)
	}
	rt := webhook.NewRouter()
	rt.HandleFunc("orders/create", func(ctx context.Context, d *webhook.Delivery) error {
		fmt.Printf("%s from %s (%s family): %s\n", d.Topic, d.Shop, d.Family, d.Body)
		return nil
	})
	handler := v.Middleware(rt) // http.Handle("/webhooks", handler)

	order := shopifytest.Webhook{Topic: "orders/create", Shop: "example.myshopify.com", Body: []byte(`{"id":820982911946154508}`)}
	fmt.Println(deliverTo(handler, order, exampleSecret))
	fmt.Println(deliverTo(handler, order, "shpss_someone-elses-secret-0000000000"))
	// Output:
	// orders/create from example.myshopify.com (classic family): {"id":820982911946154508}
	// 200
	// 401
}

// With a Deduper shared by every instance, Shopify's retries (and copies
// reaching other instances) are answered without running the handler
// again; a failed attempt is released for the retry.
func ExampleWithDeduper() {
	src, _ := keysource.Static(exampleSecret)
	v, _ := webhook.New(src, webhook.WithDeduper(access.MemoryStore()))
	attempts := 0
	rt := webhook.NewRouter()
	rt.HandleFunc("orders/paid", func(ctx context.Context, d *webhook.Delivery) error {
		attempts++
		if attempts == 1 {
			return errors.New("payment service unavailable")
		}
		fmt.Println("recording payment of order", string(d.Body))
		return nil
	})
	h := v.Middleware(rt)

	paid := shopifytest.Webhook{Topic: "orders/paid", Shop: "example.myshopify.com", ID: "7f0a2c9e-3b1d-4e5f-8a6b-9c0d1e2f3a4b", Body: []byte(`820982911946154508`)}
	for range 3 { // Shopify's first attempt and two retries
		fmt.Println(deliverTo(h, paid, exampleSecret))
	}
	// Output:
	// 500
	// recording payment of order 820982911946154508
	// 200
	// 200
}

// The mandatory compliance topics and app/uninstalled, with the token
// store the app uses for access.
func ExampleAppUninstalled() {
	store := access.MemoryStore()
	src, _ := keysource.Static(exampleSecret)
	v, _ := webhook.New(src)
	rt := webhook.NewRouter()
	rt.Handle(webhook.TopicCustomersDataRequest, webhook.CustomersDataRequest(
		func(ctx context.Context, d *webhook.Delivery, req webhook.DataRequest) error {
			fmt.Println("send the merchant what we hold on customer", req.Customer.ID)
			return nil
		}))
	rt.Handle(webhook.TopicCustomersRedact, webhook.CustomersRedact(
		func(ctx context.Context, d *webhook.Delivery, req webhook.CustomerRedaction) error {
			fmt.Println("erase customer", req.Customer.ID, "and orders", req.OrdersToRedact)
			return nil
		}))
	rt.Handle(webhook.TopicShopRedact, webhook.ShopRedact(store,
		func(ctx context.Context, d *webhook.Delivery, req webhook.ShopRedaction) error {
			fmt.Println("erase everything of", req.ShopDomain)
			return nil
		}))
	rt.Handle(webhook.TopicAppUninstalled, webhook.AppUninstalled(store, func(ctx context.Context, d *webhook.Delivery) error {
		fmt.Println("tokens of", d.Shop, "deleted")
		return nil
	}))
	h := v.Middleware(rt)

	shop := "example.myshopify.com"
	for _, wh := range []shopifytest.Webhook{
		{Topic: webhook.TopicAppUninstalled, Body: []byte(`{"id":954889,"myshopify_domain":"example.myshopify.com"}`)},
		{Topic: webhook.TopicCustomersDataRequest, Body: []byte(`{"shop_domain":"example.myshopify.com","customer":{"id":191167},"orders_requested":[299938]}`)},
		{Topic: webhook.TopicCustomersRedact, Body: []byte(`{"shop_domain":"example.myshopify.com","customer":{"id":191167},"orders_to_redact":[299938]}`)},
		{Topic: webhook.TopicShopRedact, Body: []byte(`{"shop_id":954889,"shop_domain":"example.myshopify.com"}`)},
	} {
		wh.Shop = shop
		fmt.Println(deliverTo(h, wh, exampleSecret))
	}
	// Output:
	// tokens of example.myshopify.com deleted
	// 200
	// send the merchant what we hold on customer 191167
	// 200
	// erase customer 191167 and orders [299938]
	// 200
	// erase everything of example.myshopify.com
	// 200
}

// App proxy requests carry a signed query; the middleware verifies it and
// exposes the shop and the storefront customer.
func ExampleVerifier_AppProxy() {
	now := time.Date(2026, 7, 14, 9, 30, 0, 0, time.UTC)
	src, _ := keysource.Static(exampleSecret)
	v, _ := webhook.New(src, webhook.WithClock(func() time.Time { return now }))
	h := v.AppProxy(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := webhook.AppProxyFrom(r.Context())
		fmt.Println("points of customer", p.LoggedInCustomerID, "at", p.Shop)
	}))

	query := shopifytest.AppProxyQuery(exampleSecret, url.Values{
		"shop":                  {"example.myshopify.com"},
		"path_prefix":           {"/apps/loyalty"},
		"logged_in_customer_id": {"6573215908014"},
	}, now.Add(-5*time.Second))
	for _, q := range []string{query, query + "&shop=other.myshopify.com"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/apps/loyalty/points?"+q, nil))
		fmt.Println(w.Code)
	}
	// Output:
	// points of customer 6573215908014 at example.myshopify.com
	// 200
	// 400
}

// The OAuth callback: check Shopify's hmac and the state the app issued
// (kept, for instance, in a signed cookie) before exchanging the code.
func ExampleVerifier_VerifyOAuthCallback() {
	now := time.Date(2026, 7, 14, 9, 30, 0, 0, time.UTC)
	src, _ := keysource.Static(exampleSecret)
	v, _ := webhook.New(src, webhook.WithClock(func() time.Time { return now }))

	issued := "0b5e0c8e-state-4f1c"
	rawQuery := exampleCallbackQuery(issued, now)
	cb, err := v.VerifyOAuthCallback(rawQuery, issued)
	fmt.Println(cb.Shop, cb.Code, err)
	_, err = v.VerifyOAuthCallback(rawQuery, "a-state-from-another-session")
	fmt.Println(errors.Is(err, webhook.ErrState))
	// Output:
	// example.myshopify.com 0907a61c0c8d55e99db179b68161bc00 <nil>
	// true
}

// exampleCallbackQuery is what Shopify's redirect carries: the sorted
// parameters, their hex HMAC-SHA256 as hmac.
func exampleCallbackQuery(state string, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	msg := "code=0907a61c0c8d55e99db179b68161bc00&shop=example.myshopify.com&state=" + state + "&timestamp=" + ts
	m := hmac.New(sha256.New, []byte(exampleSecret))
	m.Write([]byte(msg))
	return msg + "&hmac=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery read elsewhere (a queue, a serverless
// adapter): the header and the raw body as received.
func ExampleVerifier_Verify() {
	src, _ := keysource.Static(exampleSecret, "shpss_previous-secret-during-rotation-00")
	v, _ := webhook.New(src)
	sender := shopifytest.NewWebhookSender("shpss_previous-secret-during-rotation-00")
	req, _ := sender.NewRequest(context.Background(), "http://app.example/", sender.Prepare(shopifytest.Webhook{
		Topic: "products/update", Shop: "example.myshopify.com", Body: []byte(`{"id":632910392}`), Events: true}))
	body := []byte(`{"id":632910392}`)

	d, err := v.Verify(req.Header, body)
	fmt.Println(d.Topic, d.Family, d.KeyID, err)
	_, err = v.Verify(req.Header, []byte(`{"id":632910393}`))
	fmt.Println(errors.Is(err, webhook.ErrSignature))
	// Output:
	// products/update events static:previous <nil>
	// true
}

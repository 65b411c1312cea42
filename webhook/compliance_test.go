package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/webhook"
)

// Every store is a TokenDeleter.
var (
	_ webhook.TokenDeleter = access.Store(nil)
	_ webhook.TokenDeleter = access.MemoryStore()
)

// Payloads as Shopify documents them.
const (
	dataRequestBody = `{"shop_id":954889,"shop_domain":"example-shop.myshopify.com","orders_requested":[299938,280263,220458],` +
		`"customer":{"id":191167,"email":"john@example.com","phone":"555-625-1199"},"data_request":{"id":9999}}`
	customerRedactBody = `{"shop_id":954889,"shop_domain":"example-shop.myshopify.com",` +
		`"customer":{"id":191167,"email":"john@example.com","phone":"555-625-1199"},"orders_to_redact":[299938,280263,220458]}`
	shopRedactBody   = `{"shop_id":954889,"shop_domain":"example-shop.myshopify.com"}`
	uninstalledBody  = `{"id":954889,"name":"Example Shop","email":"owner@example.com","domain":"shop.example.com","myshopify_domain":"example-shop.myshopify.com","plan_name":"basic"}`
	otherShopPayload = `{"shop_id":1,"shop_domain":"victim.myshopify.com"}`
)

type deleter struct {
	deleted []string
	err     error
}

func (d *deleter) Delete(_ context.Context, shop string) error {
	if d.err != nil {
		return d.err
	}
	d.deleted = append(d.deleted, shop)
	return nil
}

func deliver(t *testing.T, topic, body string, h webhook.Handler) (*httptest.ResponseRecorder, *hookLog) {
	t.Helper()
	var log hookLog
	v := newVerifier(t, webhook.WithOnError(log.hook))
	rt := webhook.NewRouter()
	rt.Handle(topic, h)
	hdr := classicHeader(body)
	hdr.Set("X-Shopify-Topic", topic)
	w := httptest.NewRecorder()
	v.Middleware(rt).ServeHTTP(w, post(body, hdr))
	return w, &log
}

func TestComplianceHandlers(t *testing.T) {
	errEraser := errors.New("eraser failed")
	type result struct {
		calls int
		got   any
	}
	cases := []struct {
		name    string
		topic   string
		body    string
		handler func(r *result, del *deleter, fail bool) webhook.Handler
		fail    bool
		delErr  error
		status  int
		want    error
		calls   int
		deleted []string
		check   func(t *testing.T, got any)
	}{
		{name: "data request", topic: webhook.TopicCustomersDataRequest, body: dataRequestBody, status: 200, calls: 1,
			handler: func(r *result, _ *deleter, fail bool) webhook.Handler {
				return webhook.CustomersDataRequest(func(_ context.Context, d *webhook.Delivery, req webhook.DataRequest) error {
					r.calls++
					r.got = req
					if fail {
						return errEraser
					}
					return nil
				})
			},
			check: func(t *testing.T, got any) {
				req := got.(webhook.DataRequest)
				if req.ShopID != 954889 || req.Customer.ID != 191167 || req.Customer.Email != "john@example.com" ||
					len(req.OrdersRequested) != 3 || req.DataRequest.ID != 9999 {
					t.Errorf("decoded %+v", req)
				}
			}},
		{name: "data request, callback fails", topic: webhook.TopicCustomersDataRequest, body: dataRequestBody, fail: true, status: 500, want: webhook.ErrHandler, calls: 1,
			handler: func(r *result, _ *deleter, fail bool) webhook.Handler {
				return webhook.CustomersDataRequest(func(context.Context, *webhook.Delivery, webhook.DataRequest) error {
					r.calls++
					if fail {
						return errEraser
					}
					return nil
				})
			}},
		{name: "data request for another shop", topic: webhook.TopicCustomersDataRequest, body: otherShopPayload, status: 400, want: webhook.ErrPayload,
			handler: func(r *result, _ *deleter, _ bool) webhook.Handler {
				return webhook.CustomersDataRequest(func(context.Context, *webhook.Delivery, webhook.DataRequest) error { r.calls++; return nil })
			}},
		{name: "data request, not JSON", topic: webhook.TopicCustomersDataRequest, body: "shop_id=1", status: 400, want: webhook.ErrPayload,
			handler: func(r *result, _ *deleter, _ bool) webhook.Handler {
				return webhook.CustomersDataRequest(func(context.Context, *webhook.Delivery, webhook.DataRequest) error { r.calls++; return nil })
			}},
		{name: "customer redact", topic: webhook.TopicCustomersRedact, body: customerRedactBody, status: 200, calls: 1,
			handler: func(r *result, _ *deleter, _ bool) webhook.Handler {
				return webhook.CustomersRedact(func(_ context.Context, _ *webhook.Delivery, req webhook.CustomerRedaction) error {
					r.calls++
					r.got = req
					return nil
				})
			},
			check: func(t *testing.T, got any) {
				req := got.(webhook.CustomerRedaction)
				if req.Customer.Phone != "555-625-1199" || len(req.OrdersToRedact) != 3 || req.ShopDomain != shop {
					t.Errorf("decoded %+v", req)
				}
			}},
		{name: "customer redact without shop", topic: webhook.TopicCustomersRedact, body: `{"customer":{"id":1}}`, status: 400, want: webhook.ErrPayload,
			handler: func(r *result, _ *deleter, _ bool) webhook.Handler {
				return webhook.CustomersRedact(func(context.Context, *webhook.Delivery, webhook.CustomerRedaction) error { r.calls++; return nil })
			}},
		{name: "shop redact deletes tokens after the callback", topic: webhook.TopicShopRedact, body: shopRedactBody, status: 200, calls: 1, deleted: []string{shop},
			handler: func(r *result, del *deleter, _ bool) webhook.Handler {
				return webhook.ShopRedact(del, func(_ context.Context, _ *webhook.Delivery, req webhook.ShopRedaction) error {
					r.calls++
					if len(del.deleted) != 0 {
						return errors.New("tokens deleted before the callback")
					}
					return nil
				})
			}},
		{name: "shop redact, callback fails: tokens kept", topic: webhook.TopicShopRedact, body: shopRedactBody, fail: true, status: 500, want: webhook.ErrHandler, calls: 1,
			handler: func(r *result, del *deleter, fail bool) webhook.Handler {
				return webhook.ShopRedact(del, func(context.Context, *webhook.Delivery, webhook.ShopRedaction) error {
					r.calls++
					return errEraser
				})
			}},
		{name: "shop redact, delete fails", topic: webhook.TopicShopRedact, body: shopRedactBody, delErr: errStoreDown, status: 500, want: webhook.ErrHandler, calls: 1,
			handler: func(r *result, del *deleter, _ bool) webhook.Handler {
				return webhook.ShopRedact(del, func(context.Context, *webhook.Delivery, webhook.ShopRedaction) error { r.calls++; return nil })
			}},
		{name: "shop redact without a store", topic: webhook.TopicShopRedact, body: shopRedactBody, status: 200, calls: 1,
			handler: func(r *result, _ *deleter, _ bool) webhook.Handler {
				return webhook.ShopRedact(nil, func(context.Context, *webhook.Delivery, webhook.ShopRedaction) error { r.calls++; return nil })
			}},
		{name: "shop redact for another shop", topic: webhook.TopicShopRedact, body: otherShopPayload, status: 400, want: webhook.ErrPayload,
			handler: func(r *result, del *deleter, _ bool) webhook.Handler {
				return webhook.ShopRedact(del, func(context.Context, *webhook.Delivery, webhook.ShopRedaction) error { r.calls++; return nil })
			}},
		{name: "uninstalled deletes tokens", topic: webhook.TopicAppUninstalled, body: uninstalledBody, status: 200, calls: 1, deleted: []string{shop},
			handler: func(r *result, del *deleter, _ bool) webhook.Handler {
				return webhook.AppUninstalled(del, func(context.Context, *webhook.Delivery) error {
					r.calls++
					if len(del.deleted) != 1 {
						return errors.New("callback before the delete")
					}
					return nil
				})
			}},
		{name: "uninstalled without callback", topic: webhook.TopicAppUninstalled, body: uninstalledBody, status: 200, deleted: []string{shop},
			handler: func(_ *result, del *deleter, _ bool) webhook.Handler { return webhook.AppUninstalled(del, nil) }},
		{name: "uninstalled, delete fails", topic: webhook.TopicAppUninstalled, body: uninstalledBody, delErr: errStoreDown, status: 500, want: webhook.ErrHandler,
			handler: func(r *result, del *deleter, _ bool) webhook.Handler {
				return webhook.AppUninstalled(del, func(context.Context, *webhook.Delivery) error { r.calls++; return nil })
			}},
		{name: "uninstalled body of another shop: nothing deleted", topic: webhook.TopicAppUninstalled,
			body: strings.Replace(uninstalledBody, "example-shop.myshopify.com", "victim.myshopify.com", 1), status: 400, want: webhook.ErrPayload,
			handler: func(r *result, del *deleter, _ bool) webhook.Handler {
				return webhook.AppUninstalled(del, func(context.Context, *webhook.Delivery) error { r.calls++; return nil })
			}},
		{name: "uninstalled replayed with another body (an order)", topic: webhook.TopicAppUninstalled, body: orderBody, status: 400, want: webhook.ErrPayload,
			handler: func(r *result, del *deleter, _ bool) webhook.Handler { return webhook.AppUninstalled(del, nil) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r result
			del := &deleter{err: c.delErr}
			w, log := deliver(t, c.topic, c.body, c.handler(&r, del, c.fail))
			if w.Code != c.status {
				t.Errorf("status %d, want %d", w.Code, c.status)
			}
			if r.calls != c.calls {
				t.Errorf("callback ran %d times, want %d", r.calls, c.calls)
			}
			if strings.Join(del.deleted, ",") != strings.Join(c.deleted, ",") {
				t.Errorf("deleted %v, want %v", del.deleted, c.deleted)
			}
			if c.want != nil {
				if rec := log.last(t); !errors.Is(rec.err, c.want) {
					t.Errorf("hook %v, want %v", rec.err, c.want)
				}
			} else if log.count() != 0 {
				t.Errorf("hook: %v", log.last(t).err)
			}
			if c.check != nil && r.got != nil {
				c.check(t, r.got)
			}
		})
	}
}

func TestComplianceConstructorsRefuseNil(t *testing.T) {
	for name, fn := range map[string]func(){
		"CustomersDataRequest": func() { webhook.CustomersDataRequest(nil) },
		"CustomersRedact":      func() { webhook.CustomersRedact(nil) },
		"ShopRedact":           func() { webhook.ShopRedact(&deleter{}, nil) },
		"AppUninstalled":       func() { webhook.AppUninstalled(nil, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			fn()
		})
	}
}

// The uninstall handler against the real in-process store: the shop's
// tokens are gone, another shop's stay.
func TestAppUninstalledWithMemoryStore(t *testing.T) {
	store := access.MemoryStore()
	ctx := context.Background()
	for _, s := range []string{shop, "other.myshopify.com"} {
		l, err := store.Lock(ctx, access.Key{Shop: s, Mode: access.Offline}, 1e9)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CompareAndSwap(ctx, l, access.Record{Key: l.Key, AccessToken: []byte("sealed"), Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	w, _ := deliver(t, webhook.TopicAppUninstalled, uninstalledBody, webhook.AppUninstalled(store, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if _, err := store.Load(ctx, access.Key{Shop: shop, Mode: access.Offline}); !errors.Is(err, access.ErrNotFound) {
		t.Errorf("the uninstalled shop's token: %v, want ErrNotFound", err)
	}
	if _, err := store.Load(ctx, access.Key{Shop: "other.myshopify.com", Mode: access.Offline}); err != nil {
		t.Errorf("another shop's token: %v", err)
	}
}

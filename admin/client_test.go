package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/shopifytest"
)

func TestNewConfig(t *testing.T) {
	tokens := newFakeTokens(nil)
	tests := []struct {
		name string
		opts []Option
	}{
		{"no version", nil},
		{"bad version", []Option{WithAPIVersion("2026-02")}},
		{"latest is not a version", []Option{WithAPIVersion("latest")}},
		{"base URL with a path", []Option{WithAPIVersion(testVersion), WithShopifyBaseURL("http://127.0.0.1:1/admin")}},
		{"base URL without scheme", []Option{WithAPIVersion(testVersion), WithShopifyBaseURL("127.0.0.1:1")}},
		{"negative retries", []Option{WithAPIVersion(testVersion), WithMaxRetries(-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newClient(tokens, tt.opts...)
			if !errors.Is(err, ErrConfig) || c != nil {
				t.Fatalf("newClient = %v, %v; want ErrConfig", c, err)
			}
		})
	}
	if _, err := newClient(nil, WithAPIVersion(testVersion)); !errors.Is(err, ErrConfig) {
		t.Fatalf("no token source: %v", err)
	}
	for _, v := range []string{"2026-10", "2027-01", "unstable", "2019-04"} {
		if _, err := newClient(tokens, WithAPIVersion(v)); err != nil {
			t.Errorf("version %q: %v", v, err)
		}
	}
}

func TestDoDecodesData(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client()
	var out struct {
		Shop struct{ Name, CurrencyCode string }
	}
	var err error
	r.run(func() {
		err = c.Do(context.Background(), testShop, `query ShopInfo { shop { name currencyCode } }`, nil, &out)
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Shop.Name != "admin-test" || out.Shop.CurrencyCode != "CAD" {
		t.Fatalf("out = %+v", out)
	}
	var products struct {
		Products struct{ Nodes []struct{ ID string } }
	}
	r.run(func() {
		err = c.Do(context.Background(), testShop, `query P($n: Int!) { products(first: $n) { nodes { id } } }`, map[string]any{"n": 3}, &products)
	})
	if err != nil || len(products.Products.Nodes) != 3 || products.Products.Nodes[2].ID != "gid://shopify/Product/3" {
		t.Fatalf("products: %+v, %v", products, err)
	}
}

func TestDoRequestErrors(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client()
	tests := []struct {
		name, shop, query string
		vars              any
		want              error
	}{
		{"not a shop domain", "example.com", `{ shop { name } }`, nil, ErrInvalidShop},
		{"host injection", "x.myshopify.com@evil.example", `{ shop { name } }`, nil, ErrInvalidShop},
		{"upper case", "Admin.myshopify.com", `{ shop { name } }`, nil, ErrInvalidShop},
		{"variables not JSON", testShop, `{ shop { name } }`, map[string]any{"c": make(chan int)}, ErrInvalidRequest},
		{"variables not an object", testShop, `{ shop { name } }`, []int{1}, ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			r.run(func() { err = c.Do(context.Background(), tt.shop, tt.query, tt.vars, nil) })
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if n := r.srv.Requests(shopifytest.RouteAdminGraphQL); n != 0 {
		t.Fatalf("%d requests reached Shopify", n)
	}
}

func TestDoGraphQLErrors(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client()
	var err error
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name nope } }`, nil, nil) })
	var g *GraphQLError
	if !errors.Is(err, ErrGraphQL) || !errors.As(err, &g) {
		t.Fatalf("err = %v, want a *GraphQLError", err)
	}
	if !g.HasCode("undefinedField") || g.RequestID == "" || RequestID(err) != g.RequestID || !strings.Contains(err.Error(), g.RequestID) {
		t.Fatalf("GraphQLError %+v", g)
	}
	if g.Errors[0].Locations[0].Line != 1 || g.Errors[0].Message != "Field 'nope' doesn't exist on type 'Shop'" {
		t.Fatalf("entry %+v", g.Errors[0])
	}
}

func TestDoUserErrors(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client()
	m := `mutation Tag($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } } }`
	var out struct {
		TagsAdd struct {
			Node       *struct{ ID string }
			UserErrors []UserError
		}
	}
	var err error
	r.run(func() {
		err = c.Do(context.Background(), testShop, m, map[string]any{"id": "gid://shopify/Order/9", "tags": []string{"x"}}, &out)
	})
	var ue *UserErrors
	if !errors.Is(err, ErrUserErrors) || !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UserErrors", err)
	}
	if ue.Field != "tagsAdd" || len(ue.Errors) != 1 || !slices.Equal(ue.Errors[0].Field, []string{"id"}) || ue.RequestID == "" {
		t.Fatalf("UserErrors %+v", ue)
	}
	if len(out.TagsAdd.UserErrors) != 1 || out.TagsAdd.Node != nil {
		t.Fatalf("the payload was not decoded: %+v", out)
	}
	// The same mutation on an order that exists: tagged, no error.
	r.run(func() {
		err = c.Do(context.Background(), testShop, m, map[string]any{"id": shopifytest.CannedOrders[0], "tags": []string{"pos"}}, &out)
	})
	if err != nil || out.TagsAdd.Node == nil || out.TagsAdd.Node.ID != shopifytest.CannedOrders[0] {
		t.Fatalf("tagsAdd: %+v, %v", out, err)
	}
	if got := r.srv.OrderTags(testShop, shopifytest.CannedOrders[0]); !slices.Equal(got, []string{"pos"}) {
		t.Fatalf("order tags %q", got)
	}
}

// TestUnauthorizedRefreshedOnce: the fake revokes the shop's token; the
// call's 401 makes the token source refresh once, the call is retried
// once with the new token and succeeds.
func TestUnauthorizedRefreshedOnce(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client()
	var err error
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) })
	if err != nil {
		t.Fatal(err)
	}
	r.srv.Revoke(testShop)
	before := r.srv.Requests(shopifytest.RouteAdminGraphQL)
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) })
	if err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := r.tokens.refreshCount(); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
	if n := r.srv.Requests(shopifytest.RouteAdminGraphQL) - before; n != 2 {
		t.Fatalf("%d requests, want 2 (the 401 and the retry)", n)
	}
}

// TestUnauthorizedReauthorize: the token cannot be refreshed (the refresh
// token expired): the error wraps ErrUnauthorized and the source's
// re-authorize error, after one refresh attempt and one request.
func TestUnauthorizedReauthorize(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client()
	r.tokens.canRefresh = false
	var err error
	r.run(func() { _ = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) })
	r.srv.Revoke(testShop)
	before := r.srv.Requests(shopifytest.RouteAdminGraphQL)
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) })
	if !errors.Is(err, ErrUnauthorized) || !errors.Is(err, errReauthorizeForTest) {
		t.Fatalf("err = %v, want ErrUnauthorized and the re-authorize error", err)
	}
	var re *ResponseError
	if !errors.As(err, &re) || re.Status != http.StatusUnauthorized || re.RequestID == "" {
		t.Fatalf("ResponseError %+v", re)
	}
	if n := r.tokens.refreshCount(); n != 1 {
		t.Fatalf("%d refresh attempts, want 1", n)
	}
	if n := r.srv.Requests(shopifytest.RouteAdminGraphQL) - before; n != 1 {
		t.Fatalf("%d requests, want 1 (no retry loop)", n)
	}
}

// TestUnauthorizedTwice: the renewed token is refused too: one refresh,
// two requests, ErrUnauthorized.
func TestUnauthorizedTwice(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client()
	r.srv.Inject(shopifytest.RouteAdminGraphQL, shopifytest.Fault{Status: 401}, shopifytest.Fault{Status: 401})
	var err error
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) })
	if !errors.Is(err, ErrUnauthorized) || r.tokens.refreshCount() != 1 || r.srv.Requests(shopifytest.RouteAdminGraphQL) != 2 {
		t.Fatalf("err %v, %d refreshes, %d requests", err, r.tokens.refreshCount(), r.srv.Requests(shopifytest.RouteAdminGraphQL))
	}
}

// TestUnauthorizedMutation: a mutation not marked RetrySafe is not sent
// again after a 401 (the token is still renewed); with RetrySafe it is.
func TestUnauthorizedMutation(t *testing.T) {
	m := `mutation { tagsAdd(id: "gid://shopify/Order/1001", tags: ["a"]) { userErrors { message } } }`
	for _, tt := range []struct {
		name     string
		opts     []CallOption
		requests int
		ok       bool
	}{
		{"not retry-safe", nil, 1, false},
		{"retry-safe", []CallOption{RetrySafe()}, 2, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, 1000, 100)
			c := r.client()
			r.srv.Inject(shopifytest.RouteAdminGraphQL, shopifytest.Fault{Status: 401})
			var err error
			r.run(func() { err = c.Do(context.Background(), testShop, m, nil, nil, tt.opts...) })
			if (err == nil) != tt.ok || (!tt.ok && !errors.Is(err, ErrUnauthorized)) {
				t.Fatalf("err = %v", err)
			}
			if n := r.srv.Requests(shopifytest.RouteAdminGraphQL); n != tt.requests || r.tokens.refreshCount() != 1 {
				t.Fatalf("%d requests, %d refreshes", n, r.tokens.refreshCount())
			}
		})
	}
}

func TestTokenSourceError(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client()
	r.tokens.tokenErr = errReauthorizeForTest
	var err error
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) })
	if !errors.Is(err, ErrToken) || !errors.Is(err, errReauthorizeForTest) {
		t.Fatalf("err = %v", err)
	}
}

// TestThrottledRecovery: another consumer empties the bucket after the
// client learned it; the client's next call is THROTTLED, waits
// (requested - available) / restoreRate and succeeds.
func TestThrottledRecovery(t *testing.T) {
	r := newRig(t, 100, 10)
	c := r.client()
	var err error
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) }) // learns: 99 left
	if err != nil {
		t.Fatal(err)
	}
	other := newRig(t, 100, 10) // a client the first knows nothing of, on the same fake
	other.srv, other.clock, other.tokens = r.srv, r.clock, r.tokens
	oc := other.client()
	r.run(func() { err = oc.Do(context.Background(), testShop, burstQuery, nil, nil) }) // 49 left
	if err != nil {
		t.Fatal(err)
	}
	start := r.clock.Now()
	r.run(func() { err = c.Do(context.Background(), testShop, burstQuery, nil, nil) })
	if err != nil {
		t.Fatal(err)
	}
	if r.srv.Throttled(testShop) != 1 {
		t.Fatalf("%d THROTTLED, want 1", r.srv.Throttled(testShop))
	}
	// The first client thought 99 points were there; Shopify had 49: one
	// THROTTLED, then a wait of (50 - 49 + 1) / 10 s.
	if waited := r.clock.Now().Sub(start); waited != 200*time.Millisecond {
		t.Fatalf("waited %v, want 200ms", waited)
	}
}

// TestThrottledOut: a bucket too small for the query: THROTTLED every
// time, bounded retries, ErrThrottled carrying the last answer.
func TestThrottledOut(t *testing.T) {
	r := newRig(t, 40, 10)
	c := r.client(WithMaxRetries(2))
	var err error
	r.run(func() { err = c.Do(context.Background(), testShop, burstQuery, nil, nil) })
	var g *GraphQLError
	if !errors.Is(err, ErrThrottled) || !errors.As(err, &g) || !g.Throttled || !g.HasCode("THROTTLED") {
		t.Fatalf("err = %v", err)
	}
	if r.srv.Throttled(testShop) != 3 {
		t.Fatalf("%d THROTTLED, want 3 (first try and two retries)", r.srv.Throttled(testShop))
	}
	if RequestID(err) == "" {
		t.Fatal("no request ID in the error")
	}
}

func TestRateLimited(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client(WithMaxRetryAfter(5 * time.Second))
	r.srv.Inject(shopifytest.RouteAdminGraphQL, shopifytest.Fault{Status: 429, RetryAfter: "2"})
	start := r.clock.Now()
	var err error
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) })
	if err != nil {
		t.Fatal(err)
	}
	if waited := r.clock.Now().Sub(start); waited != 2*time.Second {
		t.Fatalf("waited %v, want Retry-After's 2 s", waited)
	}
	// A Retry-After beyond the cap ends the call at once.
	r.srv.Inject(shopifytest.RouteAdminGraphQL, shopifytest.Fault{Status: 429, RetryAfter: "60"})
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) })
	var re *ResponseError
	if !errors.Is(err, ErrThrottled) || !errors.As(err, &re) || re.Status != 429 || re.Attempts != 1 {
		t.Fatalf("err = %v", err)
	}
}

func TestUnavailableBackoff(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		opts     []CallOption
		faults   []int
		ok       bool
		requests int
		waited   time.Duration
	}{
		{"query retried", `{ shop { name } }`, nil, []int{503, 502}, true, 3, 500*time.Millisecond + time.Second},
		{"retries exhausted", `{ shop { name } }`, nil, []int{503, 503, 504, 500, 503, 503}, false, 6, (500 + 1000 + 2000 + 4000 + 8000) * time.Millisecond},
		{"mutation not retried", `mutation { tagsAdd(id: "gid://shopify/Order/1001", tags: "a") { userErrors { message } } }`, nil, []int{504}, false, 1, 0},
		{"retry-safe mutation retried", `mutation { tagsAdd(id: "gid://shopify/Order/1001", tags: "a") { userErrors { message } } }`, []CallOption{RetrySafe()}, []int{504}, true, 2, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, 1000, 100)
			c := r.client()
			for _, s := range tt.faults {
				r.srv.Inject(shopifytest.RouteAdminGraphQL, shopifytest.Fault{Status: s})
			}
			start := r.clock.Now()
			var err error
			r.run(func() { err = c.Do(context.Background(), testShop, tt.query, nil, nil, tt.opts...) })
			if (err == nil) != tt.ok || (!tt.ok && !errors.Is(err, ErrUnavailable)) {
				t.Fatalf("err = %v", err)
			}
			if n := r.srv.Requests(shopifytest.RouteAdminGraphQL); n != tt.requests {
				t.Fatalf("%d requests, want %d", n, tt.requests)
			}
			// Jitter fixed at 1.0: 0.5 s, 1 s, 2 s, 4 s, 8 s.
			if waited := r.clock.Now().Sub(start); waited != tt.waited {
				t.Fatalf("waited %v, want %v", waited, tt.waited)
			}
		})
	}
}

func TestNetworkError(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client(WithShopifyBaseURL("http://127.0.0.1:1"), WithMaxRetries(1))
	var err error
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) })
	var re *ResponseError
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &re) || re.Status != 0 || re.Attempts != 2 {
		t.Fatalf("err = %v", err)
	}
}

func TestUnexpectedStatus(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client(WithAPIVersion("2027-04")) // not released yet: 404
	var err error
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) })
	var re *ResponseError
	if !errors.Is(err, ErrResponse) || !errors.As(err, &re) || re.Status != 404 || re.RequestID == "" {
		t.Fatalf("err = %v", err)
	}
	// Data that does not fit out.
	c = r.client()
	var out struct{ Shop int }
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, &out) })
	if !errors.Is(err, ErrResponse) {
		t.Fatalf("err = %v", err)
	}
}

// TestDeprecationLoggedOnce: X-Shopify-API-Deprecated-Reason is logged
// once per query, however often it is sent.
func TestDeprecationLoggedOnce(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client()
	q := `query Body { product(id: "gid://shopify/Product/1") { bodyHtml } }`
	for range 3 {
		r.run(func() {
			if err := c.Do(context.Background(), testShop, q, nil, nil); err != nil {
				t.Error(err)
			}
		})
	}
	r.run(func() { _ = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) })
	msgs := r.logs.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "deprecated") {
		t.Fatalf("logged %q, want one deprecation notice", msgs)
	}
	if r.logs.attr(0, "reason") != shopifytest.DeprecationNotice || r.logs.attr(0, "operation") != "Body" || r.logs.attr(0, "request_id") == "" {
		t.Fatalf("log attributes: reason %q operation %q", r.logs.attr(0, "reason"), r.logs.attr(0, "operation"))
	}
}

// TestVersionFallForwardLogged: asking for a retired version, Shopify
// answers with the oldest supported one; the client says so once.
func TestVersionFallForwardLogged(t *testing.T) {
	r := newRig(t, 1000, 100)
	c := r.client(WithAPIVersion("2025-07"))
	for range 2 {
		r.run(func() {
			if err := c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil); err != nil {
				t.Error(err)
			}
		})
	}
	msgs := r.logs.messages()
	if len(msgs) != 1 || r.logs.attr(0, "served") != "2026-01" || r.logs.attr(0, "asked") != "2025-07" {
		t.Fatalf("logged %q", msgs)
	}
}

// TestWaitBoundedByContext: a pacing wait that would outlast the
// context's deadline is not started, and its points go back.
func TestWaitBoundedByContext(t *testing.T) {
	r := newRig(t, 100, 10)
	c := r.client()
	var err error
	r.run(func() { err = c.Do(context.Background(), testShop, burstQuery, nil, nil) }) // 50 left
	if err != nil {
		t.Fatal(err)
	}
	r.run(func() { err = c.Do(context.Background(), testShop, burstQuery, nil, nil) }) // 0 left
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second) // real time; the wait is 5 s
	defer cancel()
	start := r.clock.Now()
	r.run(func() { err = c.Do(ctx, testShop, burstQuery, nil, nil) })
	if !errors.Is(err, ErrThrottled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if r.clock.Now() != start || r.srv.Requests(shopifytest.RouteAdminGraphQL) != 2 {
		t.Fatal("the call waited or was sent")
	}
	// The refused call's points were given back: the next waits 5 s, not 10.
	r.run(func() { err = c.Do(context.Background(), testShop, burstQuery, nil, nil) })
	if err != nil || r.clock.Now().Sub(start) != 5*time.Second {
		t.Fatalf("err %v, waited %v", err, r.clock.Now().Sub(start))
	}
}

// TestFirstCallsProbeOnce: eight first calls for a shop whose budget is
// unknown: one is sent to learn it, the others wait for its answer, and
// none is THROTTLED though together they exceed the bucket.
func TestFirstCallsProbeOnce(t *testing.T) {
	r := newRig(t, 100, 10)
	c := r.client()
	for range 8 {
		r.clock.Go(func() {
			if err := c.Do(context.Background(), testShop, burstQuery, nil, nil); err != nil {
				t.Error(err)
			}
		})
	}
	r.clock.Wait()
	if n := r.srv.Throttled(testShop); n != 0 {
		t.Fatalf("%d THROTTLED", n)
	}
	// 8 × 50 points from a bucket of 100 restoring 10/s: 30 s.
	if got := r.clock.Now().Sub(simStart); got != 30*time.Second {
		t.Fatalf("took %v, want 30s", got)
	}
}

// TestCostOption: a caller's cost is what is reserved before sending.
func TestCostOption(t *testing.T) {
	r := newRig(t, 100, 10)
	c := r.client()
	var err error
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { name } }`, nil, nil) }) // learns: 99 left
	if err != nil {
		t.Fatal(err)
	}
	// A 1-point query said to cost 150 waits for 150 - 99 points at 10/s.
	start := r.clock.Now()
	r.run(func() { err = c.Do(context.Background(), testShop, `{ shop { id } }`, nil, nil, Cost(150)) })
	if err != nil {
		t.Fatal(err)
	}
	if waited := r.clock.Now().Sub(start); waited != 5100*time.Millisecond {
		t.Fatalf("waited %v, want 5.1s", waited)
	}
}

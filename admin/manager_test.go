package admin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/admin"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

const managerShop = "manager-test.myshopify.com"

// managerRig is the fake Shopify (OAuth and Admin API), an access Manager
// that exchanged a POS session token for the shop's expiring offline
// token, and an admin Client on that Manager.
type managerRig struct {
	fake    *shopifytest.Server
	clock   *shopifytest.SimClock
	tokens  *access.Manager
	client  *admin.Client
	offline access.Token
}

func newManagerRig(t *testing.T, fakeOpts ...shopifytest.Option) *managerRig {
	t.Helper()
	clock := shopifytest.NewSimClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	fake := shopifytest.NewServer(append([]shopifytest.Option{shopifytest.WithClock(clock.Now)}, fakeOpts...)...)
	t.Cleanup(fake.Close)
	secret, err := keysource.Static(fake.ClientSecret())
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := access.New(fake.ClientID(), secret, access.MemoryStore(),
		access.WithShopifyBaseURL(fake.URL), access.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := sdk.New(secret, sdk.WithClientID(fake.ClientID()), sdk.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	raw := sdktest.Minter{Secret: fake.ClientSecret(), ClientID: fake.ClientID(), Shop: managerShop, Now: clock.Now}.Admin()
	session, err := verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	offline, err := tokens.Offline(context.Background(), session, raw)
	if err != nil {
		t.Fatal(err)
	}
	client, err := admin.New(tokens, admin.WithAPIVersion("2026-10"), admin.WithShopifyBaseURL(fake.URL), admin.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	return &managerRig{fake: fake, clock: clock, tokens: tokens, client: client, offline: offline}
}

func (r *managerRig) do(query string, out any, opts ...admin.CallOption) error {
	var err error
	r.clock.Go(func() { err = r.client.Do(context.Background(), managerShop, query, nil, out, opts...) })
	r.clock.Wait()
	return err
}

func TestNewNeedsManagerAndVersion(t *testing.T) {
	if _, err := admin.New(nil, admin.WithAPIVersion("2026-10")); !errors.Is(err, admin.ErrConfig) {
		t.Fatalf("nil Manager: %v", err)
	}
	r := newManagerRig(t)
	if _, err := admin.New(r.tokens); !errors.Is(err, admin.ErrConfig) {
		t.Fatalf("no version: %v", err)
	}
}

// TestManagerRevokedTokenRefreshed: the fake revokes the shop's access
// token; the Admin call's 401 makes the Manager refresh once (a refresh
// grant on the fake), the call is retried once with the new token, and
// succeeds.
func TestManagerRevokedTokenRefreshed(t *testing.T) {
	r := newManagerRig(t)
	var out struct{ Shop struct{ Name string } }
	if err := r.do(`{ shop { name } }`, &out); err != nil || out.Shop.Name != "manager-test" {
		t.Fatalf("before: %+v, %v", out, err)
	}
	if !r.fake.RevokeAccessToken(r.offline.Value()) {
		t.Fatal("the exchanged token was not live on the fake")
	}
	before := r.fake.Requests(shopifytest.RouteAdminGraphQL)
	if err := r.do(`{ shop { name } }`, &out); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := r.fake.Requests(shopifytest.RouteAdminGraphQL) - before; n != 2 {
		t.Fatalf("%d Admin requests, want 2 (the 401, the retry)", n)
	}
	if c := r.fake.GrantCounts(); c.Refresh != 1 || c.Exchange != 1 {
		t.Fatalf("grants %+v, want one exchange and one refresh", c)
	}
	// The next call uses the refreshed token at once.
	before = r.fake.Requests(shopifytest.RouteAdminGraphQL)
	if err := r.do(`{ shop { name } }`, &out); err != nil || r.fake.Requests(shopifytest.RouteAdminGraphQL)-before != 1 {
		t.Fatalf("next call: %v", err)
	}
}

// TestManagerReauthorize: the shop's grant is gone (revoked on the fake,
// or its refresh token expired): the 401 leads to one refresh attempt,
// refused, and the typed re-authorize error; no retry loop.
func TestManagerReauthorize(t *testing.T) {
	tests := []struct {
		name  string
		setup func(r *managerRig)
	}{
		{"grant revoked", func(r *managerRig) { r.fake.Revoke(managerShop) }},
		{"refresh token expired", func(r *managerRig) {
			r.clock.Go(func() { _ = r.clock.Sleep(context.Background(), 31*time.Minute) }) // past the refresh token's 30 min
			r.clock.Wait()
			r.fake.RevokeAccessToken(r.offline.Value())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newManagerRig(t, shopifytest.WithOfflineTokenLifetimes(time.Hour, 30*time.Minute))
			tt.setup(r)
			before := r.fake.Requests(shopifytest.RouteAdminGraphQL)
			err := r.do(`{ shop { name } }`, nil)
			if !errors.Is(err, admin.ErrUnauthorized) || !errors.Is(err, access.ErrReauthorize) {
				t.Fatalf("err = %v, want admin.ErrUnauthorized and access.ErrReauthorize", err)
			}
			if admin.RequestID(err) == "" {
				t.Error("no Shopify request ID in the error")
			}
			if n := r.fake.Requests(shopifytest.RouteAdminGraphQL) - before; n != 1 {
				t.Fatalf("%d Admin requests, want 1", n)
			}
			if c := r.fake.GrantCounts(); c.Refresh > 1 {
				t.Fatalf("%d refresh grants, want at most one", c.Refresh)
			}
			t.Logf("error: %v; grants %+v", err, r.fake.GrantCounts())
			// Asking again does not loop either: the Manager knows.
			if err := r.do(`{ shop { name } }`, nil); !errors.Is(err, access.ErrReauthorize) {
				t.Fatalf("second call: %v", err)
			}
		})
	}
}

func TestManagerUnknownShop(t *testing.T) {
	r := newManagerRig(t)
	var err error
	r.clock.Go(func() {
		err = r.client.Do(context.Background(), "never-installed.myshopify.com", `{ shop { name } }`, nil, nil)
	})
	r.clock.Wait()
	if !errors.Is(err, admin.ErrToken) || !errors.Is(err, access.ErrNoToken) {
		t.Fatalf("err = %v", err)
	}
	if n := r.fake.Requests(shopifytest.RouteAdminGraphQL); n != 0 {
		t.Fatalf("%d Admin requests", n)
	}
}

// TestManagerReauthorizeThenExchange: the Admin API's 401, a refresh that
// Shopify refuses (the grant was revoked): the call fails with the typed
// re-authorize error, and the next Offline call with a session token
// (the merchant opening the app) exchanges a new grant, which the fake
// honours, instead of serving the refused token from the store.
func TestManagerReauthorizeThenExchange(t *testing.T) {
	r := newManagerRig(t)
	r.fake.Revoke(managerShop)
	if err := r.do(`{ shop { name } }`, nil); !errors.Is(err, access.ErrReauthorize) {
		t.Fatalf("err = %v, want access.ErrReauthorize", err)
	}
	secret := keysource.MustStatic(r.fake.ClientSecret())
	verifier, err := sdk.New(secret, sdk.WithClientID(r.fake.ClientID()), sdk.WithClock(r.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	raw := sdktest.Minter{Secret: r.fake.ClientSecret(), ClientID: r.fake.ClientID(), Shop: managerShop, Now: r.clock.Now}.Admin()
	session, err := verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := r.tokens.Offline(context.Background(), session, raw)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Value() == r.offline.Value() || !r.fake.AccessTokenValid(managerShop, tok.Value()) {
		t.Fatal("Offline after the refusal served the refused token, or one the fake does not honour")
	}
	if c := r.fake.GrantCounts(); c.Exchange != 2 || c.Refresh != 1 {
		t.Fatalf("grants %+v, want a second exchange after the one refused refresh", c)
	}
	var out struct{ Shop struct{ Name string } }
	if err := r.do(`{ shop { name } }`, &out); err != nil || out.Shop.Name != "manager-test" {
		t.Fatalf("Admin call after re-authorizing: %+v, %v", out, err)
	}
}

package access

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/shopifytest"
)

var ctx = context.Background()

func TestOfflineExchangesOnceThenServesFromCache(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	s, id := e.session(testShop, "42")

	tok, err := m.Offline(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Shop != testShop || tok.Mode != Offline || tok.UserID != "" || tok.Scope != shopifytest.DefaultScope {
		t.Errorf("token %v: wrong shop, mode, user or scope", tok)
	}
	if want := e.clock.Now().Add(time.Hour); !tok.ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want %v", tok.ExpiresAt, want)
	}
	if !e.fake.AccessTokenValid(testShop, tok.Value()) {
		t.Fatal("the fake does not honour the token")
	}
	if c := e.fake.GrantCounts(); c.Exchange != 1 || c.Refresh != 0 {
		t.Fatalf("grant counts %+v, want one exchange", c)
	}
	last, _ := e.fake.LastRequest(shopifytest.RouteOAuthAccessToken)
	if !bytes.Contains(last.Body, []byte(`"expiring":"1"`)) || !bytes.Contains(last.Body, []byte(`"requested_token_type":"urn:shopify:params:oauth:token-type:offline-access-token"`)) {
		t.Errorf("exchange body %s lacks expiring=1 or the offline token type", last.Body)
	}
	if last.Host != testShop {
		t.Errorf("request host %q, want the shop", last.Host)
	}

	ops := e.store.ops()
	e.clock.Advance(10 * time.Second)
	again, err := m.Offline(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	if again.Value() != tok.Value() {
		t.Error("second call returned another token")
	}
	if got := e.store.ops() - ops; got != 0 {
		t.Errorf("cache hit made %d store calls, want 0", got)
	}
	if c := e.fake.GrantCounts(); c.Exchange != 1 {
		t.Errorf("cache hit reached Shopify: %+v", c)
	}

	// Past the cache TTL the store answers, and no exchange happens.
	e.clock.Advance(DefaultCacheTTL)
	again, err = m.Offline(ctx, s, id)
	if err != nil || again.Value() != tok.Value() {
		t.Fatalf("after the cache TTL: %v, same token %v", err, again.Value() == tok.Value())
	}
	if got := e.store.loads.Load(); got < 2 {
		t.Errorf("store loads %d, want the TTL to send a read to the store", got)
	}
	if c := e.fake.GrantCounts(); c.Exchange != 1 {
		t.Errorf("exchanged again: %+v", c)
	}
}

func TestOfflineRefreshesWithinTheMargin(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	first := e.offline(t, m, testShop, "42")

	// Just before the margin: still the first token.
	e.clock.Advance(time.Hour - DefaultRefreshMargin - time.Second)
	tok, err := m.OfflineFor(ctx, testShop)
	if err != nil || tok.Value() != first.Value() {
		t.Fatalf("before the margin: %v, refreshed early: %v", err, tok.Value() != first.Value())
	}
	// In the margin: refreshed once, the old token revoked.
	e.clock.Advance(2 * time.Second)
	tok, err = m.OfflineFor(ctx, testShop)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Value() == first.Value() {
		t.Fatal("not refreshed within the margin")
	}
	if c := e.fake.GrantCounts(); c.Refresh != 1 || c.Exchange != 1 {
		t.Errorf("grant counts %+v, want 1 exchange and 1 refresh", c)
	}
	if e.fake.AccessTokenValid(testShop, first.Value()) {
		t.Error("the refresh did not revoke the first token")
	}
	if !e.fake.AccessTokenValid(testShop, tok.Value()) {
		t.Error("the new token is not honoured")
	}
	last, _ := e.fake.LastRequest(shopifytest.RouteOAuthAccessToken)
	for _, want := range []string{`"grant_type":"refresh_token"`, `"refresh_token":"shprt_`, `"client_id":"` + e.fake.ClientID() + `"`} {
		if !strings.Contains(string(last.Body), want) {
			t.Errorf("refresh body %s lacks %s", last.Body, want)
		}
	}

	// Over many hours, one refresh per token lifetime.
	for range 10 {
		e.clock.Advance(time.Hour - DefaultRefreshMargin + time.Second)
		for range 3 {
			if _, err := m.OfflineFor(ctx, testShop); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c := e.fake.GrantCounts(); c.Refresh != 11 {
		t.Errorf("%d refreshes over 11 token lifetimes, want 11", c.Refresh)
	}
}

func TestOfflineForNeverExchanges(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	_, err := m.OfflineFor(ctx, testShop)
	mustErrIs(t, err, ErrNoToken, ErrNotFound)
	if c := e.fake.GrantCounts(); c != (shopifytest.GrantCounts{}) {
		t.Errorf("OfflineFor reached Shopify: %+v", c)
	}

	tok := e.offline(t, m, testShop, "42")
	got, err := m.OfflineFor(ctx, testShop)
	if err != nil || got.Value() != tok.Value() {
		t.Fatalf("OfflineFor after Offline: %v", err)
	}

	// Past the refresh token's life nothing can be done without the
	// merchant, and nothing is asked of Shopify.
	e.clock.Advance(shopifytest.DefaultRefreshTokenLifetime + time.Minute)
	before := e.fake.GrantCounts()
	_, err = m.OfflineFor(ctx, testShop)
	mustErrIs(t, err, ErrReauthorize)
	if c := e.fake.GrantCounts(); c != before {
		t.Errorf("an expired refresh token reached Shopify: %+v", c)
	}

	// With a session token, Offline exchanges a new grant.
	tok = e.offline(t, m, testShop, "42")
	if !e.fake.AccessTokenValid(testShop, tok.Value()) {
		t.Error("re-exchanged token not honoured")
	}
}

func TestOfflineReexchangesAfterInvalidGrant(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	s, id := e.session(testShop, "42")
	if _, err := m.Offline(ctx, s, id); err != nil {
		t.Fatal(err)
	}
	e.fake.Revoke(testShop)
	e.clock.Advance(time.Hour)

	// Background: the refresh is refused once; the shop is then known to
	// need the merchant, and Shopify is not asked again for that record.
	_, err := m.OfflineFor(ctx, testShop)
	mustErrIs(t, err, ErrReauthorize)
	var se *ShopifyError
	if !errors.As(err, &se) || se.Code != "invalid_grant" || se.Status != 400 || se.RequestID == "" {
		t.Errorf("error %v: want a *ShopifyError with invalid_grant, 400 and a request id", err)
	}
	for range 3 {
		_, err = m.OfflineFor(ctx, testShop)
		mustErrIs(t, err, ErrReauthorize)
	}
	if c := e.fake.GrantCounts(); c.Refresh != 1 {
		t.Errorf("%d refresh requests for a refused refresh token, want 1", c.Refresh)
	}

	// The merchant opens the app: a fresh exchange.
	s, id = e.session(testShop, "42")
	tok, err := m.Offline(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	if c := e.fake.GrantCounts(); c.Exchange != 2 {
		t.Errorf("grant counts %+v, want a second exchange", c)
	}
	if !e.fake.AccessTokenValid(testShop, tok.Value()) {
		t.Error("token after re-exchange not honoured")
	}
	if _, err := m.OfflineFor(ctx, testShop); err != nil {
		t.Errorf("OfflineFor after the re-exchange: %v", err)
	}
}

func TestOnline(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	s, id := e.session(testShop, "77")
	tok, err := m.Online(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Mode != Online || tok.UserID != "77" || !e.fake.AccessTokenValid(testShop, tok.Value()) {
		t.Fatalf("online token %v: wrong mode or user, or not honoured", tok)
	}
	last, _ := e.fake.LastRequest(shopifytest.RouteOAuthAccessToken)
	if !strings.Contains(string(last.Body), `"requested_token_type":"urn:shopify:params:oauth:token-type:online-access-token"`) {
		t.Errorf("online exchange body %s", last.Body)
	}
	// Another user gets their own token; the offline token is separate.
	s2, id2 := e.session(testShop, "78")
	tok2, err := m.Online(ctx, s2, id2)
	if err != nil || tok2.Value() == tok.Value() || tok2.UserID != "78" {
		t.Fatalf("second user: %v", err)
	}
	off, err := m.Offline(ctx, s, id)
	if err != nil || off.Value() == tok.Value() {
		t.Fatalf("offline after online: %v", err)
	}
	if !e.fake.AccessTokenValid(testShop, tok.Value()) {
		t.Error("the offline exchange revoked an online token")
	}
	// Served from the store until near expiry, then exchanged again.
	e.clock.Advance(12 * time.Hour)
	s, id = e.session(testShop, "77")
	again, err := m.Online(ctx, s, id)
	if err != nil || again.Value() != tok.Value() {
		t.Fatalf("online token re-exchanged early: %v", err)
	}
	e.clock.Advance(12 * time.Hour)
	s, id = e.session(testShop, "77")
	again, err = m.Online(ctx, s, id)
	if err != nil || again.Value() == tok.Value() {
		t.Fatalf("online token not exchanged again near expiry: %v", err)
	}
	// A 401 on an online token cannot be fixed here.
	_, err = m.RefreshAfterUnauthorized(ctx, again)
	mustErrIs(t, err, ErrReauthorize)
}

func TestOnlyAdminSessionsLeadToTokens(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	checkout := e.minter(testShop, "").Checkout()
	cs := e.verify(checkout)
	if cs.Kind != sdk.KindCheckout {
		t.Fatalf("minted a %v session", cs.Kind)
	}
	admin, id := e.session(testShop, "42")
	noUser := *admin
	noUser.UserID = ""
	badShop := *admin
	badShop.Shop = "evil.example/../x"
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"checkout offline", func() error { _, err := m.Offline(ctx, cs, checkout); return err }},
		{"checkout online", func() error { _, err := m.Online(ctx, cs, checkout); return err }},
		{"nil session", func() error { _, err := m.Offline(ctx, nil, id); return err }},
		{"online without user", func() error { _, err := m.Online(ctx, &noUser, id); return err }},
		{"bad shop", func() error { _, err := m.Offline(ctx, &badShop, id); return err }},
		{"OfflineFor bad shop", func() error { _, err := m.OfflineFor(ctx, "Shop With Spaces"); return err }},
		{"migrate bad shop", func() error { _, err := m.MigrateToExpiring(ctx, "a/b"); return err }},
	} {
		t.Run(c.name, func(t *testing.T) { mustErrIs(t, c.call(), ErrNotExchangeable) })
	}
	if n := e.fake.Requests(shopifytest.RouteOAuthAccessToken); n != 0 {
		t.Errorf("%d requests reached Shopify", n)
	}
	// Shopify itself refuses a checkout token, should one get through.
	_, err := m.exchange(ctx, Lease{Key: Key{Shop: testShop, Mode: Offline}}, Key{Shop: testShop, Mode: Offline}, &Record{}, false, checkout, "")
	mustErrIs(t, err, ErrInvalidSubjectToken)
}

func TestRefreshAfterUnauthorized(t *testing.T) {
	t.Run("stored token rejected: refreshed once", func(t *testing.T) {
		e := newEnv(t)
		m := e.manager()
		tok := e.offline(t, m, testShop, "42")
		var wg sync.WaitGroup
		results := make([]Token, 8)
		errs := make([]error, 8)
		for i := range 8 {
			wg.Go(func() { results[i], errs[i] = m.RefreshAfterUnauthorized(ctx, tok) })
		}
		wg.Wait()
		for i := range 8 {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if results[i].Value() == tok.Value() || !e.fake.AccessTokenValid(testShop, results[i].Value()) {
				t.Fatalf("caller %d got the rejected or a dead token", i)
			}
		}
		if c := e.fake.GrantCounts(); c.Refresh != 1 {
			t.Errorf("%d refreshes for 8 concurrent 401s, want 1", c.Refresh)
		}
		// A second Manager (another instance) hit by the same 401 gets the
		// replacement from the store without asking Shopify.
		m2 := e.manager()
		got, err := m2.RefreshAfterUnauthorized(ctx, tok)
		if err != nil || got.Value() != results[0].Value() {
			t.Fatalf("other instance: %v", err)
		}
		if c := e.fake.GrantCounts(); c.Refresh != 1 {
			t.Errorf("the other instance refreshed again: %+v", c)
		}
		// The cache no longer serves the rejected token.
		now, err := m.OfflineFor(ctx, testShop)
		if err != nil || now.Value() != results[0].Value() {
			t.Errorf("OfflineFor after the refresh: %v", err)
		}
	})
	t.Run("non-expiring token rejected", func(t *testing.T) {
		e := newEnv(t)
		m := e.manager()
		tok := storeNonExpiring(t, e, m)
		_, err := m.RefreshAfterUnauthorized(ctx, tok)
		mustErrIs(t, err, ErrReauthorize)
		if n := e.fake.Requests(shopifytest.RouteOAuthAccessToken); n != 0 {
			t.Errorf("%d requests to Shopify", n)
		}
	})
	t.Run("refresh refused", func(t *testing.T) {
		e := newEnv(t)
		m := e.manager()
		tok := e.offline(t, m, testShop, "42")
		e.fake.Revoke(testShop)
		_, err := m.RefreshAfterUnauthorized(ctx, tok)
		mustErrIs(t, err, ErrReauthorize)
		_, err = m.RefreshAfterUnauthorized(ctx, tok)
		mustErrIs(t, err, ErrReauthorize)
		if c := e.fake.GrantCounts(); c.Refresh != 1 {
			t.Errorf("%d refresh requests, want 1 (no loop)", c.Refresh)
		}
	})
	t.Run("uninstalled: invalid_client", func(t *testing.T) {
		e := newEnv(t)
		m := e.manager()
		tok := e.offline(t, m, testShop, "42")
		e.fake.Uninstall(testShop)
		_, err := m.RefreshAfterUnauthorized(ctx, tok)
		mustErrIs(t, err, ErrInvalidClient)
	})
	t.Run("record deleted", func(t *testing.T) {
		e := newEnv(t)
		m := e.manager()
		tok := e.offline(t, m, testShop, "42")
		if err := m.Delete(ctx, testShop); err != nil {
			t.Fatal(err)
		}
		_, err := m.RefreshAfterUnauthorized(ctx, tok)
		mustErrIs(t, err, ErrReauthorize, ErrNotFound)
		_, err = m.OfflineFor(ctx, testShop)
		mustErrIs(t, err, ErrNoToken)
	})
	t.Run("zero token", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.manager().RefreshAfterUnauthorized(ctx, Token{})
		mustErrIs(t, err, ErrNoToken)
	})
}

// storeNonExpiring stores a non-expiring offline token the fake issued, as
// a shop installed before expiring tokens would have.
func storeNonExpiring(t *testing.T, e *env, m *Manager) Token {
	t.Helper()
	plain := e.fake.IssueAccessToken(testShop, shopifytest.DefaultScope, 0)
	imported, err := m.ImportOffline(ctx, testShop, plain, shopifytest.DefaultScope)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ImportOffline(ctx, testShop, plain, shopifytest.DefaultScope); !errors.Is(err, ErrConflict) {
		t.Fatalf("a second import: %v, want ErrConflict", err)
	}
	tok, err := m.OfflineFor(ctx, testShop)
	if err != nil || tok.Value() != plain || imported.Value() != plain || !tok.ExpiresAt.IsZero() {
		t.Fatalf("non-expiring token not served: %v", err)
	}
	return tok
}

func TestMigrateToExpiring(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	_, err := m.MigrateToExpiring(ctx, testShop)
	mustErrIs(t, err, ErrNoToken, ErrNotFound)

	old := storeNonExpiring(t, e, m)
	// A non-expiring token is never refreshed.
	e.clock.Advance(1000 * time.Hour)
	if tok, err := m.OfflineFor(ctx, testShop); err != nil || tok.Value() != old.Value() {
		t.Fatalf("non-expiring token after 1000 h: %v", err)
	}

	tok, err := m.MigrateToExpiring(ctx, testShop)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ExpiresAt.IsZero() || tok.Value() == old.Value() {
		t.Fatalf("migrated token %v does not expire or is the old one", tok)
	}
	if e.fake.AccessTokenValid(testShop, old.Value()) {
		t.Error("the non-expiring token survived the migration")
	}
	if !e.fake.AccessTokenValid(testShop, tok.Value()) {
		t.Error("the migrated token is not honoured")
	}
	last, _ := e.fake.LastRequest(shopifytest.RouteOAuthAccessToken)
	for _, want := range []string{
		`"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange"`,
		`"subject_token":"` + old.Value() + `"`,
		`"subject_token_type":"urn:shopify:params:oauth:token-type:offline-access-token"`,
		`"requested_token_type":"urn:shopify:params:oauth:token-type:offline-access-token"`,
		`"expiring":"1"`,
	} {
		if !strings.Contains(string(last.Body), want) {
			t.Errorf("migrate body lacks %s", want)
		}
	}
	// Once migrated, a second call asks nothing.
	again, err := m.MigrateToExpiring(ctx, testShop)
	if err != nil || again.Value() != tok.Value() {
		t.Fatalf("second migration: %v", err)
	}
	if c := e.fake.GrantCounts(); c.Migrate != 1 {
		t.Errorf("%d migrations, want 1", c.Migrate)
	}
	// And from now on it is refreshed.
	e.clock.Advance(time.Hour)
	ref, err := m.OfflineFor(ctx, testShop)
	if err != nil || ref.Value() == tok.Value() {
		t.Fatalf("migrated token not refreshed: %v", err)
	}
}

func TestMigrateRefusedStoredToken(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	storeNonExpiring(t, e, m)
	e.fake.Revoke(testShop)
	_, err := m.MigrateToExpiring(ctx, testShop)
	mustErrIs(t, err, ErrReauthorize)
	var se *ShopifyError
	if !errors.As(err, &se) || se.Code != "invalid_subject_token" {
		t.Errorf("error %v: want Shopify's invalid_subject_token", err)
	}
}

func TestServesValidTokenWhileShopifyIsDown(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	first := e.offline(t, m, testShop, "42")
	e.clock.Advance(time.Hour - time.Minute) // due, still valid
	faults := make([]shopifytest.Fault, 20)
	for i := range faults {
		faults[i] = shopifytest.Fault{Status: 503}
	}
	e.fake.Inject(shopifytest.RouteOAuthAccessToken, faults...)
	before := e.fake.Requests(shopifytest.RouteOAuthAccessToken)

	tok, err := m.OfflineFor(ctx, testShop)
	if err != nil {
		t.Fatalf("a valid stored token was not served while Shopify is down: %v", err)
	}
	if tok.Value() != first.Value() {
		t.Fatal("served another token")
	}
	if n := e.fake.Requests(shopifytest.RouteOAuthAccessToken) - before; n != DefaultMaxAttempts {
		t.Errorf("%d attempts, want %d", n, DefaultMaxAttempts)
	}
	// Within the failure backoff, no new attempt.
	for range 5 {
		if _, err := m.OfflineFor(ctx, testShop); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.fake.Requests(shopifytest.RouteOAuthAccessToken) - before; n != DefaultMaxAttempts {
		t.Errorf("%d attempts after more calls in the failure backoff, want %d", n, DefaultMaxAttempts)
	}
	// Past it, one more try (still failing) and the token is still served.
	e.clock.Advance(DefaultFailureBackoff)
	if _, err := m.OfflineFor(ctx, testShop); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Requests(shopifytest.RouteOAuthAccessToken) - before; n != 2*DefaultMaxAttempts {
		t.Errorf("%d attempts, want %d", n, 2*DefaultMaxAttempts)
	}
	// Once expired and Shopify still down: an error saying so.
	e.clock.Advance(time.Minute)
	_, err = m.OfflineFor(ctx, testShop)
	mustErrIs(t, err, ErrUnavailable)
	var se *ShopifyError
	if !errors.As(err, &se) || se.Status != 503 || se.Attempts != DefaultMaxAttempts {
		t.Errorf("error %v: want the last 503 after %d attempts", err, DefaultMaxAttempts)
	}
	// Shopify back: refreshed.
	e.fake.Inject(shopifytest.RouteOAuthAccessToken) // nothing queued beyond the rest
	for e.fake.Requests(shopifytest.RouteOAuthAccessToken)-before < len(faults) {
		_, _ = m.OfflineFor(ctx, testShop)
		e.clock.Advance(DefaultFailureBackoff)
	}
	tok, err = m.OfflineFor(ctx, testShop)
	if err != nil || !e.fake.AccessTokenValid(testShop, tok.Value()) {
		t.Fatalf("after Shopify came back: %v", err)
	}
}

func TestRetryAfterAndBackoff(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	s, id := e.session(testShop, "42")
	e.fake.Inject(shopifytest.RouteOAuthAccessToken,
		shopifytest.Fault{Status: 429, RetryAfter: "7"},
		shopifytest.Fault{Status: 500},
		shopifytest.Fault{Status: 502},
	)
	tok, err := m.Offline(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	if !e.fake.AccessTokenValid(testShop, tok.Value()) {
		t.Fatal("token not honoured")
	}
	want := []time.Duration{7 * time.Second, 2 * defaultRetryBase, 4 * defaultRetryBase} // after attempts 2 and 3
	if got := e.recordedSleeps(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("waits %v, want %v (Retry-After in seconds, then exponential backoff)", got, want)
	}
}

func TestRetryAfterBeyondTheBudgetGivesUp(t *testing.T) {
	e := newEnv(t)
	m := e.manager(WithRequestTimeout(2*time.Second), WithLease(5*time.Second))
	s, id := e.session(testShop, "42")
	e.fake.Inject(shopifytest.RouteOAuthAccessToken, shopifytest.Fault{Status: 429, RetryAfter: "30"})
	_, err := m.Offline(ctx, s, id)
	mustErrIs(t, err, ErrUnavailable)
	var se *ShopifyError
	if !errors.As(err, &se) || se.Status != 429 || se.RetryAfter != 30*time.Second {
		t.Errorf("error %v: want the 429 with its Retry-After", err)
	}
	if got := e.recordedSleeps(); len(got) != 0 {
		t.Errorf("slept %v into a certain timeout", got)
	}
}

func TestDeleteForgetsTheShop(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	s, id := e.session(testShop, "42")
	if _, err := m.Offline(ctx, s, id); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Online(ctx, s, id); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, testShop); err != nil {
		t.Fatal(err)
	}
	_, err := m.OfflineFor(ctx, testShop)
	mustErrIs(t, err, ErrNoToken, ErrNotFound)
	if _, err := e.store.Load(ctx, Key{Shop: testShop, Mode: Online, UserID: "42"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("online record survived Delete: %v", err)
	}
}

func TestCanceledCallerDoesNotFailOthers(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	s, id := e.session(testShop, "42")
	e.fake.Inject(shopifytest.RouteOAuthAccessToken, shopifytest.Fault{Latency: 200 * time.Millisecond})
	cctx, cancel := context.WithCancel(ctx)
	leaderDone := make(chan error, 1)
	go func() {
		_, err := m.Offline(cctx, s, id)
		leaderDone <- err
	}()
	// Wait until the leader's request is at the fake, then cancel it and
	// ask as a second caller with a live context.
	for e.fake.Requests(shopifytest.RouteOAuthAccessToken) == 0 {
		time.Sleep(time.Millisecond)
	}
	follower := make(chan error, 1)
	go func() {
		_, err := m.Offline(ctx, s, id)
		follower <- err
	}()
	cancel()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled leader: %v", err)
	}
	if err := <-follower; err != nil {
		t.Errorf("the follower failed with the leader's cancellation: %v", err)
	}
}

func TestWriteRefusedServesWhatIsStored(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	first := e.offline(t, m, testShop, "42")
	e.clock.Advance(time.Hour - time.Minute)
	// The store refuses our write (a newer lease was granted): the new
	// pair is dropped unused and the stored, still valid, token served.
	fenced := ErrFenced
	e.store.swapErr.Store(&fenced)
	tok, err := m.OfflineFor(ctx, testShop)
	e.store.swapErr.Store(nil)
	if err != nil {
		t.Fatalf("refused write with a valid stored token: %v", err)
	}
	if tok.Value() != first.Value() {
		t.Error("served a token that was never stored")
	}
	// Expired and refused: the error says why.
	e.clock.Advance(2 * time.Minute)
	e.store.swapErr.Store(&fenced)
	_, err = m.OfflineFor(ctx, testShop)
	e.store.swapErr.Store(nil)
	mustErrIs(t, err, ErrFenced)
}

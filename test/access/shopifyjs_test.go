package access_test

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
	"github.com/possession-dev/possession/test/internal/shopifyjs"
)

// Shopify's own @shopify/shopify-api (13.1.0, tools/shopify-js) runs its
// token exchange, refresh, migrate and client-credentials code against
// shopifytest, which shows that the fake speaks the protocol as Shopify's
// library does (it accepts the fake's answers and its error bodies); and
// possession's Manager makes each grant against the same fake, which
// shows that possession sends the requests the official client sends.

type jsSession struct {
	ID                  string  `json:"id"`
	Shop                string  `json:"shop"`
	IsOnline            bool    `json:"isOnline"`
	AccessToken         string  `json:"accessToken"`
	Scope               string  `json:"scope"`
	Expires             *string `json:"expires"`
	RefreshToken        *string `json:"refreshToken"`
	RefreshTokenExpires *string `json:"refreshTokenExpires"`
	UserID              *int64  `json:"userId"`
}

type jsResult struct {
	OK      bool              `json:"ok"`
	Session jsSession         `json:"session"`
	Error   string            `json:"error"`
	Status  int               `json:"status"`
	Body    map[string]string `json:"body"`
}

type jsRunner struct {
	t    *testing.T
	dir  string
	fake *shopifytest.Server
	shop string
}

func (r jsRunner) run(op string, extra map[string]string) jsResult {
	r.t.Helper()
	in := map[string]string{"baseURL": r.fake.URL, "apiKey": r.fake.ClientID(), "apiSecret": r.fake.ClientSecret(), "shop": r.shop, "op": op}
	for k, v := range extra {
		in[k] = v
	}
	b, _ := json.Marshal(in)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "oauth-reference.mjs")
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "OAUTH_REFERENCE="+string(b))
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.t.Fatalf("node %s: %v\n%s", op, err, ee.Stderr)
		}
		r.t.Fatalf("node %s: %v", op, err)
	}
	var res jsResult
	if err := json.Unmarshal(out, &res); err != nil {
		r.t.Fatalf("node %s printed %q: %v", op, out, err)
	}
	return res
}

// request is what the fake recorded of the last token request.
type request struct {
	method, path, host, contentType, accept string
	body                                    map[string]string
}

func lastRequest(t *testing.T, fake *shopifytest.Server) request {
	t.Helper()
	r, ok := fake.LastRequest(shopifytest.RouteOAuthAccessToken)
	if !ok {
		t.Fatal("no token request recorded")
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var body map[string]string
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body %q is not a JSON object of strings: %v", r.Body, err)
	}
	return request{r.Method, r.Path, r.Host, mt, r.Header.Get("Accept"), body}
}

// sameRequest compares possession's request with the official client's.
// Fields holding a token of each side's own (a refresh token, an old
// offline token) are compared by presence and shape; the rest by value.
func sameRequest(t *testing.T, grant string, official, ours request, ownValues ...string) {
	t.Helper()
	if official.method != ours.method || official.path != ours.path || official.host != ours.host {
		t.Errorf("%s: %s %s (Host %s), official %s %s (Host %s)", grant, ours.method, ours.path, ours.host, official.method, official.path, official.host)
	}
	if official.contentType != ours.contentType || official.accept != ours.accept {
		t.Errorf("%s: Content-Type %q Accept %q, official %q %q", grant, ours.contentType, ours.accept, official.contentType, official.accept)
	}
	own := map[string]bool{}
	for _, k := range ownValues {
		own[k] = true
	}
	for k, v := range official.body {
		got, ok := ours.body[k]
		switch {
		case !ok:
			t.Errorf("%s: possession's body lacks %q (official: %q)", grant, k, redact(k, v))
		case own[k]:
			if got == "" || got[:min(6, len(got))] != v[:min(6, len(v))] {
				t.Errorf("%s: %s is %q, official %q: not the same kind of token", grant, k, redact(k, got), redact(k, v))
			}
		case got != v:
			t.Errorf("%s: %s = %q, official %q", grant, k, redact(k, got), redact(k, v))
		}
	}
	for k := range ours.body {
		if _, ok := official.body[k]; !ok {
			t.Errorf("%s: possession sends %q, the official client does not", grant, k)
		}
	}
}

func redact(k, v string) string {
	if strings.Contains(k, "secret") || strings.Contains(k, "token") && k != "subject_token_type" && k != "requested_token_type" {
		return v[:min(6, len(v))] + "..."
	}
	return v
}

func TestShopifyJSReference(t *testing.T) {
	dir := shopifyjs.Dir(t, "@shopify/shopify-api")
	const shop = "js-reference.myshopify.com"
	// Real time: the JS library checks the session token's exp with its
	// own clock.
	fake := shopifytest.NewServer()
	defer fake.Close()
	js := jsRunner{t: t, dir: dir, fake: fake, shop: shop}
	src, _ := keysource.Static(fake.ClientSecret())
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	m, err := access.New(fake.ClientID(), src, access.MemoryStore(),
		access.WithShopifyBaseURL(fake.URL), access.WithHTTPClient(&http.Client{Transport: transport}))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := sdk.New(src, sdk.WithClientID(fake.ClientID()))
	minter := sdktest.Minter{Secret: fake.ClientSecret(), ClientID: fake.ClientID(), Shop: shop, UserID: "42"}
	ctx := context.Background()
	idToken := minter.Admin()
	sess, err := v.Verify(ctx, idToken)
	if err != nil {
		t.Fatal(err)
	}

	// Expiring offline token exchange.
	official := js.run("exchange-offline", map[string]string{"sessionToken": idToken})
	if !official.OK {
		t.Fatalf("the official client's exchange failed against the fake: %s %v", official.Error, official.Body)
	}
	jsOff := official.Session
	if jsOff.IsOnline || jsOff.ID != "offline_"+shop || jsOff.Expires == nil || jsOff.RefreshToken == nil || jsOff.RefreshTokenExpires == nil || jsOff.Scope != shopifytest.DefaultScope {
		t.Errorf("the official client read the fake's answer as %+v", jsOff)
	}
	if !fake.AccessTokenValid(shop, jsOff.AccessToken) {
		t.Error("the official client's token is not honoured")
	}
	jsExchange := lastRequest(t, fake)
	tok, err := m.Offline(ctx, sess, idToken)
	if err != nil {
		t.Fatal(err)
	}
	sameRequest(t, "exchange offline", jsExchange, lastRequest(t, fake))
	jsExpires, _ := time.Parse(time.RFC3339, *jsOff.Expires)
	if d := tok.ExpiresAt.Sub(jsExpires); d < -5*time.Second || d > 5*time.Second {
		t.Errorf("expiry %v, the official client's %v", tok.ExpiresAt, jsExpires)
	}
	if fake.AccessTokenValid(shop, jsOff.AccessToken) {
		t.Error("possession's exchange did not revoke the official client's expiring token")
	}

	// Refresh: the official client redeems its own refresh token
	// (revoked by possession's exchange: refused with invalid_grant, read
	// as Shopify's error body), then a live one.
	refused := js.run("refresh", map[string]string{"refreshToken": *jsOff.RefreshToken})
	if refused.OK || refused.Status != 400 || refused.Body["error"] != "invalid_grant" {
		t.Errorf("the official client's refresh of a revoked token: %+v", refused)
	}
	// A live refresh token for the official client: exchange again.
	again := js.run("exchange-offline", map[string]string{"sessionToken": minter.Admin()})
	if !again.OK {
		t.Fatal(again.Error)
	}
	refreshed := js.run("refresh", map[string]string{"refreshToken": *again.Session.RefreshToken})
	if !refreshed.OK || refreshed.Session.RefreshToken == nil || *refreshed.Session.RefreshToken == *again.Session.RefreshToken {
		t.Fatalf("the official client's refresh: %+v", refreshed)
	}
	jsRefresh := lastRequest(t, fake)
	// possession refreshes its (now revoked) token after a 401: its stored
	// refresh token was revoked by the official client's exchange, so
	// exchange once more for a live one first.
	if err := m.Delete(ctx, shop); err != nil {
		t.Fatal(err)
	}
	idToken2 := minter.Admin()
	sess2, _ := v.Verify(ctx, idToken2)
	tok, err = m.Offline(ctx, sess2, idToken2)
	if err != nil {
		t.Fatal(err)
	}
	newTok, err := m.RefreshAfterUnauthorized(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	sameRequest(t, "refresh", jsRefresh, lastRequest(t, fake), "refresh_token")
	if !fake.AccessTokenValid(shop, newTok.Value()) {
		t.Error("possession's refreshed token is not honoured")
	}

	// Online token exchange.
	onl := js.run("exchange-online", map[string]string{"sessionToken": idToken2})
	if !onl.OK || !onl.Session.IsOnline || onl.Session.UserID == nil || *onl.Session.UserID != 42 || onl.Session.Expires == nil {
		t.Fatalf("the official client's online exchange: %+v", onl)
	}
	jsOnline := lastRequest(t, fake)
	if _, err := m.Online(ctx, sess2, idToken2); err != nil {
		t.Fatal(err)
	}
	sameRequest(t, "exchange online", jsOnline, lastRequest(t, fake))

	// Migrate a non-expiring token: each side has its own.
	const migShop = "js-migrate.myshopify.com"
	mjs := jsRunner{t: t, dir: dir, fake: fake, shop: migShop}
	jsOld := fake.IssueAccessToken(migShop, "read_orders", 0)
	mig := mjs.run("migrate", map[string]string{"offlineToken": jsOld})
	if !mig.OK || mig.Session.Expires == nil || mig.Session.RefreshToken == nil || mig.Session.Scope != "read_orders" {
		t.Fatalf("the official client's migration: %+v", mig)
	}
	if fake.AccessTokenValid(migShop, jsOld) {
		t.Error("the migrated token survived")
	}
	jsMigrate := lastRequest(t, fake)
	ourOld := fake.IssueAccessToken(migShop, "read_orders", 0)
	if _, err := m.ImportOffline(ctx, migShop, ourOld, "read_orders"); err != nil {
		t.Fatal(err)
	}
	migrated, err := m.MigrateToExpiring(ctx, migShop)
	if err != nil {
		t.Fatal(err)
	}
	sameRequest(t, "migrate", jsMigrate, lastRequest(t, fake), "subject_token")
	if migrated.ExpiresAt.IsZero() || !fake.AccessTokenValid(migShop, migrated.Value()) {
		t.Error("possession's migrated token")
	}

	// The official client reads the fake's other error bodies too.
	bad := js.run("exchange-offline", map[string]string{"sessionToken": sdktest.Minter{Secret: "not-the-apps-secret-0123456789abcdef", ClientID: fake.ClientID(), Shop: shop}.Admin()})
	if bad.OK {
		t.Error("the official client accepted a session token signed with another secret")
	}
	fake.Uninstall("js-uninstalled.myshopify.com")
	cc := jsRunner{t: t, dir: dir, fake: fake, shop: "js-uninstalled.myshopify.com"}.run("client-credentials", nil)
	if cc.OK || cc.Status != 400 || cc.Body["error"] != "invalid_client" {
		t.Errorf("client credentials for an uninstalled shop: %+v", cc)
	}
	ok := js.run("client-credentials", nil)
	if !ok.OK || !fake.AccessTokenValid(shop, ok.Session.AccessToken) || ok.Session.Expires == nil {
		t.Errorf("client credentials: %+v", ok)
	}
}

package benchmarks

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/possession-dev/possession/benchmarks/internal/peers"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// The negative cases change one claim of a token at a time: Minter does
// that. Its tokens have the fixtures' shape but for the claims' order.
const (
	secret = peers.Secret
	shop   = "possession-demo-store-berlin-mitte1.myshopify.com"
	userID = "115855966237"
)

// issuedAt is when minter's tokens are issued unless told otherwise; the
// test verifies at issuedAt + 1 s.
var issuedAt = time.Unix(1_780_000_000, 0)

func minter(at time.Time, s string) sdktest.Minter {
	return sdktest.Minter{
		Secret:        s,
		ClientID:      peers.ClientID,
		Shop:          shop,
		UserID:        userID,
		Now:           func() time.Time { return at },
		EscapeSlashes: true,
	}
}

// TestPeersCheckTheSameThings proves every benchmarked library is
// configured with equivalent checks before any benchmark trusts its
// numbers: each accepts the valid token and rejects the bad ones.
func TestPeersCheckTheSameThings(t *testing.T) {
	now := issuedAt.Add(time.Second)
	good := minter(issuedAt, secret)
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	valid := good.Admin()
	payload := strings.Split(valid, ".")[1]
	hs512, err := sdktest.SignRaw(secret, []byte(`{"alg":"HS512","typ":"JWT"}`), mustPayload(t, payload))
	if err != nil {
		t.Fatal(err)
	}
	rejected := []struct {
		name  string
		token string
	}{
		{"expired", minter(issuedAt.Add(-2*time.Minute), secret).Admin()},
		{"expired beyond leeway by 1s", minter(issuedAt.Add(-71*time.Second), secret).Admin()},
		{"not yet valid", minter(issuedAt.Add(time.Minute), secret).Admin()},
		{"forged (other secret)", minter(issuedAt, peers.OtherSecret).Admin()},
		{"signature altered", valid[:len(valid)-2] + flip(valid[len(valid)-2:])},
		{"wrong aud", good.Admin(sdktest.Set("aud", "another-app"))},
		{"no exp", good.Admin(sdktest.Delete("exp"))},
		{"alg none", noneHeader + "." + payload + "."},
		{"alg none with signature", noneHeader + "." + payload + "." + strings.Split(valid, ".")[2]},
		{"alg HS512", hs512},
		{"dest not a shop", good.Admin(sdktest.Set("dest", "https://evil.example.com"))},
		{"iss on another host", good.Admin(sdktest.Set("iss", "https://other.myshopify.com/admin"))},
		{"iat in the future", good.Admin(sdktest.Set("iat", now.Add(time.Minute).Unix()))},
	}
	clock := func() time.Time { return now }
	fixture := app.Fixture(0)
	for _, p := range append(peers.All(clock, 100), peers.Possession(clock, 0)) {
		t.Run(p.Name, func(t *testing.T) {
			gotShop, user, err := p.Verify(valid)
			if err != nil {
				t.Fatalf("valid token rejected: %v", err)
			}
			if gotShop != shop || user != userID {
				t.Fatalf("valid token: shop %q user %q", gotShop, user)
			}
			// The benchmarks' tokens, at the benchmarks' instant.
			atFixtures := peerAt(p.Name, verifyAt())
			if gotShop, user, err := atFixtures.Verify(fixture.Token); err != nil || gotShop != fixture.Shop || user != fixture.UserID {
				t.Fatalf("fixture token: shop %q user %q err %v; want %s %s", gotShop, user, err, fixture.Shop, fixture.UserID)
			}
			// Within the leeway, both ends.
			for _, tok := range []string{
				minter(issuedAt.Add(-68*time.Second), secret).Admin(),
				minter(issuedAt.Add(9*time.Second), secret).Admin(),
			} {
				if _, _, err := p.Verify(tok); err != nil {
					t.Errorf("token within leeway rejected: %v", err)
				}
			}
			for _, c := range rejected {
				if _, _, err := p.Verify(c.token); err == nil {
					t.Errorf("%s: accepted", c.name)
				}
			}
		})
	}
}

// peerAt returns the peer named name reading the clock at.
func peerAt(name string, at time.Time) peers.Peer {
	clock := func() time.Time { return at }
	for _, p := range append(peers.All(clock, 100), peers.Possession(clock, 0)) {
		if p.Name == name {
			return p
		}
	}
	panic(name)
}

// TestFixturePools checks each pool is what its benchmark claims: valid
// tokens of many shops, tokens of a shop each, the same claims forged,
// expired ones, and hot-set copies that are equal to the cached tokens in
// other memory.
func TestFixturePools(t *testing.T) {
	f := fixtures()
	v, err := sdk.New(keysource.MustStatic(peers.Secret), sdk.WithClientID(peers.ClientID), sdk.WithClock(verifyAt), sdk.WithCacheSize(0))
	if err != nil {
		t.Fatal(err)
	}
	shops := map[string]bool{}
	for i := 0; i < poolSize; i += 31 {
		s, err := v.Verify(t.Context(), f.valid[i])
		if err != nil || s.Shop != app.Fixture(i).Shop {
			t.Fatalf("valid[%d]: %v, shop %v", i, err, s)
		}
		shops[s.Shop] = true
		if _, err := v.Verify(t.Context(), f.forged[i]); !errors.Is(err, sdk.ErrSignature) {
			t.Fatalf("forged[%d]: %v", i, err)
		}
		if _, err := v.Verify(t.Context(), f.expired[i]); !errors.Is(err, sdk.ErrExpired) {
			t.Fatalf("expired[%d]: %v", i, err)
		}
	}
	if len(shops) < 500 {
		t.Fatalf("%d shops in the valid pool", len(shops))
	}
	shops = map[string]bool{}
	for i, tok := range f.newShops {
		s, err := v.Verify(t.Context(), tok)
		if err != nil {
			t.Fatalf("newShops[%d]: %v", i, err)
		}
		shops[s.Shop] = true
	}
	if len(shops) < poolSize*99/100 {
		t.Fatalf("%d shops among the %d newShops tokens; want nearly one each", len(shops), poolSize)
	}
	for i := range f.hot {
		if f.hotCopies[i] != f.hot[i] || unsafe.StringData(f.hotCopies[i]) == unsafe.StringData(f.hot[i]) {
			t.Fatalf("hotCopies[%d] is not a copy of hot[%d] in other memory", i, i)
		}
	}
}

// TestTraceReusesTokens checks the realistic mix is what it claims: valid
// tokens, reused within their minute, Zipf-skewed.
func TestTraceReusesTokens(t *testing.T) {
	tr := mixTrace()
	if tr.distinct >= len(tr.tokens)/2 || tr.distinct < traceUsers/10 {
		t.Errorf("%d distinct tokens in %d requests: want many users, each token reused", tr.distinct, len(tr.tokens))
	}
	var clock time.Time
	p := peers.Possession(func() time.Time { return clock }, 0)
	for i := 0; i < len(tr.tokens); i += 97 {
		clock = tr.times[i]
		if _, _, err := p.Verify(tr.tokens[i]); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	for i := 1; i < len(tr.tokens); i++ {
		if unsafe.StringData(tr.tokens[i]) == unsafe.StringData(tr.tokens[i-1]) {
			t.Fatalf("requests %d and %d share their token's memory", i-1, i)
		}
	}
}

func mustPayload(t *testing.T, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// flip changes the last two base64url characters of a signature.
func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

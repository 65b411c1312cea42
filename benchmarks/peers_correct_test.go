package benchmarks

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/sdk/sdktest"
)

// TestPeersCheckTheSameThings proves every benchmarked library is
// configured with equivalent checks before any benchmark trusts its
// numbers: each accepts the valid token and rejects the bad ones.
func TestPeersCheckTheSameThings(t *testing.T) {
	now := verifyAt()
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
		{"forged (other secret)", minter(issuedAt, otherSecret).Admin()},
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
	for _, p := range append(peers(clock, 100), possessionPeer(clock, 0)) {
		t.Run(p.name, func(t *testing.T) {
			shop, user, err := p.verify(valid)
			if err != nil {
				t.Fatalf("valid token rejected: %v", err)
			}
			if shop != "possession-demo-store-berlin-mitte1.myshopify.com" || user != userID {
				t.Fatalf("valid token: shop %q user %q", shop, user)
			}
			// Within the leeway, both ends.
			for _, tok := range []string{
				minter(issuedAt.Add(-68*time.Second), secret).Admin(),
				minter(issuedAt.Add(9*time.Second), secret).Admin(),
			} {
				if _, _, err := p.verify(tok); err != nil {
					t.Errorf("token within leeway rejected: %v", err)
				}
			}
			for _, c := range rejected {
				if _, _, err := p.verify(c.token); err == nil {
					t.Errorf("%s: accepted", c.name)
				}
			}
		})
	}
}

func TestFixtureTokenIsShopifySized(t *testing.T) {
	if n := len(fixtures().valid[0]); n != 583 {
		t.Errorf("fixture token is %d bytes, want 583 (the reference token the README's numbers use)", n)
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
	p := peers(func() time.Time { return clock }, 0)[0]
	for i := 0; i < len(tr.tokens); i += 97 {
		clock = tr.times[i]
		if _, _, err := p.verify(tr.tokens[i]); err != nil {
			t.Fatalf("request %d: %v", i, err)
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

package sdk_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/possession-dev/possession/sdk/sdktest"
)

// The token corpus is shared by FuzzVerify's seeds (here) and the
// differential test against golang-jwt (test module, test/sdk): its copy
// of this file must stay identical (TestCorpusMatchesCore checks).

// generatedTokens returns a corpus of tokens around every rule: valid
// admin and checkout tokens, each rule broken, boundary times, attacks on
// the header, rotated secrets and the deliberate differences.
func generatedTokens(t testing.TB, n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	secrets := []string{testSecret, prevSecret, "wrong-secret"}
	changes := []func() sdktest.Claim{
		func() sdktest.Claim { return sdktest.At(epoch.Add(time.Duration(rng.IntN(200)-130) * time.Second)) },
		func() sdktest.Claim {
			return sdktest.Delete([]string{"exp", "nbf", "iat", "iss", "aud", "sub", "dest", "sid", "jti"}[rng.IntN(9)])
		},
		func() sdktest.Claim {
			return sdktest.Set("aud", []any{testClientID, "other", "", []string{testClientID}, nil, 7}[rng.IntN(6)])
		},
		func() sdktest.Claim {
			return sdktest.Set("dest", []any{"https://" + testShop, testShop, "https://other.myshopify.com", "http://" + testShop,
				"https://" + testShop + "/", "https://a.b.myshopify.com", "https://-x.myshopify.com", "https://UP.myshopify.com", "", 5, nil}[rng.IntN(11)])
		},
		func() sdktest.Claim {
			return sdktest.Set("iss", []any{"https://" + testShop + "/admin", "https://other.myshopify.com/admin", testShop + "/admin",
				"https://" + testShop, "https://" + testShop + "?x", "https://user@" + testShop + "/admin", "", nil, 3}[rng.IntN(9)])
		},
		func() sdktest.Claim {
			return sdktest.Set([]string{"exp", "nbf", "iat"}[rng.IntN(3)], []any{epoch.Unix() + int64(rng.IntN(40)-20), float64(epoch.Unix()) + 0.5, "1800000000", nil, 1e20, -5}[rng.IntN(6)])
		},
		func() sdktest.Claim {
			return sdktest.Set("sub", []any{"42", 42, "gid://shopify/Customer/1", nil}[rng.IntN(4)])
		},
		func() sdktest.Claim {
			return sdktest.Set("extra", map[string]any{"nested": []any{1, "two", map[string]any{}}})
		},
	}
	var out []string
	for len(out) < n {
		m := minter()
		m.Secret = secrets[rng.IntN(len(secrets))]
		m.EscapeSlashes = rng.IntN(2) == 0
		var ch []sdktest.Claim
		for range rng.IntN(3) {
			ch = append(ch, changes[rng.IntN(len(changes))]())
		}
		var tok string
		if rng.IntN(4) == 0 {
			tok = m.Checkout(ch...)
		} else {
			tok = m.Admin(ch...)
		}
		out = append(out, tok)
		h, p, sig := parts(tok)
		switch rng.IntN(8) {
		case 0: // another header, re-signed
			hdr := []string{`{"alg":"none"}`, `{"alg":"HS512"}`, `{"alg":"RS256"}`, `{"typ":"JWT"}`, `{"alg":"HS256","alg":"none"}`, `{"alg":"HS256","kid":"k"}`, `{"alg":["HS256"]}`, `{"alg":"HS256","crit":["b64"],"b64":false}`}[rng.IntN(8)]
			payload, _ := base64.RawURLEncoding.DecodeString(p)
			tok2, _ := sdktest.SignRaw(m.Secret, []byte(hdr), payload)
			out = append(out, tok2)
		case 1: // unsigned
			out = append(out, b64(`{"alg":"none","typ":"JWT"}`)+"."+p+".")
		case 2: // a byte flipped
			b := []byte(tok)
			b[rng.IntN(len(b))] ^= byte(1 << rng.IntN(7))
			out = append(out, string(b))
		case 3: // truncated
			out = append(out, tok[:rng.IntN(len(tok))])
		case 4: // signature swapped with another key's
			out = append(out, h+"."+p+"."+sigOf(sdktest.Minter{Secret: "x"}.Admin()))
		case 5: // duplicate claim, re-signed
			payload, _ := base64.RawURLEncoding.DecodeString(p)
			dup := append(bytes.TrimSuffix(payload, []byte("}")), []byte(fmt.Sprintf(`,"exp":%d}`, epoch.Unix()+30))...)
			tok2, _ := sdktest.SignRaw(m.Secret, []byte(hdr256), dup)
			out = append(out, tok2)
		case 6: // line break
			out = append(out, h+"."+p+"."+sig[:5]+"\n"+sig[5:])
		}
	}
	return out[:n]
}

const hdr256 = `{"alg":"HS256","typ":"JWT"}`

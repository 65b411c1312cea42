package tokentest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/possession-dev/possession/sdk/sdktest"
)

// The corpus seeds FuzzVerify (sdk) and feeds the differentials against
// golang-jwt and Shopify's decodeSessionToken (test/sdk): the same tokens
// on every run.

// Corpus returns a corpus of tokens around every rule: valid
// admin and checkout tokens, each rule broken, boundary times, attacks on
// the header, rotated secrets and the deliberate differences.
func Corpus(n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	secrets := []string{Secret, PrevSecret, "wrong-secret"}
	changes := []func() sdktest.Claim{
		func() sdktest.Claim { return sdktest.At(Epoch.Add(time.Duration(rng.IntN(200)-130) * time.Second)) },
		func() sdktest.Claim {
			return sdktest.Delete([]string{"exp", "nbf", "iat", "iss", "aud", "sub", "dest", "sid", "jti"}[rng.IntN(9)])
		},
		func() sdktest.Claim {
			return sdktest.Set("aud", []any{ClientID, "other", "", []string{ClientID}, nil, 7}[rng.IntN(6)])
		},
		func() sdktest.Claim {
			return sdktest.Set("dest", []any{"https://" + Shop, Shop, "https://other.myshopify.com", "http://" + Shop,
				"https://" + Shop + "/", "https://a.b.myshopify.com", "https://-x.myshopify.com", "https://UP.myshopify.com", "", 5, nil}[rng.IntN(11)])
		},
		func() sdktest.Claim {
			return sdktest.Set("iss", []any{"https://" + Shop + "/admin", "https://other.myshopify.com/admin", Shop + "/admin",
				"https://" + Shop, "https://" + Shop + "?x", "https://user@" + Shop + "/admin", "", nil, 3}[rng.IntN(9)])
		},
		func() sdktest.Claim {
			return sdktest.Set([]string{"exp", "nbf", "iat"}[rng.IntN(3)], []any{Epoch.Unix() + int64(rng.IntN(40)-20), float64(Epoch.Unix()) + 0.5, "1800000000", nil, 1e20, -5}[rng.IntN(6)])
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
		m := Minter()
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
		h, p, sig := Parts(tok)
		switch rng.IntN(8) {
		case 0: // another header, re-signed
			hdr := []string{`{"alg":"none"}`, `{"alg":"HS512"}`, `{"alg":"RS256"}`, `{"typ":"JWT"}`, `{"alg":"HS256","alg":"none"}`, `{"alg":"HS256","kid":"k"}`, `{"alg":["HS256"]}`, `{"alg":"HS256","crit":["b64"],"b64":false}`}[rng.IntN(8)]
			payload, _ := base64.RawURLEncoding.DecodeString(p)
			tok2, _ := sdktest.SignRaw(m.Secret, []byte(hdr), payload)
			out = append(out, tok2)
		case 1: // unsigned
			out = append(out, B64(`{"alg":"none","typ":"JWT"}`)+"."+p+".")
		case 2: // a byte flipped
			b := []byte(tok)
			b[rng.IntN(len(b))] ^= byte(1 << rng.IntN(7))
			out = append(out, string(b))
		case 3: // truncated
			out = append(out, tok[:rng.IntN(len(tok))])
		case 4: // signature swapped with another key's
			out = append(out, h+"."+p+"."+SigOf(sdktest.Minter{Secret: "x"}.Admin()))
		case 5: // duplicate claim, re-signed
			payload, _ := base64.RawURLEncoding.DecodeString(p)
			dup := append(bytes.TrimSuffix(payload, []byte("}")), []byte(fmt.Sprintf(`,"exp":%d}`, Epoch.Unix()+30))...)
			tok2, _ := sdktest.SignRaw(m.Secret, []byte(HS256Header), dup)
			out = append(out, tok2)
		case 6: // line break
			out = append(out, h+"."+p+"."+sig[:5]+"\n"+sig[5:])
		}
	}
	return out[:n]
}

package sdktest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// shopifyOrder is the order of claims in the tokens Shopify issues.
var shopifyOrder = []string{"iss", "dest", "aud", "sub", "exp", "nbf", "iat", "jti", "sid", "sig"}

// payloadOf checks the token's shape and signature with the standard
// library only, and returns the payload's bytes.
func payloadOf(t *testing.T, secret, token string) []byte {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("%d segments", len(parts))
	}
	enc := base64.RawURLEncoding.Strict()
	header, err := enc.DecodeString(parts[0])
	if err != nil || string(header) != `{"alg":"HS256","typ":"JWT"}` {
		t.Fatalf("header %q, %v", header, err)
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		t.Fatal("signature does not verify")
	}
	payload, err := enc.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// keysInOrder returns the payload's top-level keys in the order written.
func keysInOrder(t *testing.T, payload []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %v %v", tok, err)
	}
	var keys []string
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

type Fixture = sdktest.Fixture

type fixtureClaims struct {
	Iss, Dest, Aud, Sub, Jti, Sid, Sig string
	Exp, Nbf, Iat                      int64
}

func TestFixturesShape(t *testing.T) {
	f := sdktest.Fixtures{Secret: "s3cret", ClientID: "4c2c0d8f1e5a4b7f9d3e6a1b2c8d0e7f"}
	start := time.Unix(1_780_000_000, 0)
	for i := range 200 {
		fx := f.Fixture(i)
		payload := payloadOf(t, "s3cret", fx.Token)
		if got := strings.Join(keysInOrder(t, payload), ","); got != strings.Join(shopifyOrder, ",") {
			t.Fatalf("token %d: claims in order %s, want Shopify's %s", i, got, strings.Join(shopifyOrder, ","))
		}
		if !bytes.Contains(payload, []byte(`"iss":"https:\/\/`)) || bytes.Count(payload, []byte("/")) != bytes.Count(payload, []byte(`\/`)) {
			t.Fatalf("token %d: slashes not all escaped: %s", i, payload)
		}
		var c fixtureClaims
		if err := json.Unmarshal(payload, &c); err != nil {
			t.Fatal(err)
		}
		if c.Dest != "https://"+fx.Shop || c.Iss != "https://"+fx.Shop+"/admin" || c.Sub != fx.UserID || c.Aud != f.ClientID {
			t.Fatalf("token %d: claims %+v disagree with fixture %+v", i, c, fx)
		}
		if c.Nbf != c.Iat || c.Exp != c.Iat+60 || c.Iat != fx.IssuedAt.Unix() {
			t.Fatalf("token %d: exp %d nbf %d iat %d, fixture issued at %d", i, c.Exp, c.Nbf, c.Iat, fx.IssuedAt.Unix())
		}
		if c.Iat < start.Unix() || c.Iat >= start.Unix()+60 {
			t.Fatalf("token %d: iat %d outside the default window", i, c.Iat)
		}
		if len(c.Jti) != 36 || c.Jti[14] != '4' || len(c.Sid) != 64 || len(c.Sig) != 64 {
			t.Fatalf("token %d: jti %q sid %q sig %q", i, c.Jti, c.Sid, c.Sig)
		}
	}
}

// The point of the fixtures: many shops, users and times, every token
// distinct, one sid per user, and the same set on every call.
func TestFixturesVariety(t *testing.T) {
	f := sdktest.Fixtures{}
	const n = 4096
	shops, users, iats, tokens, jtis := map[string]bool{}, map[string]bool{}, map[int64]bool{}, map[string]bool{}, map[string]bool{}
	sidOf := map[string]string{}
	for i := range n {
		fx := f.Fixture(i)
		var c fixtureClaims
		if err := json.Unmarshal(payloadOf(t, sdktest.DefaultSecret, fx.Token), &c); err != nil {
			t.Fatal(err)
		}
		shops[fx.Shop], users[fx.Shop+"/"+fx.UserID], iats[c.Iat], tokens[fx.Token], jtis[c.Jti] = true, true, true, true, true
		if s, ok := sidOf[fx.Shop+"/"+fx.UserID]; ok && s != c.Sid {
			t.Fatalf("user %s of %s has two sids", fx.UserID, fx.Shop)
		}
		sidOf[fx.Shop+"/"+fx.UserID] = c.Sid
		if again := f.Fixture(i); again != fx {
			t.Fatalf("fixture %d differs between calls", i)
		}
	}
	// 4,096 draws from 1,000 shops and 20,000 users.
	if len(shops) < 950 || len(users) < 3500 || len(iats) != 60 || len(tokens) != n || len(jtis) != n {
		t.Fatalf("%d shops, %d users, %d iats, %d tokens, %d jtis", len(shops), len(users), len(iats), len(tokens), len(jtis))
	}
	lengths := map[int]bool{}
	for tok := range tokens {
		lengths[len(tok)] = true
	}
	if len(lengths) < 5 {
		t.Fatalf("token lengths %v: shops should vary them", lengths)
	}
	other := sdktest.Fixtures{Seed: 1}
	if other.Fixture(0).Token == f.Fixture(0).Token {
		t.Fatal("Seed does not change the set")
	}
	if got := f.Tokens(3); got[2] != f.Fixture(2).Token {
		t.Fatal("Tokens disagrees with Fixture")
	}
}

// Issue replays one user's tokens: same shop, sub and sid, a new jti and
// signature for each issue time.
func TestFixturesIssue(t *testing.T) {
	f := sdktest.Fixtures{}
	fx := f.Fixture(11)
	first := f.Issue(fx.User, fx.IssuedAt.Add(time.Minute))
	second := f.Issue(fx.User, fx.IssuedAt.Add(2*time.Minute))
	if first.Shop != fx.Shop || second.Shop != fx.Shop || first.UserID != fx.UserID || first.User != fx.User {
		t.Fatalf("reissued to %s/%s, want %s/%s", first.Shop, first.UserID, fx.Shop, fx.UserID)
	}
	var c0, c1, c2 fixtureClaims
	for _, p := range []struct {
		fx Fixture
		c  *fixtureClaims
	}{{fx, &c0}, {first, &c1}, {second, &c2}} {
		if err := json.Unmarshal(payloadOf(t, sdktest.DefaultSecret, p.fx.Token), p.c); err != nil {
			t.Fatal(err)
		}
	}
	if c1.Sid != c0.Sid || c2.Sid != c0.Sid || c1.Jti == c2.Jti || c1.Sig == c2.Sig || c2.Iat-c1.Iat != 60 {
		t.Fatalf("reissues: %+v, %+v of %+v", c1, c2, c0)
	}
	if again := f.Issue(fx.User, fx.IssuedAt.Add(time.Minute)); again != first {
		t.Fatal("Issue is not deterministic")
	}
	if other := f.Issue(fx.User+20, fx.IssuedAt); other.Shop == fx.Shop { // 20 users per shop by default
		t.Fatalf("user %d of another shop has shop %s", other.User, other.Shop)
	}
}

// The verifier under test accepts every fixture at ValidAt with no
// leeway, reports its shop and user, and rejects a copy signed with
// another secret as forged.
func TestFixturesVerify(t *testing.T) {
	const secret = "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"
	f := sdktest.Fixtures{Secret: secret, ClientID: "client", Start: time.Unix(1_790_000_000, 0), Window: 45 * time.Second, Shops: 5000}
	at := f.ValidAt()
	if want := time.Unix(1_790_000_044, 0); !at.Equal(want) {
		t.Fatalf("ValidAt %v, want %v", at, want)
	}
	v, err := sdk.New(keysource.MustStatic(secret), sdk.WithClientID("client"), sdk.WithLeeway(0),
		sdk.WithClock(func() time.Time { return at }), sdk.WithCacheSize(0))
	if err != nil {
		t.Fatal(err)
	}
	forged := f
	forged.Secret = "another-secret"
	ctx := context.Background()
	for i := range 2000 {
		fx := f.Fixture(i)
		s, err := v.Verify(ctx, fx.Token)
		if err != nil {
			t.Fatalf("fixture %d (%s): %v", i, fx.Shop, err)
		}
		if s.Shop != fx.Shop || s.UserID != fx.UserID || !s.IssuedAt.Equal(fx.IssuedAt) {
			t.Fatalf("fixture %d: session %s/%s issued %v, fixture %s/%s issued %v", i, s.Shop, s.UserID, s.IssuedAt, fx.Shop, fx.UserID, fx.IssuedAt)
		}
		if _, err := v.Verify(ctx, forged.Fixture(i).Token); !errors.Is(err, sdk.ErrSignature) {
			t.Fatalf("forged fixture %d: %v, want ErrSignature", i, err)
		}
	}
}

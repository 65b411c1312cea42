package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/webhook"
)

// A signed query is written here as its pairs in order; the signature is
// computed over them as Shopify computes it (or deliberately otherwise)
// and appended.
type pair struct{ k, v string }

func encode(pairs []pair) string {
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = url.QueryEscape(p.k) + "=" + url.QueryEscape(p.v)
	}
	return strings.Join(parts, "&")
}

func hexMAC(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// proxyMessage is Shopify's app proxy message: keys sorted by bytes,
// key=value with a repeated key's values joined by ",", no separator.
func proxyMessage(pairs []pair) string {
	byKey := map[string][]string{}
	var keys []string
	for _, p := range pairs {
		if _, ok := byKey[p.k]; !ok {
			keys = append(keys, p.k)
		}
		byKey[p.k] = append(byKey[p.k], p.v)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + strings.Join(byKey[k], ","))
	}
	return b.String()
}

// oauthMessage is Shopify's OAuth message: keys sorted by bytes,
// form-encoded pairs with %20 for a space (or space, when plus), "&".
func oauthMessage(pairs []pair, space string) string {
	esc := func(s string) string {
		e := url.QueryEscape(s)
		e = strings.ReplaceAll(e, "+", space)
		e = strings.ReplaceAll(e, "%2A", "*")
		return strings.ReplaceAll(e, "~", "%7E")
	}
	sorted := append([]pair(nil), pairs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].k < sorted[j].k })
	parts := make([]string, len(sorted))
	for i, p := range sorted {
		parts[i] = esc(p.k) + "=" + esc(p.v)
	}
	return strings.Join(parts, "&")
}

type queryCase struct {
	name  string
	query string
	want  bool   // webhook accepts
	diff  string // a key of deliberate; "" when both agree
	// For app proxy cases, the two ways an app builds the library's query
	// may differ from webhook separately.
	jsRemix, jsQs *bool
	jsWant        bool // OAuth: the library's verdict for a difference
}

func ptr(b bool) *bool { return &b }

func appProxyCorpus(now time.Time) []queryCase {
	ts := strconv.FormatInt(now.Unix(), 10)
	base := []pair{{"shop", shop}, {"logged_in_customer_id", "6573215908014"}, {"path_prefix", "/apps/loyalty"}, {"timestamp", ts}}
	signed := func(key string, pairs []pair, extra ...pair) string {
		return encode(pairs) + "&" + encode([]pair{{"signature", hexMAC(key, proxyMessage(pairs))}}) + tail(extra)
	}
	withTS := func(t string) []pair {
		return []pair{{"shop", shop}, {"path_prefix", "/apps/loyalty"}, {"timestamp", t}}
	}
	plus := func(ps ...pair) []pair { return append(append([]pair(nil), base...), ps...) }
	noShop := []pair{{"path_prefix", "/apps/loyalty"}, {"timestamp", ts}}
	sig := hexMAC(secret, proxyMessage(base))
	return []queryCase{
		{name: "valid", query: signed(secret, base), want: true},
		{name: "no customer logged in", query: signed(secret, withTS(ts)), want: true},
		{name: "empty customer ID", query: signed(secret, []pair{base[0], {"logged_in_customer_id", ""}, base[2], base[3]}), want: true},
		{name: "values with spaces, plus signs and unicode", query: signed(secret, plus(pair{"q", "red shoes + socks, größe 42"})), want: true},
		{name: "hmac parameter is left out", query: signed(secret, base, pair{"hmac", "whatever"}), want: true},
		{name: "wrong secret", query: signed(wrongSecret, base), want: false},
		{name: "tampered customer", query: strings.Replace(signed(secret, base), "6573215908014", "6573215908015", 1), want: false},
		{name: "parameter added after signing", query: signed(secret, base, pair{"admin", "1"}), want: false},
		{name: "signature upper-case hex", query: encode(base) + "&signature=" + strings.ToUpper(sig), want: false},
		{name: "signature missing", query: encode(base), want: false},
		{name: "timestamp 60 s old", query: signed(secret, withTS(strconv.FormatInt(now.Unix()-60, 10))), want: true},
		{name: "timestamp 200 s old", query: signed(secret, withTS(strconv.FormatInt(now.Unix()-200, 10))), want: false},
		{name: "timestamp 200 s ahead", query: signed(secret, withTS(strconv.FormatInt(now.Unix()+200, 10))), want: false},
		{name: "previous secret", query: signed(previous, base), want: true, diff: "previous-secret", jsRemix: ptr(false), jsQs: ptr(false)},
		{name: "repeated parameter, values joined", query: signed(secret, plus(pair{"tag", "a"}, pair{"tag", "b"})), want: true,
			diff: "repeated-joined", jsRemix: ptr(false), jsQs: ptr(true)},
		{name: "shop twice", query: signed(secret, base, pair{"shop", shop}), want: false, diff: "duplicate-security-param", jsRemix: ptr(true), jsQs: ptr(false)},
		{name: "timestamp twice", query: signed(secret, base, pair{"timestamp", ts}), want: false, diff: "duplicate-security-param", jsRemix: ptr(true), jsQs: ptr(false)},
		{name: "signature twice, the second one right", query: encode(base) + "&signature=00&signature=" + sig, want: false,
			diff: "duplicate-security-param", jsRemix: ptr(true), jsQs: ptr(false)},
		{name: "timestamp missing", query: signed(secret, base[:3]), want: false, diff: "timestamp-required", jsRemix: ptr(true), jsQs: ptr(true)},
		{name: "timestamp in hex", query: signed(secret, withTS("0x"+strconv.FormatInt(now.Unix(), 16))), want: false,
			diff: "timestamp-required", jsRemix: ptr(true), jsQs: ptr(true)},
		{name: "keys differing in case", query: signed(secret, plus(pair{"Zeta", "1"}, pair{"alpha", "2"})), want: true,
			diff: "sort-by-bytes", jsRemix: ptr(false), jsQs: ptr(false)},
		{name: "malformed percent-escape, signed as text", query: encode(base) + "&x=%zz&signature=" + hexMAC(secret, proxyMessage(append(base, pair{"x", "%zz"}))),
			want: false, diff: "bad-percent", jsRemix: ptr(true), jsQs: ptr(true)},
		{name: "signed without shop", query: signed(secret, noShop), want: false, diff: "shop-required", jsRemix: ptr(true), jsQs: ptr(true)},
	}
}

func tail(extra []pair) string {
	if len(extra) == 0 {
		return ""
	}
	return "&" + encode(extra)
}

const oauthState = "4d2c1e0b-nonce-7f6e5d4c3b2a"

func oauthCorpus(now time.Time) []queryCase {
	ts := strconv.FormatInt(now.Unix(), 10)
	base := []pair{{"code", "0907a61c0c8d55e99db179b68161bc00"}, {"host", "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZXhhbXBsZS1zaG9w"},
		{"shop", shop}, {"state", oauthState}, {"timestamp", ts}}
	signedWith := func(key, space string, pairs []pair, extra ...pair) string {
		return encode(pairs) + "&hmac=" + hexMAC(key, oauthMessage(pairs, space)) + tail(extra)
	}
	signed := func(key string, pairs []pair, extra ...pair) string { return signedWith(key, "%20", pairs, extra...) }
	plus := func(ps ...pair) []pair { return append(append([]pair(nil), base...), ps...) }
	mac := hexMAC(secret, oauthMessage(base, "%20"))
	return []queryCase{
		{name: "valid", query: signed(secret, base), want: true},
		{name: "host with padding and characters to encode", query: signed(secret, plus(pair{"note", "a=b&c*d~e/f:g"})), want: true},
		{name: "unicode value", query: signed(secret, plus(pair{"locale", "de-CH"}, pair{"note", "größe"})), want: true},
		{name: "signature parameter is left out", query: signed(secret, base, pair{"signature", "legacy"}), want: true},
		{name: "wrong secret", query: signed(wrongSecret, base), want: false},
		{name: "tampered code", query: strings.Replace(signed(secret, base), "0907a61c", "0907a61d", 1), want: false},
		{name: "hmac upper-case hex", query: encode(base) + "&hmac=" + strings.ToUpper(mac), want: false},
		{name: "hmac missing", query: encode(base), want: false},
		{name: "timestamp 200 s old", query: signed(secret, append(append([]pair(nil), base[:4]...), pair{"timestamp", strconv.FormatInt(now.Unix()-200, 10)})), want: false},
		{name: "state mismatch", query: signed(secret, append(append([]pair(nil), base[:3]...), pair{"state", "forged"}, base[4])), want: false},
		{name: "state missing", query: signed(secret, append(append([]pair(nil), base[:3]...), base[4])), want: false},
		{name: "shop not a myshopify.com domain", query: signed(secret, []pair{base[0], base[1], {"shop", "attacker.example"}, base[3], base[4]}), want: false},
		{name: "previous secret", query: signed(previous, base), want: true, diff: "previous-secret", jsWant: false},
		{name: "value with a space, signed %20", query: signed(secret, plus(pair{"note", "hello world"})), want: true, diff: "space-%20", jsWant: false},
		{name: "value with a space, signed +", query: signedWith(secret, "+", plus(pair{"note", "hello world"})), want: false, diff: "space-%20", jsWant: true},
		{name: "timestamp missing", query: signed(secret, base[:4]), want: false, diff: "timestamp-required", jsWant: true},
		{name: "code twice, the last one signed", query: "code=stale&" + signed(secret, base), want: false, diff: "oauth-duplicate", jsWant: true},
		{name: "code missing", query: signed(secret, base[1:]), want: false, diff: "code-required", jsWant: true},
	}
}

// TestDifferentialQueries checks app proxy and OAuth callback queries with
// webhook and with @shopify/shopify-api 13.1.0's validateHmac, run as the
// library's app glue runs it.
func TestDifferentialQueries(t *testing.T) {
	js := startJSReference(t, secret)
	now := time.Now().Truncate(time.Second)
	src, err := keysource.Static(secret, previous)
	if err != nil {
		t.Fatal(err)
	}
	v, err := webhook.New(src, webhook.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	t.Run("app proxy", func(t *testing.T) {
		for _, c := range appProxyCorpus(now) {
			t.Run(c.name, func(t *testing.T) {
				_, err := v.VerifyAppProxy(c.query)
				got := err == nil
				if got != c.want {
					t.Errorf("webhook: accepted %v (%v), want %v", got, err, c.want)
				}
				for _, kind := range []struct {
					name     string
					override *bool
				}{{"appProxy", c.jsRemix}, {"appProxyQs", c.jsQs}} {
					jr := js.query(t, kind.name, c.query, "", now)
					want := got
					if c.diff != "" {
						if _, ok := deliberate[c.diff]; !ok {
							t.Fatalf("unlisted difference %q", c.diff)
						}
						want = *kind.override
					}
					if jr.Valid != want {
						t.Errorf("%s: shopify-api valid=%v (%s), want %v (webhook %v, difference %q)", kind.name, jr.Valid, jr.Error, want, got, c.diff)
					}
					if jr.Valid == got {
						counts["app proxy agree"]++
					} else {
						counts["app proxy differ"]++
					}
				}
			})
		}
	})
	t.Run("OAuth callback", func(t *testing.T) {
		for _, c := range oauthCorpus(now) {
			t.Run(c.name, func(t *testing.T) {
				_, err := v.VerifyOAuthCallback(c.query, oauthState)
				got := err == nil
				if got != c.want {
					t.Errorf("webhook: accepted %v (%v), want %v", got, err, c.want)
				}
				jr := js.query(t, "oauth", c.query, oauthState, now)
				want := got
				if c.diff != "" {
					if _, ok := deliberate[c.diff]; !ok {
						t.Fatalf("unlisted difference %q", c.diff)
					}
					want = c.jsWant
					if want == got {
						t.Fatalf("a listed difference where both sides agree")
					}
				}
				if jr.Valid != want {
					t.Errorf("shopify-api valid=%v (%s), want %v (webhook %v, difference %q)", jr.Valid, jr.Error, want, got, c.diff)
				}
				if jr.Valid == got {
					counts["oauth agree"]++
				} else {
					counts["oauth differ"]++
				}
			})
		}
	})
	t.Logf("verdicts: %v", counts)
}

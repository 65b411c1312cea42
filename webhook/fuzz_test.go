package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/possession-dev/possession/keysource"
)

var fuzzSecrets = []string{"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", "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"}

func fuzzVerifier(t testing.TB) *Verifier {
	t.Helper()
	src, err := keysource.Static(fuzzSecrets...)
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(src, WithClock(func() time.Time { return time.Unix(1784021400, 0) }))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func macBase64(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// referenceVerify is the straightforward reading of Shopify's rules: the
// HMAC header must decode (strict standard base64, and be exactly the
// canonical encoding of what it decodes to) to the HMAC of the body with
// some key; then the family's required headers must each be given once,
// non-empty. It returns the sentinel Verify must return, or nil.
func referenceVerify(h http.Header, body []byte) (int, error) {
	if len(body) == 0 {
		return -1, ErrEmptyBody
	}
	lookup := func(name string) []string {
		var out []string
		for k, v := range h {
			if strings.EqualFold(k, name) && !strings.ContainsFunc(k, func(r rune) bool { return r >= 0x80 }) {
				out = append(out, v...)
			}
		}
		return out
	}
	prefix, required := "X-Shopify-", []string{"Topic", "Shop-Domain", "Api-Version", "Webhook-Id"}
	if v := lookup("Shopify-Hmac-Sha256"); len(v) > 0 && v[0] != "" {
		prefix, required = "Shopify-", append(required, "Event-Id")
	}
	macs := lookup(prefix + "Hmac-Sha256")
	switch {
	case len(macs) == 0 || macs[0] == "":
		return -1, ErrHeader
	case len(macs) > 1:
		return -1, ErrSignature
	}
	got, err := base64.StdEncoding.Strict().DecodeString(macs[0])
	if err != nil || base64.StdEncoding.EncodeToString(got) != macs[0] {
		return -1, ErrSignature
	}
	key := -1
	for i, s := range fuzzSecrets {
		want, _ := base64.StdEncoding.DecodeString(macBase64(s, body))
		if hmac.Equal(got, want) {
			key = i
			break
		}
	}
	if key < 0 {
		return -1, ErrSignature
	}
	for _, r := range required {
		if v := lookup(prefix + r); len(v) != 1 || v[0] == "" {
			return -1, ErrHeader
		}
	}
	return key, nil
}

// FuzzVerifyHeaders: Verify never panics and agrees with referenceVerify
// on every header set and body. sign makes the HMAC header right for the
// body with key (0 or 1) before the fuzzer's flip of one byte, so valid
// signatures are reachable.
func FuzzVerifyHeaders(f *testing.F) {
	body := `{"id":820982911946154508,"email":"jon@example.com"}`
	f.Add([]byte(body), "", true, uint8(0), -1, false, true, "orders/create", "a.myshopify.com", "2026-07", "wh-1", "ev-1", "2026-07-14T09:29:58Z", false)
	f.Add([]byte(body), "", true, uint8(1), -1, true, false, "orders/create", "a.myshopify.com", "2026-07", "wh-1", "ev-1", "", false)
	f.Add([]byte(body), "", true, uint8(0), 3, false, true, "orders/create", "a.myshopify.com", "2026-07", "wh-1", "", "x", true)
	f.Add([]byte(""), "AAAA", false, uint8(0), -1, false, true, "", "", "", "", "", "", false)
	f.Add([]byte(body), "not base64!", false, uint8(0), -1, true, true, "t", "s", "v", "i", "e", "2026-07-14T09:29:58.123456789+02:00", true)
	f.Fuzz(func(t *testing.T, body []byte, mac string, sign bool, key uint8, flip int, events, lower bool,
		topic, shop, version, id, eventID, triggered string, twice bool) {
		if sign {
			mac = macBase64(fuzzSecrets[int(key)%len(fuzzSecrets)], body)
			if flip >= 0 && flip < len(mac) {
				b := []byte(mac)
				b[flip] ^= 1
				mac = string(b)
			}
		}
		fam := Classic
		if events {
			fam = Events
		}
		h := http.Header{}
		put := func(k, v string) {
			if lower {
				k = strings.ToLower(k)
			}
			h[k] = append(h[k], v)
		}
		put(headerName(fam, hdrHMAC), mac)
		put(headerName(fam, hdrTopic), topic)
		put(headerName(fam, hdrShop), shop)
		put(headerName(fam, hdrAPIVersion), version)
		put(headerName(fam, hdrWebhookID), id)
		put(headerName(fam, hdrEventID), eventID)
		put(headerName(fam, hdrTriggeredAt), triggered)
		if twice {
			put(headerName(fam, hdrTopic), topic)
		}
		v := fuzzVerifier(t)
		d, err := v.Verify(h, body)
		k, want := referenceVerify(h, body)
		if want == nil {
			if err != nil {
				t.Fatalf("Verify = %v, the reference accepts", err)
			}
			if d.KeyID != v.src.Keyring().Key(k).ID || d.Topic != topic || d.WebhookID != id || string(d.Body) != string(body) {
				t.Fatalf("delivery %+v", d)
			}
			// (The zero instant itself is a valid time: compare instants.)
			if tt, perr := time.Parse(time.RFC3339Nano, triggered); (perr != nil && !d.TriggeredAt.IsZero()) || (perr == nil && !tt.Equal(d.TriggeredAt)) {
				t.Fatalf("TriggeredAt %v from %q", d.TriggeredAt, triggered)
			}
			return
		}
		if !errors.Is(err, want) {
			t.Fatalf("Verify = %v, the reference says %v", err, want)
		}
		if strings.Contains(err.Error(), fuzzSecrets[0]) || strings.Contains(err.Error(), fuzzSecrets[1]) {
			t.Fatal("error leaks a secret")
		}
	})
}

// referenceParse reads a query with net/url, for inputs net/url reads as
// URLSearchParams does (no ";", which url.ParseQuery refuses). ok is false
// where the readings differ by design.
func referenceParse(raw string) (url.Values, []string, bool, bool) {
	raw = strings.TrimPrefix(raw, "?")
	if strings.Contains(raw, ";") {
		return nil, nil, false, false
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, nil, false, true
	}
	for k, vs := range vals {
		if !utf8.ValidString(k) {
			return nil, nil, false, true
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, nil, false, true
			}
		}
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return vals, keys, true, true
}

// referenceOAuthEscape derives Shopify's OAuth form encoding from
// url.QueryEscape (see appendFormEncoded).
func referenceOAuthEscape(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "%2A", "*")
	return strings.ReplaceAll(e, "~", "%7E")
}

// FuzzQueryCanonical: parsing and both canonical forms never panic and
// agree with net/url-based references; VerifyAppProxy and
// VerifyOAuthCallback never panic on any query.
func FuzzQueryCanonical(f *testing.F) {
	for _, s := range []string{
		"shop=a.myshopify.com&path_prefix=%2Fapps%2Fx&timestamp=1784021400&signature=00",
		"?extra=1&extra=2&shop=a.myshopify.com&logged_in_customer_id=&timestamp=1784021400",
		"code=0907a61c&host=YWRtaW4%3D&hmac=ab&shop=a.myshopify.com&state=x+y&timestamp=1784021400",
		"a=%zz", "a=%ff", "=&&=x&k", "a;b=c", "k=v=w&%20=%2B", "note=a*b~c%7E%2A",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v := fuzzVerifier(t)
		_, _ = v.VerifyAppProxy(raw)
		_, _ = v.VerifyOAuthCallback(raw, "state")

		params, err := parseQuery(raw)
		vals, keys, ok, comparable := referenceParse(raw)
		if !comparable {
			return
		}
		if (err == nil) != ok {
			t.Fatalf("parseQuery error %v, reference ok %v", err, ok)
		}
		if err != nil {
			if !errors.Is(err, ErrQuery) {
				t.Fatalf("parseQuery error %v does not wrap ErrQuery", err)
			}
			return
		}
		g := group(params)
		var proxy, oauth strings.Builder
		dup := false
		for _, k := range keys {
			if len(vals[k]) > 1 {
				dup = true
			}
			if k == "signature" || k == "hmac" {
				continue
			}
			proxy.WriteString(k + "=" + strings.Join(vals[k], ","))
			if oauth.Len() > 0 {
				oauth.WriteByte('&')
			}
			oauth.WriteString(referenceOAuthEscape(k) + "=" + referenceOAuthEscape(vals[k][0]))
		}
		if got := string(appProxyMessage(g)); got != proxy.String() {
			t.Fatalf("app proxy message %q, reference %q", got, proxy.String())
		}
		if !dup {
			if got := string(oauthMessage(g)); got != oauth.String() {
				t.Fatalf("OAuth message %q, reference %q", got, oauth.String())
			}
		}
	})
}

// FuzzTriggeredAt: the direct RFC 3339 reader accepts only what
// time.Parse(RFC3339Nano) accepts, and gives the same instant.
func FuzzTriggeredAt(f *testing.F) {
	for _, s := range []string{
		"2026-07-14T09:29:58.123456789Z", "2026-07-14T09:29:58Z", "2026-07-14T09:29:58+02:00",
		"2026-07-14T09:29:58.1-05:30", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-07-14T24:00:00Z", "2026-07-14T09:29:60Z", "2026-07-14T09:29:58.Z", "2026-07-14T09:29:58.1234567891Z",
		"2026-07-14t09:29:58z", "2026-07-14T09:29:58,5Z", "yesterday", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseRFC3339(s)
		want, err := time.Parse(time.RFC3339Nano, s)
		if ok && err != nil {
			t.Fatalf("parseRFC3339(%q) = %v; time.Parse refuses it: %v", s, got, err)
		}
		if ok && !got.Equal(want) {
			t.Fatalf("parseRFC3339(%q) = %v, time.Parse %v", s, got, want)
		}
		if p := parseTriggeredAt(s); (err != nil && !p.IsZero()) || (err == nil && !p.Equal(want)) {
			t.Fatalf("parseTriggeredAt(%q) = %v, time.Parse %v, %v", s, p, want, err)
		}
	})
}

// FuzzDecodeMAC: decodeMAC accepts exactly the 44-character inputs
// base64.StdEncoding.Strict() decodes to 32 bytes and re-encodes to the
// same text, with the same bytes.
func FuzzDecodeMAC(f *testing.F) {
	f.Add(macBase64("k", []byte("{}")))
	f.Add(strings.Repeat("A", 43) + "=")
	f.Add(strings.Repeat("/", 42) + "w=")
	f.Add(strings.Repeat("/", 42) + "x=")
	f.Add(strings.Repeat("-", 43) + "=")
	f.Add(strings.Repeat("A", 44))
	f.Fuzz(func(t *testing.T, s string) {
		var got [32]byte
		ok := decodeMAC(&got, s)
		want, err := base64.StdEncoding.Strict().DecodeString(s)
		ref := len(s) == 44 && err == nil && len(want) == 32 && base64.StdEncoding.EncodeToString(want) == s
		if ok != ref {
			t.Fatalf("decodeMAC(%q) = %v, reference %v (%v)", s, ok, ref, err)
		}
		if ok && string(got[:]) != string(want) {
			t.Fatalf("decodeMAC(%q) = %x, want %x", s, got, want)
		}
	})
}

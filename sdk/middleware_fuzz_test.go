package sdk_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// bearerReference is RFC 6750's credentials syntax, as a regexp written
// independently of the middleware's parser: optional SP/HTAB, the scheme
// in any case, SP/HTAB, one token, optional SP/HTAB.
var bearerReference = regexp.MustCompile(`^[ \t]*(?i:bearer)[ \t]+([^ \t]+)[ \t]*$`)

// bearerMalformedReference matches the Bearer scheme with no token or
// with more than one: a malformed request (400), not a missing token (401).
var bearerMalformedReference = regexp.MustCompile(`^[ \t]*(?i:bearer)([ \t]+[^ \t]+){2,}[ \t]*$|^[ \t]*(?i:bearer)[ \t]*$`)

// FuzzBearerHeader checks the Authorization parser against the reference:
// TokenFromRequest returns the token the reference extracts, or ErrNoToken
// when it extracts none; next runs exactly when the reference extracts the
// valid token; a request without a single token is rejected with
// ErrNoToken, with 400 exactly when the malformed reference matches and
// 401 otherwise; and no response body ever contains the header's value.
func FuzzBearerHeader(f *testing.F) {
	tok := fixedToken()
	for _, s := range []string{
		"Bearer " + tok, "bearer " + tok, "  BEARER\t" + tok + " ", "Bearer", "Bearer  ", "Basic abc",
		"Bearer " + tok + " x", tok, "", "Bearer\u00a0" + tok, "Bearer " + tok[:20],
		"Bearer\t\t" + tok, "Bearer a\tb c", "Bearer a b\tc", "Bearerx " + tok, "Bear " + tok, "\tbEARER", "Bearer" + tok,
		"Bearer\u2003" + tok, "Bearer " + tok + "\t",
	} {
		f.Add(s)
	}
	v := mwVerifier(f, keysource.MustStatic(mwSecret))
	f.Fuzz(func(t *testing.T, header string) {
		r := get(map[string][]string{"Authorization": {header}})
		m := bearerReference.FindStringSubmatch(header)
		got, err := sdk.TokenFromRequest(r)
		if m != nil && (err != nil || got != m[1]) {
			t.Fatalf("reference extracts %q from %q, TokenFromRequest: %q, %v", m[1], header, got, err)
		}
		if m == nil && (got != "" || !errors.Is(err, sdk.ErrNoToken)) {
			t.Fatalf("reference finds no token in %q, TokenFromRequest: %q, %v", header, got, err)
		}
		resp, s, rej := serve(t, v, r)
		switch {
		case m == nil:
			want := http.StatusUnauthorized
			if bearerMalformedReference.MatchString(header) {
				want = http.StatusBadRequest
			}
			if rej == nil || !errors.Is(rej.err, sdk.ErrNoToken) || resp.StatusCode != want {
				t.Fatalf("reference finds no token in %q, want ErrNoToken with %d; middleware: status %d, rejection %+v", header, want, resp.StatusCode, rej)
			}
		case m[1] == tok:
			if s == nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("reference extracts the valid token from %q, middleware: status %d, rejection %+v", header, resp.StatusCode, rej)
			}
		default:
			if rej == nil || errors.Is(rej.err, sdk.ErrNoToken) || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("reference extracts a token from %q, middleware: status %d, rejection %+v", header, resp.StatusCode, rej)
			}
		}
		if rej != nil && len(strings.TrimSpace(header)) >= 8 {
			body, _ := io.ReadAll(resp.Body)
			if strings.Contains(string(body), strings.TrimSpace(header)) {
				t.Fatalf("body %q echoes the header", body)
			}
		}
	})
}

// hintReference: a positive decimal without sign or leading zero that
// fits int64, after trimming SP/HTAB.
var hintReference = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)

// FuzzHintID checks the ID hint parser against the reference.
func FuzzHintID(f *testing.F) {
	for _, s := range []string{"1", "77", " 77 ", "0", "077", "-1", "+1", "1e3", "0x10", "9223372036854775807", "9223372036854775808", "", "١٢", "12345678", "123456789012", "1234567/90123", "1234:6789012", " 7000000000\t", "00000000000"} {
		f.Add(s)
	}
	tok := fixedToken()
	v := mwVerifier(f, keysource.MustStatic(mwSecret))
	f.Fuzz(func(t *testing.T, value string) {
		r := get(map[string][]string{"Authorization": {"Bearer " + tok}})
		r.Header[sdk.HeaderLocationID] = []string{value}
		resp, s, rej := serve(t, v, r)
		trimmed := strings.Trim(value, " \t")
		want, err := strconv.ParseInt(trimmed, 10, 64)
		ok := err == nil && hintReference.MatchString(trimmed)
		if ok {
			if s == nil || s.Hints.LocationID != want {
				t.Fatalf("%q: want LocationID %d, got status %d session %+v rejection %+v", value, want, resp.StatusCode, s, rej)
			}
			return
		}
		if rej == nil || !errors.Is(rej.err, sdk.ErrHint) || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%q: want ErrHint/400, got status %d rejection %+v", value, resp.StatusCode, rej)
		}
	})
}

// fixedToken is the same in every fuzz worker process (jti and sid are
// random otherwise), so seeds that embed it stay valid.
func fixedToken() string {
	return mwMinter().Admin(sdktest.Set("jti", "00000000-0000-4000-8000-000000000000"), sdktest.Set("sid", strings.Repeat("ab", 32)))
}

// hostnameReference: dot-separated DNS labels of lower-case letters,
// digits and inner hyphens, at most 253 bytes in all.
var hostnameReference = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// FuzzHintShopDomain checks the shop domain hint against its rule: after
// trimming SP/HTAB, it is accepted exactly when it equals the token's shop
// under Unicode case folding (strings.EqualFold) and its lower-case form
// is a host name; any other value is rejected with ErrHint and 400.
func FuzzHintShopDomain(f *testing.F) {
	for _, s := range []string{mwShop, " " + mwShop + "\t", "MW-Shop.MyShopify.COM", "mw-ſhop.myshopify.com", "other.myshopify.com",
		"https://" + mwShop, mwShop + ".", "", " ", "mw-shop.myshopify.co", "mw-shop.myshopify.com/"} {
		f.Add(s)
	}
	tok := fixedToken()
	v := mwVerifier(f, keysource.MustStatic(mwSecret))
	f.Fuzz(func(t *testing.T, value string) {
		r := get(map[string][]string{"Authorization": {"Bearer " + tok}})
		r.Header[sdk.HeaderShopDomain] = []string{value}
		resp, s, rej := serve(t, v, r)
		trimmed := strings.Trim(value, " \t")
		lower := strings.ToLower(trimmed)
		if strings.EqualFold(trimmed, mwShop) && len(lower) <= 253 && hostnameReference.MatchString(lower) {
			if s == nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("%q: want it accepted, got status %d rejection %+v", value, resp.StatusCode, rej)
			}
			return
		}
		if rej == nil || !errors.Is(rej.err, sdk.ErrHint) || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%q: want ErrHint/400, got status %d rejection %+v", value, resp.StatusCode, rej)
		}
	})
}

// FuzzCORSOrigin checks the origin policy against its documented rule: an
// origin is allowed exactly when, trimmed of spaces, without one trailing
// "/" and in lower case, it is one of the configured origins so
// normalised. An allowed origin gets Access-Control-Allow-Origin set to
// itself on a request and a 204 on a preflight; any other gets no CORS
// header on a request (which is still served) and a 403 on a preflight;
// every response varies on Origin.
func FuzzCORSOrigin(f *testing.F) {
	configured := []string{"https://extensions.shopifycdn.com/", "https://CDN.shopify.com", " https://double.example// "}
	norm := func(o string) string { return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/")) }
	allowed := map[string]bool{}
	for _, o := range configured {
		allowed[norm(o)] = true
	}
	for _, s := range []string{"https://extensions.shopifycdn.com", "https://cdn.shopify.com", "https://CDN.Shopify.com/", " https://cdn.shopify.com ",
		"https://double.example/", "https://double.example//", "https://double.example", "https://evil.example", "", " ", "null"} {
		f.Add(s)
	}
	tok := fixedToken()
	v := mwVerifier(f, keysource.MustStatic(mwSecret))
	opt := sdk.WithAllowedOrigins(configured...)
	f.Fuzz(func(t *testing.T, origin string) {
		want := origin != "" && allowed[norm(origin)]
		r := get(map[string][]string{"Authorization": {"Bearer " + tok}, "Origin": {origin}})
		resp, s, rej := serve(t, v, r, opt)
		if s == nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%q: request not served: status %d rejection %+v", origin, resp.StatusCode, rej)
		}
		acao, hasACAO := resp.Header["Access-Control-Allow-Origin"]
		if want != hasACAO || want && (len(acao) != 1 || acao[0] != origin) {
			t.Fatalf("%q: allowed %v, Access-Control-Allow-Origin %q", origin, want, acao)
		}
		if vary := resp.Header["Vary"]; len(vary) != 1 || vary[0] != "Origin" {
			t.Fatalf("%q: Vary %q", origin, vary)
		}
		p := httptest.NewRequest(http.MethodOptions, "http://backend.test/api/session", nil)
		p.Header["Origin"] = []string{origin}
		p.Header.Set("Access-Control-Request-Method", "POST")
		resp, _, rej = serve(t, v, p, opt)
		switch {
		case origin == "":
			// Not a preflight: it needs a token like any request.
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("OPTIONS without origin: status %d", resp.StatusCode)
			}
		case want:
			if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != origin {
				t.Fatalf("%q: preflight status %d, Allow-Origin %q", origin, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
			}
		default:
			if resp.StatusCode != http.StatusForbidden || rej == nil || !errors.Is(rej.err, sdk.ErrOrigin) || resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Fatalf("%q: preflight status %d, rejection %+v", origin, resp.StatusCode, rej)
			}
		}
	})
}

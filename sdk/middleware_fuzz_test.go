package sdk_test

import (
	"errors"
	"io"
	"net/http"
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

// FuzzBearerHeader checks the Authorization parser against the reference:
// next runs exactly when the reference extracts the valid token, the
// request is rejected with ErrNoToken exactly when the reference finds no
// single token, and no response body ever contains the header's value.
func FuzzBearerHeader(f *testing.F) {
	tok := fixedToken()
	for _, s := range []string{
		"Bearer " + tok, "bearer " + tok, "  BEARER\t" + tok + " ", "Bearer", "Bearer  ", "Basic abc",
		"Bearer " + tok + " x", tok, "", "Bearer\u00a0" + tok, "Bearer " + tok[:20],
	} {
		f.Add(s)
	}
	v := mwVerifier(f, keysource.MustStatic(mwSecret))
	f.Fuzz(func(t *testing.T, header string) {
		r := get(map[string][]string{"Authorization": {header}})
		resp, s, rej := serve(t, v, r)
		m := bearerReference.FindStringSubmatch(header)
		switch {
		case m == nil:
			if rej == nil || !errors.Is(rej.err, sdk.ErrNoToken) {
				t.Fatalf("reference finds no token in %q, middleware: status %d, rejection %+v", header, resp.StatusCode, rej)
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
	for _, s := range []string{"1", "77", " 77 ", "0", "077", "-1", "+1", "1e3", "0x10", "9223372036854775807", "9223372036854775808", "", "١٢"} {
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

package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/sdk"
)

// Each server answers a request as requests.lua sends it with the token's
// shop and user (but none, which verifies nothing), and the verifying
// ones refuse a forged token: the benchmark compares servers that work.
func TestServersAnswerTheRequests(t *testing.T) {
	var lines bytes.Buffer
	writeRequests(&lines, 8, time.Now())
	for _, name := range []string{"none", "middleware", "middleware-nocors", "golang-jwt"} {
		t.Run(name, func(t *testing.T) {
			h, err := handler(name)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			for _, line := range strings.Split(strings.TrimSpace(lines.String()), "\n") {
				f := strings.Split(line, "\t")
				if len(f) != 5 {
					t.Fatalf("line %q: %d fields", line, len(f))
				}
				want := `{"shop":"` + f[1] + `","userId":"` + f[3] + `"}` + "\n"
				if name == "none" {
					want = `{"shop":"unverified.myshopify.com","userId":"0"}` + "\n"
				}
				status, body, header := get(t, srv.URL, f[0], f)
				if status != http.StatusOK || body != want {
					t.Fatalf("status %d body %q, want 200 %q", status, body, want)
				}
				// Only middleware allows the extension's origin (CORS).
				if cors := header.Get("Access-Control-Allow-Origin") != ""; cors != (name == "middleware") {
					t.Fatalf("Access-Control-Allow-Origin %q", header.Get("Access-Control-Allow-Origin"))
				}
				if name == "none" {
					continue
				}
				forged := f[0][:len(f[0])-4] + "AAAA"
				if status, _, _ := get(t, srv.URL, forged, f); status != http.StatusUnauthorized {
					t.Fatalf("forged token: status %d, want 401", status)
				}
			}
		})
	}
	if _, err := handler("nginx"); err == nil {
		t.Fatal("unknown server accepted")
	}
}

func get(t *testing.T, url, token string, f []string) (int, string, http.Header) {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, url+"/api/session", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Origin", "https://extensions.shopifycdn.com")
	r.Header.Set(sdk.HeaderShopDomain, f[1])
	r.Header.Set(sdk.HeaderShopID, f[2])
	r.Header.Set(sdk.HeaderUserID, f[3])
	r.Header.Set(sdk.HeaderLocationID, f[4])
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/examples/internal/kumotest"

	"go.uber.org/goleak"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// kumo (the AWS emulator) starts a reaper goroutine when its package loads.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, kumotest.IgnoreReaper)
}

const (
	testSecret   = "shpss_posbackend-test-secret-000000000"
	testClientID = "posbackend-test-client"
	testShop     = "backend-test.myshopify.com"
)

func testMinter() sdktest.Minter {
	return sdktest.Minter{Secret: testSecret, ClientID: testClientID, Shop: testShop, UserID: "777", EscapeSlashes: true}
}

// syncBuffer is a bytes.Buffer safe for the server's and the test's
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startApp starts the backend on 127.0.0.1:0 and stops it when the test
// ends. It returns the app, what it printed and its log.
func startApp(t *testing.T, cfg config) (*app, *syncBuffer, *syncBuffer) {
	t.Helper()
	cfg.addr = "127.0.0.1:0"
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	out, logs := &syncBuffer{}, &syncBuffer{}
	a, err := start(context.Background(), cfg, out, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return a, out, logs
}

type response struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, method, url string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, url, raw, err)
		}
	}
	client.CloseIdleConnections()
	return r
}

func TestSecretEnv(t *testing.T) {
	t.Setenv("POSBACKEND_TEST_SECRET", testSecret)
	a, out, logs := startApp(t, config{clientID: testClientID, secretEnv: "POSBACKEND_TEST_SECRET"})
	if strings.Contains(out.String(), "DEVELOPMENT MODE") {
		t.Fatal("development warning with a configured secret")
	}
	if !strings.Contains(out.String(), "listening on "+a.url) {
		t.Fatalf("output %q lacks the listening line", out.String())
	}
	m := testMinter()
	tok := m.Admin()

	t.Run("session", func(t *testing.T) {
		r := do(t, "GET", a.url+"/api/session", map[string]string{
			"Authorization": "Bearer " + tok, sdk.HeaderUserID: "777", sdk.HeaderLocationID: "31", sdk.HeaderShopDomain: testShop,
		})
		if r.status != 200 {
			t.Fatalf("status %d: %v", r.status, r.body)
		}
		if r.body["shop"] != testShop || r.body["userId"] != "777" || r.body["clientId"] != testClientID || r.body["kind"] != "admin" || r.body["keyId"] != "env:current" {
			t.Errorf("body = %v", r.body)
		}
		hints, _ := r.body["clientReported"].(map[string]any)
		if hints["locationId"] != float64(31) || hints["userId"] != float64(777) {
			t.Errorf("clientReported = %v", hints)
		}
	})
	t.Run("expired", func(t *testing.T) {
		r := do(t, "GET", a.url+"/api/session", map[string]string{"Authorization": "Bearer " + m.Admin(sdktest.At(time.Now().Add(-time.Hour)))})
		if r.status != 401 || r.header.Get(sdk.HeaderRetryInvalidSession) != "1" || r.body["error"] != "expired" {
			t.Fatalf("status %d, retry %q, body %v", r.status, r.header.Get(sdk.HeaderRetryInvalidSession), r.body)
		}
	})
	t.Run("missing token", func(t *testing.T) {
		r := do(t, "GET", a.url+"/api/session", nil)
		if r.status != 401 || r.body["error"] != "no_token" {
			t.Fatalf("status %d, body %v", r.status, r.body)
		}
	})
	t.Run("other app", func(t *testing.T) {
		r := do(t, "GET", a.url+"/api/session", map[string]string{"Authorization": "Bearer " + m.Admin(sdktest.Set("aud", "someone-else"))})
		if r.status != 401 || r.body["error"] != "audience" {
			t.Fatalf("status %d, body %v", r.status, r.body)
		}
	})
	t.Run("contradicting hint", func(t *testing.T) {
		r := do(t, "GET", a.url+"/api/session", map[string]string{"Authorization": "Bearer " + tok, sdk.HeaderUserID: "778"})
		if r.status != 400 || r.body["error"] != "hint" {
			t.Fatalf("status %d, body %v", r.status, r.body)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		r := do(t, "POST", a.url+"/api/session", map[string]string{"Authorization": "Bearer " + tok})
		if r.status != http.StatusMethodNotAllowed {
			t.Fatalf("status %d", r.status)
		}
	})
	t.Run("preflight from the extension origin", func(t *testing.T) {
		r := do(t, "OPTIONS", a.url+"/api/session", map[string]string{
			"Origin": "https://extensions.shopifycdn.com", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization",
		})
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://extensions.shopifycdn.com" {
			t.Fatalf("status %d, headers %v", r.status, r.header)
		}
	})
	t.Run("healthz", func(t *testing.T) {
		r := do(t, "GET", a.url+"/healthz", nil)
		if r.status != 200 || r.body["status"] != "ok" {
			t.Fatalf("status %d, body %v", r.status, r.body)
		}
	})
	if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), testSecret) {
		t.Error("the log contains the token or the secret")
	}
	if !strings.Contains(logs.String(), "error=expired") {
		t.Errorf("rejections are not logged: %s", logs.String())
	}
}

func TestSecretFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, _, _ := startApp(t, config{clientID: testClientID, secretFile: path})
	r := do(t, "GET", a.url+"/api/session", map[string]string{"Authorization": "Bearer " + testMinter().Admin()})
	if r.status != 200 || r.body["keyId"] != "file:current" {
		t.Fatalf("status %d, body %v", r.status, r.body)
	}
}

var curlLine = regexp.MustCompile(`curl -sS -H 'Authorization: Bearer ([^']+)' -H '([^:]+): (\d+)' -H '([^:]+): (\d+)' (\S+)`)

// Development mode prints a warning and a curl command that works.
func TestDevelopmentMode(t *testing.T) {
	a, out, _ := startApp(t, config{})
	printed := out.String()
	if !strings.Contains(printed, "DEVELOPMENT MODE") {
		t.Fatalf("no warning in %q", printed)
	}
	m := curlLine.FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("no curl command in %q", printed)
	}
	if m[6] != a.url+"/api/session" {
		t.Fatalf("curl URL %q, want %s/api/session", m[6], a.url)
	}
	r := do(t, "GET", m[6], map[string]string{"Authorization": "Bearer " + m[1], m[2]: m[3], m[4]: m[5]})
	if r.status != 200 || r.body["clientId"] != devClientID || r.body["userId"] != "42" {
		t.Fatalf("status %d, body %v", r.status, r.body)
	}
	// The whole flow against the in-process fake: the shop from the
	// Admin API, then the printed sale, twice.
	if r := do(t, "GET", a.url+"/api/shop", map[string]string{"Authorization": "Bearer " + m[1]}); r.status != 200 || r.body["name"] != "posbackend-dev" {
		t.Fatalf("dev /api/shop: %d %v", r.status, r.body)
	}
	body, _ := json.Marshal(devSale())
	if !strings.Contains(printed, "-d '"+string(body)+"' "+a.url+"/api/transactions") {
		t.Fatalf("no transactions curl command in %q", printed)
	}
	for i, want := range []int{201, 200} {
		req, _ := http.NewRequest("POST", a.url+"/api/transactions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+m[1])
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("dev transaction %d: status %d, want %d", i, res.StatusCode, want)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	if got := a.fake.OrderTags(devShop, "gid://shopify/Order/1001"); !slices.Equal(got, []string{"pos-sale", "possession"}) {
		t.Fatalf("dev fake's order tags %q", got)
	}
	// The development secret is not a fixed value: a token minted with
	// any known secret fails.
	forged := sdktest.Minter{ClientID: devClientID}.Admin()
	if r := do(t, "GET", m[6], map[string]string{"Authorization": "Bearer " + forged}); r.status != 401 || r.body["error"] != "signature" {
		t.Fatalf("status %d, body %v", r.status, r.body)
	}
}

func TestConfigErrors(t *testing.T) {
	env := map[string]string{"SHOPIFY_API_KEY": ""}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name string
		args []string
		want error
	}{
		{"both sources", []string{"-client-id", "c", "-secret-env", "X", "-secret-file", "/f"}, errSeveralSources},
		{"no client ID", []string{"-secret-env", "X"}, errNoClientID},
		{"origin with path", []string{"-allowed-origin", "https://a.example/path"}, errBadOrigin},
		{"origin without scheme", []string{"-allowed-origin", "a.example"}, errBadOrigin},
		{"dev mode on all interfaces", []string{"-addr", ":8080"}, errDevNotLoopback},
		{"dev mode on a public address", []string{"-addr", "192.0.2.1:8080"}, errDevNotLoopback},
		{"bad addr", []string{"-addr", "nonsense"}, errUsage},
		{"unknown flag", []string{"-nope"}, errUsage},
		{"stray argument", []string{"serve"}, errUsage},
		{"unknown store", []string{"-store", "etcd"}, errUsage},
		{"redis without a URL", []string{"-store", "redis"}, errUsage},
		{"postgres without a URL", []string{"-store", "postgres"}, errUsage},
		{"store path for redis", []string{"-store", "redis", "-store-url", "redis://127.0.0.1:1/0", "-store-path", "x.db"}, errUsage},
		{"bad Shopify URL", []string{"-shopify-url", "ftp://x"}, errUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, getenv, io.Discard)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		env["SHOPIFY_API_KEY"] = "from-env"
		c, err := parseConfig([]string{"-secret-env", "X", "-addr", ":0", "-allowed-origin", "https://a.example,https://b.example", "-allowed-origin", "*"}, getenv, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.clientID != "from-env" || len(c.allowedOrigins) != 3 {
			t.Fatalf("config = %+v", c)
		}
	})
	t.Run("default origins", func(t *testing.T) {
		c, err := parseConfig(nil, getenv, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(c.allowedOrigins, " ") != "https://extensions.shopifycdn.com https://cdn.shopify.com" {
			t.Fatalf("origins = %v", c.allowedOrigins)
		}
	})
}

// Key source failures surface from start with the key source's sentinel.
func TestStartKeySourceErrors(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := start(context.Background(), config{addr: "127.0.0.1:0", clientID: "c", secretEnv: "POSBACKEND_TEST_UNSET_VARIABLE"}, io.Discard, logger)
	if !errors.Is(err, keysource.ErrNotSet) {
		t.Errorf("unset variable: err = %v, want keysource.ErrNotSet", err)
	}
	_, err = start(context.Background(), config{addr: "127.0.0.1:0", clientID: "c", secretFile: filepath.Join(t.TempDir(), "missing")}, io.Discard, logger)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want os.ErrNotExist", err)
	}
	t.Setenv("POSBACKEND_TEST_SECRET", testSecret)
	_, err = start(context.Background(), config{addr: "256.0.0.1:0", clientID: "c", secretEnv: "POSBACKEND_TEST_SECRET"}, io.Discard, logger)
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("bad address: err = %v", err)
	}
}

// run serves until its context is cancelled (what SIGINT/SIGTERM do in
// main), then shuts down and returns 0.
func TestRunGracefulShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := runInBackground(t, ctx, "-addr", "127.0.0.1:0")
	if r := do(t, "GET", p.url+"/healthz", nil); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}
	cancel()
	if c := p.wait(t); c != 0 {
		t.Fatalf("exit code %d", c)
	}
	if _, err := http.Get(p.url + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

// program is run() going on in the background.
type program struct {
	url   string // from the "listening on" line
	token string // development mode's token, from the curl line
	code  chan int
	rest  chan string // what it prints after the curl line, once it exits
}

// runInBackground runs the program with args until ctx is cancelled and
// reads its output up to the listening line (and, in development mode,
// the curl command).
func runInBackground(t *testing.T, ctx context.Context, args ...string) *program {
	t.Helper()
	pr, pw := io.Pipe()
	p := &program{code: make(chan int, 1), rest: make(chan string, 1)}
	go func() {
		p.code <- run(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	dev := !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-secret") || strings.HasPrefix(a, "-aws") })
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	// Development mode's announcement ends with the transactions curl
	// command.
	announced := false
	for (p.url == "" || dev && !announced) && sc.Scan() {
		line := sc.Text()
		if u, ok := strings.CutPrefix(line, "listening on "); ok {
			p.url = u
		}
		if _, after, ok := strings.Cut(line, "Authorization: Bearer "); ok && p.token == "" {
			p.token, _, _ = strings.Cut(after, "'")
		}
		announced = announced || strings.Contains(line, "/api/transactions")
	}
	go func() {
		var b strings.Builder
		for sc.Scan() {
			b.WriteString(sc.Text())
			b.WriteByte('\n')
		}
		p.rest <- b.String()
	}()
	if p.url == "" {
		t.Fatal("no listening line")
	}
	return p
}

// wait returns the exit code once run returns (10 s at most).
func (p *program) wait(t *testing.T) int {
	t.Helper()
	select {
	case c := <-p.code:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
		return -1
	}
}

func TestRunUsage(t *testing.T) {
	var stderr bytes.Buffer
	if c := run(context.Background(), []string{"-h"}, io.Discard, &stderr); c != 0 || !strings.Contains(stderr.String(), "Examples:") {
		t.Fatalf("-h: code %d, stderr %q", c, stderr.String())
	}
	if c := run(context.Background(), []string{"-nope"}, io.Discard, io.Discard); c != 2 {
		t.Fatalf("bad flag: code %d, want 2", c)
	}
	if c := run(context.Background(), []string{"-client-id", "c", "-secret-env", "POSBACKEND_TEST_UNSET_VARIABLE"}, io.Discard, io.Discard); c != 1 {
		t.Fatalf("unset secret: code %d, want 1", c)
	}
}

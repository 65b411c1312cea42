package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/possession-dev/possession/sdk/sdktest"
)

// browserEnv set to 1 makes TestBrowserCrossOrigin fail instead of skip
// when no Chromium is found (CI sets it).
const browserEnv = "POSSESSION_BROWSER_TESTS"

// chromiumPath finds Debian's chromium, or $POSSESSION_CHROMIUM.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("POSSESSION_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(browserEnv) == "1" {
		t.Fatalf("%s=1 but no chromium on PATH", browserEnv)
	}
	t.Skipf("no chromium on PATH; install it (apt-get install chromium) and set %s=1 to run", browserEnv)
	return ""
}

// The page, served from one 127.0.0.1 port, calls the backend on another
// with the extension's real client module (../pos-extension/src/client.js)
// and posts what it saw back to /report.
var browserPage = template.Must(template.New("page").Parse(`<!doctype html>
<meta charset="utf-8">
<title>posbackend browser test</title>
<pre id="out">running</pre>
<script type="module">
import {fetchVerifiedSession, RETRY_HEADER} from '/client.js';
const backend = {{.Backend}};
const pos = (tokens) => {
  let calls = 0;
  return {
    currentSession: {shopId: 11, userId: {{.UserID}}, shopDomain: {{.Shop}}, locationId: 22, staffMemberId: 33},
    getSessionToken: async () => tokens[Math.min(calls++, tokens.length - 1)],
    get calls() { return calls; },
  };
};
const report = {};
try {
  report.valid = await fetchVerifiedSession(backend, pos([{{.Valid}}]));

  const res = await fetch(backend + '/api/session', {headers: {Authorization: 'Bearer ' + {{.Expired}}, 'X-Possession-Location-Id': '22'}});
  report.expiredRaw = {status: res.status, retryHeader: res.headers.get(RETRY_HEADER), body: await res.json()};

  const refreshing = pos([{{.Expired}}, {{.Valid}}]);
  report.refreshed = await fetchVerifiedSession(backend, refreshing);
  report.refreshedCalls = refreshing.calls;

  report.noToken = await fetchVerifiedSession(backend, pos([undefined]));
} catch (e) {
  report.exception = String(e);
}
document.getElementById('out').textContent = JSON.stringify(report, null, 1);
await fetch('/report', {method: 'POST', body: JSON.stringify(report)});
</script>
`))

type browserReport struct {
	Valid struct {
		OK      bool           `json:"ok"`
		Retried bool           `json:"retried"`
		Session map[string]any `json:"session"`
	} `json:"valid"`
	ExpiredRaw struct {
		Status      int               `json:"status"`
		RetryHeader *string           `json:"retryHeader"`
		Body        map[string]string `json:"body"`
	} `json:"expiredRaw"`
	Refreshed struct {
		OK      bool `json:"ok"`
		Retried bool `json:"retried"`
	} `json:"refreshed"`
	RefreshedCalls int `json:"refreshedCalls"`
	NoToken        struct {
		OK     bool   `json:"ok"`
		Reason string `json:"reason"`
	} `json:"noToken"`
	Exception string `json:"exception"`
}

// TestBrowserCrossOrigin runs headless Chromium against the backend: a
// page on one port calls the backend on another port through the
// extension's client module. The preflight must pass (Authorization and a
// hint header are not CORS-safelisted), the session must come back, and
// with an expired token the page must read the 401 and the retry header.
func TestBrowserCrossOrigin(t *testing.T) {
	chromium := chromiumPath(t)
	// The page's listener first: its origin is the backend's allowed origin.
	page := listenPage(t)

	t.Setenv("POSBACKEND_TEST_SECRET", testSecret)
	a, _, logs := startApp(t, config{clientID: testClientID, secretEnv: "POSBACKEND_TEST_SECRET", allowedOrigins: []string{page.origin}})
	if strings.Split(a.url, ":")[2] == strings.Split(page.origin, ":")[2] {
		t.Fatal("page and backend share a port")
	}

	m := testMinter()
	page.serve(t, browserPage, func() map[string]any {
		return map[string]any{
			"Backend": a.url, "Valid": m.Admin(), "Expired": m.Admin(sdktest.At(time.Now().Add(-time.Hour))),
			"Shop": testShop, "UserID": template.JS("777"),
		}
	})

	raw := browse(t, chromium, page.origin, page.reports, logs)
	var rep browserReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("report %s: %v", raw, err)
	}
	if rep.Exception != "" {
		t.Fatalf("page threw: %s\nbackend log:\n%s", rep.Exception, logs.String())
	}
	if !rep.Valid.OK || rep.Valid.Retried || rep.Valid.Session["shop"] != testShop || rep.Valid.Session["userId"] != "777" {
		t.Errorf("valid token: %s", raw)
	}
	if hints, _ := rep.Valid.Session["clientReported"].(map[string]any); hints["locationId"] != float64(22) || hints["staffMemberId"] != float64(33) {
		t.Errorf("hints did not reach the backend: %s", raw)
	}
	if rep.ExpiredRaw.Status != 401 || rep.ExpiredRaw.RetryHeader == nil || *rep.ExpiredRaw.RetryHeader != "1" || rep.ExpiredRaw.Body["error"] != "expired" {
		t.Errorf("expired token: the page did not see 401 with a readable retry header: %s", raw)
	}
	if !rep.Refreshed.OK || !rep.Refreshed.Retried || rep.RefreshedCalls != 2 {
		t.Errorf("expired then fresh token: %s", raw)
	}
	if rep.NoToken.OK || rep.NoToken.Reason != "no_token" {
		t.Errorf("no token: %s", raw)
	}
	// The browser sent real preflights (Authorization is not a
	// CORS-safelisted header), and the middleware answered them.
	if n := strings.Count(logs.String(), "method=OPTIONS path=/api/session status=204"); n == 0 {
		t.Errorf("no preflight answered with 204 in the backend log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "status=403") {
		t.Errorf("a preflight was refused:\n%s", logs.String())
	}
	t.Logf("page report: %s", raw)
}

// pageServer serves the page that plays POS, on 127.0.0.1.
type pageServer struct {
	ln      net.Listener
	origin  string
	reports chan []byte // what the page posted to /report
}

// listenPage opens the page's listener, so that its origin is known
// before the backend starts.
func listenPage(t *testing.T) *pageServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &pageServer{ln: ln, origin: "http://" + ln.Addr().String(), reports: make(chan []byte, 1)}
}

// serve serves, until t ends, page rendered with data() at /, the
// extension's client module (../pos-extension/src/client.js) at
// /client.js, and takes the page's report at POST /report.
func (p *pageServer) serve(t *testing.T, page *template.Template, data func() map[string]any) {
	t.Helper()
	clientJS, err := os.ReadFile(filepath.Join("..", "pos-extension", "src", "client.js"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := page.Execute(w, data()); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("GET /client.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(clientJS)
	})
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case p.reports <- b:
		default:
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(p.ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
}

// browse opens url in headless Chromium and returns what the page posted
// to its report channel.
func browse(t *testing.T, chromium, url string, reports <-chan []byte, logs fmt.Stringer) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--disable-breakpad", "--disable-crash-reporter", "--user-data-dir="+t.TempDir(), url+"/")
	// Chromium forks helpers: give it its own process group and stop the
	// whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var chromeOut strings.Builder
	cmd.Stdout, cmd.Stderr = &chromeOut, &chromeOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var raw []byte
	select {
	case raw = <-reports:
	case err := <-exited:
		t.Fatalf("chromium exited before the page reported: %v\n%s", err, tail(chromeOut.String()))
	case <-ctx.Done():
		<-exited
		t.Fatalf("no report from the page in time\nbackend log:\n%s\nchromium:\n%s", logs.String(), tail(chromeOut.String()))
	}
	cancel()
	<-exited
	return raw
}

func tail(s string) string {
	const max = 4000
	if len(s) > max {
		return "..." + s[len(s)-max:]
	}
	return s
}

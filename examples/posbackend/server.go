package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/keysource/awssm"
	"github.com/possession-dev/possession/otel/setup"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

// devClientID is the client ID of development mode when -client-id is
// not given.
const devClientID = "posbackend-dev-client"

// shutdownTimeout bounds how long in-flight requests may take to finish.
const shutdownTimeout = 10 * time.Second

// run is main without the process: it parses args, serves until ctx is
// done, shuts down gracefully and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	// Telemetry from the standard OTEL_* variables, installed as the
	// globals that otelhttp and the verifier default to. With none set, it
	// exports nothing and costs nothing: the handler goes without otelhttp.
	telemetry, err := setup.New(ctx, setup.WithGlobal(), setup.WithServiceName("posbackend"), setup.WithWriter(stdout))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cfg.telemetry = exports(telemetry)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := telemetry.Shutdown(sctx); err != nil {
			fmt.Fprintln(stderr, "posbackend: telemetry shutdown:", err)
		}
	}()
	a, err := start(ctx, cfg, stdout, logger)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "timeout", shutdownTimeout)
	case err := <-a.serveErr:
		logger.Error("server failed", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := a.shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "posbackend: shutdown:", err)
		return 1
	}
	return 0
}

// app is a running backend.
type app struct {
	url        string
	srv        *http.Server
	closeKeys  func() error
	closeStore func() error
	serveErr   chan error
	shopify    *shopifyBackend
	// fake is development mode's Shopify (nil otherwise).
	fake *shopifytest.Server
}

// start opens the key source, listens on cfg.addr and serves in the
// background. It prints "listening on URL" to out (scripts and tests wait
// for that line) and, in development mode, the warning and a curl command.
func start(ctx context.Context, cfg config, out io.Writer, logger *slog.Logger) (*app, error) {
	src, closeKeys, dev, err := openKeySource(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	clientID := cfg.clientID
	if dev != nil && clientID == "" {
		clientID = devClientID
	}
	verifier, err := sdk.New(src, sdk.WithClientID(clientID))
	if err != nil {
		_ = closeKeys()
		return nil, err
	}
	st, budget, closeStore, err := openStore(ctx, cfg, dev != nil)
	if err != nil {
		_ = closeKeys()
		return nil, err
	}
	closeStore, closeKeys = sync.OnceValue(closeStore), sync.OnceValue(closeKeys) // shutdown may run twice
	fail := func(err error) (*app, error) {
		_ = closeStore()
		_ = closeKeys()
		return nil, err
	}
	// Development mode plays Shopify in process: the fake accepts session
	// tokens signed with the generated secret for the token exchange, and
	// answers the Admin API.
	var fake *shopifytest.Server
	shopifyURL := cfg.shopifyURL
	if dev != nil {
		fake = shopifytest.NewServer(shopifytest.WithApp(clientID, dev.secret))
		shopifyURL = fake.URL
	}
	closeFake := func() {
		if fake != nil {
			fake.Close()
		}
	}
	backend, err := newShopifyBackend(cfg, clientID, src, st, budget, shopifyURL, logger)
	if err != nil {
		closeFake()
		return fail(err)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		closeFake()
		return fail(fmt.Errorf("posbackend: listen: %w", err))
	}
	a := &app{
		url:        "http://" + ln.Addr().String(),
		closeKeys:  closeKeys,
		closeStore: closeStore,
		serveErr:   make(chan error, 1),
		shopify:    backend,
		fake:       fake,
		srv: &http.Server{
			Handler:           newHandler(verifier, src, cfg.allowedOrigins, logger, backend, cfg.telemetry),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       60 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
	}
	go func() {
		if err := a.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			a.serveErr <- err
		}
		close(a.serveErr)
	}()
	fmt.Fprintf(out, "listening on %s\n", a.url)
	if dev != nil {
		dev.announce(out, a.url, clientID)
	}
	return a, nil
}

// shutdown stops accepting connections, waits for in-flight requests
// (until ctx is done), then closes the fake, the store and the key
// source.
func (a *app) shutdown(ctx context.Context) error {
	err := a.srv.Shutdown(ctx)
	for range a.serveErr { // wait for Serve to return
	}
	if a.fake != nil {
		a.fake.Close()
	}
	return errors.Join(err, a.closeStore(), a.closeKeys())
}

// devMode holds development mode's generated secret, to mint the token
// of the curl command.
type devMode struct{ secret string }

// openKeySource returns the key source cfg selects, a function that
// releases it, and, in development mode, the generated secret.
func openKeySource(ctx context.Context, cfg config, logger *slog.Logger) (keysource.Source, func() error, *devMode, error) {
	noop := func() error { return nil }
	switch {
	case cfg.secretFile != "":
		src, err := keysource.File(cfg.secretFile, keysource.WithErrorHandler(func(err error) {
			logger.Warn("secret file reload failed; keeping the last good keys", "err", err)
		}))
		if err != nil {
			return nil, nil, nil, err
		}
		return src, src.Close, nil, nil
	case cfg.secretEnv != "":
		src, err := keysource.Env(cfg.secretEnv)
		if err != nil {
			return nil, nil, nil, err
		}
		return src, noop, nil, nil
	case cfg.awsSecretID != "":
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("posbackend: AWS config: %w", err)
		}
		opts := []awssm.Option{awssm.WithErrorHandler(func(err error) {
			logger.Warn("secret refresh failed; keeping the last good keys", "err", err)
		})}
		if cfg.awsJSONField != "" {
			opts = append(opts, awssm.WithJSONField(cfg.awsJSONField))
		}
		src, err := awssm.New(ctx, secretsmanager.NewFromConfig(awsCfg), cfg.awsSecretID, opts...)
		if err != nil {
			return nil, nil, nil, err
		}
		return src, src.Close, nil, nil
	default:
		b := make([]byte, 32)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		secret := hex.EncodeToString(b)
		src, err := keysource.Static(secret)
		if err != nil {
			return nil, nil, nil, err
		}
		return src, noop, &devMode{secret: secret}, nil
	}
}

// devTokenLifetime is how long the printed development token lives (real
// POS tokens live 60 s; an hour leaves time to copy the command).
const devTokenLifetime = time.Hour

func (d *devMode) announce(out io.Writer, url, clientID string) {
	m := sdktest.Minter{Secret: d.secret, ClientID: clientID, Shop: devShop, UserID: "42"}
	token := m.Admin(sdktest.Set("exp", time.Now().Add(devTokenLifetime).Unix()))
	sale := devSale()
	body, _ := json.Marshal(sale)
	fmt.Fprintf(out, `
######################################################################
#  DEVELOPMENT MODE: NO SECRET CONFIGURED                            #
#  Tokens are checked against a random secret made for this process, #
#  and the token below was minted with it; Shopify is an in-process  #
#  fake (shopifytest). Never deploy this mode: pass -client-id with  #
#  -secret-env, -secret-file or -aws-secret-id.                      #
######################################################################

Try it (the token is valid for %v):

The session the backend verified:
  curl -sS -H 'Authorization: Bearer %s' -H '%s: 42' -H '%s: 1' %s/api/session

The shop from Shopify's Admin API (the first call exchanges the session
token for the shop's offline token):
  curl -sS -H 'Authorization: Bearer %[2]s' %[5]s/api/shop

A completed POS sale, as the extension's background target sends it: it
tags order %d through the Admin API; send it again and it is a duplicate:
  curl -sS -H 'Authorization: Bearer %[2]s' -H 'Content-Type: application/json' -d '%[7]s' %[5]s/api/transactions

`, devTokenLifetime, token, sdk.HeaderUserID, sdk.HeaderLocationID, url, sale.OrderID, body)
}

// devShop is development mode's shop.
const devShop = "posbackend-dev.myshopify.com"

// devSale is the transaction development mode's curl command sends: a
// sale of one of the fake's canned orders.
func devSale() transaction {
	t := transaction{
		TransactionType: "Sale", OrderID: 1001, ExecutedAt: "2026-12-01T12:00:00Z",
		GrandTotal: money{11.3, "CAD"}, Subtotal: money{10, "CAD"}, TaxTotal: money{1.3, "CAD"}, LineItemCount: 1,
	}
	t.Key = transactionKey(t)
	return t
}

// newHandler routes the endpoints. /api/ is behind the session middleware;
// POST /webhooks (only with a Shopify backend) verifies Shopify's HMAC
// instead.
// A request costs what it must: a log line only at debug level, and
// otelhttp only when telemetry exports (with no exporter, otelhttp would
// still build the attributes of every span and metric and throw them
// away).
//
// Each API route is registered on mux with its own middleware, so that a
// request is routed once, by an exact pattern. (A subtree pattern, "/api/",
// in front of a second mux cost about 7,500 instructions and 5 allocations
// per request, more than the middleware: ServeMux copies the rest of the
// path for it.) What no route matches still goes through the middleware,
// to the api mux: CORS preflights, which the middleware answers, and 404s
// and 405s, which need a valid token as before.
func newHandler(v *sdk.Verifier, src keysource.Source, origins []string, logger *slog.Logger, b *shopifyBackend, telemetry bool) http.Handler {
	mw := v.NewMiddleware(
		sdk.WithAllowedOrigins(origins...),
		sdk.WithOnReject(func(r *http.Request, status int, err error) {
			// A client's bad or expired token is routine (POS fetches a
			// fresh one and retries): debug. No keys is the server's fault.
			level := slog.LevelDebug
			if status >= http.StatusInternalServerError {
				level = slog.LevelError
			}
			if logger.Enabled(r.Context(), level) {
				// err never contains the token.
				logger.Log(r.Context(), level, "rejected", "method", r.Method, "path", r.URL.Path, "status", status, "error", sdk.ErrorName(err), "detail", err)
			}
		}),
	)
	mux := http.NewServeMux()
	api := http.NewServeMux()
	route := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, mw(h))
		api.Handle(pattern, h)
	}
	route("GET /api/session", handleSession)
	route("GET /api/shop", b.handleShop)
	route("POST /api/transactions", b.handleTransaction)
	route("GET /api/transactions", b.handleTransactions)
	mux.Handle("/api/", mw(api))
	if b != nil {
		// Webhooks are signed with the client secret (an HMAC of the
		// body), not a session token: outside the session middleware.
		mux.Handle("POST /webhooks", b.webhooks)
	}

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if src.Keyring().Len() == 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "no keys"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	var h http.Handler = mux
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		h = accessLog(h, logger)
	}
	if telemetry {
		// otelhttp starts the server span that each verification's span
		// is a child of, named after the route ("GET /api/session").
		h = otelhttp.NewHandler(h, "posbackend")
	}
	return h
}

// exports reports whether p exports anything: whether the OTEL_* variables
// configured traces or metrics.
func exports(p *setup.Providers) bool {
	_, noTraces := p.TracerProvider.(tracenoop.TracerProvider)
	_, noMetrics := p.MeterProvider.(metricnoop.MeterProvider)
	return !noTraces || !noMetrics
}

// sessionJSON is GET /api/session's answer.
type sessionJSON struct {
	Kind      string    `json:"kind"`
	Shop      string    `json:"shop"`
	UserID    string    `json:"userId"`
	ClientID  string    `json:"clientId"`
	SessionID string    `json:"sessionId,omitempty"`
	TokenID   string    `json:"tokenId,omitempty"`
	IssuedAt  time.Time `json:"issuedAt,omitzero"`
	ExpiresAt time.Time `json:"expiresAt"`
	KeyID     string    `json:"keyId"`
	// ClientReported echoes the hint headers: what the POS client said
	// about itself, not verified by the token.
	ClientReported hintsJSON `json:"clientReported"`
}

// hintsJSON echoes the IDs as JSON numbers, as the POS client sent them
// (sdk.Hints keeps user IDs as decimal strings, like Session.UserID).
type hintsJSON struct {
	ShopID        int64       `json:"shopId,omitempty"`
	UserID        json.Number `json:"userId,omitempty"`
	LocationID    int64       `json:"locationId,omitempty"`
	StaffMemberID json.Number `json:"staffMemberId,omitempty"`
}

func handleSession(w http.ResponseWriter, r *http.Request) {
	s, ok := sdk.SessionFrom(r.Context())
	if !ok { // only reachable if the route were registered outside the middleware
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "no session"})
		return
	}
	writeJSON(w, http.StatusOK, sessionJSON{
		Kind: s.Kind.String(), Shop: s.Shop, UserID: s.UserID, ClientID: s.ClientID,
		SessionID: s.SessionID, TokenID: s.TokenID, IssuedAt: s.IssuedAt, ExpiresAt: s.ExpiresAt, KeyID: s.KeyID,
		ClientReported: hintsJSON{
			ShopID: s.Hints.ShopID, UserID: json.Number(s.Hints.UserID), LocationID: s.Hints.LocationID,
			StaffMemberID: json.Number(s.Hints.StaffMemberID),
		},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// accessLog logs method, path, status and duration of every request, at
// debug level; never headers (they carry the token).
func accessLog(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", time.Since(start).Round(time.Microsecond))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

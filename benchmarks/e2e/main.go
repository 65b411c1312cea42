// Command e2e is the Go half of the end-to-end benchmark (run.sh): the
// servers it compares with examples/posbackend, and the requests wrk
// sends them.
//
//	e2e serve -server none|middleware|middleware-nocors|golang-jwt [-addr 127.0.0.1:0]
//	e2e requests -n 32768 -out requests.tsv
//
// Every server answers GET /api/session with a small JSON body naming the
// shop and the user:
//
//   - none verifies nothing: the ceiling of net/http on this machine;
//   - middleware is net/http with sdk.Middleware (default cache, Shopify's
//     extension origins allowed, as posbackend configures it);
//   - middleware-nocors is the same without WithAllowedOrigins: like none,
//     it sends no CORS headers, so the two differ by the verification
//     alone (the hints included);
//   - golang-jwt parses the bearer token and verifies it with golang-jwt
//     v5 configured with possession's checks (benchmarks/internal/peers).
//
// serve prints "listening on URL" once it accepts connections and runs
// until SIGINT or SIGTERM. requests writes one request per line for
// wrk's script (requests.lua), tab-separated: token, shop domain, shop
// ID, user ID, location ID. The tokens are sdktest.Fixtures signed with
// peers.Secret for peers.ClientID, issued within 5 s of now: valid for
// the next minute.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/possession-dev/possession/benchmarks/internal/peers"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: e2e serve|requests [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "requests":
		err = requests(os.Args[2:], time.Now())
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

// shopifyOrigins are the origins POS UI extensions call from.
var shopifyOrigins = []string{"https://extensions.shopifycdn.com", "https://cdn.shopify.com"}

// handler returns the server named name.
func handler(name string) (http.Handler, error) {
	switch name {
	case "none":
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeSession(w, "unverified.myshopify.com", "0")
		}), nil
	case "middleware", "middleware-nocors":
		v, err := sdk.New(keysource.MustStatic(peers.Secret), sdk.WithClientID(peers.ClientID))
		if err != nil {
			return nil, err
		}
		var opts []sdk.MiddlewareOption
		if name == "middleware" {
			opts = append(opts, sdk.WithAllowedOrigins(shopifyOrigins...))
		}
		return v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := sdk.SessionFrom(r.Context())
			writeSession(w, s.Shop, s.UserID)
		}), opts...), nil
	case "golang-jwt":
		p := peers.GolangJWT(time.Now)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				http.Error(w, "no bearer token", http.StatusUnauthorized)
				return
			}
			shop, user, err := p.Verify(token)
			if err != nil {
				http.Error(w, "invalid session token", http.StatusUnauthorized)
				return
			}
			writeSession(w, shop, user)
		}), nil
	}
	return nil, fmt.Errorf("unknown server %q (none, middleware, middleware-nocors, golang-jwt)", name)
}

// writeSession writes {"shop":...,"userId":...}; shop and user are a shop
// domain and a decimal ID, which need no JSON escaping.
func writeSession(w http.ResponseWriter, shop, user string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	b := make([]byte, 0, 96)
	b = append(b, `{"shop":"`...)
	b = append(b, shop...)
	b = append(b, `","userId":"`...)
	b = append(b, user...)
	b = append(b, "\"}\n"...)
	_, _ = w.Write(b)
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	name := fs.String("server", "", "none, middleware, middleware-nocors or golang-jwt")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, err := handler(*name)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Printf("listening on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func requests(args []string, now time.Time) error {
	fs := flag.NewFlagSet("requests", flag.ContinueOnError)
	n := fs.Int("n", 256, "number of distinct tokens")
	out := fs.String("out", "", "output file (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var w io.Writer = os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	writeRequests(bw, *n, now)
	return bw.Flush()
}

// writeRequests writes n requests' fields, with tokens issued in
// [now-5s, now+5s): valid from now (10 s leeway) for at least 65 s.
func writeRequests(w io.Writer, n int, now time.Time) {
	f := sdktest.Fixtures{Secret: peers.Secret, ClientID: peers.ClientID, Start: now.Add(-5 * time.Second), Window: 10 * time.Second, Seed: uint64(now.UnixNano())}
	for i := range n {
		fx := f.Fixture(i)
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d\n", fx.Token, fx.Shop, fx.ShopID, fx.UserID, 70_000_000_000+fx.User%7)
	}
}

package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/possession-dev/possession/sdk"
)

const verifyExamples = `  SHOPIFY_API_SECRET=... possession verify -client-id abc123 eyJhbGciOi...
  possession verify -secret-file /run/secrets/shopify -client-id abc123 - < token.txt
  possession verify -secret-env MY_APP_SECRET -no-audience-check eyJhbGciOi...
  possession verify -kinds checkout -client-id abc123 eyJhbGciOi...   # a checkout extension's token
`

// runVerify verifies a token exactly as a backend with sdk.New would, and
// exits with the code of the outcome.
func runVerify(args []string, e env) int {
	fs := newFlagSet("verify", "[flags] [TOKEN|-]", verifyExamples)
	var sf secretFlags
	sf.register(fs)
	clientID := fs.String("client-id", e.getenv(defaultClientEnv), "the app's client ID; aud must equal it (default $"+defaultClientEnv+")")
	noAud := fs.Bool("no-audience-check", false, "accept any aud (as Shopify's libraries do for extension tokens)")
	leeway := fs.Duration("leeway", 10*time.Second, "clock-skew allowance for exp, nbf and iat")
	kindList := fs.String("kinds", "admin", `token kinds to accept, as sdk.WithKinds: "admin" (admin/POS, the sdk's default), "checkout" (checkout and customer-account) or "admin,checkout"`)
	if code, done := parseFlags(fs, args, e); done {
		return code
	}
	kinds, err := parseKinds(*kindList)
	if err != nil {
		fmt.Fprintf(e.stderr, "possession verify: %v\n", err)
		return exitUsage
	}
	if *clientID == "" && !*noAud {
		fmt.Fprintf(e.stderr, "possession verify: pass -client-id (or set $%s), or -no-audience-check\n", defaultClientEnv)
		return exitUsage
	}
	token, err := readToken(fs, e)
	if err != nil {
		fmt.Fprintf(e.stderr, "possession verify: %v\n", err)
		return exitUsage
	}
	src, closeSrc, err := sf.open()
	if err != nil {
		return secretExit(e, "verify", err)
	}
	defer closeSrc()

	opts := []sdk.Option{sdk.WithClock(e.now), sdk.WithLeeway(*leeway), sdk.WithCacheSize(0), sdk.WithKinds(kinds...)}
	if *noAud {
		opts = append(opts, sdk.WithoutAudienceCheck())
	} else {
		opts = append(opts, sdk.WithClientID(*clientID))
	}
	v, err := sdk.New(src, opts...)
	if err != nil {
		fmt.Fprintf(e.stderr, "possession verify: %v\n", err)
		return exitUsage
	}
	s, err := v.Verify(context.Background(), token)
	if err != nil {
		fmt.Fprintf(e.stderr, "possession verify: INVALID (%s): %v\n", sdk.ErrorName(err), err)
		return exitCode(err)
	}
	now := e.now()
	w := e.stdout
	fmt.Fprintf(w, "VALID %s token\n", s.Kind)
	fmt.Fprintf(w, "  shop:        %s\n", s.Shop)
	fmt.Fprintf(w, "  user:        %s\n", s.UserID)
	fmt.Fprintf(w, "  client ID:   %s\n", s.ClientID)
	if s.SessionID != "" {
		fmt.Fprintf(w, "  session ID:  %s\n", s.SessionID)
	}
	fmt.Fprintf(w, "  token ID:    %s\n", s.TokenID)
	if !s.IssuedAt.IsZero() {
		fmt.Fprintf(w, "  issued:      %s (%s)\n", s.IssuedAt.UTC().Format(time.RFC3339), relative(s.IssuedAt, now))
	}
	fmt.Fprintf(w, "  expires:     %s (%s)\n", s.ExpiresAt.UTC().Format(time.RFC3339), relative(s.ExpiresAt, now))
	fmt.Fprintf(w, "  signed with: %s\n", s.KeyID)
	return exitOK
}

// parseKinds reads -kinds: a comma-separated list of "admin" and
// "checkout".
func parseKinds(list string) ([]sdk.Kind, error) {
	var kinds []sdk.Kind
	for name := range strings.SplitSeq(list, ",") {
		switch strings.TrimSpace(name) {
		case "admin":
			kinds = append(kinds, sdk.KindAdmin)
		case "checkout":
			kinds = append(kinds, sdk.KindCheckout)
		default:
			return nil, fmt.Errorf("-kinds %q: want admin, checkout or admin,checkout", list)
		}
	}
	return kinds, nil
}

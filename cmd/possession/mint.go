package main

import (
	"fmt"
	"time"

	"github.com/possession-dev/possession/sdk/sdktest"
)

const mintExamples = `  SHOPIFY_API_SECRET=$DEV_SECRET possession mint -client-id abc123
  possession mint -secret-file dev-secret.txt -client-id abc123 -shop demo.myshopify.com -user 7
  SHOPIFY_API_SECRET=$DEV_SECRET possession mint -client-id abc123 -issued -2h     # expired
  SHOPIFY_API_SECRET=$DEV_SECRET possession mint -client-id abc123 -kind checkout  # checkout-extension token
`

// runMint prints a development token signed with the current secret. Only
// the token goes to stdout, so TOKEN=$(possession mint ...) works.
func runMint(args []string, e env) int {
	fs := newFlagSet("mint", "[flags]", mintExamples)
	var sf secretFlags
	sf.register(fs)
	clientID := fs.String("client-id", e.getenv(defaultClientEnv), "aud: the app's client ID (default $"+defaultClientEnv+")")
	shop := fs.String("shop", "example.myshopify.com", "the shop domain (dest, iss)")
	user := fs.String("user", "42", "sub: the user ID (admin/POS tokens)")
	kind := fs.String("kind", "admin", `"admin" (admin and POS tokens) or "checkout"`)
	issued := fs.Duration("issued", 0, "issue time relative to now (-2h mints an expired token, 5m one not yet valid)")
	ttl := fs.Duration("ttl", 0, "lifetime (default as Shopify: 60s admin/POS, 5m checkout)")
	escape := fs.Bool("escape-slashes", true, `write "/" as "\/" in the claims, as Shopify does`)
	if code, done := parseFlags(fs, args, e); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "possession mint: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *clientID == "" {
		fmt.Fprintf(e.stderr, "possession mint: pass -client-id (or set $%s)\n", defaultClientEnv)
		return exitUsage
	}
	if *kind != "admin" && *kind != "checkout" {
		fmt.Fprintf(e.stderr, "possession mint: -kind %q: want admin or checkout\n", *kind)
		return exitUsage
	}
	if *ttl < 0 {
		fmt.Fprintf(e.stderr, "possession mint: negative -ttl %v\n", *ttl)
		return exitUsage
	}
	src, closeSrc, err := sf.open()
	if err != nil {
		return secretExit(e, "mint", err)
	}
	defer closeSrc()
	ring := src.Keyring()
	if ring.Len() == 0 {
		fmt.Fprintln(e.stderr, "possession mint: the key source has no keys")
		return exitNoSecret
	}
	m := sdktest.Minter{
		Secret:        string(ring.Key(0).Secret.Bytes()),
		ClientID:      *clientID,
		Shop:          *shop,
		UserID:        *user,
		Now:           e.now,
		EscapeSlashes: *escape,
	}
	iat := e.now().Add(*issued)
	changes := []sdktest.Claim{sdktest.At(iat)}
	if *ttl > 0 {
		changes = append(changes, sdktest.Set("exp", iat.Add(*ttl).Unix()))
	}
	var token string
	if *kind == "checkout" {
		token = m.Checkout(changes...)
	} else {
		token = m.Admin(changes...)
	}
	fmt.Fprintln(e.stdout, token)
	fmt.Fprintf(e.stderr, "possession mint: development token for %s, user %s, signed with key %s; expires %s\n",
		*shop, *user, ring.Key(0).ID, relative(iat.Add(lifetime(*kind, *ttl)), e.now()))
	return exitOK
}

func lifetime(kind string, ttl time.Duration) time.Duration {
	switch {
	case ttl > 0:
		return ttl
	case kind == "checkout":
		return 5 * time.Minute
	}
	return time.Minute
}

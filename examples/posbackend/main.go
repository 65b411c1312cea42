// Command posbackend is the backend a POS UI extension calls: it verifies
// the Shopify session token on every /api request with possession's
// middleware and answers GET /api/session with the verified session.
//
// Run it with nothing configured to try it: it listens on 127.0.0.1:8080
// with a random development secret and prints a curl command with a
// token. For real use, give it your app's client ID and client secret:
//
//	SHOPIFY_API_SECRET=... posbackend -client-id YOUR_CLIENT_ID -secret-env SHOPIFY_API_SECRET -addr :8080
//	posbackend -client-id YOUR_CLIENT_ID -secret-file /run/secrets/shopify-api-secret
//
// Endpoints:
//
//	GET /api/session  the verified session as JSON (needs Authorization: Bearer <token>)
//	GET /healthz      200 when the key source has keys, 503 otherwise
//
// CORS: browsers at the -allowed-origin origins may call /api (default:
// Shopify's extension origins https://extensions.shopifycdn.com and
// https://cdn.shopify.com). SIGINT or SIGTERM shut it down gracefully.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

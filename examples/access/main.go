// Command access shows possession acting for a shop, end to end in one
// process: a POS session token is verified, exchanged for the shop's
// expiring offline token, served fresh from the cache, and refreshed by a
// background job once the token has expired, with the tokens kept
// encrypted in the embedded SQLite store. shopifytest plays Shopify
// (its clock is advanced instead of waiting an hour). No flags, no
// environment, no network.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/accesstest"
	"github.com/possession-dev/possession/access/sqlitestore"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "access:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	const shop = "example.myshopify.com"

	// Shopify, in process, on a clock we can move.
	clock := accesstest.NewClock(time.Now())
	shopify := shopifytest.NewServer(shopifytest.WithClock(clock.Now))
	defer shopify.Close()

	// Your backend: the app's client secret (from env, a file or AWS in
	// production), a verifier and a token manager on a store.
	secret, err := keysource.Static(shopify.ClientSecret())
	if err != nil {
		return err
	}
	verifier, err := sdk.New(secret, sdk.WithClientID(shopify.ClientID()), sdk.WithClock(clock.Now))
	if err != nil {
		return err
	}
	// The embedded default store: one SQLite file (WAL mode, safe for
	// several processes on this machine); tokens in it are encrypted.
	dir, err := os.MkdirTemp("", "possession-access-example")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "tokens.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	tokens, err := access.New(shopify.ClientID(), secret, store,
		access.WithShopifyBaseURL(shopify.URL), // omit in production: https://{shop}
		access.WithClock(clock.Now))
	if err != nil {
		return err
	}

	// The POS device's session token, as Shopify signs it.
	raw := sdktest.Minter{Secret: shopify.ClientSecret(), ClientID: shopify.ClientID(), Shop: shop, UserID: "1001", Now: clock.Now}.Admin()

	// A request handler: verify, then act for the session's shop.
	session, err := verifier.Verify(ctx, raw)
	if err != nil {
		return err
	}
	tok, err := tokens.Offline(ctx, session, raw)
	if err != nil {
		return err
	}
	fmt.Printf("exchanged the session token of %s for its offline token\n", session.Shop)
	fmt.Printf("  token:      %v\n", tok) // the value itself never prints
	fmt.Printf("  scope:      %s\n", tok.Scope)
	fmt.Printf("  expires in: %s\n", tok.ExpiresAt.Sub(clock.Now()).Round(time.Second))
	fmt.Printf("  honoured:   %v\n", shopify.AccessTokenValid(shop, tok.Value()))

	again, err := tokens.Offline(ctx, session, raw)
	if err != nil {
		return err
	}
	fmt.Printf("the next request is served from the cache: same token %v, %d request(s) to Shopify so far\n",
		again.Value() == tok.Value(), shopify.Requests(shopifytest.RouteOAuthAccessToken))

	// An hour later, a background job (no session token) needs the token.
	clock.Advance(time.Hour + time.Minute)
	fmt.Printf("an hour later the old token is expired: honoured %v\n", shopify.AccessTokenValid(shop, tok.Value()))
	job, err := tokens.OfflineFor(ctx, shop)
	if err != nil {
		return err
	}
	fmt.Printf("OfflineFor refreshed it: new token %v, honoured %v, expires in %s\n",
		job.Value() != tok.Value(), shopify.AccessTokenValid(shop, job.Value()),
		job.ExpiresAt.Sub(clock.Now()).Round(time.Second))
	c := shopify.GrantCounts()
	fmt.Printf("Shopify saw %d exchange and %d refresh\n", c.Exchange, c.Refresh)
	if c.Exchange != 1 || c.Refresh != 1 || !shopify.AccessTokenValid(shop, job.Value()) {
		return fmt.Errorf("unexpected grants %+v", c)
	}
	return nil
}

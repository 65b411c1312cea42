package access_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/accesstest"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

// The whole flow in one process: a POS session token is verified, the
// shop's offline token exchanged and served, and refreshed by a
// background job after it expired. shopifytest plays Shopify.
func Example() {
	ctx := context.Background()
	clock := accesstest.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	shopify := shopifytest.NewServer(shopifytest.WithClock(clock.Now))
	defer shopify.Close()

	secret, err := keysource.Static(shopify.ClientSecret())
	if err != nil {
		panic(err)
	}
	verifier, err := sdk.New(secret, sdk.WithClientID(shopify.ClientID()), sdk.WithClock(clock.Now))
	if err != nil {
		panic(err)
	}
	tokens, err := access.New(shopify.ClientID(), secret, access.MemoryStore(),
		access.WithShopifyBaseURL(shopify.URL), access.WithClock(clock.Now))
	if err != nil {
		panic(err)
	}

	// What a POS extension sends: a session token for its shop.
	raw := sdktest.Minter{Secret: shopify.ClientSecret(), ClientID: shopify.ClientID(),
		Shop: "example.myshopify.com", Now: clock.Now}.Admin()
	session, err := verifier.Verify(ctx, raw)
	if err != nil {
		panic(err)
	}
	tok, err := tokens.Offline(ctx, session, raw)
	if err != nil {
		panic(err)
	}
	fmt.Println("shop:", tok.Shop, "scope:", tok.Scope)
	fmt.Println("expires in:", tok.ExpiresAt.Sub(clock.Now()))
	fmt.Println("printed:", tok)

	// An hour later a background job needs the token: it is refreshed.
	clock.Advance(time.Hour)
	job, err := tokens.OfflineFor(ctx, "example.myshopify.com")
	if err != nil {
		panic(err)
	}
	fmt.Println("refreshed:", job.Value() != tok.Value())
	fmt.Println("exchanges:", shopify.GrantCounts().Exchange, "refreshes:", shopify.GrantCounts().Refresh)
	// Output:
	// shop: example.myshopify.com scope: read_products,write_products
	// expires in: 1h0m0s
	// printed: access.Token{shop=example.myshopify.com mode=offline expires=2026-12-01T11:00:00Z value=[REDACTED]}
	// refreshed: true
	// exchanges: 1 refreshes: 1
}

// After an Admin API call answered 401, ask for the replacement once: the
// Manager refreshes (once across the fleet) or returns what another
// instance stored, and says when only the merchant can help.
func ExampleManager_RefreshAfterUnauthorized() {
	ctx := context.Background()
	shopify := shopifytest.NewServer()
	defer shopify.Close()
	secret, _ := keysource.Static(shopify.ClientSecret())
	tokens, _ := access.New(shopify.ClientID(), secret, access.MemoryStore(), access.WithShopifyBaseURL(shopify.URL))
	raw := sdktest.Minter{Secret: shopify.ClientSecret(), ClientID: shopify.ClientID(), Shop: "example.myshopify.com"}.Admin()
	verifier, _ := sdk.New(secret, sdk.WithClientID(shopify.ClientID()))
	session, _ := verifier.Verify(ctx, raw)
	tok, _ := tokens.Offline(ctx, session, raw)

	// Suppose Shopify answered 401 to tok.
	fresh, err := tokens.RefreshAfterUnauthorized(ctx, tok)
	fmt.Println(err == nil, fresh.Value() != tok.Value())

	// The merchant uninstalls the app: nothing to refresh any more.
	shopify.Revoke("example.myshopify.com")
	_, err = tokens.RefreshAfterUnauthorized(ctx, fresh)
	fmt.Println(errors.Is(err, access.ErrReauthorize))
	// Output:
	// true true
	// true
}

package admin_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/admin"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

// From a POS session token to an Admin API call: the access Manager holds
// the shop's offline token, the Client calls Shopify with it. shopifytest
// plays Shopify.
func ExampleNew() {
	ctx := context.Background()
	shopify := shopifytest.NewServer()
	defer shopify.Close()
	secret, _ := keysource.Static(shopify.ClientSecret())
	verifier, _ := sdk.New(secret, sdk.WithClientID(shopify.ClientID()))
	tokens, _ := access.New(shopify.ClientID(), secret, access.MemoryStore(), access.WithShopifyBaseURL(shopify.URL))

	// The merchant opened the app in POS: the session token is exchanged
	// for the shop's offline token once.
	raw := sdktest.Minter{Secret: shopify.ClientSecret(), ClientID: shopify.ClientID(), Shop: "example.myshopify.com"}.Admin()
	session, _ := verifier.Verify(ctx, raw)
	if _, err := tokens.Offline(ctx, session, raw); err != nil {
		panic(err)
	}

	client, err := admin.New(tokens, admin.WithAPIVersion("2026-10"), admin.WithShopifyBaseURL(shopify.URL))
	if err != nil {
		panic(err)
	}
	var out struct {
		Shop struct{ Name, CurrencyCode string }
	}
	if err := client.Do(ctx, "example.myshopify.com", `query { shop { name currencyCode } }`, nil, &out); err != nil {
		panic(err)
	}
	fmt.Println(out.Shop.Name, out.Shop.CurrencyCode)

	// A mutation: tagsAdd is idempotent, so it may be sent again after a
	// 401 or a 503.
	err = client.Do(ctx, "example.myshopify.com",
		`mutation Tag($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { userErrors { field message } } }`,
		map[string]any{"id": "gid://shopify/Order/1001", "tags": []string{"pos"}}, nil, admin.RetrySafe())
	fmt.Println(err, shopify.OrderTags("example.myshopify.com", "gid://shopify/Order/1001"))

	// Without a version there is no client: the version is the program's
	// choice.
	_, err = admin.New(tokens)
	fmt.Println(errors.Is(err, admin.ErrConfig))
	// Output:
	// example CAD
	// <nil> [pos]
	// true
}

// How a Budget paces: it learns the bucket from an answer's
// throttleStatus, then tells each request how long to wait for its
// points.
func ExampleMemoryBudget() {
	ctx := context.Background()
	b := admin.NewMemoryBudget()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const shop = "example.myshopify.com"

	// Nothing known yet: the first request is sent at once to learn.
	first, _ := b.Reserve(ctx, shop, 50, now)
	fmt.Println("known:", first.Known)
	_ = b.Settle(ctx, first, admin.Answer{Sent: true, Charged: 50, Status: &admin.ThrottleStatus{MaximumAvailable: 1000, CurrentlyAvailable: 120, RestoreRate: 100}}, now)

	// 120 points left, restoring 100 a second: two 50-point queries go
	// now, the third waits for its missing 30 points.
	for range 3 {
		r, _ := b.Reserve(ctx, shop, 50, now)
		fmt.Println("wait:", r.Wait)
	}
	// Output:
	// known: false
	// wait: 0s
	// wait: 0s
	// wait: 300ms
}

// Errors wrap one sentinel each, and carry Shopify's request ID.
func ExampleRequestID() {
	err := fmt.Errorf("tagging the order: %w", &admin.UserErrors{
		Field:     "tagsAdd",
		Errors:    []admin.UserError{{Field: []string{"id"}, Message: "Resource not found"}},
		RequestID: "0b4e3a1c-5d7e-4f00-9a2b-3c4d5e6f7a8b",
	})
	fmt.Println(errors.Is(err, admin.ErrUserErrors), admin.ErrorName(err))
	fmt.Println(admin.RequestID(err))
	fmt.Println(err)
	// Output:
	// true user_errors
	// 0b4e3a1c-5d7e-4f00-9a2b-3c4d5e6f7a8b
	// tagging the order: admin: mutation returned user errors: tagsAdd; id: Resource not found (x-request-id 0b4e3a1c-5d7e-4f00-9a2b-3c4d5e6f7a8b)
}

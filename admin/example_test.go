package admin_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/possession-dev/possession/admin"
)

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
	_ = b.Settle(ctx, first, true, &admin.ThrottleStatus{MaximumAvailable: 1000, CurrentlyAvailable: 120, RestoreRate: 100}, now)

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

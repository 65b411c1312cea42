package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

func ExampleNew() {
	// The client ID is required: tokens for other apps are rejected.
	v, err := sdk.New(keysource.MustStatic("your-client-secret-0123456789abcdef"), sdk.WithClientID("your-client-id"))
	fmt.Println(v != nil, err)

	// Forgetting it is an error at start-up, not a silent hole.
	_, err = sdk.New(keysource.MustStatic("your-client-secret-0123456789abcdef"))
	fmt.Println(err != nil)
	// Output:
	// true <nil>
	// true
}

func ExampleVerifier_Verify() {
	now := time.Unix(1_800_000_000, 0)
	pos := sdktest.Minter{Secret: "your-client-secret-0123456789abcdef", ClientID: "your-client-id", Shop: "example.myshopify.com",
		UserID: "1001", Now: func() time.Time { return now }}
	token := pos.Admin() // what api.session.getSessionToken() hands the extension

	v, _ := sdk.New(keysource.MustStatic("your-client-secret-0123456789abcdef"), sdk.WithClientID("your-client-id"),
		sdk.WithClock(func() time.Time { return now }))
	s, err := v.Verify(context.Background(), token)
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Println(s.Kind, s.Shop, s.UserID, s.ExpiresAt.Sub(now), s.KeyID)
	// Output: admin example.myshopify.com 1001 1m0s static:current
}

func ExampleVerifier_Verify_errors() {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	v, _ := sdk.New(keysource.MustStatic("your-client-secret-0123456789abcdef"), sdk.WithClientID("your-client-id"), sdk.WithClock(clock))
	pos := sdktest.Minter{Secret: "your-client-secret-0123456789abcdef", ClientID: "your-client-id", Now: clock}

	for _, token := range []string{
		pos.Admin(sdktest.At(now.Add(-5 * time.Minute))),
		sdktest.Minter{Secret: "someone-elses-secret", ClientID: "your-client-id", Now: clock}.Admin(),
		pos.Admin(sdktest.Set("aud", "another-app")),
		"not a token",
	} {
		_, err := v.Verify(context.Background(), token)
		switch {
		case errors.Is(err, sdk.ErrExpired), errors.Is(err, sdk.ErrNotYetValid):
			fmt.Println("stale, ask the client for a fresh token:", err)
		case errors.Is(err, sdk.ErrNoKeys):
			fmt.Println("our problem, answer 503:", err)
		case err != nil:
			fmt.Printf("reject (%s): %v\n", sdk.ErrorName(err), err)
		}
	}
	// Output:
	// stale, ask the client for a fresh token: sdk: token expired: exp was 240s ago (leeway 10s)
	// reject (signature): sdk: invalid signature: signed with none of the key source's keys
	// reject (audience): sdk: wrong audience: aud is not a configured client ID
	// reject (malformed): sdk: malformed token: not a JWT (want three dot-separated segments)
}

func ExampleWithoutAudienceCheck() {
	// Shopify's own libraries skip the audience check for extension tokens.
	// Prefer WithClientID; this option exists for backends that accept
	// tokens of any app signed with their keys.
	v, err := sdk.New(keysource.MustStatic("your-client-secret-0123456789abcdef"), sdk.WithoutAudienceCheck())
	fmt.Println(v != nil, err)
	// Output: true <nil>
}

func ExampleExpiredError() {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	v, _ := sdk.New(keysource.MustStatic("your-client-secret-0123456789abcdef"), sdk.WithClientID("your-client-id"), sdk.WithClock(clock))
	pos := sdktest.Minter{Secret: "your-client-secret-0123456789abcdef", ClientID: "your-client-id", Now: clock}

	_, err := v.Verify(context.Background(), pos.Admin(sdktest.At(now.Add(-90*time.Second))))
	var expired *sdk.ExpiredError
	if errors.As(err, &expired) {
		fmt.Println("expired", expired.Now.Sub(expired.ExpiresAt), "ago, leeway", expired.Leeway)
	}
	fmt.Println(errors.Is(err, sdk.ErrExpired))
	// Output:
	// expired 30s ago, leeway 10s
	// true
}

func ExampleWithKinds() {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	const secret = "shpss_00000000000000000000000000000000" // your app's client secret
	m := sdktest.Minter{Secret: secret, ClientID: "your-client-id", Now: clock}
	buyer := m.Checkout(sdktest.Set("sub", "gid://shopify/Customer/7")) // from a customer-account extension

	// By default only admin/POS tokens pass: a buyer's token must not open
	// a staff endpoint.
	staff, _ := sdk.New(keysource.MustStatic(secret), sdk.WithClientID("your-client-id"), sdk.WithClock(clock))
	_, err := staff.Verify(context.Background(), buyer)
	fmt.Println(sdk.ErrorName(err), errors.Is(err, sdk.ErrKind))

	// A verifier for the endpoints of a checkout or customer-account
	// extension accepts those tokens.
	extension, _ := sdk.New(keysource.MustStatic(secret), sdk.WithClientID("your-client-id"), sdk.WithClock(clock),
		sdk.WithKinds(sdk.KindCheckout))
	s, err := extension.Verify(context.Background(), buyer)
	fmt.Println(s.Kind, s.UserID, err)
	// Output:
	// kind true
	// checkout gid://shopify/Customer/7 <nil>
}

package sdk_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// A POS backend: the middleware verifies the bearer token, the handler
// reads the session. Client hints arrive in the X-Possession-* headers and
// land in Session.Hints, unverified.
func ExampleVerifier_Middleware() {
	verifier, err := sdk.New(keysource.MustStatic("app-client-secret"), sdk.WithClientID("app-client-id"))
	if err != nil {
		panic(err)
	}
	api := verifier.Middleware(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := sdk.SessionFrom(r.Context())
			fmt.Fprintf(w, "shop %s, user %s, location %d (client-reported)", s.Shop, s.UserID, s.Hints.LocationID)
		}),
		sdk.WithAllowedOrigins("https://extensions.shopifycdn.com", "https://cdn.shopify.com"),
	)

	// What the POS extension sends.
	token := sdktest.Minter{Secret: "app-client-secret", ClientID: "app-client-id", Shop: "example.myshopify.com", UserID: "42"}.Admin()
	r := httptest.NewRequest("GET", "/api/session", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set(sdk.HeaderUserID, "42")
	r.Header.Set(sdk.HeaderLocationID, "7")
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())

	// Without a token.
	w = httptest.NewRecorder()
	api.ServeHTTP(w, httptest.NewRequest("GET", "/api/session", nil))
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 200 shop example.myshopify.com, user 42, location 7 (client-reported)
	// 401 {"error":"no_token","message":"no session token: send Authorization: Bearer <token from getSessionToken()>; POS returns no token to users without permission for this app"}
}

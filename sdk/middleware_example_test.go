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
	verifier, err := sdk.New(keysource.MustStatic("app-client-secret-0123456789abcdef"), sdk.WithClientID("app-client-id"))
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
	token := sdktest.Minter{Secret: "app-client-secret-0123456789abcdef", ClientID: "app-client-id", Shop: "example.myshopify.com", UserID: "42"}.Admin()
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

// A handler's own unit test: put the session in the request context as
// the middleware would, without minting a token.
func ExampleContextWithSession() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := sdk.SessionFrom(r.Context())
		if !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "hello user %s of %s", s.UserID, s.Shop)
	})

	r := httptest.NewRequest("GET", "/api/session", nil)
	r = r.WithContext(sdk.ContextWithSession(r.Context(), &sdk.Session{Shop: "example.myshopify.com", UserID: "42"}))
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())
	// Output: 200 hello user 42 of example.myshopify.com
}

// With a router that takes func(http.Handler) http.Handler (chi's Use,
// alice.New), and an error handler that writes the application's own
// error format.
func ExampleVerifier_NewMiddleware() {
	verifier, err := sdk.New(keysource.MustStatic("app-client-secret-0123456789abcdef"), sdk.WithClientID("app-client-id"))
	if err != nil {
		panic(err)
	}
	use := verifier.NewMiddleware(
		sdk.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, status int, err error) {
			// The protocol headers (the retry header, WWW-Authenticate) are set.
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"type":"about:blank","status":%d,"title":%q}`, status, sdk.ErrorName(err))
		}),
	)
	api := use(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sdk.SessionFrom(r.Context())
		fmt.Fprint(w, "user ", s.UserID)
	}))

	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/api/orders", nil)
	r.Header.Set("Authorization", "Bearer not-a-token")
	api.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get(sdk.HeaderRetryInvalidSession), w.Body.String())
	// Output: 401 1 {"type":"about:blank","status":401,"title":"malformed"}
}

// Handlers outside the middleware read the token as it does.
func ExampleTokenFromRequest() {
	r := httptest.NewRequest("GET", "/?embedded=1&id_token=header.payload.signature&shop=example.myshopify.com", nil)
	token, err := sdk.TokenFromRequest(r)
	fmt.Printf("%q %v\n", token, err)
	token, err = sdk.TokenFromRequest(r, sdk.WithIDTokenQuery())
	fmt.Printf("%q %v\n", token, err)
	// Output:
	// "" sdk: no bearer token: no Authorization header
	// "header.payload.signature" <nil>
}

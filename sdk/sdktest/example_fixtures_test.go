package sdktest_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/possession-dev/possession/sdk/sdktest"
)

// Fixtures for a benchmark: the same tokens on every run, spread over
// shops, users and a minute of issue times; verify them at ValidAt.
func ExampleFixtures() {
	f := sdktest.Fixtures{Secret: "shpss_0123", ClientID: "4c2c0d8f1e5a4b7f9d3e6a1b2c8d0e7f", Start: time.Unix(1_780_000_000, 0)}
	fx := f.Fixture(7)
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(fx.Token, ".")[1])
	fmt.Println(fx.Shop, fx.UserID, fx.IssuedAt.Unix(), len(fx.Token))
	fmt.Println(string(payload))
	fmt.Println(f.ValidAt().Unix())
	// Output:
	// silver-wine-cellar.myshopify.com 100011550278 1780000054 635
	// {"iss":"https:\/\/silver-wine-cellar.myshopify.com\/admin","dest":"https:\/\/silver-wine-cellar.myshopify.com","aud":"4c2c0d8f1e5a4b7f9d3e6a1b2c8d0e7f","sub":"100011550278","exp":1780000114,"nbf":1780000054,"iat":1780000054,"jti":"e19f613c-c61a-4874-b815-13197a58caf9","sid":"59753ea34b83343478d0e5384f7087a6b25f7dbc8915943b66511b1a2eb1c3e8","sig":"d0f73c127542eaab8e33da0d6be587c2dfa96f00f7047ddfe9f90fce231202a8"}
	// 1780000059
}

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
	// brick-tea-house.myshopify.com 100013586343 1780000058 627
	// {"iss":"https:\/\/brick-tea-house.myshopify.com\/admin","dest":"https:\/\/brick-tea-house.myshopify.com","aud":"4c2c0d8f1e5a4b7f9d3e6a1b2c8d0e7f","sub":"100013586343","exp":1780000118,"nbf":1780000058,"iat":1780000058,"jti":"aef71107-f151-4fdb-a19f-613cc61a3874","sid":"9c814e32699c4641a02f3567f04ba3b22044df2c4824c463b55da2c42f4bc6d2","sig":"b81513197a58caf9d0f73c127542eaab8e33da0d6be587c2dfa96f00f7047ddf"}
	// 1780000059
}

package shopifytest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

// A token exchange against the fake, by hand: the request is addressed to
// the fake's URL with the shop in the Host header.
func ExampleServer_oauth() {
	s := shopifytest.NewServer()
	defer s.Close()
	session := sdktest.Minter{Secret: s.ClientSecret(), ClientID: s.ClientID(), Shop: "example.myshopify.com"}.Admin()
	body, _ := json.Marshal(map[string]string{
		"client_id":            s.ClientID(),
		"client_secret":        s.ClientSecret(),
		"grant_type":           shopifytest.GrantTypeTokenExchange,
		"subject_token":        session,
		"subject_token_type":   shopifytest.TokenTypeIDToken,
		"requested_token_type": shopifytest.TokenTypeOfflineAccess,
		"expiring":             "1",
	})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/admin/oauth/access_token", bytes.NewReader(body))
	req.Host = "example.myshopify.com"
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var got struct {
		AccessToken  string `json:"access_token"`
		ExpiresIn    int    `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&got)
	fmt.Println(resp.StatusCode, got.ExpiresIn, got.RefreshToken != "")
	fmt.Println(s.AccessTokenValid("example.myshopify.com", got.AccessToken), s.GrantCounts().Exchange)
	// Output:
	// 200 3600 true
	// true 1
}

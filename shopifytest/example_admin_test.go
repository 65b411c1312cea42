package shopifytest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/possession-dev/possession/shopifytest"
)

// A GraphQL request to the fake's Admin API: sent to its URL with the shop
// as Host, it answers with the data and the cost of the query.
func ExampleServer_adminGraphQL() {
	s := shopifytest.NewServer(shopifytest.WithAdminBucket(1000, 100))
	defer s.Close()
	token := s.IssueAccessToken("example.myshopify.com", "read_products", 0)

	req, _ := http.NewRequest(http.MethodPost, s.URL+"/admin/api/2026-10/graphql.json",
		strings.NewReader(`{"query":"{ shop { name currencyCode } }"}`))
	req.Host = "example.myshopify.com"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode)
	fmt.Println(string(body))
	// Output:
	// 200
	// {"data":{"shop":{"name":"example","currencyCode":"CAD"}},"extensions":{"cost":{"requestedQueryCost":1,"actualQueryCost":1,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":999,"restoreRate":100.0}}}}
}

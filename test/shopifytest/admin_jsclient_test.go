package shopifytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/possession-dev/possession/shopifytest"
	"github.com/possession-dev/possession/test/internal/shopifyjs"
)

// TestAdminAPIClientAgainstFake runs Shopify's @shopify/admin-api-client
// against the fake: it reads data, cost, GraphQL errors and deprecation
// notices from the fake's answers as it does from Shopify's, and shows
// what the official client does with THROTTLED, 429 and 401.
func TestAdminAPIClientAgainstFake(t *testing.T) {
	dir := shopifyjs.Dir(t, "@shopify/admin-api-client")
	s := shopifytest.NewServer()
	defer s.Close()
	const shop, throttleShop = "js-client.myshopify.com", "js-throttle.myshopify.com"
	revoked := s.IssueAccessToken(shop, "read_products", 0)
	s.Revoke(shop)
	token := s.IssueAccessToken(shop, "read_products,write_orders", 0)
	throttleToken := s.IssueAccessToken(throttleShop, "read_products", 0)
	s.SetAdminBucket(throttleShop, 40, 1) // too small for the 50-point query
	version := shopifytest.SupportedVersions(time.Now())[3]

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "admin-fake-check.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"FAKE_URL="+s.URL, "SHOP="+shop, "TOKEN="+token, "VERSION="+version,
		"THROTTLE_SHOP="+throttleShop, "THROTTLE_TOKEN="+throttleToken, "REVOKED_TOKEN="+revoked)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Five requests reach the route before the 429 case (shop, products,
	// tagsAdd, GraphQL error, THROTTLED).
	injectAfter(s, 5, shopifytest.Fault{Status: 429, RetryAfter: "2"})
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got struct {
		Shop struct {
			Data struct {
				Shop struct{ Name, CurrencyCode string }
			}
			Cost struct {
				RequestedQueryCost, ActualQueryCost int
				ThrottleStatus                      struct{ MaximumAvailable, CurrentlyAvailable, RestoreRate float64 }
			}
			Errors any
		}
		Products struct {
			IDs             []string
			Cost            struct{ RequestedQueryCost, ActualQueryCost int }
			DeprecationLogs []struct{ Type, Notice string }
		}
		TagsAdd struct {
			Data struct {
				TagsAdd struct {
					Node       struct{ ID string }
					UserErrors []any
				}
			}
			Errors any
		}
		GraphQLError struct {
			Status int
			Code   string
			Data   any
		}
		Throttled struct {
			Status          int
			Code            string
			ActualQueryCost *int
			Retries         int
		}
		RateLimited struct {
			OK        bool
			Retries   int
			ElapsedMs float64
		}
		Unauthorized struct {
			Status  int
			Message string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	t.Logf("admin-api-client saw: %s", out)

	if got.Shop.Data.Shop.Name != "js-client" || got.Shop.Data.Shop.CurrencyCode != "CAD" || got.Shop.Errors != nil {
		t.Errorf("shop query: %+v", got.Shop)
	}
	if c := got.Shop.Cost; c.RequestedQueryCost != 1 || c.ActualQueryCost != 1 || c.ThrottleStatus.MaximumAvailable != 2000 || c.ThrottleStatus.RestoreRate != 100 {
		t.Errorf("extensions.cost as the client reads it: %+v", c)
	}
	if !slices.Equal(got.Products.IDs, []string{"gid://shopify/Product/1", "gid://shopify/Product/2"}) || got.Products.Cost.RequestedQueryCost != 4 {
		t.Errorf("products: %+v", got.Products)
	}
	if len(got.Products.DeprecationLogs) != 1 || got.Products.DeprecationLogs[0].Notice != shopifytest.DeprecationNotice {
		t.Errorf("the client logged no deprecation notice: %+v", got.Products.DeprecationLogs)
	}
	if got.TagsAdd.Data.TagsAdd.Node.ID != "gid://shopify/Order/1001" || len(got.TagsAdd.Data.TagsAdd.UserErrors) != 0 || got.TagsAdd.Errors != nil {
		t.Errorf("tagsAdd: %+v", got.TagsAdd)
	}
	if tags := s.OrderTags(shop, "gid://shopify/Order/1001"); !slices.Equal(tags, []string{"from-shopify-js"}) {
		t.Errorf("order tags on the fake: %q", tags)
	}
	if g := got.GraphQLError; g.Status != 200 || g.Code != "undefinedField" || g.Data != nil {
		t.Errorf("GraphQL error: %+v", g)
	}
	// The official client hands THROTTLED to the app as an error, with no
	// retry even though it was allowed two.
	if th := got.Throttled; th.Status != 200 || th.Code != "THROTTLED" || th.ActualQueryCost != nil || th.Retries != 0 {
		t.Errorf("THROTTLED: %+v", th)
	}
	if s.Throttled(throttleShop) != 1 {
		t.Errorf("fake counted %d THROTTLED", s.Throttled(throttleShop))
	}
	// It retries the 429, but waits Retry-After as milliseconds: 2 ms, not
	// 2 s.
	if rl := got.RateLimited; !rl.OK || rl.Retries != 1 || rl.ElapsedMs >= 1000 {
		t.Errorf("429: %+v", rl)
	}
	if u := got.Unauthorized; u.Status != 401 {
		t.Errorf("401: %+v", u)
	}
}

// injectAfter arranges for the (n+1)th request to the Admin route to get
// f: the n before it pass through unchanged.
func injectAfter(s *shopifytest.Server, n int, f shopifytest.Fault) {
	faults := make([]shopifytest.Fault, n, n+1)
	s.Inject(shopifytest.RouteAdminGraphQL, append(faults, f)...)
}

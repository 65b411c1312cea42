package shopifytest

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzAdminGraphQL: any query and variables get an answer, never a
// panic; the answer is JSON with data or errors; a query that ran has a
// cost extension with 0 <= actual <= requested <= MaxQueryCost, and the
// bucket never goes below zero or above its maximum.
func FuzzAdminGraphQL(f *testing.F) {
	for _, s := range []struct{ q, vars string }{
		{`{ shop { name currencyCode } }`, `{}`},
		{`query P($n: Int!, $after: String) { products(first: $n, after: $after) { edges { cursor node { id title bodyHtml } } pageInfo { hasNextPage endCursor } } }`, `{"n": 48, "after": "eyJsYXN0X2lkIjozfQ=="}`},
		{`mutation T($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { node { id ... on Order { tags } } userErrors { field message } } }`, `{"id": "gid://shopify/Order/1001", "tags": ["a", "b"]}`},
		{`{ product(id: "gid://shopify/Product/3") { ...F } } fragment F on Product { title __typename }`, `null`},
		{`{ products(last: 3, before: "x", reverse: true) { nodes { id } } }`, `{"x": [1, {"y": null}]}`},
		{`{ order(id: "gid://shopify/Order/1002") { id name tags } }`, `{}`},
	} {
		f.Add(s.q, s.vars)
	}
	srv := NewServer(WithAdminBucket(2000, 100))
	defer srv.Close()
	f.Fuzz(func(t *testing.T, query, varsJSON string) {
		var vars map[string]any
		_ = json.Unmarshal([]byte(varsJSON), &vars)
		resp, _ := srv.executeAdmin("fuzz.myshopify.com", adminRequest{Query: query, Variables: vars})
		status, body := marshalAdmin(resp)
		if status != 200 {
			t.Fatalf("status %d for %q", status, query)
		}
		var back map[string]any
		if err := json.Unmarshal(body, &back); err != nil {
			t.Fatalf("answer is not JSON: %v\n%s", err, body)
		}
		if resp.Data == nil && len(resp.Errors) == 0 {
			t.Fatalf("neither data nor errors for %q: %s", query, body)
		}
		if resp.Data != nil {
			c := resp.Extensions.Cost
			if c == nil || c.ActualQueryCost == nil {
				t.Fatalf("data without a cost: %s", body)
			}
			if a := *c.ActualQueryCost; a < 0 || a > c.RequestedQueryCost || c.RequestedQueryCost > MaxQueryCost {
				t.Fatalf("cost requested %d actual %d", c.RequestedQueryCost, a)
			}
		}
		srv.admin.mu.Lock()
		st := srv.admin.shops["fuzz.myshopify.com"]
		if st != nil {
			if st.available < 0 || st.available > st.maximum {
				srv.admin.mu.Unlock()
				t.Fatalf("bucket at %v of %v", st.available, st.maximum)
			}
			st.available, st.at = st.maximum, time.Now() // keep the fuzzer out of THROTTLED
		}
		srv.admin.mu.Unlock()
	})
}

package admin

import (
	"testing"

	"github.com/possession-dev/possession/internal/graphql"
)

func info(t testing.TB, query string) operationInfo {
	t.Helper()
	doc, err := graphql.Parse(query)
	if err != nil {
		return operationInfo{}
	}
	op, err := doc.Operation("")
	if err != nil {
		return operationInfo{}
	}
	return operationInfo{opType: op.Type, name: op.Name, op: op, doc: doc}
}

func TestStaticCost(t *testing.T) {
	tests := []struct {
		name, query, vars string
		want              int
	}{
		{"one object", `{ shop { name currencyCode } }`, ``, 1},
		{"scalars only", `{ __typename }`, ``, 1},
		{"connection with nodes", `{ products(first: 48) { nodes { id title } } }`, ``, 50},
		{"connection with edges and pageInfo", `{ products(first: 10) { edges { cursor node { id } } pageInfo { hasNextPage } } }`, ``, 12},
		{"page size from a variable", `query($n: Int!) { products(first: $n) { nodes { id } } }`, `{"n": 20}`, 22},
		{"page size from a default", `query($n: Int = 5) { products(last: $n) { nodes { id } } }`, ``, 7},
		{"unknown page size: the largest", `query($n: Int) { products(first: $n) { nodes { id } } }`, ``, 252},
		{"nested connections multiply", `{ products(first: 10) { edges { node { title variants(first: 5) { edges { node { price } } } } } } }`, ``, 2 + 10*(1+2+5)},
		{"object inside a node", `{ orders(first: 10) { nodes { customer { id } } } }`, ``, 2 + 10*2},
		{"nodes by ids", `{ nodes(ids: ["a", "b", "c"]) { id } }`, ``, 3},
		{"fragment", `query { shop { ...S } } fragment S on Shop { primaryDomain { host } }`, ``, 2},
		{"mutation", `mutation { tagsAdd(id: "x", tags: ["a"]) { node { id } userErrors { field } } }`, ``, 10},
		{"two mutations", `mutation { a: tagsAdd(id: "x", tags: "a") { userErrors { field } } b: tagsRemove(id: "x", tags: "a") { userErrors { field } } }`, ``, 20},
		{"capped at the query maximum", `{ a: products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }`, ``, 1000},
		{"unreadable", `{ shop {`, ``, unknownCost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := staticCost(info(t, tt.query), []byte(tt.vars)); got != tt.want {
				t.Fatalf("staticCost = %d, want %d", got, tt.want)
			}
		})
	}
}

// FuzzStaticCost: any document and variables get an estimate between 1
// and the query maximum, never a panic.
func FuzzStaticCost(f *testing.F) {
	f.Add(`{ products(first: 48) { nodes { id } } }`, `{}`)
	f.Add(`query($n: Int!, $ids: [ID!]!) { nodes(ids: $ids) { id } products(last: $n) { edges { node { ...F } } } } fragment F on Product { id ...F }`, `{"n": 3, "ids": ["a"]}`)
	f.Add(`mutation { a { b } ... on Mutation { c { d } } }`, `null`)
	f.Fuzz(func(t *testing.T, query, vars string) {
		got := staticCost(info(t, query), []byte(vars))
		if got < 1 || got > maxQueryCost {
			t.Fatalf("staticCost(%q, %q) = %d", query, vars, got)
		}
	})
}

package graphql

import (
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, fails only with a *SyntaxError wrapping
// ErrSyntax, and what it parses prints to a document that parses back to
// the same canonical form.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{ shop { name currencyCode } }`,
		`query Products($first: Int!) { products(first: $first) { edges { cursor node { id title bodyHtml } } pageInfo { hasNextPage } } }`,
		`mutation TagOrder($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } } }`,
		`query Q { node(id: "gid://shopify/Product/1") { ...F ... on Product { title } } } fragment F on Product { handle }`,
		"{ a(s: \"\"\"\n  block \\\"\"\" \n\"\"\", n: -1.5e-3, e: ENUM, o: {x: [1, 2]}) @skip(if: false) }",
		"\uFEFF# comment\r\n{ a }",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		doc, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v (%T) is not a *SyntaxError wrapping ErrSyntax", err, err)
			}
			if se.Line < 1 || se.Column < 1 {
				t.Fatalf("position %d:%d", se.Line, se.Column)
			}
			return
		}
		printed := doc.String()
		again, err := Parse(printed)
		if err != nil {
			t.Fatalf("printed form of %q does not parse: %v\n%s", src, err, printed)
		}
		if got := again.String(); got != printed {
			t.Fatalf("round trip changed the document:\n%s\n%s", printed, got)
		}
	})
}

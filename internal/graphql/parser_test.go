package graphql

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // canonical String()
	}{
		{"bare selection set", `{ shop { name } }`, `query { shop { name } }`},
		{"named query with variables and default",
			`query Products($first: Int = 10, $q: String) { products(first: $first, query: $q) { edges { node { id } } } }`,
			`query Products($first: Int = 10, $q: String) { products(first: $first, query: $q) { edges { node { id } } } }`},
		{"mutation with list argument",
			`mutation Tag($id: ID!) { tagsAdd(id: $id, tags: ["a", "b"]) { node { id } userErrors { field message } } }`,
			`mutation Tag($id: ID!) { tagsAdd(id: $id, tags: ["a", "b"]) { node { id } userErrors { field message } } }`},
		{"alias, directive, enum, object",
			`query { p: products(first: 2, sortKey: TITLE, filter: {a: 1, b: [true, null]}) @include(if: true) { nodes { id } } }`,
			`query { p: products(first: 2, sortKey: TITLE, filter: {a: 1, b: [true, null]}) @include(if: true) { nodes { id } } }`},
		{"fragments", `query Q { node(id: "gid://shopify/Product/1") { ...F ... on Product { title } ... @skip(if: false) { id } } } fragment F on Product { handle }`,
			`query Q { node(id: "gid://shopify/Product/1") { ...F ... on Product { title } ... @skip(if: false) { id } } } fragment F on Product { handle }`},
		{"comments, commas and CRLF", "# hi\r\nquery,A{\r\n shop{name,,currencyCode} # trailing\n}",
			`query A { shop { name currencyCode } }`},
		{"string escapes", `{ a(s: "q\"\\\/\n\u00e9\t") }`, `query { a(s: "q\"\\/\né\t") }`},
		{"block string", "{ a(s: \"\"\"\n    hello\n      world\n  \"\"\") }", `query { a(s: "hello\n  world") }`},
		{"numbers", `{ a(i: -0, f: 1.5e3, g: 2E-2) }`, `query { a(i: -0, f: 1.5e3, g: 2E-2) }`},
		{"list types", `query($a: [[ID!]]!) { a }`, `query($a: [[ID!]]!) { a }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := doc.String(); got != tt.want {
				t.Fatalf("String() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
		contains  string
	}{
		{"empty", ``, 1, 1, "no operation"},
		{"only a fragment", `fragment F on X { a }`, 1, 1, "no operation"},
		{"unterminated selection", "{ shop { name }", 1, 16, "end of document"},
		{"empty selection", `{ }`, 1, 3, "cannot be empty"},
		{"bad character", "{ a\n  ? }", 2, 3, "unexpected character"},
		{"unterminated string", `{ a(s: "x) }`, 1, 8, "unterminated"},
		{"string with newline", "{ a(s: \"x\ny\") }", 1, 8, "unterminated"},
		{"bad escape", `{ a(s: "\q") }`, 1, 9, "invalid escape"},
		{"leading zero", `{ a(i: 01) }`, 1, 8, "leading zero"},
		{"number then name", `{ a(i: 1x) }`, 1, 8, "invalid number"},
		{"variable in default", `query($a: Int = $b) { a }`, 1, 17, "not allowed"},
		{"empty arguments", `{ a() }`, 1, 5, "expected an argument"},
		{"missing colon", `{ a(b 1) }`, 1, 7, `expected ":"`},
		{"keyword not an operation", `subscriptions { a }`, 1, 1, "unexpected name"},
		{"lone dot", `{ ..a }`, 1, 3, "unexpected character"},
		{"fragment named on", `{ a } fragment on on X { a }`, 1, 16, `cannot be named "on"`},
		{"too deep", strings.Repeat("{ a ", MaxDepth+1) + strings.Repeat("}", MaxDepth+1), 1, 1 + 4*MaxDepth, "too deeply"},
		{"list too deep", "{ a(b: " + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + ") }", 1, 7 + MaxDepth, "too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse(tt.src)
			if err == nil {
				t.Fatalf("Parse succeeded: %s", doc)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			if se.Line != tt.line || se.Column != tt.col || !strings.Contains(se.Message, tt.contains) {
				t.Fatalf("got %d:%d %q, want %d:%d containing %q", se.Line, se.Column, se.Message, tt.line, tt.col, tt.contains)
			}
		})
	}
}

func TestDocumentOperation(t *testing.T) {
	doc, err := Parse(`query A { a } mutation B { b }`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := doc.Operation(""); err == nil {
		t.Fatal("no error choosing among two operations without a name")
	}
	op, err := doc.Operation("B")
	if err != nil || op.Type != "mutation" {
		t.Fatalf("Operation(B) = %v, %v", op, err)
	}
	if _, err := doc.Operation("C"); err == nil {
		t.Fatal("no error for a missing operation")
	}
	one, _ := Parse(`{ a }`)
	if op, err := one.Operation(""); err != nil || op.Type != "query" {
		t.Fatalf("Operation(\"\") on one = %v, %v", op, err)
	}
}

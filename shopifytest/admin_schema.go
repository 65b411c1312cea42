package shopifytest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/possession-dev/possession/internal/graphql"
)

// The slice of the Admin GraphQL schema the fake serves. Costs follow
// Shopify's documented model: scalars and enums 0, objects 1, connections
// 2 plus the size asked for (first/last) times the cost of one node,
// mutations 10; the requested cost is computed before execution from the
// query, the actual cost after it from what was returned.

type fieldKind uint8

const (
	scalarField fieldKind = iota
	objectField
	connectionField // a Relay connection of objects of typ
	mutationField   // a root mutation field returning an object of typ
)

type argDef struct {
	name     string
	typ      string // "Int", "String", "ID", "Boolean", "[String!]"
	required bool
}

type fieldDef struct {
	kind fieldKind
	typ  string // object type of object, connection and mutation fields
	args []argDef
	// deprecated is the deprecation reason; selecting the field makes the
	// response carry X-Shopify-API-Deprecated-Reason.
	deprecated string
	// resolve returns the field's value: a scalar (string, bool, int,
	// []string, nil), an object (*product, *order, *shopInfo, ...) or, for
	// connections, every node in order ([]any); pagination is generic.
	resolve func(x *execution, parent any, args map[string]any) (any, *gqlError)
}

type objectType struct {
	name       string
	interfaces []string
	fields     map[string]fieldDef
}

func (t *objectType) implements(name string) bool {
	if name == "" || name == t.name {
		return true
	}
	for _, i := range t.interfaces {
		if i == name {
			return true
		}
	}
	return false
}

// typeOf returns the object type of a resolved value, for inline fragments
// on interfaces (Node).
func typeOf(v any) *objectType {
	switch v.(type) {
	case *product:
		return schema["Product"]
	case *order:
		return schema["Order"]
	case *shopInfo:
		return schema["Shop"]
	}
	return nil
}

// pageInfoFields and the connection wrapper types (edges, nodes, pageInfo)
// are handled by the executor itself.
var schema map[string]*objectType

func init() { schema = buildSchema() }

const bodyHTMLDeprecation = "Use `descriptionHtml` instead."

func buildSchema() map[string]*objectType {
	str := func(get func(any) any) fieldDef {
		return fieldDef{kind: scalarField, resolve: func(_ *execution, p any, _ map[string]any) (any, *gqlError) { return get(p), nil }}
	}
	idArg := []argDef{{name: "id", typ: "ID", required: true}}
	connArgs := []argDef{{name: "first", typ: "Int"}, {name: "last", typ: "Int"}, {name: "after", typ: "String"}, {name: "before", typ: "String"}, {name: "reverse", typ: "Boolean"}, {name: "query", typ: "String"}}
	m := map[string]*objectType{
		"QueryRoot": {name: "QueryRoot", fields: map[string]fieldDef{
			"shop": {kind: objectField, typ: "Shop", resolve: func(x *execution, _ any, _ map[string]any) (any, *gqlError) {
				return x.shop, nil
			}},
			"products": {kind: connectionField, typ: "Product", args: connArgs, resolve: func(x *execution, _ any, args map[string]any) (any, *gqlError) {
				q, _ := args["query"].(string)
				var out []any
				for _, p := range x.data.products {
					if q == "" || strings.Contains(strings.ToLower(p.title), strings.ToLower(strings.TrimPrefix(q, "title:"))) {
						out = append(out, p)
					}
				}
				return out, nil
			}},
			"product": {kind: objectField, typ: "Product", args: idArg, resolve: func(x *execution, _ any, args map[string]any) (any, *gqlError) {
				id, _ := args["id"].(string)
				for _, p := range x.data.products {
					if p.id == id {
						return p, nil
					}
				}
				return nil, nil
			}},
			"order": {kind: objectField, typ: "Order", args: idArg, resolve: func(x *execution, _ any, args map[string]any) (any, *gqlError) {
				id, _ := args["id"].(string)
				if o := x.data.orders[id]; o != nil {
					return o, nil
				}
				return nil, nil
			}},
		}},
		"Mutation": {name: "Mutation", fields: map[string]fieldDef{
			"tagsAdd": {kind: mutationField, typ: "TagsAddPayload", args: []argDef{{name: "id", typ: "ID", required: true}, {name: "tags", typ: "[String!]", required: true}}, resolve: resolveTagsAdd},
		}},
		"Shop": {name: "Shop", interfaces: []string{"Node"}, fields: map[string]fieldDef{
			"id":              str(func(p any) any { return p.(*shopInfo).id }),
			"name":            str(func(p any) any { return p.(*shopInfo).name }),
			"currencyCode":    str(func(p any) any { return p.(*shopInfo).currency }),
			"myshopifyDomain": str(func(p any) any { return p.(*shopInfo).domain }),
			"email":           str(func(p any) any { return p.(*shopInfo).email }),
			"ianaTimezone":    str(func(p any) any { return "America/Toronto" }),
		}},
		"Product": {name: "Product", interfaces: []string{"Node"}, fields: map[string]fieldDef{
			"id":              str(func(p any) any { return p.(*product).id }),
			"title":           str(func(p any) any { return p.(*product).title }),
			"handle":          str(func(p any) any { return p.(*product).handle }),
			"status":          str(func(p any) any { return "ACTIVE" }),
			"vendor":          str(func(p any) any { return "possession" }),
			"descriptionHtml": str(func(p any) any { return p.(*product).html }),
			"bodyHtml": {kind: scalarField, deprecated: bodyHTMLDeprecation, resolve: func(_ *execution, p any, _ map[string]any) (any, *gqlError) {
				return p.(*product).html, nil
			}},
			"tags": str(func(p any) any { return []string{} }),
		}},
		"Order": {name: "Order", interfaces: []string{"Node"}, fields: map[string]fieldDef{
			"id":   str(func(p any) any { return p.(*order).id }),
			"name": str(func(p any) any { return p.(*order).name }),
			"tags": str(func(p any) any { return append([]string{}, p.(*order).tags...) }),
		}},
		"TagsAddPayload": {name: "TagsAddPayload", fields: map[string]fieldDef{
			"node": {kind: objectField, typ: "Node", resolve: func(_ *execution, p any, _ map[string]any) (any, *gqlError) {
				return p.(*tagsAddResult).node, nil
			}},
			"userErrors": {kind: objectField, typ: "UserError", resolve: func(_ *execution, p any, _ map[string]any) (any, *gqlError) {
				return p.(*tagsAddResult).userErrors, nil
			}},
		}},
		"UserError": {name: "UserError", fields: map[string]fieldDef{
			"field":   str(func(p any) any { return p.(userError).field }),
			"message": str(func(p any) any { return p.(userError).message }),
		}},
		// Node is an interface: only id, and inline fragments on its
		// implementations.
		"Node": {name: "Node", fields: map[string]fieldDef{
			"id": str(func(p any) any {
				switch v := p.(type) {
				case *order:
					return v.id
				case *product:
					return v.id
				}
				return nil
			}),
		}},
	}
	return m
}

// shopData is the canned content of one shop.
type shopData struct {
	products []*product
	orders   map[string]*order
}

type shopInfo struct{ id, name, currency, domain, email string }

type product struct{ id, title, handle, html string }

type order struct {
	id, name string
	tags     []string
}

type userError struct {
	field   []string
	message string
}

type tagsAddResult struct {
	node       any
	userErrors []userError
}

// CannedProducts is how many products every fake shop has:
// "gid://shopify/Product/1" ... "gid://shopify/Product/100", titled
// "Product 1" ..., in that order.
const CannedProducts = 100

// CannedOrders are the orders every fake shop starts with (add more with
// AddOrder).
var CannedOrders = []string{"gid://shopify/Order/1001", "gid://shopify/Order/1002", "gid://shopify/Order/1003"}

func newShopData() *shopData {
	d := &shopData{orders: map[string]*order{}}
	for i := 1; i <= CannedProducts; i++ {
		d.products = append(d.products, &product{
			id:     "gid://shopify/Product/" + strconv.Itoa(i),
			title:  "Product " + strconv.Itoa(i),
			handle: "product-" + strconv.Itoa(i),
			html:   "<p>Canned product " + strconv.Itoa(i) + ".</p>",
		})
	}
	for _, id := range CannedOrders {
		d.addOrder(id)
	}
	return d
}

func (d *shopData) addOrder(id string) *order {
	if o := d.orders[id]; o != nil {
		return o
	}
	n, _ := strings.CutPrefix(id, "gid://shopify/Order/")
	o := &order{id: id, name: "#" + n}
	d.orders[id] = o
	return o
}

func resolveTagsAdd(x *execution, _ any, args map[string]any) (any, *gqlError) {
	id, _ := args["id"].(string)
	var tags []string
	switch v := args["tags"].(type) {
	case []string:
		tags = v
	case string: // Shopify also takes one comma-separated string
		for t := range strings.SplitSeq(v, ",") {
			tags = append(tags, t)
		}
	}
	res := &tagsAddResult{userErrors: []userError{}}
	o := x.data.orders[id]
	if o == nil {
		res.userErrors = append(res.userErrors, userError{field: []string{"id"}, message: "Resource not found"})
		return res, nil
	}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		dup := false
		for _, have := range o.tags {
			if strings.EqualFold(have, t) {
				dup = true
				break
			}
		}
		if !dup {
			o.tags = append(o.tags, t)
		}
	}
	sort.Strings(o.tags)
	x.tagged = append(x.tagged, TagsAdded{OrderID: id, Tags: append([]string{}, tags...)})
	res.node = o
	return res, nil
}

// gqlError is one entry of a response's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Locations  []gqlLocation  `json:"locations,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

type gqlLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func errAt(s *graphql.Selection, path []any, code, format string, args ...any) *gqlError {
	e := &gqlError{Message: fmt.Sprintf(format, args...), Path: append([]any{}, path...)}
	if s != nil {
		e.Locations = []gqlLocation{{s.Line, s.Col}}
	}
	if code != "" {
		e.Extensions = map[string]any{"code": code}
	}
	return e
}

// execution is one operation being planned and run against a shop.
type execution struct {
	doc   *graphql.Document
	op    *graphql.Operation
	vars  map[string]any
	shop  *shopInfo
	data  *shopData
	errs  []*gqlError
	depr  string // deprecation reason of a selected deprecated field
	spent int    // fragment spreads expanded, bounded
	// fragStack holds the fragments being planned, to find cycles.
	fragStack []string
	tooDeep   bool
	// tagged collects what tagsAdd did, for Server.TagsAdded.
	tagged []TagsAdded
}

// maxSpreads bounds fragment expansion (a cycle or an exponential fan-out).
const maxSpreads = 1000

// maxPageSize is the largest first/last a connection accepts.
const maxPageSize = 250

func (x *execution) rootType() *objectType {
	if x.op.Type == "mutation" {
		return schema["Mutation"]
	}
	return schema["QueryRoot"]
}

func (x *execution) pathRoot() []any {
	if x.op.Name != "" {
		return []any{x.op.Type + " " + x.op.Name}
	}
	return []any{x.op.Type}
}

// plan validates the operation and returns its requested cost. Errors are
// collected in x.errs.
func (x *execution) plan() int {
	if x.op.Type == "subscription" {
		x.errs = append(x.errs, &gqlError{Message: "Subscriptions are not supported", Locations: []gqlLocation{{x.op.Line, x.op.Col}}, Extensions: map[string]any{"code": "missingSubscriptionConfiguration"}})
		return 0
	}
	declared := map[string]bool{}
	for _, v := range x.op.Variables {
		declared[v.Name] = true
		if _, ok := x.vars[v.Name]; !ok && v.Default == nil && strings.HasSuffix(v.Type, "!") {
			x.errs = append(x.errs, &gqlError{
				Message:    fmt.Sprintf("Variable $%s of type %s was provided invalid value", v.Name, v.Type),
				Locations:  []gqlLocation{{x.op.Line, x.op.Col}},
				Extensions: map[string]any{"code": "INVALID_VARIABLE", "value": nil, "problems": []any{map[string]any{"path": []any{}, "explanation": "Expected value to not be null"}}},
			})
		}
	}
	x.checkVariables(x.op.Selections, declared, 0)
	cost := x.planSelections(x.rootType(), x.op.Selections, x.pathRoot(), 0)
	return cost
}

func (x *execution) checkVariables(sels []graphql.Selection, declared map[string]bool, depth int) {
	if depth > graphql.MaxDepth {
		return
	}
	var visit func(v graphql.Value, s *graphql.Selection)
	visit = func(v graphql.Value, s *graphql.Selection) {
		switch v.Kind {
		case graphql.VariableValue:
			if !declared[v.Raw] {
				x.errs = append(x.errs, errAt(s, nil, "variableNotDefined", "Variable $%s is used by %s but not declared", v.Raw, strings.TrimSpace(x.op.Type+" "+x.op.Name)))
				declared[v.Raw] = true // report once
			}
		case graphql.ListValue:
			for _, item := range v.List {
				visit(item, s)
			}
		case graphql.ObjectValue:
			for _, f := range v.Fields {
				visit(f.Value, s)
			}
		}
	}
	for i := range sels {
		s := &sels[i]
		for _, a := range s.Arguments {
			visit(a.Value, s)
		}
		for _, d := range s.Directives {
			for _, a := range d.Arguments {
				visit(a.Value, s)
			}
		}
		x.checkVariables(s.Selections, declared, depth+1)
	}
}

// expand resolves fragment spreads and inline fragments of sels that
// apply to t into a flat list of fields, and applies @skip/@include.
func (x *execution) expand(t *objectType, sels []graphql.Selection, path []any, depth int, out []*graphql.Selection) []*graphql.Selection {
	if depth > graphql.MaxDepth {
		return out
	}
	for i := range sels {
		s := &sels[i]
		if !x.included(s) {
			continue
		}
		switch s.Kind {
		case graphql.FieldSelection:
			out = append(out, s)
		case graphql.InlineFragmentSelection:
			if t.implements(s.TypeCondition) {
				out = x.expand(t, s.Selections, path, depth+1, out)
			}
		case graphql.SpreadSelection:
			x.spent++
			if x.spent > maxSpreads {
				x.errs = append(x.errs, errAt(s, path, "fragmentSpreadLimit", "Too many fragment spreads"))
				return out
			}
			f := x.doc.Fragment(s.Name)
			if f == nil {
				x.errs = append(x.errs, errAt(s, path, "undefinedFragment", "Fragment %s was used, but not defined", s.Name))
				continue
			}
			if t.implements(f.TypeCondition) {
				out = x.expand(t, f.Selections, path, depth+1, out)
			}
		}
	}
	return out
}

func (x *execution) included(s *graphql.Selection) bool {
	for _, d := range s.Directives {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		var cond bool
		for _, a := range d.Arguments {
			if a.Name == "if" {
				v, _ := x.literal(a.Value, 0)
				cond, _ = v.(bool)
			}
		}
		if (d.Name == "skip" && cond) || (d.Name == "include" && !cond) {
			return false
		}
	}
	return true
}

// planSelections validates sels against t and returns their requested
// cost. Fragments on an implementation of the interface t are planned
// against that type.
func (x *execution) planSelections(t *objectType, sels []graphql.Selection, path []any, depth int) int {
	if depth > graphql.MaxDepth {
		if !x.tooDeep {
			x.tooDeep = true
			x.errs = append(x.errs, &gqlError{Message: fmt.Sprintf("Query has a depth greater than %d", graphql.MaxDepth), Extensions: map[string]any{"code": "MAX_DEPTH_EXCEEDED"}})
		}
		return 0
	}
	cost := 0
	for i := range sels {
		s := &sels[i]
		if !x.included(s) {
			continue
		}
		var cond string
		var inner []graphql.Selection
		pushed := false
		switch s.Kind {
		case graphql.FieldSelection:
			cost += x.planField(t, s, path, depth)
			continue
		case graphql.InlineFragmentSelection:
			cond, inner = s.TypeCondition, s.Selections
		case graphql.SpreadSelection:
			x.spent++
			if x.spent > maxSpreads {
				x.errs = append(x.errs, errAt(s, path, "fragmentSpreadLimit", "Too many fragment spreads"))
				return cost
			}
			f := x.doc.Fragment(s.Name)
			if f == nil {
				x.errs = append(x.errs, errAt(s, path, "undefinedFragment", "Fragment %s was used, but not defined", s.Name))
				continue
			}
			if slices.Contains(x.fragStack, s.Name) {
				x.errs = append(x.errs, errAt(s, path, "infiniteLoop", "Fragment %s contains an infinite loop", s.Name))
				continue
			}
			x.fragStack = append(x.fragStack, s.Name)
			pushed = true
			cond, inner = f.TypeCondition, f.Selections
		}
		switch impl := schema[cond]; {
		case t.implements(cond):
			cost += x.planSelections(t, inner, path, depth+1)
		case impl != nil && impl.implements(t.name):
			cost += x.planSelections(impl, inner, path, depth+1)
		default:
			x.errs = append(x.errs, errAt(s, path, "fragmentSpreadImpossible", "Fragment on %s can't be spread inside %s", cond, t.name))
		}
		if pushed {
			x.fragStack = x.fragStack[:len(x.fragStack)-1]
		}
	}
	return cost
}

// planField validates one field of t and returns its requested cost.
func (x *execution) planField(t *objectType, s *graphql.Selection, path []any, depth int) int {
	if s.Name == "__typename" {
		return 0
	}
	p := append(append([]any{}, path...), s.ResponseKey())
	def, ok := t.fields[s.Name]
	if !ok {
		x.errs = append(x.errs, &gqlError{
			Message: fmt.Sprintf("Field '%s' doesn't exist on type '%s'", s.Name, t.name), Locations: []gqlLocation{{s.Line, s.Col}}, Path: p,
			Extensions: map[string]any{"code": "undefinedField", "typeName": t.name, "fieldName": s.Name},
		})
		return 0
	}
	if def.deprecated != "" {
		x.depr = def.deprecated
	}
	args, ok := x.arguments(s, def, p)
	if !ok {
		return 0
	}
	switch def.kind {
	case scalarField:
		if len(s.Selections) > 0 {
			x.errs = append(x.errs, errAt(s, p, "selectionMismatch", "Selections can't be made on scalars (field '%s' returns a scalar but has selections [%s])", s.Name, selectionNames(s.Selections)))
		}
		return 0
	case objectField, mutationField:
		if len(s.Selections) == 0 {
			x.errs = append(x.errs, errAt(s, p, "selectionMismatch", "Field must have selections (field '%s' returns %s but has no selections. Did you mean '%s { ... }'?)", s.Name, def.typ, s.Name))
			return 0
		}
		inner := x.planSelections(schema[def.typ], s.Selections, p, depth+1)
		if def.kind == mutationField {
			return 10
		}
		return 1 + inner
	case connectionField:
		n, ok := x.pageSize(s, args, p)
		if !ok {
			return 0
		}
		return 2 + n*x.planConnection(schema[def.typ], s, p, depth+1)
	}
	return 0
}

// planConnection validates a connection's selections and returns the
// cost of one node.
func (x *execution) planConnection(node *objectType, s *graphql.Selection, path []any, depth int) int {
	if len(s.Selections) == 0 {
		x.errs = append(x.errs, errAt(s, path, "selectionMismatch", "Field must have selections (field '%s' returns %sConnection! but has no selections. Did you mean '%s { ... }'?)", s.Name, node.name, s.Name))
		return 0
	}
	conn := &objectType{name: node.name + "Connection"}
	nodeCost := 0
	for _, c := range x.expand(conn, s.Selections, path, depth, nil) {
		p := append(append([]any{}, path...), c.ResponseKey())
		switch c.Name {
		case "__typename":
		case "nodes":
			nodeCost = max(nodeCost, x.planSelectionsRequired(node, c, p, depth+1))
		case "edges":
			edge := &objectType{name: node.name + "Edge"}
			for _, e := range x.expand(edge, c.Selections, p, depth+1, nil) {
				ep := append(append([]any{}, p...), e.ResponseKey())
				switch e.Name {
				case "cursor", "__typename":
				case "node":
					nodeCost = max(nodeCost, x.planSelectionsRequired(node, e, ep, depth+2))
				default:
					x.errs = append(x.errs, &gqlError{Message: fmt.Sprintf("Field '%s' doesn't exist on type '%s'", e.Name, edge.name), Locations: []gqlLocation{{e.Line, e.Col}}, Path: ep, Extensions: map[string]any{"code": "undefinedField", "typeName": edge.name, "fieldName": e.Name}})
				}
			}
		case "pageInfo":
			for _, pi := range x.expand(&objectType{name: "PageInfo"}, c.Selections, p, depth+1, nil) {
				switch pi.Name {
				case "hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename":
				default:
					x.errs = append(x.errs, &gqlError{Message: fmt.Sprintf("Field '%s' doesn't exist on type 'PageInfo'", pi.Name), Locations: []gqlLocation{{pi.Line, pi.Col}}, Path: append(append([]any{}, p...), pi.ResponseKey()), Extensions: map[string]any{"code": "undefinedField", "typeName": "PageInfo", "fieldName": pi.Name}})
				}
			}
		default:
			x.errs = append(x.errs, &gqlError{Message: fmt.Sprintf("Field '%s' doesn't exist on type '%s'", c.Name, conn.name), Locations: []gqlLocation{{c.Line, c.Col}}, Path: p, Extensions: map[string]any{"code": "undefinedField", "typeName": conn.name, "fieldName": c.Name}})
		}
	}
	return 1 + nodeCost
}

func (x *execution) planSelectionsRequired(t *objectType, s *graphql.Selection, path []any, depth int) int {
	if len(s.Selections) == 0 {
		x.errs = append(x.errs, errAt(s, path, "selectionMismatch", "Field must have selections (field '%s' returns %s but has no selections. Did you mean '%s { ... }'?)", s.Name, t.name, s.Name))
		return 0
	}
	return x.planSelections(t, s.Selections, path, depth)
}

func selectionNames(sels []graphql.Selection) string {
	var names []string
	for _, s := range sels {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// pageSize checks a connection's first/last and returns it.
func (x *execution) pageSize(s *graphql.Selection, args map[string]any, path []any) (int, bool) {
	first, hasFirst := args["first"].(int)
	last, hasLast := args["last"].(int)
	switch {
	case !hasFirst && !hasLast:
		x.errs = append(x.errs, errAt(s, path, "", "you must provide one of first or last"))
		return 0, false
	case hasFirst && hasLast:
		x.errs = append(x.errs, errAt(s, path, "", "providing both first and last is not supported"))
		return 0, false
	}
	n := first
	if hasLast {
		n = last
	}
	if n < 0 || n > maxPageSize {
		x.errs = append(x.errs, errAt(s, path, "", "The page size must be between 0 and %d (got %d)", maxPageSize, n))
		return 0, false
	}
	return n, true
}

// arguments checks and coerces a field's arguments.
func (x *execution) arguments(s *graphql.Selection, def fieldDef, path []any) (map[string]any, bool) {
	out := map[string]any{}
	ok := true
	for _, a := range s.Arguments {
		var ad *argDef
		for i := range def.args {
			if def.args[i].name == a.Name {
				ad = &def.args[i]
			}
		}
		if ad == nil {
			x.errs = append(x.errs, &gqlError{Message: fmt.Sprintf("Field '%s' doesn't accept argument '%s'", s.Name, a.Name), Locations: []gqlLocation{{s.Line, s.Col}}, Path: append(append([]any{}, path...), a.Name),
				Extensions: map[string]any{"code": "argumentNotAccepted", "name": s.Name, "typeName": "Field", "argumentName": a.Name}})
			ok = false
			continue
		}
		v, present := x.literal(a.Value, 0)
		if !present {
			continue // an unset variable without default: as if absent
		}
		cv, good := coerce(ad.typ, v)
		if !good {
			x.errs = append(x.errs, &gqlError{Message: fmt.Sprintf("Argument '%s' on Field '%s' has an invalid value (%s). Expected type '%s'.", a.Name, s.Name, describeValue(v), ad.typ), Locations: []gqlLocation{{s.Line, s.Col}}, Path: append(append([]any{}, path...), a.Name),
				Extensions: map[string]any{"code": "argumentLiteralsIncompatible", "typeName": "Field", "argumentName": a.Name}})
			ok = false
			continue
		}
		if cv != nil {
			out[a.Name] = cv
		}
	}
	for _, ad := range def.args {
		if _, have := out[ad.name]; ad.required && !have && ok {
			x.errs = append(x.errs, &gqlError{Message: fmt.Sprintf("Field '%s' is missing required arguments: %s", s.Name, ad.name), Locations: []gqlLocation{{s.Line, s.Col}}, Path: path,
				Extensions: map[string]any{"code": "missingRequiredArguments", "className": "Field", "name": s.Name, "arguments": ad.name}})
			ok = false
		}
	}
	return out, ok
}

func describeValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) > 80 {
		return fmt.Sprintf("%T", v)
	}
	return string(b)
}

// literal turns a syntax value into a Go value (JSON-decoded shapes),
// looking variables up. present is false for a variable that has neither
// a value nor a default.
func (x *execution) literal(v graphql.Value, depth int) (val any, present bool) {
	if depth > graphql.MaxDepth {
		return nil, true
	}
	switch v.Kind {
	case graphql.VariableValue:
		if got, ok := x.vars[v.Raw]; ok {
			return got, true
		}
		for _, d := range x.op.Variables {
			if d.Name == v.Raw && d.Default != nil {
				return x.literal(*d.Default, depth+1)
			}
		}
		return nil, false
	case graphql.IntValue:
		n, err := strconv.ParseInt(v.Raw, 10, 64)
		if err != nil {
			return math.Inf(1), true
		}
		return float64(n), true
	case graphql.FloatValue:
		f, _ := strconv.ParseFloat(v.Raw, 64)
		return f, true
	case graphql.StringValue, graphql.EnumValue:
		return v.Raw, true
	case graphql.BooleanValue:
		return v.Raw == "true", true
	case graphql.NullValue:
		return nil, true
	case graphql.ListValue:
		out := []any{}
		for _, item := range v.List {
			iv, _ := x.literal(item, depth+1)
			out = append(out, iv)
		}
		return out, true
	case graphql.ObjectValue:
		out := map[string]any{}
		for _, f := range v.Fields {
			fv, _ := x.literal(f.Value, depth+1)
			out[f.Name] = fv
		}
		return out, true
	}
	return nil, true
}

// coerce converts a JSON-shaped value to an argument type; ok is false if
// it does not fit.
func coerce(typ string, v any) (any, bool) {
	if v == nil {
		return nil, true
	}
	switch typ {
	case "Int":
		f, isNum := v.(float64)
		if !isNum || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
			return nil, false
		}
		return int(f), true
	case "String", "ID":
		s, isStr := v.(string)
		return s, isStr
	case "Boolean":
		b, isBool := v.(bool)
		return b, isBool
	case "[String!]":
		switch l := v.(type) {
		case string:
			return l, true
		case []any:
			out := make([]string, 0, len(l))
			for _, item := range l {
				s, isStr := item.(string)
				if !isStr {
					return nil, false
				}
				out = append(out, s)
			}
			return out, true
		}
		return nil, false
	}
	return nil, false
}

// run executes a planned, valid operation and returns its data and actual
// cost.
func (x *execution) run() (orderedObject, int) {
	x.spent = 0
	return x.runSelections(x.rootType(), nil, x.op.Selections, x.pathRoot()[:0], 0)
}

func (x *execution) runSelections(t *objectType, parent any, sels []graphql.Selection, path []any, depth int) (orderedObject, int) {
	obj := orderedObject{}
	cost := 0
	for _, s := range x.expand(t, sels, path, depth, nil) {
		key := s.ResponseKey()
		if obj.has(key) {
			continue // merged field: the first selection wins
		}
		if s.Name == "__typename" {
			if vt := typeOf(parent); vt != nil {
				obj = append(obj, kv{key, vt.name})
			} else {
				obj = append(obj, kv{key, t.name})
			}
			continue
		}
		def := t.fields[s.Name]
		args, _ := x.arguments(s, def, path)
		val, gerr := def.resolve(x, parent, args)
		if gerr != nil {
			gerr.Path = append(append([]any{}, path...), key)
			x.errs = append(x.errs, gerr)
			obj = append(obj, kv{key, nil})
			continue
		}
		switch def.kind {
		case scalarField:
			obj = append(obj, kv{key, val})
		case objectField, mutationField:
			sub, c := x.runObject(schema[def.typ], val, s, append(append([]any{}, path...), key), depth)
			obj = append(obj, kv{key, sub})
			if def.kind == mutationField {
				cost += 10
			} else {
				cost += 1 + c
			}
		case connectionField:
			nodes, _ := val.([]any)
			conn, c := x.runConnection(schema[def.typ], nodes, s, args, append(append([]any{}, path...), key), depth+1)
			obj = append(obj, kv{key, conn})
			cost += c
		}
	}
	return obj, cost
}

// runObject resolves an object-valued field: nil, one object, or a list
// of them (userErrors).
func (x *execution) runObject(t *objectType, val any, s *graphql.Selection, path []any, depth int) (any, int) {
	switch v := val.(type) {
	case nil:
		return nil, 0
	case []userError:
		out := []any{}
		for _, ue := range v {
			o, _ := x.runSelections(t, ue, s.Selections, path, depth+1)
			out = append(out, o)
		}
		return out, 0
	}
	if t.name == "Node" {
		if vt := typeOf(val); vt != nil {
			merged := &objectType{name: vt.name, interfaces: vt.interfaces, fields: vt.fields}
			o, c := x.runSelections(merged, val, s.Selections, path, depth+1)
			return o, c
		}
	}
	o, c := x.runSelections(t, val, s.Selections, path, depth+1)
	return o, c
}

// cursorOf is a node's opaque cursor: base64 of {"last_id":N}, shaped
// like Shopify's.
func cursorOf(index int) string {
	return base64.StdEncoding.EncodeToString([]byte(`{"last_id":` + strconv.Itoa(index+1) + `}`))
}

func indexOfCursor(c string) (int, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	var v struct {
		LastID *int `json:"last_id"`
	}
	if json.Unmarshal(b, &v) != nil || v.LastID == nil {
		return 0, false
	}
	return *v.LastID - 1, true
}

func (x *execution) runConnection(node *objectType, all []any, s *graphql.Selection, args map[string]any, path []any, depth int) (orderedObject, int) {
	idx := make([]int, len(all))
	for i := range idx {
		idx[i] = i
	}
	if rev, _ := args["reverse"].(bool); rev {
		for i, j := 0, len(idx)-1; i < j; i, j = i+1, j-1 {
			idx[i], idx[j] = idx[j], idx[i]
		}
	}
	pos := func(c string) int {
		ci, ok := indexOfCursor(c)
		if !ok {
			return -2
		}
		for p, i := range idx {
			if i == ci {
				return p
			}
		}
		return -2
	}
	lo, hi := 0, len(idx) // window [lo, hi)
	if a, ok := args["after"].(string); ok {
		if p := pos(a); p >= -1 {
			lo = p + 1
		} else {
			lo = hi
		}
	}
	if b, ok := args["before"].(string); ok {
		if p := pos(b); p >= 0 {
			hi = min(hi, p)
		}
	}
	lo = min(lo, hi)
	win := idx[lo:hi]
	hasNext, hasPrev := false, lo > 0
	if first, ok := args["first"].(int); ok && len(win) > first {
		win, hasNext = win[:first], true
	} else if last, ok := args["last"].(int); ok && len(win) > last {
		win, hasPrev = win[len(win)-last:], true
	} else {
		hasNext = hi < len(idx)
	}
	out := orderedObject{}
	nodeCost := 0
	conn := &objectType{name: node.name + "Connection"}
	for _, c := range x.expand(conn, s.Selections, path, depth, nil) {
		key := c.ResponseKey()
		if out.has(key) {
			continue
		}
		p := append(append([]any{}, path...), key)
		switch c.Name {
		case "__typename":
			out = append(out, kv{key, conn.name})
		case "nodes":
			list := []any{}
			for _, i := range win {
				o, oc := x.runSelections(node, all[i], c.Selections, p, depth+1)
				list = append(list, o)
				nodeCost = max(nodeCost, oc)
			}
			out = append(out, kv{key, list})
		case "edges":
			list := []any{}
			edge := &objectType{name: node.name + "Edge"}
			for _, i := range win {
				e := orderedObject{}
				for _, ef := range x.expand(edge, c.Selections, p, depth+1, nil) {
					ek := ef.ResponseKey()
					if e.has(ek) {
						continue
					}
					switch ef.Name {
					case "cursor":
						e = append(e, kv{ek, cursorOf(i)})
					case "__typename":
						e = append(e, kv{ek, edge.name})
					case "node":
						o, oc := x.runSelections(node, all[i], ef.Selections, append(append([]any{}, p...), ek), depth+2)
						e = append(e, kv{ek, o})
						nodeCost = max(nodeCost, oc)
					}
				}
				list = append(list, e)
			}
			out = append(out, kv{key, list})
		case "pageInfo":
			pi := orderedObject{}
			for _, f := range x.expand(&objectType{name: "PageInfo"}, c.Selections, p, depth+1, nil) {
				fk := f.ResponseKey()
				if pi.has(fk) {
					continue
				}
				var v any
				switch f.Name {
				case "hasNextPage":
					v = hasNext
				case "hasPreviousPage":
					v = hasPrev
				case "startCursor":
					if len(win) > 0 {
						v = cursorOf(win[0])
					}
				case "endCursor":
					if len(win) > 0 {
						v = cursorOf(win[len(win)-1])
					}
				case "__typename":
					v = "PageInfo"
				}
				pi = append(pi, kv{fk, v})
			}
			out = append(out, kv{key, pi})
		}
	}
	return out, 2 + len(win)*(1+nodeCost)
}

// orderedObject is a JSON object that keeps the order of the selections,
// as GraphQL responses do.
type orderedObject []kv

type kv struct {
	k string
	v any
}

func (o orderedObject) has(k string) bool {
	for _, e := range o {
		if e.k == k {
			return true
		}
	}
	return false
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(e.k)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

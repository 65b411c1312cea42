package admin

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/possession-dev/possession/internal/graphql"
)

// Estimating a call's requested cost before it is sent. Shopify computes
// the requested cost from the query and the schema before running it;
// without the schema the client applies Shopify's documented rules to
// the query's shape, which holds for the Admin API's fields: a field with
// a selection set is an object (1), one with first/last is a connection
// (2 + first/last × the cost of one node, the node itself 1), nodes(ids:)
// costs one per ID, scalars are free, and each root field of a mutation
// costs 10. Whatever Shopify answers as requestedQueryCost is remembered
// for the query text (and that estimate) and preferred next time; a
// Cost call option overrides both.

// maxQueryCost is the largest requested cost Shopify runs; an estimate is
// never above it (a query that is is refused whatever the budget).
const maxQueryCost = 1000

// unknownCost is the estimate for a document the client cannot read: the
// most a query can cost, so pacing never underestimates it.
const unknownCost = maxQueryCost

// operationInfo is what the client reads of a call's operation.
type operationInfo struct {
	opType string // "query", "mutation", "subscription"; "" if unreadable
	name   string
	op     *graphql.Operation
	doc    *graphql.Document
}

// readOperation parses query (cached) and picks the operation.
func (c *Client) readOperation(query, operationName string) operationInfo {
	doc, ok := c.parsed.Get(query)
	if !ok {
		d, err := graphql.Parse(query)
		if err != nil {
			d = nil
		}
		doc = d
		c.parsed.Add(query, doc)
	}
	if doc == nil {
		return operationInfo{}
	}
	op, err := doc.Operation(operationName)
	if err != nil {
		return operationInfo{}
	}
	return operationInfo{opType: op.Type, name: op.Name, op: op, doc: doc}
}

// estimator computes a static requested-cost estimate.
type estimator struct {
	doc     *graphql.Document
	op      *graphql.Operation
	varsRaw []byte
	vars    map[string]any
	decoded bool
	spreads int
}

// staticCost estimates info's requested cost with the variables in
// varsJSON (the request's encoded variables).
func staticCost(info operationInfo, varsJSON []byte) int {
	if info.op == nil {
		return unknownCost
	}
	e := &estimator{doc: info.doc, op: info.op, varsRaw: varsJSON}
	var cost float64
	if info.opType == "mutation" {
		cost = 10 * float64(e.rootFields(info.op.Selections, 0))
	} else {
		cost = e.selections(info.op.Selections, 0)
	}
	if cost < 1 {
		cost = 1 // even an all-scalar query costs Shopify at least one point
	}
	return int(math.Min(cost, maxQueryCost))
}

// rootFields counts the fields of a mutation's root selection set.
func (e *estimator) rootFields(sels []graphql.Selection, depth int) int {
	n := 0
	for i := range sels {
		s := &sels[i]
		switch s.Kind {
		case graphql.FieldSelection:
			if s.Name != "__typename" {
				n++
			}
		case graphql.InlineFragmentSelection:
			if depth < graphql.MaxDepth {
				n += e.rootFields(s.Selections, depth+1)
			}
		case graphql.SpreadSelection:
			if f := e.doc.Fragment(s.Name); f != nil && depth < graphql.MaxDepth && e.spread() {
				n += e.rootFields(f.Selections, depth+1)
			}
		}
	}
	return n
}

// spread counts a fragment expansion and reports whether another is
// allowed (a cycle or a fan-out is cut short).
func (e *estimator) spread() bool {
	e.spreads++
	return e.spreads <= 1000
}

func (e *estimator) selections(sels []graphql.Selection, depth int) float64 {
	if depth > graphql.MaxDepth {
		return 0
	}
	var cost float64
	for i := range sels {
		s := &sels[i]
		switch s.Kind {
		case graphql.FieldSelection:
			cost += e.field(s, depth)
		case graphql.InlineFragmentSelection:
			cost += e.selections(s.Selections, depth+1)
		case graphql.SpreadSelection:
			if f := e.doc.Fragment(s.Name); f != nil && e.spread() {
				cost += e.selections(f.Selections, depth+1)
			}
		}
		if cost > maxQueryCost {
			return cost
		}
	}
	return cost
}

func (e *estimator) field(s *graphql.Selection, depth int) float64 {
	if len(s.Selections) == 0 {
		return 0 // a scalar or an enum
	}
	if n, ok := e.pageSize(s); ok {
		return 2 + n*e.connectionNode(s.Selections, depth+1)
	}
	if ids := s.Argument("ids"); ids != nil {
		return e.listLength(*ids) * (1 + e.selections(s.Selections, depth+1))
	}
	return 1 + e.selections(s.Selections, depth+1)
}

// connectionNode returns the cost of one node of a connection: 1 plus
// what is selected of it under nodes or edges.node (pageInfo and cursors
// are free).
func (e *estimator) connectionNode(sels []graphql.Selection, depth int) float64 {
	node := 0.0
	var walk func(sels []graphql.Selection, depth int, underEdges bool)
	walk = func(sels []graphql.Selection, depth int, underEdges bool) {
		if depth > graphql.MaxDepth {
			return
		}
		for i := range sels {
			s := &sels[i]
			switch s.Kind {
			case graphql.FieldSelection:
				switch {
				case !underEdges && s.Name == "nodes", underEdges && s.Name == "node":
					node = math.Max(node, e.selections(s.Selections, depth+1))
				case !underEdges && s.Name == "edges":
					walk(s.Selections, depth+1, true)
				}
			case graphql.InlineFragmentSelection:
				walk(s.Selections, depth+1, underEdges)
			case graphql.SpreadSelection:
				if f := e.doc.Fragment(s.Name); f != nil && e.spread() {
					walk(f.Selections, depth+1, underEdges)
				}
			}
		}
	}
	walk(sels, depth, false)
	return 1 + node
}

// pageSize returns a connection field's first or last.
func (e *estimator) pageSize(s *graphql.Selection) (float64, bool) {
	for _, name := range []string{"first", "last"} {
		if v := s.Argument(name); v != nil {
			if n, ok := e.number(*v); ok {
				return math.Max(0, math.Min(n, 250)), true
			}
			return 250, true // unknown: the largest page Shopify allows
		}
	}
	return 0, false
}

func (e *estimator) number(v graphql.Value) (float64, bool) {
	switch v.Kind {
	case graphql.IntValue:
		n, err := strconv.ParseFloat(v.Raw, 64)
		return n, err == nil
	case graphql.VariableValue:
		switch x := e.variable(v.Raw).(type) {
		case float64:
			return x, true
		case nil:
			if d := e.defaultOf(v.Raw); d != nil && d.Kind == graphql.IntValue {
				return e.number(*d)
			}
		}
	}
	return 0, false
}

func (e *estimator) listLength(v graphql.Value) float64 {
	switch v.Kind {
	case graphql.ListValue:
		return float64(len(v.List))
	case graphql.VariableValue:
		if l, ok := e.variable(v.Raw).([]any); ok {
			return float64(len(l))
		}
		return 250
	}
	return 1
}

func (e *estimator) defaultOf(name string) *graphql.Value {
	for _, d := range e.op.Variables {
		if d.Name == name {
			return d.Default
		}
	}
	return nil
}

// variable decodes the request's variables (once) and returns one.
func (e *estimator) variable(name string) any {
	if !e.decoded {
		e.decoded = true
		_ = json.Unmarshal(e.varsRaw, &e.vars)
	}
	return e.vars[name]
}

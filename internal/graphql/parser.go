// Package graphql parses GraphQL executable documents (operations and
// fragments, the GraphQL spec's "ExecutableDocument") into a small syntax
// tree. It knows no schema: package shopifytest executes the few
// operations it fakes on top of it, and package admin reads operation
// types and names and estimates query costs from it.
package graphql

import (
	"errors"
	"fmt"
)

// MaxDepth bounds the nesting of selection sets, lists and input objects,
// so that hostile input cannot exhaust the stack.
const MaxDepth = 64

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("graphql: syntax error")

// SyntaxError is a parse error at a position of the document.
type SyntaxError struct {
	Line, Column int
	Message      string
}

func newSyntaxError(line, col int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("graphql: syntax error at %d:%d: %s", e.Line, e.Column, e.Message)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Document is a parsed executable document.
type Document struct {
	Operations []*Operation
	Fragments  []*Fragment
}

// Operation is a query, mutation or subscription.
type Operation struct {
	// Type is "query", "mutation" or "subscription"; a document that is a
	// bare selection set is a query.
	Type       string
	Name       string // "" when anonymous
	Variables  []VariableDefinition
	Directives []Directive
	Selections []Selection
	Line, Col  int
}

// VariableDefinition is "$name: Type = default".
type VariableDefinition struct {
	Name    string
	Type    string // as written, normalised: "[ID!]!"
	Default *Value
}

// Fragment is "fragment Name on Type { ... }".
type Fragment struct {
	Name          string
	TypeCondition string
	Directives    []Directive
	Selections    []Selection
}

// SelectionKind tells fields from fragment spreads and inline fragments.
type SelectionKind uint8

const (
	FieldSelection SelectionKind = iota + 1
	SpreadSelection
	InlineFragmentSelection
)

// Selection is one entry of a selection set.
type Selection struct {
	Kind SelectionKind
	// Field: alias (or ""), name, arguments and sub-selections.
	// Spread: Name is the fragment's name.
	// Inline fragment: TypeCondition (or "") and Selections.
	Alias         string
	Name          string
	Arguments     []Argument
	Directives    []Directive
	TypeCondition string
	Selections    []Selection
	Line, Col     int
}

// ResponseKey is the key of the field in the response: its alias, or its
// name.
func (s *Selection) ResponseKey() string {
	if s.Alias != "" {
		return s.Alias
	}
	return s.Name
}

// Argument returns the named argument's value, or nil.
func (s *Selection) Argument(name string) *Value {
	for i := range s.Arguments {
		if s.Arguments[i].Name == name {
			return &s.Arguments[i].Value
		}
	}
	return nil
}

// Argument is "name: value".
type Argument struct {
	Name  string
	Value Value
}

// Directive is "@name(args)".
type Directive struct {
	Name      string
	Arguments []Argument
}

// ValueKind is the kind of a literal or variable.
type ValueKind uint8

const (
	VariableValue ValueKind = iota + 1
	IntValue
	FloatValue
	StringValue
	BooleanValue
	NullValue
	EnumValue
	ListValue
	ObjectValue
)

// Value is an argument or default value as written.
type Value struct {
	Kind ValueKind
	// Raw is the variable's name (without $), the number's text, the
	// string's decoded value, "true"/"false", or the enum value.
	Raw    string
	List   []Value
	Fields []ObjectField
}

// ObjectField is one "name: value" of an input object.
type ObjectField struct {
	Name  string
	Value Value
}

// Operation returns the operation to execute: the one named name, or the
// only one when name is "". It returns an error when there is no such
// operation, or when name is "" and the document has several.
func (d *Document) Operation(name string) (*Operation, error) {
	if name == "" {
		if len(d.Operations) == 1 {
			return d.Operations[0], nil
		}
		return nil, errors.New("graphql: an operation name is required when the document has several operations")
	}
	for _, op := range d.Operations {
		if op.Name == name {
			return op, nil
		}
	}
	return nil, fmt.Errorf("graphql: no operation named %q", name)
}

// Fragment returns the named fragment, or nil.
func (d *Document) Fragment(name string) *Fragment {
	for _, f := range d.Fragments {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Parse parses an executable document. Every error wraps ErrSyntax and is
// a *SyntaxError; Parse never panics.
func Parse(src string) (*Document, error) {
	p := &parser{lex: lexer{src: src, line: 1, col: 1}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	doc := &Document{}
	if p.tok.kind == tokEOF {
		return nil, p.errorf("the document has no operation")
	}
	for p.tok.kind != tokEOF {
		switch {
		case p.isPunct("{"):
			line, col := p.tok.line, p.tok.col
			sels, err := p.selectionSet(1)
			if err != nil {
				return nil, err
			}
			doc.Operations = append(doc.Operations, &Operation{Type: "query", Selections: sels, Line: line, Col: col})
		case p.isName("query"), p.isName("mutation"), p.isName("subscription"):
			op, err := p.operation()
			if err != nil {
				return nil, err
			}
			doc.Operations = append(doc.Operations, op)
		case p.isName("fragment"):
			f, err := p.fragment()
			if err != nil {
				return nil, err
			}
			doc.Fragments = append(doc.Fragments, f)
		default:
			return nil, p.unexpected()
		}
	}
	if len(doc.Operations) == 0 {
		return nil, newSyntaxError(1, 1, "the document has no operation")
	}
	return doc, nil
}

type parser struct {
	lex lexer
	tok token
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	return newSyntaxError(p.tok.line, p.tok.col, format, args...)
}

func (p *parser) unexpected() error {
	if p.tok.kind == tokEOF {
		return p.errorf("unexpected end of document")
	}
	return p.errorf("unexpected %s %q", p.tok.kind, p.tok.text)
}

func (p *parser) isPunct(s string) bool { return p.tok.kind == tokPunct && p.tok.text == s }

func (p *parser) isName(s string) bool { return p.tok.kind == tokName && p.tok.text == s }

func (p *parser) expectPunct(s string) error {
	if !p.isPunct(s) {
		return p.errorf("expected %q, found %s", s, p.describe())
	}
	return p.advance()
}

func (p *parser) describe() string {
	if p.tok.kind == tokEOF {
		return "end of document"
	}
	return fmt.Sprintf("%q", p.tok.text)
}

func (p *parser) name() (string, error) {
	if p.tok.kind != tokName {
		return "", p.errorf("expected a name, found %s", p.describe())
	}
	n := p.tok.text
	return n, p.advance()
}

func (p *parser) operation() (*Operation, error) {
	op := &Operation{Type: p.tok.text, Line: p.tok.line, Col: p.tok.col}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokName {
		op.Name = p.tok.text
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.isPunct("(") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		for !p.isPunct(")") {
			v, err := p.variableDefinition()
			if err != nil {
				return nil, err
			}
			op.Variables = append(op.Variables, v)
		}
		if len(op.Variables) == 0 {
			return nil, p.errorf("expected a variable definition, found \")\"")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	var err error
	if op.Directives, err = p.directives(1); err != nil {
		return nil, err
	}
	if op.Selections, err = p.selectionSet(1); err != nil {
		return nil, err
	}
	return op, nil
}

func (p *parser) variableDefinition() (VariableDefinition, error) {
	var v VariableDefinition
	if err := p.expectPunct("$"); err != nil {
		return v, err
	}
	var err error
	if v.Name, err = p.name(); err != nil {
		return v, err
	}
	if err := p.expectPunct(":"); err != nil {
		return v, err
	}
	if v.Type, err = p.typeRef(1); err != nil {
		return v, err
	}
	if p.isPunct("=") {
		if err := p.advance(); err != nil {
			return v, err
		}
		val, err := p.value(true, 1)
		if err != nil {
			return v, err
		}
		v.Default = &val
	}
	if _, err := p.directives(1); err != nil {
		return v, err
	}
	return v, nil
}

func (p *parser) typeRef(depth int) (string, error) {
	if depth > MaxDepth {
		return "", p.errorf("type nested too deeply")
	}
	var t string
	if p.isPunct("[") {
		if err := p.advance(); err != nil {
			return "", err
		}
		inner, err := p.typeRef(depth + 1)
		if err != nil {
			return "", err
		}
		if err := p.expectPunct("]"); err != nil {
			return "", err
		}
		t = "[" + inner + "]"
	} else {
		n, err := p.name()
		if err != nil {
			return "", err
		}
		t = n
	}
	if p.isPunct("!") {
		if err := p.advance(); err != nil {
			return "", err
		}
		t += "!"
	}
	return t, nil
}

func (p *parser) fragment() (*Fragment, error) {
	if err := p.advance(); err != nil { // "fragment"
		return nil, err
	}
	f := &Fragment{}
	line, col := p.tok.line, p.tok.col
	var err error
	if f.Name, err = p.name(); err != nil {
		return nil, err
	}
	if f.Name == "on" {
		return nil, newSyntaxError(line, col, "a fragment cannot be named \"on\"")
	}
	if !p.isName("on") {
		return nil, p.errorf("expected \"on\", found %s", p.describe())
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if f.TypeCondition, err = p.name(); err != nil {
		return nil, err
	}
	if f.Directives, err = p.directives(1); err != nil {
		return nil, err
	}
	if f.Selections, err = p.selectionSet(1); err != nil {
		return nil, err
	}
	return f, nil
}

func (p *parser) selectionSet(depth int) ([]Selection, error) {
	if depth > MaxDepth {
		return nil, p.errorf("selections nested too deeply")
	}
	if err := p.expectPunct("{"); err != nil {
		return nil, err
	}
	var sels []Selection
	for !p.isPunct("}") {
		s, err := p.selection(depth)
		if err != nil {
			return nil, err
		}
		sels = append(sels, s)
	}
	if len(sels) == 0 {
		return nil, p.errorf("a selection set cannot be empty")
	}
	return sels, p.advance()
}

func (p *parser) selection(depth int) (Selection, error) {
	s := Selection{Line: p.tok.line, Col: p.tok.col}
	var err error
	if p.isPunct("...") {
		if err := p.advance(); err != nil {
			return s, err
		}
		if p.tok.kind == tokName && p.tok.text != "on" {
			s.Kind = SpreadSelection
			s.Name = p.tok.text
			if err := p.advance(); err != nil {
				return s, err
			}
			s.Directives, err = p.directives(depth)
			return s, err
		}
		s.Kind = InlineFragmentSelection
		if p.isName("on") {
			if err := p.advance(); err != nil {
				return s, err
			}
			if s.TypeCondition, err = p.name(); err != nil {
				return s, err
			}
		}
		if s.Directives, err = p.directives(depth); err != nil {
			return s, err
		}
		s.Selections, err = p.selectionSet(depth + 1)
		return s, err
	}
	s.Kind = FieldSelection
	if s.Name, err = p.name(); err != nil {
		return s, err
	}
	if p.isPunct(":") {
		if err := p.advance(); err != nil {
			return s, err
		}
		s.Alias = s.Name
		if s.Name, err = p.name(); err != nil {
			return s, err
		}
	}
	if p.isPunct("(") {
		if s.Arguments, err = p.arguments(false, depth); err != nil {
			return s, err
		}
	}
	if s.Directives, err = p.directives(depth); err != nil {
		return s, err
	}
	if p.isPunct("{") {
		s.Selections, err = p.selectionSet(depth + 1)
	}
	return s, err
}

func (p *parser) arguments(constant bool, depth int) ([]Argument, error) {
	if err := p.advance(); err != nil { // "("
		return nil, err
	}
	var args []Argument
	for !p.isPunct(")") {
		var a Argument
		var err error
		if a.Name, err = p.name(); err != nil {
			return nil, err
		}
		if err := p.expectPunct(":"); err != nil {
			return nil, err
		}
		if a.Value, err = p.value(constant, depth+1); err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	if len(args) == 0 {
		return nil, p.errorf("expected an argument, found \")\"")
	}
	return args, p.advance()
}

func (p *parser) directives(depth int) ([]Directive, error) {
	var ds []Directive
	for p.isPunct("@") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		var d Directive
		var err error
		if d.Name, err = p.name(); err != nil {
			return nil, err
		}
		if p.isPunct("(") {
			if d.Arguments, err = p.arguments(false, depth); err != nil {
				return nil, err
			}
		}
		ds = append(ds, d)
	}
	return ds, nil
}

func (p *parser) value(constant bool, depth int) (Value, error) {
	if depth > MaxDepth {
		return Value{}, p.errorf("value nested too deeply")
	}
	t := p.tok
	switch {
	case p.isPunct("$"):
		if constant {
			return Value{}, p.errorf("a variable is not allowed in a default value")
		}
		if err := p.advance(); err != nil {
			return Value{}, err
		}
		n, err := p.name()
		return Value{Kind: VariableValue, Raw: n}, err
	case t.kind == tokInt:
		return Value{Kind: IntValue, Raw: t.text}, p.advance()
	case t.kind == tokFloat:
		return Value{Kind: FloatValue, Raw: t.text}, p.advance()
	case t.kind == tokString:
		return Value{Kind: StringValue, Raw: t.text}, p.advance()
	case t.kind == tokName:
		v := Value{Kind: EnumValue, Raw: t.text}
		switch t.text {
		case "true", "false":
			v.Kind = BooleanValue
		case "null":
			v.Kind = NullValue
		}
		return v, p.advance()
	case p.isPunct("["):
		if err := p.advance(); err != nil {
			return Value{}, err
		}
		v := Value{Kind: ListValue}
		for !p.isPunct("]") {
			item, err := p.value(constant, depth+1)
			if err != nil {
				return Value{}, err
			}
			v.List = append(v.List, item)
		}
		return v, p.advance()
	case p.isPunct("{"):
		if err := p.advance(); err != nil {
			return Value{}, err
		}
		v := Value{Kind: ObjectValue}
		for !p.isPunct("}") {
			var f ObjectField
			var err error
			if f.Name, err = p.name(); err != nil {
				return Value{}, err
			}
			if err := p.expectPunct(":"); err != nil {
				return Value{}, err
			}
			if f.Value, err = p.value(constant, depth+1); err != nil {
				return Value{}, err
			}
			v.Fields = append(v.Fields, f)
		}
		return v, p.advance()
	}
	return Value{}, p.unexpected()
}

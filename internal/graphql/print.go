package graphql

import (
	"fmt"
	"strings"
)

// String prints the document in a canonical one-line form that Parse reads
// back into an equal document (the fuzz target checks it).
func (d *Document) String() string {
	var b strings.Builder
	for i, op := range d.Operations {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(op.Type)
		if op.Name != "" {
			b.WriteByte(' ')
			b.WriteString(op.Name)
		}
		if len(op.Variables) > 0 {
			b.WriteByte('(')
			for j, v := range op.Variables {
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "$%s: %s", v.Name, v.Type)
				if v.Default != nil {
					b.WriteString(" = ")
					writeValue(&b, *v.Default)
				}
			}
			b.WriteByte(')')
		}
		writeDirectives(&b, op.Directives)
		b.WriteByte(' ')
		writeSelections(&b, op.Selections)
	}
	for _, f := range d.Fragments {
		fmt.Fprintf(&b, " fragment %s on %s", f.Name, f.TypeCondition)
		writeDirectives(&b, f.Directives)
		b.WriteByte(' ')
		writeSelections(&b, f.Selections)
	}
	return b.String()
}

func writeSelections(b *strings.Builder, sels []Selection) {
	b.WriteByte('{')
	for i := range sels {
		s := &sels[i]
		b.WriteByte(' ')
		switch s.Kind {
		case SpreadSelection:
			b.WriteString("...")
			b.WriteString(s.Name)
			writeDirectives(b, s.Directives)
		case InlineFragmentSelection:
			b.WriteString("...")
			if s.TypeCondition != "" {
				b.WriteString(" on ")
				b.WriteString(s.TypeCondition)
			}
			writeDirectives(b, s.Directives)
			b.WriteByte(' ')
			writeSelections(b, s.Selections)
		default:
			if s.Alias != "" {
				b.WriteString(s.Alias)
				b.WriteString(": ")
			}
			b.WriteString(s.Name)
			writeArguments(b, s.Arguments)
			writeDirectives(b, s.Directives)
			if len(s.Selections) > 0 {
				b.WriteByte(' ')
				writeSelections(b, s.Selections)
			}
		}
	}
	b.WriteString(" }")
}

func writeArguments(b *strings.Builder, args []Argument) {
	if len(args) == 0 {
		return
	}
	b.WriteByte('(')
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Name)
		b.WriteString(": ")
		writeValue(b, a.Value)
	}
	b.WriteByte(')')
}

func writeDirectives(b *strings.Builder, ds []Directive) {
	for _, d := range ds {
		b.WriteString(" @")
		b.WriteString(d.Name)
		writeArguments(b, d.Arguments)
	}
}

func writeValue(b *strings.Builder, v Value) {
	switch v.Kind {
	case VariableValue:
		b.WriteByte('$')
		b.WriteString(v.Raw)
	case StringValue:
		writeString(b, v.Raw)
	case ListValue:
		b.WriteByte('[')
		for i, item := range v.List {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, item)
		}
		b.WriteByte(']')
	case ObjectValue:
		b.WriteByte('{')
		for i, f := range v.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Name)
			b.WriteString(": ")
			writeValue(b, f.Value)
		}
		b.WriteByte('}')
	default:
		b.WriteString(v.Raw)
	}
}

// writeString writes s as a GraphQL string literal.
func writeString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

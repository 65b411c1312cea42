package graphql

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokPunct
	tokName
	tokInt
	tokFloat
	tokString
)

func (k tokenKind) String() string {
	switch k {
	case tokEOF:
		return "end of document"
	case tokPunct:
		return "punctuator"
	case tokName:
		return "name"
	case tokInt:
		return "int"
	case tokFloat:
		return "float"
	case tokString:
		return "string"
	}
	return "token"
}

type token struct {
	kind tokenKind
	// text is the punctuator ("{", "...", ...), the name, the number's
	// source text, or the string's decoded value.
	text      string
	line, col int
}

// lexer splits a GraphQL document into tokens (GraphQL spec, section 2).
type lexer struct {
	src       string
	pos       int
	line, col int // of pos, 1-based
}

func (l *lexer) errorf(line, col int, format string, args ...any) error {
	return newSyntaxError(line, col, format, args...)
}

func (l *lexer) advance(n int) {
	for i := 0; i < n && l.pos < len(l.src); i++ {
		switch l.src[l.pos] {
		case '\n':
			l.line++
			l.col = 1
		case '\r':
			if l.pos+1 < len(l.src) && l.src[l.pos+1] == '\n' {
				l.col++ // the \n that follows ends the line
			} else {
				l.line++
				l.col = 1
			}
		default:
			l.col++
		}
		l.pos++
	}
}

// skipIgnored skips white space, line terminators, commas, comments and a
// byte order mark.
func (l *lexer) skipIgnored() {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r':
			l.advance(1)
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' {
				l.advance(1)
			}
		case strings.HasPrefix(l.src[l.pos:], "\uFEFF"):
			l.pos += len("\uFEFF")
			l.col++
		default:
			return
		}
	}
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameContinue(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// next returns the next token.
func (l *lexer) next() (token, error) {
	l.skipIgnored()
	line, col := l.line, l.col
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, line: line, col: col}, nil
	}
	c := l.src[l.pos]
	switch {
	case strings.IndexByte("!$&()[]{}:=@|", c) >= 0:
		l.advance(1)
		return token{kind: tokPunct, text: string(c), line: line, col: col}, nil
	case c == '.':
		if strings.HasPrefix(l.src[l.pos:], "...") {
			l.advance(3)
			return token{kind: tokPunct, text: "...", line: line, col: col}, nil
		}
		return token{}, l.errorf(line, col, "unexpected character %q", c)
	case isNameStart(c):
		start := l.pos
		for l.pos < len(l.src) && isNameContinue(l.src[l.pos]) {
			l.advance(1)
		}
		return token{kind: tokName, text: l.src[start:l.pos], line: line, col: col}, nil
	case c == '-' || isDigit(c):
		return l.number(line, col)
	case c == '"':
		if strings.HasPrefix(l.src[l.pos:], `"""`) {
			return l.blockString(line, col)
		}
		return l.string(line, col)
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return token{}, l.errorf(line, col, "unexpected character %q", r)
}

func (l *lexer) number(line, col int) (token, error) {
	start := l.pos
	if l.src[l.pos] == '-' {
		l.advance(1)
	}
	digits := func() int {
		n := 0
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.advance(1)
			n++
		}
		return n
	}
	intStart := l.pos
	if digits() == 0 {
		return token{}, l.errorf(line, col, "invalid number: expected a digit")
	}
	if l.pos-intStart > 1 && l.src[intStart] == '0' {
		return token{}, l.errorf(line, col, "invalid number: leading zero")
	}
	kind := tokInt
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		kind = tokFloat
		l.advance(1)
		if digits() == 0 {
			return token{}, l.errorf(line, col, "invalid number: expected a digit after '.'")
		}
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		kind = tokFloat
		l.advance(1)
		if l.pos < len(l.src) && (l.src[l.pos] == '+' || l.src[l.pos] == '-') {
			l.advance(1)
		}
		if digits() == 0 {
			return token{}, l.errorf(line, col, "invalid number: expected a digit in the exponent")
		}
	}
	if l.pos < len(l.src) && (isNameStart(l.src[l.pos]) || l.src[l.pos] == '.') {
		return token{}, l.errorf(line, col, "invalid number: unexpected %q after it", l.src[l.pos])
	}
	return token{kind: kind, text: l.src[start:l.pos], line: line, col: col}, nil
}

func (l *lexer) string(line, col int) (token, error) {
	l.advance(1) // opening quote
	var b strings.Builder
	for {
		if l.pos >= len(l.src) {
			return token{}, l.errorf(line, col, "unterminated string")
		}
		c := l.src[l.pos]
		switch {
		case c == '"':
			l.advance(1)
			return token{kind: tokString, text: b.String(), line: line, col: col}, nil
		case c == '\n' || c == '\r':
			return token{}, l.errorf(line, col, "unterminated string")
		case c == '\\':
			if l.pos+1 >= len(l.src) {
				return token{}, l.errorf(line, col, "unterminated string")
			}
			e := l.src[l.pos+1]
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if l.pos+6 > len(l.src) {
					return token{}, l.errorf(l.line, l.col, "invalid unicode escape")
				}
				v, err := strconv.ParseUint(l.src[l.pos+2:l.pos+6], 16, 32)
				if err != nil {
					return token{}, l.errorf(l.line, l.col, "invalid unicode escape")
				}
				r := rune(v)
				if !utf8.ValidRune(r) {
					r = utf8.RuneError
				}
				b.WriteRune(r)
				l.advance(6)
				continue
			default:
				return token{}, l.errorf(l.line, l.col, "invalid escape \\%c", e)
			}
			l.advance(2)
		default:
			r, size := utf8.DecodeRuneInString(l.src[l.pos:])
			if r == utf8.RuneError && size == 1 {
				return token{}, l.errorf(l.line, l.col, "invalid UTF-8 in string")
			}
			if r < 0x20 && r != '\t' {
				return token{}, l.errorf(l.line, l.col, "control character in string")
			}
			b.WriteString(l.src[l.pos : l.pos+size])
			l.pos += size
			l.col++
		}
	}
}

func (l *lexer) blockString(line, col int) (token, error) {
	l.advance(3)
	var raw strings.Builder
	for {
		if l.pos >= len(l.src) {
			return token{}, l.errorf(line, col, "unterminated block string")
		}
		if strings.HasPrefix(l.src[l.pos:], `"""`) {
			l.advance(3)
			return token{kind: tokString, text: blockStringValue(raw.String()), line: line, col: col}, nil
		}
		if strings.HasPrefix(l.src[l.pos:], `\"""`) {
			raw.WriteString(`"""`)
			l.advance(4)
			continue
		}
		r, size := utf8.DecodeRuneInString(l.src[l.pos:])
		if r == utf8.RuneError && size == 1 {
			return token{}, l.errorf(l.line, l.col, "invalid UTF-8 in block string")
		}
		raw.WriteString(l.src[l.pos : l.pos+size])
		if size == 1 {
			l.advance(1)
		} else {
			l.pos += size
			l.col++
		}
	}
}

// blockStringValue applies the spec's BlockStringValue: common indentation
// removed, leading and trailing blank lines dropped.
func blockStringValue(raw string) string {
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	raw = strings.ReplaceAll(raw, "\r", "\n")
	lines := strings.Split(raw, "\n")
	common := -1
	for _, ln := range lines[1:] {
		indent := len(ln) - len(strings.TrimLeft(ln, " \t"))
		if indent == len(ln) {
			continue
		}
		if common < 0 || indent < common {
			common = indent
		}
	}
	if common > 0 {
		for i := 1; i < len(lines); i++ {
			if len(lines[i]) >= common {
				lines[i] = lines[i][common:]
			} else {
				lines[i] = ""
			}
		}
	}
	blank := func(s string) bool { return strings.Trim(s, " \t") == "" }
	for len(lines) > 0 && blank(lines[0]) {
		lines = lines[1:]
	}
	for len(lines) > 0 && blank(lines[len(lines)-1]) {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

package access

import (
	"bytes"
	"encoding/base64"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const secretValue = "shpat_0123456789abcdef0123456789abcdef"

func testToken() Token {
	return Token{
		Shop:      testShop,
		Mode:      Offline,
		Scope:     "read_products",
		ExpiresAt: time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC),
		v:         newTokenValue(secretValue),
	}
}

// leakForms are the shapes in which the token could show up in a
// rendering: as text, hex (both cases), base64, and the decimal or octal
// byte lists fmt prints for %d / %o of a []byte or a string's bytes.
func leakForms(secret string) []string {
	b := []byte(secret)
	dec := make([]string, len(b))
	oct := make([]string, len(b))
	for i, c := range b {
		dec[i] = strconv.Itoa(int(c))
		oct[i] = strconv.FormatInt(int64(c), 8)
	}
	return []string{
		secret,
		secret[len("shpat_"):], // the random part alone
		hex.EncodeToString(b),
		strings.ToUpper(hex.EncodeToString(b)),
		base64.StdEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		strings.Join(dec, " "),
		strings.Join(dec, ", "),
		strings.Join(oct, " "),
		strings.Join(dec[:8], " "), // a prefix is a leak too
	}
}

func checkNoLeak(t *testing.T, what, rendered string) {
	t.Helper()
	for _, f := range leakForms(secretValue) {
		if strings.Contains(rendered, f) {
			t.Errorf("%s reveals the token (as %q): %s", what, f, rendered)
		}
	}
}

type holder struct {
	tok   Token // unexported field: fmt walks it by reflection
	Other string
}

type exportedHolder struct {
	Tok  Token
	Ptr  *Token
	List []Token
	Map  map[string]Token
}

type deepHolder struct {
	inner holder
	ptr   *holder
	arr   [2]Token
	iface any
}

func TestTokenNeverPrinted(t *testing.T) {
	tok := testToken()
	if tok.Value() != secretValue {
		t.Fatal("Value does not return the token")
	}
	h := holder{tok: tok, Other: "x"}
	values := map[string]any{
		"Token":                   tok,
		"*Token":                  &tok,
		"holder (unexported)":     h,
		"*holder":                 &h,
		"exported holder":         exportedHolder{Tok: tok, Ptr: &tok, List: []Token{tok}, Map: map[string]Token{"k": tok}},
		"deep holder":             deepHolder{inner: h, ptr: &h, arr: [2]Token{tok, tok}, iface: tok},
		"*deep holder":            &deepHolder{inner: h, ptr: &h, arr: [2]Token{tok, tok}, iface: &h},
		"[]Token":                 []Token{tok},
		"map[Token]int key":       map[string]holder{"a": h},
		"anonymous struct":        struct{ t Token }{tok},
		"anonymous struct of ptr": struct{ t *Token }{&tok},
		"reflect.Value":           reflect.ValueOf(h),
		"reflect.Value of ptr":    reflect.ValueOf(&h),
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%c", "%U", "%e", "%t", "%p", "%T",
		"%10v", "%-30s", "%#x", "% x", "%+q", "%#q", "%08d"}
	for name, v := range values {
		for _, verb := range verbs {
			checkNoLeak(t, name+" "+verb, fmt.Sprintf(verb, v))
		}
		checkNoLeak(t, name+" Sprint", fmt.Sprint(v))
		checkNoLeak(t, name+" Sprintln", fmt.Sprintln(v))
		if j, err := json.Marshal(v); err == nil {
			checkNoLeak(t, name+" json", string(j))
		}
		if x, err := xml.Marshal(v); err == nil {
			checkNoLeak(t, name+" xml", string(x))
		}
		var buf bytes.Buffer
		if gob.NewEncoder(&buf).Encode(v) == nil {
			checkNoLeak(t, name+" gob", buf.String())
		}
		var logs bytes.Buffer
		for _, hnd := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
			slog.New(hnd).Info("token", "value", v)
		}
		checkNoLeak(t, name+" slog", logs.String())
	}
	// Errors that carry a token in their text would leak too.
	checkNoLeak(t, "wrapped in an error", fmt.Errorf("call failed for %v: %w", tok, ErrReauthorize).Error())

	// The redacted renderings still say which token it is.
	if s := fmt.Sprint(tok); !strings.Contains(s, testShop) || !strings.Contains(s, redacted) {
		t.Errorf("String %q lacks the shop or the redaction marker", s)
	}
	j, _ := json.Marshal(tok)
	var back map[string]string
	if err := json.Unmarshal(j, &back); err != nil || back["shop"] != testShop || back["value"] != redacted || back["mode"] != "offline" {
		t.Errorf("JSON %s", j)
	}
}

func TestZeroToken(t *testing.T) {
	var tok Token
	if !tok.IsZero() || tok.Value() != "" {
		t.Error("zero Token has a value")
	}
	_ = fmt.Sprintf("%v %#v %x", tok, tok, &tok) // no panic
}

package keysource_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/possession-dev/possession/internal/leakcheck"
	"github.com/possession-dev/possession/keysource"
)

const secretText = "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"

// verbs are every fmt verb, some with flags: for a Secret in an
// unexported field (where fmt cannot call Format) fmt falls back to
// printing the struct, and a mismatched verb (%s of a pointer) prints
// the pointed-to value with %v.
var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%+q", "%#q", "%x", "%X", "% x", "%#x", "%d", "%o", "%O", "%b",
	"%c", "%U", "%#U", "%t", "%e", "%E", "%f", "%F", "%g", "%G", "%p", "%T %v", "%8.3v", "%-20s", "%w"}

// TestSecretNeverPrinted formats secrets, keys and keyrings with every
// verb, directly and held in exported and unexported fields, slices,
// maps, pointers and interfaces, plus JSON, text marshalling and slog, and
// searches each output for every rendering of the secret's bytes
// (literal, spaced out, hex, base64, decimal/octal/hex/binary byte lists:
// internal/leakcheck). Finding 1 of issue 10: a Secret, Key or []Key in an
// unexported field printed a decimal byte list with %s, %q, %c, %U, %t,
// %e, %f and %g.
func TestSecretNeverPrinted(t *testing.T) {
	s := keysource.NewSecret(secretText)
	key := keysource.Key{ID: "k1", Secret: s}
	ring, err := keysource.NewKeyring(time.Time{}, key)
	if err != nil {
		t.Fatal(err)
	}
	type wrapper struct {
		name   string
		secret keysource.Secret // unexported: fmt cannot call its methods
		key    keysource.Key
		keys   []keysource.Key
		ptr    *keysource.Secret
		any    any
		ring   keysource.Keyring
		Public keysource.Secret
	}
	w := wrapper{name: "w", secret: s, key: key, keys: []keysource.Key{key}, ptr: &s, any: s, ring: *ring, Public: s}
	type outer struct {
		inner wrapper
		list  []wrapper
		byID  map[string]keysource.Key
	}
	o := outer{inner: w, list: []wrapper{w}, byID: map[string]keysource.Key{"k1": key}}

	values := []any{s, &s, key, &key, []keysource.Key{key}, ring, *ring, w, &w, o, &o,
		[]keysource.Secret{s}, map[string]keysource.Secret{"k": s}, [1]keysource.Secret{s}, struct{ s keysource.Secret }{s}}
	var outputs []string
	for _, format := range verbs {
		for i, value := range values {
			outputs = append(outputs, fmt.Sprintf("value %d, %s: ", i, format)+fmt.Sprintf(format, value))
		}
	}
	outputs = append(outputs, fmt.Sprint(s, w, o), fmt.Sprintln(key, w), s.String(), s.GoString())
	for _, value := range []any{s, key, []keysource.Key{key}, w, o} {
		b, err := json.Marshal(value)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(b))
	}
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("loaded", "secret", s, "key", key, "wrapper", w, "outer", o, "ring", ring)
		outputs = append(outputs, buf.String())
	}
	text, _ := s.MarshalText()
	outputs = append(outputs, string(text))

	for _, out := range outputs {
		if form := leakcheck.Find(out, []byte(secretText)); form != "" {
			t.Errorf("secret revealed (%s): %.200s", form, out)
		}
	}
	if got := fmt.Sprintf("%v", s); got != "[REDACTED]" {
		t.Errorf("%%v = %q, want [REDACTED]", got)
	}
}

func TestSecretBytes(t *testing.T) {
	s := keysource.NewSecret(secretText)
	b := s.Bytes()
	if string(b) != secretText || s.Len() != len(secretText) {
		t.Fatalf("Bytes/Len wrong")
	}
	b[0] = 'X' // a copy: the secret must not change
	if string(s.Bytes()) != secretText {
		t.Fatalf("Bytes returned the internal slice")
	}
	raw := []byte(secretText)
	sb := keysource.NewSecretBytes(raw)
	raw[0] = 'X'
	if !sb.Equal(s) {
		t.Fatalf("NewSecretBytes did not copy")
	}
	var zero keysource.Secret
	if zero.Len() != 0 || zero.Bytes() != nil || zero.String() != "[REDACTED]" {
		t.Fatalf("zero Secret misbehaves")
	}
}

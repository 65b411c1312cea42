package keysource_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/possession-dev/possession/keysource"
)

const secretText = "shpss_super-secret-value-0123456789"

func TestSecretNeverPrinted(t *testing.T) {
	s := keysource.NewSecret(secretText)
	key := keysource.Key{ID: "k1", Secret: s}
	type wrapper struct {
		name   string
		secret keysource.Secret // unexported: fmt cannot call its methods
		key    keysource.Key
	}
	w := wrapper{name: "w", secret: s, key: key}

	var outputs []string
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		for _, value := range []any{s, &s, key, &key, w, &w, []keysource.Secret{s}, map[string]keysource.Secret{"k": s}} {
			outputs = append(outputs, fmt.Sprintf(format, value))
		}
	}
	outputs = append(outputs, fmt.Sprint(s), fmt.Sprintln(key), s.String(), s.GoString())
	for _, value := range []any{s, key, []keysource.Key{key}} {
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
		slog.New(h(&buf)).Info("loaded", "secret", s, "key", key, "wrapper", w)
		outputs = append(outputs, buf.String())
	}
	text, _ := s.MarshalText()
	outputs = append(outputs, string(text))

	for _, out := range outputs {
		if strings.Contains(out, secretText) || strings.Contains(out, "shpss") {
			t.Errorf("secret revealed: %s", out)
		}
		if strings.Contains(out, fmt.Sprintf("%x", secretText)) {
			t.Errorf("secret revealed in hex: %s", out)
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

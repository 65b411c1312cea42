package keysource

import (
	"fmt"
	"log/slog"
)

const redacted = "[REDACTED]"

// Secret holds secret bytes and never reveals them through formatting,
// JSON, text marshalling or slog. The bytes live behind a pointer, so even
// reflection-based printing of a struct that embeds a Secret in an
// unexported field shows an address, not the secret.
//
// The zero Secret is empty.
type Secret struct {
	v *secretValue
}

type secretValue struct {
	b []byte
}

// NewSecret copies s into a Secret.
func NewSecret(s string) Secret {
	return Secret{v: &secretValue{b: []byte(s)}}
}

// NewSecretBytes copies b into a Secret.
func NewSecretBytes(b []byte) Secret {
	return Secret{v: &secretValue{b: append([]byte(nil), b...)}}
}

// Bytes returns a copy of the secret bytes. Callers that only need the
// bytes briefly (to key an HMAC) should not keep the copy.
func (s Secret) Bytes() []byte {
	if s.v == nil {
		return nil
	}
	return append([]byte(nil), s.v.b...)
}

// Len returns the secret's length in bytes.
func (s Secret) Len() int {
	if s.v == nil {
		return 0
	}
	return len(s.v.b)
}

// Equal reports whether two secrets hold the same bytes.
func (s Secret) Equal(o Secret) bool {
	return string(s.bytes()) == string(o.bytes())
}

func (s Secret) bytes() []byte {
	if s.v == nil {
		return nil
	}
	return s.v.b
}

// String returns a redaction marker.
func (Secret) String() string { return redacted }

// GoString returns a redaction marker for %#v.
func (Secret) GoString() string { return "keysource.Secret(" + redacted + ")" }

// Format writes a redaction marker for every verb, so %x, %q and %s reveal
// nothing either.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(redacted))
}

// MarshalJSON encodes the redaction marker.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes the redaction marker.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue makes slog print the redaction marker.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

package keysource

import (
	"fmt"
	"log/slog"
	"unsafe"
)

const redacted = "[REDACTED]"

// Secret holds secret bytes and never reveals them through formatting,
// JSON, text marshalling or slog.
//
// Its methods cannot protect it everywhere: fmt does not call them on a
// Secret (or a Key, or a []Key) held in an unexported struct field, and
// prints the field's contents instead; for a verb that does not suit a
// pointer (%s, %q, %c, %U, %t, %e, %f, %g) it even prints what the pointer
// points to. So the bytes sit behind an unsafe.Pointer, which fmt and
// every reflection-based printer show as an address and never follow:
// nothing but this package's code reaches them.
//
// The zero Secret is empty.
type Secret struct {
	p unsafe.Pointer // *secretValue, or nil
}

type secretValue struct {
	b []byte
}

func newSecret(b []byte) Secret { return Secret{p: unsafe.Pointer(&secretValue{b: b})} }

// NewSecret copies s into a Secret.
func NewSecret(s string) Secret { return newSecret([]byte(s)) }

// NewSecretBytes copies b into a Secret.
func NewSecretBytes(b []byte) Secret { return newSecret(append([]byte(nil), b...)) }

// Bytes returns a copy of the secret bytes. Callers that only need the
// bytes briefly (to key an HMAC) should not keep the copy.
func (s Secret) Bytes() []byte {
	if s.p == nil {
		return nil
	}
	return append([]byte(nil), s.bytes()...)
}

// Len returns the secret's length in bytes.
func (s Secret) Len() int { return len(s.bytes()) }

// Equal reports whether two secrets hold the same bytes.
func (s Secret) Equal(o Secret) bool {
	return string(s.bytes()) == string(o.bytes())
}

func (s Secret) bytes() []byte {
	if s.p == nil {
		return nil
	}
	return (*secretValue)(s.p).b
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

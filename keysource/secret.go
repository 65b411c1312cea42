package keysource

import (
	"fmt"
	"log/slog"
	"strings"
	"unsafe"
)

const redacted = "[REDACTED]"

// MinSecretLen is the length of the shortest client secret Shopify issues,
// in bytes: 32 characters for apps whose secret was generated before 28
// January 2020; secrets generated since are "shpss_" and 32 characters
// (38 in all; shopify.dev/changelog/app-secret-key-length-has-increased).
// Static, Env, File and keysource/awssm refuse shorter secrets
// (ErrInvalidSecret): a truncated copy-paste, a placeholder left in
// place, or a line that is not a secret at all.
const MinSecretLen = 32

// checkSecret reports why s cannot be a Shopify client secret (one
// already trimmed of surrounding white space), without showing it.
// Shopify's secrets are printable ASCII (hex digits, "shpss_"): anything
// else is white space (a comment or a second secret on the line), a
// control character, or a character that a copy-paste brought along
// (typographic quotes).
func checkSecret(s string) error {
	if s == "" {
		return ErrEmptySecret
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%w: byte %d of the secret is white space, a control character or not ASCII (a comment or a second secret on its line?)", ErrInvalidSecret, i+1)
		}
	}
	if len(s) < MinSecretLen {
		return fmt.Errorf("%w: %d bytes, and Shopify client secrets have at least %d", ErrInvalidSecret, len(s), MinSecretLen)
	}
	return nil
}

// utf8BOM is the byte order mark some editors (Windows Notepad among them)
// write at the start of a UTF-8 file, and that shells then copy into
// variables. It is never part of a secret.
const utf8BOM = "\ufeff"

// trimSecret removes a leading byte order mark and surrounding white
// space.
func trimSecret(s string) string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), utf8BOM))
}

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

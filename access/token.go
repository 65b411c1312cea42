package access

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Token is an access token for calling Shopify's Admin API for one shop
// (offline) or one of its staff users (online). Pass Value as the
// X-Shopify-Access-Token header.
//
// The token itself never shows through formatting, JSON, or slog: it sits
// behind a pointer to an unexported struct that holds it behind a second
// pointer, so even a Token inside an unexported field of another struct
// (which fmt prints field by field, without calling Token's methods, and
// for a verb that does not fit, such as %s on a pointer, expands one level
// of pointer to a struct) shows addresses, not the token.
//
// The zero Token has no value.
type Token struct {
	// Shop is the shop's domain, "example.myshopify.com".
	Shop string
	// Mode is Offline or Online.
	Mode Mode
	// UserID is the staff user of an online token, "" for offline.
	UserID string
	// Scope is the comma-separated access scopes Shopify granted.
	Scope string
	// ExpiresAt is when the access token expires; zero when it does not
	// (a non-expiring offline token).
	ExpiresAt time.Time

	v *tokenValue
}

// tokenValue holds the secret part of a Token. Tokens served from the
// Manager's cache share one, so handing out a Token allocates nothing.
type tokenValue struct {
	access *string // a pointer again: see Token
}

func newTokenValue(access string) *tokenValue { return &tokenValue{access: &access} }

// Value returns the access token, for the X-Shopify-Access-Token header.
// Never log it.
func (t Token) Value() string {
	if t.v == nil || t.v.access == nil {
		return ""
	}
	return *t.v.access
}

// IsZero reports whether t holds no token.
func (t Token) IsZero() bool { return t.Value() == "" }

// Key returns the record key the token is stored under.
func (t Token) Key() Key { return Key{Shop: t.Shop, Mode: t.Mode, UserID: t.UserID} }

const redacted = "[REDACTED]"

// String describes the token without its value.
func (t Token) String() string {
	b := make([]byte, 0, 96)
	b = append(b, "access.Token{shop="...)
	b = append(b, t.Shop...)
	b = append(b, " mode="...)
	b = append(b, t.Mode.String()...)
	if t.UserID != "" {
		b = append(b, " user="...)
		b = append(b, t.UserID...)
	}
	if !t.ExpiresAt.IsZero() {
		b = append(b, " expires="...)
		b = t.ExpiresAt.UTC().AppendFormat(b, time.RFC3339)
	}
	b = append(b, " value="...)
	b = append(b, redacted...)
	b = append(b, '}')
	return string(b)
}

// GoString is String, for %#v.
func (t Token) GoString() string { return t.String() }

// Format writes String for every verb and flag, so %x, %q, %d or %#v
// reveal nothing either.
func (t Token) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.String())) }

// MarshalJSON encodes the token's description with the value redacted.
func (t Token) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 128)
	b = append(b, `{"shop":`...)
	b = strconv.AppendQuote(b, t.Shop)
	b = append(b, `,"mode":`...)
	b = strconv.AppendQuote(b, t.Mode.String())
	if t.UserID != "" {
		b = append(b, `,"user_id":`...)
		b = strconv.AppendQuote(b, t.UserID)
	}
	if !t.ExpiresAt.IsZero() {
		b = append(b, `,"expires_at":"`...)
		b = t.ExpiresAt.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	}
	b = append(b, `,"value":"`+redacted+`"}`...)
	return b, nil
}

// MarshalText encodes String.
func (t Token) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// LogValue makes slog log the token's description with the value
// redacted.
func (t Token) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("shop", t.Shop), slog.String("mode", t.Mode.String())}
	if t.UserID != "" {
		attrs = append(attrs, slog.String("user_id", t.UserID))
	}
	if !t.ExpiresAt.IsZero() {
		attrs = append(attrs, slog.Time("expires_at", t.ExpiresAt))
	}
	attrs = append(attrs, slog.String("value", redacted))
	return slog.GroupValue(attrs...)
}

package sdk

import (
	"time"
)

// Kind tells which Shopify surface issued a token.
type Kind uint8

const (
	// KindAdmin is a token from the admin or POS: dest is an https URL and
	// iss, when present, is the shop's /admin URL. POS UI extensions send
	// these.
	KindAdmin Kind = iota + 1
	// KindCheckout is a token from a checkout or customer-account
	// extension: dest is a bare shop domain, sub (when present) a customer
	// GID.
	KindCheckout
)

// String returns "admin", "checkout" or "unknown".
func (k Kind) String() string {
	switch k {
	case KindAdmin:
		return "admin"
	case KindCheckout:
		return "checkout"
	}
	return "unknown"
}

// Session is what a verified token establishes. Verify may return the same
// *Session to several callers (from its cache): treat it as read-only and
// copy it before changing a field.
type Session struct {
	// Kind is the surface that issued the token.
	Kind Kind
	// Shop is the shop's domain, the host of dest: "example.myshopify.com".
	Shop string
	// UserID is sub: a numeric staff user ID for admin/POS tokens
	// ("4242"), a customer GID (or empty) for checkout tokens. For POS it
	// is the user logged into POS, not the staff member who pinned in
	// (Hints.StaffMemberID). User IDs are strings everywhere in the sdk.
	UserID string
	// ClientID is aud, the app's client ID.
	ClientID string
	// SessionID is sid (admin/POS tokens).
	SessionID string
	// TokenID is jti, unique per token.
	TokenID string
	// IssuedAt, NotBefore and ExpiresAt are iat, nbf and exp; zero when a
	// token omits iat or nbf.
	IssuedAt, NotBefore, ExpiresAt time.Time
	// KeyID names the key whose signature matched (never the secret).
	KeyID string
	// Hints is what the POS client reported about itself in request
	// headers. None of it is in the token: it is unverified.
	Hints Hints
}

// Hints are identifiers the POS client reports about itself (from
// api.session.currentSession), sent in request headers next to the token.
// They are NOT verified: only Session.Shop and Session.UserID come from
// the signed token. The zero value (0, "") means not reported.
//
// User IDs are strings throughout the package, as in Session.UserID (whose
// sub claim may also hold a customer GID), so that Hints.UserID and
// Hints.StaffMemberID, staff user IDs as POS reports them (positive
// decimals, "4242"), compare with Session.UserID directly. Shop and
// location IDs are numbers.
type Hints struct {
	ShopID int64
	// UserID is the user logged into POS. The middleware rejects a request
	// whose hint differs from Session.UserID, so when set it equals it.
	UserID     string
	LocationID int64
	// StaffMemberID is the staff member pinned in, who may differ from
	// the logged-in user (UserID).
	StaffMemberID string
}

// IsZero reports whether no hint was reported.
func (h Hints) IsZero() bool { return h == Hints{} }

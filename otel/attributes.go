package otel

import "go.opentelemetry.io/otel/attribute"

// ScopeName is the instrumentation scope of every tracer and meter
// possession creates: the module path, as OpenTelemetry's instrumentation
// guidelines ask.
const ScopeName = "github.com/possession-dev/possession"

// Version is the instrumentation version reported with ScopeName. It
// follows the module's release tags.
const Version = "0.1.0"

// SpanVerify names the one span each sdk Verifier.Verify call starts.
const SpanVerify = "possession.Verify"

// Attribute keys of the session a verification established. Keys from
// the OpenTelemetry semantic conventions are used where one exists
// (user.id, user.hash, error.type); the rest live in the shopify.* and
// possession.* namespaces.
const (
	// ShopDomainKey is the shop's domain, from the token's dest claim:
	// "example.myshopify.com".
	ShopDomainKey = attribute.Key("shopify.shop.domain")
	// UserIDKey is the token's sub claim (semantic convention user.id).
	// The sdk can hash it into UserHashKey or drop it instead.
	UserIDKey = attribute.Key("user.id")
	// UserHashKey is a keyed hash of the user ID (semantic convention
	// user.hash), recorded instead of UserIDKey when the sdk is told to
	// hash user IDs.
	UserHashKey = attribute.Key("user.hash")
	// ClientIDKey is the app's client ID, the token's aud claim.
	ClientIDKey = attribute.Key("shopify.client_id")
	// SessionKindKey is the surface that issued the token: "admin" (admin
	// and POS) or "checkout".
	SessionKindKey = attribute.Key("possession.session.kind")
	// KeyIDKey names the key whose signature matched (never the secret).
	KeyIDKey = attribute.Key("possession.key.id")
	// CacheHitKey tells whether the session came from the verified-session
	// cache.
	CacheHitKey = attribute.Key("possession.cache.hit")
	// OutcomeKey is a verification's result on metrics: "ok", or the short
	// name of the error (the value of ErrorTypeKey).
	OutcomeKey = attribute.Key("possession.outcome")
	// ErrorTypeKey is the short name of the sentinel error a verification
	// failed with ("expired", "signature", ...; semantic convention
	// error.type).
	ErrorTypeKey = attribute.Key("error.type")
)

// Attribute keys of what the POS client reports about itself next to the
// token (sdk.Hints). None of it is signed: the client_reported segment is
// there so that no dashboard or alert mistakes these for verified values.
const (
	ClientReportedShopIDKey        = attribute.Key("shopify.pos.client_reported.shop_id")
	ClientReportedLocationIDKey    = attribute.Key("shopify.pos.client_reported.location_id")
	ClientReportedStaffMemberIDKey = attribute.Key("shopify.pos.client_reported.staff_member_id")
	ClientReportedUserIDKey        = attribute.Key("shopify.pos.client_reported.user_id")
)

// Package sdk verifies Shopify session tokens, the HS256 JWTs that POS UI
// extensions get from api.session.getSessionToken() (and that embedded
// admin apps and checkout extensions send too), and turns them into a typed
// Session.
//
// # Verifying
//
// Create one Verifier at start-up from a key source and your app's client
// ID, and call Verify on every request:
//
//	src, err := keysource.Env("SHOPIFY_API_SECRET") // or keysource.Static, keysource.File
//	...
//	v, err := sdk.New(src, sdk.WithClientID(clientID))
//	...
//	session, err := v.Verify(ctx, token)
//
// Verify is safe for concurrent use and does no I/O (key sources refresh in
// the background), except when a token's signer is unknown and the source
// can refresh: then it asks the source once, bounded by ctx and rate-limited
// by the source, so that a secret rotated a moment ago verifies at once.
//
// # Rules
//
// In this order: the token is at most MaxTokenSize bytes (WithMaxTokenSize);
// a token verified before is served from the cache; the token has three
// segments, each strict base64url, and a header without crit (RFC 7515's
// extensions: none is supported, so any crit is refused); the header's alg
// is HS256 (none, HS384, RS256 and anything else fail with ErrAlgorithm
// before the signature is looked at); the signature is 32 bytes; the
// HMAC-SHA256 signature matches one of the source's keys, tried in
// preference order and compared in constant time (a previous key is only
// tried when the current one does not match, so rotation never rescues an
// expired token); exp is present and now < exp + leeway; now >= nbf - leeway
// and now >= iat - leeway when present (leeway 10 s by default); aud is a
// configured client ID; dest is a shop domain (one DNS label followed by
// .myshopify.com, or another suffix added with WithShopDomainSuffixes)
// with or without https://; iss, when present, has dest's host; the
// token's kind is accepted (WithKinds: admin/POS only by default).
// Anything wrong with the token's form (the signature segment's included)
// is ErrMalformed; ErrSignature is a well-formed signature that none of
// the keys made.
//
// Claims are decoded by a small strict JSON decoder: escapes such as
// https:\/\/ are decoded, unknown claims are ignored, and a duplicate or
// wrongly typed registered claim is ErrMalformed. The differential tests
// against golang-jwt and against Shopify's own JavaScript library
// (@shopify/shopify-api's decodeSessionToken, in the repository's test
// module, test/sdk) list every input this makes us stricter on; possession
// accepts nothing either rejects.
//
// # Errors
//
// Every error wraps exactly one sentinel (ErrMalformed, ErrAlgorithm,
// ErrSignature, ErrExpired, ErrNotYetValid, ErrAudience, ErrIssuer,
// ErrKind, ErrNoKeys): branch with errors.Is. Clock failures are also typed,
// *ExpiredError and *NotYetValidError, whose fields (errors.As) give the
// token's time, the verifier's clock and the leeway. ErrNoKeys is
// keysource.ErrNoKeys. Messages explain the cause (for clock errors, by how
// many seconds and with which leeway) and never contain the token or a
// secret. ErrorName gives a short stable name for logs, metrics and
// response bodies.
//
// # Token kinds
//
// Admin and POS tokens (KindAdmin) carry dest as an https URL, iss ending
// in /admin, a numeric user ID in sub and a session ID in sid. Checkout and
// customer-account tokens (KindCheckout) carry dest as a bare domain, no
// sid, and optionally a customer GID in sub.
//
// Admin and POS tokens speak for a staff user; checkout and
// customer-account tokens for a buyer, who can read one from their own
// browser. Verify (and the middleware) accepts only KindAdmin unless
// WithKinds says otherwise, and refuses other kinds with ErrKind, after
// every other check. Accept KindCheckout only on endpoints built for
// checkout and customer-account extensions, which act for that buyer;
// WithKinds says which endpoints those are.
//
// # HTTP
//
// Verifier.Middleware puts Verify in front of a handler (NewMiddleware
// gives the func(http.Handler) http.Handler form for chi's Use and alice):
// it reads the bearer token (TokenFromRequest; the id_token query
// parameter of embedded admin pages with WithIDTokenQuery), answers 401
// with X-Shopify-Retry-Invalid-Session-Request for a bad token (App Bridge
// and the extension client retry once with a fresh one), 503 when the key
// source has no keys, reads the POS client hints (HeaderShopID and
// friends) into Session.Hints, rejecting hints that contradict the token,
// and answers CORS preflights for the origins given with
// WithAllowedOrigins. WithErrorHandler writes rejections in your own
// format. Handlers get the session with SessionFrom; their unit tests put
// one in a context with ContextWithSession.
//
// # Telemetry
//
// Each Verify is one span, possession.Verify, a child of ctx's span, with
// the session's attributes (or error.type on failure), plus metrics; see
// package otel for the names. WithTracerProvider and WithMeterProvider
// default to the OpenTelemetry globals; with none installed, Verify
// allocates nothing for telemetry. WithHashedUserID and
// WithoutUserIDTelemetry keep user IDs out of telemetry.
//
// # Cache
//
// Verified sessions are cached (WithCacheSize, default 10,000; 0
// disables) until exp + leeway, are not served before nbf/iat - leeway
// (a clock that steps back), and are not served once the key source's
// keyring changes. The cache keeps its own copy of each token, so a token
// sliced from a larger string (a padded Authorization header) does not
// keep that string alive. A lookup hashes the signature and compares the whole
// token, takes no lock, and allocates nothing; an entry costs about
// 1.19 KB with 583-byte tokens (the token itself is half of it). A cache
// hit returns the same *Session as the first verification: treat sessions
// as read-only.
//
// Besides sessions, each key remembers the SHA-256 state after the first
// 192 bytes of a shop's tokens (the header, iss, dest and the start of
// aud, which the shop's tokens share), with what that prefix's payload
// characters decode to, so that its next tokens hash three blocks fewer
// and decode 152 characters fewer: only from tokens that verified, from
// the second one with a prefix on, at most 4,096 states (about 1.7 MB)
// per key, dropped with the keyring. They are as secret as the keys.
package sdk

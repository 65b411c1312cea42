package sdk

import "errors"

// Sentinel errors. Every error Verify returns wraps exactly one of them, so
// callers branch with errors.Is. Messages carry what a developer needs to
// fix the problem (which claim, by how many seconds) and never the token or
// a secret.
var (
	// ErrMalformed: not a compact JWS of acceptable size, bad base64 or
	// JSON, a missing, duplicate or wrongly typed claim.
	ErrMalformed = errors.New("sdk: malformed token")
	// ErrAlgorithm: the header's alg is not HS256 (none, RS256, HS512, ...).
	ErrAlgorithm = errors.New("sdk: unsupported algorithm")
	// ErrSignature: the signature matches none of the source's keys.
	ErrSignature = errors.New("sdk: invalid signature")
	// ErrExpired: now is at or past exp plus the leeway.
	ErrExpired = errors.New("sdk: token expired")
	// ErrNotYetValid: now is before nbf (or iat) minus the leeway.
	ErrNotYetValid = errors.New("sdk: token not yet valid")
	// ErrAudience: aud is not the configured client ID (or not the client
	// the signing key belongs to).
	ErrAudience = errors.New("sdk: wrong audience")
	// ErrIssuer: dest is not an allowed shop domain, or iss's host differs
	// from dest's.
	ErrIssuer = errors.New("sdk: wrong issuer or destination")
	// ErrNoKeys: the key source has no usable keys.
	ErrNoKeys = errors.New("sdk: no keys available")
)

// Sentinel errors of the HTTP middleware (passed to WithOnReject).
var (
	// ErrNoToken: the request carries no usable bearer token (no
	// Authorization header, another scheme, "Bearer" without a token, or
	// more than one token).
	ErrNoToken = errors.New("sdk: no bearer token")
	// ErrHint: a client hint header is malformed or contradicts the
	// verified token (user ID, shop domain).
	ErrHint = errors.New("sdk: bad client hint")
)

// errorName returns the short name of the sentinel err wraps, for the
// error.type telemetry attribute and JSON error bodies.
func errorName(err error) string {
	switch {
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrAlgorithm):
		return "algorithm"
	case errors.Is(err, ErrSignature):
		return "signature"
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrNotYetValid):
		return "not_yet_valid"
	case errors.Is(err, ErrAudience):
		return "audience"
	case errors.Is(err, ErrIssuer):
		return "issuer"
	case errors.Is(err, ErrNoKeys):
		return "no_keys"
	case errors.Is(err, ErrNoToken):
		return "no_token"
	case errors.Is(err, ErrHint):
		return "hint"
	case err == nil:
		return ""
	}
	return "other"
}

// ErrorName returns the short, stable name of the sentinel that err wraps
// ("expired", "signature", ...), "" for nil and "other" for errors that do
// not come from Verify. Useful as a metric label or in a JSON error body.
func ErrorName(err error) string { return errorName(err) }

package sdk

import (
	"errors"
	"fmt"
	"time"

	"github.com/possession-dev/possession/keysource"
)

// Sentinel errors. Every error Verify returns wraps exactly one of them, so
// callers branch with errors.Is. Messages carry what a developer needs to
// fix the problem (which claim, by how many seconds) and never the token or
// a secret.
var (
	// ErrMalformed: not a compact JWS of acceptable size, bad base64 in
	// any segment (the signature's included), a signature that is not 32
	// bytes, bad JSON, a crit header, a missing, duplicate or wrongly
	// typed claim.
	ErrMalformed = errors.New("sdk: malformed token")
	// ErrAlgorithm: the header's alg is not HS256 (none, RS256, HS512, ...).
	ErrAlgorithm = errors.New("sdk: unsupported algorithm")
	// ErrSignature: a well-formed signature that matches none of the
	// source's keys.
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
	// ErrKind: a valid token of a kind the verifier does not accept (by
	// default, a checkout or customer-account token: see WithKinds). It
	// is checked last: an expired buyer token is ErrExpired.
	ErrKind = errors.New("sdk: token kind not accepted")
	// ErrNoKeys: the key source has no usable keys. It is
	// keysource.ErrNoKeys, the same value, so errors.Is finds either
	// package's name in a Verify error and in a key source's error.
	ErrNoKeys = keysource.ErrNoKeys
)

// Sentinel errors of the HTTP middleware (passed to WithErrorHandler and
// WithOnReject).
var (
	// ErrNoToken: the request carries no usable bearer token (no
	// Authorization header, another scheme, "Bearer" without a token, or
	// more than one token).
	ErrNoToken = errors.New("sdk: no bearer token")
	// ErrHint: a client hint header is malformed or contradicts the
	// verified token (user ID, shop domain).
	ErrHint = errors.New("sdk: bad client hint")
	// ErrOrigin: a CORS preflight from an origin that WithAllowedOrigins
	// does not allow.
	ErrOrigin = errors.New("sdk: origin not allowed")
)

// ExpiredError is the error of a token past its expiry: errors.Is(err,
// ErrExpired) holds, and errors.As(err, &e) gives the times, to log by how
// much a token expired or to tell clock skew from a stale token. It holds
// no token content. Its message is built only when read, so a flood of
// expired tokens costs one small allocation each.
type ExpiredError struct {
	// ExpiresAt is the token's exp.
	ExpiresAt time.Time
	// Now is the verifier's clock at the check.
	Now time.Time
	// Leeway is the allowance in force: the token failed because Now >=
	// ExpiresAt + Leeway.
	Leeway time.Duration
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("%v: exp was %s ago (leeway %v)", ErrExpired, seconds(e.Now.Sub(e.ExpiresAt)), e.Leeway)
}

// Unwrap returns ErrExpired.
func (e *ExpiredError) Unwrap() error { return ErrExpired }

// NotYetValidError is the error of a token whose nbf or iat lies beyond the
// leeway in the future, usually a sign that this server's clock is behind:
// errors.Is(err, ErrNotYetValid) holds, and errors.As(err, &e) gives the
// times. It holds no token content.
type NotYetValidError struct {
	// Claim is the claim that failed: "nbf" or "iat".
	Claim string
	// ValidFrom is that claim's time.
	ValidFrom time.Time
	// Now is the verifier's clock at the check.
	Now time.Time
	// Leeway is the allowance in force: the token failed because Now <
	// ValidFrom - Leeway.
	Leeway time.Duration
}

func (e *NotYetValidError) Error() string {
	return fmt.Sprintf("%v: %s is %s in the future (leeway %v); check this server's clock", ErrNotYetValid, e.Claim, seconds(e.ValidFrom.Sub(e.Now)), e.Leeway)
}

// Unwrap returns ErrNotYetValid.
func (e *NotYetValidError) Unwrap() error { return ErrNotYetValid }

// sentinels pairs every sentinel with its short name, the one list that
// errorName and the telemetry's precomputed metric attributes both use.
var sentinels = [...]struct {
	err  error
	name string
}{
	{ErrMalformed, "malformed"},
	{ErrAlgorithm, "algorithm"},
	{ErrSignature, "signature"},
	{ErrExpired, "expired"},
	{ErrNotYetValid, "not_yet_valid"},
	{ErrAudience, "audience"},
	{ErrIssuer, "issuer"},
	{ErrKind, "kind"},
	{ErrNoKeys, "no_keys"},
	{ErrNoToken, "no_token"},
	{ErrHint, "hint"},
	{ErrOrigin, "origin"},
}

// sentinelIndex returns the position in sentinels of the sentinel err
// wraps, or -1.
func sentinelIndex(err error) int {
	for i := range sentinels {
		if errors.Is(err, sentinels[i].err) {
			return i
		}
	}
	return -1
}

// errorName returns the short name of the sentinel err wraps, for the
// error.type telemetry attribute and JSON error bodies.
func errorName(err error) string {
	if err == nil {
		return ""
	}
	if i := sentinelIndex(err); i >= 0 {
		return sentinels[i].name
	}
	return "other"
}

// ErrorName returns the short, stable name of the sentinel that err wraps
// ("expired", "signature", ...), "" for nil and "other" for errors that do
// not come from Verify. Useful as a metric label or in a JSON error body.
func ErrorName(err error) string { return errorName(err) }

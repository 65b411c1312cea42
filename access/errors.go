package access

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors of stores. Every Store method's error wraps at most one.
var (
	// ErrNotFound: no record is stored for the key.
	ErrNotFound = errors.New("access: no stored token")
	// ErrLocked: another live lease holds the key's lock.
	ErrLocked = errors.New("access: locked by another holder")
	// ErrConflict: the stored record's version is not the one the write
	// expected; someone else wrote (or deleted) it first.
	ErrConflict = errors.New("access: record changed since it was read")
	// ErrFenced: a newer lease of the key was granted after the writer's;
	// the writer's lease ended and it must not write.
	ErrFenced = errors.New("access: lease superseded")
)

// Sentinel errors of the Manager. Each message says what to do; errors
// wrap one of these (and a *ShopifyError when Shopify answered), so
// callers branch with errors.Is and read details with errors.As.
var (
	// ErrInvalidSubjectToken: Shopify refused the session token
	// (invalid_subject_token): it expired on the way or was not issued
	// for this app. Answer the extension 401 so that it fetches a fresh
	// session token and retries.
	ErrInvalidSubjectToken = errors.New("access: shopify refused the session token: answer 401 so the extension fetches a fresh session token and retries")
	// ErrInvalidClient: Shopify refused the app's credentials
	// (invalid_client): the app was uninstalled from the shop, or the
	// client ID or secret are wrong. Alert an operator; stop calling for
	// the shop until it installs the app again.
	ErrInvalidClient = errors.New("access: shopify refused the app's credentials: the app was uninstalled or the client id or secret are wrong")
	// ErrReauthorize: the shop's grant cannot be renewed without the
	// merchant: the refresh token expired or was revoked (invalid_grant),
	// or a non-expiring or online token was rejected. The next Offline
	// call with a session token (the merchant opening the app) exchanges
	// a new one; background jobs must wait for that.
	ErrReauthorize = errors.New("access: the shop must re-authorize the app: open the app in the shop's admin or POS to exchange a new token")
	// ErrNotExchangeable: the session is not an admin or POS session
	// (checkout and customer-account session tokens cannot be exchanged
	// for access tokens), or it lacks the shop or user it needs.
	ErrNotExchangeable = errors.New("access: only admin and pos session tokens can be exchanged for access tokens")
	// ErrNoToken: nothing usable is stored for the shop and the call has
	// no session token to exchange (OfflineFor, MigrateToExpiring). The
	// shop must open the app first. Errors wrapping it also wrap
	// ErrNotFound when no record exists at all.
	ErrNoToken = errors.New("access: no token stored for the shop: it must open the app (token exchange) first")
	// ErrUnavailable: Shopify answered 429 or 5xx, or could not be
	// reached, for every attempt within the retry budget. Retry later.
	ErrUnavailable = errors.New("access: shopify unavailable after bounded retries: retry later")
	// ErrProtocol: Shopify's answer is not what the protocol promises (bad
	// JSON, no access_token, an expiring token without expires_in or
	// refresh_token, another user's online token).
	ErrProtocol = errors.New("access: unexpected response from shopify")
	// ErrDecrypt: a stored token cannot be decrypted: the encryption key
	// that sealed it is no longer in the key source, or the ciphertext
	// was altered or moved from another record.
	ErrDecrypt = errors.New("access: stored token cannot be decrypted: check the encryption key source (a rotated-out key, or a tampered or moved record)")
	// ErrLockTimeout: another instance held the shop's fleet-wide lock for
	// longer than the lock wait (it wraps ErrLocked too).
	ErrLockTimeout = errors.New("access: timed out waiting for another instance's refresh of the shop")
)

// sentinels pairs the Manager's sentinels with short names for the
// error.type and outcome telemetry attributes.
var sentinels = [...]struct {
	err  error
	name string
}{
	{ErrInvalidSubjectToken, "invalid_subject_token"},
	{ErrInvalidClient, "invalid_client"},
	{ErrReauthorize, "reauthorize"},
	{ErrNotExchangeable, "not_exchangeable"},
	{ErrNoToken, "no_token"},
	{ErrUnavailable, "unavailable"},
	{ErrProtocol, "protocol"},
	{ErrDecrypt, "decrypt"},
	{ErrLockTimeout, "lock_timeout"},
	{ErrFenced, "fenced"},
	{ErrConflict, "conflict"},
	{ErrLocked, "locked"},
	{ErrNotFound, "not_found"},
}

// errorName returns the short name of the sentinel err wraps.
func errorName(err error) string {
	if err == nil {
		return ""
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	switch {
	case errors.Is(err, errCanceled):
		return "canceled"
	}
	return "other"
}

// errCanceled marks context cancellation in errorName (see ctxErr).
var errCanceled = errors.New("access: canceled")

// ShopifyError is an error answer from Shopify's token endpoint (or the
// last of several, when retries ran out). It carries what support needs
// and never a token or secret: Shopify's error description is dropped if
// it contains anything that was sent.
type ShopifyError struct {
	// Status is the HTTP status code.
	Status int
	// Code is Shopify's OAuth error code ("invalid_subject_token",
	// "invalid_client", "invalid_grant", "invalid_request", ...); empty when
	// the body had none (429, 5xx).
	Code string
	// Description is Shopify's error_description, if any.
	Description string
	// RequestID is Shopify's X-Request-Id: quote it to Shopify support.
	RequestID string
	// RetryAfter is what a 429's Retry-After header asked for.
	RetryAfter time.Duration
	// Attempts is how many requests were made, retries included.
	Attempts int

	err error // the sentinel
}

// Error says what Shopify answered and what to do.
func (e *ShopifyError) Error() string {
	var b strings.Builder
	if e.err != nil {
		b.WriteString(e.err.Error())
		b.WriteString(": ")
	}
	b.WriteString("shopify answered ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Description != "" {
		b.WriteString(" (")
		b.WriteString(e.Description)
		b.WriteString(")")
	}
	if e.Attempts > 1 {
		b.WriteString(" after ")
		b.WriteString(strconv.Itoa(e.Attempts))
		b.WriteString(" attempts")
	}
	if e.RequestID != "" {
		b.WriteString(", x-request-id ")
		b.WriteString(e.RequestID)
	}
	return b.String()
}

// Unwrap returns the sentinel (ErrInvalidSubjectToken, ErrInvalidClient,
// ErrReauthorize, ErrUnavailable, ErrProtocol).
func (e *ShopifyError) Unwrap() error { return e.err }

package sdk

import (
	"errors"
	"math"
	"net/http"
	"strings"

	"github.com/possession-dev/possession/sdk/internal/token"
)

// Request headers in which a POS extension reports its
// api.session.currentSession next to the session token. Middleware reads
// them into Session.Hints. Except for the user ID and the shop domain,
// which the middleware checks against the token, they are NOT verified:
// a client can send any value.
//
// IDs are positive decimal integers, as POS reports them (shopId: 1234,
// not a GID); user IDs (HeaderUserID, HeaderStaffMemberID) land in Hints
// as their decimal strings, shop and location IDs as int64. The shop
// domain is a bare host, "example.myshopify.com".
const (
	// HeaderShopID carries currentSession.shopId. Unverified.
	HeaderShopID = "X-Possession-Shop-Id"
	// HeaderShopDomain carries currentSession.shopDomain. It must equal
	// the token's shop (Session.Shop, compared case-insensitively), or
	// the request is rejected.
	HeaderShopDomain = "X-Possession-Shop-Domain"
	// HeaderUserID carries currentSession.userId. It must equal the
	// token's sub (Session.UserID), or the request is rejected.
	HeaderUserID = "X-Possession-User-Id"
	// HeaderLocationID carries currentSession.locationId. Unverified.
	HeaderLocationID = "X-Possession-Location-Id"
	// HeaderStaffMemberID carries currentSession.staffMemberId, the staff
	// member pinned in (who may differ from the logged-in user). Unverified.
	HeaderStaffMemberID = "X-Possession-Staff-Member-Id"
)

// hintHeaders lists the hint headers, for CORS.
var hintHeaders = []string{HeaderShopID, HeaderShopDomain, HeaderUserID, HeaderLocationID, HeaderStaffMemberID}

// hintError says which hint header was rejected and why. It wraps ErrHint.
type hintError struct {
	header string
	reason string
}

func (e *hintError) Error() string {
	return ErrHint.Error() + ": header " + e.header + " " + e.reason
}

func (e *hintError) Unwrap() error { return ErrHint }

// hintMessage is the client-facing explanation of a hint error: which
// header, and why (the value itself is not echoed).
func hintMessage(err error) string {
	var he *hintError
	if errors.As(err, &he) {
		return "client hint header " + he.header + " " + he.reason
	}
	return "a client hint header is malformed"
}

// hintNames are the hint headers in the order hintValues holds them.
var hintNames = [...]string{HeaderShopID, HeaderUserID, HeaderLocationID, HeaderStaffMemberID, HeaderShopDomain}

// hintValues are a request's hint header values as it sent them, in
// hintNames' order; "" for an absent header. Equal hintValues parse to
// equal Hints against the same session: the cache entry's hinted copy is
// kept with the values it was parsed from, so that a request sending
// them again is served the copy without parsing (withHints).
type hintValues [len(hintNames)]string

// readHints returns h's hint values. Every hint header must appear at most
// once and not be empty: which of two values would count? The header names
// are canonical constants, read from the map directly (see bearerToken).
func readHints(h http.Header) (hintValues, error) {
	var vals hintValues
	for i, name := range hintNames {
		switch v := h[name]; len(v) {
		case 0:
		case 1:
			if v[0] == "" {
				return hintValues{}, &hintError{name, "is empty"}
			}
			vals[i] = v[0]
		default:
			return hintValues{}, &hintError{name, "is repeated"}
		}
	}
	return vals, nil
}

// absent reports whether the request sent no hint header.
func (vals *hintValues) absent() bool { return *vals == hintValues{} }

// parse parses the hint values (of readHints, which has checked that no
// header is repeated or empty) and checks those the token can confirm
// (user ID, shop domain) against s: first each value's form, in
// hintNames' order, then the user and the shop. The strings of the Hints
// returned are views of vals'.
func (vals *hintValues) parse(s *Session) (Hints, error) {
	var hints Hints
	var err error
	if hints.ShopID, err = hintID(HeaderShopID, vals[0]); err != nil {
		return Hints{}, err
	}
	if hints.UserID, err = hintUserID(HeaderUserID, vals[1]); err != nil {
		return Hints{}, err
	}
	if hints.LocationID, err = hintID(HeaderLocationID, vals[2]); err != nil {
		return Hints{}, err
	}
	if hints.StaffMemberID, err = hintUserID(HeaderStaffMemberID, vals[3]); err != nil {
		return Hints{}, err
	}
	if hints.UserID != "" && hints.UserID != s.UserID {
		return Hints{}, &hintError{HeaderUserID, "contradicts the session token's user (sub)"}
	}
	domain, ok, err := hintValue(HeaderShopDomain, vals[4])
	if err != nil {
		return Hints{}, err
	}
	if ok {
		return hints, checkShopDomain(domain, s.Shop)
	}
	return hints, nil
}

// clone returns a copy of vals that shares no memory with a request: one
// string, which the copy's values are views of.
func (vals *hintValues) clone() hintValues {
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	var b strings.Builder
	b.Grow(n)
	for _, v := range vals {
		b.WriteString(v)
	}
	all := b.String()
	var c hintValues
	for i, v := range vals {
		c[i], all = all[:len(v)], all[len(v):]
	}
	return c
}

// checkShopDomain checks the shop domain hint against the token's shop:
// it must be a host name equal to it but for case.
func checkShopDomain(domain, shop string) error {
	// The usual case first: Verify's Session.Shop is a lower-case host
	// name (a label and a validated suffix), so a domain equal to it but
	// for ASCII case is one too.
	if domain == shop || asciiEqualFold(domain, shop) {
		return nil
	}
	// Otherwise, the full check names what is wrong (and folds Unicode as
	// strings.EqualFold does).
	if !isHostname(strings.ToLower(domain)) {
		return &hintError{HeaderShopDomain, "is not a shop domain (want a bare host such as example.myshopify.com)"}
	}
	if !strings.EqualFold(domain, shop) {
		return &hintError{HeaderShopDomain, "contradicts the session token's shop (dest)"}
	}
	return nil
}

// hintValue returns the trimmed value v of header name; ok is false when
// it is absent ("").
func hintValue(name, v string) (string, bool, error) {
	if v == "" {
		return "", false, nil
	}
	if v = trimHeaderSpace(v); v == "" {
		return "", false, &hintError{name, "is empty"}
	}
	return v, true, nil
}

// hintID parses an ID hint: a positive decimal integer without sign or
// leading zeros, at most int64. 0 means absent.
func hintID(name, v string) (int64, error) {
	v, ok, err := hintValue(name, v)
	if err != nil || !ok {
		return 0, err
	}
	return parseID(name, v)
}

// hintUserID parses a user ID hint as hintID does and returns it as its
// decimal string, the type of Session.UserID. "" means absent.
func hintUserID(name, v string) (string, error) {
	v, ok, err := hintValue(name, v)
	if err != nil || !ok {
		return "", err
	}
	if _, err := parseID(name, v); err != nil {
		return "", err
	}
	return v, nil
}

// parseID parses a positive decimal integer without sign or leading
// zeros, at most int64. v is not empty.
func parseID(name, v string) (int64, error) {
	if len(v) > 19 || v[0] == '0' {
		return 0, &hintError{name, "is not a positive decimal ID"}
	}
	var n uint64 // 19 digits stay below 1e19 < 2^64
	i := 0
	// POS IDs have 11 to 13 digits: the first eight are checked and
	// converted at once.
	if len(v) >= 8 {
		w := uint64(v[0]) | uint64(v[1])<<8 | uint64(v[2])<<16 | uint64(v[3])<<24 |
			uint64(v[4])<<32 | uint64(v[5])<<40 | uint64(v[6])<<48 | uint64(v[7])<<56
		if !token.EightDigits(w) {
			return 0, &hintError{name, "is not a positive decimal ID"}
		}
		n, i = uint64(token.EightDigitsValue(w)), 8
	}
	for ; i < len(v); i++ {
		d := v[i] - '0'
		if d > 9 {
			return 0, &hintError{name, "is not a positive decimal ID"}
		}
		n = n*10 + uint64(d)
	}
	if n > math.MaxInt64 {
		return 0, &hintError{name, "is not a positive decimal ID"}
	}
	return int64(n), nil
}

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

// parseHints reads the hint headers and checks those the token can
// confirm (user ID, shop domain) against s. The header names are canonical
// constants, read from the map directly (see bearerToken).
func parseHints(h http.Header, s *Session) (Hints, error) {
	var hints Hints
	var err error
	if hints.ShopID, err = hintID(h, HeaderShopID); err != nil {
		return Hints{}, err
	}
	if hints.UserID, err = hintUserID(h, HeaderUserID); err != nil {
		return Hints{}, err
	}
	if hints.LocationID, err = hintID(h, HeaderLocationID); err != nil {
		return Hints{}, err
	}
	if hints.StaffMemberID, err = hintUserID(h, HeaderStaffMemberID); err != nil {
		return Hints{}, err
	}
	if hints.UserID != "" && hints.UserID != s.UserID {
		return Hints{}, &hintError{HeaderUserID, "contradicts the session token's user (sub)"}
	}
	domain, ok, err := hintValue(h, HeaderShopDomain)
	if err != nil {
		return Hints{}, err
	}
	if ok {
		return hints, checkShopDomain(domain, s.Shop)
	}
	return hints, nil
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

// hintValue returns the trimmed value of header name; ok is false when it
// is absent. Repeating a hint header is an error: which one would count?
func hintValue(h http.Header, name string) (v string, ok bool, err error) {
	values := h[name]
	switch len(values) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", false, &hintError{name, "is repeated"}
	}
	v = trimHeaderSpace(values[0])
	if v == "" {
		return "", false, &hintError{name, "is empty"}
	}
	return v, true, nil
}

// hintID parses an ID hint: a positive decimal integer without sign or
// leading zeros, at most int64. 0 means absent.
func hintID(h http.Header, name string) (int64, error) {
	v, ok, err := hintValue(h, name)
	if err != nil || !ok {
		return 0, err
	}
	return parseID(name, v)
}

// hintUserID parses a user ID hint as hintID does and returns it as its
// decimal string, the type of Session.UserID. "" means absent.
func hintUserID(h http.Header, name string) (string, error) {
	v, ok, err := hintValue(h, name)
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

package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

const (
	mwSecret   = "middleware-test-secret-0123456789abc"
	mwClientID = "middleware-client"
	mwShop     = "mw-shop.myshopify.com"
	mwUser     = "4242"
)

var mwNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mwMinter() sdktest.Minter {
	return sdktest.Minter{Secret: mwSecret, ClientID: mwClientID, Shop: mwShop, UserID: mwUser, Now: func() time.Time { return mwNow }, EscapeSlashes: true}
}

func mwVerifier(t testing.TB, src keysource.Source) *sdk.Verifier {
	t.Helper()
	v, err := sdk.New(src, sdk.WithClientID(mwClientID), sdk.WithClock(func() time.Time { return mwNow }))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// rejection is what WithOnReject saw.
type rejection struct {
	status int
	err    error
}

// serve runs one request through the middleware and returns the response,
// the session the next handler saw (nil if not called) and the rejection.
func serve(t testing.TB, v *sdk.Verifier, r *http.Request, opts ...sdk.MiddlewareOption) (*http.Response, *sdk.Session, *rejection) {
	t.Helper()
	var got *sdk.Session
	var rej *rejection
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := sdk.SessionFrom(r.Context())
		if !ok {
			t.Error("next called without a session")
		}
		got = s
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "next")
	})
	opts = append(opts, sdk.WithOnReject(func(_ *http.Request, status int, err error) {
		rej = &rejection{status, err}
	}))
	rec := httptest.NewRecorder()
	v.Middleware(next, opts...).ServeHTTP(rec, r)
	return rec.Result(), got, rej
}

func get(headers map[string][]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://backend.test/api/session", nil)
	for k, vs := range headers {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return r
}

type errBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func decodeBody(t testing.TB, resp *http.Response) (errBody, string) {
	t.Helper()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var b errBody
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("body %q is not JSON: %v", raw, err)
	}
	if b.Message == "" {
		t.Errorf("body %q has no message", raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	return b, string(raw)
}

func TestMiddlewareAuthorizationShapes(t *testing.T) {
	m := mwMinter()
	tok := m.Admin()
	v := mwVerifier(t, keysource.MustStatic(mwSecret))

	tests := []struct {
		name          string
		authorization []string // nil: no header
		wantStatus    int
		wantErr       error // nil: next is called
		wantAuthn     string
		malformedHdr  bool
		wantInErr     string // in the error's text, for the logs
	}{
		{name: "canonical", authorization: []string{"Bearer " + tok}, wantStatus: 200},
		{name: "lower-case scheme", authorization: []string{"bearer " + tok}, wantStatus: 200},
		{name: "upper-case scheme", authorization: []string{"BEARER " + tok}, wantStatus: 200},
		{name: "mixed-case scheme", authorization: []string{"bEaReR " + tok}, wantStatus: 200},
		{name: "extra spaces", authorization: []string{"  Bearer    " + tok + "   "}, wantStatus: 200},
		{name: "tabs", authorization: []string{"Bearer\t" + tok + "\t"}, wantStatus: 200},
		{name: "no header", wantStatus: 401, wantErr: sdk.ErrNoToken, wantAuthn: "Bearer"},
		{name: "empty header", authorization: []string{""}, wantStatus: 401, wantErr: sdk.ErrNoToken, wantAuthn: "Bearer"},
		{name: "blank header", authorization: []string{"   "}, wantStatus: 401, wantErr: sdk.ErrNoToken, wantAuthn: "Bearer"},
		{name: "basic scheme", authorization: []string{"Basic dXNlcjpwYXNz"}, wantStatus: 401, wantErr: sdk.ErrNoToken, wantAuthn: "Bearer"},
		{name: "token without scheme", authorization: []string{tok}, wantStatus: 401, wantErr: sdk.ErrNoToken, wantAuthn: "Bearer"},
		{name: "scheme glued to token", authorization: []string{"Bearer" + tok}, wantStatus: 401, wantErr: sdk.ErrNoToken, wantAuthn: "Bearer"},
		{name: "bearer without token", authorization: []string{"Bearer"}, wantStatus: 400, wantErr: sdk.ErrNoToken, wantAuthn: `Bearer error="invalid_request"`, malformedHdr: true},
		{name: "bearer and spaces only", authorization: []string{"Bearer   "}, wantStatus: 400, wantErr: sdk.ErrNoToken, wantAuthn: `Bearer error="invalid_request"`, malformedHdr: true},
		{name: "two tokens", authorization: []string{"Bearer " + tok + " " + tok}, wantStatus: 400, wantErr: sdk.ErrNoToken, wantAuthn: `Bearer error="invalid_request"`, malformedHdr: true},
		{name: "three tokens", authorization: []string{"Bearer a  b\tc "}, wantStatus: 400, wantErr: sdk.ErrNoToken, wantAuthn: `Bearer error="invalid_request"`, malformedHdr: true, wantInErr: "3 values after Bearer"},
		{name: "two headers", authorization: []string{"Bearer " + tok, "Bearer " + tok}, wantStatus: 400, wantErr: sdk.ErrNoToken, wantAuthn: `Bearer error="invalid_request"`, malformedHdr: true, wantInErr: "2 Authorization headers"},
		{name: "non-breaking space is not a separator", authorization: []string{"Bearer\u00a0" + tok}, wantStatus: 401, wantErr: sdk.ErrNoToken, wantAuthn: "Bearer"},
		{name: "garbage token", authorization: []string{"Bearer not-a-jwt"}, wantStatus: 401, wantErr: sdk.ErrMalformed, wantAuthn: `Bearer error="invalid_token"`},
		{name: "tabs and spaces around the token", authorization: []string{"\t Bearer \t " + tok + " \t"}, wantStatus: 200},
		{name: "two tokens separated by a tab", authorization: []string{"Bearer " + tok + "\t" + tok}, wantStatus: 400, wantErr: sdk.ErrNoToken, wantAuthn: `Bearer error="invalid_request"`, malformedHdr: true},
		{name: "scheme alone in another case", authorization: []string{" bEARER\t"}, wantStatus: 400, wantErr: sdk.ErrNoToken, wantAuthn: `Bearer error="invalid_request"`, malformedHdr: true},
		{name: "longer scheme", authorization: []string{"Bearerx " + tok}, wantStatus: 401, wantErr: sdk.ErrNoToken, wantAuthn: "Bearer"},
		{name: "shorter scheme", authorization: []string{"Bear " + tok}, wantStatus: 401, wantErr: sdk.ErrNoToken, wantAuthn: "Bearer"},
		{name: "scheme not first", authorization: []string{tok + " Bearer"}, wantStatus: 401, wantErr: sdk.ErrNoToken, wantAuthn: "Bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string][]string{}
			if tt.authorization != nil {
				h["Authorization"] = tt.authorization
			}
			resp, s, rej := serve(t, v, get(h))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantErr == nil {
				if s == nil || s.UserID != mwUser || s.Shop != mwShop {
					t.Fatalf("session = %+v", s)
				}
				if rej != nil {
					t.Fatalf("rejected: %v", rej.err)
				}
				return
			}
			if s != nil {
				t.Fatal("next was called")
			}
			if rej == nil || !errors.Is(rej.err, tt.wantErr) || rej.status != tt.wantStatus {
				t.Fatalf("rejection = %+v, want %v with %d", rej, tt.wantErr, tt.wantStatus)
			}
			if !strings.Contains(rej.err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not say %q", rej.err, tt.wantInErr)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantAuthn {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantAuthn)
			}
			body, raw := decodeBody(t, resp)
			if body.Error != sdk.ErrorName(tt.wantErr) {
				t.Errorf("body error = %q, want %q", body.Error, sdk.ErrorName(tt.wantErr))
			}
			if strings.Contains(raw, tok) || strings.Contains(rej.err.Error(), tok) {
				t.Error("the token leaked into the body or the error")
			}
			if tt.wantErr == sdk.ErrNoToken {
				if resp.Header.Get(sdk.HeaderRetryInvalidSession) != "" {
					t.Error("retry header set although a fresh token cannot help")
				}
			}
		})
	}
}

// emptySource has no keys, as a source whose first load failed.
type emptySource struct{}

func (emptySource) Keyring() *keysource.Keyring { return nil }

func TestMiddlewareVerifyErrors(t *testing.T) {
	m := mwMinter()
	tests := []struct {
		name       string
		token      string
		src        keysource.Source
		wantErr    error
		wantStatus int
		wantRetry  bool
	}{
		{name: "expired", token: m.Admin(sdktest.At(mwNow.Add(-5 * time.Minute))), wantErr: sdk.ErrExpired, wantStatus: 401, wantRetry: true},
		{name: "not yet valid", token: m.Admin(sdktest.At(mwNow.Add(5 * time.Minute))), wantErr: sdk.ErrNotYetValid, wantStatus: 401, wantRetry: true},
		{name: "forged", token: sdktest.Minter{Secret: "other", ClientID: mwClientID, Shop: mwShop, Now: m.Now}.Admin(), wantErr: sdk.ErrSignature, wantStatus: 401, wantRetry: true},
		{name: "other app", token: m.Admin(sdktest.Set("aud", "other-client")), wantErr: sdk.ErrAudience, wantStatus: 401, wantRetry: true},
		{name: "bad dest", token: m.Admin(sdktest.Set("dest", "https://evil.example.com")), wantErr: sdk.ErrIssuer, wantStatus: 401, wantRetry: true},
		{name: "alg none", token: mustSignRaw(t, `{"alg":"none","typ":"JWT"}`, `{"exp":1}`), wantErr: sdk.ErrAlgorithm, wantStatus: 401, wantRetry: true},
		{name: "malformed", token: "a.b", wantErr: sdk.ErrMalformed, wantStatus: 401, wantRetry: true},
		{name: "no keys", token: m.Admin(), src: emptySource{}, wantErr: sdk.ErrNoKeys, wantStatus: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			if src == nil {
				src = keysource.MustStatic(mwSecret)
			}
			v := mwVerifier(t, src)
			resp, s, rej := serve(t, v, get(map[string][]string{"Authorization": {"Bearer " + tt.token}}))
			if s != nil {
				t.Fatal("next was called")
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if rej == nil || !errors.Is(rej.err, tt.wantErr) {
				t.Fatalf("rejection = %+v, want %v", rej, tt.wantErr)
			}
			retry := resp.Header.Get(sdk.HeaderRetryInvalidSession)
			authn := resp.Header.Get("WWW-Authenticate")
			if tt.wantRetry {
				if retry != "1" || authn != `Bearer error="invalid_token"` {
					t.Errorf("retry = %q, WWW-Authenticate = %q", retry, authn)
				}
			} else if retry != "" || authn != "" {
				t.Errorf("server-side failure sent retry = %q, WWW-Authenticate = %q", retry, authn)
			}
			body, raw := decodeBody(t, resp)
			if body.Error != sdk.ErrorName(tt.wantErr) {
				t.Errorf("body error = %q, want %q", body.Error, sdk.ErrorName(tt.wantErr))
			}
			if strings.Contains(raw, tt.token) || strings.Contains(raw, mwSecret) {
				t.Error("body leaks the token or the secret")
			}
			if strings.Contains(rej.err.Error(), tt.token) {
				t.Error("error leaks the token")
			}
		})
	}
}

func mustSignRaw(t testing.TB, header, payload string) string {
	t.Helper()
	tok, err := sdktest.SignRaw(mwSecret, []byte(header), []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestMiddlewareHints(t *testing.T) {
	m := mwMinter()
	tok := m.Admin()
	v := mwVerifier(t, keysource.MustStatic(mwSecret))
	tests := []struct {
		name      string
		hints     map[string][]string
		want      sdk.Hints
		wantErr   bool
		wantInMsg string
	}{
		{name: "none", want: sdk.Hints{}},
		{name: "all", hints: map[string][]string{
			sdk.HeaderShopID: {"1001"}, sdk.HeaderUserID: {mwUser}, sdk.HeaderLocationID: {"77"},
			sdk.HeaderStaffMemberID: {"9"}, sdk.HeaderShopDomain: {mwShop},
		}, want: sdk.Hints{ShopID: 1001, UserID: mwUser, LocationID: 77, StaffMemberID: "9"}},
		{name: "surrounding spaces", hints: map[string][]string{sdk.HeaderLocationID: {"  77 "}}, want: sdk.Hints{LocationID: 77}},
		{name: "shop domain other case", hints: map[string][]string{sdk.HeaderShopDomain: {"MW-Shop.MyShopify.com"}}, want: sdk.Hints{}},
		{name: "largest ID", hints: map[string][]string{sdk.HeaderShopID: {"9223372036854775807"}}, want: sdk.Hints{ShopID: 9223372036854775807}},
		{name: "user ID types agree", hints: map[string][]string{sdk.HeaderUserID: {" " + mwUser + "\t"}}, want: sdk.Hints{UserID: mwUser}},
		{name: "staff member ID validated", hints: map[string][]string{sdk.HeaderStaffMemberID: {"007"}}, wantErr: true, wantInMsg: sdk.HeaderStaffMemberID},
		{name: "user ID validated", hints: map[string][]string{sdk.HeaderUserID: {"0" + mwUser}}, wantErr: true, wantInMsg: sdk.HeaderUserID},
		{name: "staff member differs from user", hints: map[string][]string{sdk.HeaderUserID: {mwUser}, sdk.HeaderStaffMemberID: {"5"}}, want: sdk.Hints{UserID: mwUser, StaffMemberID: "5"}},

		{name: "user contradicts sub", hints: map[string][]string{sdk.HeaderUserID: {"4243"}}, wantErr: true, wantInMsg: sdk.HeaderUserID + " contradicts"},
		{name: "shop contradicts dest", hints: map[string][]string{sdk.HeaderShopDomain: {"other.myshopify.com"}}, wantErr: true, wantInMsg: sdk.HeaderShopDomain + " contradicts"},
		{name: "shop domain with scheme", hints: map[string][]string{sdk.HeaderShopDomain: {"https://" + mwShop}}, wantErr: true, wantInMsg: "not a shop domain"},
		{name: "shop domain padded", hints: map[string][]string{sdk.HeaderShopDomain: {"\t" + mwShop + " "}}, want: sdk.Hints{}},
		// U+017F folds to s under strings.EqualFold but is no host name.
		{name: "shop domain with a long s", hints: map[string][]string{sdk.HeaderShopDomain: {"mw-\u017fhop.myshopify.com"}}, wantErr: true, wantInMsg: "not a shop domain"},
		{name: "shop domain a prefix of the shop", hints: map[string][]string{sdk.HeaderShopDomain: {"mw-shop.myshopify"}}, wantErr: true, wantInMsg: sdk.HeaderShopDomain + " contradicts"},
		{name: "nineteen digits", hints: map[string][]string{sdk.HeaderLocationID: {"1000000000000000000"}}, want: sdk.Hints{LocationID: 1000000000000000000}},
		{name: "largest uint64 digits", hints: map[string][]string{sdk.HeaderShopID: {"9999999999999999999"}}, wantErr: true, wantInMsg: sdk.HeaderShopID},
		{name: "digit then colon", hints: map[string][]string{sdk.HeaderShopID: {"1:"}}, wantErr: true, wantInMsg: sdk.HeaderShopID},
		{name: "digit then slash", hints: map[string][]string{sdk.HeaderShopID: {"1/"}}, wantErr: true, wantInMsg: sdk.HeaderShopID},
		{name: "negative ID", hints: map[string][]string{sdk.HeaderShopID: {"-1"}}, wantErr: true, wantInMsg: sdk.HeaderShopID},
		{name: "plus sign", hints: map[string][]string{sdk.HeaderShopID: {"+1"}}, wantErr: true, wantInMsg: sdk.HeaderShopID},
		{name: "zero", hints: map[string][]string{sdk.HeaderLocationID: {"0"}}, wantErr: true, wantInMsg: sdk.HeaderLocationID},
		{name: "leading zero", hints: map[string][]string{sdk.HeaderLocationID: {"077"}}, wantErr: true, wantInMsg: sdk.HeaderLocationID},
		{name: "not a number", hints: map[string][]string{sdk.HeaderStaffMemberID: {"abc"}}, wantErr: true, wantInMsg: sdk.HeaderStaffMemberID},
		{name: "GID", hints: map[string][]string{sdk.HeaderShopID: {"gid://shopify/Shop/1"}}, wantErr: true, wantInMsg: sdk.HeaderShopID},
		{name: "overflow", hints: map[string][]string{sdk.HeaderShopID: {"9223372036854775808"}}, wantErr: true, wantInMsg: sdk.HeaderShopID},
		{name: "twenty digits", hints: map[string][]string{sdk.HeaderShopID: {"12345678901234567890"}}, wantErr: true, wantInMsg: sdk.HeaderShopID},
		{name: "empty", hints: map[string][]string{sdk.HeaderLocationID: {" "}}, wantErr: true, wantInMsg: "is empty"},
		{name: "repeated", hints: map[string][]string{sdk.HeaderLocationID: {"1", "2"}}, wantErr: true, wantInMsg: "is repeated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string][]string{"Authorization": {"Bearer " + tok}}
			for k, v := range tt.hints {
				h[k] = v
			}
			resp, s, rej := serve(t, v, get(h))
			if tt.wantErr {
				if resp.StatusCode != http.StatusBadRequest || s != nil {
					t.Fatalf("status = %d, next called = %v", resp.StatusCode, s != nil)
				}
				if rej == nil || !errors.Is(rej.err, sdk.ErrHint) {
					t.Fatalf("rejection = %+v, want ErrHint", rej)
				}
				body, _ := decodeBody(t, resp)
				if body.Error != "hint" || !strings.Contains(body.Message, tt.wantInMsg) {
					t.Errorf("body = %+v, want error hint and %q in the message", body, tt.wantInMsg)
				}
				if resp.Header.Get(sdk.HeaderRetryInvalidSession) != "" {
					t.Error("retry header on a hint error")
				}
				return
			}
			if resp.StatusCode != 200 || s == nil {
				t.Fatalf("status = %d (rejection %+v)", resp.StatusCode, rej)
			}
			if s.Hints != tt.want {
				t.Errorf("hints = %+v, want %+v", s.Hints, tt.want)
			}
			// Same type, same value: the hint is the token's user.
			if s.Hints.UserID != "" && s.Hints.UserID != s.UserID {
				t.Errorf("Hints.UserID %q != Session.UserID %q", s.Hints.UserID, s.UserID)
			}
		})
	}
}

// The verifier caches sessions and hands the same *Session to every
// request with that token: hints must land on a copy.
func TestMiddlewareHintsDoNotMutateCachedSession(t *testing.T) {
	tok := mwMinter().Admin()
	v := mwVerifier(t, keysource.MustStatic(mwSecret))
	auth := []string{"Bearer " + tok}
	_, s1, _ := serve(t, v, get(map[string][]string{"Authorization": auth, sdk.HeaderLocationID: {"1"}}))
	_, s2, _ := serve(t, v, get(map[string][]string{"Authorization": auth, sdk.HeaderLocationID: {"2"}}))
	_, s3, _ := serve(t, v, get(map[string][]string{"Authorization": auth}))
	if s1 == nil || s2 == nil || s3 == nil {
		t.Fatal("a request was rejected")
	}
	if s1.Hints.LocationID != 1 || s2.Hints.LocationID != 2 || !s3.Hints.IsZero() {
		t.Fatalf("hints bled between requests: %+v %+v %+v", s1.Hints, s2.Hints, s3.Hints)
	}
	cached, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if !cached.Hints.IsZero() {
		t.Fatalf("cached session was mutated: %+v", cached.Hints)
	}
}

// Requests that send a cached token with the same hints share one hinted
// copy of its session; other hints get their own copy, and no earlier
// request's copy changes. The copy keeps no request's header strings. The
// request that verifies the token, and every request to a verifier
// without a cache, get a copy of their own.
func TestMiddlewareHintedSessionReuse(t *testing.T) {
	tok := mwMinter().Admin()
	v := mwVerifier(t, keysource.MustStatic(mwSecret))
	req := func(location, staff string) *http.Request {
		return get(map[string][]string{"Authorization": {"Bearer " + tok}, sdk.HeaderLocationID: {location}, sdk.HeaderStaffMemberID: {staff}, sdk.HeaderUserID: {mwUser}})
	}
	_, s0, _ := serve(t, v, req("1", "9")) // caches the session, hinted on a copy of its own
	first := req("1", " 9 ")
	_, s1, _ := serve(t, v, first)
	_, s2, _ := serve(t, v, req("1", "9"))
	_, s3, _ := serve(t, v, req("2", "9"))
	_, s4, _ := serve(t, v, req("1", "9"))
	if s0 == nil || s1 == nil || s2 == nil || s3 == nil || s4 == nil {
		t.Fatal("a request was rejected")
	}
	want1 := sdk.Hints{LocationID: 1, StaffMemberID: "9", UserID: mwUser}
	if s0 == s1 || s0.Hints != want1 {
		t.Errorf("the verifying request's session %p %+v is the one kept for later requests (%p)", s0, s0.Hints, s1)
	}
	if s1 != s2 || s1.Hints != want1 {
		t.Errorf("same hints: sessions %p and %p, hints %+v; want one session with %+v", s1, s2, s1.Hints, want1)
	}
	if s3 == s1 || s3.Hints.LocationID != 2 || s1.Hints != want1 {
		t.Errorf("other hints: %p %+v beside %p %+v", s3, s3.Hints, s1, s1.Hints)
	}
	if s4 == s1 || s4.Hints != want1 {
		t.Errorf("hints again after others: %p %+v", s4, s4.Hints)
	}
	staff := first.Header.Get(sdk.HeaderStaffMemberID)
	if p, q := unsafe.StringData(s1.Hints.StaffMemberID), unsafe.StringData(staff); uintptr(unsafe.Pointer(p)) >= uintptr(unsafe.Pointer(q)) && uintptr(unsafe.Pointer(p)) < uintptr(unsafe.Pointer(q))+uintptr(len(staff)) {
		t.Error("the shared hinted session keeps a view of a request header")
	}

	uncached, err := sdk.New(keysource.MustStatic(mwSecret), sdk.WithClientID(mwClientID), sdk.WithClock(func() time.Time { return mwNow }), sdk.WithCacheSize(0))
	if err != nil {
		t.Fatal(err)
	}
	_, u1, _ := serve(t, uncached, req("1", "9"))
	_, u2, _ := serve(t, uncached, req("1", "9"))
	if u1 == nil || u2 == nil || u1 == u2 || u1.Hints != want1 || u2.Hints != want1 {
		t.Errorf("without a cache: %p %+v, %p %+v; want two copies with %+v", u1, u1.Hints, u2, u2.Hints, want1)
	}
}

// Concurrent requests with one token and different hints each see their
// own hints (run with -race).
func TestMiddlewareHintedSessionConcurrent(t *testing.T) {
	tok := mwMinter().Admin()
	v := mwVerifier(t, keysource.MustStatic(mwSecret))
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sdk.SessionFrom(r.Context())
		if want := r.Header.Get(sdk.HeaderLocationID); s == nil || strconv.FormatInt(s.Hints.LocationID, 10) != want {
			t.Errorf("location hint %q: session %+v", want, s)
		}
	}))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				r := get(map[string][]string{"Authorization": {"Bearer " + tok}, sdk.HeaderLocationID: {strconv.Itoa(1 + (g+i)%3)}})
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					t.Errorf("status %d", w.Code)
					return
				}
			}
		})
	}
	wg.Wait()
}

// The next handler's context is the request's with the session added:
// the request's values, deadline and cancellation carry through, with
// hints (the session's copy lives in the context) or without.
func TestMiddlewareContext(t *testing.T) {
	type key struct{}
	tok := mwMinter().Admin()
	v := mwVerifier(t, keysource.MustStatic(mwSecret))
	for _, hinted := range []bool{false, true} {
		parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, "outer"))
		deadline := time.Now().Add(time.Hour) // context deadlines run on the real clock
		parent, cancelDeadline := context.WithDeadline(parent, deadline)
		r := get(map[string][]string{"Authorization": {"Bearer " + tok}}).WithContext(parent)
		if hinted {
			r.Header.Set(sdk.HeaderLocationID, "77")
		}
		var inner context.Context
		var s *sdk.Session
		h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner = r.Context()
			s, _ = sdk.SessionFrom(inner)
		}))
		h.ServeHTTP(httptest.NewRecorder(), r)
		if s == nil || s.Shop != mwShop || (s.Hints.LocationID == 77) != hinted {
			t.Fatalf("hinted %v: session %+v", hinted, s)
		}
		if inner.Value(key{}) != "outer" {
			t.Errorf("hinted %v: the request context's value is lost", hinted)
		}
		if d, ok := inner.Deadline(); !ok || !d.Equal(deadline) {
			t.Errorf("hinted %v: deadline %v, %v", hinted, d, ok)
		}
		child, cancelChild := context.WithCancel(inner)
		cause := errors.New("client went away")
		cancel(cause)
		select {
		case <-child.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("hinted %v: cancelling the request does not reach a context derived from the handler's", hinted)
		}
		if !errors.Is(inner.Err(), context.Canceled) || context.Cause(child) != cause {
			t.Errorf("hinted %v: Err %v, Cause %v", hinted, inner.Err(), context.Cause(child))
		}
		if hinted && !strings.Contains(fmt.Sprint(inner), "WithValue") {
			t.Errorf("String() = %q", fmt.Sprint(inner))
		}
		cancelChild()
		cancelDeadline()
	}
}

func TestSessionFromEmptyContext(t *testing.T) {
	if s, ok := sdk.SessionFrom(context.Background()); ok || s != nil {
		t.Fatalf("SessionFrom(empty) = %v, %v", s, ok)
	}
}

// The hint span attributes (TestMiddlewareHintsOnSpan and
// TestMiddlewareHintsFollowUserIDPrivacy) are tested with the
// OpenTelemetry SDK in the test module, test/sdk.

func TestMiddlewareCORS(t *testing.T) {
	const ext = "https://extensions.shopifycdn.com"
	tok := mwMinter().Admin()
	expired := mwMinter().Admin(sdktest.At(mwNow.Add(-time.Hour)))
	v := mwVerifier(t, keysource.MustStatic(mwSecret))
	allow := sdk.WithAllowedOrigins(ext+"/", "https://CDN.shopify.com")

	preflight := func(origin string) *http.Request {
		r := httptest.NewRequest(http.MethodOptions, "http://backend.test/api/session", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		r.Header.Set("Access-Control-Request-Method", "GET")
		r.Header.Set("Access-Control-Request-Headers", "authorization,x-possession-location-id")
		return r
	}

	t.Run("preflight without token", func(t *testing.T) {
		resp, s, rej := serve(t, v, preflight(ext), allow)
		if resp.StatusCode != http.StatusNoContent || s != nil || rej != nil {
			t.Fatalf("status %d, next %v, rejection %+v", resp.StatusCode, s != nil, rej)
		}
		h := resp.Header
		if h.Get("Access-Control-Allow-Origin") != ext {
			t.Errorf("Allow-Origin = %q", h.Get("Access-Control-Allow-Origin"))
		}
		allowHeaders := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
		for _, name := range []string{"authorization", sdk.HeaderShopID, sdk.HeaderShopDomain, sdk.HeaderUserID, sdk.HeaderLocationID, sdk.HeaderStaffMemberID} {
			if !strings.Contains(allowHeaders, strings.ToLower(name)) {
				t.Errorf("Allow-Headers %q lacks %s", allowHeaders, name)
			}
		}
		if !strings.Contains(h.Get("Access-Control-Allow-Methods"), "GET") {
			t.Errorf("Allow-Methods = %q", h.Get("Access-Control-Allow-Methods"))
		}
		if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
			t.Errorf("Vary = %q", h.Values("Vary"))
		}
	})
	t.Run("preflight origin compared case-insensitively", func(t *testing.T) {
		resp, _, _ := serve(t, v, preflight("https://cdn.shopify.com"), allow)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://cdn.shopify.com" {
			t.Fatalf("status %d, Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	})
	t.Run("preflight from other origin", func(t *testing.T) {
		resp, s, rej := serve(t, v, preflight("https://evil.example"), allow)
		if resp.StatusCode != http.StatusForbidden || s != nil {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if rej == nil || rej.status != http.StatusForbidden || !errors.Is(rej.err, sdk.ErrOrigin) {
			t.Errorf("rejection %+v, want 403 with ErrOrigin", rej)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Error("Allow-Origin set for a foreign origin")
		}
		body, _ := decodeBody(t, resp)
		if body.Error != "origin" {
			t.Errorf("body = %+v", body)
		}
	})
	t.Run("preflight without CORS configured needs a token", func(t *testing.T) {
		resp, _, rej := serve(t, v, preflight(ext))
		if resp.StatusCode != 401 || rej == nil || !errors.Is(rej.err, sdk.ErrNoToken) {
			t.Fatalf("status %d, rejection %+v", resp.StatusCode, rej)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Error("CORS header without CORS configured")
		}
	})
	t.Run("OPTIONS that is not a preflight needs a token", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodOptions, "http://backend.test/api/session", nil)
		r.Header.Set("Origin", ext)
		resp, _, rej := serve(t, v, r, allow)
		if resp.StatusCode != 401 || rej == nil || !errors.Is(rej.err, sdk.ErrNoToken) {
			t.Fatalf("status %d, rejection %+v", resp.StatusCode, rej)
		}
	})
	t.Run("success exposes headers", func(t *testing.T) {
		r := get(map[string][]string{"Authorization": {"Bearer " + tok}, "Origin": {ext}})
		resp, s, _ := serve(t, v, r, allow)
		if resp.StatusCode != 200 || s == nil {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != ext {
			t.Errorf("Allow-Origin = %q", resp.Header.Get("Access-Control-Allow-Origin"))
		}
	})
	t.Run("401 readable by the browser", func(t *testing.T) {
		r := get(map[string][]string{"Authorization": {"Bearer " + expired}, "Origin": {ext}})
		resp, _, rej := serve(t, v, r, allow)
		if resp.StatusCode != 401 || rej == nil || !errors.Is(rej.err, sdk.ErrExpired) {
			t.Fatalf("status %d, rejection %+v", resp.StatusCode, rej)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != ext {
			t.Errorf("Allow-Origin = %q", resp.Header.Get("Access-Control-Allow-Origin"))
		}
		expose := resp.Header.Get("Access-Control-Expose-Headers")
		if !strings.Contains(expose, sdk.HeaderRetryInvalidSession) {
			t.Errorf("Expose-Headers = %q lacks the retry header", expose)
		}
	})
	t.Run("foreign origin gets no CORS headers but is still served", func(t *testing.T) {
		r := get(map[string][]string{"Authorization": {"Bearer " + tok}, "Origin": {"https://evil.example"}})
		resp, s, _ := serve(t, v, r, allow)
		if resp.StatusCode != 200 || s == nil {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Access-Control-Expose-Headers") != "" {
			t.Error("CORS headers for a foreign origin")
		}
	})
	t.Run("origin configured with two trailing slashes", func(t *testing.T) {
		// "https://a.example//" normalises to "https://a.example/", which
		// only an Origin with one more slash normalises to.
		opt := sdk.WithAllowedOrigins("https://a.example//")
		for origin, want := range map[string]bool{"https://a.example//": true, "https://A.example//": true, "https://a.example/": false, "https://a.example": false} {
			resp, _, _ := serve(t, v, get(map[string][]string{"Authorization": {"Bearer " + tok}, "Origin": {origin}}), opt)
			if got := resp.Header.Get("Access-Control-Allow-Origin"); (got == origin) != want || !want && got != "" {
				t.Errorf("Origin %q: Allow-Origin %q, want allowed %v", origin, got, want)
			}
		}
	})
	t.Run("response headers are the handler's to extend", func(t *testing.T) {
		// An outer handler's Vary is kept; appending to one CORS header
		// after the middleware changes no other.
		var seen http.Header
		h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Access-Control-Allow-Origin", "second")
			w.Header().Add("Vary", "Accept")
			seen = w.Header().Clone()
		}), allow)
		for _, outer := range [][]string{nil, {"Accept-Encoding"}} {
			rec := httptest.NewRecorder()
			if outer != nil {
				rec.Header()["Vary"] = append([]string(nil), outer...)
			}
			h.ServeHTTP(rec, get(map[string][]string{"Authorization": {"Bearer " + tok}, "Origin": {ext}}))
			wantVary := append(append(append([]string(nil), outer...), "Origin"), "Accept")
			if got := seen["Vary"]; strings.Join(got, ",") != strings.Join(wantVary, ",") {
				t.Errorf("outer Vary %q: Vary = %q, want %q", outer, got, wantVary)
			}
			if got := seen["Access-Control-Allow-Origin"]; len(got) != 2 || got[0] != ext || got[1] != "second" {
				t.Errorf("Allow-Origin = %q", got)
			}
			if got := seen["Access-Control-Expose-Headers"]; len(got) != 1 || !strings.Contains(got[0], sdk.HeaderRetryInvalidSession) {
				t.Errorf("Expose-Headers = %q", got)
			}
		}
	})
	t.Run("wildcard", func(t *testing.T) {
		resp, _, _ := serve(t, v, preflight("https://anything.example"), sdk.WithAllowedOrigins("*"))
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("status %d, Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	})
}

func TestErrorNameMiddlewareSentinels(t *testing.T) {
	for err, want := range map[error]string{sdk.ErrNoToken: "no_token", sdk.ErrHint: "hint"} {
		if got := sdk.ErrorName(err); got != want {
			t.Errorf("ErrorName(%v) = %q, want %q", err, got, want)
		}
	}
}

// headerWriter is a ResponseWriter with a fresh (cleared) header map per
// request, as net/http gives each response, and nothing else.
type headerWriter struct {
	h      http.Header
	status int
}

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerWriter) WriteHeader(status int)      { w.status = status }

// posClientRequest is a request as the POS extension client sends it:
// bearer token, Shopify's extension origin and the hint headers.
func posClientRequest(tok string) *http.Request {
	return get(map[string][]string{
		"Authorization":         {"Bearer " + tok},
		"Origin":                {"https://extensions.shopifycdn.com"},
		sdk.HeaderShopID:        {"1001"},
		sdk.HeaderShopDomain:    {mwShop},
		sdk.HeaderUserID:        {mwUser},
		sdk.HeaderLocationID:    {"70000000001"},
		sdk.HeaderStaffMemberID: {"9"},
	})
}

// The middleware's own work on a cached token, for the per-request cost
// it adds to a handler: a bare bearer token, two hints, and the POS
// extension client's request (five hints and Origin) with Shopify's
// origins allowed. Each response gets an empty header map, as from
// net/http.
func BenchmarkMiddlewareCached(b *testing.B) {
	tok := mwMinter().Admin()
	twoHints := get(map[string][]string{"Authorization": {"Bearer " + tok}, sdk.HeaderLocationID: {"77"}, sdk.HeaderUserID: {mwUser}})
	for _, bc := range []struct {
		name string
		req  *http.Request
		opts []sdk.MiddlewareOption
	}{
		{"no-hints", get(map[string][]string{"Authorization": {"Bearer " + tok}}), nil},
		{"hints", twoHints, nil},
		{"pos-client-cors", posClientRequest(tok), []sdk.MiddlewareOption{sdk.WithAllowedOrigins("https://extensions.shopifycdn.com", "https://cdn.shopify.com")}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v := mwVerifier(b, keysource.MustStatic(mwSecret))
			h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), bc.opts...)
			// A copy of the token in memory of its own, as a request
			// brings it: the cache compares it with the verified one.
			r := bc.req.Clone(bc.req.Context())
			r.Header["Authorization"] = []string{strings.Clone(bc.req.Header["Authorization"][0])}
			w := &headerWriter{h: http.Header{}}
			h.ServeHTTP(w, bc.req) // caches the session
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
			if w.status != 0 {
				b.Fatalf("status %d", w.status)
			}
		})
	}
}

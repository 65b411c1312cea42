package shopifytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/possession-dev/possession/internal/graphql"
)

// The Admin GraphQL API: POST /admin/api/{version}/graphql.json with
// X-Shopify-Access-Token, answered as Shopify answers, cost bucket
// included. See the package documentation for what it serves.

// RouteAdminGraphQL names the Admin GraphQL route for Requests and Inject.
const RouteAdminGraphQL = "admin/graphql"

// RouteAccessScopes names GET /admin/oauth/access_scopes.json, the Admin
// API's REST endpoint that lists the scopes an access token was granted
// ({"access_scopes": [{"handle": "read_products"}, ...]}): the cheapest
// call that tells whether Shopify honours a token.
const RouteAccessScopes = "oauth/access_scopes"

// WithNonExpiringCutoff makes the fake refuse Admin API calls (GraphQL and
// REST) made with a non-expiring offline access token from t on (on the
// server's clock) with HTTP 403, as Shopify does for public apps from
// 2027-01-01 (pass time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)). Without
// it the fake accepts them at any time, as Shopify does for custom and
// merchant-created apps. Shopify documents the status, not the body; the
// fake's body says what to do (migrate to an expiring token).
func WithNonExpiringCutoff(t time.Time) Option {
	return optionFunc(func(c *config) { c.nonExpiringCutoff = t })
}

// Default bucket of every shop: the Standard plan's 100 points per second
// (Shopify's rate-limit documentation), in a bucket of 2000 points (what
// Standard shops report as maximumAvailable).
const (
	DefaultBucketMaximum     = 2000
	DefaultBucketRestoreRate = 100
)

// MaxQueryCost is the largest requested cost Shopify runs in one query;
// above it the query fails with MAX_COST_EXCEEDED whatever the bucket
// holds.
const MaxQueryCost = 1000

// DeprecationNotice is the X-Shopify-API-Deprecated-Reason header the fake
// sends when a query selects a deprecated field (Product.bodyHtml).
const DeprecationNotice = "https://shopify.dev/api/usage/versioning#deprecation-practices"

// maxAdminBody bounds a request body: begin reads at most maxRequestBody
// bytes, so a body that filled them is taken as too large.
const maxAdminBody = maxRequestBody - 1

type adminConfig struct {
	maximum, restoreRate float64
}

// WithAdminBucket sets the cost bucket every shop starts with: maximum
// points, refilled at restoreRate points per second on the server's clock
// (WithClock). Non-positive values keep the defaults.
func WithAdminBucket(maximum, restoreRate float64) Option {
	return optionFunc(func(c *config) {
		if maximum > 0 {
			c.admin.maximum = maximum
		}
		if restoreRate > 0 {
			c.admin.restoreRate = restoreRate
		}
	})
}

// adminState is the Admin API's share of the Server.
type adminState struct {
	mu    sync.Mutex
	shops map[string]*adminShop
}

// adminShop is one shop's bucket and data.
type adminShop struct {
	maximum, restoreRate float64
	available            float64
	at                   time.Time // when available was computed
	data                 *shopData
	info                 *shopInfo
	tagged               []TagsAdded
	throttled            int
	spent                int
}

// TagsAdded records one successful tagsAdd mutation.
type TagsAdded struct {
	// OrderID is the gid the mutation named: "gid://shopify/Order/1001".
	OrderID string
	// Tags as the mutation sent them (before trimming and de-duplication).
	Tags []string
}

// registerAdmin adds the Admin API's routes to mux.
func (s *Server) registerAdmin(mux *http.ServeMux) {
	if s.cfg.admin.maximum <= 0 {
		s.cfg.admin.maximum = DefaultBucketMaximum
	}
	if s.cfg.admin.restoreRate <= 0 {
		s.cfg.admin.restoreRate = DefaultBucketRestoreRate
	}
	s.admin = &adminState{shops: map[string]*adminShop{}}
	mux.HandleFunc("POST /admin/api/{version}/graphql.json", s.handleAdminGraphQL)
	mux.HandleFunc("GET /admin/oauth/access_scopes.json", s.handleAccessScopes)
}

// nonExpiringRefusedBody is the fake's 403 for a non-expiring offline
// token after the cut-off (WithNonExpiringCutoff).
const nonExpiringRefusedBody = `{"errors":"[API] Non-expiring offline access tokens are no longer accepted for this app: migrate the shop to an expiring offline token"}`

// authorizeAdmin checks an Admin API request's token for shop. It answers
// status 0 and the token's scope when the request may go on, else the
// status (401 for a missing, unknown, expired or revoked token, or one of
// another shop; 403 for a non-expiring offline token after the cut-off)
// and body to answer. A token that passes counts as used.
func (s *Server) authorizeAdmin(shop, token string) (status int, body []byte, scope string) {
	if token == "" || !s.accessValid(shop, token) {
		return http.StatusUnauthorized, []byte(invalidTokenBody), ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.grants[token]
	cut := s.cfg.nonExpiringCutoff
	if !g.online && g.accessExpires.IsZero() && !cut.IsZero() && !s.cfg.now().Before(cut) {
		return http.StatusForbidden, []byte(nonExpiringRefusedBody), ""
	}
	return 0, nil, g.scope
}

func (s *Server) handleAccessScopes(w http.ResponseWriter, r *http.Request) {
	if !s.begin(RouteAccessScopes, w, r) {
		return
	}
	shop, ok := shopFrom(r)
	if !ok {
		writeAdminJSON(w, http.StatusNotFound, []byte(`{"errors":"Not Found"}`))
		return
	}
	status, body, scope := s.authorizeAdmin(shop, r.Header.Get("X-Shopify-Access-Token"))
	if status != 0 {
		writeAdminJSON(w, status, body)
		return
	}
	type handle struct {
		Handle string `json:"handle"`
	}
	out := struct {
		AccessScopes []handle `json:"access_scopes"`
	}{AccessScopes: []handle{}}
	for _, h := range strings.Split(scope, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out.AccessScopes = append(out.AccessScopes, handle{h})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// shopLocked returns shop's state, creating it with a full bucket; a.mu
// must be held.
func (s *Server) shopLocked(shop string) *adminShop {
	a := s.admin
	st := a.shops[shop]
	if st == nil {
		label, _, _ := strings.Cut(shop, ".")
		st = &adminShop{
			maximum: s.cfg.admin.maximum, restoreRate: s.cfg.admin.restoreRate,
			available: s.cfg.admin.maximum, at: s.cfg.now(),
			data: newShopData(),
			info: &shopInfo{id: "gid://shopify/Shop/" + strconv.Itoa(len(a.shops)+1), name: label, currency: "CAD", domain: shop, email: "owner@" + shop},
		}
		a.shops[shop] = st
	}
	return st
}

// restore refills st's bucket up to now.
func (st *adminShop) restore(now time.Time) {
	if dt := now.Sub(st.at).Seconds(); dt > 0 {
		st.available = math.Min(st.maximum, st.available+dt*st.restoreRate)
	}
	st.at = now
}

// SetAdminBucket changes shop's bucket from now on, as Shopify does when a
// shop changes plan or when it lowers limits for a while. The points
// available are kept, capped at the new maximum.
func (s *Server) SetAdminBucket(shop string, maximum, restoreRate float64) {
	s.admin.mu.Lock()
	defer s.admin.mu.Unlock()
	st := s.shopLocked(shop)
	st.restore(s.cfg.now())
	st.maximum, st.restoreRate = maximum, restoreRate
	st.available = math.Min(st.available, maximum)
}

// RevokeAccessToken revokes one access token the fake issued and leaves
// its refresh token redeemable: Admin API calls with it get 401 before it
// expires, and a refresh repairs that. It reports whether token was
// live.
func (s *Server) RevokeAccessToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[token]
	if !ok || g.revoked {
		return false
	}
	g.revokeLocked(s.cfg.now())
	return true
}

// AddOrder adds an order (a gid, "gid://shopify/Order/123") to shop's
// data, as a sale in POS creates one; adding an existing order does
// nothing.
func (s *Server) AddOrder(shop, orderID string) {
	s.admin.mu.Lock()
	defer s.admin.mu.Unlock()
	s.shopLocked(shop).data.addOrder(orderID)
}

// OrderTags returns the tags of one of shop's orders (nil if it has none
// or does not exist).
func (s *Server) OrderTags(shop, orderID string) []string {
	s.admin.mu.Lock()
	defer s.admin.mu.Unlock()
	if o := s.shopLocked(shop).data.orders[orderID]; o != nil && len(o.tags) > 0 {
		return append([]string{}, o.tags...)
	}
	return nil
}

// TagsAdded returns every successful tagsAdd mutation shop received, in
// order.
func (s *Server) TagsAdded(shop string) []TagsAdded {
	s.admin.mu.Lock()
	defer s.admin.mu.Unlock()
	return append([]TagsAdded{}, s.shopLocked(shop).tagged...)
}

// Throttled returns how many of shop's Admin API requests were answered
// THROTTLED.
func (s *Server) Throttled(shop string) int {
	s.admin.mu.Lock()
	defer s.admin.mu.Unlock()
	return s.shopLocked(shop).throttled
}

// CostSpent returns the actual cost of every query shop's bucket paid for.
func (s *Server) CostSpent(shop string) int {
	s.admin.mu.Lock()
	defer s.admin.mu.Unlock()
	return s.shopLocked(shop).spent
}

// quarter versions are "YYYY-01", "-04", "-07" and "-10".
func parseVersion(v string) (year, month int, ok bool) {
	if len(v) != 7 || v[4] != '-' {
		return 0, 0, false
	}
	y, err1 := strconv.Atoi(v[:4])
	m, err2 := strconv.Atoi(v[5:])
	if err1 != nil || err2 != nil || y < 2019 || (m != 1 && m != 4 && m != 7 && m != 10) {
		return 0, 0, false
	}
	return y, m, true
}

func formatVersion(year, month int) string { return fmt.Sprintf("%04d-%02d", year, month) }

// SupportedVersions returns the Admin API versions the fake serves at t,
// as Shopify's release schedule does: the four stable versions released
// in the last twelve months (a version is released at the start of its
// quarter), oldest first, then the next quarter's release candidate, then
// "unstable".
func SupportedVersions(t time.Time) []string {
	t = t.UTC()
	y, m := t.Year(), (int(t.Month())-1)/3*3+1
	var out []string
	for i := 3; i >= 0; i-- {
		yy, mm := y, m-3*i
		for mm < 1 {
			mm += 12
			yy--
		}
		out = append(out, formatVersion(yy, mm))
	}
	ny, nm := y, m+3
	if nm > 12 {
		nm -= 12
		ny++
	}
	return append(out, formatVersion(ny, nm), "unstable")
}

// resolveVersion returns the version a request for v is served with:
// v itself if supported, the oldest supported stable version for a
// retired one (Shopify falls forward), or "" for one that does not exist
// (404).
func resolveVersion(v string, now time.Time) string {
	supported := SupportedVersions(now)
	for _, s := range supported {
		if s == v {
			return v
		}
	}
	y, m, ok := parseVersion(v)
	if !ok {
		return ""
	}
	oy, om, _ := parseVersion(supported[0])
	if y < oy || (y == oy && m < om) {
		return supported[0]
	}
	return ""
}

// Shopify's answer to a missing, unknown, expired or revoked token.
const invalidTokenBody = `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`

func writeAdminJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// adminRequest is the JSON body of a GraphQL request.
type adminRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

func (s *Server) handleAdminGraphQL(w http.ResponseWriter, r *http.Request) {
	if !s.begin(RouteAdminGraphQL, w, r) {
		return
	}
	shop, ok := shopFrom(r)
	if !ok {
		writeAdminJSON(w, http.StatusNotFound, []byte(`{"errors":"Not Found"}`))
		return
	}
	now := s.cfg.now()
	version := resolveVersion(r.PathValue("version"), now)
	if version == "" {
		writeAdminJSON(w, http.StatusNotFound, []byte(`{"errors":"Not Found"}`))
		return
	}
	w.Header().Set("X-Shopify-API-Version", version)
	if status, body, _ := s.authorizeAdmin(shop, r.Header.Get("X-Shopify-Access-Token")); status != 0 {
		writeAdminJSON(w, status, body)
		return
	}
	req, err := readAdminRequest(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeAdminJSON(w, http.StatusRequestEntityTooLarge, []byte(`{"errors":"Request body too large"}`))
			return
		}
		writeAdminJSON(w, http.StatusBadRequest, []byte(`{"errors":{"query":"Required parameter missing or invalid"}}`))
		return
	}
	resp, depr := s.executeAdmin(shop, req)
	status, body := marshalAdmin(resp)
	if depr != "" {
		w.Header().Set("X-Shopify-API-Deprecated-Reason", DeprecationNotice)
	}
	writeAdminJSON(w, status, body)
}

func readAdminRequest(w http.ResponseWriter, r *http.Request) (adminRequest, error) {
	var req adminRequest
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		return req, err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/graphql" {
		req.Query = string(b)
	} else if err := json.Unmarshal(b, &req); err != nil {
		return req, err
	}
	if strings.TrimSpace(req.Query) == "" {
		return req, errors.New("no query")
	}
	return req, nil
}

// costExtension is extensions.cost of a response.
type costExtension struct {
	RequestedQueryCost int            `json:"requestedQueryCost"`
	ActualQueryCost    *int           `json:"actualQueryCost"`
	ThrottleStatus     throttleStatus `json:"throttleStatus"`
}

type throttleStatus struct {
	MaximumAvailable   dotZero `json:"maximumAvailable"`
	CurrentlyAvailable int     `json:"currentlyAvailable"`
	RestoreRate        dotZero `json:"restoreRate"`
}

// dotZero is a float that JSON-encodes whole values with a ".0", as
// Shopify writes maximumAvailable and restoreRate ("1000.0").
type dotZero float64

func (f dotZero) MarshalJSON() ([]byte, error) {
	s := strconv.FormatFloat(float64(f), 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return []byte(s), nil
}

func (st *adminShop) status() throttleStatus {
	return throttleStatus{
		MaximumAvailable:   dotZero(st.maximum),
		CurrentlyAvailable: int(math.Floor(st.available)),
		RestoreRate:        dotZero(st.restoreRate),
	}
}

type adminResponse struct {
	Data       any           `json:"data,omitempty"`
	Errors     []*gqlError   `json:"errors,omitempty"`
	Extensions *adminExtends `json:"extensions,omitempty"`
}

type adminExtends struct {
	Cost *costExtension `json:"cost,omitempty"`
}

// executeAdmin runs one GraphQL request for shop: parse, validate and
// price it, take its requested cost from the bucket (or answer
// THROTTLED), run it, refund the difference to the actual cost. It
// returns the status, the body and the deprecation reason of a selected
// deprecated field.
func (s *Server) executeAdmin(shop string, req adminRequest) (adminResponse, string) {
	doc, err := graphql.Parse(req.Query)
	if err != nil {
		var se *graphql.SyntaxError
		errors.As(err, &se)
		return adminResponse{Errors: []*gqlError{{
			Message:   "Parse error: " + se.Message,
			Locations: []gqlLocation{{se.Line, se.Column}},
		}}}, ""
	}
	op, err := doc.Operation(req.OperationName)
	if err != nil {
		return adminResponse{Errors: []*gqlError{{Message: strings.TrimPrefix(err.Error(), "graphql: ")}}}, ""
	}
	vars := req.Variables
	if vars == nil {
		vars = map[string]any{}
	}

	s.admin.mu.Lock()
	defer s.admin.mu.Unlock()
	st := s.shopLocked(shop)
	x := &execution{doc: doc, op: op, vars: vars, shop: st.info, data: st.data}
	requested := x.plan()
	if len(x.errs) > 0 {
		return adminResponse{Errors: x.errs}, ""
	}
	if requested > MaxQueryCost {
		return adminResponse{Errors: []*gqlError{{
			Message: fmt.Sprintf("Query cost is %d, which exceeds the single query max cost limit (%d).\n\n"+
				"See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"+
				"cost of a query is calculated.\n\n"+
				"To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"+
				"See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n", requested, MaxQueryCost),
			Extensions: map[string]any{"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MaxQueryCost, "documentation": "https://shopify.dev/api/usage/rate-limits"},
		}}}, x.depr
	}
	st.restore(s.cfg.now())
	if float64(requested) > st.available {
		st.throttled++
		return adminResponse{
			Errors: []*gqlError{{Message: "Throttled", Extensions: map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			Extensions: &adminExtends{Cost: &costExtension{
				RequestedQueryCost: requested, ActualQueryCost: nil, ThrottleStatus: st.status(),
			}},
		}, x.depr
	}
	st.available -= float64(requested)
	data, actual := x.run()
	actual = min(actual, requested)
	st.available = math.Min(st.maximum, st.available+float64(requested-actual))
	st.spent += actual
	st.tagged = append(st.tagged, x.tagged...)
	resp := adminResponse{
		Data:       data,
		Extensions: &adminExtends{Cost: &costExtension{RequestedQueryCost: requested, ActualQueryCost: &actual, ThrottleStatus: st.status()}},
	}
	if len(x.errs) > 0 {
		resp.Errors = x.errs
	}
	return resp, x.depr
}

func marshalAdmin(r adminResponse) (int, []byte) {
	b, err := json.Marshal(r)
	if err != nil {
		return http.StatusInternalServerError, []byte(`{"errors":"Internal error"}`)
	}
	return http.StatusOK, b
}

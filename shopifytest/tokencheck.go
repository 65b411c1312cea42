package shopifytest

import (
	"net/http"
	"time"
)

// RouteTokenCheck names GET /shopifytest/token_check, the fake's own
// (not Shopify's) check of a token over HTTP, for tests whose Managers
// run in other processes than the fake: AccessTokenValidDuring for the
// token in X-Shopify-Access-Token, the shop in the Host header, and the
// query's from and to (RFC 3339 with nanoseconds; to defaults to from,
// from to now). It answers {"valid": true} or {"valid": false}, and 400
// for unreadable times. It does not count as a use of the token.
const RouteTokenCheck = "shopifytest/token_check"

func (s *Server) registerTokenCheck(mux *http.ServeMux) {
	mux.HandleFunc("GET /shopifytest/token_check", s.handleTokenCheck)
}

func (s *Server) handleTokenCheck(w http.ResponseWriter, r *http.Request) {
	if !s.begin(RouteTokenCheck, w, r) {
		return
	}
	shop, ok := shopFrom(r)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"errors": "Not Found"})
		return
	}
	parse := func(name string, def time.Time) (time.Time, bool) {
		v := r.URL.Query().Get(name)
		if v == "" {
			return def, true
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		return t, err == nil
	}
	from, ok1 := parse("from", s.cfg.now())
	to, ok2 := parse("to", from)
	if !ok1 || !ok2 || to.Before(from) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"errors": "from and to must be RFC 3339 times, from not after to"})
		return
	}
	valid := s.AccessTokenValidDuring(shop, r.Header.Get("X-Shopify-Access-Token"), from, to)
	writeJSON(w, http.StatusOK, map[string]bool{"valid": valid})
}

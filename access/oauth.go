package access

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The token endpoint protocol (docs/token-exchange.md): one JSON POST to
// https://{shop}/admin/oauth/access_token per grant.

const (
	grantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	grantTypeRefresh       = "refresh_token"
	tokenTypeIDToken       = "urn:ietf:params:oauth:token-type:id_token"
	tokenTypeOffline       = "urn:shopify:params:oauth:token-type:offline-access-token"
	tokenTypeOnline        = "urn:shopify:params:oauth:token-type:online-access-token"

	tokenPath       = "/admin/oauth/access_token"
	maxResponseBody = 1 << 20
	maxDescription  = 300
)

// grant is the kind of a token request.
type grant uint8

const (
	grantExchangeOffline grant = iota + 1
	grantExchangeOnline
	grantRefresh
	grantMigrate
)

func (g grant) String() string {
	switch g {
	case grantExchangeOffline:
		return "exchange_offline"
	case grantExchangeOnline:
		return "exchange_online"
	case grantRefresh:
		return "refresh"
	case grantMigrate:
		return "migrate"
	}
	return "unknown"
}

// grantRequest is the JSON body of a token request, fields in the order
// Shopify's JS library writes them.
type grantRequest struct {
	ClientID           string `json:"client_id"`
	ClientSecret       string `json:"client_secret"`
	GrantType          string `json:"grant_type"`
	SubjectToken       string `json:"subject_token,omitempty"`
	SubjectTokenType   string `json:"subject_token_type,omitempty"`
	RequestedTokenType string `json:"requested_token_type,omitempty"`
	RefreshToken       string `json:"refresh_token,omitempty"`
	Expiring           string `json:"expiring,omitempty"`
}

// grantResponse is a successful answer. Pointers tell absent from zero.
type grantResponse struct {
	AccessToken           string          `json:"access_token"`
	Scope                 string          `json:"scope"`
	ExpiresIn             *int64          `json:"expires_in"`
	RefreshToken          string          `json:"refresh_token"`
	RefreshTokenExpiresIn *int64          `json:"refresh_token_expires_in"`
	AssociatedUserScope   string          `json:"associated_user_scope"`
	AssociatedUser        *associatedUser `json:"associated_user"`
}

type associatedUser struct {
	ID json.Number `json:"id"`
}

// errorResponse is an OAuth error answer; Shopify's other answers (429,
// 5xx) carry "errors" instead.
type errorResponse struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// acquired is a token pair Shopify issued, with absolute expiry times.
type acquired struct {
	access         string
	refresh        string
	scope          string
	accessExpires  time.Time
	refreshExpires time.Time
}

// requestGrant posts one grant for shop and returns the pair Shopify
// issued. secrets are the values the request carries that must never
// appear in an error (the subject or refresh token).
func (m *Manager) requestGrant(ctx context.Context, shop string, g grant, body grantRequest, wantUser string) (acquired, *ShopifyError, error) {
	secret, err := m.clientSecret()
	if err != nil {
		return acquired{}, nil, err
	}
	body.ClientID = m.clientID
	body.ClientSecret = secret
	payload, err := json.Marshal(body)
	if err != nil {
		return acquired{}, nil, fmt.Errorf("access: encode %s request: %w", g, err)
	}
	sent := []string{secret, body.SubjectToken, body.RefreshToken}

	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, m.cfg.requestTimeout)
	defer cancel()

	var last *ShopifyError
	var lastErr error
	for attempt := 1; ; attempt++ {
		status, hdr, respBody, err := m.post(ctx, shop, payload)
		var wait time.Duration
		switch {
		case err != nil:
			if perr := parent.Err(); perr != nil {
				return acquired{}, nil, fmt.Errorf("access: %s for %s: %w", g, shop, ctxErr(perr))
			}
			last = &ShopifyError{Attempts: attempt, err: ErrUnavailable}
			lastErr = err
			wait = m.backoff(attempt)
		case status == http.StatusOK:
			a, perr := m.parseGrant(g, respBody, wantUser)
			if perr != nil {
				se := &ShopifyError{Status: status, RequestID: requestID(hdr), Attempts: attempt, err: ErrProtocol}
				return acquired{}, se, fmt.Errorf("%w: %w", se, perr)
			}
			return a, &ShopifyError{Status: status, RequestID: requestID(hdr), Attempts: attempt}, nil
		case status == http.StatusTooManyRequests:
			last = &ShopifyError{Status: status, RequestID: requestID(hdr), Attempts: attempt, err: ErrUnavailable}
			last.RetryAfter = retryAfter(hdr.Get("Retry-After"))
			lastErr = nil
			wait = last.RetryAfter
		case status >= 500:
			last = &ShopifyError{Status: status, RequestID: requestID(hdr), Attempts: attempt, err: ErrUnavailable}
			lastErr = nil
			wait = m.backoff(attempt)
		default:
			se := &ShopifyError{Status: status, RequestID: requestID(hdr), Attempts: attempt}
			var er errorResponse
			if json.Unmarshal(respBody, &er) == nil {
				se.Code = er.Error
				se.Description = sanitizeDescription(er.ErrorDescription, sent)
			}
			se.err = sentinelFor(g, se.Code)
			return acquired{}, se, se
		}

		if attempt >= m.cfg.maxAttempts {
			return acquired{}, last, m.exhausted(last, lastErr)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			// Waiting would run past the budget: give up now rather than
			// sleep into a certain timeout.
			return acquired{}, last, m.exhausted(last, lastErr)
		}
		if err := m.cfg.sleep(ctx, wait); err != nil {
			if perr := parent.Err(); perr != nil {
				return acquired{}, nil, fmt.Errorf("access: %s for %s: %w", g, shop, ctxErr(perr))
			}
			return acquired{}, last, m.exhausted(last, lastErr)
		}
	}
}

// exhausted is the error after the last allowed attempt.
func (m *Manager) exhausted(last *ShopifyError, netErr error) error {
	if netErr != nil {
		// The transport error names the URL and the failure, never the
		// body.
		return fmt.Errorf("%w: %w", last, netErr)
	}
	return last
}

// post sends one attempt and reads its answer.
func (m *Manager) post(ctx context.Context, shop string, payload []byte) (int, http.Header, []byte, error) {
	var target string
	if b := m.cfg.baseURL; b != nil {
		target = b.Scheme + "://" + b.Host + b.Path + tokenPath
	} else {
		target = "https://" + shop + tokenPath
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, nil, err
	}
	if m.cfg.baseURL != nil {
		req.Host = shop
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", m.cfg.userAgent)
	resp, err := m.cfg.httpClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, body, nil
}

// scopesPath is the Admin API's cheapest call: the access token's scopes.
const scopesPath = "/admin/oauth/access_scopes.json"

// honoured asks Shopify whether it honours access, an access token of
// key, with one GET of access_scopes.json bounded by the request
// timeout: true for 200, false for 401 or 403 (refused), an error when
// the answer says neither.
func (m *Manager) honoured(ctx context.Context, key Key, access string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.requestTimeout)
	defer cancel()
	ctx, span := m.tel.checkSpan(ctx, key)
	status, hdr, err := m.get(ctx, key.Shop, scopesPath, access)
	var ok bool
	switch {
	case err != nil:
	case status == http.StatusOK:
		ok = true
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
	default:
		err = fmt.Errorf("access: check of %s's token: shopify answered %d", key, status)
	}
	m.tel.endCheck(span, status, requestID(hdr), ok, err)
	return ok, err
}

// get sends one GET of path for shop with an access token, and drains
// the answer.
func (m *Manager) get(ctx context.Context, shop, path, access string) (int, http.Header, error) {
	target := "https://" + shop + path
	if b := m.cfg.baseURL; b != nil {
		target = b.Scheme + "://" + b.Host + b.Path + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, nil, err
	}
	if m.cfg.baseURL != nil {
		req.Host = shop
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", m.cfg.userAgent)
	req.Header.Set("X-Shopify-Access-Token", access)
	resp, err := m.cfg.httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	return resp.StatusCode, resp.Header, nil
}

// parseGrant checks a 200 answer against what the grant promises.
func (m *Manager) parseGrant(g grant, body []byte, wantUser string) (acquired, error) {
	var r grantResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return acquired{}, errors.New("response is not the token json")
	}
	if r.AccessToken == "" {
		return acquired{}, errors.New("response has no access_token")
	}
	now := m.cfg.now()
	a := acquired{access: r.AccessToken, scope: r.Scope}
	expiresIn := func(p *int64) (time.Time, bool) {
		if p == nil || *p <= 0 {
			return time.Time{}, false
		}
		return truncate(now.Add(time.Duration(*p) * time.Second)), true
	}
	switch g {
	case grantExchangeOffline, grantRefresh, grantMigrate:
		// Every offline grant possession makes asks for an expiring token:
		// an answer without expiry or refresh token would be stored as
		// never expiring and never refreshed.
		var ok bool
		if a.accessExpires, ok = expiresIn(r.ExpiresIn); !ok {
			return acquired{}, errors.New("expiring token response has no positive expires_in")
		}
		if r.RefreshToken == "" {
			return acquired{}, errors.New("expiring token response has no refresh_token")
		}
		a.refresh = r.RefreshToken
		a.refreshExpires, _ = expiresIn(r.RefreshTokenExpiresIn)
	case grantExchangeOnline:
		var ok bool
		if a.accessExpires, ok = expiresIn(r.ExpiresIn); !ok {
			return acquired{}, errors.New("online token response has no positive expires_in")
		}
		if r.AssociatedUser == nil || r.AssociatedUser.ID.String() == "" {
			return acquired{}, errors.New("online token response has no associated_user")
		}
		if got := r.AssociatedUser.ID.String(); got != wantUser {
			return acquired{}, fmt.Errorf("online token response is for user %s, the session's user is %s", got, wantUser)
		}
		if r.AssociatedUserScope != "" {
			a.scope = r.AssociatedUserScope
		}
	}
	return a, nil
}

// sentinelFor maps Shopify's OAuth error code to what the caller must do.
func sentinelFor(g grant, code string) error {
	switch code {
	case "invalid_subject_token":
		if g == grantMigrate {
			// The subject is the stored non-expiring token: Shopify no
			// longer honours it, so only the merchant can grant anew.
			return ErrReauthorize
		}
		return ErrInvalidSubjectToken
	case "invalid_client":
		return ErrInvalidClient
	case "invalid_grant":
		return ErrReauthorize
	}
	return ErrProtocol
}

func requestID(h http.Header) string {
	id := h.Get("X-Request-Id")
	if len(id) > 128 {
		id = id[:128]
	}
	return id
}

// retryAfter reads a Retry-After header as seconds (Shopify sends
// integers; fractions are accepted), 1 s when absent or unreadable, at
// most a minute.
func retryAfter(v string) time.Duration {
	secs, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || secs < 0 || secs != secs {
		return time.Second
	}
	d := time.Duration(secs * float64(time.Second))
	if secs > maxRetryAfter.Seconds() {
		d = maxRetryAfter
	}
	return d
}

// sanitizeDescription keeps Shopify's error description unless it
// contains anything the request sent (so no echo of a token or secret
// can reach an error message) or is not plain text.
func sanitizeDescription(d string, sent []string) string {
	for _, s := range sent {
		if s != "" && strings.Contains(d, s) {
			return ""
		}
	}
	if len(d) > maxDescription {
		d = d[:maxDescription]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, d)
}

// backoff is the wait before retry attempt+1 after a 5xx or network error.
func (m *Manager) backoff(attempt int) time.Duration {
	d := m.cfg.retryBase << (attempt - 1)
	if d <= 0 || d > m.cfg.retryMax {
		d = m.cfg.retryMax
	}
	return m.cfg.jitter(d)
}

// halfJitter returns a random duration in [d/2, d]: jittered enough that a
// fleet retrying together spreads out, never so short that a retry is
// immediate.
func halfJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ctxErr wraps a context error so errorName can tell cancellation.
func ctxErr(err error) error { return fmt.Errorf("%w: %w", errCanceled, err) }

// truncate cuts t to the millisecond in UTC, the precision stores keep.
func truncate(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Millisecond)
}

package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/possession-dev/possession/internal/graphql"
	potel "github.com/possession-dev/possession/otel"
)

// credential is an access token as the token source hands it out
// (access.Token): its value goes into X-Shopify-Access-Token, and the
// credential itself back to the source after a 401.
type credential interface{ Value() string }

// tokenSource is what a Client needs of the access Manager.
type tokenSource interface {
	// token returns shop's offline access token.
	token(ctx context.Context, shop string) (credential, error)
	// refresh renews rejected after Shopify answered 401 for it, or
	// returns an error saying the shop must re-authorize.
	refresh(ctx context.Context, rejected credential) (credential, error)
}

// Client calls Shopify's Admin GraphQL API for the shops whose tokens its
// token source holds, pacing each shop's calls to its cost budget. It is
// safe for concurrent use; make one per app and share it.
type Client struct {
	cfg    config
	tokens tokenSource
	tel    *telemetry

	parsed     *lru.Cache[string, *graphql.Document]
	learned    *lru.Cache[string, int]
	deprecated *lru.Cache[string, struct{}]

	mu          sync.Mutex
	probes      map[string]chan struct{} // shops whose first call is under way
	fellForward map[string]bool          // served versions already logged
}

// cacheSize bounds the parsed queries, learned costs and logged
// deprecations a Client remembers.
const cacheSize = 1024

// maxResponseBody bounds a response body.
const maxResponseBody = 64 << 20

func newClient(tokens tokenSource, opts ...Option) (*Client, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if tokens == nil {
		return nil, fmt.Errorf("%w: no token source", ErrConfig)
	}
	c := &Client{cfg: cfg, tokens: tokens, probes: map[string]chan struct{}{}, fellForward: map[string]bool{}}
	c.parsed, _ = lru.New[string, *graphql.Document](cacheSize)
	c.learned, _ = lru.New[string, int](cacheSize)
	c.deprecated, _ = lru.New[string, struct{}](cacheSize)
	if c.tel, err = newTelemetry(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// validShop accepts "name.myshopify.com" (lower case letters, digits and
// hyphens), the only hosts a call may go to.
func validShop(shop string) bool {
	label, ok := strings.CutSuffix(shop, ".myshopify.com")
	if !ok || label == "" || len(label) > 63 || label[0] == '-' {
		return false
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// call is one Do in progress: what telemetry records of it.
type call struct {
	shop, opType, opName string
	estimate             float64
	attempts, retries    int
	authRetries          int // retries after a 401 (not bounded by maxRetries)
	throttled            int
	pacingWait           time.Duration
	retryWait            time.Duration
	requested, actual    float64 // -1: unknown
	status               *ThrottleStatus
	httpStatus           int
	requestID            string
	deprecation          string
	servedVersion        string
}

// Do sends query with vars (anything encoding/json encodes to an object,
// or nil) for shop, and decodes the response's data into out (nil
// discards it). It waits for the shop's budget to hold the query's
// estimated cost before sending, retries THROTTLED, 429 and 502/503/504
// answers a bounded number of times, and after a 401 renews the token
// and retries once, if the operation is safe to retry (queries are;
// mutations when RetrySafe says so). Every wait is bounded by ctx: a wait
// that would outlast ctx's deadline is not started.
//
// GraphQL errors and userErrors come back as *GraphQLError and
// *UserErrors (errors.As), with data still decoded into out; every error
// wraps one of the sentinels in errors.go and carries Shopify's request
// ID where one was answered (RequestID).
func (c *Client) Do(ctx context.Context, shop, query string, vars any, out any, opts ...CallOption) error {
	var cc callConfig
	for _, o := range opts {
		if o != nil {
			o.applyCall(&cc)
		}
	}
	info := c.readOperation(query, cc.operationName)
	cl := &call{shop: shop, opType: info.opType, opName: info.name, requested: -1, actual: -1}
	ctx, span := c.tel.start(ctx, cl)
	err := c.do(ctx, cl, info, cc, query, vars, out)
	c.tel.end(ctx, span, cl, err)
	return err
}

func (c *Client) do(ctx context.Context, cl *call, info operationInfo, cc callConfig, query string, vars any, out any) error {
	if !validShop(cl.shop) {
		return fmt.Errorf("%w: %q", ErrInvalidShop, cl.shop)
	}
	body, varsJSON, err := encodeRequest(query, vars, cc.operationName)
	if err != nil {
		return err
	}
	safe := info.opType == "query" || cc.retrySafe
	tok, err := c.tokens.token(ctx, cl.shop)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrToken, cl.shop, err)
	}
	refreshed := false
	var lastThrottle *GraphQLError
	for {
		estimate, costKey := c.estimate(query, info, varsJSON, cc)
		cl.estimate = estimate
		res, release, err := c.pace(ctx, cl, estimate)
		if err != nil {
			return &ResponseError{sentinel: ErrThrottled, RequestID: cl.requestID, Attempts: cl.attempts, cause: err}
		}
		cl.attempts++
		resp, sendErr := c.send(ctx, cl.shop, body, tok)
		var status *ThrottleStatus
		var wire *wireResponse
		var decodeErr error
		// What Shopify took for this request: unknown (the estimate) unless
		// the answer says.
		charged := estimate
		if sendErr == nil {
			if resp.status == http.StatusUnauthorized || resp.status == http.StatusTooManyRequests {
				charged = 0 // refused before anything ran
			}
			cl.httpStatus = resp.status
			cl.requestID = resp.header.Get("X-Request-Id")
			c.noteHeaders(ctx, cl, query, resp.header)
			if resp.status == http.StatusOK {
				wire, decodeErr = decodeWire(resp.body)
				if wire != nil && wire.Extensions.Cost != nil {
					status = wire.Extensions.Cost.ThrottleStatus
					if rq := wire.Extensions.Cost.RequestedQueryCost; rq != nil && *rq > 0 {
						cl.requested = *rq
						c.learned.Add(costKey, int(math.Ceil(*rq)))
					}
					if aq := wire.Extensions.Cost.ActualQueryCost; aq != nil {
						cl.actual = *aq
						charged = *aq
					} else if wire.throttled() {
						charged = 0
					}
					if status.valid() {
						cl.status = status
					}
				}
			}
		}
		if res != nil {
			answer := Answer{Sent: true, Charged: charged, Status: status}
			if err := c.cfg.budget.Settle(context.WithoutCancel(ctx), *res, answer, c.cfg.clock.Now()); err != nil {
				c.tel.budgetError(ctx, err)
			}
		}
		release()

		retry := func(reason string, wait time.Duration, sentinel error, cause error) error {
			if cl.retries-cl.authRetries >= c.cfg.maxRetries {
				return &ResponseError{sentinel: sentinel, Status: cl.httpStatus, RequestID: cl.requestID, Attempts: cl.attempts, cause: cause}
			}
			if err := c.sleep(ctx, wait); err != nil {
				return &ResponseError{sentinel: sentinel, Status: cl.httpStatus, RequestID: cl.requestID, Attempts: cl.attempts, cause: errors.Join(cause, err)}
			}
			cl.retries++
			cl.retryWait += wait
			c.tel.retried(ctx, reason, wait)
			return nil
		}

		if sendErr != nil {
			if ctx.Err() != nil || !safe {
				return &ResponseError{sentinel: ErrUnavailable, Attempts: cl.attempts, cause: sendErr}
			}
			if err := retry(retryUnavailable, c.backoff(cl.retries-cl.authRetries), ErrUnavailable, sendErr); err != nil {
				return err
			}
			continue
		}
		switch s := resp.status; {
		case s == http.StatusOK:
			if decodeErr != nil {
				return &ResponseError{sentinel: ErrResponse, Status: s, RequestID: cl.requestID, Attempts: cl.attempts, cause: decodeErr}
			}
			if wire.throttled() {
				cl.throttled++
				c.tel.throttledAnswer(ctx)
				lastThrottle = wire.graphQLError(cl.requestID)
				wait := throttleWait(cl.requested, estimate, status)
				if err := retry(retryThrottled, wait, ErrThrottled, lastThrottle); err != nil {
					return err
				}
				continue
			}
			return c.finish(cl, info, wire, out)
		case s == http.StatusUnauthorized:
			// The token expired or was revoked: renew it once (the token
			// source refreshes it, once across the fleet, or says the shop
			// must re-authorize), and send again if that is safe. An
			// unsafe mutation is not sent again, but the renewed token
			// serves the caller's next call.
			if refreshed {
				return &ResponseError{sentinel: ErrUnauthorized, Status: s, RequestID: cl.requestID, Attempts: cl.attempts}
			}
			refreshed = true
			fresh, err := c.tokens.refresh(ctx, tok)
			if err != nil {
				return &ResponseError{sentinel: ErrUnauthorized, Status: s, RequestID: cl.requestID, Attempts: cl.attempts, cause: err}
			}
			if !safe {
				return &ResponseError{sentinel: ErrUnauthorized, Status: s, RequestID: cl.requestID, Attempts: cl.attempts,
					cause: errors.New("the token was renewed, but the mutation is not marked RetrySafe: send it again")}
			}
			tok = fresh
			cl.retries++
			cl.authRetries++
			c.tel.retried(ctx, retryUnauthorized, 0)
		case s == http.StatusTooManyRequests:
			wait, ok := retryAfter(resp.header.Get("Retry-After"), c.cfg.clock.Now())
			if !ok || wait > c.cfg.maxRetryAfter {
				return &ResponseError{sentinel: ErrThrottled, Status: s, RequestID: cl.requestID, Attempts: cl.attempts}
			}
			if err := retry(retryRateLimited, wait, ErrThrottled, nil); err != nil {
				return err
			}
		case s == http.StatusInternalServerError || s == http.StatusBadGateway || s == http.StatusServiceUnavailable || s == http.StatusGatewayTimeout:
			if !safe {
				return &ResponseError{sentinel: ErrUnavailable, Status: s, RequestID: cl.requestID, Attempts: cl.attempts}
			}
			if err := retry(retryUnavailable, c.backoff(cl.retries-cl.authRetries), ErrUnavailable, nil); err != nil {
				return err
			}
		default:
			return &ResponseError{sentinel: ErrResponse, Status: s, RequestID: cl.requestID, Attempts: cl.attempts}
		}
	}
}

// Retry reasons (telemetry values).
const (
	retryThrottled    = potel.AdminRetryThrottled
	retryRateLimited  = potel.AdminRetryRateLimited
	retryUnavailable  = potel.AdminRetryUnavailable
	retryUnauthorized = potel.AdminRetryUnauthorized
)

// estimate returns the requested cost to reserve for the call, and the
// key its learned cost is kept under.
func (c *Client) estimate(query string, info operationInfo, varsJSON []byte, cc callConfig) (float64, string) {
	static := staticCost(info, varsJSON)
	key := strconv.Itoa(static) + "\x00" + info.name + "\x00" + query
	if cc.cost > 0 {
		return cc.cost, key
	}
	if learned, ok := c.learned.Get(key); ok {
		return float64(learned), key
	}
	return float64(static), key
}

// throttleWait is how long until the bucket holds the requested cost, by
// the THROTTLED answer's status: (requested - available) / restoreRate.
func throttleWait(requested, estimate float64, s *ThrottleStatus) time.Duration {
	if requested <= 0 {
		requested = estimate
	}
	if !s.valid() {
		return time.Second
	}
	w := (requested - s.CurrentlyAvailable) / s.RestoreRate
	// currentlyAvailable is rounded down: wait for one more point's worth
	// rather than be throttled again by a fraction.
	w += 1 / s.RestoreRate
	return time.Duration(math.Ceil(math.Max(w, 0) * float64(time.Second)))
}

// retryAfter reads a 429's Retry-After: seconds (Shopify's form), or an
// HTTP date. A missing or unreadable one means one second.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Second, true
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 || math.IsNaN(f) || f > 1e6 {
			return 0, false
		}
		return time.Duration(f * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return time.Second, true
}

// backoff is the jittered exponential wait before the retry after n
// earlier retries: base × 2^n, ±50%, at most backoffMax.
func (c *Client) backoff(n int) time.Duration {
	d := float64(c.cfg.backoffBase) * math.Pow(2, float64(min(n, 20)))
	d = math.Min(d, float64(c.cfg.backoffMax))
	return time.Duration(d * (0.5 + c.cfg.random()))
}

// sleep waits d on the client's clock, refusing a wait that would end
// after ctx's deadline.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return fmt.Errorf("a wait of %v would outlast the context: %w", d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	return c.cfg.clock.Sleep(ctx, d)
}

// pace waits until shop's budget holds cost, and returns the reservation
// to settle (nil when pacing is off) and a function to call once the
// request was answered. The first call for a shop whose budget is
// unknown is sent at once to learn it; calls that come meanwhile wait for
// its answer.
func (c *Client) pace(ctx context.Context, cl *call, cost float64) (*Reservation, func(), error) {
	noop := func() {}
	if !c.cfg.pacing {
		return nil, noop, nil
	}
	for {
		r, err := c.cfg.budget.Reserve(ctx, cl.shop, cost, c.cfg.clock.Now())
		if err != nil {
			// The shared budget is unreachable: send unpaced rather than
			// fail (THROTTLED answers are still retried), and still tell
			// it what Shopify answers, should it be back by then.
			c.tel.budgetError(ctx, err)
			now := c.cfg.clock.Now()
			return &Reservation{Shop: cl.shop, ID: "unpaced." + newReservationID(), Cost: cost, SendAt: now}, noop, nil
		}
		if r.Known {
			if r.Wait > 0 {
				if err := c.sleep(ctx, r.Wait); err != nil {
					_ = c.cfg.budget.Settle(context.WithoutCancel(ctx), r, Answer{}, c.cfg.clock.Now())
					return nil, noop, err
				}
				cl.pacingWait += r.Wait
				c.tel.paced(ctx, r.Wait)
			}
			return &r, noop, nil
		}
		c.mu.Lock()
		probe, busy := c.probes[cl.shop]
		if !busy {
			done := make(chan struct{})
			c.probes[cl.shop] = done
			c.mu.Unlock()
			return &r, func() {
				c.mu.Lock()
				delete(c.probes, cl.shop)
				c.mu.Unlock()
				close(done)
			}, nil
		}
		c.mu.Unlock()
		select {
		case <-probe:
		case <-ctx.Done():
			return nil, noop, ctx.Err()
		}
	}
}

// response is an answer from Shopify.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send posts body for shop with tok.
func (c *Client) send(ctx context.Context, shop string, body []byte, tok credential) (*response, error) {
	u := "https://" + shop
	if c.cfg.baseURL != nil {
		u = c.cfg.baseURL.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u+"/admin/api/"+c.cfg.version+"/graphql.json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Host = shop
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "possession/"+potel.Version)
	req.Header.Set("X-Shopify-Access-Token", tok.Value())
	res, err := c.cfg.httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxResponseBody {
		return nil, fmt.Errorf("response body over %d bytes", maxResponseBody)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// noteHeaders logs (once) and records a deprecation notice and a version
// Shopify served instead of the one asked for.
func (c *Client) noteHeaders(ctx context.Context, cl *call, query string, h http.Header) {
	if reason := h.Get("X-Shopify-API-Deprecated-Reason"); reason != "" {
		cl.deprecation = reason
		if seen, _ := c.deprecated.ContainsOrAdd(cl.opName+"\x00"+query, struct{}{}); !seen {
			c.cfg.logger.WarnContext(ctx, "admin: shopify flags deprecated API use in a query",
				"shop", cl.shop, "operation", cl.opName, "operation_type", cl.opType,
				"api_version", c.cfg.version, "reason", reason, "request_id", h.Get("X-Request-Id"))
		}
	}
	if v := h.Get("X-Shopify-API-Version"); v != "" && v != c.cfg.version {
		cl.servedVersion = v
		c.mu.Lock()
		seen := c.fellForward[v]
		c.fellForward[v] = true
		c.mu.Unlock()
		if !seen {
			c.cfg.logger.WarnContext(ctx, "admin: shopify served another API version than the one asked for; the asked one is no longer supported",
				"asked", c.cfg.version, "served", v, "shop", cl.shop)
		}
	}
}

// encodeRequest builds the request body.
func encodeRequest(query string, vars any, operationName string) (body, varsJSON []byte, err error) {
	if vars != nil {
		varsJSON, err = json.Marshal(vars)
		if err != nil {
			// The error can quote values: keep only its type.
			return nil, nil, fmt.Errorf("%w: variables cannot be encoded as JSON (%T)", ErrInvalidRequest, err)
		}
		if len(varsJSON) == 0 || varsJSON[0] != '{' {
			if string(varsJSON) == "null" {
				varsJSON = nil
			} else {
				return nil, nil, fmt.Errorf("%w: variables must encode to a JSON object", ErrInvalidRequest)
			}
		}
	}
	req := struct {
		Query         string          `json:"query"`
		Variables     json.RawMessage `json:"variables,omitempty"`
		OperationName string          `json:"operationName,omitempty"`
	}{query, varsJSON, operationName}
	body, err = json.Marshal(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %T", ErrInvalidRequest, err)
	}
	return body, varsJSON, nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/pgstore"
	"github.com/possession-dev/possession/access/redisstore"
	"github.com/possession-dev/possession/access/sqlitestore"
	"github.com/possession-dev/possession/admin"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/webhook"
)

// Acting for the shop: the session's offline token through access (the
// first call of a shop exchanges the POS session token for it), Admin API
// calls through admin, and transactions ingested once each.

// store is what the backend keeps in its store: tokens (access.Store)
// and which transactions were ingested (webhook.Deduper, the same claims
// that deduplicate webhooks).
type store interface {
	access.Store
	webhook.Deduper
}

// openStore opens the store cfg names, and for Redis the budget the
// fleet's Admin API calls share. dev makes SQLite's default file a
// temporary one.
func openStore(ctx context.Context, cfg config, dev bool) (store, admin.Budget, func() error, error) {
	noop := func() error { return nil }
	switch cfg.store {
	case "", storeMemory:
		return access.MemoryStore(), nil, noop, nil
	case storeSQLite:
		path, cleanup := cfg.storePath, noop
		if path == "" && dev {
			dir, err := os.MkdirTemp("", "posbackend-dev-")
			if err != nil {
				return nil, nil, nil, fmt.Errorf("posbackend: store: %w", err)
			}
			path, cleanup = filepath.Join(dir, "tokens.db"), func() error { return os.RemoveAll(dir) }
		} else if path == "" {
			path = defaultSQLitePath
		}
		st, err := sqlitestore.Open(ctx, path)
		if err != nil {
			_ = cleanup()
			return nil, nil, nil, fmt.Errorf("posbackend: store: %w", err)
		}
		return st, nil, func() error { return errors.Join(st.Close(), cleanup()) }, nil
	case storeRedis:
		opts, err := redis.ParseURL(cfg.storeURL)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: -store-url: %w", errUsage, err)
		}
		rdb := redis.NewClient(opts)
		st, err := redisstore.New(rdb)
		if err != nil {
			_ = rdb.Close()
			return nil, nil, nil, err
		}
		// The instances of a fleet on one Redis pace each shop's Admin API
		// calls against one cost bucket.
		budget, err := redisstore.NewBudget(rdb)
		if err != nil {
			_ = rdb.Close()
			return nil, nil, nil, err
		}
		return st, budget, rdb.Close, nil
	case storePostgres:
		pool, err := pgxpool.New(ctx, cfg.storeURL)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: -store-url: %w", errUsage, err)
		}
		st, err := pgstore.New(ctx, pool)
		if err != nil {
			pool.Close()
			return nil, nil, nil, fmt.Errorf("posbackend: store: %w", err)
		}
		return st, nil, func() error { pool.Close(); return nil }, nil
	}
	return nil, nil, nil, fmt.Errorf("%w: -store %q", errUsage, cfg.store)
}

// Stores -store accepts.
const (
	storeSQLite   = "sqlite"
	storeRedis    = "redis"
	storePostgres = "postgres"
	storeMemory   = "memory"
)

// defaultSQLitePath is -store sqlite's file when -store-path is not set
// (outside development mode).
const defaultSQLitePath = "posbackend.db"

// shopQuery is GET /api/shop's Admin API query.
const shopQuery = `query ShopSummary { shop { name currencyCode myshopifyDomain } }`

// tagsAddMutation tags an order; it is idempotent (a tag added twice is
// there once), so it is marked retry-safe.
const tagsAddMutation = `mutation TagOrder($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } } }`

// shopifyBackend holds what the /api handlers need to act for the shop.
type shopifyBackend struct {
	tokens *access.Manager
	admin  *admin.Client
	store  store
	logger *slog.Logger
	now    func() time.Time

	// webhooks answers POST /webhooks (webhooks.go).
	webhooks http.Handler

	mu     sync.Mutex
	ledger map[string][]transaction // ingested transactions by shop, in arrival order
}

// newShopifyBackend builds the access Manager, the Admin API client and
// the webhook handler.
// shopifyURL, when set, replaces https://{shop} (development mode's fake,
// or a test's).
func newShopifyBackend(cfg config, clientID string, secret keysource.Source, st store, budget admin.Budget, shopifyURL string, logger *slog.Logger) (*shopifyBackend, error) {
	version := cfg.apiVersion
	if version == "" {
		version = defaultAPIVersion
	}
	var accessOpts []access.Option
	adminOpts := []admin.Option{admin.WithAPIVersion(version), admin.WithLogger(logger), admin.WithBudget(budget)}
	if shopifyURL != "" {
		accessOpts = append(accessOpts, access.WithShopifyBaseURL(shopifyURL))
		adminOpts = append(adminOpts, admin.WithShopifyBaseURL(shopifyURL))
	}
	tokens, err := access.New(clientID, secret, st, accessOpts...)
	if err != nil {
		return nil, err
	}
	client, err := admin.New(tokens, adminOpts...)
	if err != nil {
		return nil, err
	}
	b := &shopifyBackend{tokens: tokens, admin: client, store: st, logger: logger, now: time.Now, ledger: map[string][]transaction{}}
	if b.webhooks, err = b.newWebhookHandler(secret); err != nil {
		return nil, err
	}
	return b, nil
}

// offline makes sure the shop's offline token is at hand (exchanging the
// request's session token the first time), and answers the extension
// when it is not.
func (b *shopifyBackend) offline(w http.ResponseWriter, r *http.Request, s *sdk.Session) bool {
	raw := bearer(r)
	if _, err := b.tokens.Offline(r.Context(), s, raw); err != nil {
		b.fail(w, r, err)
		return false
	}
	return true
}

// do runs an Admin API call for the session's shop. When the shop's grant
// is gone (access.ErrReauthorize: revoked, or its refresh token expired),
// the Manager has buried it for the whole fleet, so the request's session
// token is exchanged for a new grant and the call made once more: a POS
// request carries what re-authorizing needs.
func (b *shopifyBackend) do(r *http.Request, s *sdk.Session, call func() error) error {
	err := call()
	if !errors.Is(err, access.ErrReauthorize) {
		return err
	}
	b.logger.Info("the shop's grant is gone; exchanging the session token for a new one", "shop", s.Shop, "request_id", admin.RequestID(err))
	if _, xerr := b.tokens.Offline(r.Context(), s, bearer(r)); xerr != nil {
		return errors.Join(err, xerr)
	}
	return call()
}

// bearer returns the request's session token, read as the middleware
// read it (which verified it).
func bearer(r *http.Request) string {
	raw, _ := sdk.TokenFromRequest(r)
	return raw
}

// fail answers an access or admin error with what the extension should
// do, and logs it (errors carry no token).
func (b *shopifyBackend) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, name, msg := http.StatusBadGateway, "shopify", "Shopify's answer could not be used"
	switch {
	case errors.Is(err, access.ErrInvalidSubjectToken):
		// The session token expired on its way to Shopify: the client
		// fetches a fresh one and retries once.
		w.Header().Set(sdk.HeaderRetryInvalidSession, "1")
		status, name, msg = http.StatusUnauthorized, "invalid_subject_token", "Shopify refused the session token; retry with a fresh one"
	case errors.Is(err, access.ErrNotExchangeable):
		status, name, msg = http.StatusForbidden, "not_exchangeable", "only admin and POS sessions act for the shop"
	case errors.Is(err, access.ErrInvalidClient):
		status, name, msg = http.StatusForbidden, "invalid_client", "the app is not installed on this shop (or its credentials are wrong)"
	case errors.Is(err, access.ErrReauthorize):
		status, name, msg = http.StatusForbidden, "reauthorize", "the shop must open the app again to re-authorize it"
	case errors.Is(err, admin.ErrThrottled):
		w.Header().Set("Retry-After", "2")
		status, name, msg = http.StatusServiceUnavailable, "throttled", "Shopify is busy for this shop; retry shortly"
	case errors.Is(err, access.ErrUnavailable), errors.Is(err, admin.ErrUnavailable):
		w.Header().Set("Retry-After", "5")
		status, name, msg = http.StatusServiceUnavailable, "unavailable", "Shopify could not be reached; retry later"
	case errors.Is(err, admin.ErrUserErrors):
		status, name, msg = http.StatusBadGateway, "user_errors", "Shopify refused the change"
	}
	b.logger.Warn("shopify call failed", "path", r.URL.Path, "status", status, "error", name, "request_id", admin.RequestID(err), "detail", err)
	writeJSON(w, status, map[string]string{"error": name, "message": msg})
}

// handleShop answers GET /api/shop: the shop as the Admin API describes
// it, read with the shop's offline token.
func (b *shopifyBackend) handleShop(w http.ResponseWriter, r *http.Request) {
	s, _ := sdk.SessionFrom(r.Context())
	if !b.offline(w, r, s) {
		return
	}
	var out struct {
		Shop struct {
			Name            string `json:"name"`
			CurrencyCode    string `json:"currencyCode"`
			MyshopifyDomain string `json:"myshopifyDomain"`
		} `json:"shop"`
	}
	err := b.do(r, s, func() error { return b.admin.Do(r.Context(), s.Shop, shopQuery, nil, &out) })
	if err != nil {
		b.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out.Shop)
}

// money is the extension's Money: {amount, currency}.
type money struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

// transaction is what POST /api/transactions carries (the extension's
// TransactionRecord).
type transaction struct {
	Key             string `json:"key"`
	TransactionType string `json:"transactionType"`
	OrderID         int64  `json:"orderId,omitempty"`
	RefundID        int64  `json:"refundId,omitempty"`
	ReturnID        int64  `json:"returnId,omitempty"`
	ExchangeID      int64  `json:"exchangeId,omitempty"`
	ExecutedAt      string `json:"executedAt"`
	GrandTotal      money  `json:"grandTotal"`
	Subtotal        money  `json:"subtotal"`
	TaxTotal        money  `json:"taxTotal"`
	TipAmount       *money `json:"tipAmount,omitempty"`
	CustomerID      int64  `json:"customerId,omitempty"`
	LineItemCount   int    `json:"lineItemCount"`
	LocationID      int64  `json:"locationId,omitempty"`
	// Tags are what the backend added to the order (set by the backend).
	Tags []string `json:"tags,omitempty"`
}

// errBadTransaction marks a transaction the backend refuses for good.
var errBadTransaction = errors.New("posbackend: bad transaction")

// transactionKey is the idempotency key of t, computed as the extension's
// transactionRecord does: type, the IDs Shopify gave it, and when it ran.
func transactionKey(t transaction) string {
	id := func(v int64) string {
		if v > 0 {
			return strconv.FormatInt(v, 10)
		}
		return "-"
	}
	return strings.Join([]string{t.TransactionType, id(t.OrderID), id(t.ReturnID), id(t.ExchangeID), id(t.RefundID), t.ExecutedAt}, ":")
}

func (t transaction) validate() error {
	switch t.TransactionType {
	case "Sale", "Return", "Exchange":
	default:
		return fmt.Errorf("%w: transactionType %q", errBadTransaction, t.TransactionType)
	}
	if _, err := time.Parse(time.RFC3339, t.ExecutedAt); err != nil {
		return fmt.Errorf("%w: executedAt %q is not RFC 3339", errBadTransaction, t.ExecutedAt)
	}
	if t.OrderID < 0 || t.RefundID < 0 || t.ReturnID < 0 || t.ExchangeID < 0 || t.LineItemCount < 0 {
		return fmt.Errorf("%w: negative ID or count", errBadTransaction)
	}
	if want := transactionKey(t); t.Key != want {
		return fmt.Errorf("%w: key %q does not name the transaction (want %q)", errBadTransaction, t.Key, want)
	}
	return nil
}

// tagsFor returns the tags a transaction adds to its order.
func tagsFor(t transaction) []string {
	return []string{"possession", "pos-" + strings.ToLower(t.TransactionType)}
}

// Ingestion's claim lease and how long an ingested key is remembered
// (POS may deliver a transaction completed offline days later; a later
// delivery would only add the same tags again, which changes nothing).
const (
	ingestLease     = 30 * time.Second
	ingestRetention = 90 * 24 * time.Hour
	maxTransaction  = 64 << 10
)

// handleTransaction answers POST /api/transactions: the transaction is
// ingested once per key (a claim in the store, the order tagged through
// the Admin API, the claim completed); a repeated or late delivery is
// answered "duplicate" and changes nothing.
func (b *shopifyBackend) handleTransaction(w http.ResponseWriter, r *http.Request) {
	s, _ := sdk.SessionFrom(r.Context())
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTransaction))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "too_large", "message": "a transaction is at most 64 KiB"})
		return
	}
	var t transaction
	if err := json.Unmarshal(raw, &t); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_transaction", "message": "the body is not a transaction record"})
		return
	}
	if err := t.validate(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_transaction", "message": err.Error()})
		return
	}
	if h := r.Header.Get("Idempotency-Key"); h != "" && h != t.Key {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_transaction", "message": "Idempotency-Key differs from the record's key"})
		return
	}
	if !b.offline(w, r, s) {
		return
	}
	id := "pos-transaction:" + s.Shop + ":" + t.Key
	claim, done, err := b.store.ClaimDelivery(r.Context(), id, ingestLease)
	switch {
	case err != nil:
		b.logger.Error("claim failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store", "message": "the store is unavailable"})
		return
	case done:
		writeJSON(w, http.StatusOK, map[string]any{"status": "duplicate", "key": t.Key})
		return
	case claim == 0:
		// Another delivery of the same transaction is being ingested.
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusConflict, map[string]string{"error": "in_progress", "message": "this transaction is being ingested by another request"})
		return
	}
	release := func() { _ = b.store.ReleaseDelivery(context.WithoutCancel(r.Context()), id, claim) }
	if t.OrderID > 0 {
		t.Tags = tagsFor(t)
		vars := map[string]any{"id": "gid://shopify/Order/" + strconv.FormatInt(t.OrderID, 10), "tags": t.Tags}
		err := b.do(r, s, func() error { return b.admin.Do(r.Context(), s.Shop, tagsAddMutation, vars, nil, admin.RetrySafe()) })
		if err != nil {
			release()
			b.fail(w, r, err)
			return
		}
	}
	b.mu.Lock()
	b.ledger[s.Shop] = append(b.ledger[s.Shop], t)
	b.mu.Unlock()
	if err := b.store.CompleteDelivery(context.WithoutCancel(r.Context()), id, claim, ingestRetention); err != nil {
		// Ingested, but not remembered: a repeat would tag again, which
		// changes nothing.
		b.logger.Warn("complete failed", "err", err)
	}
	b.logger.Info("transaction ingested", "shop", s.Shop, "key", t.Key, "order", t.OrderID, "tags", strings.Join(t.Tags, ","))
	writeJSON(w, http.StatusCreated, map[string]any{"status": "ingested", "key": t.Key, "tags": t.Tags})
}

// handleTransactions answers GET /api/transactions: the shop's ingested
// transactions, oldest first (the example keeps them in memory; your app
// writes them to its database where the ledger is appended).
func (b *shopifyBackend) handleTransactions(w http.ResponseWriter, r *http.Request) {
	s, _ := sdk.SessionFrom(r.Context())
	b.mu.Lock()
	list := slices.Clone(b.ledger[s.Shop])
	b.mu.Unlock()
	if list == nil {
		list = []transaction{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"transactions": list})
}

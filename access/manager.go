package access

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
)

// Manager hands out Shopify access tokens for verified sessions and
// background jobs: it exchanges session tokens, keeps expiring offline
// tokens fresh (refreshing each shop once across the fleet), and keeps
// them sealed in a Store. It is safe for concurrent use and starts no
// goroutines.
type Manager struct {
	clientID string
	secret   keysource.Source
	store    Store
	cfg      config
	seal     *sealer
	cache    *tokenCache
	flights  flights
	tel      *telemetry
}

// New returns a Manager for the app with the given client ID (API key)
// and client secret source, keeping tokens in store. The secret source's
// current key is the client secret sent to Shopify; by default its keys
// also seal tokens at rest (see WithEncryptionKeys).
func New(clientID string, secret keysource.Source, store Store, opts ...Option) (*Manager, error) {
	cfg, err := newConfig(opts)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if clientID == "" {
		errs = append(errs, errors.New("access: empty client id"))
	}
	if secret == nil {
		errs = append(errs, errors.New("access: nil client secret source"))
	}
	if store == nil {
		errs = append(errs, errors.New("access: nil store"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if secret.Keyring().Len() == 0 {
		return nil, errors.New("access: the client secret source has no keys")
	}
	encryption := cfg.encryption
	if encryption == nil {
		encryption = secret
	}
	seal, err := newSealer(encryption, cfg.random)
	if err != nil {
		return nil, err
	}
	cacheSize := cfg.cacheSize
	if cfg.cacheTTL == 0 {
		cacheSize = 0
	}
	m := &Manager{
		clientID: clientID,
		secret:   secret,
		store:    store,
		cfg:      cfg,
		seal:     seal,
		cache:    newTokenCache(cacheSize),
	}
	if m.tel, err = newTelemetry(m); err != nil {
		return nil, fmt.Errorf("access: telemetry: %w", err)
	}
	return m, nil
}

// clientSecret returns the current client secret.
func (m *Manager) clientSecret() (string, error) {
	ring := m.secret.Keyring()
	if ring.Len() == 0 {
		return "", fmt.Errorf("%w: the client secret source has no keys", ErrInvalidClient)
	}
	b := ring.Key(0).Secret.Bytes()
	s := string(b)
	clear(b)
	return s, nil
}

// Offline returns the shop's offline token for a verified admin or POS
// session: from the in-process cache or the store when it is fresh,
// refreshed when it is due, exchanged (idToken, the raw session token s
// was verified from, sent to Shopify with expiring=1) when nothing usable
// is stored or the shop's grant was refused (a tombstone is stored: see
// RefreshAfterUnauthorized). The shop is s.Shop, never anything from the
// request.
//
// A token served from the cache costs no store round trip and no
// allocation.
func (m *Manager) Offline(ctx context.Context, s *sdk.Session, idToken string) (Token, error) {
	// Only admin sessions with valid shops reach the cache, so the cache
	// is asked before the shop is checked character by character.
	if s != nil && s.Kind == sdk.KindAdmin {
		if tok, ok := m.cache.get(Key{Shop: s.Shop, Mode: Offline}, m.cfg.now()); ok {
			return tok, nil
		}
	}
	if err := checkSession(s, Offline); err != nil {
		return Token{}, err
	}
	key := Key{Shop: s.Shop, Mode: Offline}
	return m.flights.do(ctx, flightKey{key: key, op: serveOp(idToken)}, func(ctx context.Context) (Token, error) {
		return m.acquire(ctx, key, idToken, "")
	})
}

// OfflineFor returns the shop's offline token for background work (a
// webhook, a job) where no session token is at hand: from the cache or
// the store, refreshed when due. It never exchanges: when nothing is
// stored the error wraps ErrNoToken, and when the shop's refresh token
// is refused, or an instance of the fleet found its grant dead before
// (a tombstone is stored), it wraps ErrReauthorize, without a request
// to Shopify in the second case.
func (m *Manager) OfflineFor(ctx context.Context, shop string) (Token, error) {
	key := Key{Shop: shop, Mode: Offline}
	if tok, ok := m.cache.get(key, m.cfg.now()); ok {
		return tok, nil // only valid shops are cached
	}
	if !validShop(shop) {
		return Token{}, fmt.Errorf("%w: %q is not a shop domain", ErrNotExchangeable, shop)
	}
	return m.flights.do(ctx, flightKey{key: key, op: opServe}, func(ctx context.Context) (Token, error) {
		return m.acquire(ctx, key, "", "")
	})
}

// Online returns an online token for the session's staff user (bounded by
// that user's permissions), exchanged with idToken when none is stored or
// the stored one is about to expire. Online tokens are not refreshed.
func (m *Manager) Online(ctx context.Context, s *sdk.Session, idToken string) (Token, error) {
	if s != nil && s.Kind == sdk.KindAdmin && s.UserID != "" {
		if tok, ok := m.cache.get(Key{Shop: s.Shop, Mode: Online, UserID: s.UserID}, m.cfg.now()); ok {
			return tok, nil
		}
	}
	if err := checkSession(s, Online); err != nil {
		return Token{}, err
	}
	key := Key{Shop: s.Shop, Mode: Online, UserID: s.UserID}
	return m.flights.do(ctx, flightKey{key: key, op: serveOp(idToken)}, func(ctx context.Context) (Token, error) {
		return m.acquire(ctx, key, idToken, s.UserID)
	})
}

// RefreshAfterUnauthorized handles a 401 from Shopify's Admin API for
// rejected, a token this Manager returned. If rejected is still the stored
// token, the shop's token is refreshed once across the fleet (in-process
// single flight, the fleet-wide lock, a re-read, the refresh, a fenced
// compare-and-swap) and the new token returned; if another caller or
// instance already replaced it, the replacement is returned without a
// request to Shopify. When the token cannot be refreshed (an online
// token, a non-expiring offline token, an expired or refused refresh
// token, a deleted record) the error wraps ErrReauthorize; the Manager
// never retries in a loop, so a caller retries its API call at most once.
//
// A grant found dead that way is cleared for the whole fleet: under the
// lock, a tombstone replaces the record (a fenced compare-and-swap, so a
// holder whose lease ended cannot bury its successor's token, nor bring
// the dead one back). From then on every instance's OfflineFor fails
// with ErrReauthorize without asking Shopify, the shop leaves
// Store.Expiring, and the next Offline (or Online) call with a session
// token exchanges it for a new grant, once across the fleet.
func (m *Manager) RefreshAfterUnauthorized(ctx context.Context, rejected Token) (Token, error) {
	if rejected.IsZero() || !validShop(rejected.Shop) {
		return Token{}, fmt.Errorf("%w: refresh after 401: not a token from this manager", ErrNoToken)
	}
	key := rejected.Key()
	m.cache.drop(key, rejected.Value())
	return m.flights.do(ctx, flightKey{key: key, op: opUnauthorized, rejected: rejected.Value()}, func(ctx context.Context) (Token, error) {
		return m.afterUnauthorized(ctx, key, rejected.Value())
	})
}

// MigrateToExpiring exchanges the shop's stored non-expiring offline token
// for an expiring one (the migrate grant) and stores the new pair. It is
// one-time and irreversible: Shopify revokes the non-expiring token, and
// from then on the shop's token must be refreshed about every hour (the
// Manager does that). A shop whose stored token already expires is
// returned as is, without a request. Page through Store.NonExpiring to
// migrate every shop.
func (m *Manager) MigrateToExpiring(ctx context.Context, shop string) (Token, error) {
	if !validShop(shop) {
		return Token{}, fmt.Errorf("%w: %q is not a shop domain", ErrNotExchangeable, shop)
	}
	key := Key{Shop: shop, Mode: Offline}
	return m.flights.do(ctx, flightKey{key: key, op: opMigrate}, func(ctx context.Context) (Token, error) {
		return m.migrate(ctx, key)
	})
}

// ImportOffline stores a non-expiring offline token the app obtained
// outside the Manager (an authorization-code install, the token table of
// another library) for shop, sealed like every other, so that the
// Manager serves it and MigrateToExpiring can migrate it. It never
// overwrites a token: if the shop already has an offline token stored,
// the error wraps ErrConflict and nothing changes (a tombstone, a grant
// found dead, is replaced).
func (m *Manager) ImportOffline(ctx context.Context, shop, accessToken, scope string) (Token, error) {
	if !validShop(shop) {
		return Token{}, fmt.Errorf("%w: %q is not a shop domain", ErrNotExchangeable, shop)
	}
	if accessToken == "" {
		return Token{}, fmt.Errorf("access: import for %s: empty access token", shop)
	}
	key := Key{Shop: shop, Mode: Offline}
	lease, cur, found, _, err := m.lock(ctx, key, Record{}, false)
	if err != nil {
		return Token{}, err
	}
	if lease == nil || (found && !cur.IsTombstone()) {
		// Found, or another instance stored a token while we waited.
		if lease != nil {
			m.unlock(ctx, *lease)
		}
		return Token{}, fmt.Errorf("access: import for %s: a token is stored already: %w", shop, ErrConflict)
	}
	defer m.unlock(ctx, *lease)
	return m.write(ctx, *lease, &cur, found, acquired{access: accessToken, scope: scope})
}

// Delete removes every stored token of shop (offline and online) and
// forgets what the Manager cached, for app/uninstalled and shop/redact.
// Other instances serve their cached copy for at most the cache TTL.
func (m *Manager) Delete(ctx context.Context, shop string) error {
	m.cache.dropShop(shop)
	err := m.tel.storeOp(ctx, "delete", shop, func(ctx context.Context) error { return m.store.Delete(ctx, shop) })
	m.cache.dropShop(shop)
	if err != nil {
		return fmt.Errorf("access: delete tokens of %s: %w", shop, err)
	}
	return nil
}

// serveOp is the flight of a serving call: whether it may exchange.
func serveOp(idToken string) flightOp {
	if idToken == "" {
		return opServe
	}
	return opServeExchange
}

// checkSession admits only verified admin/POS sessions with a shop (and a
// user, for online tokens).
func checkSession(s *sdk.Session, mode Mode) error {
	switch {
	case s == nil:
		return fmt.Errorf("%w: no session", ErrNotExchangeable)
	case s.Kind != sdk.KindAdmin:
		return fmt.Errorf("%w: the session is a %s session", ErrNotExchangeable, s.Kind)
	case !validShop(s.Shop):
		return fmt.Errorf("%w: the session has no valid shop", ErrNotExchangeable)
	case mode == Online && s.UserID == "":
		return fmt.Errorf("%w: the session has no user for an online token", ErrNotExchangeable)
	}
	return nil
}

// validShop accepts host names only (the shop goes into a URL and the
// Host header): lower-case letters, digits, '-' and '.'.
func validShop(shop string) bool {
	if shop == "" || len(shop) > 255 || strings.HasPrefix(shop, ".") || strings.HasSuffix(shop, ".") {
		return false
	}
	for i := 0; i < len(shop); i++ {
		c := shop[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// The lifecycle of a record, as the Manager sees it at time now.

// refreshAt is when an expiring token is due for refresh: the margin
// before expiry, cut to half the token's lifetime. Zero: never.
func (m *Manager) refreshAt(rec *Record) time.Time {
	if rec.AccessExpiresAt.IsZero() {
		return time.Time{}
	}
	margin := m.cfg.refreshMargin
	if life := rec.AccessExpiresAt.Sub(rec.UpdatedAt); life > 0 && margin > life/2 {
		margin = life / 2
	}
	return rec.AccessExpiresAt.Add(-margin)
}

func (m *Manager) fresh(rec *Record, now time.Time) bool {
	at := m.refreshAt(rec)
	return len(rec.AccessToken) > 0 && (at.IsZero() || now.Before(at))
}

// valid: the access token has not expired (it may be due for refresh).
func valid(rec *Record, now time.Time) bool {
	return len(rec.AccessToken) > 0 && (rec.AccessExpiresAt.IsZero() || now.Before(rec.AccessExpiresAt))
}

// refreshable: the record holds a refresh token that has not expired.
func refreshable(rec *Record, now time.Time) bool {
	return len(rec.RefreshToken) > 0 && (rec.RefreshExpiresAt.IsZero() || now.Before(rec.RefreshExpiresAt))
}

// tokenOf opens a record's access token.
func (m *Manager) tokenOf(rec *Record) (Token, error) {
	access, err := m.seal.open(rec.Key, fieldAccess, rec.AccessToken)
	if err != nil {
		return Token{}, err
	}
	return Token{
		Shop:      rec.Shop,
		Mode:      rec.Mode,
		UserID:    rec.UserID,
		Scope:     rec.Scope,
		ExpiresAt: rec.AccessExpiresAt,
		v:         newTokenValue(access),
	}, nil
}

// serve opens rec's token and caches it until the earlier of the cache
// TTL and its refresh time (or until, when set: a failure backoff).
func (m *Manager) serve(rec *Record, until time.Time) (Token, error) {
	tok, err := m.tokenOf(rec)
	if err != nil {
		return Token{}, err
	}
	now := m.cfg.now()
	limit := now.Add(m.cfg.cacheTTL)
	if until.IsZero() {
		until = limit
		if at := m.refreshAt(rec); !at.IsZero() && at.Before(until) {
			until = at
		}
	} else if until.After(limit) {
		until = limit
	}
	if !rec.AccessExpiresAt.IsZero() && rec.AccessExpiresAt.Before(until) {
		until = rec.AccessExpiresAt
	}
	m.cache.put(rec.Key, tok, until, now)
	return tok, nil
}

// serveStale serves a valid token that is due for refresh when the
// refresh cannot happen now, for the failure backoff.
func (m *Manager) serveStale(rec *Record) (Token, error) {
	return m.serve(rec, m.cfg.now().Add(m.cfg.failureBackoff))
}

// load reads key's record; found is false for ErrNotFound.
func (m *Manager) load(ctx context.Context, key Key) (rec Record, found bool, err error) {
	err = m.tel.storeOp(ctx, "load", key.Shop, func(ctx context.Context) error {
		var err error
		rec, err = m.store.Load(ctx, key)
		return err
	})
	switch {
	case err == nil:
		return rec, true, nil
	case errors.Is(err, ErrNotFound):
		return Record{}, false, nil
	case ctx.Err() != nil:
		return Record{}, false, fmt.Errorf("access: load %s: %w", key, ctxErr(ctx.Err()))
	}
	return Record{}, false, fmt.Errorf("access: load %s: %w", key, err)
}

// acquire is the slow path of Offline, OfflineFor and Online: read, and
// when the stored token is not fresh, act under the fleet-wide lock.
// idToken is "" when no exchange is possible; userID is the online
// token's user.
func (m *Manager) acquire(ctx context.Context, key Key, idToken, userID string) (Token, error) {
	first, found, err := m.load(ctx, key)
	if err != nil {
		return Token{}, err
	}
	now := m.cfg.now()
	if found && m.fresh(&first, now) {
		return m.serve(&first, time.Time{})
	}
	if found && idToken == "" && first.IsTombstone() {
		return Token{}, errBuried(key)
	}
	if found && idToken == "" {
		// Nothing to do without the merchant? Then do not lock for it.
		if key.Mode == Online || !refreshable(&first, now) || m.cache.isDead(key, first.Version) {
			if valid(&first, now) {
				return m.serveStale(&first)
			}
			if key.Mode == Offline && len(first.RefreshToken) > 0 && !refreshable(&first, now) {
				// Both tokens expired: the grant is dead. Bury it, so that
				// it leaves Expiring (a refresher would meet it first on
				// every page) and the next session exchanges.
				return m.buryExpired(ctx, key, first)
			}
			return Token{}, fmt.Errorf("%w: %s: the stored token expired and cannot be refreshed", ErrReauthorize, key)
		}
	}
	if !found && idToken == "" {
		return Token{}, fmt.Errorf("access: %s: %w: %w", key, ErrNoToken, ErrNotFound)
	}

	lease, cur, curFound, waited, err := m.lock(ctx, key, first, found)
	if err != nil {
		if errors.Is(err, ErrLockTimeout) && found && valid(&first, m.cfg.now()) {
			return m.serveStale(&first)
		}
		return Token{}, err
	}
	if lease == nil {
		// Another instance stored a fresh token while we waited.
		return m.serve(&cur, time.Time{})
	}
	defer m.unlock(ctx, *lease)

	now = m.cfg.now()
	if curFound && m.fresh(&cur, now) {
		return m.serve(&cur, time.Time{})
	}
	if waited && curFound && found && cur.Version == first.Version && valid(&cur, now) {
		// The holder we waited for did not store a new token: Shopify
		// failed it, or it died. Serve the still valid token rather than
		// queue up behind it with requests of our own; the next call after
		// the failure backoff tries again.
		return m.serveStale(&cur)
	}

	if curFound && key.Mode == Offline && refreshable(&cur, now) && !m.cache.isDead(key, cur.Version) {
		tok, err := m.refresh(ctx, *lease, &cur)
		switch {
		case err == nil:
			return tok, nil
		case errors.Is(err, ErrReauthorize):
			if idToken == "" || !cur.IsTombstone() {
				// No merchant here, or the tombstone could not be
				// written (another holder wrote since: ours is not the
				// lease to exchange under).
				return Token{}, err
			}
			// The merchant is here: exchange a new grant below, over
			// the tombstone.
		case isCanceled(err):
			return Token{}, err
		case valid(&cur, m.cfg.now()) && (errors.Is(err, ErrUnavailable) || errors.Is(err, ErrLockTimeout)):
			// Shopify is down or slow; the stored token still works.
			return m.serveStale(&cur)
		default:
			return Token{}, err
		}
	}

	if idToken == "" {
		if curFound && valid(&cur, now) {
			return m.serveStale(&cur)
		}
		if !curFound {
			return Token{}, fmt.Errorf("access: %s: %w: %w", key, ErrNoToken, ErrNotFound)
		}
		if cur.IsTombstone() {
			return Token{}, errBuried(key)
		}
		return Token{}, fmt.Errorf("%w: %s: the stored token expired and cannot be refreshed", ErrReauthorize, key)
	}
	return m.exchange(ctx, *lease, key, &cur, curFound, idToken, userID)
}

// afterUnauthorized is RefreshAfterUnauthorized's work.
func (m *Manager) afterUnauthorized(ctx context.Context, key Key, rejected string) (Token, error) {
	// settled answers, before the lock and again under it, when no
	// refresh is needed: no token any more, or one other than the
	// rejected one.
	settled := func(r *Record, found bool) (Token, bool, error) {
		if !found {
			return Token{}, true, fmt.Errorf("%w: %s: no token is stored any more (uninstalled?): %w", ErrReauthorize, key, ErrNotFound)
		}
		tok, ok := m.replaced(r, rejected)
		return tok, ok, nil
	}
	first, found, err := m.load(ctx, key)
	if err != nil {
		return Token{}, err
	}
	if tok, done, err := settled(&first, found); done {
		return tok, err
	}
	lease, cur, curFound, _, err := m.lock(ctx, key, first, true)
	if err != nil {
		return Token{}, err
	}
	if lease == nil {
		return m.serve(&cur, time.Time{})
	}
	defer m.unlock(ctx, *lease)
	if tok, done, err := settled(&cur, curFound); done {
		return tok, err
	}
	// The stored token is the rejected one (or no longer valid).
	now := m.cfg.now()
	switch {
	case cur.IsTombstone():
		return Token{}, errBuried(key)
	case key.Mode == Online:
		return m.refused(ctx, *lease, &cur, fmt.Errorf("%w: %s: shopify rejected an online token, which is not refreshed: call Online with a fresh session token", ErrReauthorize, key))
	case len(cur.RefreshToken) == 0:
		return m.refused(ctx, *lease, &cur, fmt.Errorf("%w: %s: shopify rejected a token that cannot be refreshed (revoked, or the app was uninstalled)", ErrReauthorize, key))
	case !refreshable(&cur, now):
		return m.refused(ctx, *lease, &cur, fmt.Errorf("%w: %s: the refresh token expired", ErrReauthorize, key))
	case m.cache.isDead(key, cur.Version):
		return m.refused(ctx, *lease, &cur, fmt.Errorf("%w: %s: shopify refused the stored refresh token", ErrReauthorize, key))
	}
	return m.refresh(ctx, *lease, &cur)
}

// buryExpired writes a tombstone over first, an offline record whose
// access and refresh tokens both expired, under the lock: unless another
// instance wrote meanwhile, then what it stored counts.
func (m *Manager) buryExpired(ctx context.Context, key Key, first Record) (Token, error) {
	dead := fmt.Errorf("%w: %s: the access and refresh tokens expired", ErrReauthorize, key)
	lease, cur, curFound, _, err := m.lock(ctx, key, first, true)
	if err != nil {
		return Token{}, errors.Join(dead, err)
	}
	if lease == nil {
		return m.serve(&cur, time.Time{})
	}
	defer m.unlock(ctx, *lease)
	now := m.cfg.now()
	switch {
	case !curFound:
		return Token{}, fmt.Errorf("access: %s: %w: %w", key, ErrNoToken, ErrNotFound)
	case cur.IsTombstone():
		return Token{}, errBuried(key)
	case valid(&cur, now):
		return m.serve(&cur, time.Time{})
	case refreshable(&cur, now) && !m.cache.isDead(key, cur.Version):
		// Another instance stored a new pair meanwhile, expired already.
		return m.refresh(ctx, *lease, &cur)
	}
	return m.refused(ctx, *lease, &cur, dead)
}

// errBuried is the error for a key whose record is a tombstone.
func errBuried(key Key) error {
	return fmt.Errorf("%w: %s: shopify refused the shop's grant before (a tombstone is stored): a session token exchanges a new one", ErrReauthorize, key)
}

// refused records that Shopify refused cur's grant for good (err wraps
// ErrReauthorize): a tombstone replaces cur in the store, fenced by
// lease, so that the whole fleet knows without asking Shopify again, and
// err is returned with cur holding the tombstone (an exchange may follow
// over it). If the tombstone is refused because another holder wrote
// since (a newer lease, or another version), what that holder stored
// counts: a valid token of its is served, since the refusal concerned a
// grant it had replaced; otherwise err is returned and cur left as it
// was.
func (m *Manager) refused(ctx context.Context, lease Lease, cur *Record, err error) (Token, error) {
	key := cur.Key
	m.cache.markDead(key, cur.Version)
	tomb := Record{Key: key, Version: cur.Version + 1, UpdatedAt: truncate(m.cfg.now())}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	werr := m.tel.storeOp(wctx, "compare_and_swap", key.Shop, func(ctx context.Context) error {
		return m.store.CompareAndSwap(ctx, lease, tomb)
	})
	m.cache.drop(key, "")
	if werr == nil {
		*cur = tomb
		return Token{}, err
	}
	if errors.Is(werr, ErrFenced) || errors.Is(werr, ErrConflict) {
		stored, found, lerr := m.load(wctx, key)
		if lerr == nil && found && stored.Version != cur.Version && valid(&stored, m.cfg.now()) {
			return m.serve(&stored, time.Time{})
		}
	}
	// Not written: this instance still remembers the dead version (the
	// cache's dead marks) so that it does not ask Shopify again.
	return Token{}, fmt.Errorf("%w (the tombstone was not stored: %w)", err, werr)
}

// replaced returns rec's token if it is not the rejected one and still
// valid: someone replaced the rejected token already.
func (m *Manager) replaced(rec *Record, rejected string) (Token, bool) {
	if !valid(rec, m.cfg.now()) {
		return Token{}, false
	}
	tok, err := m.tokenOf(rec)
	if err != nil || subtle.ConstantTimeCompare([]byte(tok.Value()), []byte(rejected)) == 1 {
		return Token{}, false
	}
	tok, err = m.serve(rec, time.Time{})
	return tok, err == nil
}

// migrate is MigrateToExpiring's work, under the lock.
func (m *Manager) migrate(ctx context.Context, key Key) (Token, error) {
	// settled answers, before the lock and again under it, when there is
	// nothing to migrate: no token, a dead grant, or one that already
	// expires.
	settled := func(r *Record, found bool) (Token, bool, error) {
		switch {
		case !found:
			return Token{}, true, fmt.Errorf("access: migrate %s: %w: %w", key, ErrNoToken, ErrNotFound)
		case r.IsTombstone():
			return Token{}, true, errBuried(key)
		case !r.AccessExpiresAt.IsZero() || len(r.RefreshToken) > 0:
			tok, err := m.serve(r, time.Time{})
			return tok, true, err
		}
		return Token{}, false, nil
	}
	first, found, err := m.load(ctx, key)
	if err != nil {
		return Token{}, err
	}
	if tok, done, err := settled(&first, found); done {
		return tok, err
	}
	lease, cur, curFound, _, err := m.lock(ctx, key, first, true)
	if err != nil {
		return Token{}, err
	}
	if lease == nil {
		return m.serve(&cur, time.Time{})
	}
	defer m.unlock(ctx, *lease)
	if tok, done, err := settled(&cur, curFound); done {
		return tok, err
	}
	old, err := m.seal.open(key, fieldAccess, cur.AccessToken)
	if err != nil {
		return Token{}, err
	}
	body := grantRequest{
		GrantType:          grantTypeTokenExchange,
		SubjectToken:       old,
		SubjectTokenType:   tokenTypeOffline,
		RequestedTokenType: tokenTypeOffline,
		Expiring:           "1",
	}
	a, err := m.grant(ctx, key, grantMigrate, body, "")
	if err != nil {
		return Token{}, err
	}
	return m.write(ctx, *lease, &cur, true, a)
}

// refresh redeems cur's refresh token and stores the new pair. When
// Shopify refuses the refresh token, cur is replaced by a tombstone (see
// refused).
func (m *Manager) refresh(ctx context.Context, lease Lease, cur *Record) (Token, error) {
	rt, err := m.seal.open(cur.Key, fieldRefresh, cur.RefreshToken)
	if err != nil {
		return Token{}, err
	}
	body := grantRequest{GrantType: grantTypeRefresh, RefreshToken: rt}
	a, err := m.grant(ctx, cur.Key, grantRefresh, body, "")
	if err != nil {
		if errors.Is(err, ErrReauthorize) {
			// invalid_grant: the grant is dead (see refused).
			return m.refused(ctx, lease, cur, err)
		}
		return Token{}, err
	}
	return m.write(ctx, lease, cur, true, a)
}

// exchange trades idToken for a new token and stores it.
func (m *Manager) exchange(ctx context.Context, lease Lease, key Key, cur *Record, curFound bool, idToken, userID string) (Token, error) {
	body := grantRequest{
		GrantType:        grantTypeTokenExchange,
		SubjectToken:     idToken,
		SubjectTokenType: tokenTypeIDToken,
	}
	g := grantExchangeOffline
	if key.Mode == Online {
		g = grantExchangeOnline
		body.RequestedTokenType = tokenTypeOnline
		body.Expiring = "0" // as Shopify's JS library sends it
	} else {
		body.RequestedTokenType = tokenTypeOffline
		body.Expiring = "1"
	}
	a, err := m.grant(ctx, key, g, body, userID)
	if err != nil {
		return Token{}, err
	}
	return m.write(ctx, lease, cur, curFound, a)
}

// grant makes one token request inside its span.
func (m *Manager) grant(ctx context.Context, key Key, g grant, body grantRequest, userID string) (acquired, error) {
	ctx, span, start := m.tel.grantSpan(ctx, g, key)
	a, se, err := m.requestGrant(ctx, key.Shop, g, body, userID)
	if err != nil && !isCanceled(err) {
		err = fmt.Errorf("access: %s for %s: %w", g, key, err)
	}
	m.tel.endGrant(ctx, span, start, g, se, err)
	return a, err
}

// writeTimeout bounds storing a pair Shopify issued. The write runs even
// when the caller's context has ended: the pair revoked the previous one,
// so dropping it would leave the store holding a revoked pair.
const writeTimeout = 10 * time.Second

// write seals a and stores it with a compare-and-swap fenced by lease,
// before anyone uses it. When the write is refused (a newer lease, or
// another write), the stored record is what counts: it is served if
// valid; but first, for a refused expiring offline pair, reconcile
// checks whether the pair in hand is the one Shopify issued last.
func (m *Manager) write(ctx context.Context, lease Lease, cur *Record, curFound bool, a acquired) (Token, error) {
	key := lease.Key
	version := int64(1)
	if curFound {
		version = cur.Version + 1
	}
	tok, err := m.swap(ctx, lease, version, a)
	if err == nil {
		return tok, nil
	}
	if errors.Is(err, ErrFenced) || errors.Is(err, ErrConflict) {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.lockWait+m.cfg.requestTimeout+writeTimeout)
		defer cancel()
		if errors.Is(err, ErrFenced) && key.Mode == Offline && a.refresh != "" {
			// Our lease was superseded; should it still hold the lock
			// (a store that fenced for another reason), free it first.
			m.unlock(wctx, lease)
			if tok, ok := m.reconcile(wctx, key, a); ok {
				return tok, nil
			}
		}
		// Someone else's write counts; ours is dropped unused.
		stored, found, lerr := m.load(wctx, key)
		if lerr == nil && found && valid(&stored, m.cfg.now()) {
			return m.serve(&stored, time.Time{})
		}
	}
	return Token{}, fmt.Errorf("access: store new token of %s: %w", key, err)
}

// swap seals a and writes it as version of lease's key, fenced by lease,
// and caches it: the token is returned only once it is stored.
func (m *Manager) swap(ctx context.Context, lease Lease, version int64, a acquired) (Token, error) {
	key := lease.Key
	now := m.cfg.now()
	rec := Record{
		Key:              key,
		Scope:            a.scope,
		AccessExpiresAt:  a.accessExpires,
		RefreshExpiresAt: a.refreshExpires,
		Version:          version,
		UpdatedAt:        truncate(now),
	}
	var err error
	if rec.AccessToken, err = m.seal.seal(key, fieldAccess, a.access); err != nil {
		return Token{}, err
	}
	if a.refresh != "" {
		if rec.RefreshToken, err = m.seal.seal(key, fieldRefresh, a.refresh); err != nil {
			return Token{}, err
		}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	err = m.tel.storeOp(wctx, "compare_and_swap", key.Shop, func(ctx context.Context) error {
		return m.store.CompareAndSwap(ctx, lease, rec)
	})
	if err != nil {
		return Token{}, err
	}
	m.cache.clearDead(key)
	tok := Token{
		Shop:      key.Shop,
		Mode:      key.Mode,
		UserID:    key.UserID,
		Scope:     rec.Scope,
		ExpiresAt: rec.AccessExpiresAt,
		v:         newTokenValue(a.access),
	}
	until := now.Add(m.cfg.cacheTTL)
	if at := m.refreshAt(&rec); !at.IsZero() && at.Before(until) {
		until = at
	}
	m.cache.put(key, tok, until, now)
	return tok, nil
}

// reconcile runs after this instance's write of a, an expiring offline
// pair Shopify issued it, was fenced: its lease ended before it stored
// the pair, and a successor may have stored a pair of its own. Shopify
// keeps one expiring offline token live per shop, the last it issued; if
// it processed this instance's request after the successor's (sent late,
// or slow on the way), the stored pair is revoked and the one in hand is
// the shop's only live pair, which dropping would lose. So, under a new
// lease and after a re-read, Shopify is asked whether it honours the
// access token in hand (GET access_scopes.json): if it does, no pair was
// issued after it, and it is stored over whatever is there (a tombstone
// included: the grant is alive); if it does not, the stored pair is the
// newer one and stays. It reports whether it stored a. The check is one
// request, made only after a fenced write.
func (m *Manager) reconcile(ctx context.Context, key Key, a acquired) (Token, bool) {
	first, found, err := m.load(ctx, key)
	if err != nil || !found {
		return Token{}, false // deleted (uninstalled): not brought back
	}
	lease, cur, curFound, _, err := m.lock(ctx, key, first, true)
	if err != nil || lease == nil || !curFound {
		return Token{}, false // another instance stored a fresh token meanwhile
	}
	defer m.unlock(ctx, *lease)
	live, err := m.honoured(ctx, key, a.access)
	if err != nil || !live {
		return Token{}, false
	}
	tok, err := m.swap(ctx, *lease, cur.Version+1, a)
	return tok, err == nil
}

// Lock waiting: poll with jittered backoff from lockPollMin to lockPollMax.
const (
	lockPollMin   = 10 * time.Millisecond
	lockPollMax   = 250 * time.Millisecond
	unlockTimeout = 5 * time.Second
)

// lock takes key's fleet-wide lock and re-reads the record under it. While
// another holder has it, it polls the store: if the record changed to a
// fresh token meanwhile, it returns that with a nil lease (served by
// another instance). waited tells that the lock was held by someone else
// at first.
func (m *Manager) lock(ctx context.Context, key Key, first Record, found bool) (lease *Lease, cur Record, curFound, waited bool, err error) {
	var start time.Time
	var wctx context.Context
	endWait := func(string) {}
	poll := lockPollMin
	for {
		var l Lease
		lctx := ctx
		if wctx != nil {
			lctx = wctx
		}
		err := m.tel.storeOp(lctx, "lock", key.Shop, func(ctx context.Context) error {
			var err error
			l, err = m.store.Lock(ctx, key, m.cfg.lease)
			return err
		})
		if err == nil {
			rec, ok, lerr := m.load(lctx, key)
			if lerr != nil {
				m.unlock(ctx, l)
				endWait("error")
				return nil, Record{}, false, waited, lerr
			}
			endWait("acquired")
			return &l, rec, ok, waited, nil
		}
		if !errors.Is(err, ErrLocked) {
			endWait("error")
			if ctx.Err() != nil {
				return nil, Record{}, false, waited, fmt.Errorf("access: lock %s: %w", key, ctxErr(ctx.Err()))
			}
			return nil, Record{}, false, waited, fmt.Errorf("access: lock %s: %w", key, err)
		}
		if !waited {
			waited = true
			start = time.Now()
			c, sp := m.tel.lockWaitSpan(ctx, key)
			wctx = c
			endWait = func(oc string) { m.tel.endLockWait(c, sp, time.Since(start), oc) }
		}
		if time.Since(start) >= m.cfg.lockWait {
			endWait("timeout")
			return nil, Record{}, false, waited, fmt.Errorf("access: %s: %w (waited %v): %w", key, ErrLockTimeout, m.cfg.lockWait.Round(time.Millisecond), ErrLocked)
		}
		if err := m.cfg.sleep(ctx, m.cfg.jitter(poll)); err != nil {
			endWait("error")
			return nil, Record{}, false, waited, fmt.Errorf("access: wait for lock of %s: %w", key, ctxErr(err))
		}
		poll = min(2*poll, lockPollMax)
		rec, ok, lerr := m.load(wctx, key)
		if lerr != nil {
			endWait("error")
			return nil, Record{}, false, waited, lerr
		}
		if ok && (!found || rec.Version != first.Version) && m.fresh(&rec, m.cfg.now()) {
			endWait("served")
			return nil, rec, true, waited, nil
		}
	}
}

// unlock releases l, even when the caller's context has ended.
func (m *Manager) unlock(ctx context.Context, l Lease) {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	// A failed unlock is harmless: the lease ends by itself.
	_ = m.tel.storeOp(uctx, "unlock", l.Key.Shop, func(ctx context.Context) error { return m.store.Unlock(ctx, l) })
}

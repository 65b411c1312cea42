// Package access acts for the shop: it turns a verified session into the
// Shopify access token a backend calls the Admin API with, keeps expiring
// offline tokens fresh, refreshes each shop once across a whole fleet of
// backend instances, and keeps tokens encrypted in a Store.
//
// # Getting a token
//
// A Manager is made once, with the app's client ID, its client secret
// source and a Store:
//
//	secret, err := keysource.Env("SHOPIFY_API_SECRET")
//	...
//	tokens, err := access.New(clientID, secret, store)
//
// where store is access/sqlitestore (one machine), access/redisstore or
// access/pgstore (a fleet), or MemoryStore (tests, one process).
//
// A handler behind the sdk middleware asks for the shop's offline token
// with the verified session and the raw session token it came from:
//
//	s, _ := sdk.SessionFrom(r.Context())
//	raw, _ := sdk.TokenFromRequest(r) // the session token s came from
//	tok, err := tokens.Offline(ctx, s, raw)
//	req.Header.Set("X-Shopify-Access-Token", tok.Value())
//
// A background job (a webhook, a scheduled sync) has no session token and
// asks by shop: OfflineFor serves the stored token and refreshes it when
// due, but never exchanges. Online returns a token bounded by one staff
// user's permissions.
//
// The shop always comes from the verified session (its dest claim),
// never from the request, and only admin and POS sessions lead to tokens:
// a checkout or customer-account session fails with ErrNotExchangeable.
//
// # The life of an offline token
//
//  1. Exchange. The first Offline call for a shop sends the session token
//     to Shopify's token endpoint (token exchange, expiring=1) and gets an
//     access token that lives about an hour and a refresh token that
//     lives 90 days.
//  2. Store, then use. The pair is sealed and written to the Store with
//     a compare-and-swap before it is returned: a pair that was not
//     stored is never used, because acquiring it revoked the previous
//     one.
//  3. Cache. The decrypted token is kept in process for a short while
//     (WithCacheTTL, 30 s): a call for a shop whose token is fresh costs
//     a map lookup and the clock, no store round trip and no allocation.
//  4. Refresh. Within the refresh margin before expiry (WithRefreshMargin,
//     5 min) the next caller refreshes: the refresh token is redeemed, a
//     new pair stored, the old one revoked by Shopify. The refresh token
//     rotates every time and its 90 days restart.
//  5. After a 401. If the Admin API rejects a token anyway (another
//     instance refreshed it, Shopify revoked it), RefreshAfterUnauthorized
//     returns the stored replacement or refreshes once.
//  6. Re-authorize. When the refresh token has expired or Shopify refuses
//     it (invalid_grant), or rejects a token that cannot be refreshed,
//     only the merchant can grant again. The instance that found out
//     writes a tombstone over the record (a record without tokens, at the
//     next version, with the same fenced compare-and-swap as any write),
//     so the whole fleet knows: OfflineFor fails with ErrReauthorize
//     without asking Shopify, the shop leaves Store.Expiring (a dead
//     grant would otherwise lead every refresher's page), and the next
//     Offline call with a session token (the merchant opening the app)
//     exchanges a new pair, once across the fleet.
//  7. Uninstall. Delete removes the shop's tokens (app/uninstalled,
//     shop/redact).
//
// # Across a fleet
//
// A new expiring token revokes the shop's previous ones, so instances that
// refresh on their own lock the shop out: one stores a pair that another's
// refresh has already revoked. The Manager refreshes each shop once across
// the fleet:
//
//   - in-process single flight: concurrent callers in one process share
//     one computation per shop;
//   - a fleet-wide lock in the Store with a lease (WithLease, 20 s), so a
//     holder that dies frees the shop by itself; callers that find it
//     held poll the store with jittered backoff (bounded by WithLockWait)
//     and use the new token as soon as the holder stored it;
//   - a re-read under the lock: another instance may have refreshed
//     already;
//   - the new pair stored with a compare-and-swap fenced by the lease: a
//     holder whose lease ended (it stalled) cannot overwrite what its
//     successor stored. Shopify's grace rule (the previous refresh token
//     may be redeemed again until its replacement is used) lets the
//     successor refresh even though the stalled holder redeemed the token
//     first;
//   - a check after a fenced write: the stalled holder's request may
//     have reached Shopify after its successor's, and then the holder's
//     pair is the live one and the stored pair is revoked. So, under a
//     new lease, the holder asks Shopify once whether it honours its
//     access token (GET access_scopes.json): if so it stores its pair
//     over the stored one, else it drops its pair unused and serves
//     what is stored.
//
// Requests to Shopify are bounded by WithRequestTimeout, which must be
// shorter than the lease, so that a live holder is done before its lease
// ends. The package's tests stop a holder between every two of these
// steps and check that the fleet recovers; accesstest.RunFleet runs the
// same fleet checks against any Store.
//
// When Shopify is unavailable (429, 5xx, network) the request is retried:
// a 429 waits its Retry-After (in seconds), a 5xx or network error backs
// off exponentially with jitter, at most WithMaxAttempts requests. If the
// stored token is still valid it is served meanwhile, and the Manager does
// not try again before WithFailureBackoff has passed; callers that waited
// for a holder that failed serve the valid token too instead of queueing
// up with requests of their own.
//
// # When Shopify says no
//
// Every error wraps a sentinel that says what to do, and a *ShopifyError
// (errors.As) when Shopify answered, with the status, Shopify's error code
// and its X-Request-Id for support:
//
//	Shopify answer               sentinel                 what to do
//	400 invalid_subject_token    ErrInvalidSubjectToken   answer 401 so the extension fetches a fresh session token
//	invalid_client               ErrInvalidClient         uninstalled, or wrong credentials: alert, stop for the shop
//	invalid_grant                ErrReauthorize           the merchant must open the app again
//	429, 5xx, unreachable        ErrUnavailable           retry later (the retries are spent)
//	a malformed or partial 200   ErrProtocol              an expiring answer without expires_in or refresh_token is one
//
// A checkout session fails with ErrNotExchangeable, a shop with nothing
// stored with ErrNoToken, a row that does not decrypt with ErrDecrypt. No
// error, span, metric or log carries a token or a secret.
//
// # Encryption at rest
//
// Access and refresh tokens are sealed with AES-256-GCM before they reach
// the Store, under a key derived (HKDF-SHA256) from a keysource secret.
// The record's shop, mode, user and the field's name are associated data:
// a ciphertext copied to another record or field does not open. Each
// ciphertext starts with a fingerprint of its key, so during a rotation
// previous keys of the source still open old rows while every write seals
// with the current key: rows are re-encrypted as they are rewritten.
//
// By default the key is derived from the app's client secret source
// (domain-separated, so the AES key is not the HMAC key): nothing to set
// up, and Env, File and AWS sources serve it. Rotating the client secret
// then rotates the encryption key: keep the previous secret in the source
// until every row has been rewritten. Expiring tokens are rewritten at
// every refresh (about hourly for active shops), but the rows of idle
// shops and of non-expiring tokens are not: for production, pass a
// dedicated key source with WithEncryptionKeys (32 random bytes), which
// rotates on its own schedule.
//
// # Migrating to expiring tokens
//
// From 2027-01-01 public apps must use expiring offline tokens. Shops that
// hold a non-expiring token (stored before the switch) keep it until
// MigrateToExpiring exchanges it, once and irreversibly, for an expiring
// pair. Page through Store.NonExpiring to migrate every shop:
//
//	after := ""
//	for {
//		keys, err := store.NonExpiring(ctx, after, 100)
//		if err != nil || len(keys) == 0 {
//			break
//		}
//		for _, k := range keys {
//			if _, err := tokens.MigrateToExpiring(ctx, k.Shop); err != nil {
//				log.Printf("migrate %s: %v", k.Shop, err)
//			}
//		}
//		after = keys[len(keys)-1].String()
//	}
//
// # Telemetry
//
// Requests to Shopify, store operations and lock waits are spans
// (possession.access.*) with the shop, the grant and the outcome; metrics
// count grants by outcome and time store operations and lock waits, and a
// gauge reports the stored tokens due for refresh. Providers default to
// the OpenTelemetry globals (WithTracerProvider, WithMeterProvider). The
// otel package lists every name.
//
// # Testing
//
// shopifytest.Server is a faithful in-process fake of Shopify's token
// endpoint; point a Manager at it with WithShopifyBaseURL(server.URL).
// accesstest.Clock moves time without sleeping, and accesstest.RunFleet
// checks a Store implementation under a fleet of Managers.
package access

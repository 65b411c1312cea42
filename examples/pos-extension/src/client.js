// Client for the possession example backend (examples/posbackend): every
// call carries a fresh POS session token and the client hints; the
// backend verifies the token, acts for the shop with its offline token and
// calls Shopify's Admin API.
//
// Plain JavaScript with JSDoc types, so that the same file runs in the POS
// extension (bundled by the Shopify CLI), under Node's test runner and in a
// browser, and `tsc --noEmit` (checkJs) type-checks it. It touches no
// global: the extension passes `shopify.session` (and, for the background
// sync, `shopify.storage`, `shopify.connectivity` and the event source)
// in, and tests pass stand-ins.

/** Response header that asks for one retry with a fresh token. */
export const RETRY_HEADER = 'X-Shopify-Retry-Invalid-Session-Request';

/** Backend paths. */
export const PATHS = Object.freeze({
  session: '/api/session',
  shop: '/api/shop',
  transactions: '/api/transactions',
});

/**
 * Request headers carrying shopify.session.currentSession to the backend
 * (sdk.HeaderShopID and friends in Go). The backend checks userId and
 * shopDomain against the token; the rest it treats as unverified.
 */
export const HINT_HEADERS = Object.freeze({
  shopId: 'X-Possession-Shop-Id',
  shopDomain: 'X-Possession-Shop-Domain',
  userId: 'X-Possession-User-Id',
  locationId: 'X-Possession-Location-Id',
  staffMemberId: 'X-Possession-Staff-Member-Id',
});

/**
 * The part of POS's `Session` (shopify.session.currentSession) sent as
 * hints.
 * @typedef {object} CurrentSession
 * @property {number} [shopId]
 * @property {string} [shopDomain]
 * @property {number} [userId]
 * @property {number} [locationId]
 * @property {number} [staffMemberId]
 */

/**
 * What the client needs of POS's session API: shopify.session.
 * @typedef {object} SessionApiLike
 * @property {() => Promise<string | undefined | null>} getSessionToken
 *   resolves to undefined (or null) when the logged-in user lacks
 *   permission for the app.
 * @property {CurrentSession} [currentSession]
 */

/**
 * GET /api/session's answer: the session the backend verified.
 * @typedef {object} VerifiedSession
 * @property {string} kind
 * @property {string} shop
 * @property {string} userId
 * @property {string} clientId
 * @property {string} [sessionId]
 * @property {string} [tokenId]
 * @property {string} [issuedAt]
 * @property {string} expiresAt
 * @property {string} keyId
 * @property {{shopId?: number, userId?: number, locationId?: number, staffMemberId?: number}} clientReported
 *   the hints as the backend received them: unverified.
 */

/**
 * GET /api/shop's answer: the shop as the backend read it from Shopify's
 * Admin API with the shop's offline token.
 * @typedef {object} ShopSummary
 * @property {string} name
 * @property {string} currencyCode
 * @property {string} myshopifyDomain
 */

/**
 * A failed call, as a value (nothing here throws).
 * @typedef {object} Failure
 * @property {false} ok
 * @property {'no_token' | 'rejected' | 'network'} reason
 *   no_token: getSessionToken gave no token (no request was sent);
 *   rejected: the backend answered with an error status;
 *   network: fetch failed or the answer was not JSON.
 * @property {boolean} retried whether a second token was fetched after a
 *   401 with the retry header.
 * @property {number} [status] HTTP status (rejected).
 * @property {string} [error] the backend's error name, e.g. "expired".
 * @property {string} [message] a human explanation.
 * @property {boolean} [retryRequested] whether the last answer carried
 *   the retry header.
 */

/**
 * @template T
 * @typedef {{ok: true, status: number, body: T, retried: boolean}} Success
 */

/**
 * @typedef {{ok: true, session: VerifiedSession, retried: boolean}} SessionOk
 * @typedef {SessionOk | Failure} SessionResult
 * @typedef {Failure} SessionFailure
 */

/**
 * @typedef {object} CallOptions
 * @property {typeof fetch} [fetch] defaults to globalThis.fetch
 * @property {AbortSignal} [signal]
 */

/**
 * Builds the hint headers from currentSession; absent or invalid values
 * are left out.
 * @param {CurrentSession | undefined} current
 * @returns {Record<string, string>}
 */
export function hintHeaders(current) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (!current) return headers;
  for (const key of /** @type {const} */ (['shopId', 'userId', 'locationId', 'staffMemberId'])) {
    const v = current[key];
    if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) {
      headers[HINT_HEADERS[key]] = String(v);
    }
  }
  if (typeof current.shopDomain === 'string' && current.shopDomain !== '') {
    headers[HINT_HEADERS.shopDomain] = current.shopDomain;
  }
  return headers;
}

/**
 * Calls the backend with a fresh session token: when it answers 401 with
 * the retry header (an expired or otherwise invalid token), it gets a new
 * token and retries once.
 *
 * @template T
 * @param {string} backendUrl e.g. "https://pos.example.com"
 * @param {SessionApiLike} session
 * @param {{method: 'GET' | 'POST', path: string, body?: unknown, headers?: Record<string, string>}} request
 * @param {CallOptions} [options]
 * @returns {Promise<Success<T> | Failure>}
 */
export async function callBackend(backendUrl, session, request, options = {}) {
  const doFetch = options.fetch ?? globalThis.fetch;
  const url = new URL(request.path, backendUrl).toString();
  /** @type {Record<string, string>} */
  const headers = {...hintHeaders(session.currentSession), ...request.headers, Accept: 'application/json'};
  let body;
  if (request.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(request.body);
  }

  let retried = false;
  for (;;) {
    const token = await session.getSessionToken();
    if (!token) {
      return {
        ok: false,
        reason: 'no_token',
        retried,
        message: 'POS gave no session token: the logged-in user lacks permission for this app',
      };
    }
    /** @type {Response} */
    let res;
    try {
      res = await doFetch(url, {
        method: request.method,
        headers: {...headers, Authorization: `Bearer ${token}`},
        body,
        signal: options.signal,
      });
    } catch (err) {
      return {ok: false, reason: 'network', retried, message: String(err)};
    }
    const retryRequested = res.headers.get(RETRY_HEADER) === '1';
    if (res.status === 401 && retryRequested && !retried) {
      retried = true;
      await res.body?.cancel();
      continue;
    }
    /** @type {any} */
    let parsed;
    try {
      parsed = await res.json();
    } catch (err) {
      return {ok: false, reason: 'network', retried, status: res.status, retryRequested, message: `answer is not JSON: ${err}`};
    }
    if (res.ok) {
      return {ok: true, status: res.status, body: /** @type {T} */ (parsed), retried};
    }
    return {
      ok: false,
      reason: 'rejected',
      retried,
      status: res.status,
      retryRequested,
      error: typeof parsed?.error === 'string' ? parsed.error : undefined,
      message: typeof parsed?.message === 'string' ? parsed.message : undefined,
    };
  }
}

/**
 * Fetches the verified session from the backend (GET /api/session).
 *
 * @param {string} backendUrl
 * @param {SessionApiLike} session shopify.session in the extension
 * @param {CallOptions & {path?: string}} [options]
 * @returns {Promise<SessionResult>}
 */
export async function fetchVerifiedSession(backendUrl, session, options = {}) {
  /** @type {Success<VerifiedSession> | Failure} */
  const r = await callBackend(backendUrl, session, {method: 'GET', path: options.path ?? PATHS.session}, options);
  return r.ok ? {ok: true, session: r.body, retried: r.retried} : r;
}

/**
 * Fetches the shop as the backend reads it from Shopify's Admin API
 * (GET /api/shop): the whole chain, extension to backend to Shopify.
 *
 * @param {string} backendUrl
 * @param {SessionApiLike} session
 * @param {CallOptions} [options]
 * @returns {Promise<{ok: true, shop: ShopSummary, retried: boolean} | Failure>}
 */
export async function fetchShop(backendUrl, session, options = {}) {
  /** @type {Success<ShopSummary> | Failure} */
  const r = await callBackend(backendUrl, session, {method: 'GET', path: PATHS.shop}, options);
  return r.ok ? {ok: true, shop: r.body, retried: r.retried} : r;
}

/**
 * @typedef {{amount: number, currency: string}} Money
 */

/**
 * The fields of POS's TransactionCompleteEvent this client reads (the
 * `transactioncomplete` event of the `pos.app.ready.data` target).
 * @typedef {object} TransactionEvent
 * @property {'Sale' | 'Return' | 'Exchange'} transactionType
 * @property {number} [orderId] undefined while the order is being created
 * @property {number} [refundId]
 * @property {number} [returnId]
 * @property {number} [exchangeId]
 * @property {string} [draftCheckoutUuid]
 * @property {string} executedAt ISO 8601
 * @property {Money} grandTotal
 * @property {Money} subtotal
 * @property {Money} taxTotal
 * @property {Money} [tipAmount]
 * @property {{id: number}} [customer]
 * @property {unknown[]} [lineItems] sales and returns
 * @property {unknown[]} [lineItemsAdded] exchanges
 * @property {unknown[]} [lineItemsRemoved] exchanges
 */

/**
 * What POST /api/transactions carries: a summary of one completed
 * transaction and its idempotency key.
 * @typedef {object} TransactionRecord
 * @property {string} key the idempotency key
 * @property {'Sale' | 'Return' | 'Exchange'} transactionType
 * @property {number} [orderId]
 * @property {number} [refundId]
 * @property {number} [returnId]
 * @property {number} [exchangeId]
 * @property {string} executedAt
 * @property {Money} grandTotal
 * @property {Money} subtotal
 * @property {Money} taxTotal
 * @property {Money} [tipAmount]
 * @property {number} [customerId]
 * @property {number} lineItemCount
 * @property {number} [locationId] where POS says it ran (unverified)
 */

/**
 * Summarises a transactioncomplete event for the backend. The key names
 * the transaction (its type, the IDs Shopify gave it and when it ran), so
 * that a repeated or late delivery of the same transaction is recognised.
 *
 * @param {TransactionEvent} event
 * @param {CurrentSession} [current]
 * @returns {TransactionRecord}
 */
export function transactionRecord(event, current) {
  const id = (/** @type {number | undefined} */ v) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined);
  const lines = event.lineItems ?? [...(event.lineItemsAdded ?? []), ...(event.lineItemsRemoved ?? [])];
  /** @type {TransactionRecord} */
  const rec = {
    key: [
      event.transactionType,
      id(event.orderId) ?? '-',
      id(event.returnId) ?? '-',
      id(event.exchangeId) ?? '-',
      id(event.refundId) ?? '-',
      event.executedAt,
    ].join(':'),
    transactionType: event.transactionType,
    orderId: id(event.orderId),
    refundId: id(event.refundId),
    returnId: id(event.returnId),
    exchangeId: id(event.exchangeId),
    executedAt: event.executedAt,
    grandTotal: event.grandTotal,
    subtotal: event.subtotal,
    taxTotal: event.taxTotal,
    tipAmount: event.tipAmount,
    customerId: id(event.customer?.id),
    lineItemCount: lines.length,
    locationId: id(current?.locationId),
  };
  return rec;
}

/**
 * POST /api/transactions's answer.
 * @typedef {object} IngestAnswer
 * @property {'ingested' | 'duplicate'} status
 * @property {string} key
 * @property {string[]} [tags] the tags the backend added to the order
 */

/**
 * Sends one transaction record to the backend.
 *
 * @param {string} backendUrl
 * @param {SessionApiLike} session
 * @param {TransactionRecord} record
 * @param {CallOptions} [options]
 * @returns {Promise<Success<IngestAnswer> | Failure>}
 */
export function sendTransaction(backendUrl, session, record, options = {}) {
  // The key travels in the body: an Idempotency-Key header would need the
  // backend's CORS preflight to allow it.
  return callBackend(backendUrl, session, {method: 'POST', path: PATHS.transactions, body: record}, options);
}

/** Storage key prefix of transactions waiting to be sent. */
export const PENDING_PREFIX = 'possession.pending-transaction:';

/**
 * The part of POS's Storage (shopify.storage) the sync uses.
 * @typedef {object} StorageLike
 * @property {(key: string, value: TransactionRecord) => Promise<void>} set
 * @property {(key: string) => Promise<boolean>} delete
 * @property {() => Promise<[string, unknown][]>} entries
 */

/**
 * @typedef {object} FlushResult
 * @property {number} sent answered 2xx (ingested or duplicate)
 * @property {number} kept waiting for a later flush (offline, 5xx, no token)
 * @property {number} dropped refused by the backend for good (4xx)
 */

/**
 * Sends completed transactions to the backend, surviving being offline:
 * each transaction is written to storage before it is sent and deleted
 * once the backend answered (ingested, duplicate, or refused for good),
 * so a transaction completed offline, or while the backend was down, is
 * sent on the next flush. The backend expects repeated and late
 * deliveries and ingests each key once.
 *
 * @param {{backendUrl: string, session: SessionApiLike, storage: StorageLike} & CallOptions} deps
 */
export function createTransactionSync(deps) {
  /** @type {Promise<FlushResult> | undefined} */
  let flushing;
  let again = false;

  async function flushOnce() {
    /** @type {FlushResult} */
    const result = {sent: 0, kept: 0, dropped: 0};
    const entries = (await deps.storage.entries()).filter(([k]) => k.startsWith(PENDING_PREFIX));
    const records = entries
      .map(([, v]) => /** @type {TransactionRecord} */ (v))
      .sort((a, b) => (a.executedAt < b.executedAt ? -1 : a.executedAt > b.executedAt ? 1 : 0));
    for (const rec of records) {
      const r = await sendTransaction(deps.backendUrl, deps.session, rec, deps);
      if (r.ok || (r.reason === 'rejected' && r.status !== undefined && r.status >= 400 && r.status < 500 && r.status !== 401 && r.status !== 429)) {
        await deps.storage.delete(PENDING_PREFIX + rec.key);
        if (r.ok) result.sent++;
        else result.dropped++;
      } else {
        result.kept++;
      }
    }
    return result;
  }

  /**
   * Sends every waiting transaction. Concurrent calls share one pass; a
   * call during a pass makes one more pass after it.
   * @returns {Promise<FlushResult>}
   */
  function flush() {
    if (flushing) {
      again = true;
      return flushing;
    }
    flushing = (async () => {
      try {
        let total = await flushOnce();
        while (again) {
          again = false;
          const more = await flushOnce();
          total = {sent: total.sent + more.sent, kept: more.kept, dropped: total.dropped + more.dropped};
        }
        return total;
      } finally {
        flushing = undefined;
      }
    })();
    return flushing;
  }

  return {
    flush,
    /**
     * Stores the completed transaction, then flushes.
     * @param {TransactionEvent} event
     */
    async handle(event) {
      const rec = transactionRecord(event, deps.session.currentSession);
      await deps.storage.set(PENDING_PREFIX + rec.key, rec);
      return flush();
    },
  };
}

/**
 * What startTransactionSync needs of the background target's `shopify`
 * global (pos.app.ready.data).
 * @typedef {object} BackgroundShopifyLike
 * @property {SessionApiLike} session
 * @property {StorageLike} storage
 * @property {(type: 'transactioncomplete', listener: (event: any) => void) => void} addEventListener
 * @property {{current: {value: {internetConnected: string}, subscribe(fn: (v: {internetConnected: string}) => void): () => void}}} [connectivity]
 */

/**
 * Wires the sync to the background target: every transactioncomplete
 * event is stored and sent; what is waiting is sent at start and when
 * POS comes back online.
 *
 * @param {BackgroundShopifyLike} shopify the `shopify` global of pos.app.ready.data
 * @param {string} backendUrl
 * @param {CallOptions & {onResult?: (r: FlushResult) => void}} [options]
 */
export function startTransactionSync(shopify, backendUrl, options = {}) {
  const sync = createTransactionSync({backendUrl, session: shopify.session, storage: shopify.storage, ...options});
  const report = (/** @type {Promise<FlushResult>} */ p) =>
    p.then((r) => options.onResult?.(r), () => {});
  shopify.addEventListener('transactioncomplete', (event) => {
    report(sync.handle(event));
  });
  shopify.connectivity?.current.subscribe((state) => {
    if (state.internetConnected === 'Connected') report(sync.flush());
  });
  report(sync.flush());
  return sync;
}

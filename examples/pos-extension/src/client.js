// Client for the possession example backend: fetches the verified session
// with the POS session token and the client hints.
//
// Plain JavaScript with JSDoc types, so that the same file runs in the POS
// extension (bundled by the Shopify CLI), under Node's test runner and in a
// browser, and `tsc --noEmit` (checkJs) type-checks it.

/** Response header that asks for one retry with a fresh token. */
export const RETRY_HEADER = 'X-Shopify-Retry-Invalid-Session-Request';

/**
 * Request headers carrying api.session.currentSession to the backend
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
 * The part of POS's `Session` (api.session.currentSession) sent as hints.
 * @typedef {object} CurrentSession
 * @property {number} [shopId]
 * @property {string} [shopDomain]
 * @property {number} [userId]
 * @property {number} [locationId]
 * @property {number} [staffMemberId]
 */

/**
 * What the client needs of POS's session API: api.session.
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
 * @typedef {{ok: true, session: VerifiedSession, retried: boolean}} SessionOk
 * @typedef {object} SessionFailure
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
 * @typedef {SessionOk | SessionFailure} SessionResult
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
 * Fetches the verified session from the backend at backendUrl. When the
 * backend answers 401 with the retry header (an expired or otherwise
 * invalid token), it gets a fresh token and retries once.
 *
 * @param {string} backendUrl e.g. "https://pos.example.com"
 * @param {SessionApiLike} session api.session in the extension
 * @param {{fetch?: typeof fetch, path?: string, signal?: AbortSignal}} [options]
 * @returns {Promise<SessionResult>}
 */
export async function fetchVerifiedSession(backendUrl, session, options = {}) {
  const doFetch = options.fetch ?? globalThis.fetch;
  const url = new URL(options.path ?? '/api/session', backendUrl).toString();
  const hints = hintHeaders(session.currentSession);

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
        method: 'GET',
        headers: {...hints, Authorization: `Bearer ${token}`, Accept: 'application/json'},
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
    let body;
    try {
      body = await res.json();
    } catch (err) {
      return {ok: false, reason: 'network', retried, status: res.status, retryRequested, message: `answer is not JSON: ${err}`};
    }
    if (res.ok) {
      return {ok: true, session: /** @type {VerifiedSession} */ (body), retried};
    }
    return {
      ok: false,
      reason: 'rejected',
      retried,
      status: res.status,
      retryRequested,
      error: typeof body?.error === 'string' ? body.error : undefined,
      message: typeof body?.message === 'string' ? body.message : undefined,
    };
  }
}

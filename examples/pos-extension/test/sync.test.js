// The transaction sync of the background target (createTransactionSync,
// startTransactionSync) with a stand-in for shopify.storage and a fetch
// that plays the backend: what is sent, what is kept while offline or
// while the backend fails, what is dropped, and that every transaction
// is written to storage before it is sent.
import {describe, test} from 'node:test';
import assert from 'node:assert/strict';

import {
  PENDING_PREFIX,
  createTransactionSync,
  startTransactionSync,
  transactionRecord,
} from '../src/client.js';

/** A Map-backed stand-in for shopify.storage. */
function memoryStorage() {
  const m = new Map();
  return {
    map: m,
    set: async (/** @type {string} */ k, /** @type {any} */ v) => {
      m.set(k, structuredClone(v));
    },
    delete: async (/** @type {string} */ k) => m.delete(k),
    entries: async () => /** @type {[string, unknown][]} */ ([...m.entries()]),
  };
}

const session = {
  currentSession: {shopId: 1, userId: 2, shopDomain: 'sync.myshopify.com', locationId: 3},
  getSessionToken: async () => 'token',
};

/** @param {Partial<import('../src/client.js').TransactionEvent>} over */
function sale(over = {}) {
  return /** @type {import('../src/client.js').TransactionEvent} */ ({
    transactionType: 'Sale',
    orderId: 1001,
    executedAt: '2026-12-01T12:00:00Z',
    grandTotal: {amount: 12.5, currency: 'CAD'},
    subtotal: {amount: 11, currency: 'CAD'},
    taxTotal: {amount: 1.5, currency: 'CAD'},
    lineItems: [{}, {}],
    ...over,
  });
}

/**
 * A fetch playing the backend: answers with status(n) for the nth
 * request (or throws for 0), and records what it got.
 * @param {(n: number, body: any) => number} status
 */
function backend(status) {
  /** @type {{headers: Record<string, string>, body: any, storedBefore: boolean}[]} */
  const got = [];
  /** @type {Map<string, unknown> | undefined} */
  let storage;
  /** @type {typeof fetch} */
  const f = async (_url, init) => {
    const body = JSON.parse(String(init?.body));
    const headers = /** @type {Record<string, string>} */ (init?.headers);
    got.push({headers, body, storedBefore: storage?.has(PENDING_PREFIX + body.key) ?? false});
    const s = status(got.length, body);
    if (s === 0) throw new TypeError('fetch failed');
    return new Response(JSON.stringify(s < 300 ? {status: s === 200 ? 'duplicate' : 'ingested', key: body.key} : {error: 'nope'}), {
      status: s,
      headers: {'Content-Type': 'application/json'},
    });
  };
  return {fetch: f, got, watch: (/** @type {Map<string, unknown>} */ m) => (storage = m)};
}

describe('transactionRecord', () => {
  test('summarises the event and keys it by type, IDs and time', () => {
    const r = transactionRecord(sale({customer: {id: 77}}), session.currentSession);
    assert.equal(r.key, 'Sale:1001:-:-:-:2026-12-01T12:00:00Z');
    assert.equal(r.lineItemCount, 2);
    assert.equal(r.customerId, 77);
    assert.equal(r.locationId, 3);
    assert.deepEqual(r.grandTotal, {amount: 12.5, currency: 'CAD'});
  });

  test('exchanges count both sides; bad IDs are left out', () => {
    const r = transactionRecord(
      /** @type {any} */ ({...sale(), transactionType: 'Exchange', lineItems: undefined, orderId: -4, exchangeId: 9, lineItemsAdded: [{}], lineItemsRemoved: [{}, {}]}),
    );
    assert.equal(r.key, 'Exchange:-:-:9:-:2026-12-01T12:00:00Z');
    assert.equal(r.orderId, undefined);
    assert.equal(r.lineItemCount, 3);
  });
});

describe('createTransactionSync', () => {
  test('stores before sending, sends the record with its key, deletes once ingested', async () => {
    const storage = memoryStorage();
    const b = backend(() => 201);
    b.watch(storage.map);
    const sync = createTransactionSync({backendUrl: 'https://backend.example', session, storage, fetch: b.fetch});
    const r = await sync.handle(sale());
    assert.deepEqual(r, {sent: 1, kept: 0, dropped: 0});
    assert.equal(b.got.length, 1);
    assert.equal(b.got[0].storedBefore, true, 'the transaction was not stored before it was sent');
    assert.equal(b.got[0].body.key, 'Sale:1001:-:-:-:2026-12-01T12:00:00Z');
    assert.equal(b.got[0].headers.Authorization, 'Bearer token');
    assert.equal(storage.map.size, 0);
  });

  test('offline and 5xx keep the transaction; the next flush sends it', async () => {
    const storage = memoryStorage();
    const b = backend((n) => [0, 503, 201][n - 1]);
    const sync = createTransactionSync({backendUrl: 'https://backend.example', session, storage, fetch: b.fetch});
    assert.deepEqual(await sync.handle(sale()), {sent: 0, kept: 1, dropped: 0});
    assert.deepEqual(await sync.flush(), {sent: 0, kept: 1, dropped: 0});
    assert.deepEqual(await sync.flush(), {sent: 1, kept: 0, dropped: 0});
    assert.equal(storage.map.size, 0);
    assert.equal(b.got.length, 3);
  });

  test('a duplicate answer counts as sent; a 400 is dropped, a 429 kept', async () => {
    const storage = memoryStorage();
    const b = backend((_n, body) => (body.orderId === 1 ? 200 : body.orderId === 2 ? 400 : 429));
    const sync = createTransactionSync({backendUrl: 'https://backend.example', session, storage, fetch: b.fetch});
    for (const id of [1, 2, 3]) {
      const rec = transactionRecord(sale({orderId: id}));
      await storage.set(PENDING_PREFIX + rec.key, rec);
    }
    await storage.set('unrelated', /** @type {any} */ ({}));
    assert.deepEqual(await sync.flush(), {sent: 1, kept: 1, dropped: 1});
    assert.deepEqual([...storage.map.keys()].sort(), [PENDING_PREFIX + 'Sale:3:-:-:-:2026-12-01T12:00:00Z', 'unrelated']);
  });

  test('oldest first; concurrent flushes do not send twice', async () => {
    const storage = memoryStorage();
    const b = backend(() => 201);
    const sync = createTransactionSync({backendUrl: 'https://backend.example', session, storage, fetch: b.fetch});
    for (const [id, at] of [[2, '2026-12-01T12:00:02Z'], [1, '2026-12-01T12:00:01Z']]) {
      const rec = transactionRecord(sale({orderId: /** @type {number} */ (id), executedAt: /** @type {string} */ (at)}));
      await storage.set(PENDING_PREFIX + rec.key, rec);
    }
    const [a, c] = await Promise.all([sync.flush(), sync.flush()]);
    assert.equal(a, c, 'concurrent flushes did not share one pass');
    assert.deepEqual(b.got.map((g) => g.body.orderId), [1, 2]);
  });
});

describe('startTransactionSync', () => {
  test('listens for transactioncomplete, flushes at start and when back online', async () => {
    const storage = memoryStorage();
    const b = backend(() => 201);
    /** @type {((e: any) => void)[]} */
    const listeners = [];
    /** @type {((v: {internetConnected: string}) => void)[]} */
    const subscribers = [];
    /** @type {import('../src/client.js').FlushResult[]} */
    const results = [];
    const pending = transactionRecord(sale({orderId: 5}));
    await storage.set(PENDING_PREFIX + pending.key, pending); // left from an offline session
    let settle = () => {};
    const done = () => new Promise((r) => (settle = /** @type {() => void} */ (r)));
    let next = done();
    const shopify = {
      session,
      storage,
      addEventListener: (/** @type {string} */ type, /** @type {(e: any) => void} */ l) => {
        assert.equal(type, 'transactioncomplete');
        listeners.push(l);
      },
      connectivity: {current: {value: {internetConnected: 'Connected'}, subscribe: (/** @type {any} */ fn) => (subscribers.push(fn), () => {})}},
    };
    startTransactionSync(shopify, 'https://backend.example', {
      fetch: b.fetch,
      onResult: (r) => {
        results.push(r);
        settle();
      },
    });
    await next;
    assert.deepEqual(b.got.map((g) => g.body.orderId), [5], 'the waiting transaction was not sent at start');
    next = done();
    listeners[0](sale({orderId: 6}));
    await next;
    next = done();
    subscribers[0]({internetConnected: 'Connected'});
    await next;
    assert.deepEqual(b.got.map((g) => g.body.orderId), [5, 6]);
    assert.equal(results.length, 3);
    assert.equal(storage.map.size, 0);
  });
});

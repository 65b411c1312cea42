// The client module against the live example backend: this test builds
// examples/posbackend (or uses $POSBACKEND_BIN), starts it on 127.0.0.1
// with a secret only this test knows, mints tokens with node:crypto (an
// implementation independent of the Go code) and calls the backend
// through fetchVerifiedSession.
//
// Run: npm test (needs Go on PATH unless POSBACKEND_BIN is set).
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync, spawn} from 'node:child_process';
import {createHmac, randomBytes, randomUUID} from 'node:crypto';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {once} from 'node:events';
import {createInterface} from 'node:readline';

import {RETRY_HEADER, fetchVerifiedSession, hintHeaders} from '../src/client.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const SECRET = randomBytes(24).toString('hex');
const CLIENT_ID = 'node-test-client';
const SHOP = 'node-test.myshopify.com';
const USER = 4711;

/**
 * Mints an HS256 session token shaped like POS's.
 * @param {{issuedAt?: number, secret?: string, userId?: number}} [opts]
 */
function mint(opts = {}) {
  const now = opts.issuedAt ?? Math.floor(Date.now() / 1000);
  const enc = (/** @type {object} */ o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const header = enc({alg: 'HS256', typ: 'JWT'});
  const payload = enc({
    iss: `https://${SHOP}/admin`,
    dest: `https://${SHOP}`,
    aud: CLIENT_ID,
    sub: String(opts.userId ?? USER),
    exp: now + 60,
    nbf: now,
    iat: now,
    jti: randomUUID(),
    sid: randomBytes(32).toString('hex'),
  });
  const sig = createHmac('sha256', opts.secret ?? SECRET).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${sig}`;
}

const expiredToken = () => mint({issuedAt: Math.floor(Date.now() / 1000) - 3600});

/** @type {import('node:child_process').ChildProcess} */
let backend;
/** @type {string} */
let backendUrl;
/** @type {string} */
let workDir;
let backendLog = '';

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'posbackend-node-'));
  let bin = process.env.POSBACKEND_BIN;
  if (!bin) {
    bin = join(workDir, 'posbackend');
    execFileSync('go', ['build', '-o', bin, './examples/posbackend'], {cwd: repoRoot, stdio: 'inherit'});
  }
  backend = spawn(bin, ['-addr', '127.0.0.1:0', '-client-id', CLIENT_ID, '-secret-env', 'POSBACKEND_NODE_SECRET'], {
    env: {...process.env, POSBACKEND_NODE_SECRET: SECRET},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  backend.stderr?.on('data', (d) => {
    backendLog += d;
  });
  const lines = createInterface({input: /** @type {import('node:stream').Readable} */ (backend.stdout)});
  const timeout = setTimeout(() => backend.kill('SIGKILL'), 30_000);
  for await (const line of lines) {
    const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
    if (m) {
      backendUrl = m[1];
      break;
    }
  }
  clearTimeout(timeout);
  assert.ok(backendUrl, `backend did not start: ${backendLog}`);
});

after(async () => {
  if (backend && backend.exitCode === null) {
    const exited = once(backend, 'exit');
    backend.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, `backend exit code after SIGTERM (log: ${backendLog})`);
  }
  rmSync(workDir, {recursive: true, force: true});
  assert.ok(!backendLog.includes(SECRET), 'backend logged the secret');
});

/**
 * A stand-in for api.session: getSessionToken hands out the given tokens
 * in order (repeating the last), and counts calls.
 * @param {(string | undefined | null)[]} tokens
 */
function posSession(tokens, current = {shopId: 101, userId: USER, shopDomain: SHOP, locationId: 202, staffMemberId: 303}) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    currentSession: current,
    getSessionToken: async () => tokens[Math.min(calls++, tokens.length - 1)],
  };
}

/** A fetch that counts requests and keeps the last response. */
function countingFetch() {
  /** @type {{requests: number, last: Response | undefined}} */
  const state = {requests: 0, last: undefined};
  /** @type {typeof fetch} */
  const f = async (input, init) => {
    state.requests++;
    state.last = await fetch(input, init);
    return state.last;
  };
  return {fetch: f, state};
}

describe('fetchVerifiedSession against posbackend', () => {
  test('valid token: the verified session comes back with the hints', async () => {
    const s = posSession([mint()]);
    const r = await fetchVerifiedSession(backendUrl, s);
    assert.equal(r.ok, true, JSON.stringify(r));
    if (!r.ok) return;
    assert.equal(r.session.shop, SHOP);
    assert.equal(r.session.userId, String(USER));
    assert.equal(r.session.clientId, CLIENT_ID);
    assert.equal(r.session.kind, 'admin');
    assert.deepEqual(r.session.clientReported, {shopId: 101, userId: USER, locationId: 202, staffMemberId: 303});
    assert.equal(r.retried, false);
    assert.equal(s.calls, 1);
  });

  test('missing token (getSessionToken resolves undefined): no request, no_token', async () => {
    for (const missing of [undefined, null, '']) {
      const s = posSession([missing]);
      const c = countingFetch();
      const r = await fetchVerifiedSession(backendUrl, s, {fetch: c.fetch});
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.reason, 'no_token');
      assert.equal(c.state.requests, 0, 'a request was sent without a token');
    }
  });

  test('a request without a token gets 401 no_token and no retry header', async () => {
    const res = await fetch(new URL('/api/session', backendUrl));
    assert.equal(res.status, 401);
    assert.equal(res.headers.get(RETRY_HEADER), null);
    assert.equal((await res.json()).error, 'no_token');
  });

  test('expired token: 401 with the retry header, one retry, then the error', async () => {
    const s = posSession([expiredToken()]);
    const c = countingFetch();
    const r = await fetchVerifiedSession(backendUrl, s, {fetch: c.fetch});
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.reason, 'rejected');
    assert.equal(r.status, 401);
    assert.equal(r.error, 'expired');
    assert.equal(r.retryRequested, true);
    assert.equal(r.retried, true);
    assert.equal(c.state.requests, 2, 'want exactly one retry');
    assert.equal(s.calls, 2, 'want a fresh token for the retry');
    assert.equal(c.state.last?.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
  });

  test('expired token, then a fresh one: the retry succeeds', async () => {
    const s = posSession([expiredToken(), mint()]);
    const r = await fetchVerifiedSession(backendUrl, s);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.retried, true);
    assert.equal(s.calls, 2);
  });

  test('forged token: signature error', async () => {
    const r = await fetchVerifiedSession(backendUrl, posSession([mint({secret: 'not-the-secret'})]));
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.error, 'signature');
    assert.equal(r.status, 401);
  });

  test('hints that contradict the token are rejected without a retry', async () => {
    const s = posSession([mint()], {userId: USER + 1, shopId: 1, shopDomain: SHOP, locationId: 1, staffMemberId: 1});
    const c = countingFetch();
    const r = await fetchVerifiedSession(backendUrl, s, {fetch: c.fetch});
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.status, 400);
    assert.equal(r.error, 'hint');
    assert.match(r.message ?? '', /X-Possession-User-Id/);
    assert.equal(c.state.requests, 1);
  });

  test('network failure is reported, not thrown', async () => {
    const r = await fetchVerifiedSession('http://127.0.0.1:1', posSession([mint()]));
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.reason, 'network');
  });
});

describe('hintHeaders', () => {
  test('sends only positive safe integers and a non-empty domain', () => {
    assert.deepEqual(hintHeaders({shopId: 1, userId: 0, locationId: -5, staffMemberId: 2 ** 60, shopDomain: ''}), {
      'X-Possession-Shop-Id': '1',
    });
    assert.deepEqual(hintHeaders(undefined), {});
  });
});

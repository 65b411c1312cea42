// Runs one of @shopify/shopify-api's OAuth grants (token exchange,
// refresh, migrate to expiring, client credentials) against a fake Shopify
// (shopifytest) listening on 127.0.0.1, and prints what the library made
// of the answer as one JSON line.
//
// The library addresses https://{shop}/admin/oauth/access_token; its
// abstract fetch is replaced by one that sends the same request to the
// fake, over plain HTTP, with the Host header set to the shop: how the
// fake tells shops apart. Nothing else of the library is changed.
//
// Input: the environment variable OAUTH_REFERENCE, a JSON object
//   { "baseURL": "http://127.0.0.1:port", "apiKey": "...", "apiSecret": "...",
//     "shop": "x.myshopify.com", "op": "exchange-offline" | "exchange-online" |
//     "exchange-offline-nonexpiring" | "refresh" | "migrate" | "client-credentials",
//     "sessionToken": "...", "refreshToken": "...", "offlineToken": "..." }
// Output: {"ok": true, "session": {...}} or {"ok": false, "status": n, "body": {...}, "error": "..."}.

import http from 'node:http';
import '@shopify/shopify-api/adapters/node';
import { shopifyApi, ApiVersion, LogSeverity, RequestedTokenType } from '@shopify/shopify-api';
import { setAbstractFetchFunc } from '@shopify/shopify-api/runtime';

const cfg = JSON.parse(process.env.OAUTH_REFERENCE || '{}');
const base = new URL(cfg.baseURL);

setAbstractFetchFunc(async (url, init = {}) => {
  const target = new URL(url);
  const body = init.body === undefined ? undefined : Buffer.from(init.body);
  const headers = { ...(init.headers || {}), host: target.host };
  if (body) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname: base.hostname, port: base.port, path: target.pathname + target.search, method: init.method || 'GET', headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (Array.isArray(v)) v.forEach((x) => h.append(k, x));
            else if (v !== undefined) h.set(k, v);
          }
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, statusText: res.statusMessage, headers: h }));
        });
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
});

const shopify = shopifyApi({
  apiKey: cfg.apiKey,
  apiSecretKey: cfg.apiSecret,
  scopes: ['read_products'],
  hostName: 'app.example.com',
  apiVersion: ApiVersion.January26,
  isEmbeddedApp: true,
  logger: { level: LogSeverity.Error },
});

function describe(session) {
  return {
    id: session.id,
    shop: session.shop,
    isOnline: session.isOnline,
    accessToken: session.accessToken,
    scope: session.scope,
    expires: session.expires ? session.expires.toISOString() : null,
    refreshToken: session.refreshToken ?? null,
    refreshTokenExpires: session.refreshTokenExpires ? session.refreshTokenExpires.toISOString() : null,
    userId: session.onlineAccessInfo?.associated_user?.id ?? null,
  };
}

async function run() {
  const shop = cfg.shop;
  switch (cfg.op) {
    case 'exchange-offline':
      return shopify.auth.tokenExchange({ shop, sessionToken: cfg.sessionToken, requestedTokenType: RequestedTokenType.OfflineAccessToken, expiring: true });
    case 'exchange-offline-nonexpiring':
      return shopify.auth.tokenExchange({ shop, sessionToken: cfg.sessionToken, requestedTokenType: RequestedTokenType.OfflineAccessToken });
    case 'exchange-online':
      return shopify.auth.tokenExchange({ shop, sessionToken: cfg.sessionToken, requestedTokenType: RequestedTokenType.OnlineAccessToken });
    case 'refresh':
      return shopify.auth.refreshToken({ shop, refreshToken: cfg.refreshToken });
    case 'migrate':
      return shopify.auth.migrateToExpiringToken({ shop, nonExpiringOfflineAccessToken: cfg.offlineToken });
    case 'client-credentials':
      return shopify.auth.clientCredentials({ shop });
    default:
      throw new Error(`unknown op ${cfg.op}`);
  }
}

try {
  const { session } = await run();
  process.stdout.write(JSON.stringify({ ok: true, session: describe(session) }) + '\n');
} catch (err) {
  process.stdout.write(
    JSON.stringify({ ok: false, error: `${err.name}: ${err.message}`, status: err.response?.code ?? null, body: err.response?.body ?? null }) + '\n',
  );
}

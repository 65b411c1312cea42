// Reference verifier for possession's webhook differential test
// (test/webhook/differential_test.go): runs @shopify/shopify-api's own
// validation on what the Go test sends, the way an app built on the
// library runs it.
//
//   node webhook-reference.mjs <client secret>
//
// Webhooks: an HTTP server on 127.0.0.1 (its port is the first stdout
// line, {"port":N}); every request is validated with
// shopify.webhooks.validate and answered 200 with the result as JSON. The
// raw body is read as a Remix/React Router app reads it
// (request.text(): UTF-8 decoding, BOM stripped).
//
// Signed queries: one JSON object per stdin line, {"kind", "query",
// "state", "now"}, answered with one JSON line {"valid", "error"}. now
// (Unix seconds) is the library's clock for that check. Kinds:
//   appProxy    validateHmac(Object.fromEntries(searchParams), appProxy),
//               as authenticate.public.appProxy builds the query with
//               shopify-api 13.1.0 (a repeated key keeps its last value);
//   appProxyQs  validateHmac(querystring.parse(query), appProxy): a
//               repeated key becomes an array, as Express' req.query
//               gives it, and its values are joined by ",";
//   oauth       what auth.callback checks: validateHmac(
//               Object.fromEntries(searchParams)), safeCompare(state,
//               the state cookie), sanitizeShop(shop, true).
import http from 'node:http';
import querystring from 'node:querystring';
import readline from 'node:readline';
import '@shopify/shopify-api/adapters/node';
import { shopifyApi, ApiVersion, LogSeverity } from '@shopify/shopify-api';

const { safeCompare } = await import(new URL(
  './node_modules/@shopify/shopify-api/dist/esm/lib/auth/oauth/safe-compare.mjs', import.meta.url));

const secret = process.argv[2];
if (!secret) {
  console.error('usage: node webhook-reference.mjs <client secret>');
  process.exit(2);
}
const shopify = shopifyApi({
  apiKey: 'possession-differential',
  apiSecretKey: secret,
  apiVersion: ApiVersion.July26,
  hostName: 'app.example.com',
  isEmbeddedApp: false,
  logger: { level: LogSeverity.Error, log: () => {} },
});

const realNow = Date.now;

const server = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const rawBody = new TextDecoder('utf-8').decode(Buffer.concat(chunks));
  let out;
  try {
    out = await shopify.webhooks.validate({ rawBody, rawRequest: req, rawResponse: res });
  } catch (e) {
    out = { valid: false, error: `${e.name}: ${e.message}` };
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(out));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});

async function check({ kind, query, state, now }) {
  Date.now = () => now * 1000;
  try {
    const params = new URL(`https://example.com/apps/x?${query}`).searchParams;
    switch (kind) {
      case 'appProxy': {
        if (!params.get('index')) params.delete('index');
        return { valid: await shopify.utils.validateHmac(Object.fromEntries(params.entries()), { signator: 'appProxy' }) };
      }
      case 'appProxyQs':
        return { valid: await shopify.utils.validateHmac({ ...querystring.parse(query) }, { signator: 'appProxy' }) };
      case 'oauth': {
        const q = Object.fromEntries(params.entries());
        const valid = (await shopify.utils.validateHmac(q)) && safeCompare(q.state, state);
        if (valid) shopify.utils.sanitizeShop(q.shop, true);
        return { valid };
      }
    }
    return { valid: false, error: `unknown kind ${kind}` };
  } catch (e) {
    return { valid: false, error: `${e.name}: ${e.message}` };
  } finally {
    Date.now = realNow;
  }
}

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  process.stdout.write(JSON.stringify(await check(JSON.parse(line))) + '\n');
}
server.close();

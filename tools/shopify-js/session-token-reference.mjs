// Reference verifier for possession's session-token differential test
// (test/sdk/shopify_differential_test.go): every token the Go test sends
// goes through @shopify/shopify-api's own shopify.session.decodeSessionToken,
// configured as an app built on the library configures it.
//
//   node session-token-reference.mjs <api key> <api secret key>
//
// One JSON object per stdin line, {"token", "now", "checkAudience"},
// answered with one JSON line {"valid", "error", "payload"}. now (Unix
// seconds) is the library's clock for that token: decodeSessionToken hands
// jose's jwtVerify no currentDate, so jose reads `new Date()`, and the
// global Date is replaced by one whose argument-less constructor and
// Date.now() return now. checkAudience is decodeSessionToken's option
// (false, as Shopify's own code passes it for extension tokens, skips the
// aud check). The library's clock tolerance is its own, 10 s.
import readline from 'node:readline';
import '@shopify/shopify-api/adapters/node';
import { shopifyApi, ApiVersion, LogSeverity } from '@shopify/shopify-api';

const [apiKey, apiSecretKey] = process.argv.slice(2);
if (!apiKey || !apiSecretKey) {
  console.error('usage: node session-token-reference.mjs <api key> <api secret key>');
  process.exit(2);
}
const shopify = shopifyApi({
  apiKey,
  apiSecretKey,
  apiVersion: ApiVersion.July25,
  hostName: 'app.example.com',
  isEmbeddedApp: true,
  logger: { level: LogSeverity.Error, log: () => {} },
});

const RealDate = Date;
let fixedMs = 0;
class FixedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(fixedMs);
    else super(...args);
  }
  static now() {
    return fixedMs;
  }
}

async function decode({ token, now, checkAudience }) {
  fixedMs = now * 1000;
  globalThis.Date = FixedDate;
  try {
    const payload = await shopify.session.decodeSessionToken(token, { checkAudience });
    return { valid: true, payload };
  } catch (e) {
    // The library's message quotes the token; the test needs the cause.
    const msg = String(e && e.message).replace(token, '<token>');
    return { valid: false, error: `${e && e.name}: ${msg}` };
  } finally {
    globalThis.Date = RealDate;
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  let out;
  try {
    out = await decode(JSON.parse(line));
  } catch (e) {
    out = { valid: false, error: `bad request: ${e.message}` };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

// A burst through Shopify's own @shopify/admin-api-client against the
// shopifytest fake, for the side-by-side comparison with possession's
// admin client (test/admin/jsclient_compare_test.go). Prints one JSON line.
//
// Environment: FAKE_URL, SHOP, TOKEN, VERSION; CALLS (500), WORKERS (8),
// QUERY; MODE:
//   plain  each query sent once, as the client does (it retries only
//          HTTP 429/503, so a THROTTLED answer is a failed call);
//   retry  what a careful app adds around it: on THROTTLED, wait
//          (requestedQueryCost - currentlyAvailable) / restoreRate, as
//          extensions.cost says, and send again until it succeeds.
import {createAdminApiClient} from '@shopify/admin-api-client';
import {fakeFetch} from './admin-fake-check-fetch.mjs';

const env = (name, dflt) => {
  const v = process.env[name] ?? dflt;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const calls = Number(env('CALLS', '500'));
const workers = Number(env('WORKERS', '8'));
const query = env('QUERY', 'query Burst { products(first: 48) { nodes { id } } }');
const mode = env('MODE', 'plain');

const client = createAdminApiClient({
  storeDomain: env('SHOP'),
  apiVersion: env('VERSION'),
  accessToken: env('TOKEN'),
  retries: 3, // the most it allows; it does not apply to THROTTLED
  customFetchApi: fakeFetch(new URL(env('FAKE_URL'))),
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let next = 0;
let throttled = 0;
let failed = 0;
let otherErrors = 0;
const start = performance.now();

async function worker() {
  while (next < calls) {
    next++;
    for (;;) {
      const r = await client.request(query);
      const code = r.errors?.graphQLErrors?.[0]?.extensions?.code;
      if (code === 'THROTTLED') {
        throttled++;
        if (mode === 'retry') {
          const c = r.extensions?.cost;
          const s = c?.throttleStatus;
          const wait = s ? ((c.requestedQueryCost - s.currentlyAvailable) / s.restoreRate) * 1000 : 1000;
          await sleep(Math.max(wait, 0));
          continue;
        }
        failed++;
      } else if (r.errors) {
        otherErrors++;
        failed++;
      }
      break;
    }
  }
}

await Promise.all(Array.from({length: workers}, worker));
console.log(JSON.stringify({mode, calls, workers, throttled, failed, otherErrors, elapsedMs: performance.now() - start}));

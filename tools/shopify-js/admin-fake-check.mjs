// Runs Shopify's own @shopify/admin-api-client against possession's
// shopifytest fake and prints what it saw as one JSON line, for
// test/shopifytest/admin_jsclient_test.go to assert, through
// admin-fake-check-fetch.mjs (Shopify's client's requests, sent to the
// fake with the shop as Host).
//
// Environment: FAKE_URL (http://127.0.0.1:port), SHOP, TOKEN, VERSION,
// THROTTLE_SHOP and THROTTLE_TOKEN (a shop whose bucket the Go test made
// too small for the throttle query), REVOKED_TOKEN (a token of SHOP the
// fake revoked).
import {createAdminApiClient} from '@shopify/admin-api-client';
import {fakeFetch as makeFakeFetch} from './admin-fake-check-fetch.mjs';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const fakeFetch = makeFakeFetch(new URL(env('FAKE_URL')));

const logs = [];
const client = (storeDomain, accessToken, retries = 0) =>
  createAdminApiClient({
    storeDomain,
    apiVersion: env('VERSION'),
    accessToken,
    retries,
    customFetchApi: fakeFetch,
    logger: (entry) => logs.push({type: entry.type, ...(entry.content?.deprecationNotice ? {notice: entry.content.deprecationNotice} : {})}),
  });

const shop = env('SHOP');
const c = client(shop, env('TOKEN'));
const out = {};

// A query: data and extensions.cost as the client exposes them.
{
  const r = await c.request(`query ShopInfo { shop { name currencyCode } }`);
  out.shop = {data: r.data, cost: r.extensions?.cost, errors: r.errors ?? null};
}

// A query with variables, and the deprecated field.
{
  logs.length = 0;
  const r = await c.request(`query P($n: Int!) { products(first: $n) { nodes { id bodyHtml } } }`, {variables: {n: 2}});
  out.products = {ids: r.data?.products?.nodes?.map((n) => n.id), cost: r.extensions?.cost, deprecationLogs: logs.filter((l) => l.type === 'HTTP-Response-GraphQL-Deprecation-Notice')};
}

// The mutation.
{
  const r = await c.request(
    `mutation Tag($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } } }`,
    {variables: {id: 'gid://shopify/Order/1001', tags: ['from-shopify-js']}},
  );
  out.tagsAdd = {data: r.data, errors: r.errors ?? null};
}

// A GraphQL error: graphQLErrors as the client surfaces them.
{
  const r = await c.request(`{ shop { nope } }`);
  out.graphQLError = {status: r.errors?.networkStatusCode, code: r.errors?.graphQLErrors?.[0]?.extensions?.code, data: r.data ?? null};
}

// THROTTLED: HTTP 200, so the client does not retry it even with retries.
{
  const t = client(env('THROTTLE_SHOP'), env('THROTTLE_TOKEN'), 2);
  logs.length = 0;
  const r = await t.request(`{ products(first: 48) { nodes { id } } }`);
  out.throttled = {
    status: r.errors?.networkStatusCode,
    code: r.errors?.graphQLErrors?.[0]?.extensions?.code,
    actualQueryCost: r.extensions?.cost?.actualQueryCost,
    retries: logs.filter((l) => l.type === 'HTTP-Retry').length,
  };
}

// 429 with Retry-After: 2 (seconds): the client retries, waiting 2 ms.
{
  const t = client(shop, env('TOKEN'), 1);
  logs.length = 0;
  const start = performance.now();
  const r = await t.request(`{ shop { name } }`);
  out.rateLimited = {ok: !!r.data, retries: logs.filter((l) => l.type === 'HTTP-Retry').length, elapsedMs: performance.now() - start};
}

// 401: an error with the status, no retry.
{
  const t = client(shop, env('REVOKED_TOKEN'), 2);
  const r = await t.request(`{ shop { name } }`);
  out.unauthorized = {status: r.errors?.networkStatusCode, message: r.errors?.message};
}

console.log(JSON.stringify(out));

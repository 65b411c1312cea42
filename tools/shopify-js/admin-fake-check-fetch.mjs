// A fetch for Shopify's @shopify/admin-api-client that sends its requests
// to possession's shopifytest fake: Shopify's client always calls
// https://{storeDomain}/admin/api/{version}/graphql.json; this sends the
// same method, path, headers and body to the fake on 127.0.0.1 over plain
// HTTP, with the shop as Host (the only thing it changes).
import {Agent, request as httpRequest} from 'node:http';

/**
 * @param {URL} fake the fake's base URL, http://127.0.0.1:port
 * @returns {(input: string | URL, init?: RequestInit) => Promise<Response>}
 */
export function fakeFetch(fake) {
  const agent = new Agent({keepAlive: true});
  return (input, init = {}) => {
    const url = new URL(String(input));
    const headers = {...Object.fromEntries(new Headers(init.headers ?? {})), host: url.host};
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {hostname: fake.hostname, port: fake.port, path: url.pathname + url.search, method: init.method ?? 'GET', headers, agent},
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              if (Array.isArray(v)) v.forEach((x) => h.append(k, x));
              else if (v !== undefined) h.set(k, v);
            }
            resolve(new Response(Buffer.concat(chunks), {status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: h}));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (init.body) req.write(init.body);
      req.end();
    });
  };
}

// Package shopifytest is an in-process fake of the parts of Shopify a
// backend talks to, for tests (yours and possession's): the OAuth token
// endpoint, the Admin GraphQL API with its cost bucket, and a sender of
// signed webhooks. It implements the documented behaviour faithfully
// (error bodies, rotation and revocation, the bucket, signatures) and is
// itself checked against Shopify's own npm client libraries.
//
// # Admin GraphQL API
//
// POST /admin/api/{version}/graphql.json (route RouteAdminGraphQL), with
// the shop in the Host header and a token the fake issued in
// X-Shopify-Access-Token; a missing, unknown, expired or revoked token, or
// one of another shop, gets Shopify's 401. Versions follow Shopify's
// schedule on the server's clock (SupportedVersions): a retired quarterly
// version falls forward to the oldest supported one, any other unknown
// version is a 404; X-Shopify-API-Version names the version used, and
// every answer carries an X-Request-Id.
//
// Each shop has a cost bucket (WithAdminBucket, SetAdminBucket; 2000
// points restoring 100 per second by default) on the server's clock. The
// requested cost is computed from the query before it runs (scalars 0,
// objects 1, connections 2 plus first/last times a node's cost, mutations
// 10, at most MaxQueryCost); a query whose requested cost exceeds what is
// available is answered THROTTLED exactly as Shopify does (HTTP 200,
// errors[0].extensions.code "THROTTLED", actualQueryCost null) and costs
// nothing; otherwise the requested cost is taken, the query runs, and the
// difference to the actual cost (what was returned) is refunded. Every
// answer that ran or was throttled has extensions.cost with
// requestedQueryCost, actualQueryCost and throttleStatus.
//
// The schema is a small, real slice of Shopify's: shop { id name
// currencyCode myshopifyDomain email ianaTimezone }, products(first/last,
// after/before, reverse, query) as a connection (edges/node/cursor, nodes,
// pageInfo) over CannedProducts products, product(id), order(id) { id name
// tags }, and the mutation tagsAdd(id, tags) on orders (CannedOrders, or
// added with AddOrder), which TagsAdded and OrderTags report. Selecting
// the deprecated Product.bodyHtml adds X-Shopify-API-Deprecated-Reason.
// Anything else gets the GraphQL error Shopify would send (undefinedField,
// argumentNotAccepted, MAX_COST_EXCEEDED, a parse error, ...), never a
// crash. Throttled and CostSpent count what each shop's bucket did.
package shopifytest

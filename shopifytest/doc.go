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
// crash. Throttled and CostSpent count what each shop's bucket did;
// RevokeAccessToken refuses one access token before its expiry (its
// refresh token stays good), the 401 a refresh repairs.
//
// GET /admin/oauth/access_scopes.json (RouteAccessScopes) lists a token's
// scopes, with the same 401s: the cheapest call that asks Shopify whether
// it honours a token. WithNonExpiringCutoff models the end of
// non-expiring offline tokens for public apps (2027-01-01): from the
// cut-off on, Admin API calls with one are refused with HTTP 403 (Shopify
// documents the status; the body is the fake's), while the migrate grant
// still exchanges it for an expiring pair.
//
// # Checking tokens from tests
//
// AccessTokenValid tells whether the fake honours a token now, and
// AccessTokenValidDuring whether it did at some moment of an interval
// (issued by its end, neither revoked nor expired at its start): given
// the times around the call that returned a token, it tells whether the
// token was good when it was handed out, even if a refresh elsewhere
// revoked it a moment later. GET /shopifytest/token_check
// (RouteTokenCheck, the fake's own route, not Shopify's) answers the same
// over HTTP, for Managers running in other processes. GrantCounts'
// RefreshInGrace counts refresh tokens redeemed a second time: a fleet
// that refreshes each shop once per expiry keeps it at zero.
//
// # Simulated time
//
// SimClock lets a test run minutes of waiting for the bucket in
// milliseconds: time stands still while any of its workers (started with
// Go) runs, and jumps to the earliest wake-up when all of them sleep. Give
// its Now to the fake (WithClock) and the clock itself to the code that
// waits (admin.WithClock); what the test measures in simulated time is
// exact.
package shopifytest

// # OAuth token endpoint
//
// POST /admin/oauth/access_token (RouteOAuthAccessToken) answers the
// grants Shopify documents, with JSON or form bodies:
//
//   - token exchange of a session token (subject_token_type id_token): the
//     token must be HS256-signed with the app's secret, name the app's
//     client ID as aud and the shop in the Host header as dest (so
//     checkout tokens, whose dest is a bare domain, are refused), and be
//     within exp/nbf with SessionTokenLeeway. Offline with expiring=1
//     issues an expiring pair (expires_in 3600, a refresh token good for 90
//     days) and revokes the shop's earlier offline tokens; without it a
//     non-expiring token; online tokens come with associated_user.
//   - refresh_token: rotates the pair and revokes the previous access
//     token. The redeemed refresh token may be redeemed again until the
//     app first uses its replacement, for at most RefreshGrace (Shopify's
//     rule since 2026-08); a refresh token past its 90 days is refused.
//   - the migrate grant (subject_token_type offline-access-token,
//     expiring=1): a non-expiring offline token, once, for an expiring
//     pair.
//   - client_credentials: a 24 h token.
//
// Refusals are 400 with {"error", "error_description"}: invalid_request,
// invalid_client (wrong credentials, or Uninstall), invalid_subject_token,
// invalid_grant (revoked, expired or superseded refresh tokens),
// unsupported_grant_type. Every answer carries an X-Request-Id. Inject
// queues 429s (with Retry-After), 5xx and latency; Requests, GrantCounts
// and LastRequest tell tests what was asked, and AccessTokenValid /
// RefreshTokenValid what the fake still honours.

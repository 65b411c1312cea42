// Package shopifytest is an in-process fake of the parts of Shopify a
// backend talks to, for tests (yours and possession's): the OAuth token
// endpoint, the Admin GraphQL API with its cost bucket, and a sender of
// signed webhooks. It implements the documented behaviour faithfully
// (error bodies, rotation and revocation, the bucket, signatures) and is
// itself checked against Shopify's own npm client libraries.
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

// Package shopifytest is an in-process fake of the parts of Shopify a
// backend talks to, for tests (yours and possession's): the OAuth token
// endpoint, the Admin GraphQL API with its cost bucket, and a sender of
// signed webhooks. It implements the documented behaviour faithfully
// (error bodies, rotation and revocation, the bucket, signatures) and is
// itself checked against Shopify's own npm client libraries.
package shopifytest

package webhook

import (
	"context"
	"time"
)

// Deduper remembers which deliveries were handled, so that a webhook
// Shopify delivers several times (at least once, up to 8 retries over 4
// hours, possibly to several instances at once) is handled once. The
// access stores implement it: access.MemoryStore, access/sqlitestore,
// access/redisstore and access/pgstore, proven by access/storetest.
//
// A delivery is free, claimed (being handled, until the claim's lease
// ends) or done (handled, remembered until its retention ends).
type Deduper interface {
	// ClaimDelivery claims delivery id (its X-Shopify-Webhook-Id) for
	// lease. It returns claim > 0 when the caller now owns the handling and
	// must end it with CompleteDelivery or ReleaseDelivery; done when id
	// was handled within its retention; and neither (0, false) while
	// another holder's claim is live. Every claim of an id returns a larger
	// number than the ones before it.
	ClaimDelivery(ctx context.Context, id string, lease time.Duration) (claim int64, done bool, err error)

	// CompleteDelivery records id as handled for retention (Shopify's retry
	// window), whatever claim holds it now: the handler ran.
	CompleteDelivery(ctx context.Context, id string, claim int64, retention time.Duration) error

	// ReleaseDelivery ends claim without recording id as handled (the
	// handler failed), so that Shopify's retry is handled. It is a no-op if
	// claim no longer holds id; in particular it never frees a done id
	// (another holder, whose claim followed an expired one, completed it).
	ReleaseDelivery(ctx context.Context, id string, claim int64) error
}

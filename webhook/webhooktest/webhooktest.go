// Package webhooktest checks implementations of webhook.Deduper: the
// contract the webhook middleware relies on (TestDeduper), and exactly-once
// handling end to end, with shopifytest's sender delivering every webhook
// several times, concurrently, to several backend instances that share
// one Deduper (TestExactlyOnce). Every store runs both:
//
//	func TestDeduper(t *testing.T) {
//		webhooktest.TestDeduper(t, func(t *testing.T) webhook.Deduper { return newStore(t) })
//	}
//
// The checks let time pass in real time (short leases and retentions,
// then a wait): a Deduper reads its own clock (Redis' and PostgreSQL's
// included), which a test cannot advance.
package webhooktest

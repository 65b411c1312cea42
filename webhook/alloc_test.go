//go:build !race

package webhook_test

import (
	"net/http"
	"testing"
)

// Verify allocates nothing on the success path: the body is the caller's,
// the HMAC state comes from a pool, the header values are read in place.
// (The race detector adds allocations, hence the build constraint.)
func TestVerifyAllocations(t *testing.T) {
	body := body4KiB()
	v := newVerifier(t)
	for _, c := range []struct {
		name string
		h    http.Header
	}{
		{"classic", classicHeader(string(body))},
		{"classic as on the wire", wireHeader(string(body))},
		{"events", eventsHeader(string(body))},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := v.Verify(c.h, body); err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(1000, func() {
				if _, err := v.Verify(c.h, body); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("Verify allocates %.1f times per call, want 0", allocs)
			}
		})
	}
}

//go:build !race

package access

import (
	"testing"
)

// TestHotPathAllocatesNothing: a token served from the in-process cache
// costs no allocation (and, per TestOfflineExchangesOnceThenServesFromCache,
// no store round trip). The race detector adds allocations, hence the
// build tag.
func TestHotPathAllocatesNothing(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	s, id := e.session(testShop, "42")
	if _, err := m.Offline(ctx, s, id); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Online(ctx, s, id); err != nil {
		t.Fatal(err)
	}
	ops := e.store.ops()
	for name, f := range map[string]func(){
		"Offline": func() {
			if tok, err := m.Offline(ctx, s, id); err != nil || tok.IsZero() {
				t.Fatal(err)
			}
		},
		"OfflineFor": func() {
			if tok, err := m.OfflineFor(ctx, testShop); err != nil || tok.IsZero() {
				t.Fatal(err)
			}
		},
		"Online": func() {
			if tok, err := m.Online(ctx, s, id); err != nil || tok.IsZero() {
				t.Fatal(err)
			}
		},
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s from the cache: %v allocations per call, want 0", name, n)
		}
	}
	if got := e.store.ops() - ops; got != 0 {
		t.Errorf("the hot path made %d store calls", got)
	}
}

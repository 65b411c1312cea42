package sdk

import (
	"context"
	"testing"
	"time"
)

// The HMACs' remembered prefix states (sdk/internal/token) belong to one
// keyring: a rotation starts from none, and the old ones go with the old
// keyring's macSet.
func TestPrefixStatesDroppedWithKeyring(t *testing.T) {
	src := &swappableSource{}
	src.swap(t, cacheTestSecret)
	v := newCacheTestVerifier(t, src, newTestClock(cacheTestIssued.Add(time.Second)), 0)
	m := newFastMinter(cacheTestSecret)
	ctx := context.Background()
	for i := range 4 {
		if _, err := v.Verify(ctx, m.token(i)); err != nil {
			t.Fatal(err)
		}
	}
	before := v.macs.Load()
	if before.keys[0].mac.Remembered() == 0 {
		t.Fatal("no prefix state remembered after four tokens of one shop")
	}
	src.swap(t, cacheTestSecret) // a new keyring, the same secret
	if _, err := v.Verify(ctx, m.token(10)); err != nil {
		t.Fatal(err)
	}
	after := v.macs.Load()
	if after == before || after.ring != src.Keyring() {
		t.Fatal("the verifier kept the old keyring's HMACs")
	}
	if n := after.keys[0].mac.Remembered(); n != 0 {
		t.Fatalf("%d prefix states under the new keyring after one token (want 0: none carried over)", n)
	}
}

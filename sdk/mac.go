package sdk

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
	"unsafe"

	"github.com/possession-dev/possession/keysource"
)

// macSet holds, for one keyring, a pool of pre-keyed HMAC-SHA256 states
// per key, so that Verify neither derives the HMAC pads (hmac.New) nor
// allocates per call: a pooled state is Reset to its keyed state and
// reused.
type macSet struct {
	ring *keysource.Keyring
	keys []macKey
}

type macKey struct {
	id       string
	clientID string
	pool     sync.Pool // of *macState
}

type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func newMacSet(ring *keysource.Keyring) *macSet {
	m := &macSet{ring: ring, keys: make([]macKey, ring.Len())}
	for i := range m.keys {
		k := ring.Key(i)
		secret := k.Secret.Bytes()
		m.keys[i].id = k.ID
		m.keys[i].clientID = k.ClientID
		m.keys[i].pool.New = func() any {
			return &macState{h: hmac.New(sha256.New, secret)}
		}
	}
	return m
}

// match returns the index of the first key (in preference order) whose
// HMAC of signingInput equals sig, or -1. Each comparison is constant
// time.
func (m *macSet) match(signingInput string, sig *[sha256.Size]byte) int {
	// The hash only reads its input; viewing the token's bytes in place
	// avoids copying the signing input on every call.
	in := unsafe.Slice(unsafe.StringData(signingInput), len(signingInput))
	for i := range m.keys {
		st := m.keys[i].pool.Get().(*macState)
		st.h.Reset()
		st.h.Write(in)
		ok := hmac.Equal(st.h.Sum(st.sum[:0]), sig[:])
		m.keys[i].pool.Put(st)
		if ok {
			return i
		}
	}
	return -1
}

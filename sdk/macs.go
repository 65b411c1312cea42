package sdk

import (
	"crypto/sha256"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk/internal/token"
)

// macSet holds, for one keyring, each key's HMAC checker and what a match
// tells about the token: the key's ID and the client it belongs to.
type macSet struct {
	ring *keysource.Keyring
	keys []macKey
}

type macKey struct {
	id       string
	clientID string
	mac      *token.HMAC
}

func newMacSet(ring *keysource.Keyring) *macSet {
	m := &macSet{ring: ring, keys: make([]macKey, ring.Len())}
	for i := range m.keys {
		k := ring.Key(i)
		m.keys[i] = macKey{id: k.ID, clientID: k.ClientID, mac: token.NewHMAC(k.Secret.Bytes())}
	}
	return m
}

// match returns the index of the first key (in preference order) whose
// HMAC of signingInput equals sig, or -1. Each comparison is constant
// time.
func (m *macSet) match(signingInput string, sig *[sha256.Size]byte) int {
	for i := range m.keys {
		if m.keys[i].mac.Verify(signingInput, sig) {
			return i
		}
	}
	return -1
}

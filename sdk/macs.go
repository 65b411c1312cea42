package sdk

import (
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

// first returns the first key's HMAC, which token.Parse is given: most
// tokens verify under it.
func (m *macSet) first() *token.HMAC {
	if len(m.keys) == 0 {
		return nil
	}
	return m.keys[0].mac
}

// match returns the index of the first key (in preference order) whose
// HMAC of t's signing input equals its signature, or -1. Each comparison
// is constant time.
func (m *macSet) match(t *token.Token) int {
	for i := range m.keys {
		if m.keys[i].mac.VerifyToken(t) {
			return i
		}
	}
	return -1
}

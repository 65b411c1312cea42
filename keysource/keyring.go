package keysource

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Key is one signing secret with an ID that is safe to log and trace.
type Key struct {
	// ID names the key in telemetry and in sdk.Session.KeyID. Never the secret.
	ID string
	// ClientID, when set, is the app (token audience) this key belongs to:
	// the verifier accepts a token signed with this key only if its aud
	// equals ClientID. Empty means any configured client ID.
	ClientID string
	// Secret is the HMAC key: the app's client secret, used as raw bytes.
	Secret Secret
}

// Keyring is an immutable, ordered set of keys: the preferred (current) key
// first, then older ones. Its generation changes whenever its keys change,
// so caches can tell results produced under an older keyring.
type Keyring struct {
	keys     []Key
	gen      uint64
	loadedAt time.Time
}

// generations hands out process-unique keyring generations. A counter, not
// configuration: two keyrings never share a generation, whichever source
// built them.
var generations atomic.Uint64

// MaxKeys bounds the keys of one keyring. A token whose signer is unknown
// costs one HMAC per key, so the bound is also the most work a forged
// token can cause. Shopify rotation needs two keys per app (current and
// previous): 32 serve 16 apps from one secret.
const MaxKeys = 32

// NewKeyring validates keys (at least one and at most MaxKeys, none empty,
// IDs unique) and returns a keyring with a fresh generation. loadedAt
// records when the source obtained the keys (for key-age metrics); the
// zero time is allowed. It does not hold secrets to the shape of Shopify
// client secrets, as the sources do: custom sources and tests may use any
// non-empty key.
func NewKeyring(loadedAt time.Time, keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	if len(keys) > MaxKeys {
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooManyKeys, len(keys), MaxKeys)
	}
	seen := make(map[string]struct{}, len(keys))
	for i, k := range keys {
		if k.Secret.Len() == 0 {
			return nil, fmt.Errorf("%w: key %d (id %q)", ErrEmptySecret, i, k.ID)
		}
		if _, dup := seen[k.ID]; dup {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateKeyID, k.ID)
		}
		seen[k.ID] = struct{}{}
	}
	return &Keyring{
		keys:     append([]Key(nil), keys...),
		gen:      generations.Add(1),
		loadedAt: loadedAt,
	}, nil
}

// Len returns the number of keys; 0 for a nil keyring.
func (r *Keyring) Len() int {
	if r == nil {
		return 0
	}
	return len(r.keys)
}

// Key returns the i-th key in preference order.
func (r *Keyring) Key(i int) Key { return r.keys[i] }

// Keys returns a copy of the keys in preference order.
func (r *Keyring) Keys() []Key {
	if r == nil {
		return nil
	}
	return append([]Key(nil), r.keys...)
}

// Generation identifies this keyring's contents; 0 for a nil keyring.
func (r *Keyring) Generation() uint64 {
	if r == nil {
		return 0
	}
	return r.gen
}

// LoadedAt is when the source obtained these keys.
func (r *Keyring) LoadedAt() time.Time {
	if r == nil {
		return time.Time{}
	}
	return r.loadedAt
}

// SameKeys reports whether both keyrings hold the same IDs, client IDs and
// secrets in the same order. Sources use it to keep the generation (and
// with it every cached session) when a reload finds nothing new.
func (r *Keyring) SameKeys(o *Keyring) bool {
	if r.Len() != o.Len() {
		return false
	}
	for i := range r.Len() {
		a, b := r.keys[i], o.keys[i]
		if a.ID != b.ID || a.ClientID != b.ClientID || !a.Secret.Equal(b.Secret) {
			return false
		}
	}
	return true
}

// String lists key IDs only.
func (r *Keyring) String() string {
	if r == nil {
		return "keysource.Keyring(nil)"
	}
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.ID
	}
	return fmt.Sprintf("keysource.Keyring(gen=%d keys=[%s])", r.gen, strings.Join(ids, " "))
}

// Format prints String for every verb, so no formatting path walks into
// the keys.
func (r *Keyring) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

package keysource

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Source hands the verifier its current keyring. Keyring must be cheap and
// must never do I/O: sources refresh in the background or on an explicit
// call, and publish a new immutable keyring when the keys change. A source
// that has no usable keys yet returns nil.
type Source interface {
	Keyring() *Keyring
}

// UnknownSignerRefresher is an optional interface for sources whose keys
// can change outside the process (a file, a secrets manager). When a
// token's signature matches no key, the verifier calls RefreshUnknownSigner
// and, if it returns a keyring of a different generation, retries the
// signature once with it. Implementations rate-limit the refresh (at most
// one per interval, however many bad tokens arrive), wait at most until
// ctx is done, and return the keyring in force afterwards (possibly the
// same one).
type UnknownSignerRefresher interface {
	RefreshUnknownSigner(ctx context.Context) *Keyring
}

// staticSource serves a fixed keyring.
type staticSource struct{ ring *Keyring }

func (s staticSource) Keyring() *Keyring { return s.ring }

// Static serves fixed secrets: the first is current, the rest are previous
// secrets in order of preference. Key IDs are "static:current",
// "static:previous", "static:previous-2", ... (see the package doc). It
// fails, wrapping ErrNoKeys, without secrets; wrapping ErrEmptySecret, for
// an empty one; and wrapping ErrInvalidSecret for one that cannot be a
// Shopify client secret (shorter than MinSecretLen, or with white space
// or a control character inside; surrounding white space is trimmed): a
// source without usable keys would make every verification fail.
func Static(secrets ...string) (Source, error) {
	keys := make([]Key, len(secrets))
	for i, s := range secrets {
		s = trimSecret(s)
		if err := checkSecret(s); err != nil {
			return nil, fmt.Errorf("keysource: static: key %d (id %q): %w", i, keyID("static", i), err)
		}
		keys[i] = Key{ID: keyID("static", i), Secret: NewSecret(s)}
	}
	ring, err := NewKeyring(time.Now(), keys...)
	if err != nil {
		return nil, fmt.Errorf("keysource: static: %w", err)
	}
	return staticSource{ring: ring}, nil
}

// MustStatic is Static for tests and examples: it panics where Static
// returns an error.
func MustStatic(secrets ...string) Source {
	src, err := Static(secrets...)
	if err != nil {
		panic(err)
	}
	return src
}

// keyID is the ID of the i-th key (in preference order) of a source of
// the given kind: "static:current", "env:previous", "file:previous-2".
func keyID(kind string, i int) string { return kind + ":" + positionName(i) }

// positionName names the i-th key of a rotation: current, previous,
// previous-2, ...
func positionName(i int) string {
	switch i {
	case 0:
		return "current"
	case 1:
		return "previous"
	}
	return "previous-" + strconv.Itoa(i)
}

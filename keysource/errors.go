package keysource

import "errors"

var (
	// ErrEmptySecret means a source found a secret that is empty after
	// trimming whitespace.
	ErrEmptySecret = errors.New("keysource: empty secret")
	// ErrNotSet means an environment variable a source reads is not set.
	ErrNotSet = errors.New("keysource: environment variable not set")
	// ErrNoKeys means a keyring would hold no keys, or a source has none.
	// It is also sdk.ErrNoKeys (the same value): a verification that fails
	// for want of keys matches it, and so does a source that cannot be
	// built without keys.
	ErrNoKeys = errors.New("keysource: no keys")
	// ErrDuplicateKeyID means two keys in one keyring share an ID.
	ErrDuplicateKeyID = errors.New("keysource: duplicate key id")
	// ErrClosed means the source was closed.
	ErrClosed = errors.New("keysource: source closed")
)

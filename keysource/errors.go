package keysource

import "errors"

var (
	// ErrEmptySecret means a source found a secret that is empty after
	// trimming whitespace.
	ErrEmptySecret = errors.New("keysource: empty secret")
	// ErrInvalidSecret means a source found a secret that cannot be a
	// Shopify client secret: shorter than MinSecretLen, or with white
	// space or a control character inside (a comment on a secret's line,
	// two secrets on one). Its message never shows the secret.
	ErrInvalidSecret = errors.New("keysource: not a Shopify client secret")
	// ErrTooManyKeys means a keyring would hold more than MaxKeys keys.
	ErrTooManyKeys = errors.New("keysource: too many keys")
	// ErrFileTooLarge means a key file is larger than MaxFileSize.
	ErrFileTooLarge = errors.New("keysource: key file too large")
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

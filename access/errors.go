package access

import "errors"

// Sentinel errors of stores. Every Store method's error wraps at most one.
var (
	// ErrNotFound: no record is stored for the key.
	ErrNotFound = errors.New("access: no stored token")
	// ErrLocked: another live lease holds the key's lock.
	ErrLocked = errors.New("access: locked by another holder")
	// ErrConflict: the stored record's version is not the one the write
	// expected; someone else wrote (or deleted) it first.
	ErrConflict = errors.New("access: record changed since it was read")
	// ErrFenced: a newer lease of the key was granted after the writer's;
	// the writer's lease ended and it must not write.
	ErrFenced = errors.New("access: lease superseded")
)

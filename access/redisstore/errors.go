package redisstore

import "errors"

// Sentinel errors of the Redis store. Its Store methods also return
// errors wrapping access.ErrNotFound, access.ErrLocked, access.ErrConflict
// and access.ErrFenced.
var (
	// ErrInvalidOption: an Option's value is out of range.
	ErrInvalidOption = errors.New("redisstore: invalid option")
	// ErrInvalidArgument: a duration passed to a method is out of range
	// (a lease of zero or less), or a key's mode is neither offline nor
	// online.
	ErrInvalidArgument = errors.New("redisstore: invalid argument")
	// ErrCorrupt: a stored record or delivery does not parse; something
	// other than this package wrote under its prefix.
	ErrCorrupt = errors.New("redisstore: stored data does not parse")
)

package sqlitestore

import "errors"

// Sentinel errors of the SQLite store. Its Store methods also return
// errors wrapping access.ErrNotFound, access.ErrLocked, access.ErrConflict
// and access.ErrFenced.
var (
	// ErrSchemaTooNew: the file was migrated by a newer version of this
	// package, whose schema this version does not know. Upgrade it.
	ErrSchemaTooNew = errors.New("sqlitestore: database schema is newer than this version supports")
	// ErrInvalidOption: an Option's value is out of range.
	ErrInvalidOption = errors.New("sqlitestore: invalid option")
	// ErrInvalidArgument: a duration or limit passed to a method is out
	// of range (a lease of zero or less).
	ErrInvalidArgument = errors.New("sqlitestore: invalid argument")
)

package pgstore

import "errors"

// Sentinel errors of the PostgreSQL store. Its Store methods also return
// errors wrapping access.ErrNotFound, access.ErrLocked, access.ErrConflict
// and access.ErrFenced.
var (
	// ErrSchemaTooNew: the database was migrated by a newer version of
	// this package, whose schema this version does not know. Upgrade it.
	ErrSchemaTooNew = errors.New("pgstore: database schema is newer than this version supports")
	// ErrInvalidOption: an Option's value is out of range.
	ErrInvalidOption = errors.New("pgstore: invalid option")
	// ErrInvalidArgument: a duration passed to a method is out of range
	// (a lease of zero or less), or New was given no database.
	ErrInvalidArgument = errors.New("pgstore: invalid argument")
)

package access_test

import (
	"testing"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/accesstest"
)

// TestFleetMemoryStore runs the fleet harness with 8 Managers sharing one
// MemoryStore (the store modules run it against SQLite, Redis and
// PostgreSQL).
func TestFleetMemoryStore(t *testing.T) {
	store := access.MemoryStore()
	accesstest.RunFleet(t, func(*testing.T) access.Store { return store })
}

package access_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/accesstest"
)

// TestFleetLeavesNoGoroutines runs the fleet harness on a MemoryStore and
// checks that the Managers (which start no goroutines of their own) and
// the harness leave none behind.
func TestFleetLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t)
	store := access.MemoryStore()
	accesstest.RunFleet(t, func(*testing.T) access.Store { return store })
}

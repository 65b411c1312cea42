package teltest_test

import (
	"os"
	"testing"

	"github.com/possession-dev/possession/internal/teltest"
)

var inChild bool

// TestInChild: the function runs in a child process, not in this one.
func TestInChild(t *testing.T) {
	teltest.InChild(t, func(t *testing.T) {
		inChild = true
		if os.Getenv("POSSESSION_TEST_CHILD") != t.Name() {
			t.Fatal("not in the child")
		}
	})
	if os.Getenv("POSSESSION_TEST_CHILD") == "" && inChild {
		t.Fatal("the child's function ran in the parent")
	}
}

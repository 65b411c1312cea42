package access_test

import (
	"testing"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() access.Store {
		s := access.MemoryStore()
		return func() access.Store { return s }
	})
}

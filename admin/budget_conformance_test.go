package admin_test

import (
	"testing"

	"github.com/possession-dev/possession/admin"
	"github.com/possession-dev/possession/admin/budgettest"
)

func TestMemoryBudgetConformance(t *testing.T) {
	budgettest.Run(t, func(*testing.T) admin.Budget { return admin.NewMemoryBudget() })
}

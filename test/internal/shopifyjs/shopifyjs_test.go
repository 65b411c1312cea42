package shopifyjs

import (
	"os"
	"path/filepath"
	"testing"
)

// TestToolsDir: the directory Dir returns is the checkout's
// tools/shopify-js (its package.json is committed, node_modules is not).
func TestToolsDir(t *testing.T) {
	if _, err := os.Stat(filepath.Join(toolsDir(), "package.json")); err != nil {
		t.Fatal(err)
	}
}

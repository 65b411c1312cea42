// Package shopifyjs finds tools/shopify-js, where Shopify's npm libraries
// are pinned, for the tests that run them through Node as a reference.
package shopifyjs

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the absolute path of tools/shopify-js, or ends t when the
// test cannot run: without node on PATH, or without pkg (such as
// "@shopify/shopify-api") installed in its node_modules. It skips, except
// when the environment has CI=true, where a skipped comparison would pass
// unnoticed, so it fails.
func Dir(t testing.TB, pkg string) string {
	t.Helper()
	dir := toolsDir()
	_, errNode := exec.LookPath("node")
	_, errMods := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(pkg), "package.json"))
	if errNode == nil && errMods == nil {
		return dir
	}
	msg := "needs Node 20 and Shopify's npm libraries (" + pkg + "): cd tools/shopify-js && npm ci"
	if errNode != nil {
		msg = "node is not on PATH; " + msg
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true, so this fails instead of skipping)", msg)
	}
	t.Skip(msg)
	return ""
}

// toolsDir is tools/shopify-js, found from this file's place in the
// checkout, whatever the test's working directory.
func toolsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "tools", "shopify-js")
}

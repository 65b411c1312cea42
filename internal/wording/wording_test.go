package wording

import (
	"strings"
	"testing"
)

func TestSource(t *testing.T) {
	text, err := Source(".")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "package wording") || strings.Contains(text, "func TestSource") {
		t.Fatalf("Source(\".\") should hold wording.go and not this test (%d bytes)", len(text))
	}
	again, err := Source(".")
	if err != nil || again != text {
		t.Fatalf("second read: %v", err)
	}
	if _, err := Source(t.TempDir()); err == nil {
		t.Fatal("a directory without Go files gave no error")
	}
}

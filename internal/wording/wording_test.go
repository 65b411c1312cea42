package wording

import (
	"strings"
	"testing"
)

func TestSource(t *testing.T) {
	text := Source(t, ".")
	if !strings.Contains(text, "package wording") || strings.Contains(text, "func TestSource") {
		t.Fatalf("Source(\".\") should hold wording.go and not this test (%d bytes)", len(text))
	}
	if again := Source(t, "."); again != text {
		t.Fatal("second read differs")
	}
	if _, err := source([]string{t.TempDir()}); err == nil {
		t.Fatal("a directory without Go files gave no error")
	}
}

package main

import (
	"testing"
)

// Every path runs and checks its outcomes outside valgrind too, so that a
// broken driver fails go test before it fails the gate.
func TestPathsRun(t *testing.T) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			if err := run(p.name, poolSize, 2*poolSize); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	for _, c := range []struct {
		name string
		path string
		n    int
	}{
		{"unknown path", "no-such-path", poolSize},
		{"n not a multiple of the pool", "verify-hit", poolSize + 1},
		{"n zero", "verify-hit", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := run(c.path, 0, c.n); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestInjected(t *testing.T) {
	for _, c := range []struct {
		name, spec, path string
		want             int
		wantErr          bool
	}{
		{"unset", "", "verify-hit", 0, false},
		{"this path", "verify-hit=100", "verify-hit", 100, false},
		{"another path", "verify-hit=100", "verify-forged", 0, false},
		{"no bytes", "verify-hit", "verify-hit", 0, true},
		{"negative", "verify-hit=-1", "verify-hit", 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("GATE_INJECT_BYTES", c.spec)
			n, err := injected(c.path)
			if n != c.want || (err != nil) != c.wantErr {
				t.Fatalf("injected(%q) with %q = %d, %v", c.path, c.spec, n, err)
			}
		})
	}
}

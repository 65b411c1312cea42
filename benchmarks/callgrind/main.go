// Command callgrind runs one hot path of possession a fixed number of
// times on fixed inputs, for the instruction-count gate (gate.sh), which
// runs it under valgrind --tool=callgrind and counts the instructions of
// the n iterations in main.loop only, after warm uncounted ones (in
// main.warm): start-up, input generation and what the first iterations
// do once (pools, lazy set-up, the runtime's type-assertion caches, which
// it fills at random moments) stay out of the count.
//
//	callgrind -list
//	callgrind -path verify-uncached -warm 2048 -n 4096
//
// Every iteration checks its outcome (a session for a valid token, the
// right sentinel for a bad one) and the command fails on a wrong one: a
// path that stops working must not look faster. It prints the heap
// allocations per iteration on stderr.
//
// GATE_INJECT_BYTES=<path>=<n> hashes n extra bytes with SHA-256 in
// every iteration of that path: a calibrated slowdown, to show the gate
// failing (see benchmarks/README.md).
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

func main() {
	list := flag.Bool("list", false, "print the paths, gated ones first, and exit")
	name := flag.String("path", "", "the path to run")
	n := flag.Int("n", 0, "counted iterations (a multiple of the pool size, "+strconv.Itoa(poolSize)+")")
	w := flag.Int("warm", 0, "uncounted iterations before them")
	flag.Parse()
	if *list {
		for _, p := range paths {
			fmt.Printf("%s\t%s\n", p.name, p.kind)
		}
		return
	}
	if err := run(*name, *w, *n); err != nil {
		fmt.Fprintln(os.Stderr, "callgrind:", err)
		os.Exit(1)
	}
}

func run(name string, w, n int) error {
	p, ok := pathNamed(name)
	if !ok {
		return fmt.Errorf("no path %q (see -list)", name)
	}
	if n <= 0 || n%poolSize != 0 || w < 0 {
		return fmt.Errorf("-n %d -warm %d: want a positive multiple of %d, and warm >= 0", n, w, poolSize)
	}
	step, err := p.setup()
	if err != nil {
		return fmt.Errorf("%s: setup: %w", name, err)
	}
	extra, err := injected(name)
	if err != nil {
		return err
	}
	var junk []byte
	if extra > 0 {
		junk = make([]byte, extra)
	}
	if err := warm(step, w, junk); err != nil {
		return fmt.Errorf("%s: warm-up: %w", name, err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := loop(step, n, junk); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	runtime.ReadMemStats(&after)
	fmt.Fprintf(os.Stderr, "%s: %d iterations, %.2f allocs/iter\n", name, n, float64(after.Mallocs-before.Mallocs)/float64(n))
	return nil
}

// loop runs the counted iterations. gate.sh counts the instructions
// inside it only (callgrind --toggle-collect=main.loop), so its name
// matters.
//
//go:noinline
func loop(step func(int) error, n int, junk []byte) error { return iterate(step, n, junk) }

// warm runs the uncounted iterations.
//
//go:noinline
func warm(step func(int) error, n int, junk []byte) error { return iterate(step, n, junk) }

// iterate calls step n times, with the injected slowdown if any.
func iterate(step func(int) error, n int, junk []byte) error {
	for i := range n {
		if err := step(i); err != nil {
			return fmt.Errorf("iteration %d: %w", i, err)
		}
		if junk != nil {
			sum := sha256.Sum256(junk)
			junk[0] = sum[0]
		}
	}
	return nil
}

// injected returns the extra bytes GATE_INJECT_BYTES asks path name to
// hash per iteration.
func injected(name string) (int, error) {
	spec := os.Getenv("GATE_INJECT_BYTES")
	if spec == "" {
		return 0, nil
	}
	p, v, ok := strings.Cut(spec, "=")
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < 0 {
		return 0, fmt.Errorf("GATE_INJECT_BYTES=%q: want <path>=<bytes>", spec)
	}
	if p != name {
		return 0, nil
	}
	fmt.Fprintf(os.Stderr, "%s: INJECTED SLOWDOWN: SHA-256 over %d extra bytes per iteration\n", name, n)
	return n, nil
}

// Package wording is for tests that check an error message quotes none of
// its input: a fuzzed input may hold a piece of a message's own words
// ("not a session token", "comment"), which is no leak. Source returns the
// source text of the packages that write the messages; a piece of a
// message found in it is fixed wording, not something the message was
// given.
package wording

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	texts = map[string]string{}
)

// Source returns the text of the non-test .go files in dirs (relative to
// the test's working directory, its package's directory), read once per
// set of dirs; it fails tb if there are none or they cannot be read.
func Source(tb testing.TB, dirs ...string) string {
	tb.Helper()
	text, err := source(dirs)
	if err != nil {
		tb.Fatal(err)
	}
	return text
}

func source(dirs []string) (string, error) {
	key := strings.Join(dirs, "\x00")
	mu.Lock()
	defer mu.Unlock()
	if text, ok := texts[key]; ok {
		return text, nil
	}
	var b strings.Builder
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return "", err
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				return "", err
			}
			b.Write(src)
		}
	}
	if b.Len() == 0 {
		return "", errors.New("wording: no source files in " + strings.Join(dirs, ", "))
	}
	texts[key] = b.String()
	return texts[key], nil
}

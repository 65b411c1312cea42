package keysource

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// digits finds the numbers in an error's text.
var digits = regexp.MustCompile("[0-9]+")

// keyFileErrors are the messages parseKeyFile may return, each number in
// them written N.
var keyFileErrors = map[string]bool{
	fmt.Sprintf("line N: %v: byte N of the secret is white space, a control character or not ASCII (a comment or a second secret on its line?)", ErrInvalidSecret): true,
	fmt.Sprintf("line N: %v: N bytes, and Shopify client secrets have at least N", ErrInvalidSecret):                                                               true,
	fmt.Sprintf("line N: %v: at most N", ErrTooManyKeys):                                                                                                           true,
	fmt.Sprintf(`%v: the file says "revoked" and holds secrets too: "revoked" revokes every key and must be the only line besides comments`, ErrInvalidSecret):     true,
}

// FuzzKeyFile holds the key file parser to the format File documents,
// restated independently: split on "\n", drop a leading byte order mark,
// trim each line, skip blank and '#' lines; "revoked" (any case) alone
// revokes; every other line must be a possible Shopify client secret.
// Properties: no panic; the keys (or the error, or the revocation) are
// what the restatement says; no error shows a line of the file.
func FuzzKeyFile(f *testing.F) {
	const s1, s2 = "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", "0d9e8c7b6a5f4e3d2c1b0a9f8e7d6c5b"
	for _, seed := range []string{
		s1 + "\n", s1 + "\n" + s2 + "\n", "# previous secret below\n" + s1, "\ufeff" + s1, "\ufeff# c\n" + s1 + "\r\n",
		"x\n", s1 + " # comment", "revoked\n", "# incident\nREVOKED\n", "revoked\n" + s1, "", " \n\t\n", "#\n#\n",
		s1 + "\x00", "\u201c" + s1 + "\u201d", strings.Repeat(s1+"\n", MaxKeys+1), "\r" + s1 + "\r", s1 + "\v",
		"commen\n", "x commen", "not a Shopify client secret", "at least", "revoked\nrevokes every key " + s1,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, revoked, err := parseKeyFile(data, "client")

		// The restatement.
		var want []string
		wantRevoked, wantErr := false, false
		text := strings.TrimPrefix(string(data), "\ufeff")
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			switch {
			case line == "" || strings.HasPrefix(line, "#"):
			case strings.EqualFold(line, "revoked"):
				wantRevoked = true
			case len(line) < MinSecretLen || strings.ContainsFunc(line, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
				wantErr = true
			default:
				want = append(want, line)
			}
		}
		if len(want) > MaxKeys || wantRevoked && len(want) > 0 {
			wantErr = true
		}

		if wantErr {
			if err == nil {
				t.Fatalf("accepted %q: %d keys, revoked %v", data, len(keys), revoked)
			}
			// The error's text is one of the parser's fixed messages with
			// numbers (line, byte, count) in it and nothing else: no line
			// of the file, whole or in part, can be in it.
			if msg := digits.ReplaceAllString(err.Error(), "N"); !keyFileErrors[msg] {
				t.Fatalf("the error is not one of the fixed messages (does it show the file?): %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("refused %q: %v", data, err)
		}
		if revoked != wantRevoked || len(keys) != len(want) {
			t.Fatalf("%q: %d keys, revoked %v; want %d, %v", data, len(keys), revoked, len(want), wantRevoked)
		}
		for i, k := range keys {
			if string(k.Secret.Bytes()) != want[i] || k.ID != keyID("file", i) || k.ClientID != "client" {
				t.Fatalf("%q: key %d is %q (%s), want %q", data, i, k.Secret.Bytes(), k.ID, want[i])
			}
		}
	})
}

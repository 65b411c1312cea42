package keysource

import (
	"strings"
	"testing"
)

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
			for _, line := range strings.Split(string(data), "\n") {
				if line = strings.TrimSpace(line); len(line) >= 6 && !strings.EqualFold(line, "revoked") && strings.Contains(err.Error(), line) {
					t.Fatalf("the error shows the line %q: %v", line, err)
				}
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

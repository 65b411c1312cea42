package keysource_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/internal/leakcheck"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// Attack tests from the outside review (issue 10): each names its finding.

// Secrets shaped as Shopify issues them: 32 hex characters (before 2020)
// and "shpss_" + 32 (since).
const (
	newStyle = "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"
	oldStyle = "0d9e8c7b6a5f4e3d2c1b0a9f8e7d6c5b"
)

func secretsOf(src keysource.Source) []string {
	var out []string
	for _, k := range src.Keyring().Keys() {
		out = append(out, string(k.Secret.Bytes()))
	}
	return out
}

func writeKeyFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shopify-secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFileFormat (finding 7): a comment line ("# previous secret below")
// became a valid HMAC key, a UTF-8 byte order mark stayed in the first
// secret (so every token failed), and a 1-byte secret was accepted. The
// format is now: one secret per line, '#' comment lines and blank lines
// skipped, a leading BOM dropped, every secret a possible Shopify client
// secret; errors give the line, never its text.
func TestFileFormat(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
		err     error
	}{
		{"one secret", newStyle + "\n", []string{newStyle}, nil},
		{"old-style secret", oldStyle, []string{oldStyle}, nil},
		{"comment lines", "# previous secret below\n" + newStyle + "\n  # rotated out 2026-05\n" + oldStyle + "\n", []string{newStyle, oldStyle}, nil},
		{"blank lines and CRLF", "\r\n\n" + newStyle + "\r\n\r\n" + oldStyle + "\r\n", []string{newStyle, oldStyle}, nil},
		{"byte order mark", "\ufeff" + newStyle + "\n", []string{newStyle}, nil},
		{"byte order mark before a comment", "\ufeff# current\n" + newStyle, []string{newStyle}, nil},
		{"one byte", "x\n", nil, keysource.ErrInvalidSecret},
		{"31 bytes", oldStyle[:31], nil, keysource.ErrInvalidSecret},
		{"comment on a secret's line", newStyle + " # current\n", nil, keysource.ErrInvalidSecret},
		{"two secrets on a line", newStyle + " " + oldStyle, nil, keysource.ErrInvalidSecret},
		{"typographic quotes", "\u201c" + newStyle + "\u201d", nil, keysource.ErrInvalidSecret},
		{"control character", newStyle[:20] + "\x00" + newStyle[20:], nil, keysource.ErrInvalidSecret},
		{"only comments", "# nothing yet\n", nil, keysource.ErrEmptySecret},
		{"revoked with a secret", "revoked\n" + newStyle, nil, keysource.ErrInvalidSecret},
		{"too many secrets", strings.Repeat(newStyle+"\n", keysource.MaxKeys+1), nil, keysource.ErrTooManyKeys},
		{"too large", "# " + strings.Repeat("x", keysource.MaxFileSize) + "\n" + newStyle, nil, keysource.ErrFileTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeKeyFile(t, tt.content)
			src, err := keysource.File(path, keysource.WithPollInterval(0))
			if tt.err != nil {
				if src != nil || !errors.Is(err, tt.err) {
					t.Fatalf("File = %v, %v; want %v", src, err, tt.err)
				}
				for _, line := range strings.Split(tt.content, "\n") {
					if line = strings.TrimSpace(line); len(line) >= leakcheck.Window && line != "revoked" {
						if form := leakcheck.Find(err.Error(), []byte(line)); form != "" {
							t.Fatalf("the error shows the file's contents (%s): %v", form, err)
						}
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if got := secretsOf(src); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("secrets %q, want %q", got, tt.want)
			}
		})
	}

	// The BOM case end to end: a token signed with the secret verifies.
	path := writeKeyFile(t, "\ufeff"+newStyle+"\n")
	src, err := keysource.File(path, keysource.WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	v, err := sdk.New(src, sdk.WithClientID("client-id"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), sdktest.Minter{Secret: newStyle, ClientID: "client-id"}.Admin()); err != nil {
		t.Fatalf("a file with a byte order mark: %v", err)
	}
}

// TestEnvAndStaticRefuseWhatCannotBeASecret (finding 7): Env kept a byte
// order mark and accepted a 1-byte secret; Static accepted one too.
func TestEnvAndStaticRefuseWhatCannotBeASecret(t *testing.T) {
	const name = "POSSESSION_ATTACK_TEST_SECRET"
	tests := []struct {
		name, current, previous string
		want                    []string
		err                     error
	}{
		{"new style", newStyle, "", []string{newStyle}, nil},
		{"byte order mark", "\ufeff" + newStyle + "\n", "\ufeff" + oldStyle, []string{newStyle, oldStyle}, nil},
		{"one byte", "x", "", nil, keysource.ErrInvalidSecret},
		{"short previous", newStyle, "short", nil, keysource.ErrInvalidSecret},
		{"comment", "# " + newStyle, "", nil, keysource.ErrInvalidSecret},
		{"blank", " \n", "", nil, keysource.ErrEmptySecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(name, tt.current)
			t.Setenv(name+"_PREVIOUS", tt.previous)
			src, err := keysource.Env(name)
			switch {
			case tt.err != nil && (src != nil || !errors.Is(err, tt.err)):
				t.Fatalf("Env = %v, %v; want %v", src, err, tt.err)
			case tt.err != nil:
				if !strings.Contains(err.Error(), name) {
					t.Errorf("the error does not name the variable: %v", err)
				}
				for _, v := range []string{tt.current, tt.previous} {
					if v = strings.TrimSpace(v); len(v) >= leakcheck.Window && leakcheck.Find(err.Error(), []byte(v)) != "" {
						t.Errorf("the error shows the value: %v", err)
					}
				}
			case err != nil:
				t.Fatal(err)
			default:
				if got := secretsOf(src); strings.Join(got, " ") != strings.Join(tt.want, " ") {
					t.Fatalf("secrets %q, want %q", got, tt.want)
				}
			}
		})
	}
	for _, secrets := range [][]string{{"x"}, {newStyle, "too-short"}, {newStyle + " " + oldStyle}} {
		if src, err := keysource.Static(secrets...); src != nil || !errors.Is(err, keysource.ErrInvalidSecret) {
			t.Errorf("Static(%d secrets) = %v, %v; want ErrInvalidSecret", len(secrets), src, err)
		}
	}
	if _, err := keysource.Static(" " + newStyle + "\n"); err != nil {
		t.Errorf("Static does not trim: %v", err)
	}
}

// TestKeyringBound (finding 9): nothing bounded the number of keys, and a
// forged token costs one HMAC per key.
func TestKeyringBound(t *testing.T) {
	keys := make([]keysource.Key, keysource.MaxKeys+1)
	for i := range keys {
		keys[i] = keysource.Key{ID: fmt.Sprint(i), Secret: keysource.NewSecret(newStyle)}
	}
	if _, err := keysource.NewKeyring(time.Time{}, keys[:keysource.MaxKeys]...); err != nil {
		t.Fatalf("%d keys: %v", keysource.MaxKeys, err)
	}
	if r, err := keysource.NewKeyring(time.Time{}, keys...); r != nil || !errors.Is(err, keysource.ErrTooManyKeys) {
		t.Fatalf("%d keys: %v, %v; want ErrTooManyKeys", len(keys), r, err)
	}
}

// TestFileRevocation (finding 9): emptying the key file kept the old keys
// forever, so an operator could not revoke a key without a restart. A key
// removed from the file is gone at the next reload, sessions cached under
// it included; the single line "revoked" drops every key (503s) until a
// secret is written again; an empty file still keeps the last keys (a
// rewrite in progress).
func TestFileRevocation(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	path := writeKeyFile(t, newStyle+"\n"+oldStyle+"\n")
	src, err := keysource.File(path, keysource.WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	v, err := sdk.New(src, sdk.WithClientID("client-id"), sdk.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	newTok := sdktest.Minter{Secret: newStyle, ClientID: "client-id", Now: clock}.Admin()
	oldTok := sdktest.Minter{Secret: oldStyle, ClientID: "client-id", Now: clock}.Admin()
	for _, tok := range []string{newTok, oldTok} {
		if _, err := v.Verify(ctx, tok); err != nil { // cached
			t.Fatal(err)
		}
	}
	rewrite := func(content string) error {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return src.Reload()
	}

	// Revoke the old key: write the file without it.
	if err := rewrite("# " + oldStyle[:4] + "... revoked 2026-05-04\n" + newStyle + "\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, oldTok); !errors.Is(err, sdk.ErrSignature) {
		t.Fatalf("a token of the removed key: %v, want ErrSignature", err)
	}
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Fatalf("a token of the remaining key: %v", err)
	}

	// Emptying the file revokes nothing: it may be a rewrite in progress.
	if err := rewrite(""); !errors.Is(err, keysource.ErrEmptySecret) {
		t.Fatalf("empty file: %v", err)
	}
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Fatalf("after an empty read: %v", err)
	}

	// "revoked" drops every key.
	if err := rewrite("# incident 123: secret leaked\nREVOKED\n"); err != nil {
		t.Fatal(err)
	}
	if src.Keyring() != nil || src.Err() != nil {
		t.Fatalf("after revoked: keyring %v, err %v", src.Keyring(), src.Err())
	}
	if _, err := v.Verify(ctx, newTok); !errors.Is(err, sdk.ErrNoKeys) {
		t.Fatalf("after revoked: %v, want ErrNoKeys", err)
	}

	// A new secret brings verification back.
	rotated := "shpss_" + strings.Repeat("7", 32)
	if err := rewrite(rotated + "\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, sdktest.Minter{Secret: rotated, ClientID: "client-id", Now: clock}.Admin()); err != nil {
		t.Fatalf("after a new secret: %v", err)
	}
	if _, err := v.Verify(ctx, newTok); !errors.Is(err, sdk.ErrSignature) {
		t.Fatalf("the revoked key's token: %v", err)
	}

	// A file that says revoked from the start: a source without keys.
	revoked, err := keysource.File(writeKeyFile(t, "revoked\n"), keysource.WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer revoked.Close()
	if revoked.Keyring() != nil {
		t.Fatalf("keyring %v", revoked.Keyring())
	}
}

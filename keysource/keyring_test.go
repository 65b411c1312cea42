package keysource_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
)

// Secrets shaped as Shopify client secrets, which Static, Env and File
// require.
const (
	sec1 = "shpss_11111111111111111111111111111111"
	sec2 = "shpss_22222222222222222222222222222222"
	sec3 = "shpss_33333333333333333333333333333333"
)

func key(id, secret string) keysource.Key {
	return keysource.Key{ID: id, Secret: keysource.NewSecret(secret)}
}

func TestNewKeyringRejects(t *testing.T) {
	tests := []struct {
		name string
		keys []keysource.Key
		want error
	}{
		{"no keys", nil, keysource.ErrNoKeys},
		{"empty secret", []keysource.Key{key("a", "x"), key("b", "")}, keysource.ErrEmptySecret},
		{"zero secret", []keysource.Key{{ID: "a"}}, keysource.ErrEmptySecret},
		{"duplicate id", []keysource.Key{key("a", "x"), key("a", "y")}, keysource.ErrDuplicateKeyID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := keysource.NewKeyring(time.Now(), tt.keys...)
			if r != nil || !errors.Is(err, tt.want) {
				t.Fatalf("got %v, %v; want %v", r, err, tt.want)
			}
		})
	}
}

func TestKeyring(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	a, err := keysource.NewKeyring(at, key("current", "s1"), key("previous", "s2"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := keysource.NewKeyring(at, key("current", "s1"), key("previous", "s2"))
	c, _ := keysource.NewKeyring(at, key("current", "s1"), key("previous", "other"))
	if a.Generation() == 0 || a.Generation() == b.Generation() {
		t.Errorf("generations %d and %d: want distinct and non-zero", a.Generation(), b.Generation())
	}
	if !a.SameKeys(b) || a.SameKeys(c) || a.SameKeys(nil) {
		t.Errorf("SameKeys wrong")
	}
	if a.Len() != 2 || a.Key(0).ID != "current" || a.Key(1).ID != "previous" || !a.LoadedAt().Equal(at) {
		t.Errorf("accessors wrong: %v", a)
	}
	keys := a.Keys()
	keys[0].ID = "changed"
	if a.Key(0).ID != "current" {
		t.Errorf("Keys returned the internal slice")
	}
	var nilRing *keysource.Keyring
	if nilRing.Len() != 0 || nilRing.Generation() != 0 || nilRing.Keys() != nil {
		t.Errorf("nil keyring accessors")
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		out := fmt.Sprintf(format, a)
		if strings.Contains(out, "s1") || strings.Contains(out, "s2") || strings.Contains(out, "7331") || !strings.Contains(out, "current") {
			t.Errorf("%s: %s", format, out)
		}
	}
}

func TestStatic(t *testing.T) {
	src, err := keysource.Static(sec1, sec2, sec3)
	if err != nil {
		t.Fatal(err)
	}
	r := src.Keyring()
	if r.Len() != 3 || r.Key(0).ID != "static:current" || r.Key(1).ID != "static:previous" || r.Key(2).ID != "static:previous-2" {
		t.Fatalf("keyring %v", r)
	}
	if string(r.Key(1).Secret.Bytes()) != sec2 {
		t.Fatalf("order wrong")
	}
	if got := keysource.MustStatic(sec1, sec2, sec3).Keyring(); !got.SameKeys(r) {
		t.Fatalf("MustStatic keyring %v, want %v", got, r)
	}
}

// TestStaticValidates: a static source without usable secrets is an error
// (it used to be a source that made every request a 503), and MustStatic
// panics with that error.
func TestStaticValidates(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		want    error
	}{
		{"no secrets", nil, keysource.ErrNoKeys},
		{"empty current", []string{""}, keysource.ErrEmptySecret},
		{"empty previous", []string{sec1, ""}, keysource.ErrEmptySecret},
		{"short", []string{"a"}, keysource.ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := keysource.Static(tt.secrets...)
			if src != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Static(%q) = %v, %v; want nil, %v", tt.secrets, src, err, tt.want)
			}
			defer func() {
				r := recover()
				if perr, ok := r.(error); !ok || !errors.Is(perr, tt.want) {
					t.Fatalf("MustStatic(%q) panicked with %v, want an error wrapping %v", tt.secrets, r, tt.want)
				}
			}()
			keysource.MustStatic(tt.secrets...)
		})
	}
}

// TestKeyIDScheme: Static, Env and File name keys the same way,
// "<source>:<position>".
func TestKeyIDScheme(t *testing.T) {
	t.Setenv("POSSESSION_TEST_SECRET", sec1)
	t.Setenv("POSSESSION_TEST_SECRET_PREVIOUS", sec2)
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(sec1+"\n"+sec2+"\n"+sec3+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := keysource.Env("POSSESSION_TEST_SECRET")
	if err != nil {
		t.Fatal(err)
	}
	file, err := keysource.File(path, keysource.WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for name, tc := range map[string]struct {
		src  keysource.Source
		want []string
	}{
		"static": {keysource.MustStatic(sec1, sec2, sec3), []string{"static:current", "static:previous", "static:previous-2"}},
		"env":    {env, []string{"env:current", "env:previous"}},
		"file":   {file, []string{"file:current", "file:previous", "file:previous-2"}},
	} {
		var got []string
		for _, k := range tc.src.Keyring().Keys() {
			got = append(got, k.ID)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s key IDs %q, want %q", name, got, tc.want)
		}
	}
}

func TestEnv(t *testing.T) {
	t.Run("current and previous, trimmed", func(t *testing.T) {
		t.Setenv("POSSESSION_TEST_SECRET", "  "+sec1+"\n")
		t.Setenv("POSSESSION_TEST_SECRET_PREVIOUS", sec2+"\n")
		src, err := keysource.Env("POSSESSION_TEST_SECRET", keysource.WithClientID("app"))
		if err != nil {
			t.Fatal(err)
		}
		r := src.Keyring()
		if r.Len() != 2 || r.Key(0).ID != "env:current" || r.Key(1).ID != "env:previous" {
			t.Fatalf("keyring %v", r)
		}
		if string(r.Key(0).Secret.Bytes()) != sec1 || string(r.Key(1).Secret.Bytes()) != sec2 || r.Key(0).ClientID != "app" {
			t.Fatalf("keys not trimmed or client ID missing")
		}
	})
	t.Run("current only", func(t *testing.T) {
		t.Setenv("POSSESSION_TEST_SECRET", sec1)
		t.Setenv("POSSESSION_TEST_SECRET_PREVIOUS", " ")
		src, err := keysource.Env("POSSESSION_TEST_SECRET")
		if err != nil || src.Keyring().Len() != 1 {
			t.Fatalf("got %v, %v", src, err)
		}
	})
	t.Run("not set", func(t *testing.T) {
		_, err := keysource.Env("POSSESSION_TEST_UNSET_VARIABLE")
		if !errors.Is(err, keysource.ErrNotSet) || !strings.Contains(err.Error(), "POSSESSION_TEST_UNSET_VARIABLE") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		t.Setenv("POSSESSION_TEST_SECRET", " \n")
		_, err := keysource.Env("POSSESSION_TEST_SECRET")
		if !errors.Is(err, keysource.ErrEmptySecret) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("bad option", func(t *testing.T) {
		t.Setenv("POSSESSION_TEST_SECRET", sec1)
		if _, err := keysource.Env("POSSESSION_TEST_SECRET", keysource.WithUnknownSignerInterval(-1)); err == nil {
			t.Fatal("negative interval accepted")
		}
	})
}

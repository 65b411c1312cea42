package access

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
)

func TestNewRefusesBadConfiguration(t *testing.T) {
	src, _ := keysource.Static("client-secret-0123456789abcdef0123456789")
	short := rawKeys(t, "short")
	store := MemoryStore()
	for _, c := range []struct {
		name     string
		clientID string
		secret   keysource.Source
		store    Store
		opts     []Option
		want     string
	}{
		{"empty client id", "", src, store, nil, "empty client id"},
		{"nil secret", "id", nil, store, nil, "nil client secret source"},
		{"nil store", "id", src, nil, nil, "nil store"},
		{"secret source without keys", "id", noKeys{}, store, nil, "has no keys"},
		{"short secret as default encryption key", "id", short, store, nil, "too short"},
		{"short encryption key", "id", src, store, []Option{WithEncryptionKeys(short)}, "too short"},
		{"nil encryption source", "id", src, store, []Option{WithEncryptionKeys(nil)}, "nil encryption key source"},
		{"negative margin", "id", src, store, []Option{WithRefreshMargin(-time.Second)}, "negative refresh margin"},
		{"timeout not shorter than the lease", "id", src, store, []Option{WithLease(10 * time.Second), WithRequestTimeout(10 * time.Second)}, "shorter than the lease"},
		{"zero lease", "id", src, store, []Option{WithLease(0)}, "lease"},
		{"zero attempts", "id", src, store, []Option{WithMaxAttempts(0)}, "max attempts"},
		{"backoff max below base", "id", src, store, []Option{WithRetryBackoff(time.Second, time.Millisecond)}, "retry backoff"},
		{"negative cache size", "id", src, store, []Option{WithCacheSize(-1)}, "negative cache size"},
		{"negative cache ttl", "id", src, store, []Option{WithCacheTTL(-1)}, "negative cache ttl"},
		{"negative lock wait", "id", src, store, []Option{WithLockWait(-1)}, "negative lock wait"},
		{"negative failure backoff", "id", src, store, []Option{WithFailureBackoff(-1)}, "negative failure backoff"},
		{"nil http client", "id", src, store, []Option{WithHTTPClient(nil)}, "nil http client"},
		{"base url without scheme", "id", src, store, []Option{WithShopifyBaseURL("127.0.0.1:80")}, "base url"},
		{"base url with a query", "id", src, store, []Option{WithShopifyBaseURL("http://127.0.0.1:80/?x=1")}, "base url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := New(c.clientID, c.secret, c.store, c.opts...)
			if err == nil || m != nil {
				t.Fatalf("New accepted it")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "access: ") {
				t.Errorf("error %q, want it to mention %q", err, c.want)
			}
			if strings.Contains(err.Error(), "client-secret-0123") {
				t.Errorf("error %q carries the secret", err)
			}
		})
	}
	if _, err := New("id", src, store, nil, WithShopifyBaseURL("https://proxy.internal:8443/shopify/")); err != nil {
		t.Errorf("a valid configuration: %v", err)
	}
}

func TestRecordTimesAreMilliseconds(t *testing.T) {
	e := newEnv(t)
	e.clock.Advance(123456789 * time.Nanosecond)
	m := e.manager()
	s, id := e.session(testShop, "42")
	if _, err := m.Offline(ctx, s, id); err != nil {
		t.Fatal(err)
	}
	rec, err := e.store.Load(ctx, Key{Shop: testShop, Mode: Offline})
	if err != nil {
		t.Fatal(err)
	}
	for name, ts := range map[string]time.Time{"updated": rec.UpdatedAt, "access expiry": rec.AccessExpiresAt, "refresh expiry": rec.RefreshExpiresAt} {
		if ts.IsZero() || !ts.Equal(ts.Truncate(time.Millisecond)) || ts.Location() != time.UTC {
			t.Errorf("%s %v is not UTC milliseconds", name, ts)
		}
	}
	if rec.Version != 1 || rec.Scope == "" {
		t.Errorf("record %+v", rec)
	}
}

// noKeys is a source that has no usable keys yet.
type noKeys struct{}

func (noKeys) Keyring() *keysource.Keyring { return nil }

// rawSource serves secrets as given. keysource's own sources refuse
// secrets shorter than a Shopify client secret (keysource.MinSecretLen,
// 32 bytes); a custom source need not, so the Manager checks the length
// of the secrets it derives encryption keys from itself (at least 16
// bytes), and these tests reach that check through a source that does
// not check first.
type rawSource struct{ ring *keysource.Keyring }

func (s rawSource) Keyring() *keysource.Keyring { return s.ring }

func rawKeys(t testing.TB, secrets ...string) keysource.Source {
	t.Helper()
	keys := make([]keysource.Key, len(secrets))
	for i, secret := range secrets {
		keys[i] = keysource.Key{ID: fmt.Sprintf("raw:%d", i), Secret: keysource.NewSecret(secret)}
	}
	ring, err := keysource.NewKeyring(time.Time{}, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return rawSource{ring: ring}
}

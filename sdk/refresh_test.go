package sdk_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
)

// rotatingSource is a key source whose keys change outside the process:
// pending holds the keyring a refresh would find.
type rotatingSource struct {
	mu        sync.Mutex
	ring      *keysource.Keyring
	pending   *keysource.Keyring
	refreshes int
}

func (s *rotatingSource) Keyring() *keysource.Keyring {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ring
}

func (s *rotatingSource) RefreshUnknownSigner(context.Context) *keysource.Keyring {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshes++
	if s.pending != nil {
		s.ring, s.pending = s.pending, nil
	}
	return s.ring
}

func ring(t *testing.T, secrets ...string) *keysource.Keyring {
	t.Helper()
	keys := make([]keysource.Key, len(secrets))
	for i, s := range secrets {
		keys[i] = keysource.Key{ID: "k-" + s, Secret: keysource.NewSecret(s)}
	}
	r, err := keysource.NewKeyring(time.Time{}, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestUnknownSignerRefresh(t *testing.T) {
	src := &rotatingSource{ring: ring(t, testSecret)}
	v := newVerifier(t, src)

	// A token signed with a secret rotated in at the source verifies after
	// one refresh.
	src.pending = ring(t, "rotated-in", testSecret)
	m := minter()
	m.Secret = "rotated-in"
	tok := m.Admin()
	s, err := v.Verify(context.Background(), tok)
	checkResult(t, tok, s, err, nil)
	if s.KeyID != "k-rotated-in" || src.refreshes != 1 {
		t.Fatalf("KeyID %q after %d refreshes", s.KeyID, src.refreshes)
	}

	// A forged token asks for a refresh (the source rate-limits) and, with
	// nothing new, fails without a second attempt.
	m.Secret = "forged"
	tok = m.Admin()
	s, err = v.Verify(context.Background(), tok)
	checkResult(t, tok, s, err, sdk.ErrSignature)
	if src.refreshes != 2 {
		t.Fatalf("refreshes = %d, want 2", src.refreshes)
	}

	// A valid token never triggers a refresh.
	tok = minter().Admin()
	s, err = v.Verify(context.Background(), tok)
	checkResult(t, tok, s, err, nil)
	if src.refreshes != 2 {
		t.Fatalf("valid token refreshed the source")
	}
}

// TestKeyringChangeInvalidatesCache: a session cached under one keyring is
// not served once the source drops the key that signed it.
func TestKeyringChangeInvalidatesCache(t *testing.T) {
	src := &rotatingSource{ring: ring(t, testSecret, prevSecret)}
	v := newVerifier(t, src)
	m := minter()
	m.Secret = prevSecret
	tok := m.Admin()
	s, err := v.Verify(context.Background(), tok)
	checkResult(t, tok, s, err, nil)

	src.mu.Lock()
	src.ring = ring(t, testSecret) // the previous secret is retired
	src.mu.Unlock()
	s, err = v.Verify(context.Background(), tok)
	checkResult(t, tok, s, err, sdk.ErrSignature)
}

// TestNoKeysAsksTheSource: a source that started empty is asked once per
// well-formed token (it rate-limits), so the first request after its keys
// arrive succeeds; a malformed token never makes it refresh.
func TestNoKeysAsksTheSource(t *testing.T) {
	src := &rotatingSource{}
	v := newVerifier(t, src)
	tok := minter().Admin()
	s, err := v.Verify(context.Background(), tok)
	checkResult(t, tok, s, err, sdk.ErrNoKeys)
	if src.refreshes != 1 {
		t.Fatalf("refreshes = %d, want 1", src.refreshes)
	}
	s, err = v.Verify(context.Background(), "not-a-token")
	checkResult(t, "not-a-token", s, err, sdk.ErrMalformed)
	if src.refreshes != 1 {
		t.Fatalf("a malformed token refreshed the source")
	}
	src.pending = ring(t, testSecret)
	s, err = v.Verify(context.Background(), tok)
	checkResult(t, tok, s, err, nil)
	if src.refreshes != 2 || s.KeyID != "k-"+testSecret {
		t.Fatalf("refreshes = %d, KeyID %q", src.refreshes, s.KeyID)
	}
}

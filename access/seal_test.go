package access

import (
	"bytes"
	"crypto/rand"
	"errors"
	mathrand "math/rand/v2"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
)

const (
	encKeyA = "encryption-key-a-0123456789abcdef0123456789"
	encKeyB = "encryption-key-b-fedcba9876543210fedcba9876"
)

func newTestSealer(t testing.TB, secrets ...string) *sealer {
	t.Helper()
	src, err := keysource.Static(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSealer(src, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTripAndBinding(t *testing.T) {
	s := newTestSealer(t, encKeyA)
	shopA := Key{Shop: "a.myshopify.com", Mode: Offline}
	shopB := Key{Shop: "b.myshopify.com", Mode: Offline}
	userA1 := Key{Shop: "a.myshopify.com", Mode: Online, UserID: "1"}
	userA2 := Key{Shop: "a.myshopify.com", Mode: Online, UserID: "2"}
	// Shop and user fields that would run together without length
	// prefixes.
	tricky1 := Key{Shop: "a.myshopify.com", Mode: Online, UserID: "12"}
	tricky2 := Key{Shop: "a.myshopify.com1", Mode: Online, UserID: "2"}

	sealed, err := s.seal(shopA, fieldAccess, secretValue)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(secretValue)) || bytes.Contains(sealed, []byte(secretValue[6:])) {
		t.Fatal("the plaintext is visible in the ciphertext")
	}
	got, err := s.open(shopA, fieldAccess, sealed)
	if err != nil || got != secretValue {
		t.Fatalf("open: %q, %v", got, err)
	}
	again, _ := s.seal(shopA, fieldAccess, secretValue)
	if bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal (nonce reuse)")
	}

	for _, c := range []struct {
		name string
		key  Key
		f    field
	}{
		{"another shop", shopB, fieldAccess},
		{"the refresh field", shopA, fieldRefresh},
		{"an online record of the shop", Key{Shop: shopA.Shop, Mode: Online}, fieldAccess},
	} {
		t.Run("moved to "+c.name, func(t *testing.T) {
			_, err := s.open(c.key, c.f, sealed)
			mustErrIs(t, err, ErrDecrypt)
		})
	}
	u1, _ := s.seal(userA1, fieldAccess, secretValue)
	_, err = s.open(userA2, fieldAccess, u1)
	mustErrIs(t, err, ErrDecrypt)
	tr, _ := s.seal(tricky1, fieldAccess, secretValue)
	_, err = s.open(tricky2, fieldAccess, tr)
	mustErrIs(t, err, ErrDecrypt)

	// Every single-bit change of the ciphertext is detected.
	for i := range sealed {
		for bit := range 8 {
			c := bytes.Clone(sealed)
			c[i] ^= 1 << bit
			if _, err := s.open(shopA, fieldAccess, c); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("flipping bit %d of byte %d: %v", bit, i, err)
			}
		}
	}
	for _, short := range [][]byte{nil, {}, sealed[:sealOverhead-1], {sealVersion}} {
		_, err := s.open(shopA, fieldAccess, short)
		mustErrIs(t, err, ErrDecrypt)
	}
}

func TestSealRotation(t *testing.T) {
	key := Key{Shop: testShop, Mode: Offline}
	old := newTestSealer(t, encKeyA)
	oldRow, err := old.seal(key, fieldRefresh, "shprt_old")
	if err != nil {
		t.Fatal(err)
	}
	// B is added as the current key, A kept as previous: old rows open,
	// new writes use B. Keysource's IDs shift ("static:current" is now B),
	// the fingerprint in the header does not.
	rotating := newTestSealer(t, encKeyB, encKeyA)
	if got, err := rotating.open(key, fieldRefresh, oldRow); err != nil || got != "shprt_old" {
		t.Fatalf("previous key does not open an old row: %v", err)
	}
	newRow, err := rotating.seal(key, fieldRefresh, "shprt_new")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(newRow[1:1+fingerprintSize], oldRow[1:1+fingerprintSize]) {
		t.Error("a write during the rotation used the previous key")
	}
	// A removed: the new row opens, the old one fails with a clear error.
	done := newTestSealer(t, encKeyB)
	if got, err := done.open(key, fieldRefresh, newRow); err != nil || got != "shprt_new" {
		t.Fatalf("new row after the rotation: %v", err)
	}
	_, err = done.open(key, fieldRefresh, oldRow)
	mustErrIs(t, err, ErrDecrypt, errNoSealKey)
	// And the old sealer cannot read the new row.
	_, err = old.open(key, fieldRefresh, newRow)
	mustErrIs(t, err, ErrDecrypt)
}

func TestSealerRejectsShortSecrets(t *testing.T) {
	if _, err := newSealer(rawKeys(t, "too-short"), rand.Reader); err == nil {
		t.Error("a 9-byte secret was accepted as an encryption key")
	}
	// 16 bytes, the Manager's minimum, is enough for a custom source.
	if _, err := newSealer(rawKeys(t, "sixteen-byte-key"), rand.Reader); err != nil {
		t.Errorf("a 16-byte secret: %v", err)
	}
}

// TestStoreHoldsNoPlaintext runs a Manager through exchange and refresh
// and searches every stored byte for the tokens it handed out.
func TestStoreHoldsNoPlaintext(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	s, id := e.session(testShop, "42")
	var seen []string
	tok, err := m.Offline(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	seen = append(seen, tok.Value())
	on, err := m.Online(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	seen = append(seen, on.Value())
	e.clock.Advance(time.Hour)
	tok, err = m.OfflineFor(ctx, testShop)
	if err != nil {
		t.Fatal(err)
	}
	seen = append(seen, tok.Value())
	rec, err := e.store.Load(ctx, Key{Shop: testShop, Mode: Offline})
	if err != nil {
		t.Fatal(err)
	}
	onRec, err := e.store.Load(ctx, Key{Shop: testShop, Mode: Online, UserID: "42"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []Record{rec, onRec} {
		for _, b := range [][]byte{r.AccessToken, r.RefreshToken, []byte(r.Scope), []byte(r.Shop), []byte(r.UserID)} {
			for _, v := range seen {
				if bytes.Contains(b, []byte(v)) || bytes.Contains(b, []byte(v[6:])) {
					t.Fatalf("the store holds a plaintext token")
				}
			}
			if bytes.Contains(b, []byte("shprt_")) {
				t.Fatal("the store holds a plaintext refresh token")
			}
		}
	}
	if len(rec.RefreshToken) == 0 || len(onRec.RefreshToken) != 0 {
		t.Error("refresh token missing offline or present online")
	}
}

// TestManagerRotatesEncryptionKeysLazily: rows sealed under the old key
// are read during a rotation and re-sealed under the new key on their
// next write (here, the refresh).
func TestManagerRotatesEncryptionKeysLazily(t *testing.T) {
	e := newEnv(t)
	srcA, _ := keysource.Static(encKeyA)
	m1 := e.manager(WithEncryptionKeys(srcA))
	s, id := e.session(testShop, "42")
	first, err := m1.Offline(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	srcBA, _ := keysource.Static(encKeyB, encKeyA)
	m2 := e.manager(WithEncryptionKeys(srcBA))
	if got, err := m2.OfflineFor(ctx, testShop); err != nil || got.Value() != first.Value() {
		t.Fatalf("rotating manager cannot read the old row: %v", err)
	}
	e.clock.Advance(time.Hour)
	refreshed, err := m2.OfflineFor(ctx, testShop)
	if err != nil {
		t.Fatal(err)
	}
	srcB, _ := keysource.Static(encKeyB)
	m3 := e.manager(WithEncryptionKeys(srcB))
	if got, err := m3.OfflineFor(ctx, testShop); err != nil || got.Value() != refreshed.Value() {
		t.Fatalf("the refreshed row is not sealed with the new key: %v", err)
	}
	// A Manager with the wrong key says so, and asks Shopify nothing.
	wrong, _ := keysource.Static("some-other-key-0123456789abcdef0123")
	m4 := e.manager(WithEncryptionKeys(wrong))
	before := e.fake.GrantCounts()
	_, err = m4.OfflineFor(ctx, testShop)
	mustErrIs(t, err, ErrDecrypt)
	if e.fake.GrantCounts() != before {
		t.Error("an undecryptable row led to a request")
	}
}

func FuzzOpen(f *testing.F) {
	s := newTestSealer(f, encKeyA)
	// A deterministic nonce, so that the coordinator and every worker
	// process compute the same genuine ciphertext.
	s.rand = mathrand.NewChaCha8([32]byte{1})
	key := Key{Shop: testShop, Mode: Offline}
	good, _ := s.seal(key, fieldAccess, secretValue)
	f.Add(good, secretValue)
	f.Add([]byte{}, "")
	f.Add([]byte{1, 2, 3}, "x")
	f.Fuzz(func(t *testing.T, data []byte, plain string) {
		// Arbitrary bytes never open (and never panic) unless they are a
		// genuine ciphertext of this key and record.
		if got, err := s.open(key, fieldAccess, data); err == nil {
			if !bytes.Equal(data, good) || got != secretValue {
				t.Fatalf("forged ciphertext opened to %q (%x vs %x)", got, data, good)
			}
		} else if !errors.Is(err, ErrDecrypt) {
			t.Fatalf("error %v does not wrap ErrDecrypt", err)
		}
		// Whatever is sealed opens to itself, and only for its record.
		c, err := s.seal(key, fieldAccess, plain)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.open(key, fieldAccess, c); err != nil || got != plain {
			t.Fatalf("round trip of %q: %q, %v", plain, got, err)
		}
		if _, err := s.open(key, fieldRefresh, c); err == nil {
			t.Fatal("opened as another field")
		}
	})
}

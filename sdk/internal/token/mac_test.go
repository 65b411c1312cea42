package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"sync"
	"testing"
)

// refMAC is crypto/hmac's HMAC-SHA256.
func refMAC(secret, msg []byte) (sum [sha256.Size]byte) {
	m := hmac.New(sha256.New, secret)
	m.Write(msg)
	m.Sum(sum[:0])
	return sum
}

// checkHMAC is the property: Verify accepts crypto/hmac's MAC of msg and
// refuses it with a bit flipped (in the first byte, the last, and one the
// message's length picks: TestEqual32 flips every bit of the comparison;
// here a wrong state would change every byte of the sum), and a MAC of
// msg under another secret. (Flipping a bit of each of the 32 bytes made
// FuzzHMAC run about 700 inputs a second.)
func checkHMAC(t *testing.T, m *HMAC, secret []byte, msg string) {
	t.Helper()
	sum := refMAC(secret, []byte(msg))
	if !m.Verify(msg, &sum) {
		t.Fatalf("secret %q, message %q: crypto/hmac's MAC refused", secret, msg)
	}
	for _, i := range [...]int{0, len(sum) - 1, len(msg) % len(sum)} {
		bad := sum
		bad[i] ^= 1 << (i % 8)
		if m.Verify(msg, &bad) {
			t.Fatalf("secret %q, message %q: MAC with byte %d altered accepted", secret, msg, i)
		}
	}
	other := refMAC(append([]byte("other"), secret...), []byte(msg))
	if m.Verify(msg, &other) {
		t.Fatalf("secret %q, message %q: another secret's MAC accepted", secret, msg)
	}
}

// prefixed returns prefix (padded or cut to prefixLen bytes) followed by
// rest, so that messages built from one prefix share the remembered part.
func prefixed(prefix, rest string) string {
	p := (prefix + strings.Repeat("p", prefixLen))[:prefixLen]
	return p + rest
}

// FuzzHMAC: crypto/hmac decides, for any secret and messages that share
// the remembered prefix or not, in an order that remembers prefixes (each
// message twice) and then uses them: a remembered state must never accept
// a wrong MAC nor refuse a right one.
func FuzzHMAC(f *testing.F) {
	tok := signed(`{"alg":"HS256","typ":"JWT"}`, seedAdmin)
	in := tok[:len(tok)-SigLen-1]
	f.Add([]byte("secret"), in[:prefixLen], in[prefixLen:], in[prefixLen:len(in)-1])
	f.Add([]byte(""), "", strings.Repeat("x", 64), strings.Repeat("y", 65))
	f.Add(make([]byte, 200), string(make([]byte, 64)), string(make([]byte, 63)), "")
	f.Add([]byte(strings.Repeat("k", 64)), "a", strings.Repeat("b", 100), strings.Repeat("b", 101))
	f.Add([]byte(strings.Repeat("k", 65)), "a", "short", strings.Repeat("c", 300))
	f.Fuzz(func(t *testing.T, secret []byte, prefix, a, b string) {
		// One slot (every prefix collides), two, and the real table.
		for _, bits := range []uint{0, 1, prefixBits} {
			m := newHMAC(secret, bits)
			msgs := []string{prefixed(prefix, a), prefixed(prefix, b), prefixed(a, b), prefixed(b, a), prefix + a, a, b}
			for _, msg := range msgs {
				checkHMAC(t, m, secret, msg) // first sighting: the prefix is noted
				checkHMAC(t, m, secret, msg) // second: remembered (if long enough)
			}
			for i := range msgs {
				// From the remembered state, or after another prefix
				// took the slot.
				checkHMAC(t, m, secret, msgs[len(msgs)-1-i])
				checkHMAC(t, m, secret, msgs[i])
			}
		}
	})
}

// TestHMACRemembersOnlyVerifiedPrefixes: a prefix is remembered the second
// time a token with it verifies, never from forgeries, and tokens that
// then start from it still verify exactly as crypto/hmac says.
func TestHMACRemembersOnlyVerifiedPrefixes(t *testing.T) {
	secret := []byte("shpss_0123456789abcdef0123456789ab")
	m := NewHMAC(secret)
	a, b := prefixed("shop-a", strings.Repeat("a", 200)), prefixed("shop-a", strings.Repeat("b", 300))
	slot, _ := m.prefixes.slot(a[:prefixLen])
	forged := refMAC([]byte("another secret"), []byte(a))
	for range 10 {
		if m.Verify(a, &forged) {
			t.Fatal("forged MAC accepted")
		}
	}
	if slot.entry.Load() != nil || slot.seen.Load() != 0 {
		t.Fatal("a forged token touched the prefix table")
	}
	checkHMAC(t, m, secret, a)
	if slot.entry.Load() != nil {
		t.Fatal("prefix remembered after one verified token")
	}
	checkHMAC(t, m, secret, a)
	if slot.entry.Load() == nil {
		t.Fatal("prefix not remembered after two verified tokens")
	}
	checkHMAC(t, m, secret, b)
	if e := slot.entry.Load(); string(e.prefix[:]) != a[:prefixLen] {
		t.Fatal("slot holds another prefix")
	}
	// Another prefix in the same slot (a one-slot table) replaces it; each
	// verifies from its own state only.
	one := newHMAC(secret, 0)
	c := prefixed("shop-c", strings.Repeat("c", 250))
	for range 3 {
		for _, msg := range []string{a, a, c, c, b, a, c} {
			checkHMAC(t, one, secret, msg)
		}
	}
	// A message one block too short to use the prefix is hashed whole.
	short := a[:prefixLen+sha256.BlockSize-1]
	checkHMAC(t, m, secret, short)
	checkHMAC(t, m, secret, a[:prefixLen+sha256.BlockSize])
}

// TestHMACConcurrent: verifications from many goroutines, on messages that
// share prefixes and collide in slots, all agree with crypto/hmac (run
// with -race).
func TestHMACConcurrent(t *testing.T) {
	secret := []byte("shpss_concurrent_secret_0123456789")
	m := newHMAC(secret, 3) // 8 slots for 64 prefixes: collisions all the time
	var msgs []string
	var sums [][sha256.Size]byte
	for shop := range 64 {
		for user := range 4 {
			msg := prefixed("shop-"+strings.Repeat("x", shop), strings.Repeat("u", 64+user*17))
			msgs = append(msgs, msg)
			sums = append(sums, refMAC(secret, []byte(msg)))
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := (i*7 + g*13) % len(msgs)
				sum := sums[k]
				if !m.Verify(msgs[k], &sum) {
					t.Errorf("message %d refused", k)
					return
				}
				sum[i%32] ^= 1
				if m.Verify(msgs[k], &sum) {
					t.Errorf("message %d accepted with a wrong MAC", k)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestEqual32 against bytes.Equal, a difference at each byte and bit.
func TestEqual32(t *testing.T) {
	var a [sha256.Size]byte
	for i := range a {
		a[i] = byte(i * 7)
	}
	if b := a; !equal32(&a, &b) {
		t.Fatal("equal arrays differ")
	}
	for i := range a {
		for bit := range 8 {
			b := a
			b[i] ^= 1 << bit
			if equal32(&a, &b) {
				t.Fatalf("arrays differing at byte %d bit %d are equal", i, bit)
			}
		}
	}
}

// TestStateSize: crypto/sha256 marshals its state as prefixStates expects,
// or the HMAC would silently stop remembering.
func TestStateSize(t *testing.T) {
	if m := NewHMAC([]byte("k")); m.prefixes == nil || len(m.ipad) != stateSize {
		t.Fatalf("marshaled SHA-256 state is %d bytes, want %d", len(m.ipad), stateSize)
	}
}

// BenchmarkHMAC: a token's signature check, starting from the remembered
// state of its shop's prefix (remembered=yes) or from the key's pad
// (remembered=no: the prefix table disabled), and crypto/hmac.
func BenchmarkHMAC(b *testing.B) {
	tok := signed(`{"alg":"HS256","typ":"JWT"}`, seedAdmin)
	in := tok[:len(tok)-SigLen-1]
	sum := refMAC([]byte("secret"), []byte(in))
	for _, remembered := range []bool{true, false} {
		name := "remembered=yes"
		m := NewHMAC([]byte("secret"))
		if !remembered {
			name, m.prefixes = "remembered=no", nil
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if !m.Verify(in, &sum) {
					b.Fatal("refused")
				}
			}
		})
	}
	b.Run("crypto-hmac", func(b *testing.B) {
		h := hmac.New(sha256.New, []byte("secret"))
		var out [sha256.Size]byte
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			h.Reset()
			h.Write([]byte(in))
			if !hmac.Equal(h.Sum(out[:0]), sum[:]) {
				b.Fatal("refused")
			}
		}
	})
}

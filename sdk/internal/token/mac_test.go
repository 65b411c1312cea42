package token

import (
	"crypto/hmac"
	"crypto/sha256"
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
// refuses it with any one bit flipped.
func checkHMAC(t *testing.T, m *HMAC, secret []byte, msg string) {
	t.Helper()
	sum := refMAC(secret, []byte(msg))
	if !m.Verify(msg, &sum) {
		t.Fatalf("secret %q, message %q: crypto/hmac's MAC refused", secret, msg)
	}
	for i := range sum {
		bad := sum
		bad[i] ^= 1 << (i % 8)
		if m.Verify(msg, &bad) {
			t.Fatalf("secret %q, message %q: MAC with byte %d altered accepted", secret, msg, i)
		}
	}
}

func FuzzHMAC(f *testing.F) {
	tok := signed(`{"alg":"HS256","typ":"JWT"}`, seedAdmin)
	f.Add([]byte("secret"), tok[:len(tok)-SigLen-1], tok[:100])
	f.Add([]byte(""), "", "x")
	f.Add(make([]byte, 200), string(make([]byte, 64)), string(make([]byte, 65)))
	f.Fuzz(func(t *testing.T, secret []byte, a, b string) {
		m := NewHMAC(secret)
		// Several messages through one HMAC, in turn: state must not leak
		// from one check to the next.
		for _, msg := range []string{a, b, a, a + b, b} {
			checkHMAC(t, m, secret, msg)
		}
	})
}

func BenchmarkHMAC(b *testing.B) {
	tok := signed(`{"alg":"HS256","typ":"JWT"}`, seedAdmin)
	in := tok[:len(tok)-SigLen-1]
	sum := refMAC([]byte("secret"), []byte(in))
	m := NewHMAC([]byte("secret"))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if !m.Verify(in, &sum) {
			b.Fatal("refused")
		}
	}
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

package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
	"unsafe"
)

// HMAC checks HS256 signatures under one secret. It keeps a pool of
// pre-keyed HMAC-SHA256 states, so that a check neither derives the HMAC
// pads (hmac.New) nor allocates: a pooled state is Reset to its keyed
// state and reused. It holds the secret (inside those states): treat it
// as the secret itself.
type HMAC struct {
	pool sync.Pool // of *macState
}

type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// NewHMAC returns an HMAC for secret, which it keeps (not a copy).
func NewHMAC(secret []byte) *HMAC {
	m := &HMAC{}
	m.pool.New = func() any { return &macState{h: hmac.New(sha256.New, secret)} }
	return m
}

// Verify reports, in constant time, whether sig is the HMAC-SHA256 of
// signingInput.
func (m *HMAC) Verify(signingInput string, sig *[sha256.Size]byte) bool {
	// The hash only reads its input; viewing the token's bytes in place
	// avoids copying the signing input on every call.
	in := unsafe.Slice(unsafe.StringData(signingInput), len(signingInput))
	st := m.pool.Get().(*macState)
	st.h.Reset()
	st.h.Write(in)
	st.h.Sum(st.sum[:0])
	ok := equal32(&st.sum, sig)
	m.pool.Put(st)
	return ok
}

// equal32 reports whether a and b are equal, in constant time: four
// 8-byte words XOR-ed and OR-ed together, one test at the end
// (hmac.Equal's byte loop costs as much as a quarter of a SHA-256 block).
func equal32(a, b *[sha256.Size]byte) bool {
	var d uint64
	for i := 0; i < len(a); i += 8 {
		d |= binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:])
	}
	return d == 0
}

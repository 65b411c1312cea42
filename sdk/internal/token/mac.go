package token

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"unsafe"
)

// HMAC checks HS256 signatures under one secret. It is HMAC-SHA256 (RFC
// 2104) composed on crypto/sha256's marshalable states, as crypto/hmac
// composes it, so that it can also start from a remembered state: the
// tokens of one shop share their first 192 bytes (the header, iss, dest
// and aud), and the inner hash's state after them is kept (prefixStates),
// so that the next token of that shop hashes three blocks fewer; with it,
// what the prefix's payload characters decode to, which Parse copies
// rather than decoding them again. Checks neither derive the pads nor
// allocate: pooled states are reset from the pads' marshaled states.
//
// An HMAC holds material equivalent to the secret (the pads' states, and
// states derived from them): treat it as the secret itself. FuzzHMAC holds
// it to crypto/hmac, remembered states included; FuzzParse holds Parse's
// payload from remembered bytes to encoding/base64's.
type HMAC struct {
	ipad, opad []byte // marshaled SHA-256 states after the key's inner and outer pad blocks
	pool       sync.Pool
	prefixes   *prefixStates // nil where SHA-256 states do not marshal as expected
}

type macState struct {
	inner, outer   hash.Hash
	innerU, outerU encoding.BinaryUnmarshaler
	innerA         encoding.BinaryAppender
	sum            [sha256.Size]byte
	saved          [stateSize]byte
}

// NewHMAC returns an HMAC for secret.
func NewHMAC(secret []byte) *HMAC { return newHMAC(secret, prefixBits) }

// newHMAC is NewHMAC with a table of 1<<bits prefix slots (tests use few,
// so that prefixes collide).
func newHMAC(secret []byte, bits uint) *HMAC {
	m := &HMAC{}
	m.ipad, m.opad = pads(secret)
	m.pool.New = func() any {
		st := &macState{inner: sha256.New(), outer: sha256.New()}
		st.innerU = st.inner.(encoding.BinaryUnmarshaler)
		st.outerU = st.outer.(encoding.BinaryUnmarshaler)
		st.innerA = st.inner.(encoding.BinaryAppender)
		return st
	}
	if len(m.ipad) == stateSize {
		m.prefixes = &prefixStates{seed: maphash.MakeSeed(), bits: bits, slots: make([]prefixSlot, 1<<bits)}
	}
	return m
}

// pads returns the marshaled SHA-256 states after the inner (0x36) and
// outer (0x5c) pad blocks of key, as RFC 2104 defines them.
func pads(key []byte) (ipad, opad []byte) {
	if len(key) > sha256.BlockSize {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	var block [sha256.BlockSize]byte
	state := func(pad byte) []byte {
		for i := range block {
			block[i] = pad
		}
		for i, b := range key {
			block[i] ^= b
		}
		h := sha256.New()
		h.Write(block[:])
		s, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			panic("token: crypto/sha256 cannot marshal its state: " + err.Error())
		}
		return s
	}
	ipad, opad = state(0x36), state(0x5c)
	clear(block[:])
	return ipad, opad
}

// Verify reports, in constant time, whether sig is the HMAC-SHA256 of
// signingInput.
func (m *HMAC) Verify(signingInput string, sig *[sha256.Size]byte) bool {
	return m.verify(signingInput, sig, m.lookup(signingInput), nil)
}

// VerifyToken is Verify of t's signature. For a token Parse took apart
// with m, it reuses the prefix state Parse looked up and, remembering a
// prefix, remembers its decoded payload bytes too.
func (m *HMAC) VerifyToken(t *Token) bool {
	if t.parsedBy != m {
		return m.Verify(t.SigningInput, &t.Sig)
	}
	var decoded []byte
	if t.standard {
		decoded = t.Payload
	}
	return m.verify(t.SigningInput, &t.Sig, t.prefix, decoded)
}

// prefixRef is a signing input's prefix slot (nil where the input is too
// short to remember) and, if the slot remembers this very prefix, its
// entry.
type prefixRef struct {
	slot   *prefixSlot
	hashed uint64
	entry  *prefixEntry
}

// lookup finds signingInput's prefix slot and remembered entry.
func (m *HMAC) lookup(signingInput string) prefixRef {
	if m.prefixes == nil || len(signingInput) < prefixLen+sha256.BlockSize {
		return prefixRef{}
	}
	var r prefixRef
	r.slot, r.hashed = m.prefixes.slot(signingInput[:prefixLen])
	if e := r.slot.entry.Load(); e != nil && string(e.prefix[:]) == signingInput[:prefixLen] {
		r.entry = e
	}
	return r
}

// verify is Verify with signingInput's prefix looked up. decoded, when
// not nil, is the payload of a token with the standard header, whose
// first decodedPrefixLen bytes are remembered with the prefix's state.
func (m *HMAC) verify(signingInput string, sig *[sha256.Size]byte, pre prefixRef, decoded []byte) bool {
	// The hash only reads its input; viewing the token's bytes in place
	// avoids copying the signing input on every call.
	in := unsafe.Slice(unsafe.StringData(signingInput), len(signingInput))
	st := m.pool.Get().(*macState)

	// Inner hash, from the state after the prefix when it is remembered.
	slot := pre.slot
	remembered := pre.entry != nil && st.innerU.UnmarshalBinary(pre.entry.state[:]) == nil
	if remembered {
		st.inner.Write(in[prefixLen:])
	} else if st.innerU.UnmarshalBinary(m.ipad) != nil {
		m.pool.Put(st)
		return false
	} else if slot != nil {
		st.inner.Write(in[:prefixLen])
		saved, _ := st.innerA.AppendBinary(st.saved[:0])
		if len(saved) != stateSize {
			slot = nil
		}
		st.inner.Write(in[prefixLen:])
	} else {
		st.inner.Write(in)
	}
	st.inner.Sum(st.sum[:0])

	// Outer hash.
	if st.outerU.UnmarshalBinary(m.opad) != nil {
		m.pool.Put(st)
		return false
	}
	st.outer.Write(st.sum[:])
	st.outer.Sum(st.sum[:0])
	ok := equal32(&st.sum, sig)

	// Remember the prefix's state only for a token that verified (a flood
	// of forgeries changes nothing), and only the second time a prefix is
	// seen here (tokens of shops seen once cost no allocation).
	if ok && !remembered && slot != nil {
		m.prefixes.remember(slot, pre.hashed, signingInput[:prefixLen], &st.saved, decoded)
	}
	m.pool.Put(st)
	return ok
}

// Remembered returns the number of prefix states m holds (for tests).
func (m *HMAC) Remembered() int {
	n := 0
	if m.prefixes != nil {
		for i := range m.prefixes.slots {
			if m.prefixes.slots[i].entry.Load() != nil {
				n++
			}
		}
	}
	return n
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

const (
	// prefixLen is the length of the signing-input prefix whose inner
	// state is remembered: three SHA-256 blocks, the header and, in
	// Shopify's claim order, iss, dest and the start of aud: what the
	// tokens of one shop (and app) share, and no user's claim.
	prefixLen = 3 * sha256.BlockSize
	// prefixBits sets the number of slots per key, 4,096: at most as
	// many remembered states of 416 bytes (1.7 MB) besides the 64
	// KiB table.
	prefixBits = 12
	// stateSize is the length of a marshaled SHA-256 state (crypto/sha256:
	// magic, 8 words, a block buffer, the length).
	stateSize = 4 + 8*4 + sha256.BlockSize + 8
)

// prefixStates remembers the inner hash's state after the prefixes of
// verified tokens, in a direct-mapped table: a prefix's slot is a keyed
// hash of it, a new entry replaces the slot's, lookups take no lock.
type prefixStates struct {
	seed  maphash.Seed
	bits  uint
	slots []prefixSlot // 1<<bits
}

type prefixSlot struct {
	// seen is the hash of the last prefix that verified here without
	// being remembered (0: none).
	seen  atomic.Uint64
	entry atomic.Pointer[prefixEntry]
}

// prefixEntry is immutable once published.
type prefixEntry struct {
	prefix [prefixLen]byte
	state  [stateSize]byte
	// decoded, where hasDecoded, is what the payload's first
	// decodedPrefixChars characters decode to: a prefix that starts with
	// the standard header holds them (Parse copies instead of decoding).
	hasDecoded bool
	decoded    [decodedPrefixLen]byte
}

const (
	// decodedPrefixChars is the part of the payload segment within the
	// prefix after the standard header and its dot, in whole 4-character
	// groups: 152 characters (28% of a Shopify token's payload).
	decodedPrefixChars = (prefixLen - len(headerHS256JWT) - 1) / 4 * 4
	decodedPrefixLen   = decodedPrefixChars / 4 * 3
)

// slotKey is the part of a prefix its slot is chosen by: 64 bytes after
// the standard header, which in Shopify's claim order hold iss's host, the
// shop. Prefixes equal there share a slot (and take it from each other);
// a prefix is compared whole before its state is used. Hashing 64 bytes
// rather than 192 saves 100 instructions a token.
const slotKeyFrom, slotKeyLen = len(headerHS256JWT) + 1, 64

// slot returns prefix's slot (by the hash's top bits) and its hash (never
// 0, the empty seen).
func (p *prefixStates) slot(prefix string) (*prefixSlot, uint64) {
	h := maphash.String(p.seed, prefix[slotKeyFrom:slotKeyFrom+slotKeyLen])
	return &p.slots[h>>(64-p.bits)&(1<<p.bits-1)], h | 1
}

// remember stores state as prefix's the second time prefix verifies in
// its slot; the first time, it only notes the prefix's hash. decoded,
// when not nil, is the payload of a token with the standard header.
func (p *prefixStates) remember(s *prefixSlot, hashed uint64, prefix string, state *[stateSize]byte, decoded []byte) {
	if s.seen.Swap(hashed) != hashed {
		return
	}
	e := &prefixEntry{state: *state}
	copy(e.prefix[:], prefix)
	if len(decoded) >= decodedPrefixLen {
		e.hasDecoded = true
		copy(e.decoded[:], decoded)
	}
	s.entry.Store(e)
}

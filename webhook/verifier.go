package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/possession-dev/possession/keysource"
)

// Verifier checks what Shopify sends an app's backend: webhook deliveries
// (Verify, Middleware), app proxy requests (VerifyAppProxy, AppProxy) and
// OAuth callbacks (VerifyOAuthCallback). All three are signed with the
// app's client secret, which the key source serves; during a rotation the
// source's previous secrets are tried after the current one. A Verifier
// is safe for concurrent use.
type Verifier struct {
	src  keysource.Source
	cfg  config
	macs atomic.Pointer[macSet]
	tel  *telemetry
}

// New returns a Verifier for the client secret(s) src serves, in the
// source's keyring order (current first, then previous secrets).
func New(secret keysource.Source, opts ...Option) (*Verifier, error) {
	if secret == nil {
		return nil, errors.New("webhook: nil key source: pass the app's client secret, e.g. keysource.Static(secret)")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	v := &Verifier{src: secret, cfg: cfg}
	if v.tel, err = newTelemetry(&cfg); err != nil {
		return nil, err
	}
	return v, nil
}

// Verify checks one webhook delivery: header is the request's header,
// body its raw body, read whole. It returns the delivery, or an error
// wrapping ErrEmptyBody, ErrHeader (the HMAC header, or after a valid
// HMAC the topic, shop, API version, webhook ID or, in the events family,
// event ID header is missing or repeated), ErrSignature, ErrNoKeys or,
// with WithMaxAge and StaleDrop, ErrStale.
//
// Header names are looked up as net/http canonicalises them; when the
// HMAC header or a required one is not found so (a header built by hand
// or by an adapter), every spelling is matched, ignoring ASCII case.
//
// The HMAC header must be exactly the standard, padded base64 of
// HMAC-SHA256(secret, body), as Shopify sends it; it is compared in
// constant time. Verify allocates nothing.
func (v *Verifier) Verify(header http.Header, body []byte) (Delivery, error) {
	var d Delivery
	if err := v.verify(header, body, &d); err != nil {
		return Delivery{}, err
	}
	return d, nil
}

// verify is Verify into d, which it fills with ErrStale too (for the
// middleware's error hook).
func (v *Verifier) verify(header http.Header, body []byte, d *Delivery) error {
	if len(body) == 0 {
		return fmt.Errorf("%w: Shopify signs a non-empty body", ErrEmptyBody)
	}
	var hs shopifyHeaders
	hs.read(header)
	fam := hs.fam
	mac, n := hs.get(hdrHMAC)
	if mac == "" {
		return fmt.Errorf("%w: missing %s", ErrHeader, headerName(fam, hdrHMAC))
	}
	if n > 1 {
		return fmt.Errorf("%w: %d %s headers", ErrSignature, n, headerName(fam, hdrHMAC))
	}
	set, err := v.macSet()
	if err != nil {
		return err
	}
	i := set.matchBase64(body, mac)
	if i < 0 {
		return fmt.Errorf("%w: %s does not match the body", ErrSignature, headerName(fam, hdrHMAC))
	}

	if !hs.complete() {
		var p headerProblem
		for _, i := range requiredHeaders[fam-1][1:] {
			p.required(&hs, i)
		}
		return fmt.Errorf("%w: %s", ErrHeader, p.String())
	}
	d.Family = fam
	d.Topic = hs.first[hdrTopic][0]
	d.Shop = hs.first[hdrShop][0]
	d.APIVersion = hs.first[hdrAPIVersion][0]
	d.WebhookID = hs.first[hdrWebhookID][0]
	d.EventID, _ = hs.get(hdrEventID)
	d.KeyID = set.keys[i].id
	d.Body = body
	d.Header = header
	triggered, _ := hs.get(hdrTriggeredAt)
	d.TriggeredAt = parseTriggeredAt(triggered)
	if v.cfg.stale != 0 && !d.TriggeredAt.IsZero() {
		if age := v.cfg.now().Sub(d.TriggeredAt); age > v.cfg.maxAge {
			if v.cfg.stale == StaleDrop {
				return fmt.Errorf("%w: triggered %v ago, more than %v", ErrStale, age.Round(1e6), v.cfg.maxAge)
			}
			d.Stale = true
		}
	}
	return nil
}

// macSet returns the pre-keyed HMAC states for the source's current
// keyring, building them when the keyring changed.
func (v *Verifier) macSet() (*macSet, error) {
	ring := v.src.Keyring()
	if ring.Len() == 0 {
		return nil, fmt.Errorf("%w: the key source has no client secret", ErrNoKeys)
	}
	if m := v.macs.Load(); m != nil && m.ring == ring {
		return m, nil
	}
	m := newMacSet(ring)
	v.macs.Store(m)
	return m, nil
}

// macSet holds, for one keyring, a pool of pre-keyed HMAC-SHA256 states
// per key, so that verifying neither derives the HMAC pads (hmac.New) nor
// allocates: a pooled state is Reset to its keyed state and reused.
type macSet struct {
	ring *keysource.Keyring
	keys []macKey
}

type macKey struct {
	id   string
	pool sync.Pool // of *macState
}

type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
	enc [2 * sha256.Size]byte // base64 (44 bytes) or hex (64 bytes)
}

func newMacSet(ring *keysource.Keyring) *macSet {
	m := &macSet{ring: ring, keys: make([]macKey, ring.Len())}
	for i := range m.keys {
		k := ring.Key(i)
		secret := k.Secret.Bytes()
		m.keys[i].id = k.ID
		m.keys[i].pool.New = func() any {
			return &macState{h: hmac.New(sha256.New, secret)}
		}
	}
	return m
}

// matchBase64 returns the index of the first key (in preference order)
// whose HMAC of data, in padded standard base64, is mac; -1 if none. mac
// is decoded once (only the canonical encoding of 32 bytes is accepted:
// 43 base64 characters, the last carrying no stray bits, and "=") and
// compared with each key's HMAC in constant time.
func (m *macSet) matchBase64(data []byte, mac string) int {
	var want [sha256.Size]byte
	if !decodeMAC(&want, mac) {
		return -1
	}
	for i := range m.keys {
		st := m.keys[i].pool.Get().(*macState)
		st.h.Reset()
		st.h.Write(data)
		ok := hmac.Equal(st.h.Sum(st.sum[:0]), want[:])
		m.keys[i].pool.Put(st)
		if ok {
			return i
		}
	}
	return -1
}

// base64Decode maps a standard base64 character to its 6 bits, and every
// other byte to 0xff.
var base64Decode = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = byte(i)
	}
	return t
}()

// decodeMAC decodes the padded standard base64 of a 32-byte MAC, as
// base64.StdEncoding.Strict() does for a 44-character input without
// line breaks (a test holds the two equal), without its general loop.
func decodeMAC(out *[sha256.Size]byte, s string) bool {
	if len(s) != 44 || s[43] != '=' {
		return false
	}
	var bad byte
	for i, j := 0, 0; i < 40; i, j = i+4, j+3 {
		a, b, c, d := base64Decode[s[i]], base64Decode[s[i+1]], base64Decode[s[i+2]], base64Decode[s[i+3]]
		bad |= a | b | c | d
		v := uint(a)<<18 | uint(b)<<12 | uint(c)<<6 | uint(d)
		out[j], out[j+1], out[j+2] = byte(v>>16), byte(v>>8), byte(v)
	}
	a, b, c := base64Decode[s[40]], base64Decode[s[41]], base64Decode[s[42]]
	bad |= a | b | c
	v := uint(a)<<18 | uint(b)<<12 | uint(c)<<6
	out[30], out[31] = byte(v>>16), byte(v>>8)
	// 0xff marks a byte outside the alphabet (its top bits are set); the
	// last character's two low bits fall outside the 32 bytes and must be
	// zero, as in the canonical encoding.
	return bad&0xc0 == 0 && c&3 == 0
}

// matchHex is matchBase64 for a lower-case hex HMAC.
func (m *macSet) matchHex(data []byte, mac string) int {
	for i := range m.keys {
		st := m.keys[i].pool.Get().(*macState)
		st.h.Reset()
		st.h.Write(data)
		hex.Encode(st.enc[:], st.h.Sum(st.sum[:0]))
		ok := equalString(st.enc[:], mac)
		m.keys[i].pool.Put(st)
		if ok {
			return i
		}
	}
	return -1
}

// equalString compares want with got in time that depends only on their
// lengths (which are not secret: every valid MAC has the same length).
func equalString(want []byte, got string) bool {
	if len(want) != len(got) {
		return false
	}
	var v byte
	for i := range want {
		v |= want[i] ^ got[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

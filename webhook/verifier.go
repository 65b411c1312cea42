package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
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
		return nil, errors.New("webhook: nil key source: pass the app's client secret, e.g. keysource.NewStatic(secret)")
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

// base64MACLen is the length of a padded base64 HMAC-SHA256.
var base64MACLen = base64.StdEncoding.EncodedLen(sha256.Size)

// matchBase64 returns the index of the first key (in preference order)
// whose HMAC of data, in padded standard base64, equals mac; -1 if none.
func (m *macSet) matchBase64(data []byte, mac string) int {
	for i := range m.keys {
		st := m.keys[i].pool.Get().(*macState)
		st.h.Reset()
		st.h.Write(data)
		encodeMAC(&st.enc, st.h.Sum(st.sum[:0]))
		ok := equalString(st.enc[:base64MACLen], mac)
		m.keys[i].pool.Put(st)
		if ok {
			return i
		}
	}
	return -1
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// encodeMAC writes the padded standard base64 of a 32-byte MAC into
// enc[:44]: base64.StdEncoding.Encode for this one size, without its
// general loop (a test holds the two equal).
func encodeMAC(enc *[2 * sha256.Size]byte, sum []byte) {
	_ = sum[31]
	for i, j := 0, 0; i < 30; i, j = i+3, j+4 {
		v := uint(sum[i])<<16 | uint(sum[i+1])<<8 | uint(sum[i+2])
		enc[j] = base64Alphabet[v>>18&63]
		enc[j+1] = base64Alphabet[v>>12&63]
		enc[j+2] = base64Alphabet[v>>6&63]
		enc[j+3] = base64Alphabet[v&63]
	}
	v := uint(sum[30])<<16 | uint(sum[31])<<8
	enc[40] = base64Alphabet[v>>18&63]
	enc[41] = base64Alphabet[v>>12&63]
	enc[42] = base64Alphabet[v>>6&63]
	enc[43] = '='
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

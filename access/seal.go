package access

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/possession-dev/possession/keysource"
)

// Encryption at rest.
//
// Every token a store holds is sealed with AES-256-GCM under a key
// derived with HKDF-SHA256 from a keysource secret (the encryption key
// source, by default the app's client secret source). The sealed form is
//
//	version (1 byte, 1) | key fingerprint (8 bytes) | nonce (12) | ciphertext | tag (16)
//
// The fingerprint names the derived key without revealing anything about
// it (a second HKDF output of the same secret): it, not the keysource key
// ID, identifies the key, because a source's IDs follow positions
// (keysource.Static's "static:current" becomes "static:previous" when a new
// key is added), while the fingerprint stays with the secret. Decryption
// picks the key by fingerprint, so previous keys still open old rows
// during a rotation, and every write seals with the current key (rows are
// re-encrypted lazily, on their next write).
//
// The associated data binds a ciphertext to its place: the header, the
// record's shop, mode and user ID, and which field it is (access or
// refresh token), each length-prefixed. A ciphertext copied into another
// shop's record, another user's, or from the refresh field into the
// access field fails to open.

const (
	sealVersion     = 1
	fingerprintSize = 8
	nonceSize       = 12
	sealHeaderSize  = 1 + fingerprintSize + nonceSize
	sealOverhead    = sealHeaderSize + 16

	hkdfInfoKey         = "possession/access token encryption v1"
	hkdfInfoFingerprint = "possession/access key fingerprint v1"

	// minEncryptionSecret is the shortest secret the Manager derives an
	// encryption key from.
	minEncryptionSecret = 16
)

// field names which token of a record a ciphertext holds.
type field byte

const (
	fieldAccess  field = 'a'
	fieldRefresh field = 'r'
)

// derivedKey is one AES-256-GCM key derived from a keysource secret.
type derivedKey struct {
	fingerprint [fingerprintSize]byte
	aead        cipher.AEAD
}

// keyset is the derived keys of one keyring generation, current first.
type keyset struct {
	generation uint64
	keys       []derivedKey
}

// sealer seals and opens record fields with keys derived from src. It
// re-derives only when the source publishes a new keyring generation.
type sealer struct {
	src     keysource.Source
	current atomic.Pointer[keyset]
	rand    io.Reader
}

func newSealer(src keysource.Source, random io.Reader) (*sealer, error) {
	s := &sealer{src: src, rand: random}
	if _, err := s.keys(); err != nil {
		return nil, err
	}
	return s, nil
}

// keys returns the derived keys of the source's current keyring.
func (s *sealer) keys() (*keyset, error) {
	ring := s.src.Keyring()
	if ring.Len() == 0 {
		return nil, fmt.Errorf("%w: the encryption key source has no keys", ErrDecrypt)
	}
	if ks := s.current.Load(); ks != nil && ks.generation == ring.Generation() {
		return ks, nil
	}
	ks := &keyset{generation: ring.Generation(), keys: make([]derivedKey, 0, ring.Len())}
	for i := range ring.Len() {
		k := ring.Key(i)
		secret := k.Secret.Bytes()
		dk, err := deriveKey(secret)
		clear(secret)
		if err != nil {
			return nil, fmt.Errorf("access: encryption key %q: %w", k.ID, err)
		}
		ks.keys = append(ks.keys, dk)
	}
	s.current.Store(ks)
	return ks, nil
}

func deriveKey(secret []byte) (derivedKey, error) {
	if len(secret) < minEncryptionSecret {
		return derivedKey{}, fmt.Errorf("secret of %d bytes is too short to derive an encryption key from (want at least %d)", len(secret), minEncryptionSecret)
	}
	key, err := hkdf.Key(sha256.New, secret, nil, hkdfInfoKey, 32)
	if err != nil {
		return derivedKey{}, err
	}
	fp, err := hkdf.Key(sha256.New, secret, nil, hkdfInfoFingerprint, fingerprintSize)
	if err != nil {
		return derivedKey{}, err
	}
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return derivedKey{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return derivedKey{}, err
	}
	var dk derivedKey
	copy(dk.fingerprint[:], fp)
	dk.aead = aead
	return dk, nil
}

// associatedData binds a ciphertext to its header, its record and field.
func associatedData(header []byte, k Key, f field) []byte {
	ad := make([]byte, 0, len(header)+len(k.Shop)+len(k.UserID)+32)
	ad = append(ad, "possession.access"...)
	ad = append(ad, header...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(k.Shop)))
	ad = append(ad, k.Shop...)
	ad = append(ad, byte(k.Mode))
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(k.UserID)))
	ad = append(ad, k.UserID...)
	ad = append(ad, byte(f))
	return ad
}

// seal encrypts plaintext for field f of the record k with the current key.
func (s *sealer) seal(k Key, f field, plaintext string) ([]byte, error) {
	ks, err := s.keys()
	if err != nil {
		return nil, err
	}
	dk := &ks.keys[0]
	out := make([]byte, sealHeaderSize, sealOverhead+len(plaintext))
	out[0] = sealVersion
	copy(out[1:], dk.fingerprint[:])
	if _, err := io.ReadFull(s.rand, out[1+fingerprintSize:sealHeaderSize]); err != nil {
		return nil, fmt.Errorf("access: read nonce: %w", err)
	}
	ad := associatedData(out[:1+fingerprintSize], k, f)
	return dk.aead.Seal(out, out[1+fingerprintSize:sealHeaderSize], []byte(plaintext), ad), nil
}

// errNoSealKey is open's error when no key of the source has the
// ciphertext's fingerprint.
var errNoSealKey = errors.New("no key of the encryption key source sealed it (rotated out?)")

// open decrypts field f of record k.
func (s *sealer) open(k Key, f field, sealed []byte) (string, error) {
	if len(sealed) < sealOverhead || sealed[0] != sealVersion {
		return "", fmt.Errorf("%w: %s token of %s: not a sealed token", ErrDecrypt, fieldName(f), k)
	}
	ks, err := s.keys()
	if err != nil {
		return "", err
	}
	fp := sealed[1 : 1+fingerprintSize]
	for i := range ks.keys {
		dk := &ks.keys[i]
		if subtle.ConstantTimeCompare(dk.fingerprint[:], fp) != 1 {
			continue
		}
		ad := associatedData(sealed[:1+fingerprintSize], k, f)
		pt, err := dk.aead.Open(nil, sealed[1+fingerprintSize:sealHeaderSize], sealed[sealHeaderSize:], ad)
		if err != nil {
			return "", fmt.Errorf("%w: %s token of %s: authentication failed (altered, or moved from another record or field)", ErrDecrypt, fieldName(f), k)
		}
		return string(pt), nil
	}
	return "", fmt.Errorf("%w: %s token of %s: %w", ErrDecrypt, fieldName(f), k, errNoSealKey)
}

func fieldName(f field) string {
	if f == fieldRefresh {
		return "refresh"
	}
	return "access"
}

package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/possession-dev/possession/keysource"
)

// MaxTokenSize is the longest token Verify decodes by default
// (WithMaxTokenSize changes it). Real session tokens are well under 1 KiB;
// anything longer is rejected before any decoding.
const MaxTokenSize = 4096

// maxSegment bounds a decoded header, and the payload of a token of at
// most MaxTokenSize bytes.
const maxSegment = MaxTokenSize * 3 / 4

// sigLen is the base64url length of an HMAC-SHA256 signature.
const sigLen = 43

// The header every Shopify token carries, {"alg":"HS256","typ":"JWT"}, and
// its reordered twin: recognised without decoding.
const (
	headerHS256JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
	headerJWTHS256 = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9"
)

var b64 = base64.RawURLEncoding.Strict()

// Verifier verifies session tokens. It is safe for concurrent use; create
// one per key source and share it.
type Verifier struct {
	cfg       config
	src       keysource.Source
	refresher keysource.UnknownSignerRefresher
	macs      atomic.Pointer[macSet]
	cache     *sessionCache
	tel       *telemetry
	// bigBufs holds payload decode buffers when WithMaxTokenSize allows
	// tokens longer than MaxTokenSize; nil otherwise (payloadBufs serves).
	bigBufs *sync.Pool
}

// New returns a Verifier that checks tokens against src's keys. It fails if
// the options are invalid, notably when no client ID is given and
// WithoutAudienceCheck was not chosen.
func New(src keysource.Source, opts ...Option) (*Verifier, error) {
	if src == nil {
		return nil, fmt.Errorf("sdk: nil key source")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg, src: src}
	v.refresher, _ = src.(keysource.UnknownSignerRefresher)
	if cfg.cacheSize > 0 {
		v.cache = newSessionCache(cfg.cacheSize, cfg.leeway)
	}
	if cfg.maxTokenSize > MaxTokenSize {
		size := b64.DecodedLen(cfg.maxTokenSize)
		v.bigBufs = &sync.Pool{New: func() any { b := make([]byte, size); return &b }}
	}
	if v.tel, err = newTelemetry(v); err != nil {
		return nil, err
	}
	return v, nil
}

// String describes the verifier without revealing keys.
func (v *Verifier) String() string {
	return fmt.Sprintf("sdk.Verifier(clients=%v leeway=%v cache=%d)", v.cfg.clientIDs, v.cfg.leeway, v.cfg.cacheSize)
}

// Format prints String for every verb (%#v and %d included), so no
// formatting walks into the configuration. The keys are Secrets besides,
// for a *Verifier held in an unexported field, where fmt cannot call
// Format.
func (v *Verifier) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(v.String())) }

// payloadBufs holds decode buffers for payloads; session strings are
// copied out of them before they return.
var payloadBufs = sync.Pool{New: func() any { return new([maxSegment]byte) }}

// errNoKeys is prebuilt: a backend without keys fails every request, and
// should not also allocate for each.
var errNoKeys = fmt.Errorf("sdk: the key source holds no keys: %w", ErrNoKeys)

// outcome is what one verification did, for telemetry.
type outcome struct {
	session     *Session
	err         error
	cacheLooked bool // the cache was consulted
	cacheHit    bool
}

// Verify checks token and returns the session it establishes, or a nil
// session and an error wrapping one of the Err* sentinels.
//
// Checks run in this order: size; the cache (a token equal to one
// verified before, under the same keyring, within exp + leeway and not
// before nbf/iat - leeway);
// shape (three base64url segments, no line breaks); alg (HS256 only);
// signature (each key in preference order; a refresh of the key source
// when none matches, or when it has no keys, and the source offers one);
// then the claims: exp (required), nbf and iat with leeway, aud, and
// dest/iss; last, the token's kind (WithKinds: admin/POS only by
// default). A shape error is reported before any later error.
//
// A nil ctx is taken for context.Background.
//
// Each call is one span, possession.Verify, a child of ctx's span, and
// is counted in the metrics (see package otel for names and attributes);
// both are skipped at no cost while no OpenTelemetry SDK is installed.
func (v *Verifier) Verify(ctx context.Context, token string) (*Session, error) {
	if ctx == nil {
		// A programming error, but bad input must not panic: the key
		// source's refresh selects on ctx.Done().
		ctx = context.Background()
	}
	if tracing, metrics := v.tel.tracing(), v.tel.metrics(); tracing || metrics {
		o := v.observe(ctx, token, tracing, metrics)
		return o.session, o.err
	}
	o := v.verify(ctx, token)
	return o.session, o.err
}

func (v *Verifier) verify(ctx context.Context, token string) outcome {
	// 1. Size and shape, before any decoding.
	if len(token) == 0 {
		return outcome{err: fmt.Errorf("%w: empty token", ErrMalformed)}
	}
	if len(token) > v.cfg.maxTokenSize {
		return outcome{err: fmt.Errorf("%w: token is %d bytes, limit is %d", ErrMalformed, len(token), v.cfg.maxTokenSize)}
	}
	ring := v.src.Keyring()
	now := v.cfg.now()

	// 2. Cache, before the shape is scanned: an entry matches only a token
	// equal to one verified before, which had the right shape.
	looked := v.cache != nil && ring.Len() > 0
	if looked {
		if s := v.cache.get(token, ring.Generation(), now.UnixNano()); s != nil {
			return outcome{session: s, cacheLooked: true, cacheHit: true}
		}
	}
	o := v.verifyUncached(ctx, token, ring, now)
	o.cacheLooked = looked
	return o
}

// verifyUncached is verify after a cache miss (or without a cache).
func (v *Verifier) verifyUncached(ctx context.Context, token string, ring *keysource.Keyring, now time.Time) outcome {

	header, payload, sig, fast := splitStandard(token)
	if !fast {
		var err error
		if header, payload, sig, err = split(token); err != nil {
			return outcome{err: err}
		}
	}
	// shapeFirst returns err, unless a fast split skipped a shape error
	// that must take precedence.
	shapeFirst := func(err error) outcome {
		if fast {
			if _, _, _, serr := split(token); serr != nil {
				return outcome{err: serr}
			}
		}
		return outcome{err: err}
	}

	if ring.Len() == 0 {
		// A source that starts empty (or dropped stale keys) may have keys
		// by now: a well-formed token asks it once, rate-limited by the
		// source and bounded by ctx, as an unknown signer does.
		if o := shapeFirst(nil); o.err != nil {
			return o
		}
		if v.refresher != nil {
			ring = v.refresher.RefreshUnknownSigner(ctx)
		}
		if ring.Len() == 0 {
			return outcome{err: errNoKeys}
		}
	}

	// 3. Header: HS256 only.
	if header != headerHS256JWT && header != headerJWTHS256 {
		if err := checkHeader(header); err != nil {
			return outcome{err: err}
		}
	}

	// The payload's encoding is part of its shape: decode it (without
	// parsing) so that garbage is reported as malformed, not as forged.
	// The decode buffer comes from a pool: a 3 KiB stack array would be
	// zeroed on every call.
	var buf []byte
	if v.bigBufs == nil {
		bp := payloadBufs.Get().(*[maxSegment]byte)
		defer payloadBufs.Put(bp)
		buf = bp[:]
	} else {
		bp := v.bigBufs.Get().(*[]byte)
		defer v.bigBufs.Put(bp)
		buf = *bp
	}
	n, ok := decodeSegment(buf, payload)
	if !ok || n != b64.DecodedLen(len(payload)) {
		return shapeFirst(fmt.Errorf("%w: payload is not base64url", ErrMalformed))
	}

	// Signature.
	var mac [sha256.Size]byte
	if len(sig) != sigLen {
		return outcome{err: fmt.Errorf("%w: signature segment is %d characters, HS256 needs %d", ErrSignature, len(sig), sigLen)}
	}
	if n, ok := decodeSegment(mac[:], sig); !ok || n != sha256.Size {
		return shapeFirst(fmt.Errorf("%w: signature is not base64url", ErrSignature))
	}
	signingInput := token[:len(header)+1+len(payload)]
	macs := v.macsFor(ring)
	k := macs.match(signingInput, &mac)
	if k < 0 && fast {
		// A malformed token must neither be reported as forged nor make
		// the source refresh its keys.
		if _, _, _, err := split(token); err != nil {
			return outcome{err: err}
		}
	}
	if k < 0 && v.refresher != nil {
		// An unknown signer may mean the secret was rotated at its source
		// since the last refresh: ask once (the source rate-limits).
		if fresh := v.refresher.RefreshUnknownSigner(ctx); fresh.Len() > 0 && fresh.Generation() != ring.Generation() {
			ring = fresh
			macs = v.macsFor(ring)
			k = macs.match(signingInput, &mac)
		}
	}
	if k < 0 {
		return outcome{err: errNoKeyMatched}
	}
	key := &macs.keys[k]

	// 4. Claims, parsed only now that they are authentic.
	var c claims
	if err := parseClaims(buf[:n], &c); err != nil {
		return outcome{err: fmt.Errorf("%w: payload: %w", ErrMalformed, err)}
	}
	if err := v.checkClaims(&c, buf[:n], key, now); err != nil {
		return outcome{err: err}
	}

	// dest and iss are checked on views of the decode buffer, before
	// anything is allocated; only the strings the session keeps are copied.
	host, kind, err := v.checkHosts(&c, buf[:n])
	if err != nil {
		return outcome{err: err}
	}
	if v.cfg.kinds&(1<<kind) == 0 {
		return outcome{err: kindErrors[kind]}
	}

	// 5. Session. Its strings share one allocation; with the cache on, the
	// Session shares one with its cache entry.
	var s *Session
	var entry *cacheEntry
	if v.cache != nil {
		cs := new(cachedSession)
		s, entry = &cs.session, &cs.entry
	} else {
		s = new(Session)
	}
	strs := newSessionStrings(&c, host, buf[:n])
	v.fillSession(s, &c, &strs, kind, key.id)
	if v.cache != nil {
		until := time.Unix(c.exp, 0).Add(v.cfg.leeway).UnixNano()
		v.cache.put(entry, token, s, ring.Generation(), now.UnixNano(), until)
	}
	return outcome{session: s}
}

// splitStandard splits a token with a standard HS256 header and a
// 43-character signature, checking both in place: it does not scan the
// payload for dots (the payload's base64 decoding rejects any later, and
// errors found after a fast split defer to split's shape errors). ok is
// false when token does not look standard; split then decides.
func splitStandard(token string) (header, payload, sig string, ok bool) {
	const h = len(headerHS256JWT) // == len(headerJWTHS256)
	n := len(token)
	if n < h+sigLen+3 || token[h] != '.' || token[n-sigLen-1] != '.' {
		return "", "", "", false
	}
	if header = token[:h]; header != headerHS256JWT && header != headerJWTHS256 {
		return "", "", "", false
	}
	return header, token[h+1 : n-sigLen-1], token[n-sigLen:], true
}

// errBearerPrefix is the error for a token that still carries the
// Authorization header's scheme.
var errBearerPrefix = fmt.Errorf("%w: the token starts with \"Bearer \": pass Verify the token alone, not the Authorization header's value (sdk.TokenFromRequest extracts it from a request)", ErrMalformed)

// hasBearerPrefix reports whether token starts with "Bearer" and a space
// or tab, in any case: an Authorization header's value passed as a token.
func hasBearerPrefix(token string) bool {
	const scheme = "bearer"
	return len(token) > len(scheme) && strings.EqualFold(token[:len(scheme)], scheme) &&
		(token[len(scheme)] == ' ' || token[len(scheme)] == '\t')
}

// split splits any token into its three segments, or says why it cannot.
func split(token string) (header, payload, sig string, err error) {
	if hasBearerPrefix(token) {
		// Never valid base64url; say what to do instead of what is wrong.
		return "", "", "", errBearerPrefix
	}
	dot1 := strings.IndexByte(token, '.')
	if dot1 < 0 {
		return "", "", "", fmt.Errorf("%w: not a JWT (want three dot-separated segments)", ErrMalformed)
	}
	dot2 := strings.IndexByte(token[dot1+1:], '.')
	if dot2 < 0 {
		return "", "", "", fmt.Errorf("%w: not a JWT (want three dot-separated segments)", ErrMalformed)
	}
	dot2 += dot1 + 1
	if strings.IndexByte(token[dot2+1:], '.') >= 0 {
		return "", "", "", fmt.Errorf("%w: not a JWT (more than three segments)", ErrMalformed)
	}
	// base64 decoders skip CR and LF; a token must not contain them at all.
	if strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0 {
		return "", "", "", fmt.Errorf("%w: line break inside the token", ErrMalformed)
	}
	header, payload, sig = token[:dot1], token[dot1+1:dot2], token[dot2+1:]
	if header == "" || payload == "" {
		return "", "", "", fmt.Errorf("%w: empty header or payload segment", ErrMalformed)
	}
	return header, payload, sig, nil
}

func (v *Verifier) macsFor(ring *keysource.Keyring) *macSet {
	if m := v.macs.Load(); m != nil && m.ring == ring {
		return m
	}
	m := newMacSet(ring)
	v.macs.Store(m)
	return m
}

func checkHeader(header string) error {
	var buf [maxSegment]byte
	if b64.DecodedLen(len(header)) > len(buf) {
		// Only reachable with WithMaxTokenSize above MaxTokenSize.
		return fmt.Errorf("%w: header segment is %d characters, limit is %d", ErrMalformed, len(header), b64.EncodedLen(len(buf)))
	}
	n, ok := decodeSegment(buf[:], header)
	if !ok || n != b64.DecodedLen(len(header)) {
		return fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	alg, err := parseHeader(buf[:n])
	if err != nil {
		return fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	if alg.start < 0 {
		return fmt.Errorf("%w: header has no alg; session tokens use HS256", ErrAlgorithm)
	}
	if a := alg.bytes(buf[:n]); string(a) != "HS256" {
		return errAlgNotHS256
	}
	return nil
}

// errAlgNotHS256 is prebuilt, and names no alg: the header is the
// token's (an attacker's) text, and token content never appears in
// errors.
var errAlgNotHS256 = fmt.Errorf("%w: the header's alg is not HS256, which session tokens use", ErrAlgorithm)

func (v *Verifier) checkClaims(c *claims, buf []byte, key *macKey, now time.Time) error {
	leeway := v.cfg.leeway
	if c.has&hasExp == 0 {
		return fmt.Errorf("%w: no exp claim; a token without expiry is never accepted", ErrMalformed)
	}
	// Valid iff now < exp + leeway.
	if exp := time.Unix(c.exp, 0); !now.Before(exp.Add(leeway)) {
		return &ExpiredError{ExpiresAt: exp, Now: now, Leeway: leeway}
	}
	// Valid iff now >= nbf - leeway.
	if c.has&hasNbf != 0 {
		if nbf := time.Unix(c.nbf, 0); now.Before(nbf.Add(-leeway)) {
			return &NotYetValidError{Claim: "nbf", ValidFrom: nbf, Now: now, Leeway: leeway}
		}
	}
	if c.has&hasIat != 0 {
		if iat := time.Unix(c.iat, 0); now.Before(iat.Add(-leeway)) {
			return &NotYetValidError{Claim: "iat", ValidFrom: iat, Now: now, Leeway: leeway}
		}
	}

	aud := c.aud.bytes(buf)
	if !v.cfg.noAudienceCheck {
		if c.has&hasAud == 0 {
			return fmt.Errorf("%w: no aud claim", ErrAudience)
		}
		if !v.knownClient(aud) {
			return errAudUnknown
		}
	}
	if key.clientID != "" && string(aud) != key.clientID {
		// The key ID is the source's, never token content.
		return fmt.Errorf("%w: aud is not the client ID that the matching key %q belongs to", ErrAudience, key.id)
	}

	if c.has&hasDest == 0 {
		return fmt.Errorf("%w: no dest claim", ErrIssuer)
	}
	return nil
}

func (v *Verifier) knownClient(aud []byte) bool {
	for _, id := range v.cfg.clientIDs {
		if string(aud) == id {
			return true
		}
	}
	return false
}

// errAudUnknown is prebuilt, and quotes no aud: token content never
// appears in errors (inspect a token with the possession CLI).
var errAudUnknown = fmt.Errorf("%w: aud is not a configured client ID", ErrAudience)

// kindErrors are the errors of tokens of a kind the verifier does not
// accept, by Kind; prebuilt, as a flood of buyer tokens must not allocate.
var kindErrors = [...]error{
	KindAdmin:    fmt.Errorf("%w: an admin/POS token, and this verifier accepts only checkout and customer-account tokens (sdk.WithKinds)", ErrKind),
	KindCheckout: fmt.Errorf("%w: a checkout or customer-account token, which speaks for a buyer; this verifier accepts only admin/POS tokens (sdk.WithKinds)", ErrKind),
}

// errNoKeyMatched is prebuilt: a flood of forged tokens costs no
// allocation.
var errNoKeyMatched = fmt.Errorf("%w: signed with none of the key source's keys", ErrSignature)

func seconds(d time.Duration) string {
	return fmt.Sprintf("%ds", int64(d.Round(time.Second)/time.Second))
}

// sessionStrings are the strings a session keeps: the claims it reports,
// and iss (to check it).
type sessionStrings struct {
	shop, sub, aud, sid, jti string
}

// newSessionStrings copies, into one string, the bytes of the strings a
// session keeps: the shop (dest's host span), sub, aud, sid and jti. (Both
// in one allocation, the bytes in an array after the Session, measured no
// faster and costs memory per cached entry as size classes fall.)
func newSessionStrings(c *claims, shop span, buf []byte) sessionStrings {
	spans := [...]span{shop, c.sub, c.aud, c.sid, c.jti}
	n := 0
	for _, sp := range spans {
		n += int(sp.end - sp.start)
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, sp := range spans {
		sb.Write(sp.bytes(buf))
	}
	all := sb.String()
	var out sessionStrings
	for i, dst := range [...]*string{&out.shop, &out.sub, &out.aud, &out.sid, &out.jti} {
		l := int(spans[i].end - spans[i].start)
		*dst, all = all[:l], all[l:]
	}
	return out
}

// view returns the bytes of sp as a string without copying. The string
// must not outlive this verification's use of buf.
func view(buf []byte, sp span) string {
	if sp.end <= sp.start {
		return ""
	}
	return unsafe.String(&buf[sp.start], int(sp.end-sp.start))
}

// checkHosts checks that dest is a shop domain, with or without https://,
// and that iss, when present, is an https URL on the same host. It returns
// the span of the shop domain within buf and the token kind.
func (v *Verifier) checkHosts(c *claims, buf []byte) (span, Kind, error) {
	dest := view(buf, c.dest)
	destHost, destRest, hasScheme, ok := splitURL(dest)
	if !ok || destRest != "" {
		return span{}, 0, fmt.Errorf("%w: dest is not a shop URL or domain", ErrIssuer)
	}
	if !isShopDomain(destHost, v.cfg.shopSuffixes) {
		return span{}, 0, fmt.Errorf("%w: dest host is not a shop domain (allowed suffixes %v)", ErrIssuer, v.cfg.shopSuffixes)
	}
	if c.has&hasIss != 0 {
		issHost, _, issScheme, ok := splitURL(view(buf, c.iss))
		if !ok || !issScheme || issHost != destHost {
			return span{}, 0, fmt.Errorf("%w: iss host differs from dest host", ErrIssuer)
		}
	}
	kind := KindCheckout
	if hasScheme {
		kind = KindAdmin
	}
	// No rest: the host is dest's tail.
	return span{c.dest.end - int32(len(destHost)), c.dest.end}, kind, nil
}

// fillSession fills s from checked claims.
func (v *Verifier) fillSession(s *Session, c *claims, strs *sessionStrings, kind Kind, keyID string) {
	*s = Session{
		Kind:      kind,
		Shop:      strs.shop,
		UserID:    strs.sub,
		ClientID:  strs.aud,
		SessionID: strs.sid,
		TokenID:   strs.jti,
		ExpiresAt: time.Unix(c.exp, 0),
		KeyID:     keyID,
	}
	if c.has&hasIat != 0 {
		s.IssuedAt = time.Unix(c.iat, 0)
	}
	if c.has&hasNbf != 0 {
		s.NotBefore = time.Unix(c.nbf, 0)
	}
}

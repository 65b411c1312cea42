package sdk

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk/internal/token"
)

// MaxTokenSize is the longest token Verify decodes by default
// (WithMaxTokenSize changes it). Real session tokens are well under 1 KiB;
// anything longer is rejected before any decoding.
const MaxTokenSize = 4096

// maxSegment is the decoded size of the payload of a token of at most
// MaxTokenSize bytes: the size of the pooled decode buffers.
const maxSegment = MaxTokenSize * 3 / 4

// sigLen is the base64url length of an HMAC-SHA256 signature.
const sigLen = token.SigLen

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
		size := base64.RawURLEncoding.DecodedLen(cfg.maxTokenSize)
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
	session *Session
	// entry is the cache entry session came from, on a cache hit (and
	// nil otherwise).
	entry       *cacheEntry
	err         error
	cacheLooked bool // the cache was consulted
}

// cacheHit reports whether the session came from the cache.
func (o *outcome) cacheHit() bool { return o.entry != nil }

// Verify checks token and returns the session it establishes, or a nil
// session and an error wrapping one of the Err* sentinels.
//
// Checks run in this order: size; the cache (a token equal to one
// verified before, under the same keyring, within exp + leeway and not
// before nbf/iat - leeway); shape (three segments, each strict base64url,
// no line breaks; a header that is a JSON object without crit); alg
// (HS256 only); the signature's length (32 bytes); keys (a refresh of the
// key source when it has none, and offers one); signature (each key in
// preference order; a refresh when none matches); then the claims: exp
// (required), nbf and iat with leeway, aud, and dest/iss; last, the
// token's kind (WithKinds: admin/POS only by default). Anything wrong with
// the token's form is ErrMalformed, reported before any later error;
// ErrSignature means a well-formed signature that none of the keys made.
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

// verifyObserved is Verify with its whole outcome, for the middleware,
// which uses the cache entry. (Verify repeats its dispatch rather than
// call it: the extra call and copy of the outcome cost a cache hit 7%
// more instructions.)
func (v *Verifier) verifyObserved(ctx context.Context, token string) outcome {
	if ctx == nil {
		// A programming error, but bad input must not panic: the key
		// source's refresh selects on ctx.Done().
		ctx = context.Background()
	}
	if tracing, metrics := v.tel.tracing(), v.tel.metrics(); tracing || metrics {
		return v.observe(ctx, token, tracing, metrics)
	}
	return v.verify(ctx, token)
}

func (v *Verifier) verify(ctx context.Context, token string) outcome {
	// 1. Size, before any decoding.
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
		if e := v.cache.get(token, ring.Generation(), now.UnixNano()); e != nil {
			return outcome{session: e.session, entry: e, cacheLooked: true}
		}
	}
	o := v.verifyUncached(ctx, token, ring, now)
	o.cacheLooked = looked
	return o
}

// verifyUncached is verify after a cache miss (or without a cache). Its
// steps run top to bottom, each once: take the token apart, find the keys,
// check the signature, read and check the claims, build the session.
func (v *Verifier) verifyUncached(ctx context.Context, tok string, ring *keysource.Keyring, now time.Time) outcome {
	// The payload is decoded into a pooled buffer (a 3 KiB stack array
	// would be zeroed on every call), given back without a defer (with
	// verifyIn's many returns, the defer could not be open-coded and cost
	// 90 instructions).
	if v.bigBufs == nil {
		bp := payloadBufs.Get().(*[maxSegment]byte)
		o := v.verifyIn(ctx, tok, ring, now, bp[:])
		payloadBufs.Put(bp)
		return o
	}
	bp := v.bigBufs.Get().(*[]byte)
	o := v.verifyIn(ctx, tok, ring, now, *bp)
	v.bigBufs.Put(bp)
	return o
}

// verifyIn is verifyUncached with buf to decode the payload into.
func (v *Verifier) verifyIn(ctx context.Context, tok string, ring *keysource.Keyring, now time.Time, buf []byte) outcome {
	// 1. Shape: three segments, their encodings, the header (HS256, no
	// crit). The payload is parsed only once the signature is known to be
	// good. Parse is given the first key's HMAC, under which most tokens
	// verify (see token.Parse).
	macs := v.macsFor(ring)
	var t token.Token
	if err := token.Parse(&t, tok, buf, macs.first()); err != nil {
		return outcome{err: tokenError(err)}
	}

	// 2. Keys. A source that starts empty (or dropped stale keys) may have
	// keys by now: a well-formed token asks it once, rate-limited by the
	// source and bounded by ctx, as an unknown signer does.
	if ring.Len() == 0 {
		if v.refresher != nil {
			ring = v.refresher.RefreshUnknownSigner(ctx)
		}
		if ring.Len() == 0 {
			return outcome{err: errNoKeys}
		}
		macs = v.macsFor(ring)
	}

	// 3. Signature.
	k := macs.match(&t)
	if k < 0 && v.refresher != nil {
		// An unknown signer may mean the secret was rotated at its source
		// since the last refresh: ask once (the source rate-limits).
		if fresh := v.refresher.RefreshUnknownSigner(ctx); fresh.Len() > 0 && fresh.Generation() != ring.Generation() {
			ring = fresh
			macs = v.macsFor(ring)
			k = macs.match(&t)
		}
	}
	if k < 0 {
		return outcome{err: errNoKeyMatched}
	}
	key := &macs.keys[k]

	// 4. Claims, parsed only now that they are authentic.
	payload := t.Payload
	var c token.Claims
	if err := token.ParseClaims(payload, &c); err != nil {
		return outcome{err: fmt.Errorf("%w: payload: %w", ErrMalformed, err)}
	}
	if err := v.checkClaims(&c, payload, key, now); err != nil {
		return outcome{err: err}
	}
	// dest and iss are checked on views of the decode buffer, before
	// anything is allocated; only the strings the session keeps are copied.
	host, kind, err := v.checkHosts(&c, payload)
	if err != nil {
		return outcome{err: err}
	}
	if v.cfg.kinds&(1<<kind) == 0 {
		return outcome{err: kindErrors[kind]}
	}

	// 5. Session, in one allocation with the bytes of its strings (and,
	// with the cache on, with its cache entry and the entry's copy of the
	// token, which a hit compares: beside the entry, not in memory of
	// its own).
	var s *Session
	var entry *cacheEntry
	spans := spansOf(&c, host)
	var b, own []byte
	if n := spans.size(); v.cache != nil {
		var cs *cachedSession
		cs, b = allocWithBytes[cachedSession](n + len(tok))
		s, entry = &cs.session, &cs.entry
		b, own = b[:n:n], b[n:]
	} else {
		s, b = allocWithBytes[Session](n)
	}
	strs := newSessionStrings(&spans, payload, b)
	v.fillSession(s, &c, &strs, kind, key.id)
	if v.cache != nil {
		until := time.Unix(c.Exp, 0).Add(v.cfg.leeway).UnixNano()
		v.cache.put(entry, own, tok, s, ring.Generation(), now.UnixNano(), until)
	}
	return outcome{session: s}
}

// errBearerPrefix is the error for a token that still carries the
// Authorization header's scheme.
var errBearerPrefix = fmt.Errorf("%w: the token starts with \"Bearer \": pass Verify the token alone, not the Authorization header's value (sdk.TokenFromRequest extracts it from a request)", ErrMalformed)

// tokenErrors are Verify's errors for token.Parse's errors without
// content, built once: a flood of garbage costs no allocation.
var tokenErrors = func() (out [token.NumStatic]error) {
	for n := 1; n < len(out); n++ {
		out[n] = wrapTokenError(token.StaticError(n))
	}
	return out
}()

// tokenError turns token.Parse's error into Verify's.
func tokenError(err error) error {
	e := err.(*token.Error)
	if n := e.Static(); n > 0 {
		return tokenErrors[n]
	}
	return wrapTokenError(e)
}

func wrapTokenError(e *token.Error) error {
	switch e.Kind {
	case token.BearerPrefix:
		return errBearerPrefix
	case token.Algorithm:
		if !e.HasAlg {
			return fmt.Errorf("%w: header has no alg; session tokens use HS256", ErrAlgorithm)
		}
		return errAlgNotHS256
	}
	return fmt.Errorf("%w: %w", ErrMalformed, e)
}

func (v *Verifier) macsFor(ring *keysource.Keyring) *macSet {
	if m := v.macs.Load(); m != nil && m.ring == ring {
		return m
	}
	m := newMacSet(ring)
	v.macs.Store(m)
	return m
}

// errAlgNotHS256 is prebuilt, and names no alg: the header is the
// token's (an attacker's) text, and token content never appears in
// errors.
var errAlgNotHS256 = fmt.Errorf("%w: the header's alg is not HS256, which session tokens use", ErrAlgorithm)

func (v *Verifier) checkClaims(c *token.Claims, buf []byte, key *macKey, now time.Time) error {
	leeway := v.cfg.leeway
	if c.Has&token.HasExp == 0 {
		return fmt.Errorf("%w: no exp claim; a token without expiry is never accepted", ErrMalformed)
	}
	// Valid iff now < exp + leeway and now >= nbf - leeway (iat alike).
	// The claims are whole seconds, so with early = now - leeway and late
	// = now + leeway: now < exp + leeway iff early < exp iff early's
	// whole seconds (rounded down, as Unix does) < exp; and now >= nbf -
	// leeway iff late >= nbf iff late's whole seconds >= nbf.
	// Both in whole seconds and a remainder, without building Times:
	// leeway is at most maxLeeway, so nothing overflows.
	sec, nsec := now.Unix(), int64(now.Nanosecond())
	lsec, lnsec := int64(leeway/time.Second), int64(leeway%time.Second)
	early, late := sec-lsec, sec+lsec
	if nsec < lnsec {
		early--
	}
	if nsec+lnsec >= int64(time.Second) {
		late++
	}
	if early >= c.Exp {
		return &ExpiredError{ExpiresAt: time.Unix(c.Exp, 0), Now: now, Leeway: leeway}
	}
	if c.Has&token.HasNbf != 0 && late < c.Nbf {
		return &NotYetValidError{Claim: "nbf", ValidFrom: time.Unix(c.Nbf, 0), Now: now, Leeway: leeway}
	}
	if c.Has&token.HasIat != 0 && late < c.Iat {
		return &NotYetValidError{Claim: "iat", ValidFrom: time.Unix(c.Iat, 0), Now: now, Leeway: leeway}
	}

	aud := c.Aud.Bytes(buf)
	if !v.cfg.noAudienceCheck {
		if c.Has&token.HasAud == 0 {
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

	if c.Has&token.HasDest == 0 {
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

// sessionSpans are the spans of the strings a session keeps, in
// sessionStrings' order: the shop (dest's host span), sub, aud, sid, jti.
type sessionSpans [5]token.Span

func spansOf(c *token.Claims, shop token.Span) sessionSpans {
	return sessionSpans{shop, c.Sub, c.Aud, c.Sid, c.Jti}
}

// size is the number of bytes of the strings.
func (sp *sessionSpans) size() int {
	n := 0
	for _, s := range sp {
		n += int(s.End - s.Start)
	}
	return n
}

// newSessionStrings copies the strings' bytes from buf into dst
// (sp.size() bytes, never written again) and returns them as strings.
func newSessionStrings(sp *sessionSpans, buf, dst []byte) sessionStrings {
	at := 0
	take := func(s token.Span) string {
		n := copy(dst[at:], buf[s.Start:s.End])
		if n == 0 {
			return ""
		}
		str := unsafe.String(&dst[at], n)
		at += n
		return str
	}
	return sessionStrings{shop: take(sp[0]), sub: take(sp[1]), aud: take(sp[2]), sid: take(sp[3]), jti: take(sp[4])}
}

// withBytes is a T and bytes for its strings, allocated together.
type withBytes[T, B any] struct {
	v     T
	bytes B
}

// allocWithBytes returns a new T and n bytes in the same allocation (in
// separate ones for n over 320, more than any token Shopify issues
// needs). A session's strings are 160 to 200 bytes; the steps keep what
// rounding up costs within a size class or two.
func allocWithBytes[T any](n int) (*T, []byte) {
	switch {
	case n <= 128:
		p := new(withBytes[T, [128]byte])
		return &p.v, p.bytes[:n:n]
	case n <= 160:
		p := new(withBytes[T, [160]byte])
		return &p.v, p.bytes[:n:n]
	case n <= 192:
		p := new(withBytes[T, [192]byte])
		return &p.v, p.bytes[:n:n]
	case n <= 224:
		p := new(withBytes[T, [224]byte])
		return &p.v, p.bytes[:n:n]
	case n <= 256:
		p := new(withBytes[T, [256]byte])
		return &p.v, p.bytes[:n:n]
	case n <= 320:
		p := new(withBytes[T, [320]byte])
		return &p.v, p.bytes[:n:n]
	// A cache entry's strings and its token (Shopify's are about 580
	// bytes): these lengths fill a cachedSession's allocation, with the
	// 8-byte type header the runtime puts before an object of pointers
	// larger than 512 bytes, to its size class, 1,024 to 2,048 bytes
	// (TestCachedSessionSizeClasses).
	case n <= 704:
		p := new(withBytes[T, [704]byte])
		return &p.v, p.bytes[:n:n]
	case n <= 832:
		p := new(withBytes[T, [832]byte])
		return &p.v, p.bytes[:n:n]
	case n <= 960:
		p := new(withBytes[T, [960]byte])
		return &p.v, p.bytes[:n:n]
	case n <= 1088:
		p := new(withBytes[T, [1088]byte])
		return &p.v, p.bytes[:n:n]
	case n <= 1216:
		p := new(withBytes[T, [1216]byte])
		return &p.v, p.bytes[:n:n]
	case n <= 1472:
		p := new(withBytes[T, [1472]byte])
		return &p.v, p.bytes[:n:n]
	case n <= 1728:
		p := new(withBytes[T, [1728]byte])
		return &p.v, p.bytes[:n:n]
	}
	return new(T), make([]byte, n)
}

// view returns the bytes of sp as a string without copying. The string
// must not outlive this verification's use of buf.
func view(buf []byte, sp token.Span) string {
	if sp.End <= sp.Start {
		return ""
	}
	return unsafe.String(&buf[sp.Start], int(sp.End-sp.Start))
}

// checkHosts checks that dest is a shop domain, with or without https://,
// and that iss, when present, is an https URL on the same host. It returns
// the span of the shop domain within buf and the token kind.
func (v *Verifier) checkHosts(c *token.Claims, buf []byte) (token.Span, Kind, error) {
	dest := view(buf, c.Dest)
	host, hasScheme := strings.CutPrefix(dest, "https://")
	if !isShopDomain(host, v.cfg.shopSuffixes) {
		return token.Span{}, 0, v.destError(dest)
	}
	if c.Has&token.HasIss != 0 && !onHost(view(buf, c.Iss), host) {
		return token.Span{}, 0, fmt.Errorf("%w: iss host differs from dest host", ErrIssuer)
	}
	kind := KindCheckout
	if hasScheme {
		kind = KindAdmin
	}
	// The host is dest's tail.
	return token.Span{Start: c.Dest.End - int32(len(host)), End: c.Dest.End}, kind, nil
}

// destError says why dest is not a shop domain.
func (v *Verifier) destError(dest string) error {
	if _, rest, _, ok := splitURL(dest); !ok || rest != "" {
		return fmt.Errorf("%w: dest is not a shop URL or domain", ErrIssuer)
	}
	return fmt.Errorf("%w: dest host is not a shop domain (allowed suffixes %v)", ErrIssuer, v.cfg.shopSuffixes)
}

// fillSession fills s from checked claims.
func (v *Verifier) fillSession(s *Session, c *token.Claims, strs *sessionStrings, kind Kind, keyID string) {
	*s = Session{
		Kind:      kind,
		Shop:      strs.shop,
		UserID:    strs.sub,
		ClientID:  strs.aud,
		SessionID: strs.sid,
		TokenID:   strs.jti,
		ExpiresAt: time.Unix(c.Exp, 0),
		KeyID:     keyID,
	}
	if c.Has&token.HasIat != 0 {
		s.IssuedAt = time.Unix(c.Iat, 0)
	}
	if c.Has&token.HasNbf != 0 {
		s.NotBefore = time.Unix(c.Nbf, 0)
	}
}

package sdktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"time"
)

// Fixtures generates many distinct admin/POS session tokens shaped the way
// Shopify sends them, for benchmarks and load tests: claims in Shopify's
// order (iss, dest, aud, sub, exp, nbf, iat, jti, sid, sig), slashes
// escaped ("https:\/\/"), a sig claim, tokens spread over many shops and
// users, and iat spread over a window with nbf == iat and exp = iat + 60 s.
//
// Unlike Minter, Fixtures is deterministic: the same Fixtures value gives
// the same i-th token every time, so a benchmark or an instruction count
// sees the same inputs on every run. Set Seed for another, equally
// reproducible, set. A copy with another Secret gives the same claims
// under another signature (forgeries); verifying after ValidAt plus a
// few minutes gives expired tokens.
//
// The zero value is usable: see the field defaults.
type Fixtures struct {
	// Secret signs the tokens (default DefaultSecret).
	Secret string
	// ClientID is aud (default "test-client-id").
	ClientID string
	// Shops is the number of distinct shops (default 1,000), and
	// UsersPerShop the number of distinct users of each (default 20).
	// Each token belongs to one user of one shop, picked at random.
	Shops, UsersPerShop int
	// Start is the earliest iat (default 2026-05-28 20:26:40 UTC, Unix
	// 1,780,000,000); it is truncated to the second.
	Start time.Time
	// Window spreads iat over [Start, Start+Window), in whole seconds
	// (default 60 s).
	Window time.Duration
	// Seed selects the set: shops, users, times, jti and sig all follow
	// from it and the token's index.
	Seed uint64
}

// Fixture is one generated token with the facts a test checks it against.
type Fixture struct {
	// Token is the compact JWS.
	Token string
	// Shop is dest's host, e.g. "fjord-outfitters-17.myshopify.com".
	Shop string
	// ShopID is a numeric shop ID consistent with Shop (what the POS
	// client reports as currentSession.shopId).
	ShopID int64
	// UserID is sub, a numeric staff user ID.
	UserID string
	// User numbers the user among the Fixtures' Shops*UsersPerShop (see
	// Issue).
	User int
	// IssuedAt is iat and nbf; the token expires at IssuedAt + 60 s.
	IssuedAt time.Time
}

// fixturesLifetime is exp - iat of admin/POS tokens.
const fixturesLifetime = 60

func (f Fixtures) defaults() Fixtures {
	if f.Secret == "" {
		f.Secret = DefaultSecret
	}
	if f.ClientID == "" {
		f.ClientID = "test-client-id"
	}
	if f.Shops <= 0 {
		f.Shops = 1000
	}
	if f.UsersPerShop <= 0 {
		f.UsersPerShop = 20
	}
	if f.Start.IsZero() {
		f.Start = time.Unix(1_780_000_000, 0)
	}
	f.Start = f.Start.Truncate(time.Second)
	if f.Window < time.Second {
		f.Window = 60 * time.Second
	}
	return f
}

// ValidAt returns an instant at which every token is valid without any
// leeway when Window is at most 60 s: Start + Window - 1 s (the last iat
// has just been issued, the first expires a second later). With a longer
// Window, verify each token at its own IssuedAt instead.
func (f Fixtures) ValidAt() time.Time {
	f = f.defaults()
	return f.Start.Add(f.Window.Truncate(time.Second) - time.Second)
}

// Tokens returns the tokens of fixtures 0 to n-1.
func (f Fixtures) Tokens(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f.Fixture(i).Token
	}
	return out
}

// Fixture returns the i-th fixture (i >= 0): a user picked at random,
// issued at a random second of the window.
func (f Fixtures) Fixture(i int) Fixture {
	f = f.defaults()
	r := fixtureRand{state: mix64(f.Seed ^ mix64(uint64(i)))}
	user := r.intn(f.Shops * f.UsersPerShop)
	iat := f.Start.Unix() + int64(r.intn(int(f.Window/time.Second)))
	return f.mint(user, iat, &r)
}

// Issue returns the token Shopify would issue to user number user (0 <=
// user < Shops*UsersPerShop; shop user/UsersPerShop) at at, truncated to
// the second: the user's shop and sid, a jti and sig of its own. Use it to
// replay a user's successive tokens, as getSessionToken reissues them.
func (f Fixtures) Issue(user int, at time.Time) Fixture {
	f = f.defaults()
	iat := at.Unix()
	r := fixtureRand{state: mix64(f.Seed ^ mix64(uint64(user)<<32^uint64(iat)) ^ 0x1550e)}
	return f.mint(user, iat, &r)
}

func (f Fixtures) mint(user int, iat int64, r *fixtureRand) Fixture {
	shopN := user / f.UsersPerShop % f.Shops
	fx := Fixture{
		Shop:     shopHandle(f.Seed, shopN) + ".myshopify.com",
		ShopID:   60_000_000_000 + 7_919*int64(shopN),
		UserID:   strconv.FormatInt(100_000_000_000+int64(user)*1_301, 10),
		User:     user,
		IssuedAt: time.Unix(iat, 0),
	}
	// sid is the same for every token of one user.
	sr := fixtureRand{state: mix64(f.Seed ^ mix64(uint64(user)) ^ 0x5151)}
	var sid, sig [32]byte
	sr.fill(sid[:])
	var jti [16]byte
	r.fill(jti[:])
	r.fill(sig[:])

	// The payload in Shopify's claim order, slashes escaped.
	p := make([]byte, 0, 400)
	p = append(p, `{"iss":"https:\/\/`...)
	p = append(p, fx.Shop...)
	p = append(p, `\/admin","dest":"https:\/\/`...)
	p = append(p, fx.Shop...)
	p = append(p, `","aud":`...)
	p = strconv.AppendQuote(p, f.ClientID)
	p = append(p, `,"sub":"`...)
	p = append(p, fx.UserID...)
	p = append(p, `","exp":`...)
	p = strconv.AppendInt(p, iat+fixturesLifetime, 10)
	p = append(p, `,"nbf":`...)
	p = strconv.AppendInt(p, iat, 10)
	p = append(p, `,"iat":`...)
	p = strconv.AppendInt(p, iat, 10)
	p = append(p, `,"jti":"`...)
	p = appendUUID(p, jti)
	p = append(p, `","sid":"`...)
	p = hex.AppendEncode(p, sid[:])
	p = append(p, `","sig":"`...)
	p = hex.AppendEncode(p, sig[:])
	p = append(p, `"}`...)

	enc := base64.RawURLEncoding
	const header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" // {"alg":"HS256","typ":"JWT"}
	tok := make([]byte, 0, len(header)+1+enc.EncodedLen(len(p))+1+enc.EncodedLen(sha256.Size))
	tok = append(tok, header...)
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, p)
	mac := hmac.New(sha256.New, []byte(f.Secret))
	mac.Write(tok)
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, mac.Sum(nil))
	fx.Token = string(tok)
	return fx
}

// shopHandle names shop n as stores are named: two words, and beyond the
// first len(shopWordsA)*len(shopWordsB) shops a number (handles of 9 to
// about 30 characters). Each n has its own handle.
func shopHandle(seed uint64, n int) string {
	a := shopWordsA[n%len(shopWordsA)]
	n /= len(shopWordsA)
	b := shopWordsB[(n+int(seed%7))%len(shopWordsB)]
	n /= len(shopWordsB)
	h := a + "-" + b
	if n > 0 {
		h += "-" + strconv.Itoa(n)
	}
	return h
}

var (
	shopWordsA = []string{"fjord", "golden", "urban", "north-shore", "little", "blue", "copper", "maple",
		"sunrise", "wild", "old-town", "silver", "harbour", "velvet", "cedar", "prairie", "twin-peaks",
		"coastal", "brick", "lotus", "granite", "honey", "ember", "atlas"}
	shopWordsB = []string{"outfitters", "coffee", "books", "bakery", "goods", "threads", "cycles",
		"apothecary", "market", "studio", "supply-co", "kitchen", "florist", "records", "toys",
		"boutique", "hardware", "pantry", "wine-cellar", "gallery", "sneakers", "tea-house", "pets"}
)

// appendUUID appends b as a version 4 UUID.
func appendUUID(dst []byte, b [16]byte) []byte {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	dst = hex.AppendEncode(dst, b[0:4])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, b[4:6])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, b[6:8])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, b[8:10])
	dst = append(dst, '-')
	return hex.AppendEncode(dst, b[10:16])
}

// fixtureRand is splitmix64: small, fast and the same on every platform,
// which math/rand's generators promise only per version.
type fixtureRand struct{ state uint64 }

func (r *fixtureRand) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return mix64(r.state)
}

// mix64 is splitmix64's finaliser: nearby inputs give unrelated outputs.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *fixtureRand) intn(n int) int { return int(r.next() % uint64(n)) }

func (r *fixtureRand) fill(b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := r.next()
		for j := i; j < min(i+8, len(b)); j++ {
			b[j] = byte(v)
			v >>= 8
		}
	}
}

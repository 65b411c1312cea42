package sdk_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/test/internal/shopifyjs"
)

// The Shopify differential runs a corpus of session tokens through
// sdk.Verify and through Shopify's own library, @shopify/shopify-api
// 13.1.0's shopify.session.decodeSessionToken (tools/shopify-js,
// session-token-reference.mjs), both configured alike: the same secret,
// the same clock (a fixed instant per token; the Node script replaces the
// global Date, which jose's jwtVerify reads), the same 10 s leeway, and
// the audience check on (sdk.WithClientID) or off (sdk.WithoutAudienceCheck,
// decodeSessionToken's checkAudience: false). possession accepts both
// token kinds here (sdk.WithKinds), as the library tells none from
// another. The two must agree, except where possession is deliberately
// stricter: every such token is named by shopifyStricterReason, and each
// reason has its case in TestShopifyDeliberateDifferences. possession
// never accepts what the library rejects.

// Deliberate differences with Shopify's library beyond the nine of the
// golang-jwt differential (stricterReason, diffTooLong ... diffDeepJSON),
// which hold here too: decodeSessionToken decodes with JSON.parse (the
// last of duplicate members wins), Node's base64 and jose's claim checks.
const (
	diffNoExp = "no exp claim: possession never accepts a token that never expires; jose checks exp only when present"
	diffIat   = "iat more than the leeway in the future: possession holds iat to the nbf rule; jose reads iat's value only with maxTokenAge, which decodeSessionToken does not set"
	diffHosts = "dest missing or not a shop domain, or iss not an https URL on dest's host: decodeSessionToken leaves dest and iss to the app (Shopify documents the rule; its Python library checks it)"
	diffB64   = "a segment that is not strict base64url (padding, '+' or '/', white space, a character outside the alphabet, a dangling character): Node's Buffer decoder skips or accepts them, so one token has many spellings"
	diffBOM   = "a byte order mark before a segment's JSON: jose's TextDecoder drops it; possession, as encoding/json, refuses it"
)

// shopifyRef is a running session-token-reference.mjs.
type shopifyRef struct{ *shopifyjs.Script }

// shopifyVerdict is what decodeSessionToken said.
type shopifyVerdict struct {
	Valid   bool           `json:"valid"`
	Error   string         `json:"error"`
	Payload map[string]any `json:"payload"`
}

func startShopifyRef(t *testing.T, apiKey, secret string) *shopifyRef {
	t.Helper()
	return &shopifyRef{shopifyjs.Start(t, "@shopify/shopify-api", "session-token-reference.mjs", apiKey, secret)}
}

// decode runs one token through decodeSessionToken at now.
func (r *shopifyRef) decode(t *testing.T, token string, now int64, checkAudience bool) shopifyVerdict {
	t.Helper()
	answer := r.Ask(t, map[string]any{"token": token, "now": now, "checkAudience": checkAudience})
	var v shopifyVerdict
	dec := json.NewDecoder(bytes.NewReader(answer))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("answer %q: %v", answer, err)
	}
	if strings.HasPrefix(v.Error, "bad request") {
		t.Fatal(v.Error)
	}
	return v
}

// possession verifies as the configuration under test: one verifier per
// audience setting, with the cache on (so that the cache's answers are
// held to the same standard) and off, on a clock each case sets.
type possession struct {
	now                        atomic.Int64
	cached, uncached           *sdk.Verifier
	noAudCached, noAudUncached *sdk.Verifier
}

func newPossession(t *testing.T) *possession {
	t.Helper()
	p := &possession{}
	clock := func() time.Time { return time.Unix(p.now.Load(), 0) }
	build := func(aud sdk.Option, cache int) *sdk.Verifier {
		v, err := sdk.New(keysource.MustStatic(testSecret), aud, sdk.WithClock(clock), sdk.WithLeeway(10*time.Second),
			sdk.WithCacheSize(cache), sdk.WithKinds(sdk.KindAdmin, sdk.KindCheckout))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	p.cached, p.uncached = build(sdk.WithClientID(testClientID), 1000), build(sdk.WithClientID(testClientID), 0)
	p.noAudCached, p.noAudUncached = build(sdk.WithoutAudienceCheck(), 1000), build(sdk.WithoutAudienceCheck(), 0)
	return p
}

// verify returns possession's verdict at now; the cached and uncached
// verifiers must agree.
func (p *possession) verify(t *testing.T, token string, now int64, checkAudience bool) (*sdk.Session, error) {
	t.Helper()
	p.now.Store(now)
	a, b := p.cached, p.uncached
	if !checkAudience {
		a, b = p.noAudCached, p.noAudUncached
	}
	_, err1 := a.Verify(context.Background(), token)
	s2, err2 := b.Verify(context.Background(), token)
	if (err1 == nil) != (err2 == nil) || sdk.ErrorName(err1) != sdk.ErrorName(err2) {
		t.Fatalf("the cache changes the verdict: cached %v, uncached %v\ntoken %q", err1, err2, token)
	}
	return s2, err2
}

// diffCase is one token of the corpus, verified at now.
type diffCase struct {
	name  string
	token string
	now   int64
}

// jsonMembers builds a JSON object from raw members, in order, duplicates
// allowed.
type jsonMembers [][2]string

func (ms jsonMembers) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(m[0]))
		b.WriteByte(':')
		b.WriteString(m[1])
	}
	b.WriteByte('}')
	return b.String()
}

// set replaces (or appends) member k with the raw value v; del removes it.
func (ms jsonMembers) set(k, v string) jsonMembers {
	out := slices.Clone(ms)
	for i := range out {
		if out[i][0] == k {
			out[i][1] = v
			return out
		}
	}
	return append(out, [2]string{k, v})
}

func (ms jsonMembers) del(k string) jsonMembers {
	return slices.DeleteFunc(slices.Clone(ms), func(m [2]string) bool { return m[0] == k })
}

func (ms jsonMembers) add(k, v string) jsonMembers { return append(slices.Clone(ms), [2]string{k, v}) }

// escaped quotes s as JSON with slashes escaped, as Shopify writes them.
func escaped(s string) string { return strings.ReplaceAll(strconv.Quote(s), "/", `\/`) }

func num(n int64) string { return strconv.FormatInt(n, 10) }

// Realistic claims, as Shopify issues them at iat (numbers and IDs shaped
// like real ones).
func adminClaims(iat int64) jsonMembers {
	return jsonMembers{
		{"iss", escaped("https://" + testShop + "/admin")}, {"dest", escaped("https://" + testShop)}, {"aud", strconv.Quote(testClientID)},
		{"sub", `"115855966237"`}, {"exp", num(iat + 60)}, {"nbf", num(iat)}, {"iat", num(iat)},
		{"jti", `"f799bdb3-31a4-4075-8727-1e2f9a6b0c4d"`}, {"sid", `"da8e9304bc015a28c70613cd0e3f0f60224be976f80f5cf7d73e0585a1b2c3d4"`},
		{"sig", `"8b2c7d1e0f9a4b3c6d5e8f7a1b0c9d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c"`},
	}
}

func checkoutClaims(iat int64) jsonMembers {
	return jsonMembers{
		{"dest", strconv.Quote(testShop)}, {"aud", strconv.Quote(testClientID)}, {"exp", num(iat + 300)},
		{"nbf", num(iat)}, {"iat", num(iat)}, {"jti", `"6c992878-dbaf-48d1-bb9d-6d9b59814fd1"`},
	}
}

func customerClaims(iat int64) jsonMembers {
	return checkoutClaims(iat).set("sub", escaped("gid://shopify/Customer/7208492351638")).
		set("iss", escaped("https://"+testShop+"/checkouts"))
}

// shopifyCorpus is the differential's corpus: realistic tokens of every
// kind, boundary instants of the leeway, and mutations of the header, the
// claims and the token text.
func shopifyCorpus(t *testing.T) []diffCase {
	t.Helper()
	T := epoch.Unix()
	var out []diffCase
	add := func(name, token string, now int64) { out = append(out, diffCase{name, token, now}) }
	sign := func(header, payload string) string { return signRaw(t, testSecret, header, payload) }

	realistic := map[string]jsonMembers{"admin": adminClaims(T), "checkout": checkoutClaims(T), "customer account": customerClaims(T)}
	names := []string{"admin", "checkout", "customer account"}

	// Realistic tokens, and the leeway's boundaries on a fixed clock.
	for _, name := range names {
		claims := realistic[name]
		tok := sign(hdr256, claims.String())
		lifetime := int64(60)
		if name != "admin" {
			lifetime = 300
		}
		for _, d := range []int64{-11, -10, -9, -1, 0, 1, lifetime - 1, lifetime, lifetime + 9, lifetime + 10, lifetime + 11, 3600} {
			add(fmt.Sprintf("%s at iat%+d", name, d), tok, T+d)
		}
		add(name+", unescaped slashes", sign(hdr256, strings.ReplaceAll(claims.String(), `\/`, "/")), T)
		add(name+", reordered header", sign(`{"typ":"JWT","alg":"HS256"}`, claims.String()), T)
		add(name+", signed by another secret", signRaw(t, "shpss_"+strings.Repeat("f", 32), hdr256, claims.String()), T)
		for _, c := range []string{"nbf", "iat"} {
			for _, d := range []int64{9, 10, 11, 60} {
				add(fmt.Sprintf("%s, %s now%+d", name, c, d), sign(hdr256, claims.set(c, num(T+d)).String()), T)
			}
		}
	}
	admin := realistic["admin"]
	valid := sign(hdr256, admin.String())
	checkout := sign(hdr256, realistic["checkout"].String())

	// Headers, re-signed.
	for _, h := range []string{
		`{"alg":"none","typ":"JWT"}`, `{"alg":"HS384","typ":"JWT"}`, `{"alg":"HS512","typ":"JWT"}`, `{"alg":"RS256","typ":"JWT"}`,
		`{"alg":"ES256","typ":"JWT"}`, `{"alg":"PS256"}`, `{"alg":"hs256"}`, `{"alg":"HS256 "}`, `{"alg":""}`, `{"typ":"JWT"}`,
		`{"alg":["HS256"]}`, `{"alg":256}`, `{"alg":null}`, `{"alg":"HS256"}`, `{"alg":"HS256","typ":"jwt"}`,
		`{"alg":"HS256","typ":"at+jwt"}`, `{"alg":"HS256","typ":7}`, `{"alg":"HS256","typ":"JWT","kid":"1"}`, `{"alg":"HS256","kid":123}`,
		`{"alg":"HS256","jku":"https://evil.example/jwks"}`, `{"alg":"HS256","x5u":"https://evil.example/x"}`,
		`{"alg":"none","alg":"HS256"}`, `{"alg":"HS256","alg":"none"}`, `{"alg":"HS256","alg":"HS256"}`,
		` {"alg" : "HS256" ,` + "\n" + `"typ":"JWT"} `, "\ufeff" + hdr256, `{"alg":"\u0048S256"}`, `{"alg":"HS256"}x`, `["HS256"]`, `"HS256"`,
		`{"alg":"HS256","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, `{"alg":"HS256","b64":false}`,
		`{"alg":"HS256","nested":{"alg":"none"}}`,
	} {
		add("header "+h, sign(h, admin.String()), T)
	}
	critHeaders := []string{
		`{"alg":"HS256","crit":["b64"],"b64":true}`, `{"alg":"HS256","crit":["b64"],"b64":false}`, `{"alg":"HS256","crit":["exp"],"exp":1}`,
		`{"alg":"HS256","crit":[]}`, `{"alg":"HS256","crit":"b64","b64":true}`, `{"alg":"HS256","crit":["b64"]}`, `{"alg":"HS256","crit":null}`,
	}
	for _, h := range critHeaders {
		add("crit header "+h, sign(h, admin.String()), T)
	}

	// Claims, re-signed.
	for _, c := range []string{"exp", "nbf", "iat", "aud", "dest", "iss", "sub", "jti", "sid", "sig"} {
		add("admin without "+c, sign(hdr256, admin.del(c).String()), T)
	}
	add("checkout without exp", sign(hdr256, realistic["checkout"].del("exp").String()), T)
	add("empty claims", sign(hdr256, `{}`), T)
	for _, v := range []string{`"1800000060"`, `null`, `true`, num(T+60) + ".5", num(T+60) + ".0", "1.80000006e9", "1e308", "1e400", "-1",
		"9007199254740991", "9007199254740992", "9007199254740993", `[` + num(T+60) + `]`, `{}`, "0", "-0", num(T+60) + "e0"} {
		add("exp "+v, sign(hdr256, admin.set("exp", v).String()), T)
	}
	for _, v := range []string{num(T) + ".5", `"` + num(T) + `"`, "1e308", "-1e308", "-9007199254740993", `null`, num(T + 10), num(T + 11)} {
		add("nbf "+v, sign(hdr256, admin.set("nbf", v).String()), T)
		add("iat "+v, sign(hdr256, admin.set("iat", v).String()), T)
	}
	for _, v := range []string{`"other-app"`, `""`, `["` + testClientID + `"]`, `["` + testClientID + `","other"]`, `[]`, `7`, `null`, `{}`,
		strconv.Quote(strings.ToUpper(testClientID)), strconv.Quote(testClientID + " "), `"client-id-12\u0033"`} {
		add("aud "+v, sign(hdr256, admin.set("aud", v).String()), T)
		add("checkout aud "+v, sign(hdr256, realistic["checkout"].set("aud", v).String()), T)
	}
	for _, v := range []string{strconv.Quote(testShop), escaped("http://" + testShop), escaped("https://" + testShop + "/"),
		escaped("https://" + testShop + "/admin"), escaped("https://" + testShop + ":443"), escaped("https://user@" + testShop),
		escaped("https://EXAMPLESHOP.myshopify.com"), escaped("https://exampleshop.myshopify.com.evil.example"),
		escaped("https://a.b.myshopify.com"), escaped("https://-x.myshopify.com"), escaped("https://other.myshopify.com"),
		escaped("https://xn--exmple-cua.myshopify.com"), `"https://exampl\u00e9shop.myshopify.com"`, `""`, `5`, `null`} {
		add("dest "+v, sign(hdr256, admin.set("dest", v).String()), T)
	}
	for _, v := range []string{escaped("https://other.myshopify.com/admin"), escaped("http://" + testShop + "/admin"), strconv.Quote(testShop + "/admin"),
		escaped("https://" + testShop), escaped("https://" + testShop + "?x=1"), escaped("https://" + testShop + "/checkouts"), `""`, `3`, `null`} {
		add("iss "+v, sign(hdr256, admin.set("iss", v).String()), T)
	}
	for _, v := range []string{`42`, `""`, `"\u0034\u0032"`, `"gid:\/\/shopify\/Customer\/1"`, `null`, `["42"]`, `"\ud83d\ude00"`, `"\ud800"`} {
		add("sub "+v, sign(hdr256, admin.set("sub", v).String()), T)
	}
	for _, c := range []string{"jti", "sid", "sig"} {
		add(c+" number", sign(hdr256, admin.set(c, "1").String()), T)
	}
	// Duplicates: JSON.parse keeps the last.
	add("exp twice, last expired", sign(hdr256, admin.add("exp", num(T-100)).String()), T)
	add("exp twice, last valid", sign(hdr256, admin.set("exp", num(T-100)).add("exp", num(T+60)).String()), T)
	add("aud twice, last ours", sign(hdr256, admin.set("aud", `"other-app"`).add("aud", strconv.Quote(testClientID)).String()), T)
	add("sub twice", sign(hdr256, admin.add("sub", `"1"`).String()), T)
	add("dest twice", sign(hdr256, admin.add("dest", escaped("https://other.myshopify.com")).String()), T)
	// Unknown claims, escapes, unicode, white space.
	add("nested unknown claim", sign(hdr256, admin.add("x", `{"a":[1,"b",null,true,{"c":[]}]}`).String()), T)
	add("33 levels deep", sign(hdr256, admin.add("x", strings.Repeat("[", 33)+strings.Repeat("]", 33)).String()), T)
	add("32 levels deep", sign(hdr256, admin.add("x", strings.Repeat("[", 31)+strings.Repeat("]", 31)).String()), T)
	add("invalid UTF-8 in an unknown claim", sign(hdr256, admin.add("note", "\"caf\xe9\"").String()), T)
	add("invalid UTF-8 in sub", sign(hdr256, admin.set("sub", "\"42\xff\"").String()), T)
	add("unicode in an unknown claim", sign(hdr256, admin.add("note", `"café \ud83d\ude00 \u0000"`).String()), T)
	add("lone surrogate in an unknown claim", sign(hdr256, admin.add("note", `"\udc00x"`).String()), T)
	add("escaped key", sign(hdr256, strings.Replace(admin.String(), `"exp"`, `"\u0065xp"`, 1)), T)
	add("white space in the JSON", sign(hdr256, strings.ReplaceAll(strings.ReplaceAll(admin.String(), ",", " ,\n\t"), ":", " : ")), T)
	add("byte order mark before the claims", sign(hdr256, "\ufeff"+admin.String()), T)
	add("trailing data after the claims", sign(hdr256, admin.String()+"x"), T)
	add("trailing white space after the claims", sign(hdr256, admin.String()+" \n"), T)
	add("claims in an array", sign(hdr256, "["+admin.String()+"]"), T)
	add("claims not JSON", sign(hdr256, "not json"), T)
	add("huge number in an unknown claim", sign(hdr256, admin.add("n", "1"+strings.Repeat("0", 400)).String()), T)
	add("too long", sign(hdr256, admin.add("pad", `"`+strings.Repeat("x", sdk.MaxTokenSize)+`"`).String()), T)
	add("just under the size limit", sign(hdr256, admin.add("pad", `"`+strings.Repeat("x", sdk.MaxTokenSize*3/4-700)+`"`).String()), T)

	// The token's text: truncations, bit flips, white space, padding, the
	// other alphabet, extra segments.
	for _, base := range []struct{ name, tok string }{{"admin", valid}, {"checkout", checkout}} {
		tok := base.tok
		h, p, s := parts(tok)
		for _, n := range []int{0, 1, len(h), len(h) + 1, len(h) + 1 + len(p)/2, len(tok) - 44, len(tok) - 43, len(tok) - 2, len(tok) - 1} {
			add(fmt.Sprintf("%s truncated to %d", base.name, n), tok[:n], T)
		}
		for _, i := range []int{0, 5, len(h) - 1, len(h) + 1, len(h) + 30, len(h) + len(p), len(tok) - 43, len(tok) - 20, len(tok) - 1} {
			for _, bit := range []byte{1, 2, 4, 32} {
				b := []byte(tok)
				b[i] ^= bit
				add(fmt.Sprintf("%s with byte %d ^ %d", base.name, i, bit), string(b), T)
			}
		}
		add(base.name+", non-canonical last character", h+"."+p+"."+s[:42]+flipLowBits(s[42]), T)
		for name, m := range map[string]string{
			"leading space": " " + tok, "trailing space": tok + " ", "trailing newline": tok + "\n", "space in the signature": h + "." + p + "." + s[:10] + " " + s[10:],
			"tab in the payload": h + "." + p[:10] + "\t" + p[10:] + "." + s, "CRLF in the signature": h + "." + p + "." + s[:10] + "\r\n" + s[10:],
			"padded signature": tok + "=", "twice padded signature": tok + "==", "padded payload": h + "." + p + "=." + s,
			"standard alphabet": h + "." + p + "." + strings.NewReplacer("-", "+", "_", "/").Replace(s), "signature with a stray character": h + "." + p + "." + s[:5] + "!" + s[5:],
			"signature with a dangling character": tok + "A", "fourth segment": tok + ".", "fourth segment with data": tok + ".x", "leading dot": "." + tok,
			"Bearer prefix": "Bearer " + tok, "empty signature": h + "." + p + ".", "empty payload": h + ".." + s, "empty header": "." + p + "." + s,
			"signature of another token": h + "." + p + "." + sigOf(checkout), "dots only": "..", "no dots": h + p + s,
		} {
			add(base.name+", "+name, m, T)
		}
	}

	// The golang-jwt differential's generated corpus, at its epoch.
	for i, tok := range generatedTokens(t, 1500) {
		add(fmt.Sprintf("generated %d", i), tok, T)
	}
	return out
}

// critHeader reports whether the token's header (decoded leniently, as
// Node does) has a crit member.
func critHeader(token string) bool {
	h, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(h, "="))
	if err != nil {
		return false
	}
	var m map[string]json.RawMessage
	return json.Unmarshal(bytes.TrimPrefix(raw, []byte("\ufeff")), &m) == nil && m["crit"] != nil
}

// shopifyStricterReason returns the deliberate difference that explains
// possession rejecting a token that decodeSessionToken accepts (checked
// only then), or "" if nothing does.
func shopifyStricterReason(token string, now int64) string {
	if r := stricterReason(token); r != "" {
		return r
	}
	segs := strings.Split(token, ".")
	if len(segs) != 3 {
		return ""
	}
	for _, s := range segs {
		if _, err := base64.RawURLEncoding.Strict().DecodeString(s); err != nil {
			return diffB64
		}
	}
	header, _ := base64.RawURLEncoding.DecodeString(segs[0])
	payload, _ := base64.RawURLEncoding.DecodeString(segs[1])
	if bytes.HasPrefix(header, []byte("\ufeff")) || bytes.HasPrefix(payload, []byte("\ufeff")) {
		return diffBOM
	}
	if critHeader(token) {
		return diffCrit
	}
	var claims map[string]any // the last of duplicates, as JSON.parse
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if dec.Decode(&claims) != nil {
		return ""
	}
	if _, ok := claims["exp"]; !ok {
		return diffNoExp
	}
	if n, ok := claims["iat"].(json.Number); ok {
		if iat, err := n.Int64(); err == nil && iat > now+10 {
			return diffIat
		}
	}
	dest, _ := claims["dest"].(string)
	m := refShop.FindStringSubmatch(dest)
	if m == nil {
		return diffHosts
	}
	if iss, present := claims["iss"]; present {
		s, _ := iss.(string)
		if im := refIss.FindStringSubmatch(s); im == nil || im[1] != m[2] {
			return diffHosts
		}
	}
	return ""
}

// TestShopifyDifferential runs the corpus through both, with the audience
// check on and off, and tallies the verdicts.
func TestShopifyDifferential(t *testing.T) {
	ref := startShopifyRef(t, testClientID, testSecret)
	p := newPossession(t)
	// Finding 8 of issue 10 (refuse every crit header) is another
	// change's; until it is in this build, crit tokens are set aside.
	critProbe := signRaw(t, testSecret, `{"alg":"HS256","crit":["b64"],"b64":true}`, adminClaims(epoch.Unix()).String())
	_, critErr := p.verify(t, critProbe, epoch.Unix(), true)
	critRefused := critErr != nil
	corpus := shopifyCorpus(t)
	tally := map[string]int{}
	var setAside int
	for _, checkAudience := range []bool{true, false} {
		for _, c := range corpus {
			if !critRefused && critHeader(c.token) {
				setAside++
				continue
			}
			verdict := ref.decode(t, c.token, c.now, checkAudience)
			s, err := p.verify(t, c.token, c.now, checkAudience)
			label := fmt.Sprintf("%s (audience check %v)", c.name, checkAudience)
			switch {
			case err == nil && verdict.Valid:
				tally["both accept"]++
				compareSession(t, label, s, verdict.Payload)
			case err != nil && !verdict.Valid:
				tally["both reject"]++
			case err == nil:
				t.Errorf("%s: possession accepts what Shopify's library rejects (%s)\ntoken %q", label, verdict.Error, c.token)
			default:
				reason := shopifyStricterReason(c.token, c.now)
				if reason == "" {
					t.Errorf("%s: possession rejects (%v) what Shopify's library accepts, and no deliberate difference explains it\ntoken %q", label, err, c.token)
					continue
				}
				tally["differ deliberately: "+reason]++
			}
		}
	}
	if !critRefused {
		t.Logf("finding 8 (crit) is not in this build: %d crit-header cases set aside; TestShopifyDifferential/crit skips", setAside)
	}
	t.Run("crit", func(t *testing.T) {
		if !critRefused {
			t.Skip("possession accepts crit headers in this build (issue 10, finding 8, is another change's): the crit cases run once it refuses them")
		}
		if setAside != 0 {
			t.Fatal("crit cases set aside in a build that refuses crit")
		}
	})
	keys := make([]string, 0, len(tally))
	for k := range tally {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %5d  %s", tally[k], k)
	}
	t.Logf("verdicts: %d cases x 2 audience settings%s", len(corpus), b.String())
	// The corpus must exercise both sides.
	if tally["both accept"] < 100 || tally["both reject"] < 500 {
		t.Fatalf("too few agreements on either side: %v", tally)
	}
}

// compareSession checks that an accepted token gives the session the
// library's payload says.
func compareSession(t *testing.T, label string, s *sdk.Session, payload map[string]any) {
	t.Helper()
	str := func(k string) string { v, _ := payload[k].(string); return v }
	dest := strings.TrimPrefix(str("dest"), "https://")
	exp, _ := payload["exp"].(json.Number).Int64()
	if s.Shop != dest || s.UserID != str("sub") || s.ClientID != str("aud") || s.TokenID != str("jti") ||
		s.SessionID != str("sid") || s.ExpiresAt.Unix() != exp {
		t.Errorf("%s: both accept, but possession's session %+v differs from the payload %v", label, s, payload)
	}
	wantKind := sdk.KindCheckout
	if strings.HasPrefix(str("dest"), "https://") {
		wantKind = sdk.KindAdmin
	}
	if s.Kind != wantKind {
		t.Errorf("%s: kind %v, want %v", label, s.Kind, wantKind)
	}
}

// TestShopifyDeliberateDifferences pins each difference: Shopify's
// library accepts the token, possession rejects it with the sentinel
// given, and shopifyStricterReason names the reason.
func TestShopifyDeliberateDifferences(t *testing.T) {
	ref := startShopifyRef(t, testClientID, testSecret)
	p := newPossession(t)
	T := epoch.Unix()
	admin := adminClaims(T)
	sign := func(header, payload string) string { return signRaw(t, testSecret, header, payload) }
	valid := sign(hdr256, admin.String())
	h, pl, s := parts(valid)
	tests := []struct {
		reason string
		token  string
		want   error
	}{
		// The golang-jwt differential's nine, against Shopify's library.
		{diffTooLong, sign(hdr256, admin.add("pad", `"`+strings.Repeat("x", sdk.MaxTokenSize)+`"`).String()), sdk.ErrMalformed},
		{diffLineBreak, h + "." + pl + "." + s[:7] + "\r\n" + s[7:], sdk.ErrMalformed},
		{diffNonCanonical, h + "." + pl + "." + s[:42] + flipLowBits(s[42]), sdk.ErrMalformed},
		{diffDuplicateClaim, sign(hdr256, admin.set("exp", num(T-100)).add("exp", num(T+60)).String()), sdk.ErrMalformed},
		{diffDuplicateAlg, sign(`{"alg":"none","alg":"HS256"}`, admin.String()), sdk.ErrMalformed},
		{diffClaimType, sign(hdr256, admin.set("sub", "42").String()), sdk.ErrMalformed},
		{diffTimeNotInt, sign(hdr256, admin.set("exp", "1e400").String()), sdk.ErrMalformed},
		{diffBadUTF8, sign(hdr256, admin.set("sub", "\"42\xff\"").String()), sdk.ErrMalformed},
		{diffDeepJSON, sign(hdr256, admin.add("x", strings.Repeat("[", 40)+strings.Repeat("]", 40)).String()), sdk.ErrMalformed},
		// Shopify's library's own.
		{diffNoExp, sign(hdr256, admin.del("exp").String()), sdk.ErrMalformed},
		{diffIat, sign(hdr256, admin.set("iat", num(T+11)).String()), sdk.ErrNotYetValid},
		{diffHosts, sign(hdr256, admin.set("dest", escaped("https://evil.example")).String()), sdk.ErrIssuer},
		{diffHosts, sign(hdr256, admin.set("iss", escaped("https://other.myshopify.com/admin")).String()), sdk.ErrIssuer},
		{diffHosts, sign(hdr256, admin.del("dest").String()), sdk.ErrIssuer},
		{diffB64, valid + "=", sdk.ErrMalformed},
		{diffB64, h + "." + pl + "." + s[:10] + " " + s[10:], sdk.ErrMalformed},
		{diffBOM, sign(hdr256, "\ufeff"+admin.String()), sdk.ErrMalformed},
		{diffCrit, sign(`{"alg":"HS256","crit":["b64"],"b64":true}`, admin.String()), sdk.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			if got := shopifyStricterReason(tt.token, T); got != tt.reason {
				t.Fatalf("shopifyStricterReason = %q, want %q", got, tt.reason)
			}
			if v := ref.decode(t, tt.token, T, true); !v.Valid {
				t.Fatalf("Shopify's library rejects it (%s): not a difference", v.Error)
			}
			sess, err := p.verify(t, tt.token, T, true)
			if sess != nil || !errors.Is(err, tt.want) {
				t.Fatalf("possession: %v, %v; want %v", sess, err, tt.want)
			}
		})
	}
}

// TestShopifyArrayAudience pins the decision on an array-valued aud (one
// third-party app reports customer-account tokens carrying one; Shopify
// documents aud as the client ID string for every surface, and no
// published token shows an array). With the audience check, Shopify's
// library compares aud with ===, so an array never passes, and neither
// does possession. Without it, the library accepts any aud; possession
// still refuses a non-string aud as ErrMalformed (diffClaimType): the
// strict decoder admits one type per registered claim, and
// Session.ClientID has no value for an array. Should Shopify be shown
// to issue arrays, the change is to accept arrays of strings under
// WithoutAudienceCheck with an empty Session.ClientID.
func TestShopifyArrayAudience(t *testing.T) {
	ref := startShopifyRef(t, testClientID, testSecret)
	p := newPossession(t)
	T := epoch.Unix()
	for _, aud := range []string{`["` + testClientID + `"]`, `["` + testClientID + `","other-app"]`, `[]`} {
		tok := signRaw(t, testSecret, hdr256, customerClaims(T).set("aud", aud).String())
		if v := ref.decode(t, tok, T, true); v.Valid {
			t.Errorf("aud %s: Shopify's library accepts it with the audience check", aud)
		}
		if v := ref.decode(t, tok, T, false); !v.Valid {
			t.Errorf("aud %s: Shopify's library rejects it without the audience check: %s", aud, v.Error)
		}
		for _, check := range []bool{true, false} {
			if _, err := p.verify(t, tok, T, check); !errors.Is(err, sdk.ErrMalformed) {
				t.Errorf("aud %s, audience check %v: %v, want ErrMalformed", aud, check, err)
			}
		}
		if got := shopifyStricterReason(tok, T); got != diffClaimType {
			t.Errorf("aud %s: reason %q, want %q", aud, got, diffClaimType)
		}
	}
}

package webhook

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// queryTolerance is how far a signed query's timestamp may be from now,
// either way: Shopify's libraries allow 90 seconds.
const queryTolerance = 90

// param is one decoded key=value pair of a query, in request order.
type param struct{ key, value string }

// parseQuery splits a raw query ("a=1&b=2", a leading "?" allowed) into
// decoded pairs, as a URL's query is read by browsers and by Shopify's
// JavaScript library (URLSearchParams): pairs separated by "&" (empty ones
// skipped; ";" is no separator), key and value split at the first "=",
// "+" is a space, %XX a byte. Unlike URLSearchParams, a bad %-escape or
// bytes that are not UTF-8 after decoding are refused (ErrQuery) instead
// of passed through or replaced: Shopify never sends them, and a
// signature over a replaced value would not be Shopify's.
func parseQuery(raw string) ([]param, error) {
	raw = strings.TrimPrefix(raw, "?")
	var params []param
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("%w: bad percent-encoding in a parameter name", ErrQuery)
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("%w: bad percent-encoding in parameter %q", ErrQuery, key)
		}
		if !utf8.ValidString(key) || !utf8.ValidString(value) {
			return nil, fmt.Errorf("%w: parameter %q is not UTF-8", ErrQuery, key)
		}
		params = append(params, param{key, value})
	}
	return params, nil
}

// grouped is a query's values by key, keys in byte order, each key's
// values in request order.
type grouped struct {
	keys   []string
	values map[string][]string
}

func group(params []param) grouped {
	g := grouped{values: make(map[string][]string, len(params))}
	for _, p := range params {
		if _, seen := g.values[p.key]; !seen {
			g.keys = append(g.keys, p.key)
		}
		g.values[p.key] = append(g.values[p.key], p.value)
	}
	slices.Sort(g.keys)
	return g
}

// one returns key's single value; "" when absent.
func (g grouped) one(key string) string {
	if v := g.values[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// urlValues returns the query's values without the keys in skip.
func (g grouped) urlValues(skip ...string) url.Values {
	out := make(url.Values, len(g.keys))
	for _, k := range g.keys {
		if !slices.Contains(skip, k) {
			out[k] = slices.Clone(g.values[k])
		}
	}
	return out
}

// refuseRepeated refuses a repeated value of any of keys.
func (g grouped) refuseRepeated(keys ...string) error {
	for _, k := range keys {
		if n := len(g.values[k]); n > 1 {
			return fmt.Errorf("%w: %q appears %d times", ErrDuplicateParam, k, n)
		}
	}
	return nil
}

// appProxyMessage is what Shopify signs for an app proxy request: the
// pairs without signature (and hmac, which Shopify's library drops too),
// sorted by key, each as key=value with a repeated key's values joined by
// ",", concatenated with nothing between them.
func appProxyMessage(g grouped) []byte {
	var b []byte
	for _, k := range g.keys {
		if k == "signature" || k == "hmac" {
			continue
		}
		b = append(b, k...)
		b = append(b, '=')
		for i, v := range g.values[k] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, v...)
		}
	}
	return b
}

// oauthMessage is what Shopify signs for an OAuth (admin) request: the
// pairs without hmac and signature, sorted by key, each
// form-urlencoded with %20 for a space, joined by "&". g holds no
// repeated key (the caller refused them).
func oauthMessage(g grouped) []byte {
	var b []byte
	for _, k := range g.keys {
		if k == "hmac" || k == "signature" {
			continue
		}
		if len(b) > 0 {
			b = append(b, '&')
		}
		b = appendFormEncoded(b, k)
		b = append(b, '=')
		b = appendFormEncoded(b, g.values[k][0])
	}
	return b
}

// appendFormEncoded appends s percent-encoded as the WHATWG URL standard's
// application/x-www-form-urlencoded serializer does (what
// URLSearchParams.toString produces: ASCII letters, digits and *-._ stay,
// every other byte is %XX in upper case), except that a space is %20, not
// "+": Shopify signs with %20 (Shopify/shopify-app-js#3102).
func appendFormEncoded(b []byte, s string) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '*', c == '-', c == '.', c == '_':
			b = append(b, c)
		default:
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}

// checkTimestamp reads a decimal Unix time and checks it is within 90 s of
// now.
func checkTimestamp(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("%w: timestamp", ErrMissingParam)
	}
	if len(s) > 18 {
		return time.Time{}, fmt.Errorf("%w: timestamp is not a Unix time", ErrTimestamp)
	}
	var ts int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return time.Time{}, fmt.Errorf("%w: timestamp is not a decimal Unix time", ErrTimestamp)
		}
		ts = ts*10 + int64(c-'0')
	}
	if d := now.Unix() - ts; d > queryTolerance || d < -queryTolerance {
		return time.Time{}, fmt.Errorf("%w: timestamp is %d s from now, more than %d", ErrTimestamp, d, queryTolerance)
	}
	return time.Unix(ts, 0), nil
}

// checkSigned checks a signed query: its signature, the lower-case hex
// HMAC-SHA256 in parameter sig of message(g) (computed only once the
// cheaper checks pass), and its timestamp. It returns the timestamp and
// the ID of the key that signed, or an error wrapping ErrMissingParam,
// ErrTimestamp, ErrNoKeys or ErrSignature (whose message names what, as
// "OAuth hmac").
func (v *Verifier) checkSigned(g grouped, sig string, message func(grouped) []byte, what string) (time.Time, string, error) {
	mac := g.one(sig)
	if mac == "" {
		return time.Time{}, "", fmt.Errorf("%w: %s", ErrMissingParam, sig)
	}
	ts, err := checkTimestamp(g.one("timestamp"), v.cfg.now())
	if err != nil {
		return time.Time{}, "", err
	}
	set, err := v.macSet()
	if err != nil {
		return time.Time{}, "", err
	}
	i := set.matchHex(message(g), mac)
	if i < 0 {
		return time.Time{}, "", fmt.Errorf("%w: %s does not match the query", ErrSignature, what)
	}
	return ts, set.keys[i].id, nil
}

// shopParam returns the query's shop parameter, which must be present
// and a myshopify.com domain.
func shopParam(g grouped) (string, error) {
	shop := g.one("shop")
	switch {
	case shop == "":
		return "", fmt.Errorf("%w: shop", ErrMissingParam)
	case !validShop(shop):
		return "", fmt.Errorf("%w: shop %q is not a myshopify.com domain", ErrQuery, shop)
	}
	return shop, nil
}

// validShop reports whether s is a shop's myshopify.com domain: one DNS
// label of lower-case letters, digits and hyphens, then ".myshopify.com".
func validShop(s string) bool {
	label, ok := strings.CutSuffix(s, ".myshopify.com")
	if !ok || label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
		return false
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

package sdk

import (
	"strings"
	"testing"

	"github.com/possession-dev/possession/sdk/internal/token"
)

// refHosts is the dest/iss rule written plainly, as checkHosts did before
// it was made fast: split each URL at its scheme and at the first '/',
// '?' or '#', then compare. It returns the shop domain and whether dest
// had the scheme, or ok == false.
func refHosts(dest, iss string, hasIss bool, suffixes []string) (host string, scheme, ok bool) {
	split := func(v string) (host, rest string, scheme, ok bool) {
		if after, found := strings.CutPrefix(v, "https://"); found {
			v, scheme = after, true
		} else if strings.Contains(v, "://") {
			return "", "", false, false
		}
		if i := strings.IndexAny(v, "/?#"); i >= 0 {
			return v[:i], v[i:], scheme, v[:i] != ""
		}
		return v, "", scheme, v != ""
	}
	label := func(s string) bool {
		if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
			return false
		}
		for _, c := range []byte(s) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		return true
	}
	destHost, rest, scheme, ok := split(dest)
	if !ok || rest != "" {
		return "", false, false
	}
	shop := false
	for _, s := range suffixes {
		if l, found := strings.CutSuffix(destHost, s); found && label(l) {
			shop = true
		}
	}
	if !shop {
		return "", false, false
	}
	if hasIss {
		issHost, _, issScheme, ok := split(iss)
		if !ok || !issScheme || issHost != destHost {
			return "", false, false
		}
	}
	return destHost, scheme, true
}

// FuzzHostChecks holds checkHosts to refHosts on any dest and iss.
func FuzzHostChecks(f *testing.F) {
	for _, c := range [][2]string{
		{"https://shop.myshopify.com", "https://shop.myshopify.com/admin"},
		{"shop.myshopify.com", "https://shop.myshopify.com/checkouts"},
		{"https://shop.myshopify.com", "https://shop.myshopify.com"},
		{"https://shop.myshopify.com", "https://shop.myshopify.com?x"},
		{"https://shop.myshopify.com", "https://shop.myshopify.com#x"},
		{"https://shop.myshopify.com", "https://shop.myshopify.com.evil.com/admin"},
		{"https://shop.myshopify.com", "https://shop.myshopify.com:443/admin"},
		{"https://shop.myshopify.com", "http://shop.myshopify.com/admin"},
		{"https://shop.myshopify.com", "https://user@shop.myshopify.com/admin"},
		{"http://shop.myshopify.com", ""}, {"https://shop.myshopify.com/", ""}, {"https://", ""},
		{"https://-shop.myshopify.com", ""}, {"https://a.b.myshopify.com", ""}, {"https://Shop.myshopify.com", ""},
		{"https://dev.shopify-dev.io", "https://dev.shopify-dev.io/admin"}, {"https://myshopify.com", ""},
		{"https://" + strings.Repeat("a", 64) + ".myshopify.com", ""}, {"https://https://shop.myshopify.com", ""},
	} {
		f.Add(c[0], c[1], true)
		f.Add(c[0], c[1], false)
	}
	v := &Verifier{cfg: config{shopSuffixes: withDefaultSuffix([]string{".shopify-dev.io"})}}
	f.Fuzz(func(t *testing.T, dest, iss string, hasIss bool) {
		// dest and iss laid out in one buffer, as in a decoded payload.
		buf := []byte(dest + iss)
		c := claimsWith(len(dest), len(iss), hasIss)
		sp, kind, err := v.checkHosts(&c, buf)
		host, scheme, ok := refHosts(dest, iss, hasIss, v.cfg.shopSuffixes)
		if (err == nil) != ok {
			t.Fatalf("dest %q, iss %q (%v): checkHosts error %v, reference ok %v", dest, iss, hasIss, err, ok)
		}
		if ok && (string(sp.Bytes(buf)) != host || (kind == KindAdmin) != scheme) {
			t.Fatalf("dest %q, iss %q: host %q kind %v, reference %q scheme %v", dest, iss, sp.Bytes(buf), kind, host, scheme)
		}
	})
}

// claimsWith returns claims whose dest is buf[:destLen] and iss the
// issLen bytes after it, if hasIss.
func claimsWith(destLen, issLen int, hasIss bool) token.Claims {
	c := token.Claims{Has: token.HasDest, Dest: token.Span{Start: 0, End: int32(destLen)}}
	if hasIss {
		c.Has |= token.HasIss
		c.Iss = token.Span{Start: int32(destLen), End: int32(destLen + issLen)}
	}
	return c
}

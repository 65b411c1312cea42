package sdk

import "strings"

// splitURL splits a dest or iss value into host and the rest (path, query
// or fragment). The scheme, when present, must be https.
func splitURL(v string) (host, rest string, hasScheme, ok bool) {
	if after, found := strings.CutPrefix(v, "https://"); found {
		v, hasScheme = after, true
	} else if strings.Contains(v, "://") {
		return "", "", false, false
	}
	host = v
	for i := 0; i < len(v); i++ { // strings.IndexAny builds a set per call
		if c := v[i]; c == '/' || c == '?' || c == '#' {
			host, rest = v[:i], v[i:]
			break
		}
	}
	return host, rest, hasScheme, host != ""
}

// isShopDomain reports whether host is a single DNS label followed by one
// of the allowed suffixes: "example.myshopify.com". Suffixes start with a
// dot, which no label holds: the label is host's longest prefix of label
// characters, and the rest must be a suffix.
func isShopDomain(host string, suffixes []string) bool {
	n := 0
	for n < len(host) && labelChars[host[n]] {
		n++
	}
	if n == 0 || n > 63 || host[0] == '-' || host[n-1] == '-' {
		return false
	}
	for _, suffix := range suffixes {
		if host[n:] == suffix {
			return true
		}
	}
	return false
}

// labelChars are the characters of a shop handle's DNS label.
var labelChars = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	return t
}()

// onHost reports whether u is an https URL on host (a shop domain): its
// host, up to the first '/', '?' or '#', is host.
func onHost(u, host string) bool {
	const scheme = "https://"
	if len(u) < len(scheme)+len(host) || u[:len(scheme)] != scheme || u[len(scheme):len(scheme)+len(host)] != host {
		return false
	}
	if rest := u[len(scheme)+len(host):]; rest != "" {
		return rest[0] == '/' || rest[0] == '?' || rest[0] == '#'
	}
	return true
}

// isLabel reports whether s is one lower-case DNS label (shop handles are
// lower-case letters, digits and hyphens).
func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !labelChars[s[i]] {
			return false
		}
	}
	return true
}

// isHostname reports whether s is a dot-separated sequence of labels.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !isLabel(label) {
			return false
		}
	}
	return true
}

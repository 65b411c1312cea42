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

// isShopDomain reports whether host is a single DNS label followed by one of
// the allowed suffixes: "example.myshopify.com".
func isShopDomain(host string, suffixes []string) bool {
	for _, suffix := range suffixes {
		if label, found := strings.CutSuffix(host, suffix); found && isLabel(label) {
			return true
		}
	}
	return false
}

// isLabel reports whether s is one lower-case DNS label (shop handles are
// lower-case letters, digits and hyphens).
func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
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

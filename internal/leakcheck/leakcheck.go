// Package leakcheck tells whether a piece of text (a formatted value, a
// log line, an error message) reveals a secret in any rendering fmt, JSON
// or a logger produces: the bytes as text, quoted or spaced out (%c),
// hexadecimal, base64, and lists of byte values in decimal, octal, hex,
// binary or as Unicode code points (what %d, %o, %x, %U and the badverb
// fallback %!s(uint8=115) print of a []byte). The core's redaction tests
// use it; it is not for production code.
package leakcheck

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
)

// Window is the length of the runs of secret bytes searched for: a
// rendering that shows any Window consecutive bytes of the secret leaks.
const Window = 6

// Find returns the name of a rendering of secret that text contains
// ("literal", "hex", "decimal list", ...), or "" if it contains none.
// Secrets shorter than Window are searched as a whole.
func Find(text string, secret []byte) string {
	if len(secret) == 0 {
		return ""
	}
	w := min(Window, len(secret))
	lower := strings.ToLower(text)
	squeezed := squeeze(text)
	for i := 0; i+w <= len(secret); i++ {
		run := secret[i : i+w]
		switch {
		case strings.Contains(text, string(run)):
			return "literal"
		case strings.Contains(squeezed, string(run)):
			return "spaced-out characters"
		case strings.Contains(lower, hex.EncodeToString(run)):
			return "hex"
		}
	}
	// The base64 of anything that contains the secret contains the
	// encoding of every run of 6 secret bytes that starts on a 3-byte
	// group boundary: one of any three consecutive runs does.
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for i := 0; i+6 <= len(secret); i++ {
			if strings.Contains(text, enc.EncodeToString(secret[i:i+6])) {
				return "base64"
			}
		}
	}
	for base, name := range map[int]string{10: "decimal list", 8: "octal list", 16: "hex list", 2: "binary list"} {
		if containsRun(numbers(text, base), secret, w) {
			return name
		}
	}
	return ""
}

// squeeze drops the separators fmt puts between the elements of a
// formatted slice (%c prints [s h p s s]).
func squeeze(text string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', ',', '\'', '[', ']', '{', '}', '\n', '\t':
			return -1
		}
		return r
	}, text)
}

// numbers reads the runs of alphanumeric characters of text that are
// numbers in base (accepting the 0x, 0o and U+ prefixes fmt writes), and
// skips the others: the badverb fallback interleaves the values with type
// names, %!s(uint8=115).
func numbers(text string, base int) []int {
	var out []int
	fields := strings.FieldsFunc(text, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '+')
	})
	for _, f := range fields {
		f = strings.TrimPrefix(f, "U+")
		switch base {
		case 16:
			f = strings.TrimPrefix(strings.TrimPrefix(f, "0x"), "0X")
		case 8:
			f = strings.TrimPrefix(strings.TrimPrefix(f, "0o"), "0O")
		}
		if v, err := strconv.ParseInt(f, base, 64); err == nil {
			out = append(out, int(v))
		}
	}
	return out
}

// containsRun reports whether nums holds w consecutive bytes of secret.
func containsRun(nums []int, secret []byte, w int) bool {
	for i := 0; i+w <= len(secret); i++ {
		for j := 0; j+w <= len(nums); j++ {
			k := 0
			for k < w && nums[j+k] == int(secret[i+k]) {
				k++
			}
			if k == w {
				return true
			}
		}
	}
	return false
}

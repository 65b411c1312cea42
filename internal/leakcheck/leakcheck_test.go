package leakcheck_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/possession-dev/possession/internal/leakcheck"
)

// Every rendering fmt, JSON and base64 give a secret's bytes is found,
// inside other text and from any offset; text without the secret is not.
func TestFind(t *testing.T) {
	secret := []byte("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")
	part := secret[5:20]
	renderings := map[string]string{}
	for _, verb := range []string{"%s", "%q", "%+q", "%x", "%X", "% x", "%#x", "%d", "%o", "%O", "%b", "%c", "%U", "%v", "%#v", "%t", "%e", "%f", "%g"} {
		renderings["bytes "+verb] = fmt.Sprintf(verb, part)
		renderings["padded string "+verb] = fmt.Sprintf("x "+verb+" y", "--"+string(part)+"--")
	}
	b, _ := json.Marshal(part) // base64
	renderings["json"] = string(b)
	for off := range 3 {
		prefix := []byte("xyz"[:off])
		renderings[fmt.Sprintf("base64 at offset %d", off)] = base64.StdEncoding.EncodeToString(append(prefix, part...))
		renderings[fmt.Sprintf("base64url at offset %d", off)] = base64.RawURLEncoding.EncodeToString(append(prefix, part...))
	}
	for name, text := range renderings {
		if leakcheck.Find(text, secret) == "" {
			t.Errorf("%s: %q not found", name, text)
		}
	}
	for _, clean := range []string{"", "[REDACTED]", "keysource.Secret([REDACTED])", "{0xc000012345}", "0xc00001a0f0 0xc0000a2b40", "&{p:0xc00001a0f0}", "static:current", fmt.Sprintf("%d", []byte("other-secret-value"))} {
		if got := leakcheck.Find(clean, secret); got != "" {
			t.Errorf("%q: found as %s", clean, got)
		}
	}
}

package keysource_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/possession-dev/possession/keysource"
)

func ExampleStatic() {
	// Current secret first, then the one being rotated out.
	src, err := keysource.Static("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", "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")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range src.Keyring().Keys() {
		fmt.Println(k.ID, k.Secret) // a Secret never prints itself
	}

	// No secret, an empty one, or one that cannot be a Shopify client
	// secret is an error, not a source that fails every request.
	_, err = keysource.Static("")
	fmt.Println(err)
	_, err = keysource.Static("your-secret")
	fmt.Println(err)
	// Output:
	// static:current [REDACTED]
	// static:previous [REDACTED]
	// keysource: static: key 0 (id "static:current"): keysource: empty secret
	// keysource: static: key 0 (id "static:current"): keysource: not a Shopify client secret: 11 bytes, and Shopify client secrets have at least 32
}

func ExampleEnv() {
	os.Setenv("SHOPIFY_API_SECRET", "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\n")
	os.Setenv("SHOPIFY_API_SECRET_PREVIOUS", "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")
	defer os.Unsetenv("SHOPIFY_API_SECRET")
	defer os.Unsetenv("SHOPIFY_API_SECRET_PREVIOUS")

	src, err := keysource.Env("SHOPIFY_API_SECRET")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range src.Keyring().Keys() {
		fmt.Println(k.ID)
	}

	_, err = keysource.Env("SHOPIFY_API_SECRET_MISSING")
	fmt.Println(err)
	// Output:
	// env:current
	// env:previous
	// keysource: environment variable not set: SHOPIFY_API_SECRET_MISSING
}

func ExampleFile() {
	dir, _ := os.MkdirTemp("", "possession-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "shopify-secret") // e.g. a mounted Kubernetes Secret
	_ = os.WriteFile(path, []byte("# current, then the previous secret during a rotation\n"+
		"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\n"+
		"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\n"), 0o600)

	src, err := keysource.File(path, keysource.WithErrorHandler(func(err error) {
		fmt.Println("reload failed, keeping last good keys:", err)
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close() // stops watching

	for _, k := range src.Keyring().Keys() {
		fmt.Println(k.ID)
	}
	// Output:
	// file:current
	// file:previous
}

func ExampleSecret() {
	s := keysource.NewSecret("shpss_0123")
	fmt.Printf("%v %s %q %x %#v\n", s, s, s, s, s)
	// Output: [REDACTED] [REDACTED] [REDACTED] [REDACTED] keysource.Secret([REDACTED])
}

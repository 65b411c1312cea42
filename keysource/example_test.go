package keysource_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/possession-dev/possession/keysource"
)

func ExampleStatic() {
	// Current secret first, then the one being rotated out.
	src, err := keysource.Static("new-client-secret", "old-client-secret")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range src.Keyring().Keys() {
		fmt.Println(k.ID, k.Secret) // a Secret never prints itself
	}

	// No secret, or an empty one, is an error, not a source that fails
	// every request.
	_, err = keysource.Static("")
	fmt.Println(err)
	// Output:
	// static:current [REDACTED]
	// static:previous [REDACTED]
	// keysource: static: keysource: empty secret: key 0 (id "static:current")
}

func ExampleEnv() {
	os.Setenv("SHOPIFY_API_SECRET", "new-client-secret\n")
	os.Setenv("SHOPIFY_API_SECRET_PREVIOUS", "old-client-secret")
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
	_ = os.WriteFile(path, []byte("new-client-secret\nold-client-secret\n"), 0o600)

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

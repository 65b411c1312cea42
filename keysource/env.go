package keysource

import (
	"fmt"
	"os"
)

// Env reads the current secret from the environment variable name and, when
// set and not blank, the previous secret from name+"_PREVIOUS" (during a
// rotation). Key IDs are "env:current" and "env:previous" (see the package
// doc). Surrounding white space and a leading UTF-8 byte order mark are
// trimmed; a secret that cannot be a Shopify client secret (shorter than
// MinSecretLen, white space or a control character inside) is an error
// wrapping ErrInvalidSecret that names the variable, never its value. The
// environment is read once: restart the process to change it.
func Env(name string, opts ...Option) (Source, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	current, ok := os.LookupEnv(name)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotSet, name)
	}
	vars := []struct{ name, value string }{{name, trimSecret(current)}}
	if prev, ok := os.LookupEnv(name + "_PREVIOUS"); ok && trimSecret(prev) != "" {
		vars = append(vars, struct{ name, value string }{name + "_PREVIOUS", trimSecret(prev)})
	}
	keys := make([]Key, len(vars))
	for i, v := range vars {
		if err := checkSecret(v.value); err != nil {
			return nil, fmt.Errorf("keysource: env %s: %w", v.name, err)
		}
		keys[i] = Key{ID: keyID("env", i), ClientID: cfg.clientID, Secret: NewSecret(v.value)}
	}
	ring, err := NewKeyring(cfg.now(), keys...)
	if err != nil {
		return nil, fmt.Errorf("keysource: env %s: %w", name, err)
	}
	return staticSource{ring: ring}, nil
}

package keysource

import (
	"fmt"
	"os"
	"strings"
)

// Env reads the current secret from the environment variable name and, when
// set, the previous secret from name+"_PREVIOUS" (during a rotation). Key IDs
// are "env:current" and "env:previous" (see the package doc). Surrounding
// whitespace is trimmed. The environment is read once: restart the process
// to change it.
func Env(name string, opts ...Option) (Source, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	current, ok := os.LookupEnv(name)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotSet, name)
	}
	keys := []Key{{ID: keyID("env", 0), ClientID: cfg.clientID, Secret: NewSecret(strings.TrimSpace(current))}}
	if prev, ok := os.LookupEnv(name + "_PREVIOUS"); ok && strings.TrimSpace(prev) != "" {
		keys = append(keys, Key{ID: keyID("env", 1), ClientID: cfg.clientID, Secret: NewSecret(strings.TrimSpace(prev))})
	}
	ring, err := NewKeyring(cfg.now(), keys...)
	if err != nil {
		return nil, fmt.Errorf("keysource: env %s: %w", name, err)
	}
	return staticSource{ring: ring}, nil
}

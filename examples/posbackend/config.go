package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
)

// Errors of configuration, for tests and for a clear message.
var (
	errUsage          = errors.New("posbackend: usage")
	errSeveralSources = errors.New("posbackend: choose one key source")
	errNoClientID     = errors.New("posbackend: -client-id is required with a real secret")
	errBadOrigin      = errors.New("posbackend: bad -allowed-origin")
	errDevNotLoopback = errors.New("posbackend: development mode listens on loopback only")
)

// Shopify's documented origins of POS UI extension requests.
var defaultOrigins = []string{"https://extensions.shopifycdn.com", "https://cdn.shopify.com"}

type config struct {
	addr           string
	clientID       string
	secretEnv      string // name of the variable holding the secret
	secretFile     string
	allowedOrigins []string
	// Further key sources go here, e.g. awsSecretID for -aws-secret-id
	// (keysource/awssm), chosen in openKeySource.
}

// dev reports whether no key source is configured: development mode.
func (c config) dev() bool { return c.secretEnv == "" && c.secretFile == "" }

type originsFlag struct{ list *[]string }

func (f originsFlag) String() string {
	if f.list == nil {
		return ""
	}
	return strings.Join(*f.list, ",")
}

func (f originsFlag) Set(v string) error {
	for o := range strings.SplitSeq(v, ",") {
		if o = strings.TrimSpace(o); o != "" {
			*f.list = append(*f.list, o)
		}
	}
	return nil
}

// parseConfig reads flags; getenv supplies defaults from the environment.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("posbackend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	fs.StringVar(&c.clientID, "client-id", getenv("SHOPIFY_API_KEY"), "the app's client ID (API key); tokens must carry it as aud (default $SHOPIFY_API_KEY)")
	fs.StringVar(&c.secretEnv, "secret-env", "", "name of the environment variable holding the app's client secret (NAME_PREVIOUS holds the previous one during a rotation)")
	fs.StringVar(&c.secretFile, "secret-file", "", "file holding the app's client secret (current first, then previous, one per line); reloaded on change")
	fs.Var(originsFlag{&c.allowedOrigins}, "allowed-origin", "origin allowed to call /api from a browser (repeatable or comma-separated; \"*\" for any; default: Shopify's extension origins)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: posbackend [flags]

With no -secret-env or -secret-file, posbackend runs in DEVELOPMENT MODE on
127.0.0.1 with a random secret and prints a curl command to try it.

Examples:
  posbackend
  SHOPIFY_API_SECRET=... posbackend -client-id abc123 -secret-env SHOPIFY_API_SECRET -addr :8080
  posbackend -client-id abc123 -secret-file /run/secrets/shopify -allowed-origin https://extensions.shopifycdn.com

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return c, c.validate()
}

func (c *config) validate() error {
	if c.secretEnv != "" && c.secretFile != "" {
		return fmt.Errorf("%w: -secret-env and -secret-file are both set", errSeveralSources)
	}
	if !c.dev() && c.clientID == "" {
		return errNoClientID
	}
	if len(c.allowedOrigins) == 0 {
		c.allowedOrigins = defaultOrigins
	}
	for _, o := range c.allowedOrigins {
		if err := checkOrigin(o); err != nil {
			return err
		}
	}
	if c.dev() {
		host, _, err := net.SplitHostPort(c.addr)
		if err != nil {
			return fmt.Errorf("%w: -addr %q: %w", errUsage, c.addr, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%w: -addr %q; configure -secret-env or -secret-file to listen elsewhere", errDevNotLoopback, c.addr)
		}
	}
	return nil
}

// checkOrigin accepts "*" and scheme://host[:port].
func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%w: %q is not scheme://host[:port]", errBadOrigin, o)
	}
	return nil
}

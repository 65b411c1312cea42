package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
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

// defaultAPIVersion is the Admin API version this example's queries are
// written against: chosen here, by the program, as admin requires.
const defaultAPIVersion = "2026-10"

// Shopify's documented origins of POS UI extension requests.
var defaultOrigins = []string{"https://extensions.shopifycdn.com", "https://cdn.shopify.com"}

type config struct {
	addr           string
	clientID       string
	secretEnv      string // name of the variable holding the secret
	secretFile     string
	allowedOrigins []string
	awsSecretID    string // AWS Secrets Manager secret name or ARN
	awsJSONField   string // JSON field of the secret holding the client secret
	store          string // where tokens and ingested transactions are kept
	storePath      string // -store sqlite's file
	storeURL       string // -store redis / postgres's URL
	apiVersion     string // Admin API version
	shopifyURL     string // base URL replacing https://{shop}; "" for Shopify
	logLevel       slog.Level
	// telemetry is set by run when the OTEL_* variables configure an
	// exporter: only then does otelhttp instrument each request.
	telemetry bool
}

// dev reports whether no key source is configured: development mode.
func (c config) dev() bool { return c.secretEnv == "" && c.secretFile == "" && c.awsSecretID == "" }

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
	fs.StringVar(&c.awsSecretID, "aws-secret-id", "", "AWS Secrets Manager secret (name or ARN) holding the app's client secret; AWSCURRENT and AWSPREVIOUS are used; AWS config from the default chain (AWS_REGION, AWS_ENDPOINT_URL, ...)")
	fs.StringVar(&c.awsJSONField, "aws-json-field", "", "with -aws-secret-id: the JSON field holding the secret, e.g. SHOPIFY_API_SECRET (default: the whole value)")
	fs.StringVar(&c.store, "store", storeSQLite, "where shop tokens (encrypted) and ingested transactions are kept: sqlite (one machine; -store-path), redis or postgres (a fleet; -store-url; redis also shares each shop's Admin API cost budget across the fleet), memory (one process, lost on restart)")
	fs.StringVar(&c.storePath, "store-path", "", "with -store sqlite: the database file (default "+defaultSQLitePath+"; a temporary file in development mode)")
	fs.StringVar(&c.storeURL, "store-url", "", "with -store redis: redis://host:port/db; with -store postgres: postgres://user:password@host:port/db")
	fs.StringVar(&c.apiVersion, "api-version", defaultAPIVersion, "Shopify Admin API version the backend's queries are written against")
	fs.StringVar(&c.shopifyURL, "shopify-url", "", "send token and Admin API requests to this base URL (scheme://host[:port], the shop as Host) instead of https://{shop}: a shopifytest fake or a proxy (development mode runs its own fake)")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "debug, info, warn or error; debug logs every request and every rejection (a line each: mind the volume)")
	fs.Var(originsFlag{&c.allowedOrigins}, "allowed-origin", "origin allowed to call /api from a browser (repeatable or comma-separated; \"*\" for any; default: Shopify's extension origins)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: posbackend [flags]

With no -secret-env, -secret-file or -aws-secret-id, posbackend runs in
DEVELOPMENT MODE on 127.0.0.1 with a random secret and an in-process fake
of Shopify (shopifytest: token exchange, Admin API), and prints curl
commands that go through the whole flow.

Telemetry follows the standard OTEL_* variables: for example
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 exports traces and metrics
over OTLP/HTTP; OTEL_TRACES_EXPORTER=console prints spans. Every request is
traced unless a sampler says otherwise: under load, sample, e.g.
OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.01.
With no exporter configured, requests are not instrumented at all.

Examples:
  posbackend
  SHOPIFY_API_SECRET=... posbackend -client-id abc123 -secret-env SHOPIFY_API_SECRET -addr :8080
  posbackend -client-id abc123 -secret-file /run/secrets/shopify -allowed-origin https://extensions.shopifycdn.com
  AWS_REGION=us-east-1 posbackend -client-id abc123 -aws-secret-id prod/shopify -aws-json-field SHOPIFY_API_SECRET
  posbackend -client-id abc123 -secret-env SHOPIFY_API_SECRET -store redis -store-url redis://10.0.0.5:6379/0

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
	n := 0
	for _, set := range []string{c.secretEnv, c.secretFile, c.awsSecretID} {
		if set != "" {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("%w: set one of -secret-env, -secret-file and -aws-secret-id", errSeveralSources)
	}
	if c.awsJSONField != "" && c.awsSecretID == "" {
		return fmt.Errorf("%w: -aws-json-field needs -aws-secret-id", errUsage)
	}
	if !c.dev() && c.clientID == "" {
		return errNoClientID
	}
	switch c.store {
	case "":
		c.store = storeMemory // a config built in code, not from flags
	case storeMemory, storeSQLite:
	case storeRedis, storePostgres:
		if c.storeURL == "" {
			return fmt.Errorf("%w: -store %s needs -store-url", errUsage, c.store)
		}
	default:
		return fmt.Errorf("%w: -store %q (known: sqlite, redis, postgres, memory)", errUsage, c.store)
	}
	if c.storePath != "" && c.store != storeSQLite {
		return fmt.Errorf("%w: -store-path is for -store sqlite", errUsage)
	}
	if c.apiVersion == "" {
		c.apiVersion = defaultAPIVersion
	}
	if c.shopifyURL != "" {
		if err := checkOrigin(c.shopifyURL); err != nil || c.shopifyURL == "*" {
			return fmt.Errorf("%w: -shopify-url %q is not scheme://host[:port]", errUsage, c.shopifyURL)
		}
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
			return fmt.Errorf("%w: -addr %q; configure a secret to listen elsewhere", errDevNotLoopback, c.addr)
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

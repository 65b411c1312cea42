package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
)

// env is the process as the commands see it; tests supply their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
}

// Exit codes; see the package comment.
const (
	exitOK           = 0
	exitFailure      = 1
	exitUsage        = 2
	exitNoSecret     = 3
	exitMalformed    = 10
	exitAlgorithm    = 11
	exitSignature    = 12
	exitExpired      = 13
	exitNotYetValid  = 14
	exitAudience     = 15
	exitIssuer       = 16
	exitKind         = 17
	defaultSecretEnv = "SHOPIFY_API_SECRET"
	defaultClientEnv = "SHOPIFY_API_KEY"
)

// exitCode maps a Verify error to the command's exit code.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, sdk.ErrMalformed):
		return exitMalformed
	case errors.Is(err, sdk.ErrAlgorithm):
		return exitAlgorithm
	case errors.Is(err, sdk.ErrSignature):
		return exitSignature
	case errors.Is(err, sdk.ErrExpired):
		return exitExpired
	case errors.Is(err, sdk.ErrNotYetValid):
		return exitNotYetValid
	case errors.Is(err, sdk.ErrAudience):
		return exitAudience
	case errors.Is(err, sdk.ErrIssuer):
		return exitIssuer
	case errors.Is(err, sdk.ErrKind):
		return exitKind
	case errors.Is(err, sdk.ErrNoKeys):
		return exitNoSecret
	}
	return exitFailure
}

const usage = `possession: inspect, verify and mint Shopify session tokens.

Usage:
  possession inspect [flags] [TOKEN|-]   decode without trusting; list the rules that would fail
  possession verify  [flags] [TOKEN|-]   verify with your app's secret
  possession mint    [flags]             mint a development token
  possession help                        this text

TOKEN "-" or no TOKEN reads the token from standard input, which keeps it
out of your shell history. Run "possession COMMAND -h" for a command's flags.

Examples:
  pbpaste | possession inspect
  possession inspect -client-id abc123 eyJhbGciOi...
  SHOPIFY_API_SECRET=... possession verify -client-id abc123 eyJhbGciOi...
  possession verify -secret-file /run/secrets/shopify -client-id abc123 - < token.txt
  TOKEN=$(SHOPIFY_API_SECRET=$DEV_SECRET possession mint -client-id abc123 -shop demo.myshopify.com -user 7)
  SHOPIFY_API_SECRET=$DEV_SECRET possession mint -client-id abc123 -issued -2h   # an expired token, for tests

Exit codes:
  0   success (verify: valid; inspect: every rule it can check passes)
  1   other failure             2   usage error
  3   no usable secret (variable unset, file missing or empty)
  10  malformed                 14  not yet valid (nbf/iat)
  11  algorithm is not HS256    15  wrong audience (aud)
  12  signature mismatch        16  wrong issuer or destination (iss/dest)
  13  expired                   17  kind not accepted (verify -kinds)
`

func run(args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "inspect":
		return runInspect(args[1:], e)
	case "verify":
		return runVerify(args[1:], e)
	case "mint":
		return runMint(args[1:], e)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "possession: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// newFlagSet returns a flag set whose help goes to stdout (asked for) and
// whose errors go to stderr.
func newFlagSet(name, synopsis, examples string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: possession %s %s\n\nExamples:\n%s\nFlags:\n", name, synopsis, examples)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; done reports that the command must return code.
func parseFlags(fs *flag.FlagSet, args []string, e env) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(e.stdout)
		fs.Usage()
		return exitOK, true
	case err != nil:
		fmt.Fprintf(e.stderr, "possession %s: %v\n", fs.Name(), err)
		fs.SetOutput(e.stderr)
		fs.Usage()
		return exitUsage, true
	}
	return 0, false
}

// readToken returns the token argument, or reads it from stdin for "-" or
// no argument.
func readToken(fs *flag.FlagSet, e env) (string, error) {
	switch fs.NArg() {
	case 0:
	case 1:
		if fs.Arg(0) != "-" {
			return strings.TrimSpace(fs.Arg(0)), nil
		}
	default:
		return "", fmt.Errorf("want one TOKEN, got %d arguments", fs.NArg())
	}
	r := bufio.NewReader(io.LimitReader(e.stdin, 64*1024))
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read token from stdin: %w", err)
	}
	token := strings.TrimSpace(line)
	// Accept a pasted header line too.
	if f := strings.Fields(token); len(f) == 2 && strings.EqualFold(f[0], "Bearer") {
		token = f[1]
	}
	if token == "" {
		return "", errors.New("no token on stdin")
	}
	return token, nil
}

// secretFlags are the flags that choose where the secret comes from.
type secretFlags struct {
	envName string
	file    string
}

func (s *secretFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.envName, "secret-env", defaultSecretEnv, "environment variable holding the app's client secret (NAME_PREVIOUS: the previous one)")
	fs.StringVar(&s.file, "secret-file", "", "file holding the client secret (current first, then previous, one per line); overrides -secret-env")
}

// open returns a key source; the secret is never printed.
func (s *secretFlags) open() (keysource.Source, func(), error) {
	if s.file != "" {
		src, err := keysource.File(s.file, keysource.WithPollInterval(0))
		if err != nil {
			return nil, nil, err
		}
		return src, func() { _ = src.Close() }, nil
	}
	src, err := keysource.Env(s.envName)
	if err != nil {
		return nil, nil, err
	}
	return src, func() {}, nil
}

// secretExit reports a key source error and returns the exit code.
func secretExit(e env, cmd string, err error) int {
	fmt.Fprintf(e.stderr, "possession %s: %v\n", cmd, err)
	if errors.Is(err, keysource.ErrNotSet) || errors.Is(err, keysource.ErrEmptySecret) ||
		errors.Is(err, keysource.ErrNoKeys) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return exitNoSecret
	}
	return exitFailure
}

// relative formats t relative to now: "in 45s", "3m12s ago".
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return "in " + d.String()
	case d < 0:
		return (-d).String() + " ago"
	}
	return "now"
}

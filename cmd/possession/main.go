// Command possession inspects, verifies and mints Shopify session tokens:
// a debugging aid for backends that use the possession SDK.
//
//	possession inspect TOKEN   decode without trusting; list the rules that would fail
//	possession verify TOKEN    verify with your app's secret (from env or a file)
//	possession mint            mint a development token
//
// TOKEN "-" (or no TOKEN) reads the token from standard input, which keeps
// it out of your shell history.
//
// Exit codes:
//
//	0   success (verify: the token is valid; inspect: every rule it can check passes)
//	1   other failure (I/O)
//	2   usage error
//	3   no usable secret (variable unset, file missing or empty)
//	10  malformed token          14  not yet valid (nbf/iat)
//	11  algorithm is not HS256   15  wrong audience (aud)
//	12  signature mismatch       16  wrong issuer or destination (iss/dest)
//	13  expired                  17  kind not accepted (verify -kinds)
//
// Run "possession help" for flags and examples.
package main

import (
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], env{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
		now:    time.Now,
	}))
}

// Command aws verifies a Shopify session token with the app secret kept in
// AWS Secrets Manager. It reads AWS settings through the default
// configuration chain (environment, shared config, SSO, instance roles), so
// AWS_ENDPOINT_URL can point it at an emulator.
//
//	go run ./examples/aws -secret-id prod/shopify/pos-app -client-id $SHOPIFY_CLIENT_ID \
//		-json-field SHOPIFY_API_SECRET -token "$TOKEN"
//
// Flags fall back to the environment: POSSESSION_SECRET_ID,
// SHOPIFY_CLIENT_ID, POSSESSION_JSON_FIELD and POSSESSION_TOKEN; without
// -token the token is read from standard input. The exit status is 0 for
// a valid token, 1 for a rejected one and 2 for a usage or AWS error. The
// IAM permissions it needs are listed in keysource/awssm/README.md.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/possession-dev/possession/keysource/awssm"
	"github.com/possession-dev/possession/sdk"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitValid    = 0
	exitRejected = 1
	exitError    = 2
)

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("aws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secretID := fs.String("secret-id", getenv("POSSESSION_SECRET_ID"), "Secrets Manager secret name or ARN (env POSSESSION_SECRET_ID)")
	clientID := fs.String("client-id", getenv("SHOPIFY_CLIENT_ID"), "the app's client ID, the tokens' aud (env SHOPIFY_CLIENT_ID)")
	jsonField := fs.String("json-field", getenv("POSSESSION_JSON_FIELD"), "read the secret from this field of a JSON value (env POSSESSION_JSON_FIELD)")
	token := fs.String("token", getenv("POSSESSION_TOKEN"), "the session token; read from stdin when empty (env POSSESSION_TOKEN)")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed to load the secret")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	if *secretID == "" || *clientID == "" {
		fmt.Fprintln(stderr, "aws: -secret-id and -client-id are required")
		fs.Usage()
		return exitError
	}
	if *token == "" {
		line, err := bufio.NewReader(io.LimitReader(stdin, sdk.MaxTokenSize+2)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintln(stderr, "aws: read token:", err)
			return exitError
		}
		*token = strings.TrimSpace(line)
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "aws: load AWS config:", err)
		return exitError
	}
	var opts []awssm.Option
	if *jsonField != "" {
		opts = append(opts, awssm.WithJSONField(*jsonField))
	}
	src, err := awssm.New(ctx, secretsmanager.NewFromConfig(cfg), *secretID, opts...)
	if err != nil {
		fmt.Fprintln(stderr, "aws:", err)
		return exitError
	}
	defer src.Close()
	verifier, err := sdk.New(src, sdk.WithClientID(*clientID))
	if err != nil {
		fmt.Fprintln(stderr, "aws:", err)
		return exitError
	}

	session, err := verifier.Verify(ctx, *token)
	if err != nil {
		fmt.Fprintf(stdout, "rejected (%s): %v\n", sdk.ErrorName(err), err)
		return exitRejected
	}
	fmt.Fprintf(stdout, "verified %s session\n", session.Kind)
	fmt.Fprintf(stdout, "  shop:       %s\n", session.Shop)
	fmt.Fprintf(stdout, "  user:       %s\n", session.UserID)
	fmt.Fprintf(stdout, "  client ID:  %s\n", session.ClientID)
	fmt.Fprintf(stdout, "  expires at: %s\n", session.ExpiresAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(stdout, "  version:    %s\n", session.KeyID)
	return exitValid
}

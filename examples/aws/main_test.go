package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/possession-dev/possession/examples/internal/kumotest"

	"go.uber.org/goleak"

	"github.com/possession-dev/possession/sdk/sdktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, kumotest.IgnoreReaper)
}

// The example runs against the kumo emulator on 127.0.0.1, reached through
// the default AWS config chain with AWS_ENDPOINT_URL, as a user would
// point it at an emulator.
func TestRunAgainstKumo(t *testing.T) {
	em := kumotest.Start(t)
	const secret = "shpss_examples_aws_0000000000000000000"
	name, version := em.CreateSecret(t, "examples-aws", `{"SHOPIFY_API_SECRET":"`+secret+`"}`)
	good := sdktest.Minter{Secret: secret, ClientID: "example-client"}.Admin()
	forged := sdktest.Minter{Secret: "not-the-secret", ClientID: "example-client"}.Admin()

	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		stdin    string
		wantCode int
		want     string // in stdout or stderr
	}{
		{
			name:     "valid token from a flag",
			args:     []string{"-secret-id", name, "-client-id", "example-client", "-json-field", "SHOPIFY_API_SECRET", "-token", good},
			wantCode: exitValid,
			want:     "version:    " + version,
		},
		{
			name:     "valid token from stdin, settings from env",
			env:      map[string]string{"POSSESSION_SECRET_ID": name, "SHOPIFY_CLIENT_ID": "example-client", "POSSESSION_JSON_FIELD": "SHOPIFY_API_SECRET"},
			stdin:    good + "\n",
			wantCode: exitValid,
			want:     "shop:       example.myshopify.com",
		},
		{
			name:     "forged token",
			args:     []string{"-secret-id", name, "-client-id", "example-client", "-json-field", "SHOPIFY_API_SECRET", "-token", forged},
			wantCode: exitRejected,
			want:     "rejected (signature)",
		},
		{
			name:     "wrong client ID",
			args:     []string{"-secret-id", name, "-client-id", "other-client", "-json-field", "SHOPIFY_API_SECRET", "-token", good},
			wantCode: exitRejected,
			want:     "rejected (audience)",
		},
		{
			name:     "missing secret",
			args:     []string{"-secret-id", name + "-missing", "-client-id", "example-client", "-token", good},
			wantCode: exitError,
			want:     "secret not found",
		},
		{
			name:     "wrong JSON field",
			args:     []string{"-secret-id", name, "-client-id", "example-client", "-json-field", "API_SECRET", "-token", good},
			wantCode: exitError,
			want:     "JSON field missing",
		},
		{
			name:     "no secret ID",
			args:     []string{"-client-id", "example-client", "-token", good},
			wantCode: exitError,
			want:     "-secret-id and -client-id are required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, getenv, strings.NewReader(tt.stdin), &stdout, &stderr)
			all := stdout.String() + stderr.String()
			if code != tt.wantCode || !strings.Contains(all, tt.want) {
				t.Fatalf("exit %d, output:\n%s\nwant exit %d and %q", code, all, tt.wantCode, tt.want)
			}
			if strings.Contains(all, secret) {
				t.Errorf("output reveals the secret:\n%s", all)
			}
		})
	}
}

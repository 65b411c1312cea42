// Package kumotest runs the kumo AWS Secrets Manager emulator on 127.0.0.1
// for the tests of programs that reach AWS through the default config
// chain (examples/aws, examples/posbackend). keysource/awssm's own tests
// use a richer harness with fault injection.
package kumotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/sivchari/kumo"
	"go.uber.org/goleak"
)

// IgnoreReaper is the goleak option for the goroutine kumo starts when its
// package loads and never stops.
var IgnoreReaper = goleak.IgnoreTopFunction("github.com/sivchari/kumo/internal/service/dynamodb.(*MemoryStorage).ttlReaper")

// Emulator is a running kumo server.
type Emulator struct {
	URL   string
	Admin *secretsmanager.Client // creates and rotates secrets
}

// Start starts kumo on 127.0.0.1, stops it when the test ends, and points
// the default AWS config chain at it (AWS_ENDPOINT_URL, static
// credentials, no shared config files, no instance metadata), as a user
// would point a program at an emulator.
func Start(t testing.TB) *Emulator {
	t.Helper()
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("kumo listens on %s, want 127.0.0.1", srv.URL)
	}
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            srv.URL,
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":       "not-a-real-aws-key",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_PROFILE":                 "",
	} {
		t.Setenv(k, v)
	}
	return &Emulator{
		URL: srv.URL,
		Admin: secretsmanager.New(secretsmanager.Options{
			Region:       "us-east-1",
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-real-aws-key", ""),
			BaseEndpoint: aws.String(srv.URL),
		}),
	}
}

// CreateSecret creates a secret with a fresh name (kumo's storage is
// process-wide, so names must not repeat across go test -count=N) and
// returns the name and the version ID of value.
func (e *Emulator) CreateSecret(t testing.TB, prefix, value string) (name, versionID string) {
	t.Helper()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name = prefix + "/" + hex.EncodeToString(suffix)
	out, err := e.Admin.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatal(err)
	}
	return name, aws.ToString(out.VersionId)
}

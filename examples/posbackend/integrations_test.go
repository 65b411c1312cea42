package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/sivchari/kumo"
)

// TestSecretFromAWS runs the backend with -aws-secret-id against the kumo
// Secrets Manager emulator on 127.0.0.1, reached through the default AWS
// config chain as in production.
func TestSecretFromAWS(t *testing.T) {
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            srv.URL,
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":       "not-a-real-aws-key",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	admin := secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-real-aws-key", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "posbackend/" + hex.EncodeToString(suffix) // kumo's storage is process-wide
	out, err := admin.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(`{"SHOPIFY_API_SECRET":"` + testSecret + `"}`),
	})
	if err != nil {
		t.Fatal(err)
	}

	a, _, _ := startApp(t, config{clientID: testClientID, awsSecretID: name, awsJSONField: "SHOPIFY_API_SECRET"})
	r := do(t, "GET", a.url+"/api/session", map[string]string{"Authorization": "Bearer " + testMinter().Admin()})
	if r.status != 200 || r.body["keyId"] != aws.ToString(out.VersionId) || r.body["shop"] != testShop {
		t.Fatalf("status %d, body %v; want 200 with keyId %s", r.status, r.body, aws.ToString(out.VersionId))
	}
	forged := testMinter()
	forged.Secret = "not-the-secret"
	if r := do(t, "GET", a.url+"/api/session", map[string]string{"Authorization": "Bearer " + forged.Admin()}); r.status != 401 {
		t.Fatalf("forged token: status %d", r.status)
	}

	// A wrong JSON field fails at start-up with a clear error.
	cfg := config{clientID: testClientID, awsSecretID: name, awsJSONField: "NOPE", addr: "127.0.0.1:0"}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := start(context.Background(), cfg, io.Discard, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Fatalf("wrong field: err = %v", err)
	}
}

// TestRunTracesRequests runs the whole program with OTEL_TRACES_EXPORTER=
// console, calls it with the development token it prints, and checks that
// the exported verify span is a child of otelhttp's server span and
// carries the session.
func TestRunTracesRequests(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var url, token string
	for sc.Scan() && (url == "" || token == "") {
		line := sc.Text()
		if u, ok := strings.CutPrefix(line, "listening on "); ok {
			url = u
		}
		if _, rest, ok := strings.Cut(line, "Authorization: Bearer "); ok {
			token, _, _ = strings.Cut(rest, "'")
		}
	}
	exported := make(chan string, 1)
	go func() {
		var b strings.Builder
		for sc.Scan() {
			b.WriteString(sc.Text())
			b.WriteByte('\n')
		}
		exported <- b.String()
	}()
	if url == "" || token == "" {
		t.Fatal("no listening line or development token")
	}
	if r := do(t, "GET", url+"/api/session", map[string]string{"Authorization": "Bearer " + token}); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit code %d", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
	out := <-exported

	type span struct {
		Name        string
		SpanContext struct{ SpanID string }
		Parent      struct{ SpanID string }
		Attributes  []struct {
			Key   string
			Value struct{ Value any }
		}
	}
	spans := map[string]span{}
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var s span
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("console output is not span JSON: %v\n%s", err, out)
		}
		spans[s.Name] = s
	}
	verify, okV := spans["possession.Verify"]
	server, okS := spans["GET /api/"] // otelhttp names it after the route
	if !okV || !okS {
		t.Fatalf("spans %v; want possession.Verify and the server span", keys(spans))
	}
	if verify.Parent.SpanID != server.SpanContext.SpanID {
		t.Fatalf("verify span's parent %s is not the server span %s", verify.Parent.SpanID, server.SpanContext.SpanID)
	}
	attrs := map[string]any{}
	for _, a := range verify.Attributes {
		attrs[a.Key] = a.Value.Value
	}
	if attrs["shopify.shop.domain"] != "posbackend-dev.myshopify.com" || attrs["user.id"] != "42" {
		t.Fatalf("verify span attributes %v", attrs)
	}
	if strings.Contains(out, token) {
		t.Fatal("the token was exported")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

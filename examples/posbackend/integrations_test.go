package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/possession-dev/possession/examples/internal/kumotest"
)

// TestSecretFromAWS runs the backend with -aws-secret-id against the kumo
// Secrets Manager emulator on 127.0.0.1, reached through the default AWS
// config chain as in production.
func TestSecretFromAWS(t *testing.T) {
	em := kumotest.Start(t)
	name, version := em.CreateSecret(t, "posbackend", `{"SHOPIFY_API_SECRET":"`+testSecret+`"}`)

	a, _, _ := startApp(t, config{clientID: testClientID, awsSecretID: name, awsJSONField: "SHOPIFY_API_SECRET"})
	r := do(t, "GET", a.url+"/api/session", map[string]string{"Authorization": "Bearer " + testMinter().Admin()})
	if r.status != 200 || r.body["keyId"] != version || r.body["shop"] != testShop {
		t.Fatalf("status %d, body %v; want 200 with keyId %s", r.status, r.body, version)
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
	p := runInBackground(t, ctx, "-addr", "127.0.0.1:0")
	if p.token == "" {
		t.Fatal("no development token printed")
	}
	token := p.token
	if r := do(t, "GET", p.url+"/api/session", map[string]string{"Authorization": "Bearer " + token}); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	cancel()
	if c := p.wait(t); c != 0 {
		t.Fatalf("exit code %d", c)
	}
	out := <-p.rest

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
	server, okS := spans["GET /api/session"] // otelhttp names it after the route
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

// Package teltest holds the fixtures of the sdk telemetry tests, which live
// in two modules: the core's (package sdk, on the verifier's internals,
// with the OpenTelemetry API only) and the test module's (test/sdk, with
// the OpenTelemetry SDK recording). It does not import sdk, so that the
// core's internal tests can use it: the app and clock, a helper that runs
// a test in a child process, and the paths of BenchmarkVerifyTelemetry
// with its timing loop.
package teltest

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/possession-dev/possession/sdk/sdktest"
)

// The app of the telemetry tests.
const (
	Secret   = "telemetry-secret-0123456789abcdef"
	ClientID = "telemetry-client"
)

// Now is the fixed clock of the telemetry tests.
var Now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Clock always reads Now.
func Clock() time.Time { return Now }

// Minter mints tokens for the telemetry tests' app at Now.
func Minter() sdktest.Minter {
	return sdktest.Minter{Secret: Secret, ClientID: ClientID, Shop: "tele.myshopify.com", UserID: "4242", Now: Clock}
}

// AttrMap indexes attributes by key.
func AttrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// childEnv names, in a child process InChild started, the test to run.
const childEnv = "POSSESSION_TEST_CHILD"

// InChild runs child for the top-level test t in a new process of the test
// binary, for what cannot be undone in the parent, such as installing a
// global OpenTelemetry provider. The child's output is logged; its
// failure fails t.
func InChild(t *testing.T, child func(t *testing.T)) {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		child(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

// BenchPath is a path through the verifier that BenchmarkVerifyTelemetry
// times: a token and the cache size that makes it take that path.
type BenchPath struct {
	Name  string
	Cache int
	Token string
}

// BenchPaths are a cache hit, a miss (cache disabled) and a failure
// (expired), with tokens as Shopify sends them, valid at Now.
func BenchPaths() []BenchPath {
	f := sdktest.Fixtures{Secret: Secret, ClientID: ClientID, Start: Now.Add(-59 * time.Second)}
	old := f
	old.Start = old.Start.Add(-time.Hour)
	return []BenchPath{
		{"path=hit", 100, f.Fixture(0).Token},
		{"path=miss", 0, f.Fixture(1).Token},
		{"path=expired", 0, old.Fixture(2).Token},
	}
}

// Bench verifies token once (filling the cache), then times verify on a
// copy of it in other memory, as each request brings its own.
func Bench(b *testing.B, ctx context.Context, token string, verify func(ctx context.Context, token string)) {
	b.Helper()
	verify(ctx, token)
	token = strings.Clone(token)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		verify(ctx, token)
	}
}

package sdk_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// fragmentLen is the shortest token or secret fragment the leak scan
// looks for.
const fragmentLen = 16

// leakScanner finds tokens, secrets and their fragments in strings.
type leakScanner struct {
	windows map[string]string // every fragmentLen-window -> what it came from
}

func newLeakScanner() *leakScanner { return &leakScanner{windows: map[string]string{}} }

func (l *leakScanner) add(kind, s string) {
	for i := 0; i+fragmentLen <= len(s); i++ {
		l.windows[s[i:i+fragmentLen]] = kind
	}
}

// scan returns what s leaks, or "".
func (l *leakScanner) scan(s string) string {
	for i := 0; i+fragmentLen <= len(s); i++ {
		if kind, ok := l.windows[s[i:i+fragmentLen]]; ok {
			return fmt.Sprintf("%s fragment %q", kind, s[i:i+fragmentLen])
		}
	}
	return ""
}

// exported lists every string a span or metric carries: names,
// attribute keys and values, events, status, links, scope and resource.
func exportedSpanStrings(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	attrs := func(kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			out = append(out, string(kv.Key), kv.Value.String())
		}
	}
	for _, s := range spans {
		out = append(out, s.Name(), s.Status().Description, s.InstrumentationScope().Name, s.InstrumentationScope().Version)
		attrs(s.Attributes())
		attrs(s.Resource().Attributes())
		for _, e := range s.Events() {
			out = append(out, e.Name)
			attrs(e.Attributes)
		}
		for _, l := range s.Links() {
			attrs(l.Attributes)
		}
	}
	return out
}

func exportedMetricStrings(rm metricdata.ResourceMetrics) []string {
	var out []string
	set := func(s attribute.Set) {
		for _, kv := range s.ToSlice() {
			out = append(out, string(kv.Key), kv.Value.String())
		}
	}
	set(*rm.Resource.Set())
	for _, sm := range rm.ScopeMetrics {
		out = append(out, sm.Scope.Name, sm.Scope.Version)
		for _, m := range sm.Metrics {
			out = append(out, m.Name, m.Description, m.Unit)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					set(dp.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					set(dp.Attributes)
				}
			case metricdata.Gauge[float64]:
				for _, dp := range d.DataPoints {
					set(dp.Attributes)
				}
			default:
				out = append(out, fmt.Sprintf("unscanned metric type %T", d))
			}
		}
	}
	return out
}

// leakTokens returns n varied tokens: valid, expired, early, forged, for
// other apps and shops, with wrong algorithms, truncated, spliced and
// corrupted.
func leakTokens(n int, secrets []string, rng *rand.Rand) []string {
	enc := base64.RawURLEncoding
	toks := make([]string, 0, n)
	for i := 0; len(toks) < n; i++ {
		m := sdktest.Minter{
			Secret:   secrets[i%len(secrets)],
			ClientID: telClientID,
			Shop:     fmt.Sprintf("leak-shop-%d.myshopify.com", i%37),
			UserID:   fmt.Sprint(1000 + rng.IntN(1_000_000)),
			Now:      func() time.Time { return telemetryNow.Add(-time.Duration(rng.IntN(30)) * time.Second) },
		}
		var tok string
		switch i % 12 {
		case 0, 1:
			tok = m.Admin()
		case 2:
			tok = m.Checkout(sdktest.Set("sub", fmt.Sprintf("gid://shopify/Customer/%d", rng.IntN(1e6))))
		case 3:
			tok = m.Admin(sdktest.At(telemetryNow.Add(-time.Duration(1+rng.IntN(48)) * time.Hour)))
		case 4:
			tok = m.Admin(sdktest.Set("nbf", telemetryNow.Add(time.Hour).Unix()))
		case 5:
			m.Secret = fmt.Sprintf("forger-secret-%032x", rng.Uint64())
			tok = m.Admin()
		case 6:
			m.ClientID = fmt.Sprintf("other-app-%d", rng.IntN(100))
			tok = m.Admin()
		case 7:
			m.Shop = fmt.Sprintf("shop-%d.example.com", rng.IntN(100))
			tok = m.Admin()
		case 8:
			alg := []string{"none", "HS512", "RS256", "hs256", "ES256"}[rng.IntN(5)]
			t, _ := sdktest.SignRaw(m.Secret, []byte(`{"alg":"`+alg+`","typ":"JWT"}`), []byte(`{"exp":4102444800,"aud":"`+telClientID+`"}`))
			tok = t
		case 9:
			full := m.Admin()
			tok = full[:1+rng.IntN(len(full)-1)]
		case 10:
			a, b := strings.Split(m.Admin(), "."), strings.Split(m.Checkout(), ".")
			tok = a[0] + "." + b[1] + "." + a[2]
		case 11:
			full := []byte(m.Admin())
			j := rng.IntN(len(full))
			full[j] = "AZaz09-_.~"[rng.IntN(10)]
			tok = string(full) + []string{"", "." + enc.EncodeToString([]byte("extra")), strings.Repeat("A", sdk.MaxTokenSize)}[rng.IntN(3)]
		}
		toks = append(toks, tok)
	}
	return toks
}

// TestTelemetryLeaksNoTokenOrSecret verifies 1,000 varied tokens with
// recording providers and scans everything exported, and every error
// string, for tokens, token fragments of 16+ characters and secrets.
func TestTelemetryLeaksNoTokenOrSecret(t *testing.T) {
	secrets := []string{telSecret, "previous-secret-fedcba9876543210"}
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := leakTokens(1000, secrets, rng)

	scanner := newLeakScanner()
	for _, s := range secrets {
		scanner.add("secret", s)
	}
	for _, tok := range tokens {
		scanner.add("token", tok)
	}

	rec := newRecording(t)
	src, err := keysource.Static(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	v := newTelVerifier(t, src, append(rec.options(), sdk.WithCacheSize(64))...)
	ctx, parent := rec.tp.Tracer("test").Start(context.Background(), "leak-test")
	outcomes := map[string]int{}
	var errStrings []string
	for _, tok := range tokens {
		_, err := v.Verify(ctx, tok)
		outcomes[sdk.ErrorName(err)]++
		if err != nil {
			errStrings = append(errStrings, err.Error())
		}
	}
	// Verify each token again: cache hits are exported too.
	for _, tok := range tokens[:100] {
		_, _ = v.Verify(ctx, tok)
	}
	parent.End()
	t.Logf("outcomes of %d tokens: %v", len(tokens), outcomes)
	for _, name := range []string{"", "malformed", "algorithm", "signature", "expired", "not_yet_valid", "audience", "issuer"} {
		if outcomes[name] == 0 {
			t.Errorf("no token had outcome %q: the token mix is not varied enough", name)
		}
	}

	spans := rec.spans.Ended()
	if len(spans) != len(tokens)+100+1 {
		t.Fatalf("%d spans, want %d", len(spans), len(tokens)+101)
	}
	exported := exportedSpanStrings(spans)
	exported = append(exported, exportedMetricStrings(rec.metrics(t))...)
	exported = append(exported, errStrings...)
	scanned := 0
	for _, s := range exported {
		if leak := scanner.scan(s); leak != "" {
			t.Errorf("exported string %q carries a %s", s, leak)
		}
		scanned++
	}
	t.Logf("scanned %d exported strings", scanned)
}

// TestLeakScannerFindsFragments guards the leak test against passing
// because its scanner finds nothing.
func TestLeakScannerFindsFragments(t *testing.T) {
	tok := telMinter().Admin()
	l := newLeakScanner()
	l.add("token", tok)
	l.add("secret", telSecret)
	for _, s := range []string{tok, "bearer " + tok[10:26] + " tail", "x" + telSecret[3:19]} {
		if l.scan(s) == "" {
			t.Errorf("scanner missed a fragment in %q", s)
		}
	}
	if got := l.scan(tok[:fragmentLen-1]); got != "" {
		t.Errorf("scanner flagged a %d-character piece: %s", fragmentLen-1, got)
	}
}

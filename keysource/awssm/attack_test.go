package awssm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// Attack tests from the outside review (issue 10): each names its finding.

// Client IDs and secrets as Shopify issues them: both 32 hex characters
// for apps from before 2020 (so that a swapped map of such an app cannot be
// told from a right one), "shpss_" + 32 for a secret since.
const (
	shopifyClientID = "4c2c0d8f1e5a4b7f9d3e6a1b2c8d0e7f"
	newStyleSecret  = "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"
	oldStyleSecret  = "0d9e8c7b6a5f4e3d2c1b0a9f8e7d6c5b"
)

// revealed returns a 6-byte run of secret that text contains, or "".
func revealed(text, secret string) string {
	for i := 0; i+6 <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+6]) {
			return secret[i : i+6]
		}
	}
	return ""
}

// TestClientMapNeverRevealsASecret (finding 6): a client map with keys
// and values swapped was accepted, so the secret became a key ID (in
// Session.KeyID, spans, the key-age gauge), and an empty value quoted the
// map's key in the error. No part of a secret value may reach a key ID,
// an attribute or a message: keys are named by position, map keys that
// look like secrets are refused, and errors name clients by position.
func TestClientMapNeverRevealsASecret(t *testing.T) {
	cfg := config{clientMap: true}
	value := func(m map[string]string) *string {
		var parts []string
		for k, v := range m {
			parts = append(parts, fmt.Sprintf("%q:%q", k, v))
		}
		s := "{" + strings.Join(parts, ",") + "}"
		return &s
	}
	tests := []struct {
		name    string
		m       map[string]string
		want    error
		secrets []string // that must not show
	}{
		{"right", map[string]string{shopifyClientID: newStyleSecret}, nil, []string{newStyleSecret}},
		{"swapped, new-style secret", map[string]string{newStyleSecret: shopifyClientID}, ErrNotJSON, []string{newStyleSecret}},
		{"swapped, an access token", map[string]string{"shpat_" + oldStyleSecret: shopifyClientID}, ErrNotJSON, []string{oldStyleSecret}},
		// Indistinguishable from a right map: accepted, and still shown nowhere.
		{"swapped, old-style secret", map[string]string{oldStyleSecret: shopifyClientID}, nil, []string{oldStyleSecret, shopifyClientID}},
		{"empty value", map[string]string{oldStyleSecret: ""}, ErrEmptyValue, []string{oldStyleSecret}},
		{"empty value, second client", map[string]string{shopifyClientID: newStyleSecret, "ffff" + oldStyleSecret[4:]: " "}, ErrEmptyValue, []string{newStyleSecret, oldStyleSecret[4:]}},
		{"short value", map[string]string{oldStyleSecret: "short-value"}, ErrInvalidSecret, []string{oldStyleSecret, "short-value"}},
		{"value with a space", map[string]string{shopifyClientID: newStyleSecret + " " + oldStyleSecret}, ErrInvalidSecret, []string{newStyleSecret, oldStyleSecret}},
		{"client ID with a space", map[string]string{oldStyleSecret + " x": newStyleSecret}, ErrNotJSON, []string{oldStyleSecret, newStyleSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := cfg.keysFromValue("prod/shopify", "v1", value(tt.m), nil)
			if tt.want != nil {
				if keys != nil || !errors.Is(err, tt.want) {
					t.Fatalf("keys %v, err %v; want %v", keys, err, tt.want)
				}
				for _, s := range tt.secrets {
					if run := revealed(err.Error(), s); run != "" {
						t.Fatalf("the error shows %q: %v", run, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ring, err := keysource.NewKeyring(time.Time{}, keys...)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				for _, s := range tt.secrets {
					if run := revealed(k.ID, s); run != "" {
						t.Fatalf("key ID %q shows %q", k.ID, run)
					}
					if run := revealed(fmt.Sprintf("%v %+v %s", ring, ring, ring), s); run != "" {
						t.Fatalf("the keyring prints %q", run)
					}
				}
			}
		})
	}
}

// TestSwappedClientMapRevealsNothingThroughTheVerifier runs the swapped
// old-style map (which cannot be refused) through the verifier with
// tracing and metrics on: tokens signed with the secret fail, and a
// forger who signs with the public client ID (the map's value, so the
// key's "secret") meets ErrAudience; no span attribute, status, event or
// metric, and no error shows any part of the secret.
func TestSwappedClientMapRevealsNothingThroughTheVerifier(t *testing.T) {
	em := startEmulator(t)
	name := uniqueName(t)
	em.createSecret(name, fmt.Sprintf("{%q:%q}", oldStyleSecret, shopifyClientID))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	src := newSource(t, em, name, WithJSONClientMap(), WithTracerProvider(tp), WithMeterProvider(mp))
	v, err := sdk.New(src, sdk.WithClientID(shopifyClientID), sdk.WithTracerProvider(tp), sdk.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var texts []string
	for _, tok := range []string{
		sdktest.Minter{Secret: oldStyleSecret, ClientID: shopifyClientID}.Admin(),  // the real secret
		sdktest.Minter{Secret: shopifyClientID, ClientID: shopifyClientID}.Admin(), // the forger's
	} {
		s, err := v.Verify(ctx, tok)
		if err == nil {
			texts = append(texts, s.KeyID, s.ClientID)
			continue
		}
		texts = append(texts, err.Error())
	}
	for _, s := range spans.Ended() {
		texts = append(texts, s.Status().Description)
		for _, a := range s.Attributes() {
			texts = append(texts, a.Value.String())
		}
		for _, e := range s.Events() {
			for _, a := range e.Attributes {
				texts = append(texts, a.Value.String())
			}
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	texts = append(texts, fmt.Sprintf("%+v", rm))
	for _, text := range texts {
		if run := revealed(text, oldStyleSecret); run != "" {
			t.Errorf("%q shows %q of the secret", text, run)
		}
	}
	if len(spans.Ended()) < 3 {
		t.Fatalf("%d spans: telemetry was not recorded", len(spans.Ended()))
	}
}

// blockingClient passes calls to a client, except that DescribeSecret
// waits for release while blocking is set.
type blockingClient struct {
	Client
	blocking atomic.Bool
	blocked  atomic.Int64
	release  chan struct{}
}

func (c *blockingClient) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	if c.blocking.Load() {
		c.blocked.Add(1)
		select {
		case <-c.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return c.Client.DescribeSecret(ctx, in, optFns...)
}

// TestForgedTokensDoNotPileUpBehindASlowRefresh (finding 9): every token
// with an unknown signer that arrived while an unknown-signer refresh was
// in flight waited for it, so with Secrets Manager slow (up to the 30 s
// fetch timeout) a flood of forged tokens held a goroutine and a
// connection each. Now the verification that started the refresh and at
// most maxUnknownWaiters others wait (so that genuine tokens of a secret
// rotated a moment ago still verify: TestRotationUnderConcurrentVerification);
// the rest get the keyring in force at once.
func TestForgedTokensDoNotPileUpBehindASlowRefresh(t *testing.T) {
	em := startEmulator(t)
	name := uniqueName(t)
	em.createSecret(name, "secret-one-0123456789abcdef0123456789")
	client := &blockingClient{Client: em.client, release: make(chan struct{})}
	src, err := New(context.Background(), client, name)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	v := newVerifier(t, src)

	client.blocking.Store(true)
	const n = 100
	results := make(chan error, n)
	for i := range n {
		go func() {
			_, err := v.Verify(context.Background(), mint(fmt.Sprintf("forged-%02d-0123456789abcdef0123456789", i)))
			results <- err
		}()
	}
	// All but the waiting ones return while the refresh hangs.
	const waiting = 1 + maxUnknownWaiters
	deadline := time.After(20 * time.Second)
	for i := range n - waiting {
		select {
		case err := <-results:
			if !errors.Is(err, sdk.ErrSignature) {
				t.Fatalf("forged token: %v", err)
			}
		case <-deadline:
			t.Fatalf("%d of %d forged tokens wait for the refresh in flight, want at most %d", n-i, n, waiting)
		}
	}
	// The others may return before the one refresh reaches Secrets
	// Manager (it runs on its own goroutine): wait for it to get there.
	for client.blocked.Load() == 0 {
		select {
		case <-deadline:
			t.Fatal("no refresh reached Secrets Manager")
		case <-time.After(time.Millisecond):
		}
	}
	select {
	case err := <-results:
		t.Fatalf("more than %d calls returned before the refresh ended (%v): fewer waited than may", n-waiting, err)
	case <-time.After(50 * time.Millisecond):
	}
	if got := client.blocked.Load(); got != 1 {
		t.Errorf("%d refreshes reached Secrets Manager, want 1", got)
	}
	close(client.release)
	for range waiting {
		select {
		case err := <-results:
			if !errors.Is(err, sdk.ErrSignature) {
				t.Fatalf("a token that waited: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a token that waited never returned")
		}
	}

	// A nil context neither panics nor waits forever.
	var nilCtx context.Context
	if r := src.RefreshUnknownSigner(nilCtx); r.Len() != 1 {
		t.Fatalf("RefreshUnknownSigner(nil) = %v", r)
	}
}

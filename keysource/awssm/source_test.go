package awssm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"go.uber.org/goleak"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

func TestMain(m *testing.M) {
	// kumo starts a DynamoDB TTL reaper when its package initialises; it
	// belongs to the emulator, not to this package, and lives as long as
	// the process.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/sivchari/kumo/internal/service/dynamodb.(*MemoryStorage).ttlReaper"))
}

// Interfaces the verifier relies on.
var (
	_ keysource.Source                 = (*Source)(nil)
	_ keysource.UnknownSignerRefresher = (*Source)(nil)
	_ Client                           = (*secretsmanager.Client)(nil)
)

const clientID = "app-client-id"

func newSource(t testing.TB, em *emulator, name string, opts ...Option) *Source {
	t.Helper()
	src, err := New(context.Background(), em.client, name, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src
}

func newVerifier(t testing.TB, src keysource.Source, clientIDs ...string) *sdk.Verifier {
	t.Helper()
	if len(clientIDs) == 0 {
		clientIDs = []string{clientID}
	}
	v, err := sdk.New(src, sdk.WithClientID(clientIDs[0], clientIDs[1:]...))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mint(secret string) string {
	return sdktest.Minter{Secret: secret, ClientID: clientID}.Admin()
}

func TestVerifyTokensWithEachSecretFormat(t *testing.T) {
	em := startEmulator(t)
	tests := []struct {
		name   string
		create func(name string) string // returns the version ID
		opts   []Option
		secret string // the HMAC key the value yields
	}{
		{
			name:   "plain string",
			create: func(n string) string { return em.createSecret(n, "plain-secret-1-0123456789abcdef0123456789") },
			secret: "plain-secret-1-0123456789abcdef0123456789",
		},
		{
			name:   "plain string with trailing newline",
			create: func(n string) string { return em.createSecret(n, "  plain-secret-2-0123456789abcdef0123456789\n") },
			secret: "plain-secret-2-0123456789abcdef0123456789",
		},
		{
			name: "JSON field",
			create: func(n string) string {
				return em.createSecret(n, `{"SHOPIFY_API_SECRET":"json-secret-3-0123456789abcdef0123456789","OTHER":"x"}`)
			},
			opts:   []Option{WithJSONField("SHOPIFY_API_SECRET")},
			secret: "json-secret-3-0123456789abcdef0123456789",
		},
		{
			name:   "SecretBinary",
			create: func(n string) string { return em.createBinarySecret(n, []byte("binary-secret-4-0123456789abcdef01\n")) },
			secret: "binary-secret-4-0123456789abcdef01", // trimmed: a file uploaded with fileb:// ends in a newline
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := uniqueName(t)
			version := tt.create(name)
			src := newSource(t, em, name, tt.opts...)
			v := newVerifier(t, src)
			s, err := v.Verify(context.Background(), mint(tt.secret))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if s.KeyID != version {
				t.Errorf("KeyID = %q, want the version ID %q", s.KeyID, version)
			}
			if _, err := v.Verify(context.Background(), mint("some-other-secret-0123456789abcdef0123456789")); !errors.Is(err, sdk.ErrSignature) {
				t.Errorf("token with another secret: err = %v, want ErrSignature", err)
			}
		})
	}
}

func TestJSONClientMap(t *testing.T) {
	em := startEmulator(t)
	name := uniqueName(t)
	version := em.createSecret(name, `{"client-a":"secret-a-0123456789abcdef0123456789","client-b":"secret-b-0123456789abcdef0123456789"}`)
	src := newSource(t, em, name, WithJSONClientMap())
	v := newVerifier(t, src, "client-a", "client-b")
	ctx := context.Background()

	// Keys are named by position in client ID order, never by client ID
	// (which a map with keys and values swapped would make a secret).
	for i, c := range []string{"client-a", "client-b"} {
		tok := sdktest.Minter{Secret: "secret-" + strings.TrimPrefix(c, "client-") + "-0123456789abcdef0123456789", ClientID: c}.Admin()
		s, err := v.Verify(ctx, tok)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if want := fmt.Sprintf("%s/client-%d", version, i+1); s.KeyID != want || s.ClientID != c {
			t.Errorf("%s: KeyID %q ClientID %q, want %q %q", c, s.KeyID, s.ClientID, want, c)
		}
	}
	// A token for client-a signed with client-b's secret: the key matches
	// but belongs to another app.
	cross := sdktest.Minter{Secret: "secret-b-0123456789abcdef0123456789", ClientID: "client-a"}.Admin()
	if _, err := v.Verify(ctx, cross); !errors.Is(err, sdk.ErrAudience) {
		t.Errorf("cross-client token: err = %v, want ErrAudience", err)
	}
}

// The first scenario: tokens signed with the old and the new
// secret both verify during the overlap, with zero failures across
// concurrent verifications while the rotation happens in AWS.
func TestRotationUnderConcurrentVerification(t *testing.T) {
	em := startEmulator(t)
	name := uniqueName(t)
	v1 := em.createSecret(name, "secret-before-rotation-0123456789abcdef0123456789")
	src := newSource(t, em, name)
	v := newVerifier(t, src)
	ctx := context.Background()

	var rotated atomic.Bool
	var v2 atomic.Pointer[string]
	var verified, failures atomic.Int64
	var firstErr atomic.Pointer[error]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				check := func(secret, wantKey string) {
					s, err := v.Verify(ctx, mint(secret))
					if err == nil && s.KeyID != wantKey {
						err = errors.New("verified by key " + s.KeyID + ", want " + wantKey)
					}
					if err != nil {
						failures.Add(1)
						firstErr.CompareAndSwap(nil, &err)
						return
					}
					verified.Add(1)
				}
				check("secret-before-rotation-0123456789abcdef0123456789", v1)
				if rotated.Load() {
					check("secret-after-rotation-0123456789abcdef0123456789", *v2.Load())
				}
			}
		})
	}
	// Explicit refreshes race with the verifications' own refreshes.
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := src.Refresh(ctx); err != nil {
				failures.Add(1)
				firstErr.CompareAndSwap(nil, &err)
			}
		}
	})

	waitFor(t, func() bool { return verified.Load() >= 200 })
	id := em.rotate(name, "secret-after-rotation-0123456789abcdef0123456789")
	v2.Store(&id)
	rotated.Store(true)
	before := verified.Load()
	waitFor(t, func() bool { return verified.Load() >= before+400 })
	close(stop)
	wg.Wait()

	if n := failures.Load(); n != 0 {
		t.Fatalf("%d failures out of %d verifications; first: %v", n, verified.Load()+n, *firstErr.Load())
	}
	ring := src.Keyring()
	if ring.Len() != 2 || ring.Key(0).ID != id || ring.Key(1).ID != v1 {
		t.Errorf("keyring = %v, want [%s %s] (AWSCURRENT, AWSPREVIOUS)", ring, id, v1)
	}
	t.Logf("%d verifications, 0 failures", verified.Load())
}

// waitFor polls cond (real I/O is in progress) for at most 20 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// A token signed with a secret rotated in just now verifies at once through
// the unknown-signer refresh; a flood of bad signatures costs at most one
// refresh per interval, counted at the emulator.
func TestUnknownSignerRefreshIsRateLimited(t *testing.T) {
	em := startEmulator(t)
	name := uniqueName(t)
	v1 := em.createSecret(name, "secret-one-0123456789abcdef0123456789")
	clock := newFakeClock()
	timers := newFakeTimers()
	src := newSource(t, em, name, WithClock(clock.Now), timers.option(), WithUnknownSignerInterval(30*time.Second))
	v := newVerifier(t, src)
	ctx := context.Background()
	timers.next(t) // the loop waits for its 5 min interval, which never fires here

	describes, gets := em.count("DescribeSecret"), em.count("GetSecretValue")
	if describes != 1 || gets != 1 {
		t.Fatalf("after New: %d DescribeSecret, %d GetSecretValue; want 1, 1", describes, gets)
	}

	v2 := em.rotate(name, "secret-two-0123456789abcdef0123456789")
	s, err := v.Verify(ctx, mint("secret-two-0123456789abcdef0123456789"))
	if err != nil {
		t.Fatalf("token signed with the secret rotated in: %v", err)
	}
	if s.KeyID != v2 {
		t.Errorf("KeyID = %q, want %q", s.KeyID, v2)
	}
	if d, g := em.count("DescribeSecret")-describes, em.count("GetSecretValue")-gets; d != 1 || g != 2 {
		t.Errorf("the refresh sent %d DescribeSecret and %d GetSecretValue, want 1 and 2 (current, previous)", d, g)
	}
	if _, err := v.Verify(ctx, mint("secret-one-0123456789abcdef0123456789")); err != nil {
		t.Errorf("token signed with the previous secret: %v", err)
	}

	flood := func() {
		t.Helper()
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Go(func() {
				_, err := v.Verify(ctx, mint("forged-"+string(rune('a'+i%26))))
				if !errors.Is(err, sdk.ErrSignature) {
					t.Errorf("forged token: err = %v, want ErrSignature", err)
				}
			})
		}
		wg.Wait()
	}
	describes = em.count("DescribeSecret")
	flood()
	clock.Advance(29 * time.Second)
	flood()
	if d := em.count("DescribeSecret") - describes; d != 0 {
		t.Errorf("flood within the interval of the last refresh: %d DescribeSecret, want 0", d)
	}
	clock.Advance(time.Second)
	flood()
	if d := em.count("DescribeSecret") - describes; d != 1 {
		t.Errorf("flood after the interval: %d DescribeSecret, want exactly 1", d)
	}
	if g := em.count("GetSecretValue"); g != gets+2 {
		t.Errorf("unchanged versions re-read values: %d GetSecretValue, want %d", g, gets+2)
	}
	_ = v1
}

// The emulator stops mid-run: verification continues on the last good
// keys while refreshes back off; it comes back: refresh resumes.
func TestEmulatorDownThenBack(t *testing.T) {
	em := startEmulator(t)
	name := uniqueName(t)
	em.createSecret(name, "secret-one-0123456789abcdef0123456789")
	timers := newFakeTimers()
	var bgErrs atomic.Int64
	src := newSource(t, em, name, timers.option(), fixedRandom(0.5), WithBackoffCap(4*time.Second),
		WithErrorHandler(func(error) { bgErrs.Add(1) }))
	v := newVerifier(t, src)
	ctx := context.Background()
	old := mint("secret-one-0123456789abcdef0123456789")

	w := timers.next(t)
	if w.d != 5*time.Minute {
		t.Fatalf("first wait %v, want the 5 min interval (jitter centred)", w.d)
	}
	em.stop()
	// Failed refreshes back off: 1 s, 2 s, 4 s (cap), 4 s, with equal
	// jitter at its midpoint (×0.75).
	for _, want := range []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 3 * time.Second} {
		w.fire <- time.Now()
		w = timers.next(t)
		if w.d != want {
			t.Errorf("wait after a failure = %v, want %v", w.d, want)
		}
		if _, err := v.Verify(ctx, old); err != nil {
			t.Fatalf("verify while the emulator is down: %v", err)
		}
	}
	if !errors.Is(src.Err(), ErrUnavailable) {
		t.Errorf("Err() = %v, want ErrUnavailable", src.Err())
	}
	if bgErrs.Load() != 4 {
		t.Errorf("error handler called %d times, want 4", bgErrs.Load())
	}

	em.start()
	v2 := em.rotate(name, "secret-two-0123456789abcdef0123456789")
	w.fire <- time.Now()
	w = timers.next(t)
	if w.d != 5*time.Minute {
		t.Errorf("wait after recovery = %v, want the interval", w.d)
	}
	if src.Err() != nil {
		t.Errorf("Err() after recovery = %v", src.Err())
	}
	s, err := v.Verify(ctx, mint("secret-two-0123456789abcdef0123456789"))
	if err != nil || s.KeyID != v2 {
		t.Fatalf("new secret after recovery: session %v, err %v", s, err)
	}
	if _, err := v.Verify(ctx, old); err != nil {
		t.Errorf("old secret after recovery: %v", err)
	}
}

func TestMaxStalenessDropsKeys(t *testing.T) {
	em := startEmulator(t)
	name := uniqueName(t)
	em.createSecret(name, "secret-one-0123456789abcdef0123456789")
	clock := newFakeClock()
	timers := newFakeTimers()
	src := newSource(t, em, name, WithClock(clock.Now), timers.option(), WithMaxStaleness(10*time.Minute))
	v, err := sdk.New(src, sdk.WithClientID(clientID), sdk.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok := sdktest.Minter{Secret: "secret-one-0123456789abcdef0123456789", ClientID: clientID, Now: clock.Now}.Admin(
		sdktest.Set("exp", clock.Now().Add(time.Hour).Unix()))
	w := timers.next(t)

	em.stop()
	clock.Advance(10 * time.Minute)
	w.fire <- time.Now()
	w = timers.next(t)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("at exactly max staleness: %v", err)
	}
	clock.Advance(time.Second)
	if src.Keyring() != nil {
		t.Fatalf("keys not dropped after max staleness")
	}
	if _, err := v.Verify(ctx, tok); !errors.Is(err, sdk.ErrNoKeys) {
		t.Fatalf("stale keys: err = %v, want sdk.ErrNoKeys", err)
	}

	em.start()
	w.fire <- time.Now()
	timers.next(t)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// Faults injected in front of the emulator: the SDK's retryer absorbs
// short bursts of 5xx, throttling and resets; persistent ones fail the
// refresh with a clear error while the last good keys keep verifying.
func TestInjectedFaults(t *testing.T) {
	em := startEmulator(t)
	tests := []struct {
		kind     string
		n        int64
		wantErr  error
		wantSent int // DescribeSecret requests for one Refresh
	}{
		{kind: "500", n: 2, wantSent: 3},
		{kind: "throttle", n: 2, wantSent: 3},
		{kind: "reset", n: 2, wantSent: 3},
		{kind: "500", n: -1, wantErr: ErrUnavailable, wantSent: 3},
		{kind: "throttle", n: -1, wantErr: ErrUnavailable, wantSent: 3},
		{kind: "reset", n: -1, wantErr: ErrUnavailable, wantSent: 3},
		{kind: "denied", n: -1, wantErr: ErrAccessDenied, wantSent: 1},
		{kind: "hang", n: -1, wantErr: ErrUnavailable, wantSent: 1},
	}
	for _, tt := range tests {
		label := tt.kind
		if tt.n < 0 {
			label += "/persistent"
		} else {
			label += "/transient"
		}
		t.Run(label, func(t *testing.T) {
			t.Cleanup(em.clearFault)
			name := uniqueName(t)
			em.createSecret(name, "secret-one-0123456789abcdef0123456789")
			src := newSource(t, em, name, WithFetchTimeout(500*time.Millisecond))
			v := newVerifier(t, src)
			tok := mint("secret-one-0123456789abcdef0123456789")

			before := em.count("DescribeSecret")
			em.setFault(tt.kind, tt.n)
			err := src.Refresh(context.Background())
			em.clearFault()
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Refresh: err = %v, want %v", err, tt.wantErr)
			}
			if sent := em.count("DescribeSecret") - before; sent != tt.wantSent {
				t.Errorf("%d DescribeSecret requests, want %d", sent, tt.wantSent)
			}
			if tt.kind == "hang" && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("timeout: err = %v, want it to wrap context.DeadlineExceeded", err)
			}
			if !errors.Is(src.Err(), tt.wantErr) || (tt.wantErr == nil) != (src.Err() == nil) {
				t.Errorf("Err() = %v, want %v", src.Err(), tt.wantErr)
			}
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Errorf("verify on the last good keys: %v", err)
			}
			if err := src.Refresh(context.Background()); err != nil {
				t.Errorf("Refresh once the fault is gone: %v", err)
			}
		})
	}
}

// While a refresh hangs on the network, verification of good tokens does
// not wait, and a bad token waits for the unknown-signer refresh only as
// long as its context allows.
func TestVerifyNeverWaitsOnTheNetwork(t *testing.T) {
	em := startEmulator(t)
	name := uniqueName(t)
	em.createSecret(name, "secret-one-0123456789abcdef0123456789")
	src := newSource(t, em, name, WithFetchTimeout(time.Minute))
	v := newVerifier(t, src)

	em.setFault("hang", -1)
	defer em.clearFault()
	refreshCtx, cancelRefresh := context.WithCancel(context.Background())
	refreshDone := make(chan error, 1)
	go func() { refreshDone <- src.Refresh(refreshCtx) }()
	waitFor(t, func() bool { return em.count("DescribeSecret") >= 2 })

	for range 100 {
		if _, err := v.Verify(context.Background(), mint("secret-one-0123456789abcdef0123456789")); err != nil {
			t.Fatalf("verify during a hanging refresh: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := v.Verify(ctx, mint("unknown-secret-0123456789abcdef0123456789"))
	cancel()
	if !errors.Is(err, sdk.ErrSignature) {
		t.Errorf("bad token during a hanging refresh: err = %v, want ErrSignature", err)
	}
	select {
	case err := <-refreshDone:
		t.Fatalf("the hanging refresh ended early: %v", err)
	default:
	}
	cancelRefresh()
	if err := <-refreshDone; !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled refresh: err = %v, want ErrUnavailable wrapping context.Canceled", err)
	}
}

func TestNewErrors(t *testing.T) {
	em := startEmulator(t)
	const secretValue = "value-that-must-not-leak"
	tests := []struct {
		name    string
		value   *string // nil: do not create the secret
		opts    []Option
		fault   string
		prepare func(name string)
		client  Client
		id      string
		wantErr error
	}{
		{name: "missing secret", wantErr: ErrNotFound},
		{name: "deleted secret", value: aws.String(secretValue), prepare: func(n string) {
			_, err := em.admin.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(n)})
			if err != nil {
				t.Fatal(err)
			}
		}, wantErr: ErrNotFound},
		{name: "wrong JSON field", value: aws.String(`{"API_SECRET":"` + secretValue + `"}`), opts: []Option{WithJSONField("SHOPIFY_API_SECRET")}, wantErr: ErrFieldMissing},
		{name: "JSON field not a string", value: aws.String(`{"SHOPIFY_API_SECRET":42}`), opts: []Option{WithJSONField("SHOPIFY_API_SECRET")}, wantErr: ErrFieldMissing},
		{name: "not JSON", value: aws.String(secretValue), opts: []Option{WithJSONField("SHOPIFY_API_SECRET")}, wantErr: ErrNotJSON},
		{name: "JSON array", value: aws.String(`["` + secretValue + `"]`), opts: []Option{WithJSONClientMap()}, wantErr: ErrNotJSON},
		{name: "client map with a non-string", value: aws.String(`{"a":"` + secretValue + `","b":1}`), opts: []Option{WithJSONClientMap()}, wantErr: ErrNotJSON},
		{name: "client map with an empty client ID", value: aws.String(`{"":"` + secretValue + `"}`), opts: []Option{WithJSONClientMap()}, wantErr: ErrNotJSON},
		{name: "empty value", value: aws.String(" \n\t"), wantErr: ErrEmptyValue},
		{name: "empty JSON field", value: aws.String(`{"SHOPIFY_API_SECRET":" "}`), opts: []Option{WithJSONField("SHOPIFY_API_SECRET")}, wantErr: ErrEmptyValue},
		{name: "empty client map", value: aws.String(`{}`), opts: []Option{WithJSONClientMap()}, wantErr: ErrEmptyValue},
		{name: "client map with an empty secret", value: aws.String(`{"a":""}`), opts: []Option{WithJSONClientMap()}, wantErr: ErrEmptyValue},
		{name: "access denied", value: aws.String(secretValue), fault: "denied", wantErr: ErrAccessDenied},
		{name: "unreachable", value: aws.String(secretValue), fault: "reset", wantErr: ErrUnavailable},
		{name: "nil client", client: Client(nil), wantErr: ErrInvalidOption},
		{name: "empty secret ID", id: "-", wantErr: ErrInvalidOption},
		{name: "zero interval", value: aws.String(secretValue), opts: []Option{WithRefreshInterval(0)}, wantErr: ErrInvalidOption},
		{name: "jitter 1", value: aws.String(secretValue), opts: []Option{WithJitter(1)}, wantErr: ErrInvalidOption},
		{name: "negative unknown interval", value: aws.String(secretValue), opts: []Option{WithUnknownSignerInterval(-1)}, wantErr: ErrInvalidOption},
		{name: "zero backoff cap", value: aws.String(secretValue), opts: []Option{WithBackoffCap(0)}, wantErr: ErrInvalidOption},
		{name: "zero fetch timeout", value: aws.String(secretValue), opts: []Option{WithFetchTimeout(0)}, wantErr: ErrInvalidOption},
		{name: "negative max staleness", value: aws.String(secretValue), opts: []Option{WithMaxStaleness(-time.Second)}, wantErr: ErrInvalidOption},
		{name: "two JSON formats", value: aws.String(secretValue), opts: []Option{WithJSONField("x"), WithJSONClientMap()}, wantErr: ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(em.clearFault)
			name := uniqueName(t)
			if tt.value != nil {
				em.createSecret(name, *tt.value)
			}
			if tt.prepare != nil {
				tt.prepare(name)
			}
			if tt.fault != "" {
				em.setFault(tt.fault, -1)
			}
			var client Client = em.client
			if tt.name == "nil client" {
				client = nil
			}
			id := name
			if tt.id == "-" {
				id = ""
			}
			src, err := New(context.Background(), client, id, tt.opts...)
			if src != nil {
				_ = src.Close()
				t.Fatal("New returned a source with an error")
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("error reveals the secret value: %v", err)
			}
			t.Log(err)
		})
	}
}

// WithStartEmpty: New succeeds without the secret, verification fails
// with sdk.ErrNoKeys, and keys arrive on a background retry.
func TestStartEmpty(t *testing.T) {
	em := startEmulator(t)
	name := uniqueName(t)
	timers := newFakeTimers()
	src := newSource(t, em, name, WithStartEmpty(), timers.option(), fixedRandom(0.5))
	if !errors.Is(src.Err(), ErrNotFound) {
		t.Errorf("Err() = %v, want ErrNotFound", src.Err())
	}
	v := newVerifier(t, src)
	tok := mint("late-secret-0123456789abcdef0123456789")
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, sdk.ErrNoKeys) {
		t.Fatalf("before any key: err = %v, want sdk.ErrNoKeys", err)
	}
	w := timers.next(t)
	if w.d != 750*time.Millisecond {
		t.Errorf("first retry after %v, want the backoff (750ms), not the interval", w.d)
	}
	version := em.createSecret(name, "late-secret-0123456789abcdef0123456789")
	w.fire <- time.Now()
	timers.next(t)
	s, err := v.Verify(context.Background(), tok)
	if err != nil || s.KeyID != version {
		t.Fatalf("after the secret appeared: session %v, err %v", s, err)
	}
}

func TestRefreshKeepsGenerationWhenUnchanged(t *testing.T) {
	em := startEmulator(t)
	name := uniqueName(t)
	em.createSecret(name, "secret-one-0123456789abcdef0123456789")
	src := newSource(t, em, name)
	gen := src.Keyring().Generation()
	gets := em.count("GetSecretValue")
	if err := src.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if g := src.Keyring().Generation(); g != gen {
		t.Errorf("generation changed %d -> %d without a new version", gen, g)
	}
	if em.count("GetSecretValue") != gets {
		t.Errorf("an unchanged secret was read again")
	}
	em.rotate(name, "secret-two-0123456789abcdef0123456789")
	if err := src.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if src.Keyring().Generation() == gen {
		t.Errorf("generation kept across a rotation")
	}
}

func TestCloseStopsEverything(t *testing.T) {
	em := startEmulator(t)
	name := uniqueName(t)
	em.createSecret(name, "secret-one-0123456789abcdef0123456789")
	ignore := goleak.IgnoreCurrent()

	src, err := New(context.Background(), em.client, name, WithRefreshInterval(time.Millisecond), WithJitter(0))
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, src)
	waitFor(t, func() bool { return em.count("DescribeSecret") >= 5 }) // the loop runs
	_, _ = v.Verify(context.Background(), mint("unknown"))             // and an unknown-signer refresh
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := src.Refresh(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Refresh after Close: err = %v, want ErrClosed", err)
	}
	if _, err := v.Verify(context.Background(), mint("secret-one-0123456789abcdef0123456789")); err != nil {
		t.Errorf("keys after Close: %v", err)
	}
	n := em.count("DescribeSecret")
	if src.RefreshUnknownSigner(context.Background()) == nil || em.count("DescribeSecret") != n {
		t.Errorf("RefreshUnknownSigner after Close fetched or lost the keys")
	}
	em.transport.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

func TestDelay(t *testing.T) {
	tests := []struct {
		name     string
		opts     []Option
		random   float64
		failures int
		want     time.Duration
	}{
		{name: "interval, low jitter", random: 0, want: 270 * time.Second},
		{name: "interval, centre", random: 0.5, want: 300 * time.Second},
		{name: "interval, no jitter", opts: []Option{WithJitter(0)}, random: 0, want: 300 * time.Second},
		{name: "first failure", random: 0, failures: 1, want: 500 * time.Millisecond},
		{name: "first failure, full", random: 0.999999, failures: 1, want: 999999500 * time.Nanosecond},
		{name: "third failure", random: 0, failures: 3, want: 2 * time.Second},
		{name: "capped", random: 0, failures: 40, want: 30 * time.Second},
		{name: "cap below base", opts: []Option{WithBackoffCap(100 * time.Millisecond)}, random: 0, failures: 1, want: 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := newConfig(append(tt.opts, fixedRandom(tt.random)))
			if err != nil {
				t.Fatal(err)
			}
			s := &Source{cfg: cfg}
			if got := s.delay(tt.failures); got != tt.want {
				t.Errorf("delay(%d) = %v, want %v", tt.failures, got, tt.want)
			}
		})
	}
}

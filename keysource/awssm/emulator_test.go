package awssm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/sivchari/kumo"
)

// emulator is the kumo Secrets Manager emulator on 127.0.0.1, reached by
// the real aws-sdk-go-v2 client over HTTP. Requests of the source's
// client pass through a counting, fault-injecting RoundTripper; the admin
// client (which creates and rotates secrets) bypasses it.
//
// kumo keeps its state in process-wide storage, so a server stopped and
// started again (on a new port; the dialer follows it) still holds the
// secrets, like a restarted emulator with persistence.
type emulator struct {
	t         testing.TB
	mu        sync.Mutex
	srv       *kumo.Server
	addr      atomic.Pointer[string]
	transport *http.Transport
	serial    *serialTransport
	admin     *secretsmanager.Client
	client    *secretsmanager.Client

	countMu sync.Mutex
	counts  map[string]int // by operation, requests of client only

	fault atomic.Pointer[fault]
}

// fault makes the next n requests of client (n < 0: all) fail.
type fault struct {
	kind    string // "500", "throttle", "denied", "hang", "reset"
	forever bool
	left    atomic.Int64
}

func (f *fault) fire() bool { return f.forever || f.left.Add(-1) >= 0 }

func startEmulator(t testing.TB) *emulator {
	t.Helper()
	em := &emulator{t: t, counts: map[string]int{}}
	em.start()
	var d net.Dialer
	em.transport = &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, *em.addr.Load())
		},
	}
	em.serial = &serialTransport{rt: em.transport}
	em.admin = em.newClient(em.serial)
	em.client = em.newClient(faultyTransport{em})
	t.Cleanup(func() {
		em.transport.CloseIdleConnections()
		em.stop()
	})
	return em
}

func (em *emulator) start() {
	em.mu.Lock()
	defer em.mu.Unlock()
	em.srv = kumo.NewServer()
	addr := strings.TrimPrefix(em.srv.URL, "http://")
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		em.t.Fatalf("emulator listens on %s, want 127.0.0.1", addr)
	}
	em.addr.Store(&addr)
}

// stop shuts the emulator down: new connections are refused.
func (em *emulator) stop() {
	em.mu.Lock()
	defer em.mu.Unlock()
	if em.srv != nil {
		em.srv.Close()
		em.srv = nil
	}
	if em.transport != nil {
		em.transport.CloseIdleConnections()
	}
}

func (em *emulator) newClient(rt http.RoundTripper) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-real-aws-key", ""),
		BaseEndpoint: aws.String("http://" + *em.addr.Load()),
		HTTPClient:   &http.Client{Transport: rt},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.RateLimiter = ratelimit.None
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) {
				return time.Millisecond, nil
			})
		}),
	})
}

// count returns how many requests of op the source's client sent.
func (em *emulator) count(op string) int {
	em.countMu.Lock()
	defer em.countMu.Unlock()
	return em.counts[op]
}

func (em *emulator) setFault(kind string, n int64) {
	f := &fault{kind: kind, forever: n < 0}
	f.left.Store(n)
	em.fault.Store(f)
}

func (em *emulator) clearFault() { em.fault.Store(nil) }

type faultyTransport struct{ em *emulator }

func (ft faultyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	em := ft.em
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "secretsmanager.")
	em.countMu.Lock()
	em.counts[op]++
	em.countMu.Unlock()
	if f := em.fault.Load(); f != nil && f.fire() {
		if req.Body != nil {
			_, _ = io.Copy(io.Discard, req.Body)
			_ = req.Body.Close()
		}
		switch f.kind {
		case "500":
			return awsErrorResponse(req, http.StatusInternalServerError, "InternalServiceError", "injected internal error"), nil
		case "throttle":
			return awsErrorResponse(req, http.StatusBadRequest, "ThrottlingException", "Rate exceeded"), nil
		case "denied":
			return awsErrorResponse(req, http.StatusBadRequest, "AccessDeniedException",
				"User: arn:aws:iam::123456789012:user/test is not authorized to perform: secretsmanager:"+op), nil
		case "hang":
			<-req.Context().Done()
			return nil, req.Context().Err()
		case "reset":
			return nil, fmt.Errorf("injected: connection reset by peer")
		}
	}
	return em.serial.RoundTrip(req)
}

// serialTransport lets one request at a time reach the emulator, and
// reads each response whole before the next may start. kumo v0.33.1 reads
// a secret's version stages outside its lock while building a
// DescribeSecret response, so a PutSecretValue handled at the same moment
// is a data race inside the emulator, which -race reports. Serialising
// requests orders every handler after the previous one (socket reads and
// writes are synchronisation points for the race detector) without
// changing what the source under test sees: its requests still run
// concurrently with its verifications and with each other's waits.
type serialTransport struct {
	mu sync.Mutex
	rt http.RoundTripper
}

func (st *serialTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	resp, err := st.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func awsErrorResponse(req *http.Request, status int, code, msg string) *http.Response {
	body := fmt.Sprintf(`{"__type":%q,"message":%q}`, code, msg)
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amzn-Requestid": {"injected-fault"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// uniqueName returns a secret name no other test uses (kumo's storage is
// shared by the whole test binary).
func uniqueName(t testing.TB) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return "possession/" + name + "-" + hex.EncodeToString(b)
}

// createSecret creates a secret holding value and returns its version ID.
func (em *emulator) createSecret(name, value string) string {
	em.t.Helper()
	out, err := em.admin.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(value),
	})
	if err != nil {
		em.t.Fatalf("create secret: %v", err)
	}
	return aws.ToString(out.VersionId)
}

func (em *emulator) createBinarySecret(name string, value []byte) string {
	em.t.Helper()
	out, err := em.admin.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretBinary: value,
	})
	if err != nil {
		em.t.Fatalf("create secret: %v", err)
	}
	return aws.ToString(out.VersionId)
}

// rotate puts a new AWSCURRENT version holding value and returns its ID.
func (em *emulator) rotate(name, value string) string {
	em.t.Helper()
	out, err := em.admin.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(name), SecretString: aws.String(value),
	})
	if err != nil {
		em.t.Fatalf("put secret value: %v", err)
	}
	return aws.ToString(out.VersionId)
}

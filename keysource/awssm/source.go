package awssm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/possession-dev/possession/keysource"
	potel "github.com/possession-dev/possession/otel"
)

// Client is the part of *secretsmanager.Client the source calls. Any
// wrapper with these methods works (a client with middleware, a test
// double).
type Client interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
)

// Source serves the keys of one Secrets Manager secret: the AWSCURRENT
// version first, then AWSPREVIOUS when it exists. It implements
// keysource.Source and keysource.UnknownSignerRefresher. Create it with
// New and Close it when done.
type Source struct {
	client   Client
	secretID string
	cfg      config
	tel      *telemetry

	ring     atomic.Pointer[keysource.Keyring]
	lastGood atomic.Int64 // cfg.now() of the last successful refresh, in Unix ns
	lastErr  atomic.Pointer[error]

	fetchSem chan struct{} // holds a token while a fetch is in flight
	versions versionPair   // the versions behind ring; guarded by fetchSem

	unknownMu      sync.Mutex
	closed         bool          // guarded by unknownMu; no unknown-signer refresh starts once set
	lastUnknown    time.Time     // guarded by unknownMu
	unknownDone    chan struct{} // non-nil while an unknown-signer refresh runs, closed when it ends; guarded by unknownMu
	unknownWaiters int           // calls waiting for unknownDone besides the one that started it; guarded by unknownMu

	ctx       context.Context // canceled by Close; parent of background fetches
	cancel    context.CancelFunc
	done      chan struct{} // closed when the refresh loop has returned
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type versionPair struct{ current, previous string }

// New reads the secret secretID (a name or an ARN) through client and
// starts refreshing it in the background. The first fetch must succeed
// (its error wraps ErrNotFound, ErrAccessDenied, ErrUnavailable,
// ErrNotJSON, ErrFieldMissing, ErrEmptyValue or ErrInvalidSecret), unless
// WithStartEmpty is given. ctx bounds the first fetch only.
func New(ctx context.Context, client Client, secretID string, opts ...Option) (*Source, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil Secrets Manager client", ErrInvalidOption)
	}
	if secretID == "" {
		return nil, fmt.Errorf("%w: empty secret ID", ErrInvalidOption)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Source{
		client:   client,
		secretID: secretID,
		cfg:      cfg,
		fetchSem: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	// Background fetches must outlive the caller's ctx (often a startup
	// deadline) and must not be children of its span.
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.tel = newTelemetry(s)

	failures := 0
	if err := s.refresh(ctx, potel.RefreshTriggerInitial); err != nil {
		if !cfg.startEmpty {
			s.cancel()
			s.tel.close()
			return nil, err
		}
		cfg.onError(err)
		failures = 1
	}
	go s.run(failures)
	return s, nil
}

// Keyring returns the keys in force, or nil before the first successful
// fetch and after WithMaxStaleness has expired them. It does no I/O.
func (s *Source) Keyring() *keysource.Keyring {
	r := s.ring.Load()
	if r != nil && s.cfg.maxStaleness > 0 && s.stale() {
		return nil
	}
	return r
}

func (s *Source) stale() bool {
	return s.cfg.now().Sub(time.Unix(0, s.lastGood.Load())) > s.cfg.maxStaleness
}

// Err returns the error of the most recent refresh, or nil if it
// succeeded.
func (s *Source) Err() error {
	if p := s.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Refresh checks Secrets Manager now and publishes new keys if the
// versions changed. A refresh already in flight is waited for, never run
// in parallel. On error the last good keys stay in force.
func (s *Source) Refresh(ctx context.Context) error {
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	return s.refresh(ctx, potel.RefreshTriggerManual)
}

// maxUnknownWaiters bounds the calls that wait for an unknown-signer
// refresh started by another: enough for the genuine tokens signed with
// a secret rotated a moment ago that a backend sees in the seconds a
// refresh takes, too few for a flood of forged tokens to matter.
const maxUnknownWaiters = 16

// RefreshUnknownSigner is called by the verifier when a token matches no
// key. At most once per WithUnknownSignerInterval it refreshes the source;
// the call that starts the refresh and up to 16 calls that arrive while
// it runs wait for it, each at most until its ctx is done, and every
// other call returns the keyring in force at once. Tokens with an
// unknown signer are mostly forged (anyone can send one): had every one
// waited, a flood of them would hold a goroutine and a connection each
// for as long as Secrets Manager is slow (up to WithFetchTimeout). A
// genuine token signed with a secret rotated a moment ago that finds
// every waiting place taken fails once; clients retry an invalid session
// token once (X-Shopify-Retry-Invalid-Session-Request). A nil ctx is
// taken for context.Background.
func (s *Source) RefreshUnknownSigner(ctx context.Context) *keysource.Keyring {
	if s.cfg.unknownInterval <= 0 {
		return s.Keyring()
	}
	if ctx == nil {
		ctx = context.Background()
	}
	s.unknownMu.Lock()
	if s.closed {
		s.unknownMu.Unlock()
		return s.Keyring()
	}
	done := s.unknownDone
	switch {
	case done != nil && s.unknownWaiters >= maxUnknownWaiters:
		s.unknownMu.Unlock()
		return s.Keyring()
	case done != nil:
		s.unknownWaiters++
		defer func() {
			s.unknownMu.Lock()
			s.unknownWaiters--
			s.unknownMu.Unlock()
		}()
	default:
		now := s.cfg.now()
		if !s.lastUnknown.IsZero() && now.Sub(s.lastUnknown) < s.cfg.unknownInterval {
			s.unknownMu.Unlock()
			return s.Keyring()
		}
		s.lastUnknown = now
		done = make(chan struct{})
		s.unknownDone = done
		// The refresh runs on the source's context, not the request's: if
		// this request gives up, the refresh still completes for the
		// requests behind it. It is bounded by the fetch timeout and Close.
		s.wg.Add(1)
		link := linkFrom(ctx)
		go func() {
			defer s.wg.Done()
			_ = s.refresh(withLink(s.ctx, link), potel.RefreshTriggerUnknownSigner)
			s.unknownMu.Lock()
			s.unknownDone = nil
			s.unknownMu.Unlock()
			close(done)
		}()
	}
	s.unknownMu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return s.Keyring()
}

// Close stops the background refreshes and waits for them to end. The last
// keys stay readable. Close is idempotent.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		s.unknownMu.Lock()
		s.closed = true // after this, wg.Add is never called again
		s.unknownMu.Unlock()
		s.cancel()
		<-s.done
		s.wg.Wait()
		s.tel.close()
	})
	return nil
}

// run refreshes on the interval, or with backoff after failures, until
// Close.
func (s *Source) run(failures int) {
	defer close(s.done)
	for {
		c, stop := s.cfg.after(s.delay(failures))
		select {
		case <-s.ctx.Done():
			stop()
			return
		case <-c:
		}
		if err := s.refresh(s.ctx, potel.RefreshTriggerInterval); err != nil {
			if s.ctx.Err() != nil {
				return
			}
			failures++
			s.cfg.onError(err)
		} else {
			failures = 0
		}
	}
}

// delay is the wait before the next background refresh: the interval
// spread by ±jitter, or after failures an exponential backoff (1 s
// doubling, capped) with equal jitter.
func (s *Source) delay(failures int) time.Duration {
	if failures == 0 {
		d := s.cfg.interval
		if j := s.cfg.jitter; j > 0 {
			d = time.Duration(float64(d) * (1 + j*(2*s.cfg.random()-1)))
		}
		return d
	}
	b := min(backoffBase, s.cfg.backoffCap)
	for i := 1; i < failures && b < s.cfg.backoffCap; i++ {
		b *= 2
	}
	b = min(b, s.cfg.backoffCap)
	return b/2 + time.Duration(s.cfg.random()*float64(b/2))
}

// refresh runs one fetch, at most one at a time, and records it.
func (s *Source) refresh(ctx context.Context, trigger string) error {
	select {
	case s.fetchSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: secret %q: gave up waiting for the refresh in flight: %w", ErrUnavailable, s.secretID, ctx.Err())
	}
	defer func() { <-s.fetchSem }()

	ctx, cancel := context.WithTimeout(ctx, s.cfg.fetchTimeout)
	defer cancel()
	ctx, span := s.tel.start(ctx, trigger)
	outcome, err := s.fetch(ctx)
	s.tel.end(ctx, span, outcome, err, s.ring.Load().Len())

	if err != nil {
		s.lastErr.Store(&err)
		return err
	}
	s.lastErr.Store(nil)
	s.lastGood.Store(s.cfg.now().UnixNano())
	return nil
}

// fetch checks the version IDs (DescribeSecret) and reads the values
// (GetSecretValue) only when they changed. The caller holds fetchSem.
func (s *Source) fetch(ctx context.Context) (outcome string, err error) {
	desc, err := s.client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.secretID)})
	if err != nil {
		return "", s.awsError("DescribeSecret", err)
	}
	if desc.DeletedDate != nil {
		return "", fmt.Errorf("%w: secret %q is scheduled for deletion", ErrNotFound, s.secretID)
	}
	want := versionsOf(desc.VersionIdsToStages)
	if want.current == "" {
		return "", fmt.Errorf("%w: secret %q has no %s version", ErrNotFound, s.secretID, stageCurrent)
	}
	old := s.ring.Load()
	if old != nil && want == s.versions {
		return potel.RefreshOutcomeUnchanged, nil
	}

	keys, err := s.readVersion(ctx, want.current)
	if err != nil {
		return "", err
	}
	if want.previous != "" {
		prev, err := s.readVersion(ctx, want.previous)
		switch {
		case err == nil:
			keys = append(keys, prev...)
		case errors.Is(err, ErrUnavailable), errors.Is(err, ErrAccessDenied):
			return "", err // try again later rather than drop the previous key
		default:
			// The previous version is gone or in another format: serve the
			// current one alone rather than fail the rotation.
			s.cfg.onError(fmt.Errorf("awssm: skipping %s version: %w", stagePrevious, err))
		}
	}
	ring, err := keysource.NewKeyring(s.cfg.now(), keys...)
	if err != nil {
		return "", fmt.Errorf("awssm: secret %q: %w", s.secretID, err)
	}
	s.versions = want
	if ring.SameKeys(old) {
		// Keep the generation, and with it the verifier's cached sessions.
		return potel.RefreshOutcomeUnchanged, nil
	}
	s.ring.Store(ring)
	return potel.RefreshOutcomeUpdated, nil
}

func (s *Source) readVersion(ctx context.Context, versionID string) ([]keysource.Key, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:  aws.String(s.secretID),
		VersionId: aws.String(versionID),
	})
	if err != nil {
		return nil, s.awsError("GetSecretValue", err)
	}
	return s.cfg.keysFromValue(s.secretID, versionID, out.SecretString, out.SecretBinary)
}

// versionsOf picks the AWSCURRENT and AWSPREVIOUS version IDs. AWS keeps
// each stage on one version; should several carry one (some emulators
// do), the lowest ID wins so that the choice is stable.
func versionsOf(stages map[string][]string) versionPair {
	var cur, prev []string
	for id, st := range stages {
		if slices.Contains(st, stageCurrent) {
			cur = append(cur, id)
		} else if slices.Contains(st, stagePrevious) {
			prev = append(prev, id)
		}
	}
	var v versionPair
	if len(cur) > 0 {
		v.current = slices.Min(cur)
	}
	if len(prev) > 0 {
		v.previous = slices.Min(prev)
	}
	return v
}

// awsError classifies an SDK error under a sentinel. Decoding errors are
// not wrapped: their messages may quote bytes of the response.
func (s *Source) awsError(op string, err error) error {
	var deser *smithy.DeserializationError
	if errors.As(err, &deser) {
		return fmt.Errorf("%w: %s %q: the response could not be decoded", ErrUnavailable, op, s.secretID)
	}
	sentinel := ErrUnavailable
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ResourceNotFoundException":
			sentinel = ErrNotFound
		case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
			"InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken",
			"ExpiredTokenException", "DecryptionFailure":
			sentinel = ErrAccessDenied
		}
	}
	return fmt.Errorf("%w: %s %q: %w", sentinel, op, s.secretID, err)
}

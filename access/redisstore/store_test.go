package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/accesstest"
	"github.com/possession-dev/possession/access/redisstore"
	"github.com/possession-dev/possession/access/redisstore/redistest"
	"github.com/possession-dev/possession/access/storetest"
	"github.com/possession-dev/possession/webhook"
	"github.com/possession-dev/possession/webhook/webhooktest"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the fault tests cause many.
	redis.SetLogger(quiet{})
	goleak.VerifyTestMain(m)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var _ webhook.Deduper = (*redisstore.Store)(nil)

// client returns a go-redis client of addr, closed when t ends.
func client(t *testing.T, addr string, opts ...func(*redis.Options)) *redis.Client {
	t.Helper()
	o := &redis.Options{Addr: addr}
	for _, f := range opts {
		f(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func newStore(t *testing.T, c redisstore.Client, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(c, redisstore.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var prefixes atomic.Int64

// uniquePrefix gives each subtest its own namespace on a shared server.
func uniquePrefix() string { return fmt.Sprintf("test%d:", prefixes.Add(1)) }

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t, func(t *testing.T) func() access.Store {
		prefix := uniquePrefix()
		return func() access.Store { return newStore(t, client(t, srv.Addr()), prefix) }
	})
}

// TestProcesses runs the store from several OS processes: a fleet.
func TestProcesses(t *testing.T) {
	storetest.RunProcesses(t, func(t *testing.T) string {
		return redistest.Start(t).Addr() + " " + uniquePrefix()
	}, func(t *testing.T, backend string) access.Store {
		addr, prefix, _ := strings.Cut(backend, " ")
		return newStore(t, client(t, addr), prefix)
	})
}

func TestRestartUnderLoad(t *testing.T) {
	// Redis crashes (SIGKILL) and restarts under a stream of locked
	// writes from four instances: callers get errors while it is down,
	// never a torn, stale or lost record, and writes resume after.
	srv := redistest.Start(t, redistest.WithFsyncAlways())
	prefix := uniquePrefix()
	var clients []access.Store
	for range 4 {
		c := client(t, srv.Addr(), func(o *redis.Options) {
			o.DialTimeout, o.ReadTimeout, o.WriteTimeout = 200*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
			// Fail fast, so the outage reaches the callers (by default
			// go-redis rides out half a second of dial failures).
			o.MaxRetries, o.DialerRetries = 1, 1
			o.MinRetryBackoff, o.MaxRetryBackoff = 5*time.Millisecond, 20*time.Millisecond
		})
		clients = append(clients, newStore(t, c, prefix))
	}
	key := access.Key{Shop: "restart.myshopify.com", Mode: access.Offline}
	storetest.RunOutages(t, srv, clients, key, 400*time.Millisecond, time.Minute)
}

func TestErrorsWhileDown(t *testing.T) {
	// Every method fails with an error (not a sentinel, not a hang) while
	// Redis is down, and works again once it is back.
	srv := redistest.Start(t)
	s := newStore(t, client(t, srv.Addr(), func(o *redis.Options) {
		o.DialTimeout, o.MaxRetries, o.DialerRetries = 100*time.Millisecond, -1, 1
	}), uniquePrefix())
	// The lease and fence survive in the append-only file.
	storetest.ErrorsWhileDown(t, srv, s, "Redis", "redisstore: ")
}

func TestNewErrors(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	cases := []struct {
		name   string
		client redisstore.Client
		opts   []redisstore.Option
		want   error
	}{
		{"nil client", nil, nil, redisstore.ErrInvalidArgument},
		{"nil option", c, []redisstore.Option{nil}, redisstore.ErrInvalidOption},
		{"empty prefix", c, []redisstore.Option{redisstore.WithPrefix("")}, redisstore.ErrInvalidOption},
		{"prefix with a space", c, []redisstore.Option{redisstore.WithPrefix("a b")}, redisstore.ErrInvalidOption},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := redisstore.New(tc.client, tc.opts...)
			if !errors.Is(err, tc.want) || s != nil {
				t.Fatalf("New = %v, %v; want nil, %v", s, err, tc.want)
			}
		})
	}
}

func TestBadArguments(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, client(t, srv.Addr()), uniquePrefix())
	ctx := context.Background()
	bad := access.Key{Shop: "a.myshopify.com"} // mode 0
	if _, err := s.Load(ctx, bad); !errors.Is(err, redisstore.ErrInvalidArgument) {
		t.Errorf("Load of a key without a mode: %v, want ErrInvalidArgument", err)
	}
	key := access.Key{Shop: "a.myshopify.com", Mode: access.Offline}
	if _, err := s.Lock(ctx, key, 0); !errors.Is(err, redisstore.ErrInvalidArgument) {
		t.Errorf("Lock with a zero lease: %v, want ErrInvalidArgument", err)
	}
	if _, _, err := s.ClaimDelivery(ctx, "id", 0); !errors.Is(err, redisstore.ErrInvalidArgument) {
		t.Errorf("ClaimDelivery with a zero lease: %v, want ErrInvalidArgument", err)
	}
}

func TestCorruptRecord(t *testing.T) {
	srv := redistest.Start(t)
	c := client(t, srv.Addr())
	prefix := uniquePrefix()
	s := newStore(t, c, prefix)
	ctx := context.Background()
	key := access.Key{Shop: "c.myshopify.com", Mode: access.Offline}
	cases := []struct {
		name   string
		fields []any
	}{
		{"bad version", []any{"shop", key.Shop, "mode", "1", "user_id", "", "version", "x"}},
		{"bad time", []any{"shop", key.Shop, "mode", "1", "user_id", "", "version", "1", "updated_ms", "soon"}},
		{"key fields differ", []any{"shop", "other.myshopify.com", "mode", "1", "user_id", "", "version", "1"}},
	}
	for _, tc := range cases {
		c.Del(ctx, prefix+"rec:offline:"+key.Shop)
		if err := c.HSet(ctx, prefix+"rec:offline:"+key.Shop, tc.fields...).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(ctx, key); !errors.Is(err, redisstore.ErrCorrupt) {
			t.Errorf("%s: Load = %v, want ErrCorrupt", tc.name, err)
		}
	}
}

func TestRetriedWritesAreRecognised(t *testing.T) {
	// go-redis retries a script after a network error. A retried
	// CompareAndSwap, Lock or ClaimDelivery whose first attempt was
	// applied must report its own success, not a conflict: simulate the
	// lost reply with a client hook that runs every script twice.
	srv := redistest.Start(t)
	c := client(t, srv.Addr())
	c.AddHook(twice{})
	s := newStore(t, c, uniquePrefix())
	ctx := context.Background()
	key := access.Key{Shop: "retry.myshopify.com", Mode: access.Offline}
	l, err := s.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatalf("Lock run twice: %v", err)
	}
	if err := s.CompareAndSwap(ctx, l, access.Record{Key: key, Version: 1}); err != nil {
		t.Fatalf("CompareAndSwap run twice: %v", err)
	}
	if claim, done, err := s.ClaimDelivery(ctx, "d", time.Minute); err != nil || claim == 0 || done {
		t.Fatalf("ClaimDelivery run twice = %d, %v, %v; want a claim", claim, done, err)
	}
	// Distinct calls are still told apart.
	if err := s.CompareAndSwap(ctx, l, access.Record{Key: key, Version: 1}); !errors.Is(err, access.ErrConflict) {
		t.Fatalf("a second write of version 1: %v, want ErrConflict", err)
	}
	if _, err := s.Lock(ctx, key, time.Minute); !errors.Is(err, access.ErrLocked) {
		t.Fatalf("a second Lock: %v, want ErrLocked", err)
	}
}

// twice is a go-redis hook that sends each EVALSHA twice and keeps the
// second reply, as a retry after a lost reply would.
type twice struct{}

func (twice) DialHook(next redis.DialHook) redis.DialHook { return next }
func (twice) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (twice) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if strings.HasPrefix(cmd.Name(), "eval") {
			if err := next(ctx, cmd); err != nil {
				return err
			}
		}
		return next(ctx, cmd)
	}
}

// TestFleet runs eight Managers, each on its own Redis client, through
// the fleet rules: one refresh per shop and expiry, a dead holder taken
// over and fenced.
func TestFleet(t *testing.T) {
	srv := redistest.Start(t)
	prefix := uniquePrefix()
	accesstest.RunFleet(t, func(t *testing.T) access.Store { return newStore(t, client(t, srv.Addr()), prefix) })
}

// The webhook package's own checks of a Deduper: its contract, and
// exactly-once handling of 1,000 webhooks delivered three times each,
// concurrently, to four instances sharing the store.
func TestWebhookDeduper(t *testing.T) {
	srv := redistest.Start(t)
	webhooktest.TestDeduper(t, func(t *testing.T) webhook.Deduper {
		return newStore(t, client(t, srv.Addr()), uniquePrefix())
	})
}

func TestWebhookExactlyOnce(t *testing.T) {
	srv := redistest.Start(t)
	webhooktest.TestExactlyOnce(t, func(t *testing.T) webhook.Deduper {
		return newStore(t, client(t, srv.Addr()), uniquePrefix())
	})
}

// TestFleetProcesses runs eight OS processes, each with its own Redis
// client and Manager, asking for one shop's token while it crosses its
// refresh margin again and again: one refresh per expiry, every token
// served honoured, no revoked pair left stored.
func TestFleetProcesses(t *testing.T) {
	accesstest.RunFleetProcesses(t, func(t *testing.T) string {
		return redistest.Start(t).Addr() + " " + uniquePrefix()
	}, func(t *testing.T, backend string) access.Store {
		addr, prefix, _ := strings.Cut(backend, " ")
		return newStore(t, client(t, addr), prefix)
	})
}

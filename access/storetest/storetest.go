package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/webhook"
)

// Backend makes one fresh, empty namespace of the store under test (a new
// file, database schema or key prefix) for one subtest, and returns a
// function that opens a new client of it. Every client open returns must
// see the same data; the suite calls it several times to act as several
// instances of a fleet. Backend registers the cleanup of what it made with
// t.Cleanup; clients the suite opens are closed there too (the suite does
// not close them, since access.Store has no Close).
//
// A store that lives in one process (access.MemoryStore) returns the same
// value from every open.
type Backend func(t *testing.T) (open func() access.Store)

// Short leases keep the suite fast; waits poll until a lease has ended
// instead of sleeping a fixed time.
const (
	shortLease = 150 * time.Millisecond
	longLease  = time.Minute
	// waitLimit bounds every poll for a lease to end, so a store whose
	// locks never free themselves fails instead of hanging.
	waitLimit = 10 * time.Second
)

// Run runs the conformance suite of access.Store against the store newBackend
// makes, each case in its own subtest (in parallel, with its own backend).
// When the store implements webhook.Deduper, Run also runs the deduplication
// suite (RunDeduper) under the subtest "Deduper"; otherwise that subtest is
// skipped with a note.
func Run(t *testing.T, newBackend Backend) {
	t.Helper()
	for _, c := range storeCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(newFixture(t, newBackend(t)))
		})
	}
	t.Run("Deduper", func(t *testing.T) {
		if _, ok := newBackend(t)().(webhook.Deduper); !ok {
			t.Skip("the store does not implement webhook.Deduper")
		}
		RunDeduper(t, func(t *testing.T) func() webhook.Deduper {
			open := newBackend(t)
			return func() webhook.Deduper { return open().(webhook.Deduper) }
		})
	})
}

type storeCase struct {
	name string
	run  func(f *fixture)
}

// fixture holds what one case works with: its test, a context bounded by
// the test's deadline, and the backend's client opener.
type fixture struct {
	*testing.T
	ctx  context.Context
	open func() access.Store
	s    access.Store // the first client, opened by newFixture
}

func newFixture(t *testing.T, open func() access.Store) *fixture {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return &fixture{T: t, ctx: ctx, open: open, s: open()}
}

// Keys used throughout; shopKey and friends build others.
func offlineKey(shop string) access.Key { return access.Key{Shop: shop, Mode: access.Offline} }

func onlineKey(shop, user string) access.Key {
	return access.Key{Shop: shop, Mode: access.Online, UserID: user}
}

// ms returns t as stores keep it: UTC, whole milliseconds.
func ms(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// base is a fixed instant a little in the future of any test run, at
// millisecond precision, so expiry fields are realistic.
var base = time.Date(2031, 5, 6, 7, 8, 9, 123_000_000, time.UTC)

// record returns a full record of key at version, every field set and
// derived from version, so that a reader can tell whether what it loaded is
// one whole write (see Consistent).
func record(key access.Key, version int64) access.Record {
	return access.Record{
		Key:              key,
		Scope:            fmt.Sprintf("read_products,write_orders,v=%d", version),
		AccessToken:      sealedFake("access", key, version),
		AccessExpiresAt:  base.Add(time.Duration(version) * time.Hour),
		RefreshToken:     sealedFake("refresh", key, version),
		RefreshExpiresAt: base.Add(90*24*time.Hour + time.Duration(version)*time.Millisecond),
		Version:          version,
		UpdatedAt:        base.Add(time.Duration(version) * time.Second),
	}
}

// sealedFake stands in for a sealed token: binary, with the bytes a text
// encoding would mangle (NUL, 0xff, invalid UTF-8), unique per write.
func sealedFake(kind string, key access.Key, version int64) []byte {
	b := []byte{0x00, 0xff, 0xfe, 0x80, '\n', '"', '\'', '\\'}
	b = append(b, fmt.Sprintf("%s|%s|%d|%d|%s", kind, key.Shop, key.Mode, version, key.UserID)...)
	return append(b, 0x00)
}

// Consistent reports whether rec is, field by field, exactly the record the
// suite's writers (the conformance cases, Workload and the processes test)
// write at rec.Version: whole, neither torn between two writes nor
// corrupted.
func Consistent(rec access.Record) error {
	return sameRecord(rec, record(rec.Key, rec.Version))
}

// sameRecord compares every field of got with want, which holds times
// already at the precision stores keep.
func sameRecord(got, want access.Record) error {
	var errs []error
	diff := func(field string, g, w any) {
		errs = append(errs, fmt.Errorf("%s = %v, want %v", field, g, w))
	}
	if got.Key != want.Key {
		diff("Key", got.Key, want.Key)
	}
	if got.Scope != want.Scope {
		diff("Scope", got.Scope, want.Scope)
	}
	sameBytes := func(field string, g, w []byte) {
		if !bytes.Equal(g, w) || (g == nil) != (w == nil) {
			errs = append(errs, fmt.Errorf("%s = %q (nil %v), want %q (nil %v)", field, g, g == nil, w, w == nil))
		}
	}
	sameBytes("AccessToken", got.AccessToken, want.AccessToken)
	sameBytes("RefreshToken", got.RefreshToken, want.RefreshToken)
	sameTime := func(field string, g, w time.Time) {
		switch {
		case w.IsZero():
			if !g.IsZero() {
				diff(field, g, "the zero time")
			}
		case !g.Equal(w):
			diff(field, g.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano))
		case g.Location() != time.UTC:
			errs = append(errs, fmt.Errorf("%s in location %q, want UTC", field, g.Location()))
		}
	}
	sameTime("AccessExpiresAt", got.AccessExpiresAt, want.AccessExpiresAt)
	sameTime("RefreshExpiresAt", got.RefreshExpiresAt, want.RefreshExpiresAt)
	sameTime("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	if got.Version != want.Version {
		diff("Version", got.Version, want.Version)
	}
	return errors.Join(errs...)
}

// lock takes key's lock on s or fails the test.
func (f *fixture) lock(s access.Store, key access.Key, lease time.Duration) access.Lease {
	f.Helper()
	l, err := s.Lock(f.ctx, key, lease)
	if err != nil {
		f.Fatalf("Lock(%v, %v): %v", key, lease, err)
	}
	return l
}

// write stores rec under a fresh lease of its key and releases the lock.
func (f *fixture) write(s access.Store, rec access.Record) {
	f.Helper()
	l := f.lock(s, rec.Key, longLease)
	if err := s.CompareAndSwap(f.ctx, l, rec); err != nil {
		f.Fatalf("CompareAndSwap(%v, version %d): %v", rec.Key, rec.Version, err)
	}
	if err := s.Unlock(f.ctx, l); err != nil {
		f.Fatalf("Unlock(%v): %v", rec.Key, err)
	}
}

// mustLoad loads key from s and checks it against want.
func (f *fixture) mustLoad(s access.Store, want access.Record) {
	f.Helper()
	got, err := s.Load(f.ctx, want.Key)
	if err != nil {
		f.Fatalf("Load(%v): %v", want.Key, err)
	}
	if err := sameRecord(got, want); err != nil {
		f.Fatalf("Load(%v):\n%v", want.Key, err)
	}
}

// mustNotFind checks that key has no record on s.
func (f *fixture) mustNotFind(s access.Store, key access.Key) {
	f.Helper()
	if got, err := s.Load(f.ctx, key); !errors.Is(err, access.ErrNotFound) {
		f.Fatalf("Load(%v) = version %d, %v; want ErrNotFound", key, got.Version, err)
	}
}

// waitLockable polls key's lock on s until it is granted (the previous
// lease ended), and returns the new lease.
func (f *fixture) waitLockable(s access.Store, key access.Key, lease time.Duration) access.Lease {
	f.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		l, err := s.Lock(f.ctx, key, lease)
		if err == nil {
			return l
		}
		if !errors.Is(err, access.ErrLocked) {
			f.Fatalf("Lock(%v) while waiting for the lease to end: %v", key, err)
		}
		if time.Now().After(deadline) {
			f.Fatalf("Lock(%v): still ErrLocked after %v: an ended lease must free the lock", key, waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sleepUntil sleeps until t has passed on this machine's clock.
func sleepUntil(t time.Time) {
	time.Sleep(time.Until(t) + time.Millisecond)
}

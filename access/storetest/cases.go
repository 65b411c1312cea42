package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/possession-dev/possession/access"
)

var storeCases = []storeCase{
	{"LoadNotFound", loadNotFound},
	{"FirstWriteIsVersion1", firstWriteIsVersion1},
	{"StaleVersionConflicts", staleVersionConflicts},
	{"RoundTrip", roundTrip},
	{"KeysAreDistinct", keysAreDistinct},
	{"LockIsExclusive", lockIsExclusive},
	{"LockRejectsBadLease", lockRejectsBadLease},
	{"LeaseEndsByItself", leaseEndsByItself},
	{"SupersededLeaseIsFenced", supersededLeaseIsFenced},
	{"EndedLeaseWritesWhileNobodyElseLocked", endedLeaseWritesWhileNobodyElseLocked},
	{"UnlockOnlyByHolder", unlockOnlyByHolder},
	{"ForeignLeaseCannotWrite", foreignLeaseCannotWrite},
	{"FencesGrowAcrossClients", fencesGrowAcrossClients},
	{"ConcurrentLock", concurrentLock},
	{"ConcurrentFences", concurrentFences},
	{"ConcurrentCompareAndSwap", concurrentCompareAndSwap},
	{"DeleteShop", deleteShop},
	{"DeletedRecordConflicts", deletedRecordConflicts},
	{"Expiring", expiring},
	{"ExpiringFollowsWrites", expiringFollowsWrites},
	{"NonExpiringPages", nonExpiringPages},
	{"Tombstones", tombstones},
	{"ContextCanceled", contextCanceled},
}

const shop = "conformance.myshopify.com"

func loadNotFound(f *fixture) {
	f.mustNotFind(f.s, offlineKey(shop))
	f.write(f.s, record(offlineKey(shop), 1))
	// Same shop, other modes and users; other shops.
	f.mustNotFind(f.s, onlineKey(shop, "42"))
	f.mustNotFind(f.s, offlineKey("other-"+shop))
	f.mustNotFind(f.open(), offlineKey(strings.ToUpper(shop)))
}

func firstWriteIsVersion1(f *fixture) {
	key := offlineKey(shop)
	l := f.lock(f.s, key, longLease)
	for _, v := range []int64{0, 2, -1} {
		if err := f.s.CompareAndSwap(f.ctx, l, record(key, v)); !errors.Is(err, access.ErrConflict) {
			f.Fatalf("first write with version %d: %v, want ErrConflict", v, err)
		}
		f.mustNotFind(f.s, key)
	}
	if err := f.s.CompareAndSwap(f.ctx, l, record(key, 1)); err != nil {
		f.Fatalf("first write with version 1: %v", err)
	}
	f.mustLoad(f.open(), record(key, 1))
}

func staleVersionConflicts(f *fixture) {
	key := offlineKey(shop)
	other := f.open()
	l := f.lock(f.s, key, longLease)
	for v := int64(1); v <= 3; v++ {
		if err := f.s.CompareAndSwap(f.ctx, l, record(key, v)); err != nil {
			f.Fatalf("write of version %d: %v", v, err)
		}
	}
	for _, v := range []int64{1, 2, 3, 5, 0} {
		if err := other.CompareAndSwap(f.ctx, l, record(key, v)); !errors.Is(err, access.ErrConflict) {
			f.Fatalf("write of version %d over version 3: %v, want ErrConflict", v, err)
		}
	}
	// Nothing of the refused writes is visible, through either client.
	f.mustLoad(f.s, record(key, 3))
	f.mustLoad(other, record(key, 3))
	if err := other.CompareAndSwap(f.ctx, l, record(key, 4)); err != nil {
		f.Fatalf("write of version 4 from another client under the same lease: %v", err)
	}
	f.mustLoad(f.s, record(key, 4))
}

func roundTrip(f *fixture) {
	ist := time.FixedZone("IST", 5*3600+1800)
	cases := []struct {
		name string
		in   access.Record
		want access.Record // nil: in
	}{
		{name: "every field", in: record(onlineKey(shop, "8123456789"), 1)},
		{name: "offline, non-expiring, no refresh token", in: access.Record{
			Key: offlineKey(shop), Scope: "read_products", AccessToken: []byte{1, 2, 3},
			Version: 1, UpdatedAt: base,
		}},
		{name: "empty scope and token, only updated-at", in: access.Record{
			Key: offlineKey("empty-" + shop), AccessToken: []byte{}, Version: 1, UpdatedAt: base,
		}},
		{name: "large binary tokens, unicode scope", in: access.Record{
			Key: offlineKey("large-" + shop), Scope: "read_ünïcode,write_😀,a=b;c\"d",
			AccessToken: bytes4k(1), AccessExpiresAt: base, RefreshToken: bytes4k(2),
			RefreshExpiresAt: base.Add(time.Millisecond), Version: 1, UpdatedAt: base.Add(-time.Millisecond),
		}},
		{
			name: "times in another zone and below the millisecond read back as UTC milliseconds",
			in: access.Record{
				Key: offlineKey("zone-" + shop), AccessToken: []byte("x"),
				AccessExpiresAt:  time.Date(2030, 1, 2, 3, 4, 5, 678_999_999, ist),
				RefreshToken:     []byte("y"),
				RefreshExpiresAt: time.Date(2030, 4, 2, 3, 4, 5, 1, ist),
				Version:          1,
				UpdatedAt:        time.Now(), // with a monotonic reading
			},
		},
		{name: "times before 1970 and far ahead", in: access.Record{
			Key: offlineKey("far-" + shop), AccessToken: []byte("x"),
			AccessExpiresAt:  time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
			RefreshExpiresAt: time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
			Version:          1, UpdatedAt: base,
		}},
	}
	for _, c := range cases {
		want := c.in
		want.AccessExpiresAt = ms(want.AccessExpiresAt)
		want.RefreshExpiresAt = ms(want.RefreshExpiresAt)
		want.UpdatedAt = ms(want.UpdatedAt)
		f.write(f.s, c.in)
		got, err := f.open().Load(f.ctx, c.in.Key)
		if err != nil {
			f.Fatalf("%s: Load: %v", c.name, err)
		}
		if err := sameRecord(got, want); err != nil {
			f.Errorf("%s: read back differs:\n%v", c.name, err)
		}
	}

	// A rewrite replaces every field: what the new version leaves empty is
	// empty on read, not left over from the old one.
	key := offlineKey("rewrite-" + shop)
	f.write(f.s, record(key, 1))
	second := access.Record{Key: key, AccessToken: []byte("new"), Version: 2, UpdatedAt: base}
	f.write(f.s, second)
	f.mustLoad(f.open(), second)

	// A record read back is the caller's to change.
	got, err := f.s.Load(f.ctx, key)
	if err != nil {
		f.Fatal(err)
	}
	got.AccessToken[0] = 'X'
	f.mustLoad(f.s, second)
}

func bytes4k(seed byte) []byte {
	b := make([]byte, 4096)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func keysAreDistinct(f *fixture) {
	// Key.String of the two online keys is the same ("a_b_c.myshopify.com"
	// style collisions); a store must keep them apart all the same.
	keys := []access.Key{
		offlineKey("a_b"),
		onlineKey("a_b", "c"),
		onlineKey("a", "b_c"),
		onlineKey("a_b", "c2"),
		offlineKey("a"),
		offlineKey("a:b"),
		offlineKey("a%3Ab"),
		offlineKey("a:b:c"),
		onlineKey("a:b", "c"),
		onlineKey("a", "b:c"),
		{Shop: "a", Mode: access.Online},
	}
	for _, k := range keys {
		f.write(f.s, record(k, 1))
	}
	s := f.open()
	for _, k := range keys {
		f.mustLoad(s, record(k, 1))
	}
	// Their locks are as separate as their records.
	var held []access.Lease
	for _, k := range keys {
		held = append(held, f.lock(s, k, longLease))
	}
	for i, l := range held {
		if err := f.s.CompareAndSwap(f.ctx, l, record(keys[i], 2)); err != nil {
			f.Fatalf("write of %v: %v", keys[i], err)
		}
	}
	for _, k := range keys {
		f.mustLoad(f.s, record(k, 2))
	}
}

func lockIsExclusive(f *fixture) {
	key := offlineKey(shop)
	other := f.open()
	before := time.Now()
	l := f.lock(f.s, key, longLease)
	after := time.Now()
	if l.Key != key || l.Fence <= 0 {
		f.Fatalf("Lock = %+v: want the key and a positive fence", l)
	}
	if l.Until.Before(before.Add(longLease-time.Millisecond)) || l.Until.After(after.Add(longLease+time.Millisecond)) {
		f.Fatalf("Lease.Until %v, want lock time + %v (between %v and %v)", l.Until, longLease, before.Add(longLease), after.Add(longLease))
	}
	for _, s := range []access.Store{f.s, other} {
		if _, err := s.Lock(f.ctx, key, longLease); !errors.Is(err, access.ErrLocked) {
			f.Fatalf("second Lock while the first lease lives: %v, want ErrLocked", err)
		}
	}
	// Other keys are not affected.
	f.lock(other, onlineKey(shop, "1"), longLease)
	f.lock(other, offlineKey("other-"+shop), longLease)

	if err := f.s.Unlock(f.ctx, l); err != nil {
		f.Fatalf("Unlock: %v", err)
	}
	next := f.lock(other, key, longLease)
	if next.Fence <= l.Fence {
		f.Fatalf("fence %d after %d: every Lock must return a larger fence", next.Fence, l.Fence)
	}
	if _, err := f.s.Lock(f.ctx, key, longLease); !errors.Is(err, access.ErrLocked) {
		f.Fatalf("Lock after the lock was taken again: %v, want ErrLocked", err)
	}
	// Unlocking twice, or a key nobody holds, is not an error.
	if err := f.s.Unlock(f.ctx, l); err != nil {
		f.Fatalf("second Unlock of an ended lease: %v", err)
	}
	if err := f.s.Unlock(f.ctx, access.Lease{Key: offlineKey("never-" + shop), Fence: 7}); err != nil {
		f.Fatalf("Unlock of a key never locked: %v", err)
	}
}

func lockRejectsBadLease(f *fixture) {
	key := offlineKey(shop)
	for _, d := range []time.Duration{0, -time.Second} {
		if _, err := f.s.Lock(f.ctx, key, d); err == nil || errors.Is(err, access.ErrLocked) {
			f.Fatalf("Lock with lease %v: %v, want an error (not ErrLocked)", d, err)
		}
	}
	// The refused calls took nothing.
	f.lock(f.open(), key, longLease)
}

func leaseEndsByItself(f *fixture) {
	// A holder that crashed (never unlocks) blocks the key only until its
	// lease ends.
	key := offlineKey(shop)
	crashed := f.lock(f.s, key, shortLease)
	other := f.open()
	if _, err := other.Lock(f.ctx, key, longLease); !errors.Is(err, access.ErrLocked) && time.Now().Before(crashed.Until) {
		f.Fatalf("Lock during the crashed holder's lease: %v, want ErrLocked", err)
	}
	next := f.waitLockable(other, key, longLease)
	if now := time.Now(); now.Before(crashed.Until) {
		f.Fatalf("lock granted again %v before the lease's Until (%v): a lease must last as long as asked", crashed.Until.Sub(now), crashed.Until)
	}
	if next.Fence <= crashed.Fence {
		f.Fatalf("fence %d after %d: must grow", next.Fence, crashed.Fence)
	}
}

func supersededLeaseIsFenced(f *fixture) {
	// The lock holder stalls past its lease (a GC pause, a slow Shopify),
	// another instance takes over and writes, then the stale holder wakes
	// up and tries to write what it fetched: refused, nothing written.
	key := offlineKey(shop)
	f.write(f.s, record(key, 1))
	other := f.open()
	stale := f.lock(f.s, key, shortLease)
	fresh := f.waitLockable(other, key, longLease)
	if fresh.Fence <= stale.Fence {
		f.Fatalf("fence %d after %d: must grow", fresh.Fence, stale.Fence)
	}
	if err := f.s.CompareAndSwap(f.ctx, stale, record(key, 2)); !errors.Is(err, access.ErrFenced) {
		f.Fatalf("stale holder's write: %v, want ErrFenced", err)
	}
	f.mustLoad(other, record(key, 1))
	if err := other.CompareAndSwap(f.ctx, fresh, record(key, 2)); err != nil {
		f.Fatalf("new holder's write: %v", err)
	}
	// Still fenced after the new holder wrote (the version would now match
	// a write of 3), and after it unlocked.
	if err := f.s.CompareAndSwap(f.ctx, stale, record(key, 3)); !errors.Is(err, access.ErrFenced) {
		f.Fatalf("stale holder's write after the new holder's: %v, want ErrFenced", err)
	}
	if err := other.Unlock(f.ctx, fresh); err != nil {
		f.Fatal(err)
	}
	if err := f.s.CompareAndSwap(f.ctx, stale, record(key, 3)); !errors.Is(err, access.ErrFenced) {
		f.Fatalf("stale holder's write after the new holder unlocked: %v, want ErrFenced", err)
	}
	// A stale lease whose version is also stale is still fenced: the
	// fence is the first thing checked.
	if err := f.s.CompareAndSwap(f.ctx, stale, record(key, 1)); !errors.Is(err, access.ErrFenced) {
		f.Fatalf("stale holder's write of a stale version: %v, want ErrFenced", err)
	}
	f.mustLoad(f.s, record(key, 2))
	// The stale holder's Unlock does not free a newer holder's lock.
	newest := f.lock(other, key, longLease)
	if err := f.s.Unlock(f.ctx, stale); err != nil {
		f.Fatal(err)
	}
	if _, err := f.s.Lock(f.ctx, key, longLease); !errors.Is(err, access.ErrLocked) {
		f.Fatalf("Lock after a stale Unlock: %v, want ErrLocked (lease %d holds it)", err, newest.Fence)
	}
}

func endedLeaseWritesWhileNobodyElseLocked(f *fixture) {
	// Decision: a lease that ended while nobody took the key since is not
	// fenced. No newer holder exists whose write it could overwrite, and
	// the version check still refuses a write over anything written since
	// it read. Refusing would make a slow refresh (which has already
	// rotated the shop's refresh token at Shopify) throw its new pair away
	// and lock the shop out.
	key := offlineKey(shop)
	l := f.lock(f.s, key, shortLease)
	sleepUntil(l.Until.Add(20 * time.Millisecond))
	if err := f.open().CompareAndSwap(f.ctx, l, record(key, 1)); err != nil {
		f.Fatalf("write under an ended lease nobody superseded: %v, want success", err)
	}
	f.mustLoad(f.s, record(key, 1))
	if err := f.s.CompareAndSwap(f.ctx, l, record(key, 1)); !errors.Is(err, access.ErrConflict) {
		f.Fatalf("stale version under the ended lease: %v, want ErrConflict", err)
	}
}

func unlockOnlyByHolder(f *fixture) {
	key := offlineKey(shop)
	other := f.open()
	l := f.lock(f.s, key, longLease)
	forged := []access.Lease{
		{Key: key, Fence: l.Fence - 1, Until: l.Until},
		{Key: key, Fence: l.Fence + 1, Until: l.Until},
		{Key: key},
		{Key: onlineKey(shop, "1"), Fence: l.Fence, Until: l.Until},
	}
	for _, x := range forged {
		if err := other.Unlock(f.ctx, x); err != nil {
			f.Fatalf("Unlock(%+v) by a non-holder: %v, want a no-op", x, err)
		}
		if _, err := other.Lock(f.ctx, key, longLease); !errors.Is(err, access.ErrLocked) {
			f.Fatalf("Lock after Unlock(%+v) by a non-holder: %v, want ErrLocked", x, err)
		}
	}
	// The holder's Unlock works from any client: a lease is a value.
	if err := other.Unlock(f.ctx, l); err != nil {
		f.Fatal(err)
	}
	f.lock(f.s, key, longLease)
}

func foreignLeaseCannotWrite(f *fixture) {
	key := offlineKey(shop)
	f.write(f.s, record(key, 1))
	l := f.lock(f.s, key, longLease)
	cases := []struct {
		name  string
		lease access.Lease
	}{
		{"zero lease", access.Lease{Key: key}},
		{"fence never granted", access.Lease{Key: key, Fence: l.Fence + 1, Until: l.Until}},
		{"previous fence", access.Lease{Key: key, Fence: l.Fence - 1, Until: l.Until}},
	}
	for _, c := range cases {
		if err := f.s.CompareAndSwap(f.ctx, c.lease, record(key, 2)); !errors.Is(err, access.ErrFenced) {
			f.Fatalf("%s: write: %v, want ErrFenced", c.name, err)
		}
	}
	// A lease of another key (even of the same shop) never covers a write.
	otherKey := onlineKey(shop, "1")
	ol := f.lock(f.s, otherKey, longLease)
	if err := f.s.CompareAndSwap(f.ctx, ol, record(key, 2)); !errors.Is(err, access.ErrFenced) {
		f.Fatalf("write under a lease of another key: %v, want ErrFenced", err)
	}
	if err := f.s.CompareAndSwap(f.ctx, ol, record(otherKey, 1)); err != nil {
		f.Fatalf("write under its own key's lease: %v", err)
	}
	f.mustLoad(f.s, record(key, 1))
}

func fencesGrowAcrossClients(f *fixture) {
	key := offlineKey(shop)
	clients := []access.Store{f.s, f.open(), f.open()}
	var last int64
	for i := range 15 {
		s := clients[i%len(clients)]
		l := f.lock(s, key, longLease)
		if l.Fence <= last {
			f.Fatalf("lock %d: fence %d after %d: must grow across clients", i, l.Fence, last)
		}
		last = l.Fence
		if i%5 == 4 {
			// Deleting the shop's records keeps its fences.
			if err := s.Delete(f.ctx, shop); err != nil {
				f.Fatal(err)
			}
		}
		if err := clients[(i+1)%len(clients)].Unlock(f.ctx, l); err != nil {
			f.Fatal(err)
		}
	}
	// A lease that ended and was taken over also counts.
	l := f.lock(f.s, key, shortLease)
	next := f.waitLockable(clients[1], key, longLease)
	if next.Fence <= l.Fence {
		f.Fatalf("fence %d after an expired %d: must grow", next.Fence, l.Fence)
	}
}

func concurrentLock(f *fixture) {
	const goroutines = 12
	for round := range 3 {
		key := offlineKey(fmt.Sprintf("race%d-%s", round, shop))
		clients := make([]access.Store, goroutines)
		for i := range clients {
			clients[i] = f.open()
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		leases := make(chan access.Lease, goroutines)
		errs := make(chan error, goroutines)
		for _, s := range clients {
			wg.Go(func() {
				<-start
				l, err := s.Lock(f.ctx, key, longLease)
				if err == nil {
					leases <- l
				} else if !errors.Is(err, access.ErrLocked) {
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(leases)
		close(errs)
		for err := range errs {
			f.Fatalf("concurrent Lock: %v", err)
		}
		if n := len(leases); n != 1 {
			f.Fatalf("round %d: %d of %d concurrent Locks won, want exactly 1", round, n, goroutines)
		}
	}
}

func concurrentFences(f *fixture) {
	// Goroutines on separate clients take and release one key's lock as
	// fast as they can: every fence granted is unique, and each
	// goroutine sees its own fences grow.
	key := offlineKey(shop)
	const goroutines, locksEach = 6, 8
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		s := f.open()
		wg.Go(func() {
			var last int64
			for got := 0; got < locksEach; {
				l, err := s.Lock(f.ctx, key, longLease)
				if errors.Is(err, access.ErrLocked) {
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				got++
				mu.Lock()
				dup := seen[l.Fence]
				seen[l.Fence] = true
				mu.Unlock()
				if dup || l.Fence <= last {
					errs <- fmt.Errorf("fence %d granted twice or after %d", l.Fence, last)
					return
				}
				last = l.Fence
				if err := s.Unlock(f.ctx, l); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		f.Fatal(err)
	}
	if len(seen) != goroutines*locksEach {
		f.Fatalf("%d distinct fences, want %d", len(seen), goroutines*locksEach)
	}
}

func concurrentCompareAndSwap(f *fixture) {
	// Many writers on separate clients race to write each next version of
	// one key under one lease: exactly one wins each version, the others
	// get ErrConflict, and the record is always one whole write.
	key := offlineKey(shop)
	const goroutines, versions = 8, 30
	l := f.lock(f.s, key, longLease)
	wins := make([][]int64, goroutines)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		s := f.open()
		wg.Go(func() {
			for {
				cur, err := s.Load(f.ctx, key)
				switch {
				case errors.Is(err, access.ErrNotFound):
					cur = access.Record{}
				case err != nil:
					errs <- err
					return
				default:
					if err := Consistent(cur); err != nil {
						errs <- fmt.Errorf("torn record at version %d: %w", cur.Version, err)
						return
					}
				}
				if cur.Version >= versions {
					return
				}
				err = s.CompareAndSwap(f.ctx, l, record(key, cur.Version+1))
				switch {
				case err == nil:
					wins[g] = append(wins[g], cur.Version+1)
				case !errors.Is(err, access.ErrConflict):
					errs <- fmt.Errorf("racing write of version %d: %w, want nil or ErrConflict", cur.Version+1, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		f.Fatal(err)
	}
	var all []int64
	for _, w := range wins {
		all = append(all, w...)
	}
	slices.Sort(all)
	for i, v := range all {
		if v != int64(i+1) {
			f.Fatalf("winning versions %v: want each of 1..%d won exactly once", all, versions)
		}
	}
	if len(all) != versions {
		f.Fatalf("%d winning writes, want %d", len(all), versions)
	}
	f.mustLoad(f.s, record(key, versions))
}

func deleteShop(f *fixture) {
	gone := []access.Key{offlineKey(shop), onlineKey(shop, "1"), onlineKey(shop, "2")}
	kept := []access.Key{
		offlineKey("x" + shop), offlineKey(shop + "x"), offlineKey("conformance"),
		onlineKey("x"+shop, "1"), offlineKey(strings.ToUpper(shop)),
		onlineKey("conformance", ".myshopify.com_1"),
	}
	for _, k := range slices.Concat(gone, kept) {
		f.write(f.s, record(k, 1))
	}
	// Non-expiring records too, so NonExpiring is checked below.
	f.write(f.s, access.Record{Key: offlineKey("ne-" + shop), AccessToken: []byte("x"), Version: 1})
	s := f.open()
	if err := s.Delete(f.ctx, shop); err != nil {
		f.Fatalf("Delete: %v", err)
	}
	if err := s.Delete(f.ctx, "ne-"+shop); err != nil {
		f.Fatalf("Delete: %v", err)
	}
	for _, k := range gone {
		f.mustNotFind(f.s, k)
	}
	for _, k := range kept {
		f.mustLoad(f.s, record(k, 1))
	}
	keys, err := f.s.Expiring(f.ctx, base.Add(1000*time.Hour), 100)
	if err != nil {
		f.Fatal(err)
	}
	for _, k := range keys {
		if k.Shop == shop {
			f.Fatalf("Expiring lists %v after its shop was deleted", k)
		}
	}
	ne, err := f.s.NonExpiring(f.ctx, "", 100)
	if err != nil {
		f.Fatal(err)
	}
	if len(ne) != 0 {
		f.Fatalf("NonExpiring = %v after the shop was deleted, want none", ne)
	}
	// Deleting what is not there is not an error.
	for _, sh := range []string{shop, "never-" + shop, ""} {
		if err := s.Delete(f.ctx, sh); err != nil {
			f.Fatalf("Delete(%q) of nothing: %v", sh, err)
		}
	}
	// The shop can be installed again from version 1.
	f.write(s, record(offlineKey(shop), 1))
	f.mustLoad(f.s, record(offlineKey(shop), 1))
}

func deletedRecordConflicts(f *fixture) {
	// A refresher read the record and holds the lock; the app is
	// uninstalled meanwhile. Its write must not bring the record back.
	key := offlineKey(shop)
	f.write(f.s, record(key, 1))
	f.write(f.s, record(key, 2))
	l := f.lock(f.s, key, longLease)
	read, err := f.s.Load(f.ctx, key)
	if err != nil {
		f.Fatal(err)
	}
	if err := f.open().Delete(f.ctx, shop); err != nil {
		f.Fatal(err)
	}
	if err := f.s.CompareAndSwap(f.ctx, l, record(key, read.Version+1)); !errors.Is(err, access.ErrConflict) {
		f.Fatalf("write over a deleted record: %v, want ErrConflict", err)
	}
	f.mustNotFind(f.s, key)
}

func expiring(f *fixture) {
	// Offline records expiring at base+1h .. base+9h, written in shuffled
	// order, plus records that must never be listed.
	order := []int{5, 2, 9, 1, 7, 3, 8, 4, 6}
	// Names that sort in another order than their expiry.
	name := func(i int) access.Key { return offlineKey(fmt.Sprintf("%c-%s", "qwertyuio"[i-1], shop)) }
	for _, i := range order {
		rec := record(name(i), 1)
		rec.AccessExpiresAt = base.Add(time.Duration(i) * time.Hour)
		f.write(f.s, rec)
	}
	never := []access.Record{
		{Key: offlineKey("nonexpiring-" + shop), AccessToken: []byte("x"), Version: 1},
		record(onlineKey(name(1).Shop, "1"), 1), // online: not refreshed
	}
	never[1].AccessExpiresAt = base
	for _, rec := range never {
		f.write(f.s, rec)
	}
	s := f.open()
	cases := []struct {
		name  string
		t     time.Time
		limit int
		want  []int
	}{
		{"all, soonest first", base.Add(100 * time.Hour), 100, []int{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"limit", base.Add(100 * time.Hour), 3, []int{1, 2, 3}},
		{"before t, strictly", base.Add(4 * time.Hour), 100, []int{1, 2, 3}},
		{"a millisecond after", base.Add(4*time.Hour + time.Millisecond), 100, []int{1, 2, 3, 4}},
		{"a nanosecond after", base.Add(4*time.Hour + time.Nanosecond), 100, []int{1, 2, 3, 4}},
		{"t in another zone", base.Add(2*time.Hour + time.Millisecond).In(time.FixedZone("X", -7*3600)), 100, []int{1, 2}},
		{"none due", base, 100, nil},
		{"limit 0", base.Add(100 * time.Hour), 0, nil},
		{"negative limit", base.Add(100 * time.Hour), -1, nil},
	}
	for _, c := range cases {
		got, err := s.Expiring(f.ctx, c.t, c.limit)
		if err != nil {
			f.Fatalf("%s: Expiring: %v", c.name, err)
		}
		var want []access.Key
		for _, i := range c.want {
			want = append(want, name(i))
		}
		if !slices.Equal(got, want) {
			f.Errorf("%s: Expiring(%v, %d) = %v, want %v", c.name, c.t, c.limit, got, want)
		}
	}
}

func expiringFollowsWrites(f *fixture) {
	// The expiry indexes follow every write: a refresh moves a key later,
	// a migration moves it from NonExpiring to Expiring, a refused write
	// moves nothing.
	a, b := offlineKey("a-"+shop), offlineKey("b-"+shop)
	recA, recB := record(a, 1), record(b, 1)
	recA.AccessExpiresAt, recB.AccessExpiresAt = base.Add(time.Hour), base.Add(2*time.Hour)
	f.write(f.s, recA)
	f.write(f.s, recB)
	check := func(step string, want ...access.Key) {
		f.Helper()
		got, err := f.s.Expiring(f.ctx, base.Add(1000*time.Hour), 10)
		if err != nil {
			f.Fatal(err)
		}
		if !slices.Equal(got, want) {
			f.Fatalf("%s: Expiring = %v, want %v", step, got, want)
		}
	}
	check("written", a, b)
	recA = record(a, 2)
	recA.AccessExpiresAt = base.Add(3 * time.Hour)
	f.write(f.s, recA)
	check("a refreshed", b, a)

	l := f.lock(f.s, b, longLease)
	stale := record(b, 1) // conflicts: b is at version 1
	stale.AccessExpiresAt = base.Add(10 * time.Hour)
	if err := f.s.CompareAndSwap(f.ctx, l, stale); !errors.Is(err, access.ErrConflict) {
		f.Fatal(err)
	}
	check("refused write", b, a)
	if err := f.s.Unlock(f.ctx, l); err != nil {
		f.Fatal(err)
	}

	// b loses its expiry (a non-expiring token written over it), then
	// gains it again (MigrateToExpiring).
	f.write(f.s, access.Record{Key: b, AccessToken: []byte("x"), Version: 2})
	check("b non-expiring", a)
	if ne, err := f.s.NonExpiring(f.ctx, "", 10); err != nil || !slices.Equal(ne, []access.Key{b}) {
		f.Fatalf("NonExpiring = %v, %v; want [%v]", ne, err, b)
	}
	migrated := record(b, 3)
	migrated.AccessExpiresAt = base
	f.write(f.s, migrated)
	check("b migrated", b, a)
	if ne, err := f.s.NonExpiring(f.ctx, "", 10); err != nil || len(ne) != 0 {
		f.Fatalf("NonExpiring after migration = %v, %v; want none", ne, err)
	}
}

func nonExpiringPages(f *fixture) {
	// Shop names whose byte order differs from a natural-language
	// collation: bytewise "Z" < "a", "a b" < "a%b" < "a-c" < "a.m" < "aB"
	// < "a_b" < "ab", and "é" after every ASCII letter.
	names := []string{
		"ab.myshopify.com", "a-c.myshopify.com", "aB.myshopify.com", "a_b.myshopify.com",
		"a.myshopify.com", "z.myshopify.com", "Z.myshopify.com", "0.myshopify.com",
		"é.myshopify.com", "e.myshopify.com", "a b.myshopify.com", "a%b.myshopify.com",
	}
	for i := range 14 {
		names = append(names, fmt.Sprintf("shop%02d.myshopify.com", i))
	}
	for _, n := range names {
		f.write(f.s, access.Record{Key: offlineKey(n), AccessToken: []byte("t"), Version: 1})
	}
	// Never listed: expiring offline records, online records.
	f.write(f.s, record(offlineKey("expiring.myshopify.com"), 1))
	f.write(f.s, access.Record{Key: onlineKey("online.myshopify.com", "1"), AccessToken: []byte("t"), Version: 1})

	var want []string
	for _, n := range names {
		want = append(want, offlineKey(n).String())
	}
	slices.Sort(want) // Go compares strings bytewise.

	s := f.open()
	var got []string
	after := ""
	for page := 0; ; page++ {
		if page > len(names) {
			f.Fatal("NonExpiring never runs out of pages")
		}
		keys, err := s.NonExpiring(f.ctx, after, 5)
		if err != nil {
			f.Fatal(err)
		}
		if len(keys) > 5 {
			f.Fatalf("page of %d keys, limit 5", len(keys))
		}
		if len(keys) == 0 {
			break
		}
		for _, k := range keys {
			if k.Mode != access.Offline || k.UserID != "" {
				f.Fatalf("NonExpiring listed %+v, want offline keys only", k)
			}
			got = append(got, k.String())
		}
		after = keys[len(keys)-1].String()
	}
	if !slices.Equal(got, want) {
		f.Fatalf("NonExpiring pages:\n got %q\nwant %q (Key.String byte order)", got, want)
	}
	cases := []struct {
		after string
		limit int
		want  []string
	}{
		{"", 2, want[:2]},
		{want[3], 2, want[4:6]},
		{want[3] + "\x00", 1, want[4:5]}, // after need not be a stored key
		{"offline_", 1, want[:1]},
		{"offline", 1, want[:1]},
		{"", 0, nil},
		{"", -3, nil},
		{want[len(want)-1], 5, nil},
		{"offline`", 5, nil}, // sorts after every "offline_..." key
		{"zzz", 5, nil},
	}
	for _, c := range cases {
		keys, err := s.NonExpiring(f.ctx, c.after, c.limit)
		if err != nil {
			f.Fatal(err)
		}
		var strs []string
		for _, k := range keys {
			strs = append(strs, k.String())
		}
		if !slices.Equal(strs, c.want) {
			f.Errorf("NonExpiring(%q, %d) = %q, want %q", c.after, c.limit, strs, c.want)
		}
	}
}

// tombstone is what the Manager writes when a shop's grant died: no
// token, no expiry, the next version.
func tombstone(key access.Key, version int64) access.Record {
	return access.Record{Key: key, Version: version, UpdatedAt: base.Add(time.Duration(version) * time.Second)}
}

func tombstones(f *fixture) {
	// Shops whose grant died (Shopify refused the refresh token) hold a
	// tombstone: it reads back as written, keeps the version growing, and
	// is never listed by Expiring or NonExpiring, whatever its expiry
	// fields say, so dead shops cannot fill a refresher's pages.
	dead := []access.Key{offlineKey("a-dead-" + shop), offlineKey("b-dead-" + shop), offlineKey("c-dead-" + shop)}
	live, liveNE := offlineKey("z-live-"+shop), offlineKey("z-live-ne-"+shop)
	for i, k := range dead {
		rec := record(k, 1)
		rec.AccessExpiresAt = base.Add(time.Duration(i) * time.Minute) // due before the live one
		f.write(f.s, rec)
	}
	f.write(f.s, access.Record{Key: offlineKey("ne-dead-" + shop), AccessToken: []byte("x"), Version: 1})
	liveRec := record(live, 1)
	liveRec.AccessExpiresAt = base.Add(time.Hour)
	f.write(f.s, liveRec)
	f.write(f.s, access.Record{Key: liveNE, AccessToken: []byte("x"), Version: 1})

	// The first two are tombstoned as the Manager does it; the third
	// keeps a past expiry and a scope (a store recognises a tombstone by
	// its empty access token alone); the non-expiring one has an empty,
	// non-nil access token.
	f.write(f.s, tombstone(dead[0], 2))
	f.write(f.s, tombstone(dead[1], 2))
	odd := tombstone(dead[2], 2)
	odd.Scope, odd.AccessExpiresAt, odd.RefreshExpiresAt = "read_products", base, base.Add(time.Hour)
	f.write(f.s, odd)
	neDead := tombstone(offlineKey("ne-dead-"+shop), 2)
	neDead.AccessToken = []byte{}
	f.write(f.s, neDead)

	s := f.open()
	f.mustLoad(s, tombstone(dead[0], 2))
	f.mustLoad(s, odd)
	if rec, err := s.Load(f.ctx, dead[0]); err != nil || !rec.IsTombstone() || rec.RefreshToken != nil {
		f.Fatalf("Load of a tombstone = %+v, %v; want a tombstone without tokens", rec, err)
	}
	due, err := s.Expiring(f.ctx, base.Add(1000*time.Hour), 3)
	if err != nil {
		f.Fatal(err)
	}
	if !slices.Equal(due, []access.Key{live}) {
		f.Fatalf("Expiring(limit 3) = %v, want only the live %v: tombstones must not fill the page", due, live)
	}
	ne, err := s.NonExpiring(f.ctx, "", 10)
	if err != nil {
		f.Fatal(err)
	}
	if !slices.Equal(ne, []access.Key{liveNE}) {
		f.Fatalf("NonExpiring = %v, want only the live %v", ne, liveNE)
	}

	// A holder that read the live record cannot write over the tombstone.
	l := f.lock(s, dead[0], longLease)
	if err := s.CompareAndSwap(f.ctx, l, record(dead[0], 2)); !errors.Is(err, access.ErrConflict) {
		f.Fatalf("write of version 2 over the tombstone at 2: %v, want ErrConflict", err)
	}
	// The merchant grants again: the next version is live and listed.
	if err := s.CompareAndSwap(f.ctx, l, record(dead[0], 3)); err != nil {
		f.Fatalf("write after the tombstone: %v", err)
	}
	if err := s.Unlock(f.ctx, l); err != nil {
		f.Fatal(err)
	}
	f.mustLoad(f.s, record(dead[0], 3))
	due, err = s.Expiring(f.ctx, base.Add(1000*time.Hour), 10)
	if err != nil {
		f.Fatal(err)
	}
	if !slices.Equal(due, []access.Key{live, dead[0]}) {
		f.Fatalf("Expiring after the new grant = %v, want %v", due, []access.Key{live, dead[0]})
	}
	// Delete removes tombstones too.
	if err := s.Delete(f.ctx, dead[1].Shop); err != nil {
		f.Fatal(err)
	}
	f.mustNotFind(f.s, dead[1])
}

func contextCanceled(f *fixture) {
	key := offlineKey(shop)
	f.write(f.s, record(key, 1))
	l := f.lock(f.s, key, longLease)
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	expired, cancel2 := context.WithDeadline(f.ctx, time.Now().Add(-time.Second))
	defer cancel2()
	s := f.open()
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Load", func(ctx context.Context) error { _, err := s.Load(ctx, key); return err }},
		{"Lock", func(ctx context.Context) error { _, err := s.Lock(ctx, onlineKey(shop, "1"), longLease); return err }},
		{"Unlock", func(ctx context.Context) error { return s.Unlock(ctx, l) }},
		{"CompareAndSwap", func(ctx context.Context) error { return s.CompareAndSwap(ctx, l, record(key, 2)) }},
		{"Delete", func(ctx context.Context) error { return s.Delete(ctx, shop) }},
		{"Expiring", func(ctx context.Context) error { _, err := s.Expiring(ctx, base.Add(time.Hour), 10); return err }},
		{"NonExpiring", func(ctx context.Context) error { _, err := s.NonExpiring(ctx, "", 10); return err }},
	}
	for _, c := range calls {
		if err := c.call(ctx); !errors.Is(err, context.Canceled) {
			f.Errorf("%s with a canceled context: %v, want context.Canceled", c.name, err)
		}
		if err := c.call(expired); !errors.Is(err, context.DeadlineExceeded) {
			f.Errorf("%s with an expired deadline: %v, want context.DeadlineExceeded", c.name, err)
		}
	}
	// None of them did anything.
	f.mustLoad(f.s, record(key, 1))
	if _, err := f.s.Lock(f.ctx, key, longLease); !errors.Is(err, access.ErrLocked) {
		f.Fatalf("Lock after a canceled Unlock: %v, want ErrLocked", err)
	}
	f.lock(f.s, onlineKey(shop, "1"), longLease)
}

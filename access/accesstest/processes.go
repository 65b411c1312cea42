package accesstest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/internal/childproc"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

// Environment of a child process started by RunFleetProcesses.
const (
	envRole    = "POSSESSION_ACCESSTEST_ROLE"
	envBackend = "POSSESSION_ACCESSTEST_BACKEND"
	envArgs    = "POSSESSION_ACCESSTEST_ARGS"
	roleCaller = "fleet-caller"
	// Lines a child writes for its parent start with this.
	linePrefix = "accesstest: "
)

// The fleet of processes: real time, short token lifetimes.
const (
	// processLife is the access tokens' lifetime at the fake; the
	// Managers refresh processMargin before expiry, so a refresh is due
	// every processLife-processMargin.
	processLife   = 4 * time.Second
	processMargin = 2 * time.Second
	// processRun is how long the children call.
	processRun = 12 * time.Second
	// processCallers is how many goroutines call each child's Manager.
	processCallers = 3
	// processSlack is how much sooner than due a refresh may appear to
	// happen (the time between a pair's issue and its first serve).
	processSlack = 500 * time.Millisecond
)

// The app the fake and every process know.
const (
	processClientID = "fleet-client-id"
	processSecret   = "fleet-client-secret-0123456789abcdef0123"
)

// fleetArgs is what a child is told.
type fleetArgs struct {
	URL   string    `json:"url"`
	Shop  string    `json:"shop"`
	Start time.Time `json:"start"`
	Until time.Time `json:"until"`
}

// RunFleetProcesses runs the fleet from separate OS processes: the test
// binary re-executed as Managers children, each opening its own store
// client and Manager, against one shopifytest server in the parent, on
// real time with access tokens that live processLife (4 s) and are
// refreshed processMargin (2 s) before expiry. For processRun (12 s) every
// child's callers ask for the shop's token over and over (OfflineFor),
// so it crosses its refresh margin several times. Children report a
// fingerprint of each token they were served (never the token), how often
// and when, and whether the fake's /shopifytest/token_check said it was
// honoured at its first and last serve. The parent checks:
//
//   - every call got a token, honoured when it was served;
//   - exactly one refresh per expiry: one exchange, no refused grant, no
//     refresh token redeemed twice (GrantCounts.RefreshInGrace), every pair
//     Shopify issued was served (none dropped unused), and each pair
//     first served at least its refresh interval after the previous one;
//   - the store never holds a revoked pair: sampled every 200 ms through
//     a Manager that only reads, a revoked access token is at most a
//     moment's state (between Shopify's answer and the write of the new
//     pair), and at the end the stored pair is live and refreshes.
//
// newBackend runs in the parent only: it starts what the store needs and
// returns a description (a path, an address, a connection string) that
// reaches the children in the environment. open, in the parent and in
// every child, opens a new client of that backend.
//
// Call it from a top-level test and start servers inside newBackend: the
// children run that test again, and everything before the call runs in
// each of them too.
func RunFleetProcesses(t *testing.T, newBackend func(t *testing.T) string, open func(t *testing.T, backend string) access.Store) {
	t.Helper()
	if os.Getenv(envRole) == roleCaller {
		runFleetChild(t, os.Getenv(envBackend), os.Getenv(envArgs), open)
		return
	}
	backend := newBackend(t)
	fake := shopifytest.NewServer(shopifytest.WithApp(processClientID, processSecret),
		shopifytest.WithOfflineTokenLifetimes(processLife, 0))
	t.Cleanup(fake.Close)
	shop := randomShop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The first token, exchanged by the parent.
	seed := processManager(t, fake.URL, open(t, backend))
	s, id := processSession(t, shop)
	from := time.Now()
	first, err := seed.Offline(ctx, s, id)
	to := time.Now()
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if !fake.AccessTokenValidDuring(shop, first.Value(), from, to) {
		t.Fatal("the exchanged token is not honoured")
	}
	served := map[string]*servedToken{fingerprint(first.Value()): {serves: 1, firstFrom: from, firstTo: to}}

	args := fleetArgs{URL: fake.URL, Shop: shop, Start: time.Now().Add(time.Second)}
	args.Until = args.Start.Add(processRun)
	children := make([]*fleetChild, Managers)
	for i := range children {
		children[i] = startFleetChild(t, backend, args)
	}

	// Sample what the store holds while the children run.
	reader := processManager(t, fake.URL, readOnly{open(t, backend)}, access.WithRefreshMargin(0), access.WithCacheTTL(0))
	stop := make(chan struct{})
	sampled := make(chan sampleStats, 1)
	go func() { sampled <- sampleStore(ctx, reader, fake, shop, stop) }()

	for _, c := range children {
		c.wait(t)
	}
	close(stop)
	samples := <-sampled
	counts := fake.GrantCounts()

	calls := 0
	for i, c := range children {
		for _, line := range c.lines() {
			kind, rest, _ := strings.Cut(line, " ")
			switch kind {
			case "calls":
				var n, failed int
				if _, err := fmt.Sscanf(rest, "%d %d", &n, &failed); err != nil {
					t.Fatalf("child %d: %q: %v", i, line, err)
				}
				calls += n
				if failed > 0 {
					t.Errorf("child %d: %d of %d calls failed", i, failed, n)
				}
			case "error":
				t.Errorf("child %d: a call failed: %s", i, rest)
			case "token":
				fp, st, err := parseServed(rest)
				if err != nil {
					t.Fatalf("child %d: %q: %v", i, line, err)
				}
				if !st.honouredFirst || !st.honouredLast {
					t.Errorf("child %d was served token %s when the fake did not honour it (first serve %v, last %v)", i, fp, st.honouredFirst, st.honouredLast)
				}
				if prev, ok := served[fp]; ok {
					prev.merge(st)
				} else {
					served[fp] = st
				}
			}
		}
	}

	t.Logf("%d calls from %d processes; grants %+v; %d distinct tokens served; %d store samples (%d revoked for a moment)",
		calls, len(children), counts, len(served), samples.n, samples.revoked)
	if calls == 0 {
		t.Fatal("no child made a call")
	}
	if counts.Exchange != 1 || counts.Refused != 0 || counts.RefreshInGrace != 0 {
		t.Errorf("grant counts %+v: want 1 exchange, no refused grant, no refresh token redeemed twice", counts)
	}
	if minRefreshes := int(processRun/processLife) - 1; counts.Refresh < minRefreshes {
		t.Errorf("%d refreshes in %v of %v tokens: want at least %d, the token did not cross its margin repeatedly", counts.Refresh, processRun, processLife, minRefreshes)
	}
	if len(served) != counts.Exchange+counts.Refresh {
		t.Errorf("%d distinct tokens served, %d issued: a pair was issued and dropped unused, or a token came from elsewhere", len(served), counts.Exchange+counts.Refresh)
	}
	order := make([]*servedToken, 0, len(served))
	for _, st := range served {
		order = append(order, st)
	}
	slices.SortFunc(order, func(a, b *servedToken) int { return a.firstTo.Compare(b.firstTo) })
	for i := 1; i < len(order); i++ {
		if gap, want := order[i].firstTo.Sub(order[i-1].firstTo), processLife-processMargin-processSlack; gap < want {
			t.Errorf("token %d of %d was first served %v after the previous one: refreshed before it was due (every %v)", i, len(order), gap, processLife-processMargin)
		}
	}
	if n := fake.Requests(shopifytest.RouteAccessScopes); n != 0 {
		t.Errorf("%d token checks: a write was fenced, though no process stalled", n)
	}
	if samples.stuck != "" {
		t.Error(samples.stuck)
	}

	// At rest: the stored pair is live, and refreshes.
	from = time.Now()
	stored, err := reader.OfflineFor(ctx, shop)
	to = time.Now()
	if err != nil || !fake.AccessTokenValidDuring(shop, stored.Value(), from, to) {
		t.Fatalf("the stored token after the run: %v (or revoked)", err)
	}
	next, err := processManager(t, fake.URL, open(t, backend)).RefreshAfterUnauthorized(ctx, stored)
	if err != nil || next.Value() == stored.Value() || !fake.AccessTokenValid(shop, next.Value()) {
		t.Fatalf("refresh of the stored pair after the run: %v", err)
	}
}

// processManager makes a Manager on store against the fake at base, on
// real time.
func processManager(t *testing.T, base string, store access.Store, opts ...access.Option) *access.Manager {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	all := append([]access.Option{
		access.WithShopifyBaseURL(base),
		access.WithHTTPClient(&http.Client{Transport: tr}),
		access.WithRefreshMargin(processMargin),
		access.WithRetryBackoff(5*time.Millisecond, 20*time.Millisecond),
	}, opts...)
	m, err := access.New(processClientID, keysource.MustStatic(processSecret), store, all...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func processSession(t *testing.T, shop string) (*sdk.Session, string) {
	t.Helper()
	tok := sdktest.Minter{Secret: processSecret, ClientID: processClientID, Shop: shop, UserID: "42", Now: time.Now}.Admin()
	v, err := sdk.New(keysource.MustStatic(processSecret), sdk.WithClientID(processClientID), sdk.WithCacheSize(0))
	if err != nil {
		t.Fatal(err)
	}
	s, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return s, tok
}

// fingerprint names a token in reports without revealing it.
func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}

// readOnly is a store that refuses locks: a Manager on it reads what is
// stored and never refreshes.
type readOnly struct{ access.Store }

var errReadOnly = errors.New("accesstest: the store reader does not lock")

func (readOnly) Lock(context.Context, access.Key, time.Duration) (access.Lease, error) {
	return access.Lease{}, errReadOnly
}

type sampleStats struct {
	n, revoked int
	stuck      string // why the store held a revoked pair too long
}

// sampleStore reads the stored token every 200 ms until stop. A stored
// access token the fake no longer honours is the state between a
// refresh's answer and its write; the same one seen revoked for more
// than a second is a revoked pair left in the store.
func sampleStore(ctx context.Context, reader *access.Manager, fake *shopifytest.Server, shop string, stop <-chan struct{}) sampleStats {
	var st sampleStats
	var revokedFP string
	var revokedSince time.Time
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return st
		case <-tick.C:
		}
		from := time.Now()
		tok, err := reader.OfflineFor(ctx, shop)
		to := time.Now()
		if err != nil {
			if st.stuck == "" {
				st.stuck = fmt.Sprintf("the store reader failed (the stored token expired unrefreshed?): %v", err)
			}
			continue
		}
		st.n++
		if fake.AccessTokenValidDuring(shop, tok.Value(), from, to) {
			revokedFP = ""
			continue
		}
		st.revoked++
		fp := fingerprint(tok.Value())
		if fp != revokedFP {
			revokedFP, revokedSince = fp, from
		} else if from.Sub(revokedSince) > time.Second && st.stuck == "" {
			st.stuck = fmt.Sprintf("the store held revoked token %s for %v", fp, from.Sub(revokedSince).Round(time.Millisecond))
		}
	}
}

// servedToken is what the callers of one or more children were served of
// one token.
type servedToken struct {
	serves                      int
	firstFrom, firstTo          time.Time // around its first serve
	honouredFirst, honouredLast bool
}

func (s *servedToken) merge(o *servedToken) {
	s.serves += o.serves
	if o.firstTo.Before(s.firstTo) {
		s.firstFrom, s.firstTo = o.firstFrom, o.firstTo
	}
}

// A child's token line: fingerprint, serves, first serve's from and to
// (Unix ns), honoured at the first and at the last serve.
func (s *servedToken) line(fp string) string {
	return fmt.Sprintf("token %s %d %d %d %t %t", fp, s.serves, s.firstFrom.UnixNano(), s.firstTo.UnixNano(), s.honouredFirst, s.honouredLast)
}

func parseServed(rest string) (string, *servedToken, error) {
	var fp string
	var from, to int64
	st := &servedToken{}
	if _, err := fmt.Sscanf(rest, "%s %d %d %d %t %t", &fp, &st.serves, &from, &to, &st.honouredFirst, &st.honouredLast); err != nil {
		return "", nil, err
	}
	st.firstFrom, st.firstTo = time.Unix(0, from), time.Unix(0, to)
	return fp, st, nil
}

// fleetChild is a running child process and its report lines.
type fleetChild struct {
	*childproc.Child
	mu  sync.Mutex
	rep []string // its report lines, without the prefix
}

func startFleetChild(t *testing.T, backend string, args fleetArgs) *fleetChild {
	t.Helper()
	a, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	c := &fleetChild{}
	c.Child = childproc.Start(t, t.Name(), childproc.Options{
		Env: []string{envRole + "=" + roleCaller, envBackend + "=" + backend, envArgs + "=" + string(a)},
		OnLine: func(line string) {
			if rest, ok := strings.CutPrefix(line, linePrefix); ok {
				c.mu.Lock()
				c.rep = append(c.rep, rest)
				c.mu.Unlock()
			}
		},
	})
	return c
}

func (c *fleetChild) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.rep)
}

// wait waits for the child to exit and fails the test unless it passed.
func (c *fleetChild) wait(t *testing.T) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(processRun + time.Minute):
		t.Fatalf("child still running; its output:\n%s", c.Output())
	}
	if c.Err() != nil {
		t.Fatalf("child failed: %v; its output:\n%s", c.Err(), c.Output())
	}
}

// runFleetChild is one process of the fleet: a store client, a Manager,
// processCallers goroutines calling OfflineFor from args.Start to
// args.Until; then it checks the tokens it was served with the fake's
// token_check and reports them by fingerprint.
func runFleetChild(t *testing.T, backend, rawArgs string, open func(t *testing.T, backend string) access.Store) {
	var args fleetArgs
	if err := json.Unmarshal([]byte(rawArgs), &args); err != nil {
		t.Fatalf("child args: %v", err)
	}
	m := processManager(t, args.URL, open(t, backend))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	time.Sleep(time.Until(args.Start))

	type seen struct {
		value              string
		serves             int
		firstFrom, firstTo time.Time
		lastFrom, lastTo   time.Time
	}
	var mu sync.Mutex
	tokens := map[string]*seen{}
	calls := 0
	var errs []string
	var wg sync.WaitGroup
	for range processCallers {
		wg.Go(func() {
			for time.Now().Before(args.Until) {
				cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
				from := time.Now()
				tok, err := m.OfflineFor(cctx, args.Shop)
				to := time.Now()
				ccancel()
				mu.Lock()
				calls++
				if err != nil {
					errs = append(errs, err.Error()) // errors never hold tokens
				} else {
					fp := fingerprint(tok.Value())
					s := tokens[fp]
					if s == nil {
						s = &seen{value: tok.Value(), firstFrom: from, firstTo: to}
						tokens[fp] = s
					}
					s.serves++
					s.lastFrom, s.lastTo = from, to
				}
				mu.Unlock()
				time.Sleep(time.Duration(10+rand.IntN(30)) * time.Millisecond)
			}
		})
	}
	wg.Wait()

	say := func(format string, a ...any) { fmt.Printf(linePrefix+format+"\n", a...) }
	check := newTokenChecker(t, args.URL, args.Shop)
	for fp, s := range tokens {
		st := servedToken{serves: s.serves, firstFrom: s.firstFrom, firstTo: s.firstTo}
		st.honouredFirst = check(ctx, s.value, s.firstFrom, s.firstTo)
		st.honouredLast = check(ctx, s.value, s.lastFrom, s.lastTo)
		say("%s", st.line(fp))
	}
	// Failed calls: how many, and the first few distinct messages.
	distinct := map[string]bool{}
	for _, e := range errs {
		if !distinct[e] && len(distinct) < 3 {
			distinct[e] = true
			say("error %s", e)
		}
	}
	say("calls %d %d", calls, len(errs))
}

// newTokenChecker asks the fake's /shopifytest/token_check whether it
// honoured a token at some moment of [from, to].
func newTokenChecker(t *testing.T, base, shop string) func(ctx context.Context, token string, from, to time.Time) bool {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return func(ctx context.Context, token string, from, to time.Time) bool {
		q := url.Values{"from": {from.UTC().Format(time.RFC3339Nano)}, "to": {to.UTC().Format(time.RFC3339Nano)}}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/shopifytest/token_check?"+q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = shop
		req.Header.Set("X-Shopify-Access-Token", token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("token check: %v", err)
		}
		defer resp.Body.Close()
		var v struct {
			Valid bool `json:"valid"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&v) != nil {
			t.Fatalf("token check answered %d", resp.StatusCode)
		}
		return v.Valid
	}
}

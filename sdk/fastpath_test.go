package sdk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
)

// emptySource has no keys yet.
type emptySource struct{}

func (emptySource) Keyring() *keysource.Keyring { return nil }

// The standard-shape split skips the scan of the payload for dots; every
// error it lets through must still come out as the full scan's shape
// error, whatever else is wrong with the token.
func TestFastSplitKeepsShapeErrorsFirst(t *testing.T) {
	m := newFastMinter(cacheTestSecret)
	valid := m.token(1)
	dot1 := strings.IndexByte(valid, '.')
	dot2 := strings.LastIndexByte(valid, '.')
	sig := valid[dot2+1:]
	withDotInPayload := valid[:dot1+10] + "." + valid[dot1+11:]
	withDotInSig := valid[:dot2+1] + sig[:20] + "." + sig[21:]
	at := newTestClock(cacheTestIssued.Add(time.Second))
	cases := []struct {
		name  string
		src   keysource.Source
		token string
		want  error
	}{
		{"dot in payload", keysource.MustStatic(cacheTestSecret), withDotInPayload, ErrMalformed},
		{"dot in signature", keysource.MustStatic(cacheTestSecret), withDotInSig, ErrMalformed},
		{"dot in payload, no keys", emptySource{}, withDotInPayload, ErrMalformed},
		{"valid, no keys", emptySource{}, valid, ErrNoKeys},
		{"valid", keysource.MustStatic(cacheTestSecret), valid, nil},
		{"other secret", keysource.MustStatic("other-secret-0123456789abcdef01234"), valid, ErrSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, size := range []int{0, 10} {
				v := newCacheTestVerifier(t, c.src, at, size)
				s, err := v.Verify(context.Background(), c.token)
				if !errors.Is(err, c.want) || (err == nil) != (s != nil) {
					t.Fatalf("cache %d: session %v, err %v; want %v", size, s != nil, err, c.want)
				}
				if c.want == ErrMalformed && !strings.Contains(err.Error(), "segments") {
					t.Fatalf("cache %d: %v; want the shape error", size, err)
				}
			}
		})
	}
}

// countingRefresher counts refreshes of its keys.
type countingRefresher struct {
	keysource.Source
	refreshes int
}

func (r *countingRefresher) RefreshUnknownSigner(context.Context) *keysource.Keyring {
	r.refreshes++
	return r.Keyring()
}

// A malformed token must not make the source refresh its keys, as an
// unknown signer does.
func TestMalformedTokenDoesNotRefreshKeys(t *testing.T) {
	src := &countingRefresher{Source: keysource.MustStatic(cacheTestSecret)}
	v := newCacheTestVerifier(t, src, newTestClock(cacheTestIssued.Add(time.Second)), 0)
	valid := newFastMinter(cacheTestSecret).token(1)
	dot1 := strings.IndexByte(valid, '.')
	malformed := valid[:dot1+10] + "." + valid[dot1+11:]
	if _, err := v.Verify(context.Background(), malformed); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err %v, want ErrMalformed", err)
	}
	if src.refreshes != 0 {
		t.Fatalf("%d refreshes for a malformed token", src.refreshes)
	}
	forged := newFastMinter("other").token(1)
	if _, err := v.Verify(context.Background(), forged); !errors.Is(err, ErrSignature) {
		t.Fatalf("err %v, want ErrSignature", err)
	}
	if src.refreshes != 1 {
		t.Fatalf("%d refreshes for a forged token, want 1", src.refreshes)
	}
}

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
		{"dot in payload", keysource.Static(cacheTestSecret), withDotInPayload, ErrMalformed},
		{"dot in signature", keysource.Static(cacheTestSecret), withDotInSig, ErrMalformed},
		{"dot in payload, no keys", emptySource{}, withDotInPayload, ErrMalformed},
		{"valid, no keys", emptySource{}, valid, ErrNoKeys},
		{"valid", keysource.Static(cacheTestSecret), valid, nil},
		{"other secret", keysource.Static("other"), valid, ErrSignature},
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

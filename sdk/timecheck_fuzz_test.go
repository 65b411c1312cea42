package sdk

import (
	"errors"
	"testing"
	"time"

	"github.com/possession-dev/possession/sdk/internal/token"
)

// FuzzTimeChecks holds checkClaims's whole-second comparisons to the rule
// written with time.Time: valid iff now < exp + leeway, now >= nbf -
// leeway and now >= iat - leeway, at any instant, leeway (to the
// nanosecond) and claim values.
func FuzzTimeChecks(f *testing.F) {
	f.Add(int64(1_780_000_000), int64(0), int64(10e9), int64(1_780_000_060), int64(1_780_000_000), int64(1_780_000_000))
	f.Add(int64(1_780_000_069), int64(999_999_999), int64(10e9), int64(1_780_000_060), int64(0), int64(0))
	f.Add(int64(1_780_000_070), int64(0), int64(10e9), int64(1_780_000_060), int64(0), int64(0))
	f.Add(int64(-5), int64(500_000_000), int64(1), int64(-4), int64(-5), int64(-6))
	f.Add(int64(1_780_000_000), int64(1), int64(1_500_000_000), int64(1<<53-1), int64(-(1<<53 - 1)), int64(1_780_000_002))
	f.Fuzz(func(t *testing.T, sec, nsec, leewayNs, exp, nbf, iat int64) {
		if nsec < 0 || nsec >= 1e9 || leewayNs < 0 || leewayNs > int64(maxLeeway) ||
			sec < -1e12 || sec > 1e12 || exp < -maxSafe || exp > maxSafe || nbf < -maxSafe || nbf > maxSafe || iat < -maxSafe || iat > maxSafe {
			t.Skip()
		}
		now, leeway := time.Unix(sec, nsec), time.Duration(leewayNs)
		v := &Verifier{cfg: config{leeway: leeway, noAudienceCheck: true}}
		c := token.Claims{Has: token.HasExp | token.HasNbf | token.HasIat | token.HasDest, Exp: exp, Nbf: nbf, Iat: iat}
		err := v.checkClaims(&c, nil, &macKey{}, now)
		var want error
		switch {
		case !now.Before(time.Unix(exp, 0).Add(leeway)):
			want = ErrExpired
		case now.Before(time.Unix(nbf, 0).Add(-leeway)), now.Before(time.Unix(iat, 0).Add(-leeway)):
			want = ErrNotYetValid
		}
		if (err == nil) != (want == nil) || want != nil && !errors.Is(err, want) {
			t.Fatalf("now %v, leeway %v, exp %d, nbf %d, iat %d: %v, want %v", now, leeway, exp, nbf, iat, err, want)
		}
	})
}

const maxSafe = 1<<53 - 1

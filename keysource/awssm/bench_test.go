package awssm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/possession-dev/possession/sdk"
)

// Keyring is on every verification's path: a pointer load, plus a clock
// read when WithMaxStaleness is set.
func BenchmarkKeyring(b *testing.B) {
	em := startEmulator(b)
	name := uniqueName(b)
	em.createSecret(name, "bench-secret-0123456789abcdef0123456789")
	for _, bc := range []struct {
		name string
		opts []Option
	}{
		{name: "default"},
		{name: "max_staleness", opts: []Option{WithMaxStaleness(time.Hour)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src := newSource(b, em, name, bc.opts...)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if src.Keyring() == nil {
					b.Fatal("no keys")
				}
			}
		})
	}
}

// A forged token while the unknown-signer refresh is rate-limited costs
// verification only: no request reaches Secrets Manager.
func BenchmarkVerifyForgedRateLimited(b *testing.B) {
	em := startEmulator(b)
	name := uniqueName(b)
	em.createSecret(name, "bench-secret-0123456789abcdef0123456789")
	src := newSource(b, em, name, WithUnknownSignerInterval(time.Hour))
	v := newVerifier(b, src)
	ctx := context.Background()
	forged := mint("forged")
	_, _ = v.Verify(ctx, forged) // spends this hour's refresh
	before := em.count("DescribeSecret")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, forged); !errors.Is(err, sdk.ErrSignature) {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := em.count("DescribeSecret") - before; n != 0 {
		b.Fatalf("%d requests during the benchmark", n)
	}
}

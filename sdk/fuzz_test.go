package sdk_test

import (
	"context"
	"errors"
	"testing"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
)

// FuzzVerify feeds arbitrary strings to Verify, with the cache on so that
// lookups are fuzzed too. Properties: no panic; exactly one of session and
// error; an error wraps exactly one sentinel and holds no secret and no
// 16-character piece of the input; an accepted token verifies again from
// the cache to the same session.
func FuzzVerify(f *testing.F) {
	m := minter()
	m.EscapeSlashes = true
	for _, tok := range append(generatedTokens(f, 40), m.Admin(), m.Checkout(), "", ".", "..", "a.b.c",
		b64(`{"alg":"none"}`)+"."+b64(`{}`)+".") {
		f.Add(tok)
	}
	// Both kinds, so that checkout-shaped inputs reach the session code.
	v, err := sdk.New(keysource.MustStatic(testSecret, prevSecret), sdk.WithClientID(testClientID), sdk.WithClock(fixedClock(epoch)),
		sdk.WithKinds(sdk.KindAdmin, sdk.KindCheckout))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		s, err := v.Verify(context.Background(), token)
		if (s == nil) == (err == nil) {
			t.Fatalf("session %v with error %v", s, err)
		}
		if err != nil {
			n := 0
			for _, sentinel := range sentinels {
				if errors.Is(err, sentinel) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %q matches %d sentinels", err, n)
			}
			assertNoLeak(t, err.Error(), token)
			return
		}
		again, err := v.Verify(context.Background(), token)
		if err != nil || again != s {
			t.Fatalf("second verification: %v, %v (want cached %p)", again, err, s)
		}
	})
}

package main

import (
	"context"
	"fmt"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/benchmarks/internal/peers"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/shopifytest"
)

// accessOffline: access.Manager.Offline for verified sessions whose
// shop's offline token is cached (the request path of an app calling
// the Admin API), over 16 shops. shopifytest plays Shopify for the
// exchanges of the set-up, one per shop; the counted loop makes no
// request.
func accessOffline() (func(int) error, error) {
	shopify := shopifytest.NewServer(shopifytest.WithApp(peers.ClientID, peers.Secret), shopifytest.WithClock(clock))
	// The server lives as long as the process: the driver runs one path.
	v, err := newVerifier(10_000)
	if err != nil {
		return nil, err
	}
	m, err := access.New(peers.ClientID, keysource.MustStatic(peers.Secret), access.MemoryStore(),
		access.WithShopifyBaseURL(shopify.URL), access.WithClock(clock))
	if err != nil {
		return nil, err
	}
	f := app
	f.Shops = 16
	ctx := context.Background()
	sessions := make([]*sdk.Session, poolSize)
	tokens := f.Tokens(poolSize)
	for i, t := range tokens {
		if sessions[i], err = v.Verify(ctx, t); err != nil {
			return nil, err
		}
		if _, err := m.Offline(ctx, sessions[i], t); err != nil {
			return nil, fmt.Errorf("exchange for %s: %w", sessions[i].Shop, err)
		}
	}
	if n := shopify.GrantCounts().Exchange; n > f.Shops {
		return nil, fmt.Errorf("%d exchanges for %d shops: the cache is not serving", n, f.Shops)
	}
	return func(i int) error {
		s := sessions[i%poolSize]
		tok, err := m.Offline(ctx, s, tokens[i%poolSize])
		if err != nil || tok.Shop != s.Shop {
			return fmt.Errorf("offline token for %s: %v %v", s.Shop, tok, err)
		}
		return nil
	}, nil
}

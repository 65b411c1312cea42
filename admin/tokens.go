package admin

import (
	"context"
	"fmt"

	"github.com/possession-dev/possession/access"
)

// New returns a Client that calls the Admin API with each shop's offline
// access token from tokens (access.Manager.OfflineFor), and after a 401
// asks tokens for its replacement once (RefreshAfterUnauthorized: one
// refresh across the fleet, or an error wrapping access.ErrReauthorize
// when only the merchant can renew the grant). WithAPIVersion is
// required.
func New(tokens *access.Manager, opts ...Option) (*Client, error) {
	if tokens == nil {
		return nil, fmt.Errorf("%w: no access.Manager", ErrConfig)
	}
	return newClient(managerTokens{tokens}, opts...)
}

// managerTokens is the access Manager as a tokenSource.
type managerTokens struct{ m *access.Manager }

func (t managerTokens) token(ctx context.Context, shop string) (credential, error) {
	tok, err := t.m.OfflineFor(ctx, shop)
	if err != nil {
		return nil, err
	}
	return tok, nil
}

func (t managerTokens) refresh(ctx context.Context, rejected credential) (credential, error) {
	tok, ok := rejected.(access.Token)
	if !ok {
		return nil, fmt.Errorf("%w: the rejected token is not an access.Token", ErrToken)
	}
	fresh, err := t.m.RefreshAfterUnauthorized(ctx, tok)
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

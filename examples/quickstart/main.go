// Command quickstart shows possession end to end in one process: it mints a
// session token the way a POS device gets one from Shopify, verifies it as
// a backend would, and prints the session. No flags, no environment, no
// network.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run() error {
	const (
		clientID = "quickstart-client-id"
		secret   = "shpss_quickstart-client-secret-000000" // in production: your app's client secret, from env, a file or AWS
	)

	// What Shopify does for the POS device: sign a session token for the
	// logged-in user with the app's client secret (slashes escaped, as
	// Shopify's tokens have them).
	pos := sdktest.Minter{Secret: secret, ClientID: clientID, Shop: "quickstart.myshopify.com", UserID: "1001", EscapeSlashes: true}
	token := pos.Admin()

	// What your backend does on every request.
	verifier, err := sdk.New(keysource.MustStatic(secret), sdk.WithClientID(clientID))
	if err != nil {
		return err
	}
	session, err := verifier.Verify(context.Background(), token)
	if err != nil {
		return err
	}
	fmt.Printf("verified %s session\n", session.Kind)
	fmt.Printf("  shop:        %s\n", session.Shop)
	fmt.Printf("  user:        %s\n", session.UserID)
	fmt.Printf("  client ID:   %s\n", session.ClientID)
	fmt.Printf("  session ID:  %s\n", session.SessionID)
	fmt.Printf("  expires in:  %s\n", time.Until(session.ExpiresAt).Round(time.Second))
	fmt.Printf("  signed with: %s\n", session.KeyID)

	// A token signed with another secret is rejected with a sentinel error.
	forged := sdktest.Minter{Secret: "not-the-secret", ClientID: clientID, Shop: "quickstart.myshopify.com"}.Admin()
	if _, err := verifier.Verify(context.Background(), forged); errors.Is(err, sdk.ErrSignature) {
		fmt.Printf("forged token rejected: %v\n", err)
	} else {
		return fmt.Errorf("forged token: want ErrSignature, got %v", err)
	}
	return nil
}

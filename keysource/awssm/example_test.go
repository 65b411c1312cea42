package awssm_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/sivchari/kumo"

	"github.com/possession-dev/possession/keysource/awssm"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// emulatedClient starts the kumo emulator on 127.0.0.1 and returns a
// client for it. In production, build the client from
// config.LoadDefaultConfig instead.
func emulatedClient() (*secretsmanager.Client, func()) {
	srv := kumo.NewServer()
	client := secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-real-aws-key", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
	return client, srv.Close
}

// uniqueName keeps examples repeatable (go test -count=2) against the
// emulator's process-wide storage.
func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// The secret {"SHOPIFY_API_SECRET": "..."} in Secrets Manager verifies the
// app's session tokens.
func Example() {
	client, stop := emulatedClient()
	defer stop()
	ctx := context.Background()
	name := uniqueName("shopify/pos-app-")
	if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		SecretString: aws.String(`{"SHOPIFY_API_SECRET":"shpss_00000000000000000000000example"}`),
	}); err != nil {
		log.Fatal(err)
	}

	src, err := awssm.New(ctx, client, name, awssm.WithJSONField("SHOPIFY_API_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	verifier, err := sdk.New(src, sdk.WithClientID("my-client-id"))
	if err != nil {
		log.Fatal(err)
	}

	token := sdktest.Minter{Secret: "shpss_00000000000000000000000example", ClientID: "my-client-id"}.Admin()
	session, err := verifier.Verify(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(session.Shop, session.UserID)
	// Output: example.myshopify.com 42
}

// After a rotation in AWS, the keyring holds AWSCURRENT then AWSPREVIOUS,
// so tokens signed with either secret verify during the overlap.
func ExampleSource_Refresh() {
	client, stop := emulatedClient()
	defer stop()
	ctx := context.Background()
	name := uniqueName("shopify/rotated-")
	if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String("old-secret-0123456789abcdef0123456789"),
	}); err != nil {
		log.Fatal(err)
	}
	src, err := awssm.New(ctx, client, name)
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()

	// Rotate in AWS. The version ID is the idempotency token.
	newVersion := "example-version-000000000000000002"
	if _, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(name), SecretString: aws.String("new-secret-0123456789abcdef0123456789"), ClientRequestToken: aws.String(newVersion),
	}); err != nil {
		log.Fatal(err)
	}
	// The background refresh would find it within its interval, and a
	// token signed with the new secret would trigger one at once.
	if err := src.Refresh(ctx); err != nil {
		log.Fatal(err)
	}

	verifier, err := sdk.New(src, sdk.WithClientID("my-client-id"))
	if err != nil {
		log.Fatal(err)
	}
	for _, secret := range []string{"new-secret-0123456789abcdef0123456789", "old-secret-0123456789abcdef0123456789"} {
		s, err := verifier.Verify(ctx, sdktest.Minter{Secret: secret, ClientID: "my-client-id"}.Admin())
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: verified by the current version: %v\n", secret, s.KeyID == newVersion)
	}
	// Output:
	// new-secret-0123456789abcdef0123456789: verified by the current version: true
	// old-secret-0123456789abcdef0123456789: verified by the current version: false
}

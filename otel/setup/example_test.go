package setup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/otel/setup"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// A program that exports what the environment asks for. Here the
// environment says: traces to the console. In production it would say
// OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 and
// OTEL_SERVICE_NAME=pos-backend.
func Example() {
	os.Setenv("OTEL_TRACES_EXPORTER", "console")
	os.Setenv("OTEL_METRICS_EXPORTER", "none")
	defer os.Unsetenv("OTEL_TRACES_EXPORTER")
	defer os.Unsetenv("OTEL_METRICS_EXPORTER")

	var console bytes.Buffer // os.Stdout unless WithWriter says otherwise
	ctx := context.Background()
	providers, err := setup.New(ctx, setup.WithGlobal(), setup.WithServiceName("pos-backend"), setup.WithWriter(&console))
	if err != nil {
		log.Fatal(err)
	}

	// The verifier defaults to the global providers WithGlobal installed.
	v, _ := sdk.New(keysource.MustStatic("example-secret-0123456789abcdef012"), sdk.WithClientID("example-app"))
	m := sdktest.Minter{Secret: "example-secret-0123456789abcdef012", ClientID: "example-app", Shop: "example.myshopify.com"}
	if _, err := v.Verify(ctx, m.Admin()); err != nil {
		log.Fatal(err)
	}
	if err := providers.Shutdown(ctx); err != nil { // flushes the spans
		log.Fatal(err)
	}

	var span struct {
		Name       string
		Attributes []struct {
			Key   string
			Value struct{ Value any }
		}
	}
	_ = json.Unmarshal(console.Bytes(), &span)
	fmt.Println(span.Name)
	for _, a := range span.Attributes {
		if a.Key == "shopify.shop.domain" {
			fmt.Println(a.Key, a.Value.Value)
		}
	}
	// Output:
	// possession.Verify
	// shopify.shop.domain example.myshopify.com
}

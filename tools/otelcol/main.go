// Command otelcol is the minimal OpenTelemetry Collector that possession's
// end-to-end telemetry test runs: an OTLP receiver and the file exporter,
// nothing else. It lives in its own module so that the Collector's
// dependencies never reach the root go.mod.
//
// Build and run it with a config such as:
//
//	receivers:
//	  otlp:
//	    protocols:
//	      http:
//	        endpoint: 127.0.0.1:4318
//	exporters:
//	  file:
//	    path: ./telemetry.jsonl
//	service:
//	  telemetry:
//	    metrics:
//	      level: none
//	  pipelines:
//	    traces:  {receivers: [otlp], exporters: [file]}
//	    metrics: {receivers: [otlp], exporters: [file]}
//
//	go build -o otelcol . && ./otelcol --config=config.yaml
package main

import (
	"fmt"
	"os"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

func main() {
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol",
			Description: "possession's test Collector (OTLP receiver, file exporter)",
			Version:     "0.161.0",
		},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(),
					envprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "otelcol:", err)
		os.Exit(1)
	}
}

// components lists the factories. Telemetry must be set: a Collector
// without a telemetry factory refuses to start.
func components() (otelcol.Factories, error) {
	receivers, err := otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory())
	if err != nil {
		return otelcol.Factories{}, err
	}
	exporters, err := otelcol.MakeFactoryMap[exporter.Factory](fileexporter.NewFactory())
	if err != nil {
		return otelcol.Factories{}, err
	}
	return otelcol.Factories{
		Receivers: receivers,
		Exporters: exporters,
		Telemetry: otelconftelemetry.NewFactory(),
	}, nil
}

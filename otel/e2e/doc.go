// Package e2e holds the end-to-end telemetry test (build tag e2e): an
// HTTP server using the sdk with otelhttp and otel/setup exports to a real
// OpenTelemetry Collector (tools/otelcol) on 127.0.0.1, and the test reads
// the spans and metrics back from the Collector's file exporter.
//
//	go test -tags e2e ./otel/e2e/
//
// The test builds the Collector (a separate module) unless
// POSSESSION_OTELCOL_BIN names a binary already built; .ci/steps/30-otel-e2e.sh
// builds it first.
package e2e

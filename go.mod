module github.com/possession-dev/possession

go 1.26.0

// The core module requires only what the verifier itself uses, at the
// oldest versions it works with, so that adding possession never raises a
// user's versions: the OpenTelemetry API at v1.24.0 (no SDK, no exporter),
// golang-lru, fsnotify and x/sys (its CPU feature flags; fsnotify needs it
// too). Tests that need the OpenTelemetry SDK, goleak or golang-jwt live in
// the test module (test/); the CLI, the examples, the benchmarks, the AWS
// source and the exporter setup are modules of their own. CI
// (.ci/steps/10-consumer-footprint.sh) checks the graph a user gets.
require (
	github.com/fsnotify/fsnotify v1.10.1
	github.com/hashicorp/golang-lru/v2 v2.0.7
	go.opentelemetry.io/otel v1.24.0
	go.opentelemetry.io/otel/metric v1.24.0
	go.opentelemetry.io/otel/trace v1.24.0
	golang.org/x/sys v0.13.0
)

require (
	github.com/go-logr/logr v1.4.1 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
)

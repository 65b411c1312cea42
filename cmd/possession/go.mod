module github.com/possession-dev/possession/cmd/possession

go 1.26.0

// The CLI is its own module so that its test-only dependency (goleak)
// stays out of the core's go.mod. It has no replace directive, unlike the
// repository's other modules: `go install
// github.com/possession-dev/possession/cmd/possession@<version>` refuses a
// module whose go.mod replaces anything. In a checkout, go.work supplies
// the core (go build ./cmd/possession, go install ./cmd/possession); a
// release tags the core vX.Y.Z, sets the require below to it, then tags
// cmd/possession/vX.Y.Z.

require (
	github.com/possession-dev/possession v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	github.com/fsnotify/fsnotify v1.10.1 // indirect
	github.com/go-logr/logr v1.4.1 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	go.opentelemetry.io/otel v1.24.0 // indirect
	go.opentelemetry.io/otel/metric v1.24.0 // indirect
	go.opentelemetry.io/otel/trace v1.24.0 // indirect
	golang.org/x/sys v0.13.0 // indirect
)

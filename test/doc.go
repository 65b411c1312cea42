// Package test is the home of the core module's tests that need heavy
// test-only dependencies: the OpenTelemetry SDK (span and metric
// assertions), goleak (goroutine leak checks), golang-jwt (an independent
// reference implementation) and Shopify's npm libraries run through Node.
//
// They live in their own module, as opentelemetry-go-contrib keeps
// otelhttp's SDK-based tests in otelhttp/test, so that none of these
// dependencies reaches the go.mod of the core module, and so the module
// graph of a user who imports only sdk and keysource. Each directory tests
// the core package of the same name through its exported API: test/sdk
// (spans and metrics with the SDK, the token leak scan, the differential
// test and fuzz target against golang-jwt, the telemetry examples),
// test/sdktest (minted tokens checked by golang-jwt), test/keysource (File,
// with a goleak check after every test), test/otel (semantic convention
// keys of the newest OpenTelemetry release).
//
// Run them from the repository root with go test ./test/... (go.work ties
// this module to the checkout's core).
package test

// Package test is the home of the core module's tests that need heavy
// test-only dependencies: the OpenTelemetry SDK (span and metric
// assertions), goleak (goroutine leak checks), golang-jwt (an independent
// reference implementation) and Shopify's npm libraries run through Node.
//
// They live in their own module, as opentelemetry-go-contrib keeps
// otelhttp's SDK-based tests in otelhttp/test, so that none of these
// dependencies reaches the go.mod of the core module, and so the module
// graph of a user who imports only sdk and keysource. Each directory tests
// the core package of the same name through its exported API.
package test

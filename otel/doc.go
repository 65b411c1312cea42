// Package otel holds possession's OpenTelemetry vocabulary: the
// instrumentation scope name and version, and the attribute keys the sdk and
// key sources put on spans and metrics. It imports only the OpenTelemetry
// API.
package otel

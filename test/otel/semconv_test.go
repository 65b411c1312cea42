// Package otel_test checks possession's OpenTelemetry vocabulary against
// the semantic conventions of the newest OpenTelemetry release (the core
// module pins an older API, whose semconv packages predate user.hash).
package otel_test

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/possession-dev/possession/otel"
)

func TestSemanticConventionKeys(t *testing.T) {
	for _, c := range []struct{ ours, semconv attribute.Key }{
		{otel.UserIDKey, semconv.UserIDKey},
		{otel.UserHashKey, semconv.UserHashKey},
		{otel.ErrorTypeKey, semconv.ErrorTypeKey},
		{otel.HTTPResponseStatusCodeKey, semconv.HTTPResponseStatusCodeKey},
		{otel.GraphQLOperationTypeKey, semconv.GraphQLOperationTypeKey},
		{otel.GraphQLOperationNameKey, semconv.GraphQLOperationNameKey},
	} {
		if c.ours != c.semconv {
			t.Errorf("%s differs from the semantic convention %s", c.ours, c.semconv)
		}
	}
}

package otel_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/possession-dev/possession/otel"
)

var allKeys = []attribute.Key{
	otel.ShopDomainKey, otel.UserIDKey, otel.UserHashKey, otel.ClientIDKey, otel.SessionKindKey,
	otel.KeyIDKey, otel.CacheHitKey, otel.OutcomeKey, otel.ErrorTypeKey,
	otel.ClientReportedShopIDKey, otel.ClientReportedLocationIDKey,
	otel.ClientReportedStaffMemberIDKey, otel.ClientReportedUserIDKey,
	otel.KeySourceKey, otel.RefreshOutcomeKey, otel.RefreshTriggerKey,
	otel.AccessModeKey, otel.AccessGrantKey, otel.AccessStoreOperationKey, otel.AccessAttemptsKey,
	otel.ShopifyRequestIDKey, otel.HTTPResponseStatusCodeKey,
	otel.GraphQLOperationTypeKey, otel.GraphQLOperationNameKey, otel.AdminAPIVersionKey, otel.AdminServedVersionKey,
	otel.AdminCostRequestedKey, otel.AdminCostActualKey, otel.AdminCostEstimateKey,
	otel.AdminBudgetAvailableKey, otel.AdminBudgetMaximumKey, otel.AdminBudgetRestoreRateKey,
	otel.AdminAttemptsKey, otel.AdminRetriesKey, otel.AdminThrottledKey, otel.AdminPacingWaitKey, otel.AdminRetryWaitKey,
	otel.AdminDeprecatedReasonKey, otel.AdminWaitReasonKey, otel.AdminRetryReasonKey,
	otel.WebhookTopicKey, otel.WebhookIDKey, otel.WebhookFamilyKey, otel.WebhookDuplicateKey,
	otel.SignedQueryKindKey,
}

var allMetrics = []string{
	otel.MetricVerifications, otel.MetricVerificationDuration, otel.MetricCacheLookups,
	otel.MetricKeySourceRefreshes, otel.MetricKeyAge,
	otel.MetricAccessGrants, otel.MetricAccessGrantDuration, otel.MetricAccessLockWait,
	otel.MetricAccessStoreDuration, otel.MetricAccessTokensExpiring,
	otel.MetricAdminCalls, otel.MetricAdminCallDuration, otel.MetricAdminCost, otel.MetricAdminWait,
	otel.MetricAdminRetries, otel.MetricAdminThrottled,
	otel.MetricWebhookDeliveries, otel.MetricWebhookDeliveryDuration, otel.MetricSignedQueries,
}

// TestSemanticConventionKeys (the keys that follow the semantic
// conventions equal theirs) lives in the test module, test/otel: the
// semconv package with user.hash is newer than the API this module pins.

// OpenTelemetry naming: lower-case ASCII, dot-separated namespaces of
// snake_case words, at most 255 characters; metric names carry no unit
// or _total suffix.
var validName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

func TestNamesFollowOpenTelemetryRules(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range allKeys {
		if !validName.MatchString(string(k)) || len(k) > 255 {
			t.Errorf("attribute key %q breaks the naming rules", k)
		}
		if seen[string(k)] {
			t.Errorf("attribute key %q defined twice", k)
		}
		seen[string(k)] = true
	}
	for _, m := range allMetrics {
		if !validName.MatchString(m) || len(m) > 255 {
			t.Errorf("metric name %q breaks the naming rules", m)
		}
		for _, bad := range []string{"_total", "_seconds", ".seconds", "_count"} {
			if strings.HasSuffix(m, bad) {
				t.Errorf("metric name %q ends in %q", m, bad)
			}
		}
	}
	for _, k := range []attribute.Key{otel.ClientReportedShopIDKey, otel.ClientReportedLocationIDKey, otel.ClientReportedStaffMemberIDKey, otel.ClientReportedUserIDKey} {
		if !strings.Contains(string(k), ".client_reported.") {
			t.Errorf("hint key %q does not say it is client-reported", k)
		}
	}
}

// TestDocTableListsEveryName keeps doc.go's tables in step with the
// constants.
func TestDocTableListsEveryName(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range allKeys {
		if !strings.Contains(string(doc), "//\t"+string(k)+" ") {
			t.Errorf("doc.go's attribute table lacks %s", k)
		}
	}
	for _, m := range allMetrics {
		if !strings.Contains(string(doc), "//\t"+m+" ") {
			t.Errorf("doc.go's metric table lacks %s", m)
		}
	}
}

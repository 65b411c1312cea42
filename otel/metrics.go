package otel

// Metric instrument names, following OpenTelemetry's naming rules: lower
// case, dot-separated namespaces, no unit or "total" in the name, the unit
// in the instrument's unit field (UCUM).
const (
	// MetricVerifications counts verifications (unit {verification}) by
	// OutcomeKey and, on success, SessionKindKey.
	MetricVerifications = "possession.verifications"
	// MetricVerificationDuration is a histogram of how long Verify took,
	// in seconds, with the same attributes as MetricVerifications.
	MetricVerificationDuration = "possession.verification.duration"
	// MetricCacheLookups counts lookups in the verified-session cache
	// (unit {lookup}) by CacheHitKey.
	MetricCacheLookups = "possession.cache.lookups"
	// MetricKeySourceRefreshes counts key source refreshes (unit
	// {refresh}) by KeySourceKey, RefreshOutcomeKey and RefreshTriggerKey
	// (and ErrorTypeKey on errors). Key sources record it.
	MetricKeySourceRefreshes = "possession.keysource.refreshes"
	// MetricKeyAge is a gauge of how long ago the keys in use were loaded,
	// in seconds: by KeyIDKey of the current key from the verifier, by
	// KeySourceKey from key sources that record it.
	MetricKeyAge = "possession.keysource.key_age"
)

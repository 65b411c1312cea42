package otel

import "go.opentelemetry.io/otel/attribute"

// ScopeName is the instrumentation scope of every tracer and meter
// possession creates.
const ScopeName = "github.com/possession-dev/possession"

// Attribute keys of key-source telemetry. Values are identifiers and
// outcomes, never secret material.
const (
	// AttrKeySource names the kind of key source ("awssm", "file", ...).
	AttrKeySource = attribute.Key("possession.key_source")
	// AttrRefreshOutcome is how a key-source refresh ended: see the
	// RefreshOutcome* values.
	AttrRefreshOutcome = attribute.Key("possession.refresh.outcome")
	// AttrRefreshTrigger says what started a refresh: see the
	// RefreshTrigger* values.
	AttrRefreshTrigger = attribute.Key("possession.refresh.trigger")
)

// Values of AttrRefreshOutcome.
const (
	// RefreshOutcomeUpdated: new keys were published.
	RefreshOutcomeUpdated = "updated"
	// RefreshOutcomeUnchanged: the source confirmed the keys in force.
	RefreshOutcomeUnchanged = "unchanged"
	// RefreshOutcomeError: the refresh failed; the last good keys stay.
	RefreshOutcomeError = "error"
)

// Values of AttrRefreshTrigger.
const (
	RefreshTriggerInitial       = "initial"
	RefreshTriggerInterval      = "interval"
	RefreshTriggerManual        = "manual"
	RefreshTriggerUnknownSigner = "unknown_signer"
)

// Instrument names of key-source metrics.
const (
	// MetricKeySourceRefreshes counts refreshes by AttrKeySource and
	// AttrRefreshOutcome (and error.type on errors).
	MetricKeySourceRefreshes = "possession.keysource.refreshes"
	// MetricKeySourceKeyAge is a gauge of the seconds since the keys in
	// force were loaded, by AttrKeySource.
	MetricKeySourceKeyAge = "possession.keysource.key_age"
)

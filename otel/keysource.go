package otel

import "go.opentelemetry.io/otel/attribute"

// Attribute keys of key-source telemetry. Values are identifiers and
// outcomes, never secret material.
const (
	// KeySourceKey names the kind of key source ("awssm", "file", ...).
	KeySourceKey = attribute.Key("possession.key_source")
	// RefreshOutcomeKey is how a key-source refresh ended: see the
	// RefreshOutcome* values.
	RefreshOutcomeKey = attribute.Key("possession.refresh.outcome")
	// RefreshTriggerKey says what started a refresh: see the
	// RefreshTrigger* values.
	RefreshTriggerKey = attribute.Key("possession.refresh.trigger")
)

// Values of RefreshOutcomeKey.
const (
	// RefreshOutcomeUpdated: new keys were published.
	RefreshOutcomeUpdated = "updated"
	// RefreshOutcomeUnchanged: the source confirmed the keys in force.
	RefreshOutcomeUnchanged = "unchanged"
	// RefreshOutcomeError: the refresh failed; the last good keys stay.
	RefreshOutcomeError = "error"
)

// Values of RefreshTriggerKey.
const (
	RefreshTriggerInitial       = "initial"
	RefreshTriggerInterval      = "interval"
	RefreshTriggerManual        = "manual"
	RefreshTriggerUnknownSigner = "unknown_signer"
)

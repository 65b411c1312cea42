//go:build race

package sdk

// telemetryRace: the race detector allocates on its own, so allocation
// counts are not asserted under it.
const telemetryRace = true

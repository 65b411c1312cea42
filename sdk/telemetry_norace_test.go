//go:build !race

package sdk

const telemetryRace = false

//go:build !race

package sqlitestore_test

// raceDetector tells whether the tests run under -race.
const raceDetector = false

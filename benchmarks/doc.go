// Package benchmarks compares possession's verifier with the JWT libraries
// Go teams use today (golang-jwt, jwx, go-jose), each configured with the
// same checks and proven correct by a test before it is benchmarked.
package benchmarks

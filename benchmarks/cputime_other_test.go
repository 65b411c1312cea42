//go:build !linux

package benchmarks

// threadCPU is not available here: cpu-ns/op is not reported.
func threadCPU() int64 { return 0 }

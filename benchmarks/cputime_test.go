package benchmarks

import (
	"runtime"
	"testing"
)

// On a machine shared with other work, a benchmark's wall time includes
// the time other processes hold its CPU: ns/op moves by ±50% and more
// when the machine is loaded. The CPU time of the benchmark's own thread
// does not, so the sequential benchmarks also report cpu-ns/op: the
// loop's thread CPU time (CLOCK_THREAD_CPUTIME_ID) per operation, with the
// goroutine locked to its thread. It leaves out what other threads do for
// the loop: the runtime's background GC workers, which matters for the
// libraries that allocate most (it flatters them, not possession).

// cpuTimer starts counting the calling thread's CPU time and returns the
// function that stops and reports it; call it after the b.Loop loop.
func cpuTimer(b *testing.B) func() {
	runtime.LockOSThread()
	start := threadCPU()
	return func() {
		used := threadCPU() - start
		runtime.UnlockOSThread()
		if b.N > 0 && used > 0 {
			b.ReportMetric(float64(used)/float64(b.N), "cpu-ns/op")
		}
	}
}

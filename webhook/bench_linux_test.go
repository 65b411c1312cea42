//go:build linux

package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// rusageThread is Linux's RUSAGE_THREAD: the calling thread's CPU time.
const rusageThread = 1

// rusage is package-level so that reading it allocates nothing the
// benchmark would count (Getrusage's argument escapes).
var rusage syscall.Rusage

func threadCPU(b *testing.B) time.Duration {
	ru := &rusage
	if err := syscall.Getrusage(rusageThread, ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVerifyVsHMACCPU is BenchmarkVerifyVsHMAC measured in the
// thread's CPU time rather than wall time, alternating blocks of 4,096 of
// each operation on one locked OS thread: time the process spends
// descheduled (other work on a shared machine) is not counted against
// either side. It reports verify/hmac; the budget is <= 1.2.
func BenchmarkVerifyVsHMACCPU(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const block = 4096
	body := body4KiB()
	h := wireHeader(string(body))
	v := newVerifier(b)
	m := hmac.New(sha256.New, []byte(secret))
	var sum [sha256.Size]byte
	var cpuVerify, cpuHMAC time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := threadCPU(b)
		for range block {
			m.Reset()
			m.Write(body)
			m.Sum(sum[:0])
		}
		t1 := threadCPU(b)
		for range block {
			if _, err := v.Verify(h, body); err != nil {
				b.Fatal(err)
			}
		}
		t2 := threadCPU(b)
		cpuHMAC += t1 - t0
		cpuVerify += t2 - t1
	}
	b.ReportMetric(float64(cpuVerify)/float64(cpuHMAC), "verify/hmac")
	b.ReportMetric(float64(cpuVerify.Nanoseconds())/float64(b.N*block), "verify-cpu-ns/op")
	b.ReportMetric(float64(cpuHMAC.Nanoseconds())/float64(b.N*block), "hmac-cpu-ns/op")
}

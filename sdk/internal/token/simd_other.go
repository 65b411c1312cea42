//go:build !amd64 || purego

package token

// haveAVX2 is false: decodeSegment decodes and plainRun scans in Go.
const haveAVX2 = false

func decodeAVX2(dst, src *byte, blocks int) (bad bool) { panic("token: no AVX2 decoder") }

func plainRunAVX2(p *byte, n int) int { panic("token: no AVX2 scanner") }

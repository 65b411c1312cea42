//go:build amd64 && !purego

package token

import "golang.org/x/sys/cpu"

// haveAVX2: decodeSegment decodes 32 characters at a time with
// decodeAVX2 (base64_amd64.s), and plainRun scans strings 32 bytes at a
// time with plainRunAVX2 (claims_amd64.s).
var haveAVX2 = cpu.X86.HasAVX2

// decodeAVX2 decodes blocks 32-character groups of src into dst, 24 bytes
// each, storing 32 bytes per group (so dst needs 8 bytes past the last
// group's 24), and reports whether a character is not base64url.
//
//go:noescape
func decodeAVX2(dst, src *byte, blocks int) (bad bool)

// plainRunAVX2 is plainRun's scan for n >= 32 bytes at p (claims_amd64.s):
// the offset of the first byte that ends a run of plain characters, or n.
//
//go:noescape
func plainRunAVX2(p *byte, n int) int

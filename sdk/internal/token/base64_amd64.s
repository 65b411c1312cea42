//go:build amd64 && !purego

#include "textflag.h"

// decodeAVX2 decodes blocks of 32 base64url characters into 24 bytes each
// (each store writes 32 bytes: 8 past the block's 24, which the caller
// leaves room for). It reports whether any character lies outside the
// alphabet. Per character c, with h = c>>4 and l = c&15:
//
//   - valid:  lutLo[l] & lutHi[h] == 0. lutHi gives h's class (one bit:
//     2 '-', 3 digits, 4 and 6 letters from 1, 5 'P'-'Z' and '_', 7
//     'p'-'z', any other h a class no l is valid in); lutLo[l] has the
//     bits of the classes l is not valid in.
//   - value:  c + lutRoll[h], or c - 32 for '_' (the one character of its
//     class with another offset).
//
// The 6-bit values are then packed as in Muła and Lemire's decoder: pairs
// into 12 bits (VPMADDUBSW), pairs of those into 24 (VPMADDWD), three
// bytes of each 32-bit word gathered in order (VPSHUFB within each
// 128-bit lane, VPERMD across them).

// func decodeAVX2(dst, src *byte, blocks int) (bad bool)
TEXT ·decodeAVX2(SB), NOSPLIT, $0-25
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ blocks+16(FP), CX
	VMOVDQU b64LutLo<>(SB), Y8
	VMOVDQU b64LutHi<>(SB), Y9
	VMOVDQU b64LutRoll<>(SB), Y10
	VMOVDQU b64Nibble<>(SB), Y11
	VMOVDQU b64Underscore<>(SB), Y12
	VMOVDQU b64UnderscoreRoll<>(SB), Y13
	VMOVDQU b64Permute<>(SB), Y14
	VPXOR Y7, Y7, Y7 // the classes' bits of invalid characters, ORed

loop:
	TESTQ CX, CX
	JZ    done
	VMOVDQU (SI), Y0
	VPSRLD  $4, Y0, Y1
	VPAND   Y11, Y1, Y1 // h
	VPAND   Y11, Y0, Y2 // l
	VPSHUFB Y2, Y8, Y3
	VPSHUFB Y1, Y9, Y4
	VPAND   Y3, Y4, Y3
	VPOR    Y3, Y7, Y7
	VPSHUFB Y1, Y10, Y4      // lutRoll[h]
	VPCMPEQB Y12, Y0, Y5     // c == '_'
	VPBLENDVB Y5, Y13, Y4, Y4 // its offset where so
	VPADDB  Y4, Y0, Y0       // 6-bit values
	VPMADDUBSW b64Pairs<>(SB), Y0, Y0
	VPMADDWD   b64Quads<>(SB), Y0, Y0
	VPSHUFB    b64Gather<>(SB), Y0, Y0
	VPERMD     Y0, Y14, Y0
	VMOVDQU Y0, (DI)
	ADDQ $32, SI
	ADDQ $24, DI
	DECQ CX
	JMP  loop

done:
	VPTEST Y7, Y7
	SETNE  bad+24(FP)
	VZEROUPPER
	RET

// Each 16-byte table twice, for VPSHUFB's two lanes.
DATA b64LutLo<>+0(SB)/8, $0x2121212121212125
DATA b64LutLo<>+8(SB)/8, $0x333B3A3B3B232121
DATA b64LutLo<>+16(SB)/8, $0x2121212121212125
DATA b64LutLo<>+24(SB)/8, $0x333B3A3B3B232121
GLOBL b64LutLo<>(SB), RODATA|NOPTR, $32

DATA b64LutHi<>+0(SB)/8, $0x1004080402012020
DATA b64LutHi<>+8(SB)/8, $0x2020202020202020
DATA b64LutHi<>+16(SB)/8, $0x1004080402012020
DATA b64LutHi<>+24(SB)/8, $0x2020202020202020
GLOBL b64LutHi<>(SB), RODATA|NOPTR, $32

// h 2: '-' + 17 = 62; 3: '0' + 4 = 52; 4, 5: 'A' - 65 = 0; 6, 7: 'a' - 71 = 26.
DATA b64LutRoll<>+0(SB)/8, $0xB9B9BFBF04110000
DATA b64LutRoll<>+8(SB)/8, $0x0000000000000000
DATA b64LutRoll<>+16(SB)/8, $0xB9B9BFBF04110000
DATA b64LutRoll<>+24(SB)/8, $0x0000000000000000
GLOBL b64LutRoll<>(SB), RODATA|NOPTR, $32

DATA b64Nibble<>+0(SB)/8, $0x0F0F0F0F0F0F0F0F
DATA b64Nibble<>+8(SB)/8, $0x0F0F0F0F0F0F0F0F
DATA b64Nibble<>+16(SB)/8, $0x0F0F0F0F0F0F0F0F
DATA b64Nibble<>+24(SB)/8, $0x0F0F0F0F0F0F0F0F
GLOBL b64Nibble<>(SB), RODATA|NOPTR, $32

DATA b64Underscore<>+0(SB)/8, $0x5F5F5F5F5F5F5F5F
DATA b64Underscore<>+8(SB)/8, $0x5F5F5F5F5F5F5F5F
DATA b64Underscore<>+16(SB)/8, $0x5F5F5F5F5F5F5F5F
DATA b64Underscore<>+24(SB)/8, $0x5F5F5F5F5F5F5F5F
GLOBL b64Underscore<>(SB), RODATA|NOPTR, $32

// '_' - 32 = 63.
DATA b64UnderscoreRoll<>+0(SB)/8, $0xE0E0E0E0E0E0E0E0
DATA b64UnderscoreRoll<>+8(SB)/8, $0xE0E0E0E0E0E0E0E0
DATA b64UnderscoreRoll<>+16(SB)/8, $0xE0E0E0E0E0E0E0E0
DATA b64UnderscoreRoll<>+24(SB)/8, $0xE0E0E0E0E0E0E0E0
GLOBL b64UnderscoreRoll<>(SB), RODATA|NOPTR, $32

// Bytes a, b (in that order) -> a<<6 | b.
DATA b64Pairs<>+0(SB)/8, $0x0140014001400140
DATA b64Pairs<>+8(SB)/8, $0x0140014001400140
DATA b64Pairs<>+16(SB)/8, $0x0140014001400140
DATA b64Pairs<>+24(SB)/8, $0x0140014001400140
GLOBL b64Pairs<>(SB), RODATA|NOPTR, $32

// Words x, y -> x<<12 | y.
DATA b64Quads<>+0(SB)/8, $0x0001100000011000
DATA b64Quads<>+8(SB)/8, $0x0001100000011000
DATA b64Quads<>+16(SB)/8, $0x0001100000011000
DATA b64Quads<>+24(SB)/8, $0x0001100000011000
GLOBL b64Quads<>(SB), RODATA|NOPTR, $32

// Bytes 2, 1, 0 of each word, into a lane's first 12 bytes.
DATA b64Gather<>+0(SB)/8, $0x090A040506000102
DATA b64Gather<>+8(SB)/8, $0xFFFFFFFF0C0D0E08
DATA b64Gather<>+16(SB)/8, $0x090A040506000102
DATA b64Gather<>+24(SB)/8, $0xFFFFFFFF0C0D0E08
GLOBL b64Gather<>(SB), RODATA|NOPTR, $32

// Words 0-2 of the low lane, then 0-2 of the high one.
DATA b64Permute<>+0(SB)/8, $0x0000000100000000
DATA b64Permute<>+8(SB)/8, $0x0000000400000002
DATA b64Permute<>+16(SB)/8, $0x0000000600000005
DATA b64Permute<>+24(SB)/8, $0x0000000700000003
GLOBL b64Permute<>(SB), RODATA|NOPTR, $32

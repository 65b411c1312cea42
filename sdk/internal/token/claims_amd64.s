//go:build amd64 && !purego

#include "textflag.h"

// plainRunAVX2 returns the offset of the first byte of p[:n] that ends a
// run of plain string characters ('"', '\\', < 0x20 or >= 0x80), or n,
// testing 32 bytes at a time; n must be at least 32. A byte c is special
// if c == '"', c == '\\' or 0x20 > c as signed bytes (which holds for
// c < 0x20 and for c >= 0x80, negative). The last, partial block is read
// as the 32 bytes that end at p+n, its mask shifted past the bytes
// already tested: no byte outside p[:n] is read.

// SPECIALS sets BX's bit j if byte j of the 32 at addr is special, with
// Y1, Y2 and Y3 holding '"', '\\' and 0x20 in every byte.
#define SPECIALS(addr) \
	VMOVDQU   addr, Y0     \
	VPCMPEQB  Y0, Y1, Y4   \
	VPCMPEQB  Y0, Y2, Y5   \
	VPCMPGTB  Y0, Y3, Y6   \
	VPOR      Y4, Y5, Y4   \
	VPOR      Y4, Y6, Y4   \
	VPMOVMSKB Y4, BX

// func plainRunAVX2(p *byte, n int) int
TEXT ·plainRunAVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL $0x22222222, AX
	MOVD AX, X1
	VPBROADCASTD X1, Y1 // '"'
	MOVL $0x5C5C5C5C, AX
	MOVD AX, X2
	VPBROADCASTD X2, Y2 // '\\'
	MOVL $0x20202020, AX
	MOVD AX, X3
	VPBROADCASTD X3, Y3 // 0x20
	XORQ AX, AX         // offset of the block

loop:
	LEAQ 32(AX), DX
	CMPQ DX, CX
	JA   tail
	SPECIALS((SI)(AX*1))
	TESTL    BX, BX
	JNZ      found
	MOVQ     DX, AX
	JMP      loop

tail:
	CMPQ AX, CX
	JAE  done
	// The 32 bytes ending at p+n; the first AX-(n-32) were tested.
	LEAQ -32(CX), DX
	SPECIALS((SI)(DX*1))
	MOVQ     AX, R8
	SUBQ     DX, R8
	MOVQ     CX, R9     // n
	MOVQ     R8, CX
	SHRL     CX, BX
	TESTL    BX, BX
	JNZ      found
	MOVQ     R9, AX
	JMP      done

found:
	BSFL BX, BX
	ADDQ BX, AX

done:
	VZEROUPPER
	MOVQ AX, ret+16(FP)
	RET

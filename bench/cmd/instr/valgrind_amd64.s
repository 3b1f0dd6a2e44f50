#include "textflag.h"

// func clientRequest(args *[6]uintptr) uintptr
//
// Valgrind's client request on amd64 (valgrind.h, VALGRIND_DO_CLIENT_REQUEST):
// RAX points at {request, arg1..arg5}, RDX holds the default result and
// receives valgrind's answer. Natively the preamble does nothing (DI is
// rotated by 128 bits in all) and the default, 0, comes back.
TEXT ·clientRequest(SB), NOSPLIT, $0-16
	MOVQ args+0(FP), AX
	MOVQ $0, DX
	ROLQ $3, DI
	ROLQ $13, DI
	ROLQ $61, DI
	ROLQ $51, DI
	XCHGQ BX, BX
	MOVQ DX, ret+8(FP)
	RET

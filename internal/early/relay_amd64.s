//go:build !drainit_ossignal

#include "textflag.h"

// The relay: the handler of every signal drainit forwards, installed by
// relay.go in place of the Go runtime's. See relay.go for why.

#define SYS_write 1

// relay(sig DI, info SI, ctx DX) is called by the kernel, on the thread's
// signal stack (SA_ONSTACK), with every signal blocked, and returns through
// restorer's rt_sigreturn, which restores every register: it may use any.
// It writes the signal's number to the relay pipe, one byte a signal; a
// SIGCHLD only when none is in the pipe unread; a signal the full pipe
// will not take becomes bit sig-1 of overflow. A SIGPIPE that drainit
// raised itself is dropped: the kernel's answer to drainit's own write to
// a closed pipe or a reset socket (send_sig: SI_USER, from drainit's own
// PID, as no other process can claim), or the Go runtime's raise (SI_TKILL,
// the same PID). Anyone else's SIGPIPE bears another PID, or 0 from
// outside drainit's PID namespace.
TEXT ·relay(SB),NOSPLIT|NOFRAME,$0
	MOVQ DI, R8
	CMPQ R8, $13 // SIGPIPE
	JNE chld
	MOVL 8(SI), AX // si_code
	CMPL AX, $0 // SI_USER
	JEQ whose
	CMPL AX, $-6 // SI_TKILL
	JNE put
whose:
	MOVL 16(SI), AX // si_pid
	CMPL AX, ·relaySelf(SB)
	JEQ out
	JMP put
chld:
	CMPQ R8, $17 // SIGCHLD
	JNE put
	MOVQ $1, AX
	XCHGQ AX, ·chldRung(SB)
	CMPQ AX, $0
	JNE out
put:
	SUBQ $16, SP
	MOVB R8, 0(SP)
	MOVQ $SYS_write, AX
	MOVQ ·relayFD(SB), DI
	MOVQ SP, SI
	MOVQ $1, DX
	SYSCALL
	ADDQ $16, SP
	CMPQ AX, $1
	JEQ out
	MOVQ R8, CX
	SUBQ $1, CX
	MOVQ $1, AX
	SHLQ CX, AX
	LOCK
	ORQ AX, ·overflow(SB)
out:
	RET

// func relayPCs() (relay, restorer uintptr): the handlers' own addresses,
// for rt_sigaction (a Go func value of an assembly function is a wrapper).
TEXT ·relayPCs(SB),NOSPLIT,$0-16
	MOVQ $·relay(SB), AX
	MOVQ AX, relayPC+0(FP)
	MOVQ $·restorer(SB), AX
	MOVQ AX, restorerPC+8(FP)
	RET

// func handlerPC() uintptr: entry's handler's own address (entry_amd64.s),
// for dropRTMIN.
TEXT ·handlerPC(SB),NOSPLIT,$0-8
	MOVQ $·handler(SB), AX
	MOVQ AX, ret+0(FP)
	RET

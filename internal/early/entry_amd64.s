#include "go_asm.h"
#include "textflag.h"

// The program's first instructions when it is linked with
// -E github.com/drainit/drainit/internal/early.entry (the Makefile does):
// hold the signals the runtime lets stay blocked, catch the stop signals it
// does not, then start the Go runtime as its own entry would. See entry.go
// for the whole story.

#define SYS_write 1
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_rt_sigreturn 15
#define SYS_getpid 39
#define SYS_execve 59
#define SYS_gettid 186
#define SYS_tgkill 234
#define SA_SIGINFO_RESTORER 0x04000004

// The handler runs with every caught signal blocked, so that no two of them
// interleave their update of caught.
#define CAUGHT_SIGNALS 0x200004007 // HUP INT QUIT TERM 34, bit sig-1 each

// struct sigaction as rt_sigaction(2) takes it: handler, flags, restorer, mask.
DATA ·action+0(SB)/8, $·handler(SB)
DATA ·action+8(SB)/8, $SA_SIGINFO_RESTORER
DATA ·action+16(SB)/8, $·restorer(SB)
DATA ·action+24(SB)/8, $CAUGHT_SIGNALS
GLOBL ·action(SB), RODATA|NOPTR, $32

DATA ·heldMask+0(SB)/8, $const_heldSignals
GLOBL ·heldMask(SB), RODATA|NOPTR, $8

// SIG_DFL, for a signal the program can no longer start again for.
DATA ·dflAction+0(SB)/8, $0
DATA ·dflAction+8(SB)/8, $0
DATA ·dflAction+16(SB)/8, $0
DATA ·dflAction+24(SB)/8, $0
GLOBL ·dflAction(SB), RODATA|NOPTR, $32

// CATCH keeps the action the signal had, in startActs at slot (32 bytes a
// struct sigaction): one ignored when the program started is ignored in
// the workload too (ignoredByEntry).
#define CATCH(sig, slot) \
	MOVQ $SYS_rt_sigaction, AX; MOVQ $sig, DI; MOVQ $·action(SB), SI; MOVQ $·startActs+slot(SB), DX; MOVQ $8, R10; SYSCALL

// GOMAXPROCS=1, what entry adds to the environment the runtime reads; its
// first 11 bytes are the name entry looks for.
DATA ·oneP+0(SB)/8, $"GOMAXPRO"
DATA ·oneP+8(SB)/4, $"CS=1"
DATA ·oneP+12(SB)/1, $0
GLOBL ·oneP(SB), RODATA|NOPTR, $13

// entry leaves the stack as the kernel built it (argc, argv, envp, auxv)
// for the runtime's entry, which it jumps to, but for one more environment
// variable, GOMAXPROCS=1, when the environment sets none: the runtime then
// starts with one P, and none of its start is spent on a second (a thread
// to run it, a cache of spans to give back when init sets one). init
// takes the variable out again before anyone reads the environment.
TEXT ·entry(SB),NOSPLIT|NOFRAME,$0
	// The held signals first, reading the mask the program was started
	// with as it was before.
	MOVQ $SYS_rt_sigprocmask, AX
	MOVQ $0, DI // SIG_BLOCK
	MOVQ $·heldMask(SB), SI
	MOVQ $·startMask(SB), DX
	MOVQ $8, R10
	SYSCALL
	CATCH(15, 0)   // SIGTERM: what runtimes stop with
	CATCH(2, 32)   // SIGINT
	CATCH(1, 64)   // SIGHUP
	CATCH(3, 96)   // SIGQUIT
	CATCH(34, 128) // the one real-time signal the runtime leaves alone
	// Look for GOMAXPROCS= in the environment; CX ends at its NULL.
	MOVQ 0(SP), AX
	LEAQ 16(SP)(AX*8), CX
look:
	MOVQ 0(CX), SI
	TESTQ SI, SI
	JZ add
	MOVQ $·oneP(SB), DI
	MOVQ $11, R9
compare:
	MOVBLZX 0(SI), R10
	CMPB R10, 0(DI)
	JNE next
	INCQ SI
	INCQ DI
	DECQ R9
	JNZ compare
	JMP run // set: the runtime takes that one, and init sets one P
next:
	ADDQ $8, CX
	JMP look
add:
	// Move argc, argv and envp one word down, and put GOMAXPROCS=1 in
	// the slot that frees before envp's NULL: auxv stays where it is.
	MOVQ SP, SI
shift:
	MOVQ 0(SI), R10
	MOVQ R10, -8(SI)
	ADDQ $8, SI
	CMPQ SI, CX
	JNE shift
	MOVQ $·oneP(SB), R10
	MOVQ R10, -8(CX)
	LEAQ -8(CX), R10
	MOVQ R10, ·oneSlot(SB)
	SUBQ $8, SP
run:
	MOVQ 0(SP), AX
	LEAQ 8(SP), CX
	MOVQ CX, ·argv(SB)
	LEAQ 16(SP)(AX*8), CX
	MOVQ CX, ·envp(SB)
	JMP _rt0_amd64_linux(SB)

// handler(sig DI, info SI, ctx DX) is called with the C calling convention,
// by the kernel or by the runtime's forwarding, so it keeps to the registers
// the callee may change (not BX, BP, R12-R15).
TEXT ·handler(SB),NOSPLIT|NOFRAME,$0
	MOVQ DI, R8
	CMPQ ·subscribed(SB), $0
	JNE done
	SUBQ $48, SP
	// Whose handler is installed: still this one (the runtime has not
	// started), or the runtime's, which forwards here as it dies of a
	// signal nobody has subscribed to yet.
	MOVQ $SYS_rt_sigaction, AX
	MOVQ R8, DI
	MOVQ $0, SI
	LEAQ 0(SP), DX
	MOVQ $8, R10
	SYSCALL
	MOVQ 0(SP), AX
	MOVQ $·handler(SB), CX
	CMPQ AX, CX
	JNE again
	MOVQ R8, CX
	MOVQ $1, AX
	SHLQ CX, AX
	LOCK
	ORQ AX, ·caught(SB)
	ADDQ $48, SP
done:
	RET
again:
	// Start the program again with the signal pending on this thread and
	// blocked until the new runtime unblocks it, into this handler. The
	// mask is the one the program started with, plus the signal, plus the
	// held ones, which must stay pending through the exec as they did
	// through this start, plus the caught ones: between the exec and the
	// new entry's CATCH their action is the kernel's default (death), and
	// blocked they wait for the new handler instead.
	MOVQ R8, CX
	SUBQ $1, CX
	MOVQ $1, AX
	SHLQ CX, AX
	ORQ ·startMask(SB), AX
	ORQ ·heldMask(SB), AX
	MOVQ $CAUGHT_SIGNALS, CX
	ORQ CX, AX
	MOVQ AX, 32(SP)
	MOVQ $SYS_rt_sigprocmask, AX
	MOVQ $2, DI // SIG_SETMASK
	LEAQ 32(SP), SI
	MOVQ $0, DX
	MOVQ $8, R10
	SYSCALL
	MOVQ $SYS_getpid, AX
	SYSCALL
	MOVQ AX, R9
	MOVQ $SYS_gettid, AX
	SYSCALL
	MOVQ R9, DI
	MOVQ AX, SI
	MOVQ R8, DX
	MOVQ $SYS_tgkill, AX
	SYSCALL
	// The environment as it came: the new start adds GOMAXPROCS=1 again.
	MOVQ ·oneSlot(SB), AX
	TESTQ AX, AX
	JZ exec
	MOVQ $0, 0(AX)
exec:
	MOVQ $SYS_execve, AX
	MOVQ $·self(SB), DI
	MOVQ ·argv(SB), SI
	MOVQ ·envp(SB), DX
	SYSCALL
	// The exec failed (no /proc): say so, and let the signal have its
	// default action, which the return delivers (it is pending and the
	// return unblocks it). Leaving the runtime's handler in place would
	// bring the signal back to this handler, and this exec, forever. As
	// PID 1 the kernel discards it, and the runtime, dying of it, exits 2.
	MOVQ $SYS_write, AX
	MOVQ $2, DI
	MOVQ ·cannotAgain(SB), SI
	MOVQ ·cannotAgain+8(SB), DX
	SYSCALL
	MOVQ $SYS_rt_sigaction, AX
	MOVQ R8, DI
	MOVQ $·dflAction(SB), SI
	MOVQ $0, DX
	MOVQ $8, R10
	SYSCALL
	ADDQ $48, SP
	RET

// restorer returns from the handler: x86-64 needs one of the program's own.
TEXT ·restorer(SB),NOSPLIT|NOFRAME,$0
	MOVQ $SYS_rt_sigreturn, AX
	SYSCALL
	INT $3

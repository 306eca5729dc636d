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
#define SYS_pause 34
#define SYS_nanosleep 35
#define SYS_kill 62
#define SYS_tgkill 234
#define SA_SIGINFO_RESTORER 0x04000004
#define SA_ONSTACK 0x08000000

// The handler runs with every caught signal blocked, so that no two of them
// interleave their update of caught.
#define CAUGHT_SIGNALS 0x200004007 // HUP INT QUIT TERM 34, bit sig-1 each

// struct sigaction as rt_sigaction(2) takes it: handler, flags, restorer, mask.
DATA ·action+0(SB)/8, $·handler(SB)
DATA ·action+8(SB)/8, $SA_SIGINFO_RESTORER
DATA ·action+16(SB)/8, $·restorer(SB)
DATA ·action+24(SB)/8, $CAUGHT_SIGNALS
GLOBL ·action(SB), RODATA|NOPTR, $32

// handler's action while an exec again is under way: on the signal stack
// the runtime gave each thread, for it may interrupt a goroutine's.
DATA ·lateAction+0(SB)/8, $·handler(SB)
DATA ·lateAction+8(SB)/8, $(SA_SIGINFO_RESTORER|SA_ONSTACK)
DATA ·lateAction+16(SB)/8, $·restorer(SB)
DATA ·lateAction+24(SB)/8, $CAUGHT_SIGNALS
GLOBL ·lateAction(SB), RODATA|NOPTR, $32

DATA ·heldMask+0(SB)/8, $const_heldSignals
GLOBL ·heldMask(SB), RODATA|NOPTR, $8

// struct timespec of one millisecond, for the exec again's settle.
DATA ·oneMillisecond+0(SB)/8, $0
DATA ·oneMillisecond+8(SB)/8, $1000000
GLOBL ·oneMillisecond(SB), RODATA|NOPTR, $16

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

// LATE makes handler sig's action for the rest of an exec again, on the
// signal stack (lateAction).
#define LATE(sig) 	MOVQ $SYS_rt_sigaction, AX; MOVQ $sig, DI; MOVQ $·lateAction(SB), SI; MOVQ $0, DX; MOVQ $8, R10; SYSCALL

// IGNORED writes '@'+sig at DI, and moves DI on, when sig was ignored when
// the program started (startActs at slot).
#define IGNORED(sig, slot) 	MOVQ ·startActs+slot(SB), AX; CMPQ AX, $1; SETEQ CX; MOVB $('@'+sig), 0(DI); MOVBQZX CX, CX; ADDQ CX, DI

// GOMAXPROCS=1, what entry adds to the environment the runtime reads; its
// first 11 bytes are the name entry looks for.
DATA ·oneP+0(SB)/8, $"GOMAXPRO"
DATA ·oneP+8(SB)/4, $"CS=1"
DATA ·oneP+12(SB)/1, $0
GLOBL ·oneP(SB), RODATA|NOPTR, $13

// DRAINIT_EARLY_SIGNALS= (carryName, 22 bytes) with nothing carried: what
// entry adds when GOMAXPROCS is set, for the exec again to have a slot.
#define CARRY_NAME_LEN 22
DATA ·noCarry+0(SB)/8, $"DRAINIT_"
DATA ·noCarry+8(SB)/8, $"EARLY_SI"
DATA ·noCarry+16(SB)/6, $"GNALS="
DATA ·noCarry+22(SB)/1, $0
GLOBL ·noCarry(SB), RODATA|NOPTR, $23

// entry leaves the stack as the kernel built it (argc, argv, envp, auxv)
// for the runtime's entry, which it jumps to, but for one more environment
// variable in a slot it adds before envp's NULL (spareSlot): GOMAXPROCS=1
// when the environment sets none, so that the runtime starts with one P
// and none of its start is spent on a second (a thread to run it, a cache
// of spans to give back when init sets one); otherwise an empty
// carryName, so that an exec again always has a slot to carry what
// handler caught. init takes both out again before anyone reads the
// environment.
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
	// Look through the environment for GOMAXPROCS= (R11 = 1 when set)
	// and carryName (its slot in carriedAt); CX ends at envp's NULL.
	MOVQ 0(SP), AX
	LEAQ 16(SP)(AX*8), CX
	MOVQ $0, R11
look:
	MOVQ 0(CX), R8
	TESTQ R8, R8
	JZ add
	MOVQ R8, SI
	MOVQ $·oneP(SB), DI
	MOVQ $11, R9
oneP:
	MOVBLZX 0(SI), R10
	CMPB R10, 0(DI)
	JNE notOneP
	INCQ SI
	INCQ DI
	DECQ R9
	JNZ oneP
	MOVQ $1, R11
	JMP next
notOneP:
	MOVQ R8, SI
	MOVQ $·noCarry(SB), DI
	MOVQ $CARRY_NAME_LEN, R9
carryName:
	MOVBLZX 0(SI), R10
	CMPB R10, 0(DI)
	JNE next
	INCQ SI
	INCQ DI
	DECQ R9
	JNZ carryName
	LEAQ -8(CX), R10 // where the slot is once the shift below is done
	MOVQ R10, ·carriedAt(SB)
next:
	ADDQ $8, CX
	JMP look
add:
	// Is this start handler's exec again? Only that exec names
	// /proc/self/exe, which the kernel passes on as AT_EXECFN in the
	// auxiliary vector after envp's NULL: what it carries is then
	// drainit's own (startedAgain), and read without /proc.
	LEAQ 8(CX), DX
auxv:
	MOVQ 0(DX), AX
	TESTQ AX, AX
	JZ moveDown
	CMPQ AX, $31 // AT_EXECFN
	JNE auxvNext
	MOVQ 8(DX), SI
	MOVQ $·self(SB), DI
	MOVQ $15, R9 // with its NUL
execfn:
	MOVBLZX 0(SI), R10
	CMPB R10, 0(DI)
	JNE moveDown
	INCQ SI
	INCQ DI
	DECQ R9
	JNZ execfn
	MOVQ $1, ·againStart(SB)
	JMP moveDown
auxvNext:
	ADDQ $16, DX
	JMP auxv
moveDown:
	// Move argc, argv and envp one word down, and put the variable in the
	// slot that frees before envp's NULL: auxv stays where it is.
	MOVQ SP, SI
shift:
	MOVQ 0(SI), R10
	MOVQ R10, -8(SI)
	ADDQ $8, SI
	CMPQ SI, CX
	JNE shift
	LEAQ -8(CX), R10
	MOVQ R10, ·spareSlot(SB)
	MOVQ $·noCarry(SB), R9
	TESTQ R11, R11
	JNZ spare
	MOVQ $·oneP(SB), R9
	MOVQ R10, ·oneSlot(SB)
spare:
	MOVQ R9, -8(CX)
	SUBQ $8, SP
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
	// A frame: 0 the action read back (32 bytes), 32 a mask, 40 the
	// settle's count, 48 ctx, 56 info.
	SUBQ $64, SP
	MOVQ DX, 48(SP)
	MOVQ SI, 56(SP)
	// An exec again under way: this signal goes with it (late), also
	// once init has taken the signals.
	CMPQ ·againTaken(SB), $1
	JEQ late
	CMPQ ·subscribed(SB), $0
	JNE recorded
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
	// And in order, while there is room; past it, in overflowed, which
	// an exec again makes pending.
	MOVQ $1, AX
	LOCK
	XADDQ AX, ·norder(SB)
	CMPQ AX, $32
	JAE full
	MOVQ $·order(SB), CX
	MOVB R8, 0(CX)(AX*1)
	JMP recorded
full:
	MOVQ R8, CX
	MOVQ $1, AX
	SHLQ CX, AX
	LOCK
	ORQ AX, ·overflowed(SB)
recorded:
	ADDQ $64, SP
	RET
late:
	// The runtime's dieFromSignal raises the signal on its own thread
	// (SI_TKILL from drainit itself) and forwards it here: it must not
	// return, for the runtime would then die of it (again, as a loser).
	// Anything else the kernel delivered here directly (this handler is
	// every caught signal's while the exec again is under way): made
	// pending for the whole process and blocked on this thread from its
	// return, it waits for the exec, which keeps it, and the thread goes
	// on with its work.
	MOVQ 56(SP), SI
	MOVL 8(SI), AX // si_code
	CMPL AX, $-6   // SI_TKILL
	JNE lateDirect
	MOVQ $SYS_getpid, AX
	SYSCALL
	MOVQ 56(SP), SI
	MOVL 16(SI), CX // si_pid
	CMPL CX, AX
	JEQ again
lateDirect:
	MOVQ 48(SP), DX
	MOVQ $CAUGHT_SIGNALS, AX
	ORQ AX, 296(DX) // uc_sigmask, restored by the return
	MOVQ $SYS_getpid, AX
	SYSCALL
	MOVQ AX, DI
	MOVQ R8, SI
	MOVQ $SYS_kill, AX
	SYSCALL
	ADDQ $64, SP
	RET
again:
	LOCK
	INCQ ·againEntered(SB)
	// Start the program again, with what was caught carried in the
	// environment. From here on this thread blocks the caught signals,
	// and the held ones, which must stay pending through the exec as they
	// did through this start: between the exec and the new entry's CATCH
	// the caught ones' action is the kernel's default (death), and
	// blocked they wait for the new handler instead.
	MOVQ ·startMask(SB), AX
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
	// One thread execs, and none once init has closed the gate (2: it
	// takes the signals from there on). A burst of stop signals reaches
	// several of the runtime's threads at once, each dying of its own:
	// the others' signals wait for the exec (or for init's relay),
	// pending for the whole process (loser).
	MOVQ $0, AX
	MOVQ $1, CX
	LOCK
	CMPXCHGQ CX, ·againTaken(SB)
	JNE loser
	// From now on every caught signal comes here directly (late), on the
	// signal stack, and none dies in the runtime: QUIT included.
	LATE(15)
	LATE(2)
	LATE(1)
	LATE(3)
	LATE(34)
	// This one's signal, and those caught when order was full, wait
	// pending on this thread, blocked: the exec keeps them, and the new
	// start catches them after what is carried.
	CALL ·pendHere(SB)
	MOVQ R8, 40(SP)
	MOVQ $1, R8
overflow:
	MOVQ ·overflowed(SB), AX
	BTQ R8, AX
	JCC overflowNext
	CALL ·pendHere(SB)
overflowNext:
	INCQ R8
	CMPQ R8, $64
	JNE overflow
	MOVQ 40(SP), R8
	// The others' first: until every thread that came here has made its
	// signal pending, and none more came for 5 ms (for one still on its
	// way through the runtime's handler, which a busy node can hold up),
	// at most 100 ms. R9 counts the rounds left, R10 the quiet ones.
	MOVQ $100, R9
	MOVQ $0, R10
settle:
	MOVQ ·againEntered(SB), AX
	MOVQ AX, 40(SP)
	MOVQ $SYS_nanosleep, AX
	MOVQ $·oneMillisecond(SB), DI
	MOVQ $0, SI
	SYSCALL
	MOVQ ·againEntered(SB), AX
	CMPQ AX, 40(SP)
	JNE unsettled
	MOVQ ·againParked(SB), CX
	INCQ CX
	CMPQ CX, AX
	JNE unsettled
	INCQ R10
	CMPQ R10, $5
	JEQ settled
	JMP nextRound
unsettled:
	MOVQ $0, R10
nextRound:
	DECQ R9
	JNZ settle
settled:
	// What goes with the exec, in carry: carryName=, the signals ignored
	// when drainit first started, '/', and the signals caught, in order,
	// one byte '@'+sig each. What the exec that started this one carried
	// comes first, whole (this start's ignored ones are that start's);
	// else this start's ignored ones (startActs), and '/'. It takes the
	// carried variable's slot, or else the spare one; the spare slot's
	// GOMAXPROCS=1 goes either way, for the new start adds it again.
	MOVQ $·carry(SB), DI
	MOVQ $·noCarry(SB), SI
	MOVQ $CARRY_NAME_LEN, CX
name:
	MOVB 0(SI), AX
	MOVB AX, 0(DI)
	INCQ SI
	INCQ DI
	DECQ CX
	JNZ name
	// (A carryName in any other start's environment is someone else's:
	// its slot is taken, its value not carried.)
	CMPQ ·againStart(SB), $0
	JEQ ignored
	MOVQ ·carriedAt(SB), SI
	TESTQ SI, SI
	JZ ignored
	MOVQ 0(SI), SI
	ADDQ $CARRY_NAME_LEN, SI
	MOVQ $40, CX
inherited:
	MOVBLZX 0(SI), AX
	TESTQ AX, AX
	JZ own
	MOVB AX, 0(DI)
	INCQ SI
	INCQ DI
	DECQ CX
	JNZ inherited
	JMP own
ignored:
	IGNORED(15, 0)
	IGNORED(2, 32)
	IGNORED(1, 64)
	IGNORED(3, 96)
	IGNORED(34, 128)
	MOVB $'/', 0(DI)
	INCQ DI
own:
	MOVQ ·norder(SB), CX
	CMPQ CX, $32
	JBE counted
	MOVQ $32, CX
counted:
	MOVQ $·order(SB), SI
	TESTQ CX, CX
	JZ carried
ownNext:
	MOVBLZX 0(SI), AX
	ADDQ $'@', AX
	MOVB AX, 0(DI)
	INCQ SI
	INCQ DI
	DECQ CX
	JNZ ownNext
carried:
	MOVB $0, 0(DI)
	MOVQ $·carry(SB), CX
	MOVQ ·spareSlot(SB), DI
	MOVQ ·carriedAt(SB), SI
	TESTQ SI, SI
	JZ toSpare
	MOVQ CX, 0(SI)
	MOVQ $0, 0(DI) // the spare is the last: envp ends before it
	JMP exec
toSpare:
	MOVQ CX, 0(DI)
exec:
	MOVQ $SYS_execve, AX
	MOVQ $·self(SB), DI
	MOVQ ·argv(SB), SI
	MOVQ ·envp(SB), DX
	SYSCALL
	// The exec failed (no /proc): say so, and let the signal have its
	// default action, which the return delivers (pending, and unblocked by
	// the return). Leaving the runtime's handler in place would bring the
	// signal back to this handler, and this exec, forever. As PID 1 the
	// kernel discards it, and the runtime, dying of it, exits 2.
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
	ADDQ $64, SP
	RET
loser:
	// Another thread execs, or init takes the signals. This signal waits
	// for it, pending for the whole process: each thread it reaches comes
	// here and blocks it (or, once the exec is under way, is handed it
	// directly: late), and pending where every thread blocks it, it goes
	// through the exec and reaches the new start's handler. This thread
	// came through the runtime's dieFromSignal and must not return: it
	// waits to end with the exec (or with the signal, if the exec fails).
	MOVQ $SYS_getpid, AX
	SYSCALL
	MOVQ AX, DI
	MOVQ R8, SI
	MOVQ $SYS_kill, AX
	SYSCALL
	LOCK
	INCQ ·againParked(SB)
wait:
	MOVQ $SYS_pause, AX
	SYSCALL
	JMP wait

// pendHere makes signal R8 pending on this thread: tgkill(getpid, gettid,
// R8). It changes AX, CX, DX, SI, DI, R9, R10 and R11.
TEXT ·pendHere(SB),NOSPLIT|NOFRAME,$0
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
	RET

// lateActionAddr returns the address of lateAction, for hold.
TEXT ·lateActionAddr(SB),NOSPLIT,$0-8
	MOVQ $·lateAction(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// restorer returns from the handler: x86-64 needs one of the program's own.
TEXT ·restorer(SB),NOSPLIT|NOFRAME,$0
	MOVQ $SYS_rt_sigreturn, AX
	SYSCALL
	INT $3

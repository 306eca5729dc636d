// Command legacyworker is the demo's and the tests' "legacy worker": a queue
// consumer that takes one job at a time from a directory and knows nothing
// about signals. Like a Python worker with no signal handling, SIGTERM kills
// it on the spot, mid-job; as PID 1 it ignores SIGTERM altogether.
//
// Its one concession to graceful shutdown is a single check between jobs:
// with -drain-file, it stops taking jobs once that file exists. That is the
// line a team adds to put it behind drainit --drain-file.
//
// The queue is a directory: DIR/queue holds pending jobs (one file each),
// a job being worked on is moved to DIR/taken, a finished one to DIR/done.
// A job left in DIR/taken was lost: started and never finished.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	dir := flag.String("queue", "", "queue directory (with queue/, taken/ and done/)")
	job := flag.Duration("job", 3*time.Second, "how long one job takes")
	drainFile := flag.String("drain-file", "", "stop between jobs once this file exists")
	flag.Parse()
	kernelDefaults(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "legacyworker: -queue is required")
		os.Exit(2)
	}
	for _, sub := range []string{"queue", "taken", "done"} {
		os.MkdirAll(filepath.Join(*dir, sub), 0o755)
	}
	say("worker started, pid %d", os.Getpid())
	for {
		if *drainFile != "" {
			if _, err := os.Stat(*drainFile); err == nil {
				say("drain file %s seen: taking no more jobs", *drainFile)
				return
			}
		}
		name, ok := next(filepath.Join(*dir, "queue"))
		if !ok {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		taken := filepath.Join(*dir, "taken", name)
		if err := os.Rename(filepath.Join(*dir, "queue", name), taken); err != nil {
			continue // another worker took it
		}
		say("%s started", name)
		time.Sleep(*job)
		os.Rename(taken, filepath.Join(*dir, "done", name))
		say("%s finished", name)
	}
}

func next(dir string) (string, bool) {
	entries, _ := os.ReadDir(dir)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) == 0 {
		return "", false
	}
	return slices.Min(names), true
}

func say(format string, args ...any) {
	fmt.Printf("%s worker: %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// kernelDefaults makes this worker behave like a legacy worker written in a
// language that installs no signal handlers. The Go runtime catches every
// signal from the first instruction, so even as a container's PID 1 a Go
// program "dies" of SIGTERM (it exits 2); a Python or C worker there ignores
// SIGTERM, because the kernel does not apply default actions to a PID
// namespace's init, and is SIGKILLed by the runtime later. Putting the
// kernel's SIG_DFL back gives this worker that same behaviour.
func kernelDefaults(sigs ...syscall.Signal) {
	var dfl [4]uintptr // struct kernel_sigaction with sa_handler = SIG_DFL
	for _, s := range sigs {
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(s), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	}
}

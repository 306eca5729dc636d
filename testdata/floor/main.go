// Command floor is what any Go init built like drainit costs at start
// before it does any work of its own: the benchmark runs it beside drainit
// to tell the two apart. It initialises every package drainit links
// (linked.go: through supervise, which imports the rest, and urfave/cli),
// built with the Makefile's flags for drainit, and then does only what an
// init cannot do without: it subscribes to SIGTERM, forks and execs the
// command, and reaps it. Built with the tag floor_minimal it links none of
// drainit's packages: the least any Go init costs.
package main

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: floor COMMAND [ARG...]\n")
		os.Exit(2)
	}
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM)
	pid, err := syscall.ForkExec(os.Args[1], os.Args[1:], &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		os.Stderr.WriteString("floor: " + os.Args[1] + ": " + err.Error() + "\n")
		os.Exit(127)
	}
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	os.Exit(ws.ExitStatus())
}

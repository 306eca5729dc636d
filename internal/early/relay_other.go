//go:build !amd64 || drainit_ossignal

package early

import (
	"os"
	"syscall"
)

// No relay on this architecture, or in a build that asks for os/signal
// alone (tagged drainit_ossignal, which the tests build to run this path
// on amd64): init subscribes through os/signal, and never asks for it
// (signals.RelayBuilt).
func startRelay([]os.Signal) error { return syscall.ENOSYS }

func dropRTMIN() {}

var relayPipe *os.File

func relayLoop(*os.File) {}

func stopRelay() {}

func flushRelay() {}

func retakeRelay([]os.Signal) {}

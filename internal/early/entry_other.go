//go:build !amd64

package early

import "syscall"

// No entry on this architecture: nothing is caught before the runtime.
var (
	caught, subscribed uint64
	oneSlot            uintptr
)

func ignoredByEntry() []syscall.Signal { return nil }

func earlyCaught() []syscall.Signal { return nil }

func takeCarry() {}

func closeGate() {}

func releaseHold() {}

var gateSaved [5][4]uint64

func nameAgain() {}

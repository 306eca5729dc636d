//go:build !amd64

package early

// No entry on this architecture: nothing is caught before the runtime.
var (
	caught, subscribed uint64
	oneSlot            uintptr
)

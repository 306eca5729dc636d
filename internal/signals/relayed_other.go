//go:build !amd64 || drainit_ossignal

package signals

// RelayBuilt: see relayed.go.
const RelayBuilt = false

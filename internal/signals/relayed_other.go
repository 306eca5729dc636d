//go:build !amd64 || drainit_ossignal

package signals

// Relayed: see relayed.go.
const Relayed = false

//go:build amd64 && !drainit_ossignal

package signals

// RelayBuilt is whether this build has internal/early's relay (a handler
// of drainit's own, amd64) rather than os/signal alone (arm64, and builds
// tagged drainit_ossignal). Whether the relay runs is Relayed's answer.
const RelayBuilt = true

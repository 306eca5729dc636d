//go:build amd64 && !drainit_ossignal

package signals

// Relayed is whether this build takes signals through internal/early's
// relay (a handler of drainit's own, amd64) rather than os/signal alone
// (arm64, and builds tagged drainit_ossignal).
const Relayed = true

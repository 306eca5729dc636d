// Package integration holds drainit's end-to-end tests: the command built
// as make build builds it (TestMain, main_test.go), run as PID 1 of a PID
// namespace, in runc, Docker and a real Kubernetes node, with the test
// binary itself as the workload (fixture_test.go). It has no code of its
// own: `go test ./integration` (make test) runs it, from the repository's
// root, whatever the directory go test starts it in.
package integration

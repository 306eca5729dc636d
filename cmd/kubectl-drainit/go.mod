// Module kubectl-drainit holds what puts drainit in front of existing
// containers: the kubectl plugin (kubectl drainit inject, this folder),
// drainit-injector, the admission webhook (drainit-injector/), and the
// one implementation both use (inject/). It is a module of its own so that
// drainit's go.mod keeps its two dependencies.
module github.com/drainit/drainit/cmd/kubectl-drainit

go 1.26.0

require (
	github.com/docker/cli v29.7.2+incompatible
	github.com/google/go-containerregistry v0.22.1
	go.yaml.in/yaml/v2 v2.4.2
	golang.org/x/crypto/x509roots/fallback v0.0.0-20261030153154-30a33513ff6d
	golang.org/x/sync v0.22.0
	gopkg.in/evanphx/json-patch.v4 v4.13.0
	sigs.k8s.io/yaml v1.6.0
)

require (
	github.com/docker/docker-credential-helpers v0.9.3 // indirect
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	github.com/sirupsen/logrus v1.9.4 // indirect
	golang.org/x/sys v0.47.0 // indirect
	gotest.tools/v3 v3.5.2 // indirect
)

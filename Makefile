# drainit: `make demo` runs the main job, `make test` runs the tests.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null)
# Asynchronous preemption off for drainit alone (the workload does not
# inherit a link-time default, as it would GODEBUG): the Go runtime then
# sends drainit no SIGURG of its own, and drainit forwards SIGURG like any
# other signal. The same value goes to internal/signals, the only way the
# program can know it (the linker lets nobody read runtime.godebugDefault).
# containermaxprocs=0: drainit sets its one P itself (internal/early), so
# the runtime closes the cgroup's CPU files it reads at start instead of
# keeping them open to read again. memprofilerate=0: drainit serves no
# memory profile, and from the first allocation on none is sampled (a
# sample's stack trace and the profile's table cost page faults at start).
GODEBUG_DEFAULT = asyncpreemptoff=1,containermaxprocs=0,memprofilerate=0
# Go 1.26's default collector keeps each small-object span's mark bits at
# the span's end, which touches a page of every span drainit allocates in:
# about a tenth of its anonymous memory. drainit's heap is too small for the
# new collector to matter; the old one is a supported setting in Go 1.26.
# For drainit's own build only: the tests and their tools keep the default.
build_drainit = GOEXPERIMENT=nogreenteagc $(GO) build
# The program starts at internal/early's entry, which holds the signals
# that come before the Go runtime's handlers (amd64 only;
# internal/early/entry.go says how). ENTRY=no builds without it, as arm64
# is built.
GOARCH ?= $(shell $(GO) env GOARCH)
ENTRY ?= yes
entry = $(if $(and $(filter yes,$(ENTRY)),$(filter amd64,$(1))),-E github.com/drainit/drainit/internal/early.entry)
# urfave_cli_no_docs drops the man-page generator, a third of the binary.
# The tests add drainit_ossignal (with ENTRY=no) to run on amd64 what arm64
# runs: os/signal alone, without internal/early's relay.
TAGS ?= urfave_cli_no_docs
goflags = -trimpath -tags $(TAGS) -ldflags "-s -w $(call entry,$(1)) -X main.version=$(VERSION) -X main.commit=$(COMMIT) \
	-X runtime.godebugDefault=$(GODEBUG_DEFAULT) -X github.com/drainit/drainit/internal/signals.runtimeGodebug=$(GODEBUG_DEFAULT)"
export CGO_ENABLED = 0
# Where make build puts the binary; the tests build theirs with OUT=.
OUT ?= bin/drainit

.PHONY: build test demo demo-kube bench floor image plugin injector injector-image release clean

build:
	$(build_drainit) $(call goflags,$(GOARCH)) -o $(OUT) .

# The demo's legacy worker and the demo itself, static like drainit so they
# run inside a busybox container.
demo: build
	@$(GO) build -trimpath -o bin/legacyworker ./testdata/legacyworker
	@$(GO) build -trimpath -o bin/demo ./testdata/demo
	@./bin/demo -drainit bin/drainit -worker bin/legacyworker

# The busy-worker story on the tests' real Kubernetes node (as root; the
# first run on a machine builds the Kubernetes binaries, about 10 minutes):
# the scale-down of a ReplicaSet, then seed 002's workers behind a Service.
demo-kube:
	@$(GO) test -tags urfave_cli_no_docs -count=1 -run '^(TestKubeDemo|TestSeed002BusyWorkersLeaveTheService)$$' -v ./integration | grep -E '^(demo-kube|seed 002|\| |--- |FAIL|ok)'

# ./... is every package's unit tests, the command's beside main.go, and
# the end-to-end tests in integration/, each once.
test:
	$(GO) vet ./... ./testdata/bench ./testdata/demo ./testdata/legacyworker ./testdata/floor
	cd cmd/kubectl-drainit && $(GO) vet ./... && $(GO) test -count=1 ./...
	$(GO) test -tags urfave_cli_no_docs -count=1 -timeout 45m ./...

# Not part of `make test` (which runs `bench -short` once, as a smoke test).
bench: build floor
	$(GO) build -trimpath -o bin/bench ./testdata/bench
	./bin/bench -drainit bin/drainit -floor $(FLOOR) -minimal $(MINIMAL)

# The start row's floors (testdata/floor), built as drainit is and doing
# none of drainit's own work: FLOOR with drainit's packages initialised,
# MINIMAL with none of them (the least a Go init costs).
FLOOR ?= bin/floor
MINIMAL ?= bin/floor-minimal
floor:
	$(build_drainit) -trimpath -tags urfave_cli_no_docs -ldflags "-s -w -X runtime.godebugDefault=$(GODEBUG_DEFAULT)" -o $(FLOOR) ./testdata/floor
	$(build_drainit) -trimpath -tags floor_minimal -ldflags "-s -w -X runtime.godebugDefault=$(GODEBUG_DEFAULT)" -o $(MINIMAL) ./testdata/floor

# Static, stripped binaries for each platform, named drainit-VERSION-linux-ARCH,
# with SHA256SUMS, in $(DIST).
DIST ?= dist
RELEASE_ARCHES = amd64 arm64
release:
	@rm -rf $(DIST) && mkdir -p $(DIST)
	@$(foreach arch,$(RELEASE_ARCHES),GOOS=linux GOARCH=$(arch) $(build_drainit) $(call goflags,$(arch)) -o $(DIST)/drainit-$(VERSION)-linux-$(arch) . &&) true
	@cd $(DIST) && sha256sum drainit-$(VERSION)-linux-* > SHA256SUMS
	@echo "release binaries in $(abspath $(DIST)):" && ls -l $(DIST)

clean:
	rm -rf bin $(DIST)

# The image from the Dockerfile's offline stage (bin/drainit, no registry):
# with docker when a Docker engine answers, else with podman. PODMAN_FLAGS
# takes host-specific podman settings (see README). Tagged drainit:latest
# too: the name an image's COPY --from=drainit takes; and PLUGIN_IMAGE, the
# name kubectl drainit inject gives its init container and image volume.
IMAGE ?= drainit:$(VERSION)
PLUGIN_IMAGE = ghcr.io/drainit/drainit:latest
PODMAN_FLAGS ?=
image: build
	@if docker info >/dev/null 2>&1; then \
		docker build --target offline -t $(IMAGE) -t drainit:latest -t $(PLUGIN_IMAGE) . ; \
	else \
		podman $(PODMAN_FLAGS) build --target offline -t $(IMAGE) -t drainit:latest -t $(PLUGIN_IMAGE) . ; \
	fi

# The kubectl plugin (cmd/kubectl-drainit, a module of its own): put
# bin/kubectl-drainit on PATH and kubectl drainit runs it.
plugin:
	cd cmd/kubectl-drainit && $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o ../../bin/kubectl-drainit .

# drainit-injector, the admission webhook that wraps every pod of a labelled
# namespace as kubectl drainit inject would (cmd/kubectl-drainit/drainit-injector,
# in the plugin's module: they share its inject package), and its image,
# the Dockerfile's injector-offline target: the binary alone, as user 65532,
# tagged as cmd/kubectl-drainit/install/drainit-injector.yaml names it.
INJECTOR_IMAGE = ghcr.io/drainit/drainit-injector:latest
injector:
	cd cmd/kubectl-drainit && $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o ../../bin/drainit-injector ./drainit-injector

injector-image: build injector
	@if docker info >/dev/null 2>&1; then \
		docker build --target injector-offline -t drainit-injector:$(VERSION) -t $(INJECTOR_IMAGE) . ; \
	else \
		podman $(PODMAN_FLAGS) build --target injector-offline -t drainit-injector:$(VERSION) -t $(INJECTOR_IMAGE) . ; \
	fi

# drainit's image: nothing but the static binary, so that any image can take it with
#   COPY --from=<this image> /drainit /drainit
#   ENTRYPOINT ["/drainit", "--"]
# It runs as user and group 65532, a number and not root: the kubelet checks a pod's
# runAsNonRoot (Pod Security's restricted profile) against the image's user, and can
# only do so for a number. kubectl drainit inject's init container runs it so, and
# copies drainit into an emptyDir (world-writable) as that user. A COPY --from takes
# the file, not the user.
#
# Two ways to build it:
#   docker build -t drainit .                    # compiles in a Go builder stage (needs the registry)
#   make build && docker build --target offline -t drainit .
#                                                # takes bin/drainit from `make build`: no registry needed
# `make image` does the second with docker, or with podman when no Docker engine answers.
# drainit-injector's image likewise: --target injector, or `make injector-image` (injector-offline).

# The offline stage comes first: building it as --target skips every stage after it,
# so nothing is pulled.
FROM scratch AS offline
COPY bin/drainit /drainit
USER 65532:65532
ENTRYPOINT ["/drainit", "--"]

# drainit-injector, the admission webhook (cmd/kubectl-drainit/drainit-injector):
# `make injector-image` builds this target from bin/drainit-injector (`make injector`).
# Static and alone, as user 65532; the registries' root certificates are in the
# binary (golang.org/x/crypto/x509roots/fallback), for FROM scratch.
FROM scratch AS injector-offline
COPY bin/drainit-injector /drainit-injector
USER 65532:65532
ENTRYPOINT ["/drainit-injector"]

# Built on the build machine's platform for the target's (buildx or
# podman --platform set TARGETARCH): Go cross-compiles, no emulator needed.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The Makefile's flags: asyncpreemptoff=1 for drainit alone, so it can forward SIGURG,
# containermaxprocs=0 (drainit sets its one P) and memprofilerate=0; internal/early's entry
# (amd64), which holds the signals sent before the Go runtime starts; the collector without
# span-end mark bits.
RUN entry=; [ "$TARGETARCH" = amd64 ] && entry="-E github.com/drainit/drainit/internal/early.entry"; \
    godebug=asyncpreemptoff=1,containermaxprocs=0,memprofilerate=0; \
    CGO_ENABLED=0 GOEXPERIMENT=nogreenteagc GOARCH=$TARGETARCH go build -trimpath -tags urfave_cli_no_docs -o /drainit \
    -ldflags "-s -w $entry -X runtime.godebugDefault=$godebug -X github.com/drainit/drainit/internal/signals.runtimeGodebug=$godebug" .

# drainit-injector compiled from its module: docker build --target injector .
FROM --platform=$BUILDPLATFORM golang:1.26 AS injector-build
ARG TARGETARCH
WORKDIR /src/cmd/kubectl-drainit
COPY cmd/kubectl-drainit/go.mod cmd/kubectl-drainit/go.sum ./
RUN go mod download
COPY cmd/kubectl-drainit/ ./
RUN CGO_ENABLED=0 GOARCH=$TARGETARCH go build -trimpath -ldflags "-s -w" -o /drainit-injector ./drainit-injector

FROM scratch AS injector
COPY --from=injector-build /drainit-injector /drainit-injector
USER 65532:65532
ENTRYPOINT ["/drainit-injector"]

# The default target, last: drainit's image.
FROM scratch
COPY --from=build /drainit /drainit
USER 65532:65532
ENTRYPOINT ["/drainit", "--"]

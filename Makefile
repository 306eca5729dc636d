# drainit: `make demo` runs the main job, `make test` runs the tests.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null)
# urfave_cli_no_docs drops the man-page generator, a third of the binary.
GOFLAGS_BUILD = -trimpath -tags urfave_cli_no_docs -ldflags "-s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)"
export CGO_ENABLED = 0

.PHONY: build test demo bench image clean

build:
	$(GO) build $(GOFLAGS_BUILD) -o bin/drainit .

test:
	$(GO) vet ./...
	$(GO) test -tags urfave_cli_no_docs -count=1 -timeout 20m ./...

clean:
	rm -rf bin

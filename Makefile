# svcreg: `make run` starts the daemon on its built-in default registry;
# `make check` installs what the tests need, then gofmt, go vet,
# golangci-lint and every test under the race detector.
GO      ?= go
PKGS    ?= ./...
TESTFLAGS ?= -race -timeout 30m

# golangci-lint is pinned and installed with go install from the module
# proxy into GOBIN (default GOPATH/bin), which need not be on PATH.
GOLANGCI_LINT_VERSION ?= v2.15.0
GOBIN_DIR := $(or $(shell $(GO) env GOBIN),$(shell $(GO) env GOPATH)/bin)
GOLANGCI_LINT ?= $(GOBIN_DIR)/golangci-lint

.PHONY: all build build-embed run check deps tools vet lint fmt-check test bench fuzz clean

all: build

build:
	$(GO) build -o bin/svcreg ./cmd/svcreg

# A release build with the official registry embedded (downloads it: needs the internet).
build-embed: build
	./bin/svcreg fetch --out internal/embedded/registry.xml
	$(GO) build -tags ianaembed -o bin/svcreg ./cmd/svcreg

run: build
	./bin/svcreg serve

deps: tools
	./scripts/install-deps.sh

tools:
	@if ! $(GOLANGCI_LINT) version 2>/dev/null | grep -q 'version $(GOLANGCI_LINT_VERSION:v%=%) '; then \
		echo "go install golangci-lint@$(GOLANGCI_LINT_VERSION)"; \
		$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); \
	fi

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

lint:
	$(GOLANGCI_LINT) run $(PKGS)

test:
	$(GO) test $(TESTFLAGS) $(PKGS)

check: deps fmt-check vet lint test

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Every fuzz target for FUZZTIME seconds each (see bench/fuzz.sh).
FUZZTIME ?= 60
fuzz:
	./bench/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin

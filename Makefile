# svcreg: `make run` starts the daemon on its built-in default registry;
# `make check` installs what the tests need, then vets and runs every test.
GO      ?= go
PKGS    ?= ./...
TESTFLAGS ?= -race -timeout 30m

.PHONY: all build build-embed run check deps vet fmt-check test bench fuzz clean

all: build

build:
	$(GO) build -o bin/svcreg ./cmd/svcreg

# A release build with the official registry embedded (downloads it: needs the internet).
build-embed: build
	./bin/svcreg fetch --out internal/embedded/registry.xml
	$(GO) build -tags ianaembed -o bin/svcreg ./cmd/svcreg

run: build
	./bin/svcreg serve

deps:
	./scripts/install-deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

test:
	$(GO) test $(TESTFLAGS) $(PKGS)

check: deps fmt-check vet test

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Every fuzz target for FUZZTIME seconds each (see bench/fuzz.sh).
FUZZTIME ?= 60
fuzz:
	./bench/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin

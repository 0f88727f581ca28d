# Flotilla's build. Everything it needs it builds itself: the kube components and
# controller-gen come from hack/tools (pinned), cached outside the repository.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

TOOLS_DIR := $(shell hack/build-tools.sh --print-dir)
CONTROLLER_GEN := $(TOOLS_DIR)/controller-gen
GOLANGCI_LINT := $(TOOLS_DIR)/golangci-lint-$(shell awk '$$1=="require" && $$2=="github.com/golangci/golangci-lint/v2"{print $$3; exit}' hack/lint/go.mod)
BIN := bin
GO_TEST_FLAGS ?= -count=1 -timeout 25m
MEMBERS ?= 3

# make image: the version and commit are stamped into the binary (flotilla version) and the
# image's labels. The commit time is every file's mtime, so the same commit gives the same
# image digest (see docs/image.md).
IMAGE_DIR := $(BIN)/image
IMAGE_ARCH ?= amd64
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
IMAGE_LDFLAGS = -s -w -X github.com/flotilla-dev/flotilla/internal/cli.version=$(VERSION) \
	-X github.com/flotilla-dev/flotilla/internal/cli.revision=$(or $(REVISION),dev)

.PHONY: all
all: build

.PHONY: tools
tools: ## Build the pinned etcd, kube-apiserver, kube-controller-manager and controller-gen (cached).
	hack/build-tools.sh

.PHONY: generate
generate: ## Regenerate deepcopy code, apply configurations and CRDs from the API types.
	hack/build-tools.sh controller-gen
	$(CONTROLLER_GEN) object paths=./api/...
	rm -rf api/*/*/applyconfiguration
	$(CONTROLLER_GEN) applyconfiguration paths=./api/...
	rm -f config/crd/bases/*.yaml config/crd/shared/*.yaml
	$(CONTROLLER_GEN) crd:allowDangerousTypes=false paths=./api/... output:crd:artifacts:config=config/crd/bases
	@# ClusterProfile's CRD is shared with other cluster managers: it is only created when missing.
	mkdir -p config/crd/shared
	mv config/crd/bases/multicluster.x-k8s.io_clusterprofiles.yaml config/crd/shared/
	go run ./hack/crdversions config/crd/bases
	@# The hub chart carries the same CRDs and policies as `flotilla hub`'s own install.
	go run ./hack/chartfiles charts/flotilla-hub

.PHONY: verify
verify: generate ## Fail when generated files are stale, the code is not gofmt'ed, or vet complains.
	@if [ -n "$$(git status --porcelain -- api config/crd charts)" ]; then \
		echo "generated files are stale: run 'make generate' and commit the result"; \
		git status --porcelain -- api config/crd charts; git --no-pager diff --stat -- api config/crd charts; exit 1; fi
	@if [ -n "$$(gofmt -l ./api ./cmd ./internal ./test)" ]; then \
		echo "not gofmt'ed:"; gofmt -l ./api ./cmd ./internal ./test; exit 1; fi
	go vet ./...

.PHONY: lint
lint: ## Run golangci-lint (pinned in hack/lint, built once into the tools cache) with .golangci.yml.
	hack/build-tools.sh golangci-lint
	$(GOLANGCI_LINT) run ./...

.PHONY: build
build: ## Build bin/flotilla.
	go build -o $(BIN)/flotilla ./cmd/flotilla

.PHONY: image
image: ## Build the flotilla image offline (no Docker, no base image) into bin/image; PUSH=registry/repo also pushes :$(VERSION).
	mkdir -p $(IMAGE_DIR)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) go build -trimpath -ldflags '$(IMAGE_LDFLAGS)' \
		-o $(IMAGE_DIR)/flotilla-linux-$(IMAGE_ARCH) ./cmd/flotilla
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) go run ./hack/image --binary $(IMAGE_DIR)/flotilla-linux-$(IMAGE_ARCH) \
		--arch $(IMAGE_ARCH) --out $(IMAGE_DIR)/oci --tarball $(IMAGE_DIR)/flotilla.tar \
		--version '$(VERSION)' --revision '$(REVISION)' $(if $(PUSH),--push '$(PUSH):$(VERSION)')

.PHONY: run
run: build tools ## Start a local fleet of a hub and $(MEMBERS) members in the foreground.
	$(BIN)/flotilla local up --members $(MEMBERS) $(if $(DIR),--dir $(DIR))

.PHONY: packages
packages: ## Install the Debian packages the tests need (gcc, for the race detector) when missing.
	hack/ensure-packages.sh

.PHONY: test
test: packages tools verify lint ## Lint, then run unit, integration and e2e tests against real API servers, with the race detector.
	FLOTILLA_TOOLS_DIR=$(TOOLS_DIR) go test -race $(GO_TEST_FLAGS) ./...

.PHONY: test-race
test-race: packages tools verify lint ## As test, and the flotilla binary the e2e tests start is built with -race too.
	FLOTILLA_E2E_RACE=1 FLOTILLA_TOOLS_DIR=$(TOOLS_DIR) go test -race $(GO_TEST_FLAGS) ./...

.PHONY: clean
clean:
	rm -rf $(BIN)

.PHONY: help
help:
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME (30s) each and keep the corpus found under testdata/fuzz.
	hack/fuzz.sh $(FUZZTIME)

.PHONY: bench
bench: tools ## Run every benchmark against real API servers and print its figures (not part of make test).
	FLOTILLA_TOOLS_DIR=$(TOOLS_DIR) go test -run '^$$' -bench . -benchtime 1x -timeout 30m ./test/bench/updates/ ./test/bench/scheduling/ ./test/bench/hubmemory/
	FLOTILLA_TOOLS_DIR=$(TOOLS_DIR) go test -run '^$$' -bench . -benchtime 10x -timeout 10m ./test/bench/workapply/ ./test/bench/propagation/
	$(MAKE) bench-lb

.PHONY: bench-lb
bench-lb: ## Compare throughput through the local L4 data plane with a direct loopback connection.
	go test -run '^$$' -bench Throughput -benchtime 1x ./internal/loadbalancer/

# Tether's build. `make test` is what CI runs (.ci/run); `make cluster-up`
# starts a local control plane for trying Tether by hand.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
CLUSTER_DIR ?= $(CURDIR)/.cache/cluster
DEVCLUSTER := $(GO) run ./internal/testenv/devcluster

.PHONY: all build image test deps testenv cluster-up cluster-down demo bench vet clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/tether ./cmd/tether

# image writes Tether's OCI image (an index for IMAGE_PLATFORMS) as an OCI
# layout in bin/image, built in Go without Docker (internal/image/mkimage):
# the static binary, CA_CERTS and the user tether (65532). The same commit
# gives the same digest: binaries are built with -trimpath, every timestamp
# is SOURCE_DATE_EPOCH (default: the commit's time). PUSH=HOST/REPO:TAG
# also pushes it (credentials from TETHER_REGISTRY_USERNAME and
# TETHER_REGISTRY_PASSWORD; INSECURE=1 for plain http; REGISTRY_CA=FILE
# for a private CA).
IMAGE_PLATFORMS ?= linux/amd64 linux/arm64
IMAGE_SOURCE ?= https://github.com/tether-dev/tether
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
CA_CERTS ?= /etc/ssl/certs/ca-certificates.crt
image:
	@set -e; bins=; for p in $(IMAGE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; out=bin/$$os-$$arch/tether; \
		echo "go build $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath \
			-ldflags "-s -w -X main.version=$(VERSION)" -o $$out ./cmd/tether; \
		bins="$$bins -binary $$p=$$out"; \
	done; \
	$(GO) run ./internal/image/mkimage $$bins -out bin/image \
		-version '$(VERSION)' -revision '$(REVISION)' -source '$(IMAGE_SOURCE)' \
		-created '$(SOURCE_DATE_EPOCH)' -ca-file '$(CA_CERTS)' \
		$(if $(PUSH),-push '$(PUSH)') $(if $(INSECURE),-insecure) $(if $(REGISTRY_CA),-registry-ca '$(REGISTRY_CA)')

# deps installs what the tests need beyond Go, git and gcc: an SSH server
# (Git over SSH is tested against a real sshd) and headless Chromium (the
# web UI's script is tested in a real browser).
deps:
	@command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null; }
	@command -v chromium >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# testenv builds the test servers from Go modules into the user cache, one
# cached build group per module under testenv/: the OCI registry (CNCF
# Distribution, testenv/registry) and the control plane (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kwok); it does
# nothing when they are up to date.
testenv:
	@$(DEVCLUSTER) build >/dev/null

vet:
	$(GO) vet ./...

test: deps testenv vet
	$(GO) test -count=1 -timeout 25m ./...

# bench runs every benchmark, each beside its reference in the same run
# (kubectl, kustomize, helm template, a bare SSA loop); medians of 5.
# Roughly 30 minutes; BENCH=SyncConfigMaps (a regexp) picks some.
BENCH ?= .
bench: testenv
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime 1x -count 5 -timeout 90m ./...

# demo: a local cluster, a Git repo made from examples/, and `tether run` on
# it; prints what to try. Ctrl-C stops everything, also when the output is
# piped (`make demo | tee log`). TETHER_DEMO_LISTEN picks the agent's address.
demo: testenv
	@scripts/demo.sh

cluster-up: testenv
	@$(DEVCLUSTER) up -dir $(CLUSTER_DIR)
	@echo "# run the line above, then: kubectl get nodes"

cluster-down:
	@$(DEVCLUSTER) down -dir $(CLUSTER_DIR)

clean:
	rm -rf bin .cache

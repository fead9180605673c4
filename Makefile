# Tether's build. `make test` is what CI runs (.ci/run); `make cluster-up`
# starts a local control plane for trying Tether by hand.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
CLUSTER_DIR ?= $(CURDIR)/.cache/cluster
DEVCLUSTER := $(GO) run ./internal/testenv/devcluster

.PHONY: all build test deps testenv cluster-up cluster-down demo bench vet clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/tether ./cmd/tether

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

# pgha: the two commands a new user needs are `make demo` and `make test`.
# Both install what is missing first (scripts/setup.sh: apt packages, the Patroni venv) and are
# safe to run again.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
PGHA_VENV ?= /opt/pgha/venv
export PGHA_VENV
WORK ?= .work

.PHONY: all setup build demo demo-down demo-render test test-rust test-reconcile test-e2e test-firstboot lint-rust bench bench-failover clean

all: build

## Install system packages and the Patroni venv (idempotent).
setup:
	bash scripts/setup.sh

build:
	$(CARGO) build --workspace

## The main job: `terraform apply` of examples/local brings up a real three-node HA cluster on
## this machine (etcd, Patroni, PostgreSQL, pgBackRest to TLS S3, HAProxy), prints the cluster
## table and how to connect. Running it again reuses a healthy cluster. `make demo-down` destroys.
demo: setup build
	bash scripts/demo-local.sh

demo-down:
	bash scripts/demo-local.sh down

## Render and lint only (no services): the tutorial's cluster through the CLI, the tutorial's own
## files through the linter, and the quickstart through Terraform.
demo-render: setup build
	bash scripts/demo.sh
	bash scripts/quickstart.sh

## Format, lints, generated docs, and every test suite: the Rust tests, the end-to-end suite on
## the local cluster, and the real first boot of six hosts.
test: setup lint-rust test-rust test-reconcile test-e2e test-firstboot

lint-rust:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive examples
	$(CARGO) run -q -p terraform-provider-pgha -- docs --check
	python3 scripts/check-msrv.py

test-rust:
	$(CARGO) test --workspace

## The reconcile unit against the metadata stand-in on one rendered host: refusals, an applied
## bundle with owners and modes, a run that changes nothing.
test-reconcile:
	$(CARGO) build -p pgha-cli --bin pgha
	bash tests/reconcile/run.sh

## The end-to-end suite: a real cluster from the provider's output; leader loss, rejoin,
## reinit from backup, restore. Needs root and the loopback addresses 127.0.0.11-40 free.
test-e2e: build
	bash tests/e2e/run.sh

## A real first boot: six Debian 12 hosts (debootstrap, cached in /var/cache/pgha/firstboot)
## booted with systemd-nspawn in network namespaces, each installing and starting its part from
## the rendered cloud-init alone. Needs root, debootstrap, systemd-container, iptables and the
## Debian mirror; not part of `make test` (see tests/firstboot/README.md for its wall time).
test-firstboot:
	$(CARGO) build -p pgha-cli --bin pgha
	bash tests/firstboot/run.sh

## Benchmarks print ratios measured side by side; they are not tests.
bench:
	bash scripts/bench-config.sh
	bash scripts/bench-provider.sh

bench-failover: setup build
	bash scripts/bench-failover.sh

clean:
	rm -rf $(WORK)

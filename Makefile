# pgha: the two commands a new user needs are `make demo` and `make test`.
# Both install what is missing first (scripts/setup.sh: apt packages, the Patroni venv) and are
# safe to run again.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
PGHA_VENV ?= /opt/pgha/venv
export PGHA_VENV
WORK ?= .work

.PHONY: all setup build demo test test-rust lint-rust bench clean

all: build

## Install system packages and the Patroni venv (idempotent).
setup:
	bash scripts/setup.sh

build:
	$(CARGO) build --workspace

## The main job: validate and render the tutorial's cluster, lint the result and the tutorial's
## own files.
demo: setup build
	bash scripts/demo.sh

## Format, lints, generated docs, and every test suite.
test: setup lint-rust test-rust

lint-rust:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive examples
	$(CARGO) run -q -p terraform-provider-pgha -- docs --check

test-rust:
	$(CARGO) test --workspace

## Benchmarks print ratios measured side by side; they are not tests.
bench:
	bash scripts/bench-config.sh
	bash scripts/bench-provider.sh

clean:
	rm -rf $(WORK)

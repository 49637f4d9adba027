#!/usr/bin/env bash
# demo.sh - the CLI half of `make demo-render` (no services start): validate and render the
# tutorial's cluster (examples/seed/cluster.yaml), lint what was rendered, then lint the
# tutorial's own hand-written files to show what is wrong with them. `make demo` is the real
# cluster (scripts/demo-local.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

work=${WORK:-.work}/demo
pgha=${PGHA_BIN:-target/debug/pgha}
[[ -x $pgha ]] || cargo build -q -p pgha-cli
rm -rf "$work"
mkdir -p "$work"

echo "== 1. validate examples/seed/cluster.yaml"
"$pgha" validate --spec examples/seed/cluster.yaml

echo
echo "== 2. render every host into $work/rendered"
"$pgha" render --spec examples/seed/cluster.yaml --out "$work/rendered"

echo
echo "== 3. lint what was rendered (expect no errors)"
mapfile -t rendered < <(find "$work/rendered" -type f ! -name cloud-init.yaml | sort)
"$pgha" lint "${rendered[@]}"

echo
echo "== 4. lint the tutorial's own files (expect errors: these are the defects we replace)"
set +e
"$pgha" lint pgha-config/tests/fixtures/seed/*
status=$?
set -e
if [[ $status -ne 1 ]]; then
    echo "demo: expected the tutorial's files to have errors (exit 1), got exit $status" >&2
    exit 1
fi
echo
echo "Rendered files: $work/rendered/<host>/...; each host's cloud-config: $work/rendered/<host>/cloud-init.yaml"

#!/usr/bin/env bash
# bench-config.sh - time validation and rendering of the seed cluster and of a 1,000-node
# cluster in one run (release build). Prints figures and ratios; never fails on time.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -q -p pgha-config --bench render

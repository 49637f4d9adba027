#!/usr/bin/env bash
# Run every proof in tests/lib/prove/ one after another (they share the
# loopback addresses, so never in parallel) and print a summary with the
# TIMING lines. Exit status: number of failed proofs.
# Usage: tests/lib/prove/all.sh [NAME...]   (default: hygiene etcd s3-pgbackrest patroni cluster)
set -uo pipefail
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
names=("$@")
((${#names[@]})) || names=(hygiene etcd s3-pgbackrest patroni cluster)
failed=0
summary=()
for n in "${names[@]}"; do
    log=$(mktemp "/tmp/pgha-prove-$n.XXXXXX.log")
    start=$SECONDS
    if "$DIR/$n.sh" >"$log" 2>&1; then
        summary+=("PASS $n ($((SECONDS - start))s)")
        grep -h '^TIMING' "$log" | sed "s/^/  [$n] /"
        rm -f "$log"
    else
        summary+=("FAIL $n ($((SECONDS - start))s), log: $log")
        failed=$((failed + 1))
        tail -n 30 "$log" >&2
    fi
done
printf '%s\n' "${summary[@]}"
exit "$failed"

#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Proof: a 3-member etcd cluster starts on 127.0.0.11-13, elects a leader,
# stores a key, and stops without leaving a process behind.
# Usage: tests/lib/prove/etcd.sh [WORKDIR]   (default: a new temp dir, removed at the end)
set -euo pipefail
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../etcd.sh
. "$LIB/etcd.sh"

KEEP=${1:+1}
WORK=$(pgha_workdir_init "${1:-$(mktemp -d /tmp/pgha-etcd.XXXXXX)}")
cleanup() { pgha_stop_all "$WORK"; [[ -n $KEEP ]] || rm -rf "$WORK"; }
trap cleanup EXIT

t0=$(date +%s.%N)
etcd_start_cluster "$WORK"
etcd_wait_healthy "$WORK" 60
t1=$(date +%s.%N)
etcdctl3 endpoint status -w table
etcdctl3 put /pgha/proof ok >/dev/null
[[ $(etcdctl3 get --print-value-only /pgha/proof) == ok ]]
leaders=$(etcdctl3 endpoint status -w json | jq '[.[] | select(.Status.leader == .Status.header.member_id)] | length')
[[ $leaders == 1 ]] || { echo "expected exactly one leader, got $leaders" >&2; exit 1; }
t2=$(date +%s.%N)
etcd_stop_cluster "$WORK"
t3=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t3" -v d="$t2" 'BEGIN {printf "TIMING etcd: start->healthy %.2fs, stop %.2fs\n", b-a, c-d}'
# Restart on the same data dirs: the key survives; this time the EXIT trap
# (pgha_stop_all) does the stopping.
etcd_start_cluster "$WORK"
etcd_wait_healthy "$WORK" 60
[[ $(etcdctl3 get --print-value-only /pgha/proof) == ok ]]
echo "PASS etcd"

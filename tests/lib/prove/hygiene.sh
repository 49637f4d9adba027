#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Proof: pgha_stop_all leaves nothing behind, even when
#   1. a script fails half-way (set -e + trap ... EXIT),
#   2. Patroni is SIGKILLed and its postmaster (in its own session, not in
#      Patroni's process group) keeps running,
#   3. a service ignores SIGTERM.
# Usage: tests/lib/prove/hygiene.sh
set -euo pipefail
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../etcd.sh
. "$LIB/etcd.sh"
# shellcheck source=../patroni.sh
. "$LIB/patroni.sh"

# leftovers WORKDIR : print processes that still belong to WORKDIR.
leftovers() { pgha_stray_pids "$1"; }

# 1. A failing step inside a script with a trap.
W1=$(pgha_workdir_init "$(mktemp -d /tmp/pgha-hyg1.XXXXXX)")
set +e
bash -c '
    set -euo pipefail
    . "$1/proc.sh"
    trap "pgha_stop_all \"$2\" 3" EXIT
    pgha_spawn "$2" 20 sleeper -- sleep 300 >>"$2/started"
    pgha_spawn "$2" 30 stubborn -- bash -c "trap \"\" TERM; sleep 300 & wait" >>"$2/started"
    false
    echo "not reached"
' _ "$LIB" "$W1"
rc=$?
set -e
[[ $rc -ne 0 ]] || { echo "FAIL: the failing script exited 0"; exit 1; }
while read -r p; do
    pgha_pid_gone "$p" || { echo "FAIL: pid $p from case 1 survived"; exit 1; }
done <"$W1/started"
[[ -z $(pgha_stray_pids "$W1") ]] || { echo "FAIL: processes left under $W1"; exit 1; }
if compgen -G "$W1/pids/*.pid" >/dev/null; then echo "FAIL: pid files left in $W1/pids"; exit 1; fi
echo "ok   case 1: failing script (exit $rc) cleaned up by its EXIT trap, TERM-immune child KILLed"
rm -rf "$W1"

# 2. Patroni killed with SIGKILL: the orphaned postmaster is found and stopped.
WORK=$(pgha_workdir_init "$(mktemp -d /tmp/pgha-hyg2.XXXXXX)")
trap 'pgha_stop_all "$WORK"; rm -rf "$WORK"' EXIT
etcd_start_cluster "$WORK"
etcd_wait_healthy "$WORK" 60
patroni_write_config "$WORK" node1 127.0.0.21 >/dev/null
patroni_start "$WORK" node1
patroni_wait_role 127.0.0.21 primary 90
ppid=$(cat "$(pgha_pidfile patroni-node1 "$WORK")")
pm=$(head -n1 "$WORK/node1/data/postmaster.pid")
echo "patroni pid $ppid (pgid $(ps -o pgid= -p "$ppid" | tr -d ' ')), postmaster pid $pm (pgid $(ps -o pgid= -p "$pm" | tr -d ' '), sid $(ps -o sid= -p "$pm" | tr -d ' '))"
kill -KILL "$ppid"
sleep 1
pgha_pid_alive "$pm" || { echo "FAIL: expected the postmaster to outlive a killed Patroni"; exit 1; }
echo "postmaster $pm still runs after Patroni was killed (as expected)"
pgha_stop_all "$WORK"
left=$(leftovers "$WORK")
[[ -z $left ]] || { echo "FAIL: left behind: $left"; ps -o pid,cmd -p "${left//$'\n'/,}"; exit 1; }
for hp in 127.0.0.21:5432 127.0.0.21:8008 127.0.0.11:2379 127.0.0.12:2380; do
    pgha_tcp_free "${hp%:*}" "${hp#*:}" || { echo "FAIL: $hp still open"; exit 1; }
done
echo "ok   case 2: orphaned postmaster stopped, all ports free"
echo "PASS hygiene"

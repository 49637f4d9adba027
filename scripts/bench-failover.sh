#!/usr/bin/env bash
# bench-failover.sh - failover time and lost commits for several Patroni timing settings, side
# by side on one local cluster (examples/local through `terraform apply`), plus the time from
# `terraform apply` to a healthy cluster with its first full backup. A benchmark, not a test:
# it prints figures and ratios; the suite (tests/e2e/run.sh) is what asserts.
#
# For each setting the DCS configuration is changed live (PATCH /config on the leader's REST
# API), then, BENCH_KILLS times: a writer commits through HAProxy without pause; the leader's
# host is crashed (SIGKILL of its supervisor, Patroni and every PostgreSQL process); the failover
# time is from the kill to the first commit acknowledged by another node through HAProxy; lost
# commits are acknowledged ones missing afterwards; the old leader is booted again and rejoins
# before the next kill.
#
#   scripts/bench-failover.sh                 # as root; needs the addresses of the local cluster free
#   BENCH_KILLS=5 BENCH_SETTINGS="defaults tutorial" scripts/bench-failover.sh
#
# Then, per setting, the etcd leader's host is crashed under write load (BENCH_ETCD_LOSS=0 skips
# it): Patroni's leader should keep its key through etcd's election, without a failover.
#
# Settings (ttl/loop_wait/retry_timeout): tutorial 120/10/10 (the seed's), defaults 20/5/5
# (pgha-config/src/defaults.rs), loop2 20/2/5 (a shorter HA loop). Results go to stdout and to
# $WORK/bench.tsv.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/e2e/lib.sh
. "$repo/tests/e2e/lib.sh"

kills=${BENCH_KILLS:-3}
settings=${BENCH_SETTINGS:-tutorial defaults loop2}
apply_runs=${BENCH_APPLY_RUNS:-2}
declare -A timing=([tutorial]="120 10 10" [defaults]="20 5 5" [loop2]="20 2 5")

[[ $(id -u) -eq 0 ]] || { echo "bench-failover: run as root" >&2; exit 1; }
WORK=$(pgha_workdir_init "$(mktemp -d /var/tmp/pgha-bench.XXXXXX)")
trap 'e2e_cleanup "$WORK" >/dev/null 2>&1 || true; [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
results=$WORK/bench.tsv
printf 'setting\tkill\told_leader\tnew_leader\tfailover_s\tacked\tlost\tfailed_statements\n' >"$results"

(cd "$repo" && cargo build -q -p terraform-provider-pgha)
e2e_preflight

first_backup_on() { e2e_pgbackrest "$WORK" "$1" --output=json info | grep -q '"type":"full"'; }
acks_at_least() { [[ $(grep -vc '^ERR' "$1" 2>/dev/null) -ge $2 ]]; }

# Writer runs: run RUN commits seq numbers from RUN * 10^7 through HAProxy, one row per
# transaction, logging each acknowledgement to WORK/acks.RUN until WORK/stop.RUN exists.
# start_writer RUN : start it (pid in $wpid) and wait for its first 100 commits.
start_writer() {
    local run=$1
    "$E2E_PY" "$repo/tests/e2e/writer.py" --dsn "$(e2e_lb_dsn "$WORK")" --table bench_writes \
        --out "$WORK/acks.$run" --stop-file "$WORK/stop.$run" --start $((run * 10000000)) \
        >>"$WORK/logs/writer.log" 2>&1 &
    wpid=$!
    pgha_wait_for "100 commits" 30 acks_at_least "$WORK/acks.$run" 100
}
# stop_writer RUN : stop it and wait for it to exit.
stop_writer() {
    touch "$WORK/stop.$1"
    wait "$wpid" || true
}
# lost_commits RUN : how many of its acknowledged commits the table no longer has.
lost_commits() {
    local run=$1 present=$WORK/present.$1
    e2e_psql_lb "$WORK" "SELECT seq FROM bench_writes WHERE seq >= $((run * 10000000)) AND seq < $(((run + 1) * 10000000)) ORDER BY seq" >"$present" || return 1
    # (comm would need lexical order; awk compares the numbers themselves)
    awk 'NR == FNR {have[$1] = 1; next} $1 != "ERR" && !($1 in have) {n++} END {print n + 0}' \
        "$present" "$WORK/acks.$run"
}

# Time from `terraform apply` to healthy and to the first full backup.
apply_times=()
bring_up() {
    local t0 applied healthy backed
    t0=$(date +%s.%N)
    e2e_up terraform "$WORK"
    applied=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    e2e_wait_healthy 300
    healthy=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    local leader
    leader=$(e2e_leader)
    pgha_wait_for "first full backup" 120 first_backup_on "$leader"
    backed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    apply_times+=("$applied $healthy $backed")
    pgha_log "apply ${applied}s, healthy ${healthy}s, first full backup ${backed}s"
}
bring_up

restapi_auth() {
    /usr/bin/python3 -c '
import sys, yaml
a = yaml.safe_load(open(sys.argv[1]))["restapi"]["authentication"]
print(a["username"] + ":" + a["password"])' "$(e2e_patroni_yml "$WORK" node1)"
}

set_timing() {
    local ttl=$1 loop=$2 retry=$3 leader old_loop
    leader=$(e2e_leader)
    old_loop=$(e2e_api "$leader" config | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["loop_wait"])')
    curl -fsS --max-time 5 -u "$(restapi_auth)" -X PATCH -H 'Content-Type: application/json' \
        -d "{\"ttl\": $ttl, \"loop_wait\": $loop, \"retry_timeout\": $retry}" \
        "http://${E2E_IP[$leader]}:8008/config" >/dev/null
    # Every member picks the new values up at its next HA loop; the leader's key gets the new
    # TTL at its next refresh.
    sleep $((2 * old_loop + 2))
    e2e_api "$leader" config | /usr/bin/python3 -c "
import json, sys
c = json.load(sys.stdin)
assert (c['ttl'], c['loop_wait'], c['retry_timeout']) == ($ttl, $loop, $retry), c"
}

sync_ready() { e2e_healthy 3 && e2e_members | awk '$2 == "sync_standby" {n++} END {exit n != 1}'; }

e2e_psql_lb "$WORK" "CREATE TABLE bench_writes (seq bigint PRIMARY KEY)" >/dev/null
run=0
for s in $settings; do
    read -r ttl loop retry <<<"${timing[$s]}"
    pgha_log "=== $s: ttl $ttl, loop_wait $loop, retry_timeout $retry"
    set_timing "$ttl" "$loop" "$retry"
    for k in $(seq 1 "$kills"); do
        run=$((run + 1))
        pgha_wait_for "healthy with a synchronous standby" 240 sync_ready
        leader=$(e2e_leader)
        acks=$WORK/acks.$run
        start_writer "$run"
        t0=$(date +%s.%N)
        "$E2E_STANDIN" crash --host "$leader" --root "$(e2e_root "$WORK" "$leader")" --work "$WORK" \
            2>>"$WORK/logs/$leader-cloud-init.log"
        new_ack() { awk -v t="$t0" -v old="${E2E_IP[$leader]}" '$1 != "ERR" && $2 > t && $3 != old {f = 1} END {exit !f}' "$acks"; }
        if pgha_wait_for "$s kill $k: a commit on a new leader" $((ttl + 120)) new_ack; then
            first=$(awk -v t="$t0" -v old="${E2E_IP[$leader]}" '$1 != "ERR" && $2 > t && $3 != old {print $2; exit}' "$acks")
            fo=$(awk -v a="$t0" -v b="$first" 'BEGIN {printf "%.1f", b - a}')
        else
            fo=NA
        fi
        sleep 2
        stop_writer "$run"
        acked=$(grep -vc '^ERR' "$acks" || true)
        errors=$(grep -c '^ERR' "$acks" || true)
        lost=$(lost_commits "$run")
        new_leader=$(e2e_leader || echo none)
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$k" "$leader" "$new_leader" "$fo" "$acked" "$lost" "$errors" >>"$results"
        pgha_log "$s kill $k: $leader -> $new_leader in ${fo}s; $acked acknowledged, $lost lost"
        "$E2E_STANDIN" boot --host "$leader" --root "$(e2e_root "$WORK" "$leader")" --work "$WORK" \
            2>>"$WORK/logs/$leader-cloud-init.log"
    done
done
pgha_wait_for "healthy again" 240 e2e_healthy 3 || true

# DCS leader loss: the etcd leader's host crashes under write load. With retry_timeout above
# etcd's election timeout, Patroni's leader keeps its key through the etcd election: no
# failover, only a pause in commits.
if [[ ${BENCH_ETCD_LOSS:-1} == 1 ]]; then
    etcd_results=$WORK/etcd-loss.tsv
    printf 'setting	etcd_leader	patroni_leader_before	after	timeline_before	after	longest_commit_gap_s	lost
' >"$etcd_results"
    for s in $settings; do
        read -r ttl loop retry <<<"${timing[$s]}"
        set_timing "$ttl" "$loop" "$retry"
        pgha_wait_for "healthy with a synchronous standby" 240 sync_ready
        run=$((run + 1))
        pl=$(e2e_leader)
        tl=$(e2e_members | awk '$2 == "leader" {print $4}')
        eip=$(e2e_etcd_leader_ip)
        eh=""
        for h in "${E2E_ETCD_HOSTS[@]}"; do [[ ${E2E_IP[$h]} == "$eip" ]] && eh=$h; done
        acks=$WORK/acks.$run
        start_writer "$run"
        t0=$(date +%s.%N)
        pgha_log "$s: crashing etcd leader $eh under write load (Patroni leader $pl)"
        "$E2E_STANDIN" crash --host "$eh" --root "$(e2e_root "$WORK" "$eh")" --work "$WORK" \
            2>>"$WORK/logs/$eh-cloud-init.log"
        sleep $((ttl + 5))
        stop_writer "$run"
        pl2=$(e2e_leader || echo none)
        tl2=$(e2e_members | awk '$2 == "leader" {print $4}')
        gap=$(awk -v t="$t0" '$1 != "ERR" {if (p != "" && $2 > t - 5 && $2 - p > m) m = $2 - p; p = $2} END {printf "%.1f", m}' "$acks")
        lost=$(lost_commits "$run")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$eh" "$pl" "$pl2" "$tl" "$tl2" "$gap" "$lost" >>"$etcd_results"
        pgha_log "$s: Patroni leader $pl -> $pl2, timeline $tl -> $tl2, longest pause between commits ${gap}s, $lost lost"
        "$E2E_STANDIN" boot --host "$eh" --root "$(e2e_root "$WORK" "$eh")" --work "$WORK" \
            2>>"$WORK/logs/$eh-cloud-init.log"
        pgha_wait_for "etcd healthy again" 60 e2e_etcd_healthy
    done
fi

if ((apply_runs > 1)); then
    for _ in $(seq 2 "$apply_runs"); do
        pgha_log "destroy and apply again for another apply-to-healthy sample"
        e2e_down terraform "$WORK"
        bring_up
    done
fi

echo
echo "Failover: kill -9 of the leader's host (Patroni + PostgreSQL) to the first commit through HAProxy on the new leader"
column -t -s $'\t' "$results"
echo
/usr/bin/python3 - "$results" "$settings" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
order = sys.argv[2].split()
med = {}
print(f"{'setting':10} {'kills':>5} {'min':>6} {'median':>7} {'max':>6} {'acked':>7} {'lost':>5}")
for s in order:
    r = [x for x in rows if x["setting"] == s]
    t = [float(x["failover_s"]) for x in r if x["failover_s"] != "NA"]
    if not t:
        continue
    med[s] = statistics.median(t)
    print(f"{s:10} {len(r):5d} {min(t):6.1f} {med[s]:7.1f} {max(t):6.1f} "
          f"{sum(int(x['acked']) for x in r):7d} {sum(int(x['lost']) for x in r):5d}")
if "tutorial" in med and "defaults" in med:
    print(f"\nratio of medians tutorial/defaults: {med['tutorial'] / med['defaults']:.1f}x")
if "loop2" in med and "defaults" in med:
    print(f"ratio of medians loop2/defaults: {med['loop2'] / med['defaults']:.2f}x")
PY
if [[ -n ${etcd_results:-} ]]; then
    echo
    echo "etcd leader crash under write load (no Patroni failover expected):"
    column -t -s $'\t' "$etcd_results"
fi
echo
echo "terraform apply -> applied / healthy (leader + 2 streaming, lag 0) / first full backup, seconds:"
for t in "${apply_times[@]}"; do echo "  $t"; done

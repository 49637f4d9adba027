#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# run.sh - the end-to-end suite: a real three-node HA PostgreSQL cluster on this machine, built
# from the provider's output (examples/local through `terraform apply`; E2E_DRIVER=cli builds it
# from the `pgha` CLI's output for tests/e2e/local-cluster.yaml instead), then judged:
#
#   - one leader, two streaming replicas (one synchronous), lag 0; the stanza exists and has a
#     full backup; writes through HAProxy reach the leader; the rendered backup job backs up on
#     the primary only
#   - a replica rebuilt through the rendered replica method (pgBackRest restore, not basebackup)
#   - failover: a writer commits through HAProxy while the leader's host dies (SIGKILL of the
#     supervisor, Patroni and every PostgreSQL process); a new leader takes writes; every
#     acknowledged commit is there; the old leader rejoins as a replica on the new timeline
#   - day 2 (terraform driver, tests/e2e/day2.sh): cluster-wide changes applied live through
#     Patroni's REST API (rolling restart under a writer, reloads, synchronous mode, drift,
#     switchover, a fourth node joining and leaving), never replacing a host
#   - etcd membership (tests/e2e/etcd.sh): a member replaced, the cluster grown to five and
#     shrunk to three, refusals at plan, a member removed by hand added back; no failover
#   - host bundles (tests/e2e/bundle.sh): per-host files, backup settings and passwords change
#     on the running hosts through their metadata values and reconcile timers, no host replaced;
#     bad metadata values are refused
#   - restore: every host destroyed and re-created with empty disks; the cluster bootstraps from
#     the repository through the rendered bootstrap method with the rows written before, and the
#     next apply brings it to the configured settings
#   - everything stops; nothing is left running
#
# Ends with "N passed, N failed"; exits 1 when anything failed. Run as root:
#   tests/e2e/run.sh                 # E2E_DRIVER=terraform|cli, E2E_KEEP=1 keeps the work dir
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=day2.sh
. "$here/day2.sh"
# shellcheck source=bundle.sh
. "$here/bundle.sh"
# shellcheck source=etcd.sh
. "$here/etcd.sh"

DRIVER=${E2E_DRIVER:-terraform}
passed=0
failed=0
failures=()
suite_start=$SECONDS

ok() {
    passed=$((passed + 1))
    printf 'ok   - %s\n' "$1"
}
fail() {
    failed=$((failed + 1))
    failures+=("$1")
    printf 'FAIL - %s\n' "$1"
}
# check NAME CMD... : run CMD, count it as passed or failed.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else fail "$name"; fi
}
summary() {
    printf '\nsuite time: %ss (driver: %s)\n' "$((SECONDS - suite_start))" "$DRIVER"
    if ((failed)); then printf 'failed: %s\n' "${failures[@]}"; fi
    printf '%d passed, %d failed\n' "$passed" "$failed"
}

if [[ $(id -u) -ne 0 ]]; then
    echo "run.sh: run as root (the stand-in creates accounts and runs services as postgres/etcd)" >&2
    exit 1
fi

WORK=$(pgha_workdir_init "$(mktemp -d /var/tmp/pgha-e2e.XXXXXX)")
export WORK
finish() {
    local rc=$?
    e2e_cleanup "$WORK" >/dev/null 2>&1 || true
    if [[ ${E2E_KEEP:-0} == 1 || $failed -gt 0 ]]; then
        echo "work dir kept: $WORK (logs in $WORK/logs)"
    else
        rm -rf "$WORK"
    fi
    return "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM
pgha_log "work dir $WORK, driver $DRIVER"

# ------------------------------------------------------------------------------------------
# 0. Preflight and bring-up

if [[ $DRIVER == terraform ]]; then
    pgha_log "building the provider (debug)"
    if ! (cd "$E2E_REPO" && cargo build -q -p terraform-provider-pgha) >"$WORK/logs/cargo.log" 2>&1; then
        tail -n 20 "$WORK/logs/cargo.log" >&2
        fail "the provider builds"
        summary
        exit 1
    fi
fi
if [[ $DRIVER == terraform && -z ${PGHA_PROVIDER_DIR:-} ]]; then
    # Terraform runs this copy: a rebuild in the repository during the run cannot swap it.
    mkdir -p "$WORK/provider"
    cp "$E2E_REPO/target/debug/terraform-provider-pgha" "$WORK/provider/"
    export PGHA_PROVIDER_DIR=$WORK/provider
fi
if ! e2e_preflight; then
    fail "preflight: tools installed and the loopback addresses free"
    summary
    exit 1
fi

up_start=$SECONDS
if ! e2e_up "$DRIVER" "$WORK"; then
    fail "bring-up ($DRIVER) applies every host's cloud-init"
    summary
    exit 1
fi
ok "bring-up ($DRIVER) applies every host's cloud-init ($((SECONDS - up_start))s)"
if e2e_wait_healthy 240; then
    ok "cluster healthy: one leader, two streaming replicas, lag 0 ($((SECONDS - up_start))s after the start of the bring-up)"
else
    fail "cluster healthy: one leader, two streaming replicas, lag 0"
    e2e_members >&2 || true
    summary
    exit 1
fi
e2e_table "$WORK" || true

# E2E_ONLY=day2|bundle|etcd: that suite alone on the fresh cluster, then the teardown (while
# working on one suite).
if [[ -n ${E2E_ONLY:-} && $DRIVER == terraform ]]; then
    "${E2E_ONLY}_suite"
    summary
    ((failed == 0))
    exit
fi

leader=$(e2e_leader)
leader_ip=${E2E_IP[$leader]}

# ------------------------------------------------------------------------------------------
# 1. The cluster as built

sync_standby_named() {
    e2e_members | awk '$2 == "sync_standby" {n++} END {exit n != 1}'
}
check "synchronous_mode: exactly one member is the synchronous standby" \
    pgha_wait_for "a synchronous standby" 30 sync_standby_named

replication_streaming() {
    local rows
    e2e_psql_lb "$WORK" "CREATE TABLE IF NOT EXISTS e2e_probe (id int)" || return 1
    e2e_psql_lb "$WORK" "INSERT INTO e2e_probe VALUES (1)" || return 1
    # pg_stat_replication on the leader: both replicas streaming, one sync, replayed up to
    # the current WAL position (lag 0).
    rows=$(e2e_psql_node "$WORK" "$leader" "SELECT application_name, state, sync_state,
            pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication ORDER BY 1")
    printf '%s\n' "$rows" | awk -F'|' '
        $2 == "streaming" && $4 == 0 { streaming++ }
        $3 == "sync" { sync++ }
        END { exit !(streaming == 2 && sync == 1) }'
}
check "pg_stat_replication on the leader: 2 streaming, 1 sync, replay lag 0" \
    pgha_wait_for "both replicas replayed the latest write" 20 replication_streaming

backup_exists() {
    local info
    info=$(e2e_pgbackrest "$WORK" "$leader" --output=json info) || return 1
    /usr/bin/python3 -c '
import json, sys
s = json.loads(sys.argv[1])[0]
assert s["status"]["code"] == 0, s["status"]
assert any(b["type"] == "full" for b in s["backup"]), s["backup"]
print("stanza", s["name"], "backups:", [b["label"] for b in s["backup"]])' "$info"
}
check "pgBackRest: stanza created, a first full backup exists (pgbackrest info)" \
    pgha_wait_for "the first full backup" 60 backup_exists

writes_reach_leader() {
    local where
    e2e_psql_lb "$WORK" "CREATE TABLE e2e_rows (id int PRIMARY KEY, note text NOT NULL)" || return 1
    where=$(e2e_psql_lb "$WORK" "INSERT INTO e2e_rows VALUES (1, 'written through haproxy')
        RETURNING host(inet_server_addr())") || return 1
    [[ $where == "$leader_ip" ]] || { pgha_log "the write landed on $where, leader is $leader_ip"; return 1; }
}
check "a write through HAProxy (127.0.0.40:5432) lands on the leader ($leader)" writes_reach_leader

rows_on_replicas() {
    local h
    for h in "${E2E_DB_HOSTS[@]}"; do
        [[ $h == "$leader" ]] && continue
        [[ $(e2e_psql_node "$WORK" "$h" "SELECT count(*) FROM e2e_rows WHERE id = 1") == 1 ]] || return 1
    done
}
check "the row is on both replicas" pgha_wait_for "row 1 on the replicas" 15 rows_on_replicas

backup_job() {
    local replica="" h job before after
    for h in "${E2E_DB_HOSTS[@]}"; do [[ $h == "$leader" ]] || { replica=$h; break; }; done
    job=$(e2e_root "$WORK" "$replica")/usr/local/libexec/pgha/pgha-backup
    before=$(e2e_pgbackrest "$WORK" "$leader" --output=json info | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["backup"]))')
    (cd / && pgha_as_user postgres "$job" incr) || return 1
    grep -q "this host is a replica" "$(e2e_root "$WORK" "$replica")/var/log/pgbackrest/pgha-backup.log" || return 1
    job=$(e2e_root "$WORK" "$leader")/usr/local/libexec/pgha/pgha-backup
    (cd / && pgha_as_user postgres "$job" incr) || return 1
    after=$(e2e_pgbackrest "$WORK" "$leader" --output=json info | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["backup"]))')
    [[ $after -eq $((before + 1)) ]] || { pgha_log "backups: $before before, $after after"; return 1; }
}
check "backup job (cron's pgha-backup): a no-op on a replica, an incremental backup on the primary" backup_job

# ------------------------------------------------------------------------------------------
# 1b. Day 2: live changes through terraform apply

if [[ $DRIVER == terraform ]]; then
    day2_start=$SECONDS
    day2_suite
    pgha_log "day 2 checks took $((SECONDS - day2_start))s"
    bundle_start=$SECONDS
    bundle_suite
    pgha_log "host bundle checks took $((SECONDS - bundle_start))s"
    etcd_start=$SECONDS
    etcd_suite
    pgha_log "etcd membership checks took $((SECONDS - etcd_start))s"
    # Day 2 moved the leader (rolling restart, switchover).
    leader=$(e2e_leader)
    leader_ip=${E2E_IP[$leader]}
fi

# ------------------------------------------------------------------------------------------
# 2. A replica rebuilt from the backup through the rendered replica method

target=""
for h in "${E2E_DB_HOSTS[@]}"; do
    [[ $h == "$leader" ]] && continue
    [[ $(e2e_members | awk -v n="$h" '$1 == n {print $2}') == sync_standby ]] && continue
    target=$h
done
[[ -n $target ]] || target=$(e2e_members | awk '$2 != "leader" {print $1; exit}')
restore_log=$(e2e_root "$WORK" "$target")/var/log/pgbackrest/$E2E_STANZA-restore.log
patroni_log=$WORK/logs/$target-patroni.service.log
restores_before=$(grep -c "restore command begin" "$restore_log" 2>/dev/null || true)
created_before=$(grep -c "replica has been created using pgbackrest" "$patroni_log" || true)
log_lines_before=$(wc -l <"$patroni_log")
e2e_psql_lb "$WORK" "INSERT INTO e2e_rows VALUES (2, 'before the reinit')" >/dev/null
pgha_log "reinit of $target through Patroni (patronictl reinit)"
reinit() {
    env -u PGPASSWORD "$E2E_PATRONICTL" -c "$(e2e_patroni_yml "$WORK" "$target")" \
        reinit "$E2E_SCOPE" "$target" --force --wait >"$WORK/logs/reinit.log" 2>&1 || {
        cat "$WORK/logs/reinit.log" >&2
        return 1
    }
    e2e_wait_healthy 120
}
check "patronictl reinit $target: the member is streaming again" reinit
rebuilt_by_pgbackrest() {
    local restores created
    restores=$(grep -c "restore command begin" "$restore_log" 2>/dev/null || true)
    created=$(grep -c "replica has been created using pgbackrest" "$patroni_log" || true)
    pgha_log "$target: pgBackRest restores $restores_before -> $restores, Patroni 'created using pgbackrest' $created_before -> $created"
    ((restores > restores_before && created > created_before)) || return 1
    if tail -n "+$((log_lines_before + 1))" "$patroni_log" | grep -qi "basebackup"; then
        pgha_log "$target: Patroni's log mentions basebackup after the reinit"
        return 1
    fi
}
check "$target was rebuilt by the pgbackrest replica method (pgBackRest restore log, Patroni log), not basebackup" \
    rebuilt_by_pgbackrest
row2_on_target() { [[ $(e2e_psql_node "$WORK" "$target" "SELECT note FROM e2e_rows WHERE id = 2") == "before the reinit" ]]; }
check "the rebuilt $target has the rows written before the reinit" \
    pgha_wait_for "row 2 on $target" 20 row2_on_target

# ------------------------------------------------------------------------------------------
# 3. Failover under write load, and the old leader's return

leader=$(e2e_leader)
leader_ip=${E2E_IP[$leader]}
tl_before=$(e2e_members | awk '$2 == "leader" {print $4}')
sync_before=$(e2e_members | awk '$2 == "sync_standby" {print $1}')
e2e_psql_lb "$WORK" "CREATE TABLE e2e_writes (seq bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())" >/dev/null
acks=$WORK/writer.acks
stop_file=$WORK/writer.stop
rm -f "$acks" "$stop_file"
"$E2E_PY" "$here/writer.py" --dsn "$(e2e_lb_dsn "$WORK")" --table e2e_writes --out "$acks" \
    --stop-file "$stop_file" >"$WORK/logs/writer.log" 2>&1 &
writer_pid=$!
acked() { grep -vc '^ERR' "$acks" 2>/dev/null || true; }
enough_acks() { (($(acked) >= ${1:-200})); }
pgha_wait_for "the writer's first 200 commits" 30 enough_acks 200 || true
kill_at=$(date +%s.%N)
pgha_log "crashing $leader (leader, timeline $tl_before; sync standby $sync_before) with $(acked) commits acknowledged"
"$E2E_STANDIN" crash --host "$leader" --root "$(e2e_root "$WORK" "$leader")" --work "$WORK" \
    2>>"$WORK/logs/$leader-cloud-init.log"
new_leader_writes() {
    awk -v t="$kill_at" -v old="$leader_ip" '$1 != "ERR" && $2 > t && $3 != old {found = 1} END {exit !found}' "$acks"
}
if pgha_wait_for "a commit through HAProxy on a new leader" 120 new_leader_writes; then
    first=$(awk -v t="$kill_at" -v old="$leader_ip" '$1 != "ERR" && $2 > t && $3 != old {print $2; exit}' "$acks")
    failover_s=$(awk -v a="$kill_at" -v b="$first" 'BEGIN {printf "%.1f", b - a}')
    ok "failover: a new leader takes writes through HAProxy, ${failover_s}s after the kill"
else
    fail "failover: a new leader takes writes through HAProxy"
fi
sleep 3
touch "$stop_file"
wait "$writer_pid" || true
new_leader=$(e2e_leader || true)
pgha_log "new leader: ${new_leader:-none}; $(acked) commits acknowledged, $(grep -c '^ERR' "$acks" || true) failed statements"
no_commit_lost() {
    local present lost
    present=$WORK/writer.present
    e2e_psql_lb "$WORK" "SELECT seq FROM e2e_writes ORDER BY seq" >"$present" || return 1
    # (comm would need lexical order; awk compares the numbers themselves)
    lost=$(awk 'NR == FNR {have[$1] = 1; next} $1 != "ERR" && !($1 in have) {n++} END {print n + 0}' \
        "$present" "$acks")
    pgha_log "acknowledged: $(acked), in the table: $(wc -l <"$present"), acknowledged but missing: $lost"
    # No acknowledged commit at all would make "0 lost" say nothing.
    (($(acked) > 0 && lost == 0))
}
check "synchronous_mode: every acknowledged commit is on the new leader (0 lost)" no_commit_lost
# Both empty (no synchronous standby before the kill, no leader after it) is a failure too.
new_leader_was_sync() { [[ -n $sync_before && $new_leader == "$sync_before" ]]; }
check "the new leader (${new_leader:-none}) was the synchronous standby (${sync_before:-none})" new_leader_was_sync

rejoin_start=$SECONDS
pgha_log "booting $leader again (its Patroni and data directory as the crash left them)"
"$E2E_STANDIN" boot --host "$leader" --root "$(e2e_root "$WORK" "$leader")" --work "$WORK" \
    2>>"$WORK/logs/$leader-cloud-init.log"
rejoined() {
    local tl_new
    e2e_healthy 3 || return 1
    tl_new=$(e2e_members | awk '$2 == "leader" {print $4}')
    e2e_members | awk -v n="$leader" -v tl="$tl_new" '$1 == n && ($2 == "replica" || $2 == "sync_standby") && $3 == "streaming" && $4 == tl {ok = 1} END {exit !ok}'
}
if pgha_wait_for "$leader back as a streaming replica" 180 rejoined; then
    tl_after=$(e2e_members | awk '$2 == "leader" {print $4}')
    ok "the old leader $leader rejoined as a streaming replica on timeline $tl_after (was $tl_before) in $((SECONDS - rejoin_start))s"
    if grep -q "running pg_rewind from" "$WORK/logs/$leader-patroni.service.log"; then
        pgha_log "$leader: Patroni ran pg_rewind"
    else
        pgha_log "$leader: Patroni needed no pg_rewind (the replica had every WAL record of the old timeline)"
    fi
else
    fail "the old leader $leader rejoined as a streaming replica on the new timeline"
    e2e_members >&2 || true
fi
acked_on_old_leader() {
    local n
    n=$(e2e_psql_node "$WORK" "$leader" "SELECT count(*) FROM e2e_writes")
    [[ $n -ge $(acked) ]]
}
check "the rejoined $leader has every acknowledged commit" \
    pgha_wait_for "the commits on $leader" 30 acked_on_old_leader

# ------------------------------------------------------------------------------------------
# 4. Restore: every host re-created with empty disks bootstraps from the repository

leader=$(e2e_leader)
sysid=$(e2e_api "$leader" patroni | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["database_system_identifier"])')
e2e_psql_lb "$WORK" "INSERT INTO e2e_rows VALUES (3, 'in the backup')" >/dev/null
pgha_log "full backup on $leader"
fresh_backup() { e2e_pgbackrest "$WORK" "$leader" --type=full backup >>"$WORK/logs/backups.log" 2>&1; }
check "a full backup of the running cluster" fresh_backup
e2e_psql_lb "$WORK" "INSERT INTO e2e_rows VALUES (4, 'archived after the backup')" >/dev/null
wal=$(e2e_psql_lb "$WORK" "SELECT pg_walfile_name(pg_switch_wal())")
archived() {
    e2e_psql_node "$WORK" "$leader" "SELECT last_archived_wal >= '$wal' FROM pg_stat_archiver" | grep -qx t
}
check "the WAL segment with row 4 is archived ($wal)" pgha_wait_for "archiving of $wal" 60 archived

restore_start=$SECONDS
recreated=1
case $DRIVER in
    terraform)
        # All hosts down, then all up: `apply -replace` would replace each instance on its own,
        # and a new etcd member meeting a still-running member of the old cluster refuses to
        # start ("member ... has already been bootstrapped").
        pgha_log "terraform destroy -target=terraform_data.etcd_host -target=terraform_data.db_host, then apply"
        e2e_tf "$WORK" destroy -auto-approve -input=false \
            -target=terraform_data.etcd_host -target=terraform_data.db_host || recreated=0
        e2e_tf "$WORK" apply -auto-approve -input=false || recreated=0
        ;;
    cli)
        for h in "${E2E_DB_HOSTS[@]}"; do e2e_host_down "$WORK" "$h" || recreated=0; done
        e2e_etcd_stop "$WORK"
        for h in "${E2E_ETCD_HOSTS[@]}"; do e2e_host_down "$WORK" "$h" || recreated=0; done
        for h in "${E2E_ETCD_HOSTS[@]}"; do
            e2e_host_up "$WORK" "$h" 10 "$WORK/cloud-init/$h.yaml" || recreated=0
        done
        for h in "${E2E_DB_HOSTS[@]}"; do
            e2e_host_up "$WORK" "$h" 50 "$WORK/cloud-init/$h.yaml" || recreated=0
        done
        ;;
esac
if ((recreated)); then
    ok "every etcd and database host destroyed (disks removed) and created again"
else
    fail "every etcd and database host destroyed (disks removed) and created again"
fi
if e2e_wait_healthy 300; then
    ok "the re-created cluster is healthy ($((SECONDS - restore_start))s)"
else
    fail "the re-created cluster is healthy"
fi
e2e_table "$WORK" || true
leader=$(e2e_leader || echo node1)
restored_from_repository() {
    local sysid_now
    sysid_now=$(e2e_api "$leader" patroni | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["database_system_identifier"])')
    pgha_log "system identifier before $sysid, after $sysid_now"
    [[ $sysid_now == "$sysid" ]] || return 1
    grep -h "pgbackrest-bootstrap: restoring the newest backup" "$WORK"/logs/node*-patroni.service.log >&2
}
check "bootstrapped by the rendered restore method: same system identifier, bootstrap script restored the backup" \
    restored_from_repository
rows_restored() {
    local rows
    rows=$(e2e_psql_lb "$WORK" "SELECT string_agg(id || ':' || note, ', ' ORDER BY id) FROM e2e_rows")
    pgha_log "rows: $rows"
    [[ $rows == *"3:in the backup"* && $rows == *"4:archived after the backup"* ]]
}
check "the restored cluster has the row in the backup and the one archived after it" rows_restored
commits_restored() {
    [[ $(e2e_psql_lb "$WORK" "SELECT count(*) FROM e2e_writes") -ge $(acked) ]]
}
check "the restored cluster has every commit acknowledged during the failover" commits_restored
if [[ $DRIVER == terraform ]]; then
    # A brand-new cluster starts from the dynamic configuration the cluster resource was created
    # with (its hosts' bootstrap.dcs); the refresh of the next plan sees the difference from the
    # configured settings, and its apply puts them in place.
    converged() {
        day2_all_are "SHOW max_connections" 150 && day2_config_is '[c["ttl"], c["loop_wait"]]' '[25, 4]'
    }
    restored_then_converged() {
        ! day2_plan_empty && day2_apply && converged && day2_plan_empty
    }
    check "the restored cluster shows drift from the configured settings; the next apply converges it (ttl 25, max_connections 150 by rolling restart)" \
        restored_then_converged
fi

# ------------------------------------------------------------------------------------------
# 5. Down

down_start=$SECONDS
if e2e_down "$DRIVER" "$WORK"; then
    ok "everything taken down ($DRIVER, $((SECONDS - down_start))s)"
else
    fail "everything taken down ($DRIVER)"
fi
nothing_left() {
    local stray live=() f
    stray=$(pgha_stray_pids "$WORK")
    for f in "$WORK"/pids/*.pid; do
        [[ -e $f ]] || continue
        pgha_pidfile_alive "$f" && live+=("$f")
    done
    [[ -z $stray && ${#live[@]} -eq 0 ]] || {
        pgha_log "still running: $stray ${live[*]}"
        return 1
    }
}
check "no process of the cluster is left running" nothing_left

summary
((failed == 0))

# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# day2.sh - the Day-2 part of the end-to-end suite (sourced by run.sh, terraform driver only):
# cluster-wide changes through `terraform apply` reach the running cluster through Patroni's REST
# API and never replace a host.
#
#   - max_connections: the plan updates pgha_patroni_cluster only; restart = "never" leaves every
#     member pending restart; restart = "rolling" restarts them (one switchover) while a writer
#     commits through HAProxy: 0 acknowledged commits lost, the write outage measured
#   - reloadable settings (work_mem, ttl, loop_wait, a pg_hba line), synchronous mode off and on:
#     live, no restart (postmaster start times unchanged), no replacement
#   - drift: patronictl edit-config outside Terraform shows in the next plan; apply puts it back
#   - switchover to a named member, and a refused one to an ineligible member
#   - a fourth node joins and streams, then leaves (its slot dropped); nothing else is replaced
#   - secrets never in Terraform's output; the plan after every apply is empty
#
# Uses run.sh's check/ok/fail, WORK and the helpers of lib.sh. The small functions defined inside
# day2_suite are called through `check`:
# shellcheck disable=SC2317

DAY2_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# day2_vars JSON : the variables of the next plans and applies (examples/local's variables.tf).
day2_vars() {
    printf '%s\n' "$1" >"$WORK/tf/day2.auto.tfvars.json"
}

# day2_merge_vars JSON : merge JSON into the variables of the last plan (null removes one), so
# the settings of earlier steps stay.
day2_merge_vars() {
    /usr/bin/python3 - "$WORK/tf/day2.auto.tfvars.json" "$1" <<'EOF'
import json, sys
path, extra = sys.argv[1], json.loads(sys.argv[2])
try:
    current = json.load(open(path))
except FileNotFoundError:
    current = {}
current.update(extra)
for k in [k for k, v in current.items() if v is None]:
    del current[k]
json.dump(current, open(path, "w"))
EOF
}

# day2_changes : plan, and print one line per planned change: "<address> <actions>".
day2_changes() {
    local rc
    rc=$(e2e_tf_config "$WORK") || return 1
    e2e_tf "$WORK" plan -input=false -out="$WORK/day2.tfplan" || return 1
    TF_CLI_CONFIG_FILE=$rc "$E2E_TERRAFORM" -chdir="$WORK/tf" show -json "$WORK/day2.tfplan" |
        /usr/bin/python3 -c '
import json, sys
for rc in json.load(sys.stdin).get("resource_changes", []):
    actions = rc["change"]["actions"]
    if actions not in (["no-op"], ["read"]):
        print(rc["address"], "+".join(actions))'
}

# day2_only_cluster_updates : the plan changes pgha_patroni_cluster.main in place, nothing else.
day2_only_cluster_updates() {
    local changes
    changes=$(day2_changes) || return 1
    pgha_log "planned: ${changes//$'\n'/; }"
    [[ $changes == "pgha_patroni_cluster.main update" ]]
}

day2_apply() { e2e_tf "$WORK" apply -auto-approve -input=false; }

# day2_plan_empty : `terraform plan -detailed-exitcode` finds nothing to do.
day2_plan_empty() {
    local rc
    rc=$(e2e_tf_config "$WORK") || return 1
    cp "$E2E_EXAMPLE"/*.tf "$WORK/tf/"
    TF_CLI_CONFIG_FILE=$rc TF_IN_AUTOMATION=1 "$E2E_TERRAFORM" -chdir="$WORK/tf" plan \
        -detailed-exitcode -input=false -no-color -var "work_dir=$WORK" -var "repo_dir=$E2E_REPO" \
        >>"$WORK/logs/terraform.log" 2>&1
}

# day2_on_all SQL : the value of SQL on every database host, "node=value" space separated.
day2_on_all() {
    local h out=()
    for h in "${E2E_DB_HOSTS[@]}"; do out+=("$h=$(e2e_psql_node "$WORK" "$h" "$1" 2>/dev/null)"); done
    printf '%s\n' "${out[*]}"
}

# day2_all_are SQL VALUE : SQL gives VALUE on every database host.
day2_all_are() {
    local h
    for h in "${E2E_DB_HOSTS[@]}"; do
        [[ $(e2e_psql_node "$WORK" "$h" "$1" 2>/dev/null) == "$2" ]] || return 1
    done
}

day2_config() { e2e_api "$(e2e_leader)" config; }
day2_config_is() { [[ $(day2_config | /usr/bin/python3 -c "import json,sys; c=json.load(sys.stdin); print(json.dumps($1))") == "$2" ]]; }
day2_pending() {
    e2e_cluster_json | /usr/bin/python3 -c '
import json, sys
print(" ".join(sorted(m["name"] for m in json.load(sys.stdin)["members"] if m.get("pending_restart"))))'
}
day2_start_times() { day2_on_all "SELECT pg_postmaster_start_time()"; }

# The writer (tests/e2e/writer.py) through HAProxy, as in the failover check.
day2_writer_start() {
    DAY2_ACKS=$WORK/day2-$1.acks
    DAY2_STOP=$WORK/day2-$1.stop
    rm -f "$DAY2_ACKS" "$DAY2_STOP"
    e2e_psql_lb "$WORK" "CREATE TABLE IF NOT EXISTS $1 (seq bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())" >/dev/null
    "$E2E_PY" "$DAY2_HERE/writer.py" --dsn "$(e2e_lb_dsn "$WORK")" --table "$1" --out "$DAY2_ACKS" \
        --stop-file "$DAY2_STOP" >"$WORK/logs/writer-$1.log" 2>&1 &
    DAY2_WRITER=$!
    DAY2_TABLE=$1
    pgha_wait_for "the writer's first commits" 20 day2_acked_at_least 50 || true
}
day2_acked() { grep -vc '^ERR' "$DAY2_ACKS" 2>/dev/null || true; }
day2_acked_at_least() { (($(day2_acked) >= $1)); }
day2_writer_stop() {
    sleep 2
    touch "$DAY2_STOP"
    wait "$DAY2_WRITER" || true
}
# day2_lost : acknowledged commits missing from the table (prints the count).
day2_lost() {
    local present=$WORK/day2-$DAY2_TABLE.present
    e2e_psql_lb "$WORK" "SELECT seq FROM $DAY2_TABLE ORDER BY seq" >"$present" || return 1
    # (comm would need lexical order; awk compares the numbers themselves)
    awk 'NR == FNR {have[$1] = 1; next} $1 != "ERR" && !($1 in have) {n++} END {print n + 0}' \
        "$present" "$DAY2_ACKS"
}
# day2_longest_gap : the longest time between two acknowledged commits, seconds.
day2_longest_gap() {
    awk '$1 != "ERR" { if (prev != "" && $2 - prev > gap) gap = $2 - prev; prev = $2 }
         END { printf "%.1f\n", gap }' "$DAY2_ACKS"
}

day2_suite() {
    cp "$DAY2_HERE/day2.tf" "$WORK/tf/"
    # shellcheck disable=SC2034,SC2154 # E2E_IP is lib.sh's associative array
    E2E_IP[node4]=127.0.0.24
    local base='"restart": "never"'

    # --- the status data source ---------------------------------------------------------------
    status_matches() {
        local from_tf
        from_tf=$(e2e_tf_output cluster | /usr/bin/python3 -c '
import json, sys
m = json.load(sys.stdin)
print(" ".join(n + ":" + v["role"] + ":" + v["state"] for n, v in sorted(m.items())))')
        pgha_log "pgha_patroni_cluster_status: $from_tf"
        [[ $from_tf == "$(e2e_members | sort | awk '{printf "%s%s:%s:%s", (NR > 1 ? " " : ""), $1, $2, $3}')" ]] &&
            grep -q ':leader:running' <<<"$from_tf" && [[ $(grep -o ':streaming' <<<"$from_tf" | wc -l) == 2 ]]
    }
    check "day 2: the status data source (output cluster) shows what GET /cluster shows: one leader, two streaming" \
        status_matches

    # --- a parameter that needs a restart -------------------------------------------------
    day2_vars "{$base, \"parameters\": {\"max_connections\": \"150\"}}"
    check "day 2: max_connections 100 -> 150 plans an in-place update of pgha_patroni_cluster only (no host replaced)" \
        day2_only_cluster_updates
    check "day 2: apply with restart = never" day2_apply
    pending_everywhere() { [[ $(day2_pending) == "node1 node2 node3" ]]; }
    check "day 2: restart = never: every member reports pending restart (GET /cluster)" \
        pgha_wait_for "pending restarts" 30 pending_everywhere
    check "day 2: restart = never: max_connections still 100 everywhere" \
        day2_all_are "SHOW max_connections" 100
    pending_output() {
        [[ $(e2e_tf_output pending_restart) == '["node1","node2","node3"]' ]]
    }
    check "day 2: pgha_patroni_cluster.pending_restart lists the three members" pending_output

    local leader_before tl_before
    leader_before=$(e2e_leader)
    tl_before=$(e2e_members | awk '$2 == "leader" {print $4}')
    day2_writer_start day2_rolling
    day2_vars '{"restart": "rolling", "parameters": {"max_connections": "150"}}'
    local t0=$SECONDS
    check "day 2: apply with restart = rolling" day2_apply
    local took=$((SECONDS - t0))
    day2_writer_stop
    check "day 2: rolling restart: max_connections is 150 on every member" \
        day2_all_are "SHOW max_connections" 150
    check "day 2: rolling restart: nothing pending any more" test -z "$(day2_pending)"
    local lost gap leader_after tl_after
    lost=$(day2_lost)
    gap=$(day2_longest_gap)
    leader_after=$(e2e_leader)
    tl_after=$(e2e_members | awk '$2 == "leader" {print $4}')
    pgha_log "rolling restart: apply ${took}s, $(day2_acked) commits acknowledged, $lost lost, longest pause between commits ${gap}s, leader $leader_before -> $leader_after, timeline $tl_before -> $tl_after"
    no_loss() { (($(day2_acked) > 0)) && [[ $lost == 0 ]]; }
    check "day 2: rolling restart under a writer through HAProxy: 0 of $(day2_acked) acknowledged commits lost (write outage ${gap}s)" no_loss
    one_switchover() { [[ $leader_after != "$leader_before" && $tl_after == $((tl_before + 1)) ]]; }
    check "day 2: rolling restart made exactly one switchover ($leader_before -> $leader_after, timeline $tl_before -> $tl_after)" one_switchover
    check "day 2: the plan after the rolling restart is empty" day2_plan_empty

    # --- reloadable settings, timings, pg_hba ----------------------------------------------
    local starts
    starts=$(day2_start_times)
    day2_vars '{"restart": "rolling", "ttl": 25, "loop_wait": 4, "parameters": {"max_connections": "150", "work_mem": "16MB"}, "extra_pg_hba": ["host all all 127.0.0.99/32 scram-sha-256"]}'
    check "day 2: work_mem, ttl, loop_wait and a pg_hba line plan an in-place update of the cluster only" \
        day2_only_cluster_updates
    check "day 2: apply of the reloadable changes" day2_apply
    check "day 2: work_mem is 16MB on every member" day2_all_are "SHOW work_mem" 16MB
    check "day 2: GET /config has ttl 25 and loop_wait 4" day2_config_is '[c["ttl"], c["loop_wait"]]' '[25, 4]'
    check "day 2: the new pg_hba line is loaded on every member (pg_hba_file_rules)" \
        day2_all_are "SELECT count(*) FROM pg_hba_file_rules WHERE '127.0.0.99/32' = ANY (ARRAY[address || '/' || netmask, address]) OR address = '127.0.0.99'" 1
    no_restart() { [[ $(day2_start_times) == "$starts" ]]; }
    check "day 2: no member restarted for the reloadable changes (postmaster start times unchanged)" no_restart

    # --- synchronous mode off and on --------------------------------------------------------
    local reload='"restart": "rolling", "ttl": 25, "loop_wait": 4, "parameters": {"max_connections": "150", "work_mem": "16MB"}, "extra_pg_hba": ["host all all 127.0.0.99/32 scram-sha-256"]'
    no_sync_standby() { ! e2e_members | awk '$2 == "sync_standby" {found = 1} END {exit !found}'; }
    a_sync_standby() { e2e_members | awk '$2 == "sync_standby" {n++} END {exit n != 1}'; }
    day2_vars "{$reload, \"synchronous_mode\": false}"
    check "day 2: synchronous_mode off plans an in-place update of the cluster only" day2_only_cluster_updates
    check "day 2: apply synchronous_mode off" day2_apply
    check "day 2: synchronous_mode off: GET /config says synchronous_mode false" \
        pgha_wait_for "no synchronous standby" 30 day2_config_is 'c["synchronous_mode"]' false
    check "day 2: synchronous_mode off: no sync_standby in GET /cluster" pgha_wait_for "no sync standby" 30 no_sync_standby
    day2_vars "{$reload, \"synchronous_mode\": true}"
    check "day 2: apply synchronous_mode on again" day2_apply
    check "day 2: synchronous_mode on: one synchronous standby again" pgha_wait_for "a sync standby" 30 a_sync_standby
    check "day 2: synchronous mode off and on restarted nothing" no_restart

    # --- drift --------------------------------------------------------------------------------
    local conf
    conf=$(e2e_patroni_yml "$WORK" "$(e2e_leader)")
    edit_outside() {
        env -u PGPASSWORD "$E2E_PATRONICTL" -c "$conf" edit-config --force \
            --set postgresql.parameters.work_mem=32MB >>"$WORK/logs/patronictl.log" 2>&1
    }
    check "day 2: patronictl edit-config outside Terraform (work_mem 32MB)" edit_outside
    pgha_wait_for "work_mem 32MB everywhere" 30 day2_all_are "SHOW work_mem" 32MB || true
    drift_planned() { ! day2_plan_empty && day2_only_cluster_updates; }
    check "day 2: the next plan shows the drift as an update of pgha_patroni_cluster" drift_planned
    check "day 2: apply puts it back" day2_apply
    check "day 2: work_mem is 16MB again on every member" pgha_wait_for "work_mem 16MB" 30 day2_all_are "SHOW work_mem" 16MB
    check "day 2: the plan after putting the drift back is empty" day2_plan_empty

    # --- switchover -----------------------------------------------------------------------------
    local sync_member async_member
    sync_member=$(e2e_members | awk '$2 == "sync_standby" {print $1; exit}')
    async_member=$(e2e_members | awk '$2 == "replica" {print $1; exit}')
    day2_vars "{$reload, \"switchover_to\": \"$sync_member\"}"
    check "day 2: pgha_patroni_switchover to $sync_member (the synchronous standby)" day2_apply
    # Settled: the new leader runs, both replicas stream, and Patroni has named the synchronous
    # standby again (a loop after the switchover), so "the replica that is not synchronous" is
    # a stable choice.
    leads() { [[ $(e2e_leader) == "$1" ]] && e2e_healthy 3 && a_sync_standby; }
    check "day 2: $sync_member leads and the cluster is healthy" pgha_wait_for "$sync_member leading" 60 leads "$sync_member"
    async_member=$(e2e_members | awk '$2 == "replica" {print $1; exit}')
    day2_vars "{$reload, \"switchover_to\": \"$async_member\"}"
    refused() {
        ! day2_apply 2>/dev/null && grep -q "not the synchronous standby" "$WORK/logs/terraform.log" &&
            [[ $(e2e_leader) == "$sync_member" ]]
    }
    check "day 2: a switchover to $async_member (not the synchronous standby) is refused, the leader stays" refused
    day2_vars "{$reload}"
    check "day 2: dropping the switchover resource changes nothing on the cluster" day2_apply

    # --- a fourth node ----------------------------------------------------------------------------
    local four='"db_nodes": {"node1": "127.0.0.21", "node2": "127.0.0.22", "node3": "127.0.0.23", "node4": "127.0.0.24"}'
    joins_without_replacing() {
        local changes
        changes=$(day2_changes) || return 1
        pgha_log "planned: ${changes//$'\n'/; }"
        # node4's node and host; the cluster's pg_hba (live) and the load balancer's recorded
        # backend list in place; no other node changes at all (each takes its own node_specs).
        grep -qx 'pgha_patroni_node.db\["node4"\] create' <<<"$changes" &&
            grep -qx 'terraform_data.db_host\["node4"\] create' <<<"$changes" &&
            ! grep -v 'node4' <<<"$changes" |
                grep -vE '^(pgha_patroni_cluster.main|terraform_data.load_balancer) update$' | grep -q .
    }
    day2_vars "{$reload, $four}"
    check "day 2: a fourth node plans its node and host, and changes no other node or host" joins_without_replacing
    check "day 2: apply with the fourth node" day2_apply
    E2E_DB_HOSTS=(node1 node2 node3 node4)
    check "day 2: node4 joined and streams (4 members, lag 0)" e2e_wait_healthy 240 4
    local slot_leader
    slot_leader=$(e2e_leader)
    has_slot() { [[ $(e2e_psql_node "$WORK" "$slot_leader" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'node4'") == 1 ]]; }
    check "day 2: the leader keeps a replication slot for node4" has_slot
    E2E_DB_HOSTS=(node1 node2 node3)
    leaves_cleanly() {
        local changes
        changes=$(day2_changes) || return 1
        pgha_log "planned: ${changes//$'\n'/; }"
        # Only node4's resources go (its node, its metadata value, its host); the cluster's
        # pg_hba drops node4's lines (and the load balancer's recorded backend list changes in
        # place).
        [[ $(grep -c delete <<<"$changes") == 3 ]] &&
            grep -qx 'pgha_patroni_node.db\["node4"\] delete' <<<"$changes" &&
            grep -qx 'terraform_data.db_bundle\["node4"\] delete' <<<"$changes" &&
            grep -qx 'terraform_data.db_host\["node4"\] delete' <<<"$changes" &&
            ! grep -v 'node4' <<<"$changes" |
                grep -vE '^(pgha_patroni_cluster.main|terraform_data.load_balancer) update$' | grep -q .
    }
    day2_vars "{$reload}"
    check "day 2: removing node4 plans only node4's node, metadata and host (and the cluster's pg_hba)" leaves_cleanly
    check "day 2: apply without node4" day2_apply
    check "day 2: three members again, healthy" e2e_wait_healthy 120 3
    slot_gone() { [[ $(e2e_psql_node "$WORK" "$(e2e_leader)" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'node4'") == 0 ]]; }
    check "day 2: node4's replication slot is dropped" pgha_wait_for "node4's slot dropped" 60 slot_gone
    check "day 2: the plan at the end is empty" day2_plan_empty

    # --- secrets --------------------------------------------------------------------------------
    no_secret_in_output() {
        local v
        for v in Sup3r-local-e2e-7q2x Repl-local-e2e-4k9w Rew1nd-local-e2e-8m3v Adm1n-local-e2e-2p6z Rest-local-e2e-5j1c; do
            if grep -qF "$v" "$WORK/logs/terraform.log"; then
                pgha_log "a password is in terraform's output"
                return 1
            fi
        done
    }
    check "day 2: no password in any plan or apply output (terraform.log)" no_secret_in_output
}

# e2e_tf_output NAME : `terraform output -json NAME` of the suite's configuration.
e2e_tf_output() {
    local rc
    rc=$(e2e_tf_config "$WORK") || return 1
    TF_CLI_CONFIG_FILE=$rc "$E2E_TERRAFORM" -chdir="$WORK/tf" output -json "$1" | tr -d ' \n'
}

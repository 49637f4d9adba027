# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# bundle.sh - the host-bundle part of the end-to-end suite (sourced by run.sh after day2.sh,
# terraform driver only): per-host files change on the running hosts through `terraform apply`,
# each host's bundle (its metadata value) and its reconcile timer, and no host is replaced.
#
#   - a nofailover tag, a node's local parameter, retention, process-max and the backup schedule:
#     the plan updates nodes, the stanza and the metadata values, no host; every host reports the
#     new bundle applied; GET /patroni shows the tag, SHOW the parameter (on that node only),
#     pgbackrest.conf and cron.d the new values; no member restarted; a writer through HAProxy
#     loses no acknowledged commit
#   - passwords rotated (superuser, replication, the admin role, the REST API): the new ones log
#     in, the old ones are refused, replicas stream again after their connections are cut; then
#     rotated back
#   - a corrupted and an oversized metadata value are refused on a running host (its files and
#     Patroni untouched); republishing the value restores it
#   - an address change plans the replacement of that host (cloud-init runs only at first boot)
#
# Uses run.sh's check, WORK, day2.sh's plan/apply helpers and lib.sh.
# shellcheck disable=SC2317

# bundle_no_host_replaced : the plan changes pgha_patroni_node resources in place and their
# metadata values, may update the cluster and the stanza, and touches no host.
bundle_no_host_replaced() {
    local changes
    changes=$(day2_changes) || return 1
    pgha_log "planned: ${changes//$'\n'/; }"
    grep -qE '^pgha_patroni_node\.db\["[^"]+"\] update$' <<<"$changes" &&
        ! grep -vE '^(pgha_patroni_node\.db\["[^"]+"\] update|terraform_data\.db_bundle\["[^"]+"\] (delete\+create|create\+delete)|pgha_patroni_cluster\.main update|pgha_pgbackrest_stanza\.main update)$' \
            <<<"$changes" | grep -q .
}

bundle_state() { cat "$(e2e_root "$WORK" "$1")/var/lib/pgha/reconcile/state.json"; }
bundle_state_field() { bundle_state "$1" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin).get('$2') or '')"; }

# bundle_applied_everywhere : every database host reports the bundle hash Terraform holds for it.
bundle_applied_everywhere() {
    local hashes h want
    hashes=$(e2e_tf_output bundle_hashes) || return 1
    for h in "${E2E_DB_HOSTS[@]}"; do
        want=$(/usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$hashes" "$h")
        [[ $(bundle_state_field "$h" applied_hash) == "$want" ]] || return 1
    done
}

# bundle_wait_applied DESC : wait (three reconcile periods and the plan's own time) for
# bundle_applied_everywhere, logging how long it took.
bundle_wait_applied() { pgha_wait_for "$1" 60 bundle_applied_everywhere; }

bundle_file() { cat "$(e2e_root "$WORK" "$1")/$2"; }
bundle_all_have() {
    local h
    for h in "${E2E_DB_HOSTS[@]}"; do
        grep -qxF "$2" <<<"$(bundle_file "$h" "$1")" || { pgha_log "$h: $1 has no line '$2'"; return 1; }
    done
}

# bundle_login DSN-ARGS... : a connection through HAProxy succeeds.
bundle_login() { PGCONNECT_TIMEOUT=3 psql "host=$E2E_LB port=5432 dbname=postgres $*" -XAtqc 'SELECT 1' >/dev/null 2>&1; }

bundle_suite() {
    local starts
    starts=$(day2_start_times)
    day2_writer_start bundle_live
    local leader tagged h
    leader=$(e2e_leader)
    tagged=$(e2e_members | awk '$2 == "replica" {print $1; exit}')
    [[ -n $tagged ]] || tagged=$(e2e_members | awk '$2 != "leader" {print $1; exit}')

    # --- per-host settings and the backup set-up ---------------------------------------------
    day2_merge_vars "{\"nofailover\": [\"$tagged\"], \"local_parameters\": {\"$tagged\": {\"log_min_duration_statement\": \"250\"}},
                  \"retention_full\": 3, \"process_max\": 3, \"full_backup_schedule\": \"30 2 * * 0\"}"
    check "bundle: a tag, a local parameter, retention, process-max and the schedule plan no host change (nodes, stanza and metadata values only)" \
        bundle_no_host_replaced
    check "bundle: apply" day2_apply
    check "bundle: every host reports its new bundle applied (state.json)" bundle_wait_applied "the new bundles applied"
    tag_shown() {
        e2e_api "$tagged" patroni | /usr/bin/python3 -c 'import json,sys; sys.exit(json.load(sys.stdin).get("tags", {}).get("nofailover") is not True)'
    }
    check "bundle: GET /patroni on $tagged shows the nofailover tag" pgha_wait_for "$tagged's nofailover tag" 30 tag_shown
    local_only() {
        for h in "${E2E_DB_HOSTS[@]}"; do
            local want=-1
            [[ $h == "$tagged" ]] && want=250ms
            [[ $(e2e_psql_node "$WORK" "$h" "SHOW log_min_duration_statement") == "$want" ]] || return 1
        done
    }
    check "bundle: log_min_duration_statement is 250ms on $tagged only" pgha_wait_for "the local parameter" 30 local_only
    check "bundle: pgbackrest.conf on every host: repo1-retention-full=3" \
        bundle_all_have etc/pgbackrest/pgbackrest.conf repo1-retention-full=3
    check "bundle: pgbackrest.conf on every host: process-max=3" bundle_all_have etc/pgbackrest/pgbackrest.conf process-max=3
    backup_uses_them() {
        local root job
        root=$(e2e_root "$WORK" "$(e2e_leader)")
        job=$root/usr/local/libexec/pgha/pgha-backup
        (cd / && pgha_as_user postgres "$job" incr) >>"$WORK/logs/bundle-backup.log" 2>&1 || return 1
        grep -h 'backup command begin' "$root"/var/log/pgbackrest/*-backup.log | tail -n 1 |
            grep -- '--process-max=3' | grep -q -- '--repo1-retention-full=3'
    }
    check "bundle: a backup on the leader runs with process-max 3 and retention 3 (pgBackRest's log)" backup_uses_them
    schedule_changed() {
        for h in "${E2E_DB_HOSTS[@]}"; do
            grep -q '^30 2 \* \* 0 ' <<<"$(bundle_file "$h" etc/cron.d/pgha-backup)" || return 1
        done
    }
    check "bundle: cron.d/pgha-backup on every host runs the full backup at 30 2 * * 0" schedule_changed
    no_restart() { [[ $(day2_start_times) == "$starts" ]]; }
    check "bundle: no member restarted (postmaster start times unchanged)" no_restart
    check "bundle: the leader did not change" test "$(e2e_leader)" == "$leader"
    check "bundle: the plan afterwards is empty" day2_plan_empty

    # --- passwords ------------------------------------------------------------------------------
    local new_super=Sup3r-rotated-9d4f new_repl=Repl-rotated-3h8k new_admin=Adm1n-rotated-6w2e new_rest=Rest-rotated-1t7y
    # With a live setting in the same apply: the members still have the previous REST API
    # password when the provider sends the change.
    day2_merge_vars "{\"superuser_password\": \"$new_super\", \"replication_password\": \"$new_repl\",
                  \"admin_password\": \"$new_admin\", \"restapi_password\": \"$new_rest\",
                  \"parameters\": {\"max_connections\": \"150\", \"work_mem\": \"24MB\"}}"
    check "bundle: rotating four passwords (and work_mem) plans no host change" bundle_no_host_replaced
    check "bundle: apply the new passwords and work_mem in one apply" day2_apply
    check "bundle: work_mem 24MB reached every member (sent with the REST API password the members still had)" \
        pgha_wait_for "work_mem 24MB" 30 day2_all_are "SHOW work_mem" 24MB
    check "bundle: every host reports the bundle with the new passwords applied" \
        bundle_wait_applied "the new passwords on every host"
    check "bundle: the admin role logs in with its new password through HAProxy" \
        bundle_login user=app_admin "password=$new_admin"
    check "bundle: ... and its old password is refused" \
        bash -c "! PGCONNECT_TIMEOUT=3 psql 'host=$E2E_LB port=5432 dbname=postgres user=app_admin password=Adm1n-local-e2e-2p6z' -XAtqc 'SELECT 1' >/dev/null 2>&1"
    check "bundle: the superuser logs in with its new password, the old one is refused" \
        bash -c "PGCONNECT_TIMEOUT=3 psql 'host=$E2E_LB port=5432 dbname=postgres user=postgres password=$new_super' -XAtqc 'SELECT 1' >/dev/null &&
                 ! PGCONNECT_TIMEOUT=3 psql 'host=$E2E_LB port=5432 dbname=postgres user=postgres password=Sup3r-local-e2e-7q2x' -XAtqc 'SELECT 1' >/dev/null 2>&1"
    cut_replication() {
        e2e_psql_node "$WORK" "$(e2e_leader)" \
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_replication" >/dev/null
    }
    check "bundle: replication connections cut on the leader" cut_replication
    check "bundle: both replicas stream again with the new replication password" e2e_wait_healthy 60
    rest_auth() {
        local leader_ip=${E2E_IP[$(e2e_leader)]}
        [[ $(curl -s -o /dev/null -w '%{http_code}' -u "patroni:$new_rest" -X POST "http://$leader_ip:8008/reload") == 20? ]] &&
            [[ $(curl -s -o /dev/null -w '%{http_code}' -u "patroni:Rest-local-e2e-5j1c" -X POST "http://$leader_ip:8008/reload") == 401 ]]
    }
    check "bundle: the REST API takes the new password for POST /reload and answers 401 to the old" \
        pgha_wait_for "the REST API's new password" 30 rest_auth
    check "bundle: the plan after rotating is empty" day2_plan_empty
    no_new_secret_in_output() {
        local v
        for v in "$new_super" "$new_repl" "$new_admin" "$new_rest"; do
            ! grep -qF "$v" "$WORK/logs/terraform.log" || { pgha_log "a new password is in terraform's output"; return 1; }
        done
    }
    check "bundle: no new password in any plan or apply output" no_new_secret_in_output
    day2_merge_vars '{"superuser_password": null, "replication_password": null, "admin_password": null, "restapi_password": null,
                      "parameters": {"max_connections": "150", "work_mem": "16MB"}}'
    back() {
        day2_apply && bundle_wait_applied "the first passwords again" &&
            bundle_login user=app_admin password=Adm1n-local-e2e-2p6z &&
            pgha_wait_for "work_mem 16MB" 30 day2_all_are "SHOW work_mem" 16MB
    }
    check "bundle: rotating back (with work_mem back to 16MB): applied everywhere, the first admin password logs in again" back
    check "bundle: the cluster is healthy after the rotations" e2e_wait_healthy 60

    day2_writer_stop
    local lost
    lost=$(day2_lost)
    pgha_log "bundle changes under a writer: $(day2_acked) commits acknowledged, $lost lost, longest pause $(day2_longest_gap)s"
    no_loss() { (($(day2_acked) > 0)) && [[ $lost == 0 ]]; }
    check "bundle: a writer through HAProxy during every bundle change: 0 of $(day2_acked) acknowledged commits lost" no_loss

    # --- a bad metadata value on a running host ----------------------------------------------------
    local victim=${E2E_DB_HOSTS[1]} yml before
    yml=$(e2e_patroni_yml "$WORK" "$victim")
    before=$(sha256sum <"$yml")
    publish() { PGHA_VALUE=$1 "$E2E_REPO/tests/standin/local-services" imds-put "$WORK" "$victim" pgha_bundle PGHA_VALUE >/dev/null 2>&1; }
    refused_with() {
        [[ $(bundle_state_field "$victim" result) == refused ]] &&
            bundle_state_field "$victim" message | grep -q "$1"
    }
    corrupt() {
        local hash
        hash=$(bundle_state_field "$victim" applied_hash)
        # The hash it names, and a payload that is not what it names.
        publish "pgha-bundle-1:$hash:$(printf 'not the bundle' | gzip -n | base64 -w0)"
    }
    check "bundle: a corrupted value published for $victim" corrupt
    check "bundle: ... is refused by $victim's reconcile unit" pgha_wait_for "the corrupted value refused" 40 refused_with "differs\|payload\|JSON\|gzip"
    check "bundle: ... patroni.yml untouched and Patroni running" \
        bash -c "[[ \$(sha256sum <'$yml') == '$before' ]] && curl -fsS --max-time 2 http://${E2E_IP[$victim]}:8008/health >/dev/null"
    check "bundle: an oversized value (40,000 bytes) published" publish "pgha-bundle-1:0:$(head -c 30000 /dev/urandom | base64 -w0)"
    check "bundle: ... is refused too" pgha_wait_for "the oversized value refused" 40 refused_with "over"
    # The refused values never replaced what the host had applied: with its own value back, the
    # next run finds every file as it is.
    back_to_its_bundle() { bundle_applied_everywhere && [[ $(bundle_state_field "$victim" result) == unchanged ]]; }
    republish() {
        e2e_tf "$WORK" apply -auto-approve -input=false -replace="terraform_data.db_bundle[\"$victim\"]" &&
            pgha_wait_for "$victim back to its bundle" 40 back_to_its_bundle
    }
    check "bundle: republishing the value (apply -replace of $victim's metadata value): $victim back to its bundle, nothing to write" \
        republish

    # --- what needs a new machine -----------------------------------------------------------------
    local moved=${E2E_DB_HOSTS[2]}
    address_replaces() {
        local changes
        changes=$(day2_changes) || return 1
        pgha_log "planned: ${changes//$'\n'/; }"
        grep -qxE "terraform_data.db_host\[\"$moved\"\] (delete\+create|create\+delete)" <<<"$changes" &&
            grep -qxE "pgha_patroni_node.db\[\"$moved\"\] (delete\+create|create\+delete)" <<<"$changes"
    }
    local nodes
    nodes=$(for h in "${E2E_DB_HOSTS[@]}"; do
        [[ $h == "$moved" ]] && printf '%s 127.0.0.29\n' "$h" || printf '%s %s\n' "$h" "${E2E_IP[$h]}"
    done | /usr/bin/python3 -c 'import json, sys; print(json.dumps(dict(l.split() for l in sys.stdin)))')
    day2_merge_vars "{\"db_nodes\": $nodes}"
    check "bundle: a new address for $moved plans the replacement of its node and host (not applied)" address_replaces
    day2_merge_vars '{"db_nodes": null}'
    check "bundle: the plan at the end is empty" day2_plan_empty
}

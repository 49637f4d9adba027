# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# etcd.sh - etcd membership through `terraform apply` (sourced by run.sh, terraform driver only),
# while a writer commits through HAProxy:
#
#   - one member replaced (`apply -replace`): removed, added back as a learner, promoted by its
#     host; three started voting members; Patroni keeps its leader
#   - the cluster grown to five and shrunk to three; the member list matches the configuration
#     after each apply, no other etcd host is replaced, patroni.yml on every database host follows
#     (through the host bundle), the plan afterwards is empty
#   - refused at plan, nothing changed: removing two of three members; an even member count
#   - a learner that cannot catch up is removed again by the rendered promotion script
#   - a member removed by hand shows in the next plan; the apply adds it back
#   - no acknowledged commit lost, no failover, throughout
#
# Uses run.sh's check, WORK, day2.sh's plan/apply/writer helpers and lib.sh.
# shellcheck disable=SC2317

ETCD_ALL_URLS=http://127.0.0.11:2379,http://127.0.0.12:2379,http://127.0.0.13:2379,http://127.0.0.14:2379,http://127.0.0.15:2379

# etcd_list : the member list, one "name learner|voter id" line per member, sorted by name (an
# unstarted member shows as "-").
etcd_list() {
    ETCDCTL_API=3 etcdctl --dial-timeout=1s --command-timeout=3s --endpoints="$ETCD_ALL_URLS" \
        member list -w json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for m in sorted(json.load(sys.stdin).get("members", []), key=lambda m: m.get("name", "")):
    print(m.get("name") or "-", "learner" if m.get("isLearner") else "voter", "%x" % m["ID"])'
}

# etcd_members_are NAMES... : exactly these members, all started and voting.
etcd_members_are() {
    local want have
    want=$(printf '%s voter\n' "$@" | sort)
    have=$(etcd_list | awk '{print $1, $2}')
    [[ $have == "$want" ]] || { pgha_log "etcd members: ${have//$'\n'/, } (want ${want//$'\n'/, })"; return 1; }
}

etcd_id_of() { etcd_list | awk -v n="$1" '$1 == n {print $3}'; }

# etcd_map N : the etcd_members variable with N members on 127.0.0.11...
etcd_map() {
    local i out=""
    for ((i = 1; i <= $1; i++)); do out+="${out:+, }\"etcd$i\": \"127.0.0.1$i\""; done
    printf '{%s}' "$out"
}

# etcd_no_host_replaced_but CHANGES REGEX : no host in CHANGES changes, except lines matching
# REGEX.
etcd_no_host_replaced_but() {
    local changes=$1 allowed=$2
    ! grep -E '^terraform_data\.(etcd|db)_host' <<<"$changes" | grep -vE "$allowed" | grep -q .
}

etcd_suite() {
    local leader tl
    leader=$(e2e_leader)
    tl=$(e2e_members | awk '$2 == "leader" {print $4}')
    day2_writer_start etcd_live
    check "etcd: three started voting members to begin with" etcd_members_are etcd1 etcd2 etcd3

    # --- replace one member -------------------------------------------------------------------
    local old_id
    old_id=$(etcd_id_of etcd2)
    replace() { e2e_tf "$WORK" apply -auto-approve -input=false -replace='pgha_etcd_member.etcd["etcd2"]'; }
    check "etcd: apply -replace of etcd2" replace
    check "etcd: etcd2 is back as a started voting member (three members)" etcd_members_are etcd1 etcd2 etcd3
    new_id() { [[ -n $(etcd_id_of etcd2) && $(etcd_id_of etcd2) != "$old_id" ]]; }
    check "etcd: etcd2 has a new member ID ($old_id -> $(etcd_id_of etcd2))" new_id
    joined_existing() { grep -rqs 'ETCD_INITIAL_CLUSTER_STATE="existing"' "$WORK/hosts/etcd2/etc"; }
    check "etcd: the new etcd2 started as existing (not a second bootstrap)" joined_existing
    promoted() { grep -q 'is now a voting member' "$WORK/logs/etcd2-cloud-init.log" "$WORK/logs/etcd2-pgha-etcd-promote.service.log" 2>/dev/null; }
    check "etcd: its host promoted the learner (pgha-etcd-promote)" promoted
    # The rendered promotion script against a learner whose peer URL nothing serves: it gives up
    # after its timeout (8 s here instead of 10 minutes), names the URL and removes the learner.
    unreachable_learner() {
        local out id script=$WORK/promote-ghost log=$WORK/logs/promote-ghost.log
        # etcd refuses a reconfiguration for a few seconds after a member joined ("unhealthy
        # cluster" while the newcomer has been connected for less than its health interval).
        add_ghost() {
            out=$(ETCDCTL_API=3 etcdctl --endpoints="$ETCD_ALL_URLS" member add ghost \
                --peer-urls=http://127.0.0.19:2380 --learner 2>&1)
        }
        pgha_wait_for "etcd accepting a member add" 30 add_ghost || { pgha_log "$out"; return 1; }
        id=$(sed -n 's/^Member \([0-9a-f]*\) added.*/\1/p' <<<"$out")
        [[ -n $id ]] || return 1
        sed -e "s/^id=.*/id=$id/" -e "s/^timeout=.*/timeout=8/" \
            -e "s#^peer_url=.*#peer_url=http://127.0.0.19:2380#" -e "s#etcd\.conf\.join#ghost.join#g" \
            "$WORK/hosts/etcd2/usr/local/libexec/pgha/pgha-etcd-promote" >"$script"
        chmod 0755 "$script"
        ! "$script" >"$log" 2>&1 && grep -q 'http://127.0.0.19:2380.*did not catch up' "$log" &&
            ! etcd_list | grep -q " $id\$"
    }
    check "etcd: a learner that cannot catch up (peer URL unreachable) is removed again by the promotion script, the URL named" \
        unreachable_learner
    check "etcd: Patroni kept its leader ($leader)" test "$(e2e_leader)" == "$leader"
    check "etcd: the plan after the replacement is empty" day2_plan_empty

    # --- grow to five -------------------------------------------------------------------------
    day2_merge_vars "{\"etcd_members\": $(etcd_map 5)}"
    grows() {
        local changes
        changes=$(day2_changes) || return 1
        pgha_log "planned: ${changes//$'\n'/; }"
        grep -qx 'pgha_etcd_member.etcd\["etcd4"\] create' <<<"$changes" &&
            grep -qx 'pgha_etcd_member.etcd\["etcd5"\] create' <<<"$changes" &&
            etcd_no_host_replaced_but "$changes" '^terraform_data\.etcd_host\["etcd[45]"\] create$' &&
            ! grep -E '^pgha_etcd_member\.etcd\["etcd[123]"\] ' <<<"$changes" | grep -vq ' update$'
    }
    # The existing members' `members` argument changes (an update in state only: their documents
    # stay those of their first boot, so their hosts are not replaced).
    check "etcd: growing to five plans two members and their hosts; no other etcd or database host changes" grows
    check "etcd: apply (grow to five)" day2_apply
    check "etcd: five started voting members" etcd_members_are etcd1 etcd2 etcd3 etcd4 etcd5
    check "etcd: the plan after growing is empty" day2_plan_empty
    five_in_patroni() {
        local h
        for h in "${E2E_DB_HOSTS[@]}"; do
            /usr/bin/python3 -c '
import sys, yaml
hosts = yaml.safe_load(open(sys.argv[1]))["etcd3"]["hosts"]
sys.exit(len(hosts) != 5 or "127.0.0.15:2379" not in hosts)' "$(e2e_patroni_yml "$WORK" "$h")" || return 1
        done
    }
    check "etcd: patroni.yml on every database host lists the five members (host bundle)" \
        pgha_wait_for "five etcd hosts in patroni.yml" 60 five_in_patroni

    # --- refusals -------------------------------------------------------------------------------
    day2_merge_vars "{\"etcd_members\": $(etcd_map 2)}"
    # The plan fails, and this plan's own output (not an earlier one's) names the reason.
    refused_with() {
        local before
        before=$(wc -l <"$WORK/logs/terraform.log")
        ! day2_changes >/dev/null 2>&1 && tail -n +"$((before + 1))" "$WORK/logs/terraform.log" | grep -q "$1"
    }
    check "etcd: an even member count (five to two) is refused at plan" refused_with "An even number of etcd members"
    day2_merge_vars "{\"etcd_members\": {\"etcd1\": \"127.0.0.11\"}}"
    check "etcd: removing four of five members at once is refused at plan" refused_with "Too many etcd members removed at once"
    check "etcd: ... nothing changed (five members)" etcd_members_are etcd1 etcd2 etcd3 etcd4 etcd5

    # --- shrink to three ------------------------------------------------------------------------
    day2_merge_vars "{\"etcd_members\": $(etcd_map 3)}"
    check "etcd: apply (shrink to three)" day2_apply
    check "etcd: three started voting members" etcd_members_are etcd1 etcd2 etcd3
    check "etcd: the plan after shrinking is empty" day2_plan_empty
    day2_merge_vars "{\"etcd_members\": {\"etcd1\": \"127.0.0.11\"}}"
    check "etcd: removing two of three members at once is refused at plan" refused_with "Too many etcd members removed at once"
    day2_merge_vars "{\"etcd_members\": $(etcd_map 3)}"

    # --- a member removed by hand -----------------------------------------------------------------
    by_hand() {
        ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.11:2379,http://127.0.0.12:2379 member remove "$(etcd_id_of etcd3)" \
            >>"$WORK/logs/etcdctl.log" 2>&1
    }
    check "etcd: etcdctl member remove etcd3 (outside Terraform)" by_hand
    shows_drift() {
        local changes
        changes=$(day2_changes) || return 1
        pgha_log "planned: ${changes//$'\n'/; }"
        grep -qx 'pgha_etcd_member.etcd\["etcd3"\] create' <<<"$changes"
    }
    check "etcd: the next plan adds etcd3 again" shows_drift
    check "etcd: apply adds it back" day2_apply
    check "etcd: three started voting members again" etcd_members_are etcd1 etcd2 etcd3
    check "etcd: the plan afterwards is empty" day2_plan_empty

    day2_writer_stop
    local lost
    lost=$(day2_lost)
    pgha_log "etcd membership changes under a writer: $(day2_acked) commits acknowledged, $lost lost, longest pause $(day2_longest_gap)s"
    no_loss() { (($(day2_acked) > 0)) && [[ $lost == 0 ]]; }
    check "etcd: a writer through HAProxy throughout: 0 of $(day2_acked) acknowledged commits lost" no_loss
    no_failover() { [[ $(e2e_leader) == "$leader" && $(e2e_members | awk '$2 == "leader" {print $4}') == "$tl" ]]; }
    check "etcd: no failover: $leader still leads on timeline $tl" no_failover
    check "etcd: the database cluster is healthy" e2e_wait_healthy 60
}

#!/usr/bin/env bash
# demo-local.sh - a real three-node HA PostgreSQL cluster on this machine with `terraform apply`
# of examples/local (the provider's resources; loopback addresses stand in for the hosts).
#
#   scripts/demo-local.sh          # up (or reuse a healthy one), show it and how to connect
#   scripts/demo-local.sh down     # terraform destroy: every process stopped, hosts removed
#
# Safe to run again: a healthy cluster is reused (the apply then has nothing to do); a cluster
# whose processes are gone (a reboot) or are unhealthy is destroyed and created again.
# Run as root (hosts are processes running as postgres and etcd). Settings:
#   PGHA_LOCAL_WORK (/var/tmp/pgha-local)   where the hosts, logs and pids live
#   PGHA_VENV (/opt/pgha/venv)              Patroni's venv (scripts/setup.sh makes it)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../tests/e2e/lib.sh
. "$repo/tests/e2e/lib.sh"

work=${PGHA_LOCAL_WORK:-/var/tmp/pgha-local}
example=$repo/examples/local
export TF_VAR_work_dir=$work
export TF_IN_AUTOMATION=1

if [[ $(id -u) -ne 0 ]]; then
    echo "demo-local: run as root (the host stand-in creates accounts and runs services as postgres/etcd)" >&2
    exit 1
fi
mkdir -p "$work"
work=$(pgha_workdir_init "$work")
log=$work/logs/terraform.log

tf() {
    TF_CLI_CONFIG_FILE=$work/terraform.rc "$E2E_TERRAFORM" -chdir="$example" "$@" -no-color >>"$log" 2>&1 || {
        pgha_log "terraform $1 failed; the end of $log:"
        tail -n 30 "$log" >&2
        return 1
    }
}

has_state() {
    [[ -s $example/terraform.tfstate ]] &&
        [[ -n $(TF_CLI_CONFIG_FILE=$work/terraform.rc "$E2E_TERRAFORM" -chdir="$example" state list 2>/dev/null) ]]
}

down() {
    if has_state; then
        pgha_log "terraform destroy (examples/local)"
        local t=$SECONDS
        tf destroy -auto-approve -input=false
        pgha_log "destroyed in $((SECONDS - t))s"
    fi
    # Anything that outlived its resource (state lost, a failed apply) is stopped too.
    e2e_cleanup "$work" 2>/dev/null || true
}

pgha_log "building the provider (debug)"
(cd "$repo" && cargo build -q -p terraform-provider-pgha)
e2e_tf_config "$work" >/dev/null

if [[ ${1:-up} == down ]]; then
    down
    pgha_log "the local cluster is down (logs kept in $work/logs)"
    exit 0
fi

reuse=0
if has_state; then
    if e2e_healthy 3; then
        pgha_log "a healthy cluster from an earlier run is up: reusing it"
        reuse=1
    else
        pgha_log "an earlier cluster is in the state but not healthy: destroying it first"
        down
    fi
else
    e2e_cleanup "$work" 2>/dev/null || true
fi

if ((!reuse)); then
    if ! e2e_preflight; then
        pgha_log "cannot start: see above"
        exit 1
    fi
fi

start=$SECONDS
pgha_log "terraform apply (examples/local): 3 etcd members, 3 Patroni nodes, the stanza, S3 and HAProxy"
tf apply -auto-approve -input=false
applied=$((SECONDS - start))
pgha_log "applied in ${applied}s; Patroni bootstraps node by node (initdb, first full backup, replicas restored from it)"
if ! e2e_wait_healthy 300; then
    e2e_members >&2 || true
    pgha_log "the cluster did not become healthy; logs in $work/logs"
    exit 1
fi
healthy=$((SECONDS - start))
leader=$(e2e_leader)
first_backup() {
    e2e_pgbackrest "$work" "$leader" --output=json info | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)[0]
sys.exit(0 if any(b["type"] == "full" for b in s["backup"]) else 1)'
}
pgha_wait_for "the first full backup in the repository" 120 first_backup
backed_up=$((SECONDS - start))

# The cluster as the apply left it, from the pgha_patroni_cluster_status data source (the same
# table patronictl list shows).
cluster_table() {
    TF_CLI_CONFIG_FILE=$work/terraform.rc "$E2E_TERRAFORM" -chdir="$example" output -json cluster |
        /usr/bin/python3 -c '
import json, sys
members = json.load(sys.stdin)
rows = [("Member", "Role", "State", "TL", "Lag", "Pending restart")]
for name, m in sorted(members.items()):
    lag = "" if m["lag"] is None else str(m["lag"])
    tl = "" if m["timeline"] is None else str(m["timeline"])
    rows.append((name, m["role"], m["state"], tl, lag, "yes" if m["pending_restart"] else ""))
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
for r in rows:
    print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())'
}
echo
cluster_table || e2e_table "$work"
echo
if ((reuse)); then
    echo "Reused the running cluster (terraform apply had nothing to do: ${applied}s)."
else
    echo "terraform apply: ${applied}s; healthy (leader + 2 streaming replicas, lag 0): ${healthy}s;"
    echo "first full backup in the repository: ${backed_up}s after the start of the apply."
fi
cat <<EOF

Connect (writes go to the leader through HAProxy, as through the OCI load balancer):
  PGPASSWORD='$(e2e_password "$work")' psql -h 127.0.0.40 -p 5432 -U postgres postgres
  read-only replicas: the same on port 5433
Cluster:      $E2E_PATRONICTL -c $work/hosts/node1/etc/patroni/patroni.yml list
REST API:     curl http://127.0.0.21:8008/patroni   (GET /primary is the load balancer's check)
Backups:      sudo -u postgres pgbackrest --config=$work/hosts/$leader/etc/pgbackrest/pgbackrest.conf --stanza=$E2E_STANZA info
Terraform:    TF_CLI_CONFIG_FILE=$work/terraform.rc TF_VAR_work_dir=$work terraform -chdir=examples/local plan
Day 2:        ... terraform -chdir=examples/local apply -var 'parameters={max_connections="150"}'
              (applied live through Patroni's REST API, a rolling restart, no host replaced)
Logs:         $work/logs (one per service; terraform.log)
Take it down: make demo-down
EOF

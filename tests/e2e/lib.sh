# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# lib.sh - the local three-node cluster for the end-to-end suite, the demo and the failover
# benchmark: bring it up from the provider's output (examples/local through Terraform) or from
# the `pgha` CLI's (tests/e2e/local-cluster.yaml), look at it, and take it down.
#
#   . tests/e2e/lib.sh
#   WORK=$(pgha_workdir_init "$(mktemp -d /var/tmp/pgha-e2e.XXXXXX)")
#   e2e_up terraform "$WORK"           # or: e2e_up cli "$WORK"
#   e2e_wait_healthy 180
#   e2e_down terraform "$WORK"
#
# Hosts (each a loopback address with its default ports, as on separate machines):
#   etcd1..3 127.0.0.11-13, node1..3 127.0.0.21-23, S3 127.0.0.30:443, HAProxy 127.0.0.40:5432.
# Every host keeps its files under WORK/hosts/<host> (the platform's `root`).

if [[ -n ${_PGHA_E2E_LIB_SH:-} ]]; then return 0; fi
_PGHA_E2E_LIB_SH=1

E2E_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../lib/proc.sh
. "$E2E_REPO/tests/lib/proc.sh"

# Settings the suite, the demo and the benchmark read.
# shellcheck disable=SC2034
{
PGHA_VENV=${PGHA_VENV:-/opt/pgha/venv}
E2E_STANDIN=$E2E_REPO/tests/standin/pgha-standin
E2E_SERVICES=$E2E_REPO/tests/standin/local-services
E2E_SPEC=${E2E_SPEC:-$E2E_REPO/tests/e2e/local-cluster.yaml}
E2E_EXAMPLE=${E2E_EXAMPLE:-$E2E_REPO/examples/local}
E2E_SCOPE=pgha
E2E_STANZA=pgha
E2E_BUCKET=pgbackrest
E2E_LB=127.0.0.40
E2E_ETCD_HOSTS=(etcd1 etcd2 etcd3)
E2E_DB_HOSTS=(node1 node2 node3)
declare -gA E2E_IP=(
    [etcd1]=127.0.0.11 [etcd2]=127.0.0.12 [etcd3]=127.0.0.13
    [node1]=127.0.0.21 [node2]=127.0.0.22 [node3]=127.0.0.23
)
E2E_PY=$PGHA_VENV/bin/python
E2E_PATRONICTL=$PGHA_VENV/bin/patronictl
E2E_TERRAFORM=${PGHA_TERRAFORM:-terraform}
}

e2e_root() { printf '%s/hosts/%s\n' "$1" "$2"; }
e2e_patroni_yml() { printf '%s/hosts/%s/etc/patroni/patroni.yml\n' "$1" "$2"; }
e2e_pgbackrest_conf() { printf '%s/hosts/%s/etc/pgbackrest/pgbackrest.conf\n' "$1" "$2"; }
e2e_socket_dir() { printf '%s/hosts/%s/var/run/postgresql\n' "$1" "$2"; }
e2e_data_dir() { printf '%s/hosts/%s/var/lib/postgresql/15/main\n' "$1" "$2"; }

# e2e_preflight : every tool the cluster needs is here, and the addresses are free.
e2e_preflight() {
    local missing=() t
    for t in /usr/bin/etcd /usr/bin/etcdctl /usr/lib/postgresql/15/bin/postgres /usr/bin/pgbackrest \
        /usr/sbin/haproxy /usr/bin/stunnel4 /usr/bin/python3 "$PGHA_VENV/bin/patroni" "$E2E_PATRONICTL"; do
        [[ -x $t ]] || missing+=("$t")
    done
    /usr/bin/python3 -c 'import yaml' 2>/dev/null || missing+=("python3-yaml")
    "$E2E_PY" -c 'import psycopg' 2>/dev/null || missing+=("psycopg in $PGHA_VENV")
    if ((${#missing[@]})); then
        pgha_log "missing: ${missing[*]} (run: make setup)"
        return 1
    fi
    local busy=() a
    for a in 127.0.0.11:2379 127.0.0.12:2379 127.0.0.13:2379 127.0.0.21:5432 127.0.0.22:5432 \
        127.0.0.23:5432 127.0.0.21:8008 127.0.0.30:443 127.0.0.40:5432; do
        if pgha_tcp_open "${a%:*}" "${a#*:}"; then busy+=("$a"); fi
    done
    if ((${#busy[@]})); then
        pgha_log "already in use: ${busy[*]} (is the demo cluster running? make demo-down)"
        return 1
    fi
}

# ------------------------------------------------------------------------------------------
# Bringing the cluster up and down

# e2e_render_cli WORK : render every host's cloud-config from the CLI spec into
# WORK/cloud-init/<host>.yaml (one spec per host, with the host's own root, as the provider's
# resources each have their own platform block).
e2e_render_cli() {
    local work=$1
    "$E2E_REPO/tests/e2e/render-cli.sh" "$E2E_SPEC" "$work" "$work/cloud-init" >/dev/null
}

# e2e_host_up WORK HOST TIER DOC : the stand-in applies DOC (a #cloud-config file) to HOST.
e2e_host_up() {
    local work=$1 host=$2 tier=$3 doc=$4
    "$E2E_STANDIN" up --host "$host" --root "$(e2e_root "$work" "$host")" --work "$work" \
        --tier "$tier" --cloud-init "$doc" 2>>"$work/logs/$host-cloud-init.log" || {
        pgha_log "$host: cloud-init failed; tail of $work/logs/$host-cloud-init.log:"
        tail -n 5 "$work/logs/$host-cloud-init.log" >&2
        return 1
    }
}

# e2e_host_down WORK HOST [--keep-data]
e2e_host_down() {
    local work=$1 host=$2
    shift 2
    "$E2E_STANDIN" down --host "$host" --root "$(e2e_root "$work" "$host")" --work "$work" "$@" \
        2>>"$work/logs/$host-cloud-init.log"
}

# e2e_tf_config WORK : the Terraform CLI configuration with the dev override for the provider
# binary cargo built (as provider/tests/support writes it), printed as its path.
e2e_tf_config() {
    local work=$1 bin_dir=${PGHA_PROVIDER_DIR:-$E2E_REPO/target/debug}
    [[ -x $bin_dir/terraform-provider-pgha ]] || {
        pgha_log "no provider binary in $bin_dir (cargo build -p terraform-provider-pgha)"
        return 1
    }
    printf 'provider_installation {\n  dev_overrides {\n    "registry.terraform.io/pgha/pgha" = "%s"\n  }\n  direct {}\n}\n' \
        "$bin_dir" >"$work/terraform.rc"
    printf '%s\n' "$work/terraform.rc"
}

# e2e_tf WORK ARGS... : terraform in WORK/tf (a copy of examples/local) with the dev override and
# this cluster's work dir; output goes to WORK/logs/terraform.log.
e2e_tf() {
    local work=$1
    shift
    local rc
    rc=$(e2e_tf_config "$work") || return 1
    mkdir -p "$work/tf"
    cp "$E2E_EXAMPLE"/*.tf "$work/tf/"
    TF_CLI_CONFIG_FILE=$rc TF_IN_AUTOMATION=1 "$E2E_TERRAFORM" -chdir="$work/tf" "$@" \
        -var "work_dir=$work" -var "repo_dir=$E2E_REPO" -no-color >>"$work/logs/terraform.log" 2>&1 || {
        pgha_log "terraform $1 failed; tail of $work/logs/terraform.log:"
        tail -n 25 "$work/logs/terraform.log" >&2
        return 1
    }
}

# e2e_up DRIVER WORK : bring the cluster up, `terraform` (examples/local) or `cli`.
e2e_up() {
    local driver=$1 work=$2 h
    case $driver in
        terraform)
            e2e_tf "$work" apply -auto-approve -input=false
            ;;
        cli)
            e2e_render_cli "$work" || return 1
            "$E2E_SERVICES" s3-up "$work" "$E2E_BUCKET" || return 1
            for h in "${E2E_ETCD_HOSTS[@]}"; do
                e2e_host_up "$work" "$h" 10 "$work/cloud-init/$h.yaml" || return 1
            done
            for h in "${E2E_DB_HOSTS[@]}"; do
                e2e_host_up "$work" "$h" 50 "$work/cloud-init/$h.yaml" || return 1
            done
            "$E2E_SERVICES" lb-up "$work" 127.0.0.21 127.0.0.22 127.0.0.23 || return 1
            ;;
        *)
            pgha_log "unknown driver $driver"
            return 1
            ;;
    esac
}

# e2e_down DRIVER WORK : take the cluster down again (services stopped, host roots removed).
e2e_down() {
    local driver=$1 work=$2 h
    case $driver in
        terraform)
            e2e_tf "$work" destroy -auto-approve -input=false
            ;;
        cli)
            "$E2E_SERVICES" lb-down "$work" || true
            for h in "${E2E_DB_HOSTS[@]}"; do e2e_host_down "$work" "$h" || true; done
            e2e_etcd_stop "$work"
            for h in "${E2E_ETCD_HOSTS[@]}"; do e2e_host_down "$work" "$h" || true; done
            "$E2E_SERVICES" s3-down "$work" || true
            ;;
    esac
}

# e2e_etcd_leader_ip : the address of the etcd member that is the Raft leader.
e2e_etcd_leader_ip() {
    ETCDCTL_API=3 etcdctl --dial-timeout=1s --command-timeout=2s \
        --endpoints=http://127.0.0.11:2379,http://127.0.0.12:2379,http://127.0.0.13:2379 \
        endpoint status -w json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["Status"]["leader"] == s["Status"]["header"]["member_id"]:
        print(s["Endpoint"].split("//")[1].split(":")[0])' 2>/dev/null
}

# e2e_etcd_healthy : all three members answer `endpoint health`.
e2e_etcd_healthy() {
    ETCDCTL_API=3 etcdctl --dial-timeout=1s --command-timeout=2s \
        --endpoints=http://127.0.0.11:2379,http://127.0.0.12:2379,http://127.0.0.13:2379 \
        endpoint health >/dev/null 2>&1
}

# e2e_etcd_stop WORK : stop the etcd members, followers first and the leader last (stopping all
# at once makes the leader hand over to a member that is itself going away: ~7 s instead of <1).
# Also the stop hook of tier 10 for pgha_stop_all.
e2e_etcd_stop() {
    local work=$1 leader="" h
    leader=$(e2e_etcd_leader_ip || true)
    for h in "${E2E_ETCD_HOSTS[@]}"; do
        [[ ${E2E_IP[$h]} == "$leader" ]] && continue
        e2e_host_down "$work" "$h" --keep-data || true
    done
    for h in "${E2E_ETCD_HOSTS[@]}"; do
        [[ ${E2E_IP[$h]} == "$leader" ]] || continue
        e2e_host_down "$work" "$h" --keep-data || true
    done
}

# e2e_cleanup WORK : the suite's trap: whatever is still running under WORK is stopped.
e2e_cleanup() {
    local work=$1
    [[ -d $work/pids ]] || return 0
    printf 'e2e_etcd_stop\n' >"$work/pids/10.stop-hook"
    pgha_stop_all "$work" 20
}

# ------------------------------------------------------------------------------------------
# Looking at the cluster

# e2e_api HOST PATH : GET http://<host address>:8008/PATH (body on stdout).
e2e_api() {
    curl -fsS --max-time 2 "http://${E2E_IP[$1]}:8008/$2"
}

# e2e_api_status HOST PATH : the HTTP status of GET PATH on HOST's REST API (000 when down).
e2e_api_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://${E2E_IP[$1]}:8008/$2" || true
}

# e2e_cluster_json : GET /cluster from the first node that answers.
e2e_cluster_json() {
    local h
    for h in "${E2E_DB_HOSTS[@]}"; do
        if e2e_api "$h" cluster 2>/dev/null; then return 0; fi
    done
    return 1
}

# e2e_members : one line per member: name role state timeline lag host.
e2e_members() {
    e2e_cluster_json | /usr/bin/python3 -c '
import json, sys
for m in json.load(sys.stdin).get("members", []):
    lag = m.get("lag", "")
    if isinstance(lag, dict):
        lag = max(lag.values()) if lag else ""
    print(m["name"], m["role"], m["state"], m.get("timeline", "-"), lag if lag != "" else "-", m["host"])'
}

# e2e_leader : name of the leader.
e2e_leader() {
    local line
    line=$(e2e_members | awk '$2 == "leader" {print $1}')
    [[ -n $line ]] && printf '%s\n' "$line"
}

# e2e_healthy [N] : one running leader and N-1 (default 3 members) streaming replicas with lag 0
# on the leader's timeline.
e2e_healthy() {
    local want=${1:-3}
    e2e_members | awk -v want="$want" '
        $2 == "leader" && $3 == "running" { leaders++; tl = $4 }
        $2 != "leader" && $3 == "streaming" && $5 == "0" { rep[NR] = $4 }
        END {
            ok = 0
            for (i in rep) if (rep[i] == tl) ok++
            exit !(leaders == 1 && ok == want - 1)
        }'
}

# e2e_wait_healthy TIMEOUT [N] : wait for e2e_healthy, with progress.
e2e_wait_healthy() {
    pgha_wait_for "one leader and ${2:-3}-1 streaming replicas with lag 0" "$1" e2e_healthy "${2:-3}"
}

# e2e_table WORK : the cluster as patronictl shows it (with the first node's patroni.yml found).
e2e_table() {
    local work=$1 h conf=""
    for h in "${E2E_DB_HOSTS[@]}"; do
        conf=$(e2e_patroni_yml "$work" "$h")
        [[ -r $conf ]] && break
    done
    env -u PGPASSWORD "$E2E_PATRONICTL" -c "$conf" list
}

# e2e_password WORK : the superuser's password, read from node1's rendered patroni.yml.
e2e_password() {
    /usr/bin/python3 -c '
import sys, yaml
print(yaml.safe_load(open(sys.argv[1]))["postgresql"]["authentication"]["superuser"]["password"])' \
        "$(e2e_patroni_yml "$1" node1)"
}

# e2e_lb_dsn WORK : libpq connection string of the load balancer's write port.
e2e_lb_dsn() {
    printf 'host=%s port=5432 dbname=postgres user=postgres password=%s connect_timeout=3\n' \
        "$E2E_LB" "$(e2e_password "$1")"
}

# e2e_psql_lb WORK SQL : SQL through HAProxy as the superuser (password from patroni.yml).
e2e_psql_lb() {
    local work=$1
    shift
    psql "$(e2e_lb_dsn "$work")" -XAtq -v ON_ERROR_STOP=1 -c "$*"
}

# e2e_psql_node WORK HOST SQL : SQL on HOST's PostgreSQL over its unix socket, as postgres.
e2e_psql_node() {
    local work=$1 host=$2
    shift 2
    pgha_as_user postgres env -u PGPASSWORD /usr/lib/postgresql/15/bin/psql \
        -h "$(e2e_socket_dir "$work" "$host")" -p 5432 -U postgres -d postgres \
        -XAtq -v ON_ERROR_STOP=1 -c "$*"
}

# e2e_pgbackrest WORK HOST ARGS... : pgBackRest on HOST with HOST's configuration, as postgres.
e2e_pgbackrest() {
    local work=$1 host=$2
    shift 2
    (cd / && pgha_as_user postgres /usr/bin/pgbackrest --config="$(e2e_pgbackrest_conf "$work" "$host")" \
        --stanza="$E2E_STANZA" "$@")
}

# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# patroni.sh - Patroni 4.x nodes (from the venv made by scripts/setup.sh) on
# loopback, run as postgres: node NAME at IP keeps everything under
# WORKDIR/NAME/ (patroni.yml, data/, run/ for its socket, pgpass) and logs to
# WORKDIR/logs/patroni-NAME.log. PostgreSQL 15 from PG_BIN.
#
#   . tests/lib/etcd.sh; . tests/lib/patroni.sh
#   etcd_start_cluster "$WORK"; etcd_wait_healthy "$WORK"
#   patroni_write_config "$WORK" node1 127.0.0.21 >/dev/null   # prints the path
#   patroni_validate "$WORK/node1/patroni.yml"                   # patroni --validate-config
#   patroni_start "$WORK" node1
#   patroni_wait_role 127.0.0.21 primary 90
#   patronictl_ "$WORK/node1/patroni.yml" list
#   patroni_stop "$WORK" node1
#
# Environment: PGHA_VENV (/opt/pgha/venv), PG_BIN (/usr/lib/postgresql/15/bin),
# PG_USER (postgres), PATRONI_SCOPE (pgha), PATRONI_TTL (20),
# PATRONI_LOOP_WAIT (2), PATRONI_RETRY_TIMEOUT (5), PATRONI_SUPERUSER_PASSWORD,
# PATRONI_REPLICATION_PASSWORD, PATRONI_REWIND_PASSWORD (test defaults).

if [[ -n ${_PGHA_PATRONI_SH:-} ]]; then return 0; fi
_PGHA_PATRONI_SH=1
# shellcheck source=proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

PGHA_VENV=${PGHA_VENV:-/opt/pgha/venv}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=${PG_USER:-postgres}
PATRONI_TIER=50

# patroni_bin : print the path of the venv's patroni; fails with a hint when
# it is missing.
patroni_bin() {
    local b=$PGHA_VENV/bin/patroni
    [[ -x $b ]] || { pgha_log "patroni: $b not found (run scripts/setup.sh)"; return 1; }
    printf '%s\n' "$b"
}

# patronictl_bin : print the path of the venv's patronictl.
patronictl_bin() {
    local b=$PGHA_VENV/bin/patronictl
    [[ -x $b ]] || { pgha_log "patroni: $b not found (run scripts/setup.sh)"; return 1; }
    printf '%s\n' "$b"
}

# patroni_version : print Patroni's version (e.g. 4.1.5).
patroni_version() {
    local b
    b=$(patroni_bin) || return 1
    "$b" --version | awk '{print $2}'
}

# patronictl_ CONFIG ARGS... : run patronictl -c CONFIG ARGS as root (it
# only talks to etcd and the REST APIs).
patronictl_() {
    local conf=$1 b
    shift
    b=$(patronictl_bin) || return 1
    "$b" -c "$conf" "$@"
}

# _patroni_dcs_hosts : etcd3 hosts for the config: ETCD hosts from etcd.sh
# when loaded, else PATRONI_ETCD3_HOSTS_LIST, else 127.0.0.11-13.
_patroni_dcs_hosts() {
    if declare -F etcd_hosts >/dev/null; then
        etcd_hosts
    else
        printf '%s\n' "${PATRONI_ETCD3_HOSTS_LIST:-127.0.0.11:2379,127.0.0.12:2379,127.0.0.13:2379}"
    fi
}

# patroni_write_config WORKDIR NAME IP [EXTRA_YAML_FILE] : write
# WORKDIR/NAME/patroni.yml for a node with REST API on IP:8008 and
# PostgreSQL on IP:5432, socket dir WORKDIR/NAME/run, data dir
# WORKDIR/NAME/data, pgpass WORKDIR/NAME/pgpass, etcd3 DCS. The document is
# produced with PyYAML (every string quoted safely). EXTRA_YAML_FILE, if
# given, is merged on top (nested dicts merged, other values replaced): use
# it for pgBackRest settings. Creates the node dirs (owned by postgres) and
# prints the config path. The file is 0600 postgres (it holds passwords).
patroni_write_config() {
    local work=${1:?usage: patroni_write_config WORKDIR NAME IP [EXTRA]} name=${2:?} ip=${3:?} extra=${4:-}
    local dir=$work/$name py
    mkdir -p "$dir/run"
    chmod 0755 "$dir"
    chown "$PG_USER:" "$dir" "$dir/run"
    chmod 0700 "$dir/run"
    py=$PGHA_VENV/bin/python
    [[ -x $py ]] || py=python3
    PGHA_NAME=$name PGHA_IP=$ip PGHA_DIR=$dir PGHA_EXTRA=$extra PGHA_PG_BIN=$PG_BIN \
        PGHA_SCOPE=${PATRONI_SCOPE:-pgha} PGHA_DCS_HOSTS=$(_patroni_dcs_hosts) \
        PGHA_TTL=${PATRONI_TTL:-20} PGHA_LOOP_WAIT=${PATRONI_LOOP_WAIT:-2} \
        PGHA_RETRY_TIMEOUT=${PATRONI_RETRY_TIMEOUT:-5} \
        PGHA_SU_PW=${PATRONI_SUPERUSER_PASSWORD:-pgha-test-superuser} \
        PGHA_REPL_PW=${PATRONI_REPLICATION_PASSWORD:-pgha-test-replication} \
        PGHA_REWIND_PW=${PATRONI_REWIND_PASSWORD:-pgha-test-rewind} \
        "$py" - >"$dir/patroni.yml" <<'EOF' || { pgha_log "patroni: writing $dir/patroni.yml failed"; return 1; }
import os, sys, yaml
e = os.environ
ip, d = e["PGHA_IP"], e["PGHA_DIR"]
conf = {
    "scope": e["PGHA_SCOPE"],
    "namespace": "/service/",
    "name": e["PGHA_NAME"],
    "log": {"level": "INFO"},
    "restapi": {"listen": f"{ip}:8008", "connect_address": f"{ip}:8008"},
    "etcd3": {"hosts": e["PGHA_DCS_HOSTS"].split(",")},
    "bootstrap": {
        "dcs": {
            "ttl": int(e["PGHA_TTL"]),
            "loop_wait": int(e["PGHA_LOOP_WAIT"]),
            "retry_timeout": int(e["PGHA_RETRY_TIMEOUT"]),
            "maximum_lag_on_failover": 1048576,
            "postgresql": {
                "use_pg_rewind": True,
                "use_slots": True,
                "parameters": {
                    "wal_level": "replica",
                    "hot_standby": "on",
                    "wal_log_hints": "on",
                    "max_wal_senders": 10,
                    "max_replication_slots": 10,
                    "max_connections": 100,
                },
            },
        },
        "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"],
    },
    "postgresql": {
        "listen": f"{ip}:5432",
        "connect_address": f"{ip}:5432",
        "data_dir": f"{d}/data",
        "bin_dir": e["PGHA_PG_BIN"],
        "pgpass": f"{d}/pgpass",
        "authentication": {
            "superuser": {"username": "postgres", "password": e["PGHA_SU_PW"]},
            "replication": {"username": "replicator", "password": e["PGHA_REPL_PW"]},
            "rewind": {"username": "rewind_user", "password": e["PGHA_REWIND_PW"]},
        },
        "parameters": {"unix_socket_directories": f"{d}/run", "logging_collector": "off"},
        "pg_hba": [
            "local all all trust",
            "host replication replicator 127.0.0.0/8 scram-sha-256",
            "host all all 127.0.0.0/8 scram-sha-256",
        ],
    },
    "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
}

def merge(a, b):
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            merge(a[k], v)
        else:
            a[k] = v

if e.get("PGHA_EXTRA"):
    with open(e["PGHA_EXTRA"]) as f:
        merge(conf, yaml.safe_load(f) or {})
yaml.safe_dump(conf, sys.stdout, default_flow_style=False, sort_keys=False)
EOF
    chown "$PG_USER:" "$dir/patroni.yml"
    chmod 0600 "$dir/patroni.yml"
    printf '%s\n' "$dir/patroni.yml"
}

# patroni_validate CONFIG [FLAGS...] : run `patroni --validate-config CONFIG`
# as postgres (the user that will run it) with no PATRONI_* variables in the
# environment (they would be merged into the file). Prints Patroni's
# findings; returns its status (0 = valid). FLAGS: --ignore-listen-port / -i
# (REST/PostgreSQL ports already bound, e.g. while the node runs), --print.
# Fails on a missing CONFIG instead of letting Patroni fall back to the
# environment.
patroni_validate() {
    local conf=${1:?usage: patroni_validate CONFIG [FLAGS...]} b
    shift
    [[ -f $conf ]] || { pgha_log "patroni: no such config: $conf"; return 1; }
    b=$(patroni_bin) || return 1
    local home
    home=$(getent passwd "$PG_USER" | cut -d: -f6)
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" LANG=C.UTF-8 \
        setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups -- \
        "$b" --validate-config "$@" "$conf"
}

# patroni_start WORKDIR NAME : start the node from WORKDIR/NAME/patroni.yml as
# postgres (tracked, tier 50), PG*/PATRONI_*/PGBACKREST_* variables removed
# from its environment. Returns at once; see patroni_wait_role.
patroni_start() {
    local work=${1:?usage: patroni_start WORKDIR NAME} name=${2:?} b
    b=$(patroni_bin) || return 1
    [[ -f $work/$name/patroni.yml ]] || { pgha_log "patroni: $work/$name/patroni.yml missing"; return 1; }
    pgha_log "patroni: starting $name"
    pgha_spawn "$work" "$PATRONI_TIER" "patroni-$name" --user "$PG_USER" --clean-env -- \
        "$b" "$work/$name/patroni.yml" >/dev/null
}

# patroni_role_is IP ROLE : true when GET http://IP:8008/ROLE answers 200
# (ROLE: primary, replica, leader, health, read-write, ...).
patroni_role_is() {
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$1:8008/$2") == 200 ]]
}

# patroni_wait_role IP ROLE [TIMEOUT_S] : wait (default 90 s) until
# patroni_role_is IP ROLE, with progress lines.
patroni_wait_role() {
    pgha_wait_for "patroni $1 is $2" "${3:-90}" patroni_role_is "$1" "$2"
}

# patroni_stop WORKDIR NAME [TIMEOUT_S] : TERM Patroni (it stops PostgreSQL
# and releases the leader key), KILL after TIMEOUT_S (default 60), then
# clear any postmaster left in the node's data dir.
patroni_stop() {
    local work=${1:?usage: patroni_stop WORKDIR NAME} name=${2:?}
    pgha_stop "patroni-$name" "$work" "${3:-60}"
    local pid
    pid=$(head -n1 "$work/$name/data/postmaster.pid" 2>/dev/null || true)
    if pgha_pid_alive "$pid"; then
        pgha_log "patroni: postmaster $pid of $name outlived Patroni, fast shutdown"
        kill -INT "$pid" 2>/dev/null || true
        pgha_wait_for "postmaster $pid gone" 30 pgha_pid_gone "$pid" ||
            kill -KILL "$pid" 2>/dev/null || true
    fi
}

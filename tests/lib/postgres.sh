# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# postgres.sh - stand-alone PostgreSQL 15 instances run as the postgres user
# in a work dir, several side by side on one machine (one per loopback
# address, all on port 5432 if wanted). Patroni-managed nodes do not use
# this; it is for recipes and checks that need a bare server.
#
# Instance NAME lives in WORKDIR/NAME/:
#   data/   PGDATA (0700, owned by postgres)
#   run/    its own unix_socket_directories (sockets of servers on the same
#           port would collide in /var/run/postgresql otherwise)
# Logs go to WORKDIR/logs/NAME.log (logging_collector off, stderr).
#
#   . tests/lib/postgres.sh
#   pg_init "$WORK" node1                      # initdb (checksums, trust locally)
#   pg_start "$WORK" node1 127.0.0.21 5432     # waits until it accepts connections
#   pg_psql "$WORK" node1 -c 'select 1'
#   pg_stop "$WORK" node1
#
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin), PG_USER (postgres).

if [[ -n ${_PGHA_POSTGRES_SH:-} ]]; then return 0; fi
_PGHA_POSTGRES_SH=1
# shellcheck source=proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=${PG_USER:-postgres}
PG_TIER=50

# pg_datadir WORKDIR NAME : print the data directory of instance NAME.
pg_datadir() { printf '%s/%s/data\n' "$1" "$2"; }

# pg_rundir WORKDIR NAME : print the socket directory of instance NAME.
pg_rundir() { printf '%s/%s/run\n' "$1" "$2"; }

# pg_node_dirs WORKDIR NAME : create WORKDIR/NAME and its run/ dir, owned by
# postgres (the data dir itself is left to initdb or a restore).
pg_node_dirs() {
    local work=$1 name=$2
    mkdir -p "$work/$name/run"
    chmod 0755 "$work/$name"
    chown "$PG_USER:" "$work/$name" "$work/$name/run"
    chmod 0700 "$work/$name/run"
}

# pg_init WORKDIR NAME [INITDB_ARGS...] : initdb a new cluster as postgres
# with data checksums, UTF8, C.UTF-8 locale, trust for local connections and
# scram-sha-256 over TCP. Fails if the data dir exists and is not empty.
pg_init() {
    local work=${1:?usage: pg_init WORKDIR NAME [ARGS...]} name=${2:?name missing}
    shift 2
    pg_node_dirs "$work" "$name"
    pgha_as_user "$PG_USER" "$PG_BIN/initdb" -D "$(pg_datadir "$work" "$name")" \
        --data-checksums -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 -U "$PG_USER" "$@" \
        >"$work/logs/$name.initdb.log" 2>&1 ||
        { pgha_log "pg: initdb of $name failed:"; tail -n 20 "$work/logs/$name.initdb.log" >&2; return 1; }
}

# pg_conf WORKDIR NAME SETTING=VALUE... : append settings to the instance's
# postgresql.conf (values are written as given: quote strings yourself,
# e.g. "archive_command='pgbackrest ... %p'").
pg_conf() {
    local work=$1 name=$2 kv
    shift 2
    for kv in "$@"; do
        printf '%s\n' "${kv%%=*} = ${kv#*=}"
    done >>"$(pg_datadir "$work" "$name")/postgresql.conf"
}

# pg_start WORKDIR NAME IP PORT [-c SETTING=VALUE...] : start the postmaster
# in the foreground (as a tracked background process, stop signal INT =
# fast shutdown) listening on IP:PORT with its socket in WORKDIR/NAME/run,
# then wait up to PG_START_TIMEOUT (default 60) s until it accepts
# connections. Address, port and socket dir are given on the command line,
# so a data dir restored from another node's backup needs no edit.
pg_start() {
    local work=${1:?usage: pg_start WORKDIR NAME IP PORT [-c k=v...]} name=${2:?} ip=${3:?} port=${4:?}
    shift 4
    pg_node_dirs "$work" "$name"
    if pgha_tcp_open "$ip" "$port"; then
        pgha_log "pg: $ip:$port already in use"
        return 1
    fi
    local rundir
    rundir=$(pg_rundir "$work" "$name")
    pgha_spawn "$work" "$PG_TIER" "pg-$name" --user "$PG_USER" --signal INT --clean-env -- \
        "$PG_BIN/postgres" -D "$(pg_datadir "$work" "$name")" \
        -c listen_addresses="$ip" -c port="$port" -c unix_socket_directories="$rundir" \
        -c cluster_name="$name" -c logging_collector=off "$@" >/dev/null || return 1
    if ! pgha_wait_for "postgres $name on $ip:$port" "${PG_START_TIMEOUT:-60}" _pg_ready "$work" "$name" "$port"; then
        pgha_log "pg: last lines of $work/logs/pg-$name.log:"
        tail -n 20 "$work/logs/pg-$name.log" >&2 || true
        return 1
    fi
}

# _pg_ready WORKDIR NAME PORT : true when the postmaster runs and accepts
# connections on its socket.
_pg_ready() {
    local f
    f=$(pgha_pidfile "pg-$2" "$1") && pgha_pidfile_alive "$f" || return 1
    "$PG_BIN/pg_isready" -q -h "$(pg_rundir "$1" "$2")" -p "$3" -d postgres
}

# pg_port WORKDIR NAME : print the port the running instance listens on
# (from postmaster.pid).
pg_port() {
    sed -n 4p "$(pg_datadir "$1" "$2")/postmaster.pid"
}

# pg_psql WORKDIR NAME [PSQL_ARGS...] : psql as postgres through the
# instance's socket, -X -v ON_ERROR_STOP=1 -At, database postgres.
pg_psql() {
    local work=$1 name=$2 port
    shift 2
    port=$(pg_port "$work" "$name") || return 1
    pgha_as_user "$PG_USER" "$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -At \
        -h "$(pg_rundir "$work" "$name")" -p "$port" -d postgres "$@"
}

# pg_stop WORKDIR NAME [TIMEOUT_S] : fast shutdown (SIGINT), KILL after
# TIMEOUT_S (default 30).
pg_stop() {
    pgha_stop "pg-$2" "$1" "${3:-30}"
}

# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# pgbackrest.sh - pgBackRest configuration for "hosts" that share one
# machine: every node gets its own config file, lock, log and spool paths
# under WORKDIR/NODE/pgbackrest/, and points at its own PostgreSQL socket.
# The repository is the S3 endpoint of s3.sh (TLS verified with its CA).
#
#   . tests/lib/pgbackrest.sh
#   conf=$(pgbr_write_config "$WORK" node1 demo "$(pg_datadir "$WORK" node1)" \
#          "$(pg_rundir "$WORK" node1)" 5432 pgbackrest)
#   pgbr "$conf" demo stanza-create
#   pgbr "$conf" demo backup --type=full
#   pgbr_archive_command "$conf" demo    # value for archive_command
#
# Environment: PGBACKREST_BIN (default pgbackrest), PG_USER (postgres).

if [[ -n ${_PGHA_PGBACKREST_SH:-} ]]; then return 0; fi
_PGHA_PGBACKREST_SH=1
# shellcheck source=proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"
# shellcheck source=s3.sh
. "$(dirname "${BASH_SOURCE[0]}")/s3.sh"

PGBACKREST_BIN=${PGBACKREST_BIN:-pgbackrest}
PG_USER=${PG_USER:-postgres}

# pgbr_write_config WORKDIR NODE STANZA PGDATA SOCKET_DIR PORT BUCKET :
# write WORKDIR/NODE/pgbackrest/pgbackrest.conf (owned by postgres, 0640:
# it holds the S3 secret), create its lock/log/spool dirs, print its path.
pgbr_write_config() {
    local work=$1 node=$2 stanza=$3 pgdata=$4 sock=$5 port=$6 bucket=$7
    local d=$work/$node/pgbackrest
    mkdir -p "$d/lock" "$d/log" "$d/spool"
    chmod 0755 "$work/$node"
    {
        echo "# pgBackRest for $node (written by tests/lib/pgbackrest.sh)"
        echo "[global]"
        s3_pgbackrest_repo_options "$work" "$bucket"
        echo "repo1-retention-full=2"
        echo "lock-path=$d/lock"
        echo "log-path=$d/log"
        echo "spool-path=$d/spool"
        echo "log-level-console=info"
        echo "log-level-file=detail"
        echo "start-fast=y"
        echo "archive-timeout=60"
        echo "process-max=2"
        echo
        echo "[$stanza]"
        echo "pg1-path=$pgdata"
        echo "pg1-port=$port"
        echo "pg1-socket-path=$sock"
        echo "pg1-user=$PG_USER"
    } >"$d/pgbackrest.conf"
    chown -R "$PG_USER:" "$d"
    chmod 0640 "$d/pgbackrest.conf"
    printf '%s\n' "$d/pgbackrest.conf"
}

# pgbr CONFIG STANZA COMMAND [ARGS...] : run pgbackrest as postgres with
# --config=CONFIG --stanza=STANZA.
pgbr() {
    local conf=$1 stanza=$2
    shift 2
    pgha_as_user "$PG_USER" "$PGBACKREST_BIN" --config="$conf" --stanza="$stanza" "$@"
}

# pgbr_archive_command CONFIG STANZA : print the archive_command value.
pgbr_archive_command() {
    printf '%s\n' "$PGBACKREST_BIN --config=$1 --stanza=$2 archive-push %p"
}

# pgbr_restore_command CONFIG STANZA : print the restore_command value.
pgbr_restore_command() {
    printf '%s\n' "$PGBACKREST_BIN --config=$1 --stanza=$2 archive-get %f \"%p\""
}

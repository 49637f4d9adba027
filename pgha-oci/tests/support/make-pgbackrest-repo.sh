#!/usr/bin/env bash
# Builds a real pgBackRest repository for the pgha-oci tests.
#
# usage: make-pgbackrest-repo.sh WORKDIR [STANZA]
#
# Runs a throw-away PostgreSQL 15 cluster as the `postgres` user (Unix socket
# only, in WORKDIR/run), archives WAL with `pgbackrest archive-push`, creates
# the stanza, takes a full, a differential and an incremental backup into the
# posix repository WORKDIR/repo, and writes `pgbackrest info --output=json` to
# WORKDIR/info.json. PostgreSQL is stopped again on every exit path.
set -euo pipefail

work=${1:?usage: make-pgbackrest-repo.sh WORKDIR [STANZA]}
stanza=${2:-demo}
bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
port=5432  # only names the socket file; nothing listens on TCP

for tool in "$bindir/initdb" "$bindir/pg_ctl" "$bindir/psql" pgbackrest runuser; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }
done

mkdir -p "$work"/{data,repo,log,lock,spool,run}
chmod 700 "$work/data"
conf="$work/pgbackrest.conf"
cat >"$conf" <<CONF
[global]
repo1-path=$work/repo
log-path=$work/log
lock-path=$work/lock
spool-path=$work/spool
log-level-console=warn
log-level-file=off
start-fast=y
archive-timeout=60

[$stanza]
pg1-path=$work/data
pg1-port=$port
pg1-socket-path=$work/run
CONF
chown -R postgres:postgres "$work"
# The postgres user must be able to reach WORKDIR through its parents.
chmod o+x "$(dirname "$work")" 2>/dev/null || true

as_pg() { runuser -u postgres -- "$@"; }
br() { as_pg pgbackrest --config="$conf" --stanza="$stanza" "$@"; }

as_pg "$bindir/initdb" -D "$work/data" -A trust -U postgres >/dev/null
cat >>"$work/data/postgresql.conf" <<PGCONF
port = $port
listen_addresses = ''
unix_socket_directories = '$work/run'
wal_level = replica
archive_mode = on
archive_command = 'pgbackrest --config=$conf --stanza=$stanza archive-push %p'
PGCONF

stop_pg() { as_pg "$bindir/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true; }
trap stop_pg EXIT

as_pg "$bindir/pg_ctl" -D "$work/data" -l "$work/log/postgres.log" -w start >/dev/null
sql() { as_pg "$bindir/psql" -X -q -h "$work/run" -p "$port" -U postgres -d postgres -c "$1"; }

br stanza-create
br check
br --type=full backup
sql "create table t as select g as i from generate_series(1, 20000) g"
br --type=diff backup
sql "insert into t select g from generate_series(1, 5000) g"
br --type=incr backup
br --output=json info >"$work/info.json"
echo "repository ready in $work/repo"

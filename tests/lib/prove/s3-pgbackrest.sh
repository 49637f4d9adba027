#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Proof: pgBackRest backs up a PostgreSQL 15 server to moto behind stunnel
# (TLS verified against a throw-away CA) and restores it on a second "host".
#   node1: PostgreSQL on 127.0.0.21:5432, archive_command = pgbackrest archive-push
#   S3:    https://127.0.0.30:443 (stunnel) -> http://127.0.0.30:9000 (moto)
#   node2: restore of the backup, started on 127.0.0.22:5432, data checked
# Usage: tests/lib/prove/s3-pgbackrest.sh [WORKDIR]  (default: temp dir, removed at the end)
set -euo pipefail
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../postgres.sh
. "$LIB/postgres.sh"
# shellcheck source=../pgbackrest.sh
. "$LIB/pgbackrest.sh"

KEEP=${1:+1}
WORK=$(pgha_workdir_init "${1:-$(mktemp -d /tmp/pgha-pgbr.XXXXXX)}")
cleanup() { pgha_stop_all "$WORK"; [[ -n $KEEP ]] || rm -rf "$WORK"; }
trap cleanup EXIT

STANZA=pgha
BUCKET=pgbackrest
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b-a}'; }

t=$(now)
ca=$(s3_start "$WORK")
s3_create_bucket "$WORK" "$BUCKET"
echo "TIMING s3 start + bucket: $(since "$t")s (CA: $ca)"

# node1: a primary with WAL archiving to the repository.
pg_init "$WORK" node1
conf1=$(pgbr_write_config "$WORK" node1 "$STANZA" "$(pg_datadir "$WORK" node1)" \
    "$(pg_rundir "$WORK" node1)" 5432 "$BUCKET")
pg_conf "$WORK" node1 \
    "wal_level=replica" "archive_mode=on" \
    "archive_command='$(pgbr_archive_command "$conf1" "$STANZA")'" \
    "max_wal_senders=5"
t=$(now)
pg_start "$WORK" node1 127.0.0.21 5432
echo "TIMING node1 start: $(since "$t")s"
pg_psql "$WORK" node1 -c "create table proof(id int primary key, note text)" \
    -c "insert into proof select g, 'row ' || g from generate_series(1, 1000) g"

t=$(now)
pgbr "$conf1" "$STANZA" stanza-create
t_sc=$(since "$t")
t=$(now)
pgbr "$conf1" "$STANZA" check
t_check=$(since "$t")
t=$(now)
pgbr "$conf1" "$STANZA" backup --type=full
t_full=$(since "$t")
echo "TIMING stanza-create ${t_sc}s, check ${t_check}s, first full backup ${t_full}s"

# Written after the backup: reaches node2 only through archived WAL.
pg_psql "$WORK" node1 -c "insert into proof values (1001, 'after backup')" \
    -c "select pg_switch_wal()" >/dev/null
pgbr "$conf1" "$STANZA" check   # waits until the switched segment is in the repository

info=$(pgbr "$conf1" "$STANZA" info --output=json)
jq -e --arg s "$STANZA" '.[] | select(.name == $s) | .status.code == 0 and (.backup | length) >= 1' \
    <<<"$info" >/dev/null || { echo "unexpected info: $info" >&2; exit 1; }
echo "info: $(jq -c '.[0] | {name: .name, status: .status, backups: [.backup[] | {label: .label, type: .type}], archive: [.archive[] | {min: .min, max: .max}]}' <<<"$info")"
echo "objects in s3://$BUCKET: $(s3_list "$WORK" "$BUCKET" | wc -l)"

# node2: restore on another "host" (its own pgbackrest.conf, lock and log
# paths), without archiving so the copy cannot write into the stanza.
pg_node_dirs "$WORK" node2
conf2=$(pgbr_write_config "$WORK" node2 "$STANZA" "$(pg_datadir "$WORK" node2)" \
    "$(pg_rundir "$WORK" node2)" 5432 "$BUCKET")
install -d -o "$PG_USER" -m 0700 "$(pg_datadir "$WORK" node2)"
t=$(now)
pgbr "$conf2" "$STANZA" restore --archive-mode=off --log-level-console=warn
pg_start "$WORK" node2 127.0.0.22 5432
node2_promoted() { [[ $(pg_psql "$WORK" node2 -c "select pg_is_in_recovery()") == f ]]; }
pgha_wait_for "node2 replayed the archive and promoted" 120 node2_promoted
echo "TIMING restore + start + recovery: $(since "$t")s"
rows=$(pg_psql "$WORK" node2 -c "select count(*) from proof")
last=$(pg_psql "$WORK" node2 -c "select note from proof where id = 1001")
echo "node2: $rows rows, row 1001 = '$last'"
[[ $rows == 1001 && $last == "after backup" ]] || { echo "FAIL: restored data differs" >&2; exit 1; }
echo "PASS s3-pgbackrest"

#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Proof: the whole local topology together, as separate "hosts" on loopback.
#   etcd 127.0.0.11-13, S3 (moto + stunnel TLS) 127.0.0.30:443,
#   Patroni + PostgreSQL 15 + pgBackRest on 127.0.0.21-23, HAProxy 127.0.0.40.
# node1 bootstraps; stanza-create + full backup; node2/node3 are created by
# pgBackRest restore (create_replica_methods: pgbackrest, basebackup);
# writes through HAProxy; a switchover; a failover (leader stopped); an
# incremental backup from the new primary; the old leader rejoins.
# Usage: tests/lib/prove/cluster.sh [WORKDIR]  (default: temp dir, removed at the end)
set -euo pipefail
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for l in etcd s3 pgbackrest patroni haproxy; do
    # shellcheck source=/dev/null
    . "$LIB/$l.sh"
done

KEEP=${1:+1}
WORK=$(pgha_workdir_init "${1:-$(mktemp -d /tmp/pgha-cluster.XXXXXX)}")
cleanup() { pgha_stop_all "$WORK"; [[ -n $KEEP ]] || rm -rf "$WORK"; }
trap cleanup EXIT
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b-a}'; }
STANZA=pgha
BUCKET=pgbackrest
NODES=(node1 node2 node3)
declare -A IP=([node1]=127.0.0.21 [node2]=127.0.0.22 [node3]=127.0.0.23)
export PGPASSWORD=pgha-test-superuser
# sql HOST PORT SQL : one query as postgres over TCP.
sql() { "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U postgres -d postgres -c "$3"; }
# rows_are HOST PORT N : true when table proof has N rows there.
rows_are() { [[ $(sql "$1" "$2" "select count(*) from proof" 2>/dev/null) == "$3" ]]; }
# any_primary IP... : true when one of the nodes answers 200 on /primary.
any_primary() {
    local ip
    for ip in "$@"; do patroni_role_is "$ip" primary && return 0; done
    return 1
}
# primary_name : print the member that is Leader.
primary_name() { patronictl_ "$WORK/node1/patroni.yml" list -f json | jq -r '.[] | select(.Role == "Leader") | .Member'; }

t=$(now)
etcd_start_cluster "$WORK"
s3_start "$WORK" >/dev/null
s3_create_bucket "$WORK" "$BUCKET"
etcd_wait_healthy "$WORK" 60
echo "TIMING etcd + s3 up: $(since "$t")s"

for n in "${NODES[@]}"; do
    conf=$(pgbr_write_config "$WORK" "$n" "$STANZA" "$WORK/$n/data" "$WORK/$n/run" 5432 "$BUCKET")
    # Node-local Patroni settings: each "host" has its own pgbackrest.conf.
    cat >"$WORK/$n.extra.yml" <<EOF
postgresql:
  parameters:
    archive_mode: "on"
    archive_command: "$(pgbr_archive_command "$conf" "$STANZA")"
    archive_timeout: 60
  recovery_conf:
    restore_command: '$(pgbr_restore_command "$conf" "$STANZA")'
  create_replica_methods: [pgbackrest, basebackup]
  pgbackrest:
    command: "pgbackrest --config=$conf --stanza=$STANZA --delta restore"
    keep_data: true
    no_params: true
  basebackup:
    checkpoint: fast
EOF
    patroni_write_config "$WORK" "$n" "${IP[$n]}" "$WORK/$n.extra.yml" >/dev/null
    patroni_validate "$WORK/$n/patroni.yml"
done
echo "patroni --validate-config: all three configs valid"

t=$(now)
patroni_start "$WORK" node1
patroni_wait_role 127.0.0.21 primary 90
echo "TIMING node1 bootstrap -> primary: $(since "$t")s"
[[ $(sql 127.0.0.21 5432 "show archive_command") == pgbackrest\ --config="$WORK"/node1/* ]] ||
    { echo "FAIL: node-local archive_command not applied"; exit 1; }

conf1=$WORK/node1/pgbackrest/pgbackrest.conf
t=$(now)
pgbr "$conf1" "$STANZA" stanza-create --log-level-console=warn
pgbr "$conf1" "$STANZA" check --log-level-console=warn
pgbr "$conf1" "$STANZA" backup --type=full --log-level-console=warn
echo "TIMING stanza-create + check + first full backup: $(since "$t")s"

t=$(now)
patroni_start "$WORK" node2
patroni_start "$WORK" node3
patroni_wait_role 127.0.0.22 replica 180
patroni_wait_role 127.0.0.23 replica 180
echo "TIMING node2 + node3 created from the pgBackRest backup -> replica: $(since "$t")s"
for n in node2 node3; do
    grep -q "replica has been created using pgbackrest" "$WORK/logs/patroni-$n.log" ||
        { echo "FAIL: $n was not created with pgbackrest"; grep -i replica "$WORK/logs/patroni-$n.log" | tail; exit 1; }
done
echo "node2, node3: replica has been created using pgbackrest"

t=$(now)
haproxy_start "$WORK" 127.0.0.21 127.0.0.22 127.0.0.23
pgha_wait_for "haproxy sees node1 as primary" 20 haproxy_backend_up primary node1
echo "TIMING haproxy up: $(since "$t")s"
sql "$HAPROXY_IP" 5432 "create table proof(id serial primary key, at text default now()::text, node text)"
sql "$HAPROXY_IP" 5432 "insert into proof(node) values ('node1')"
pgha_wait_for "row on a replica through haproxy:5433" 20 rows_are "$HAPROXY_IP" 5433 1
patronictl_ "$WORK/node1/patroni.yml" list

t=$(now)
patronictl_ "$WORK/node1/patroni.yml" switchover --leader node1 --candidate node2 --force
patroni_wait_role 127.0.0.22 primary 60
pgha_wait_for "haproxy routes to node2" 20 haproxy_backend_up primary node2
echo "TIMING switchover node1 -> node2 (incl. haproxy): $(since "$t")s"
sql "$HAPROXY_IP" 5432 "insert into proof(node) values ('node2')"

t=$(now)
patroni_stop "$WORK" node2
pgha_wait_for "a new leader among node1/node3" 60 any_primary 127.0.0.21 127.0.0.23
new=$(primary_name)
pgha_wait_for "haproxy routes to $new" 20 haproxy_backend_up primary "$new"
echo "TIMING failover after stopping leader node2 -> $new (incl. haproxy): $(since "$t")s"
sql "$HAPROXY_IP" 5432 "insert into proof(node) values ('$new')"
[[ $(sql "$HAPROXY_IP" 5432 "select count(*) from proof") == 3 ]] || { echo "FAIL: rows lost"; exit 1; }

t=$(now)
pgbr "$WORK/$new/pgbackrest/pgbackrest.conf" "$STANZA" backup --type=incr --log-level-console=warn
echo "TIMING incremental backup from new primary $new: $(since "$t")s"

t=$(now)
patroni_start "$WORK" node2
patroni_wait_role 127.0.0.22 replica 120
echo "TIMING old leader node2 rejoins as replica: $(since "$t")s"
pgha_wait_for "node2 has all rows" 30 rows_are 127.0.0.22 5432 3
patronictl_ "$WORK/node1/patroni.yml" list
pgbr "$WORK/$new/pgbackrest/pgbackrest.conf" "$STANZA" info
echo "PASS cluster"

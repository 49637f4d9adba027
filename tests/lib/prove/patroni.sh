#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Proof: what `patroni --validate-config` (Patroni 4.x) checks on this
# machine, then one Patroni node (PostgreSQL 15, run as postgres) on
# 127.0.0.21 with the 3-member etcd cluster becomes leader: `patronictl
# list` shows it as Leader/running and GET /primary answers 200.
# Usage: tests/lib/prove/patroni.sh [WORKDIR]  (default: temp dir, removed at the end)
set -euo pipefail
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../etcd.sh
. "$LIB/etcd.sh"
# shellcheck source=../patroni.sh
. "$LIB/patroni.sh"

KEEP=${1:+1}
WORK=$(pgha_workdir_init "${1:-$(mktemp -d /tmp/pgha-patroni.XXXXXX)}")
cleanup() { pgha_stop_all "$WORK"; [[ -n $KEEP ]] || rm -rf "$WORK"; }
trap cleanup EXIT
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b-a}'; }

echo "Patroni $(patroni_version) at $(patroni_bin)"
conf=$(patroni_write_config "$WORK" node1 127.0.0.21)

# expect_valid DESC FILE [FLAGS] / expect_invalid DESC PATTERN FILE [FLAGS]:
# run patroni_validate and compare with the expected outcome.
fails=0
expect_valid() {
    local desc=$1 out
    shift
    if out=$(patroni_validate "$@" 2>&1); then
        echo "ok   valid:   $desc"
    else
        echo "FAIL expected valid: $desc -> $out"; fails=$((fails + 1))
    fi
}
expect_invalid() {
    local desc=$1 pat=$2 out
    shift 2
    if out=$(patroni_validate "$@" 2>&1); then
        echo "FAIL expected invalid: $desc"; fails=$((fails + 1))
    elif grep -q -- "$pat" <<<"$out"; then
        echo "ok   invalid: $desc -> $(grep -m1 -- "$pat" <<<"$out")"
    else
        echo "FAIL wrong message for $desc: $out"; fails=$((fails + 1))
    fi
}
# variant NAME PYTHON_EXPR : copy of the config changed by a Python
# statement on `c` (the parsed YAML); prints the new path.
variant() {
    local out=$WORK/variants/$1.yml
    mkdir -p "$WORK/variants"
    chmod 0755 "$WORK/variants"
    "$PGHA_VENV/bin/python" -c '
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
exec(sys.argv[2])
yaml.safe_dump(c, open(sys.argv[3], "w"), sort_keys=False)' "$conf" "$2" "$out"
    chmod 0644 "$out"
    printf '%s\n' "$out"
}

echo "--- validate-config with etcd down"
expect_invalid "etcd3.hosts not reachable" "is not reachable" "$conf"
expect_invalid "etcd3.hosts as a comma string, not reachable" "is not reachable" \
    "$(variant hosts-string 'c["etcd3"]["hosts"] = ",".join(c["etcd3"]["hosts"])')"
expect_valid "etcd3.url is not probed" \
    "$(variant url 'c["etcd3"] = {"url": "http://127.0.0.11:2379"}')"

t=$(now)
etcd_start_cluster "$WORK"
etcd_wait_healthy "$WORK" 60
echo "TIMING etcd cluster start->healthy: $(since "$t")s"

echo "--- validate-config with etcd up"
expect_valid "generated config" "$conf"
expect_invalid "missing bin_dir" "does not exist" \
    "$(variant bindir-missing 'c["postgresql"]["bin_dir"] = "/usr/lib/postgresql/99/bin"')"
expect_invalid "bin_dir unset: PATH lacks pg_controldata" "does not contain" \
    "$(variant bindir-unset 'del c["postgresql"]["bin_dir"]')"
expect_invalid "connect_address 127.0.0.1" 'must not contain "127.0.0.1"' \
    "$(variant connect-localhost 'c["restapi"]["connect_address"] = "127.0.0.1:8008"')"
expect_valid "listen on an address nothing uses (bindability is not checked)" \
    "$(variant listen-foreign 'c["restapi"]["listen"] = "127.0.0.99:8008"')"
expect_invalid "ttl below 20" "ttl" \
    "$(variant ttl-low 'c["bootstrap"]["dcs"]["ttl"] = 10')"
expect_invalid "missing superuser authentication" "superuser" \
    "$(variant no-superuser 'del c["postgresql"]["authentication"]["superuser"]')"
expect_valid "unknown key postgresql.paramters (ignored, not reported)" \
    "$(variant typo 'c["postgresql"]["paramters"] = {"x": 1}')"
mkdir -p "$WORK/junk-data"
touch "$WORK/junk-data/file"
expect_invalid "non-empty data_dir without PG_VERSION" "doesn't look like a valid data directory" \
    "$(variant junk-data "c['postgresql']['data_dir'] = '$WORK/junk-data'")"
echo 14 >"$WORK/junk-data/PG_VERSION"
mkdir -p "$WORK/junk-data/pg_wal"
expect_invalid "data_dir of another major version" "doesn't match" \
    "$(variant junk-data14 "c['postgresql']['data_dir'] = '$WORK/junk-data'")"
# Raw patroni (not patroni_validate, which refuses a missing file): a
# config path that does not exist silently means "read PATRONI_* variables".
if out=$(env -i PATH=/usr/bin:/bin "$(patroni_bin)" --validate-config "$WORK/nonexistent.yml" 2>&1); then
    echo "FAIL expected invalid: missing config file"; fails=$((fails + 1))
elif grep -q -- "is not defined" <<<"$out" && ! grep -q -- "nonexistent.yml" <<<"$out"; then
    echo "ok   invalid: missing config file is not reported as missing -> $(head -n1 <<<"$out") ..."
else
    echo "FAIL wrong message for a missing config file: $out"; fails=$((fails + 1))
fi
# PATRONI_* variables are merged into the file before validation.
if out=$(env -i PATH=/usr/bin:/bin PATRONI_RESTAPI_CONNECT_ADDRESS=127.0.0.1:8008 \
    "$(patroni_bin)" --validate-config "$conf" 2>&1); then
    echo "FAIL expected invalid: PATRONI_RESTAPI_CONNECT_ADDRESS override"; fails=$((fails + 1))
elif grep -q -- 'must not contain "127.0.0.1"' <<<"$out"; then
    echo "ok   invalid: environment overrides the file -> $out"
else
    echo "FAIL wrong message for the PATRONI_RESTAPI_CONNECT_ADDRESS override: $out"; fails=$((fails + 1))
fi

echo "--- start node1"
t=$(now)
patroni_start "$WORK" node1
patroni_wait_role 127.0.0.21 primary 90
echo "TIMING patroni start->primary (initdb + bootstrap): $(since "$t")s"
patronictl_ "$conf" list
patronictl_ "$conf" list -f json | jq -e '.[] | select(.Member == "node1" and .Role == "Leader" and .State == "running")' >/dev/null
[[ $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.21:8008/primary) == 200 ]]
[[ $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.21:8008/replica) == 503 ]]
PGPASSWORD=pgha-test-superuser "$PG_BIN/psql" -X -At -h 127.0.0.21 -U postgres -d postgres \
    -c "select 'server ' || current_setting('server_version') || ', in recovery: ' || pg_is_in_recovery()"

echo "--- validate-config while the node runs"
expect_invalid "REST API port in use" "already in use" "$conf"
expect_valid "same, with --ignore-listen-port" "$conf" --ignore-listen-port
mkdir -p "$WORK/fake13"
for b in pg_ctl initdb pg_controldata pg_basebackup pg_isready postgres; do
    printf '#!/bin/sh\necho "%s (PostgreSQL) 13.16"\n' "$b" >"$WORK/fake13/$b"
    chmod 0755 "$WORK/fake13/$b"
done
expect_invalid "existing data_dir is checked against bin_dir's postgres --version" "doesn't match" \
    "$(variant bin13 "c['postgresql']['bin_dir'] = '$WORK/fake13'")" -i

t=$(now)
patroni_stop "$WORK" node1
echo "TIMING patroni stop: $(since "$t")s"
t=$(now)
patroni_start "$WORK" node1
patroni_wait_role 127.0.0.21 primary 90
echo "TIMING patroni restart->primary (existing data): $(since "$t")s"

((fails == 0)) || { echo "FAIL: $fails validate-config expectations not met"; exit 1; }
echo "PASS patroni"

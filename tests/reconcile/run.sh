#!/usr/bin/env bash
# The reconcile unit against the metadata stand-in, on one rendered host (no services): a bundle
# whose hash is wrong and one over the metadata limit are refused and change nothing; the
# rendered bundle is applied with each file's owner and mode; a second run changes nothing. Then
# the unit on its timer through the local suites' systemd stand-in (a hand edit is put back within
# two periods), and the stand-in's `systemctl reload`.
#
#   bash tests/reconcile/run.sh        (root: the files are owned by postgres)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
pgha=${PGHA_BIN:-$repo/target/debug/pgha}
listen=127.0.0.42:8099
passed=0 failed=0
check() {
    local name=$1
    shift
    if "$@"; then echo "ok   - $name"; passed=$((passed + 1)); else echo "FAIL - $name"; failed=$((failed + 1)); fi
}
work=$(mktemp -d /var/tmp/pgha-reconcile.XXXXXX)
server=""
cleanup() {
    [[ -n $server ]] && kill "$server" 2>/dev/null
    [[ -d $work/sw ]] && PGHA_STANDIN_HOST=node1 PGHA_STANDIN_WORK=$work/sw \
        "$repo/tests/standin/pgha-standin" systemctl stop pgha-reconcile.timer hup.service >/dev/null 2>&1
    [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT

sed -e "s#root: /var/tmp/pgha-e2e/hosts#root: $work/host\n  metadata_url: http://$listen/{host}/opc/v2/instance/metadata/pgha_bundle\n  reconcile_interval_seconds: 5#" \
    "$repo/tests/e2e/local-cluster.yaml" >"$work/cluster.yaml"
"$pgha" render --spec "$work/cluster.yaml" --out "$work/out" >"$work/render.log"
rendered=$work/out/node1$work/host
cp -a "$rendered" "$work/host"
yml=etc/patroni/patroni.yml
rm "$work/host/$yml"
script=$work/host/usr/local/libexec/pgha/pgha-reconcile
state=$work/host/var/lib/pgha/reconcile/state.json
mkdir -p "$work/md/node1"
python3 "$repo/tests/standin/metadata-server" --listen "$listen" --dir "$work/md" 2>"$work/md.log" &
server=$!
for _ in $(seq 50); do timeout 1 bash -c "</dev/tcp/${listen%:*}/${listen#*:}" 2>/dev/null && break; sleep 0.1; done

reconcile() { timeout 120 python3 "$script" >>"$work/reconcile.log" 2>&1; }
result() { [[ $(jq -r .result "$state") == "$1" ]]; }
refused() { ! reconcile && result refused; }
bundle=$work/out/node1/pgha_bundle
hash=$(cut -d: -f2 "$bundle")

# One character of the named hash changed.
sed 's/^pgha-bundle-1:\(.\)/pgha-bundle-1:X/' "$bundle" >"$work/md/node1/pgha_bundle"
check "a bundle whose hash does not match is refused (exit 1, state refused)" refused
check "... patroni.yml not written" test ! -e "$work/host/$yml"

{ printf 'pgha-bundle-1:%s:' "$hash"; head -c 40000 /dev/zero | base64 -w0; } >"$work/md/node1/pgha_bundle"
check "a bundle over 32,000 bytes is refused" refused

cp "$bundle" "$work/md/node1/pgha_bundle"
check "the rendered bundle is applied" reconcile
check "... state.json names its hash" bash -c "[[ \$(jq -r .applied_hash '$state') == $hash ]]"
check "... as applied" result applied
check "... patroni.yml has the rendered content, postgres:postgres 0600" bash -c \
    "cmp -s '$rendered/$yml' '$work/host/$yml' && [[ \$(stat -c '%U:%G %a' '$work/host/$yml') == 'postgres:postgres 600' ]]"
check "a second run finds it unchanged" bash -c "timeout 120 python3 '$script' >>'$work/reconcile.log' 2>&1"
check "... recorded as unchanged" result unchanged
check "the metadata stand-in answers 401 without the Bearer header" bash -c \
    "[[ \$(curl -s -o /dev/null -w '%{http_code}' http://$listen/node1/opc/v2/instance/metadata/pgha_bundle) == 401 ]]"

# The same unit on its timer, as systemd runs it: the local suites' stand-in runs the rendered
# pgha-reconcile.timer (OnActiveSec/OnUnitInactiveSec 5 s) and its oneshot service.
standin=$repo/tests/standin/pgha-standin
export PGHA_STANDIN_HOST=node1 PGHA_STANDIN_ROOT=$work/host PGHA_STANDIN_WORK=$work/sw PGHA_STANDIN_TIER=50
mkdir -p "$work/sw"
sysctl() { "$standin" systemctl "$@" >>"$work/reconcile.log" 2>&1; }
check "the rendered timer runs every 5 s" grep -qx 'OnUnitInactiveSec=5s' "$work/host/etc/systemd/system/pgha-reconcile.timer"
check "a oneshot start runs the service to its end and returns its result" sysctl start pgha-reconcile.service
check "... recorded as unchanged (same bundle)" result unchanged
check "the timer starts" sysctl start pgha-reconcile.timer
check "... and is active" sysctl is-active --quiet pgha-reconcile.timer
echo "edited by hand" >"$work/host/$yml"
chmod 0644 "$work/host/$yml"
put_back() { cmp -s "$rendered/$yml" "$work/host/$yml" && [[ $(stat -c '%a' "$work/host/$yml") == 600 ]]; }
waited() {
    local _
    for _ in $(seq 150); do "$@" && return 0; sleep 0.2; done
    return 1
}
check "a hand edit of patroni.yml is put back by the timer within two periods" waited put_back
one_file() { jq -r .message "$state" | grep -qF ': 1 file(s) written'; }
check "... recorded as applied (1 file)" waited one_file
check "the timer stops" sysctl stop pgha-reconcile.timer
check "... and is inactive" bash -c "! '$standin' systemctl is-active --quiet pgha-reconcile.timer"

# systemctl reload as systemd does it: ExecReload= with $MAINPID, refused for a stopped unit.
cat >"$work/host/etc/systemd/system/hup.service" <<EOF
[Service]
Type=simple
ExecStart=/usr/bin/python3 -c "import signal, time; signal.signal(signal.SIGHUP, lambda *a: open('$work/hup', 'a').write('hup')); time.sleep(3600)"
ExecReload=/bin/kill -s HUP \$MAINPID
EOF
check "reload of a stopped unit fails" bash -c "! '$standin' systemctl reload hup.service 2>/dev/null"
check "a service starts" sysctl start hup.service
sleep 0.5
check "... reload sends SIGHUP to its main process" bash -c "'$standin' systemctl reload hup.service && sleep 0.3 && grep -qx hup '$work/hup'"
check "... and it stops" sysctl stop hup.service

echo "$passed passed, $failed failed"
if ((failed > 0)); then
    sed 's/^/  reconcile: /' "$work/reconcile.log" | tail -n 40 >&2
    exit 1
fi

# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# etcd.sh - a 3-member etcd cluster (Debian's etcd 3.4) on loopback:
# member i is "etcdi" on 127.0.0.1(i) (127.0.0.11, .12, .13), client port
# 2379, peer port 2380, data dir WORKDIR/etcd/etcdi, log WORKDIR/logs/etcdi.log.
#
#   . tests/lib/etcd.sh
#   WORK=$(pgha_workdir_init /tmp/w); trap 'pgha_stop_all "$WORK"' EXIT
#   etcd_start_cluster "$WORK"          # all members at once, state "new"
#   etcd_wait_healthy "$WORK" 60        # progress lines, non-zero on timeout
#   etcdctl --endpoints="$(etcd_endpoints)" endpoint status -w table
#   etcd_stop_cluster "$WORK"
#
# Environment: ETCD_MEMBERS (default 3), ETCD_BIN (default etcd on PATH),
# ETCDCTL_BIN (default etcdctl), ETCD_CLUSTER_TOKEN (default pgha-<random>).

if [[ -n ${_PGHA_ETCD_SH:-} ]]; then return 0; fi
_PGHA_ETCD_SH=1
# shellcheck source=proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

ETCD_MEMBERS=${ETCD_MEMBERS:-3}
ETCD_BIN=${ETCD_BIN:-etcd}
ETCDCTL_BIN=${ETCDCTL_BIN:-etcdctl}
# Shutdown tier (see proc.sh): etcd stops after everything that uses it.
ETCD_TIER=10

# etcd_ip I : loopback address of member I (1-based): 127.0.0.1I.
etcd_ip() { printf '127.0.0.%d\n' "$((10 + $1))"; }

# etcd_endpoints : comma-separated client URLs of all members
# (http://127.0.0.11:2379,...), for etcdctl --endpoints.
etcd_endpoints() {
    local i out=()
    for ((i = 1; i <= ETCD_MEMBERS; i++)); do out+=("http://$(etcd_ip "$i"):2379"); done
    (IFS=,; printf '%s\n' "${out[*]}")
}

# etcd_hosts : comma-separated host:port list (127.0.0.11:2379,...), the
# form Patroni's etcd3.hosts accepts.
etcd_hosts() {
    local i out=()
    for ((i = 1; i <= ETCD_MEMBERS; i++)); do out+=("$(etcd_ip "$i"):2379"); done
    (IFS=,; printf '%s\n' "${out[*]}")
}

# etcd_initial_cluster : the --initial-cluster value for all members.
etcd_initial_cluster() {
    local i out=()
    for ((i = 1; i <= ETCD_MEMBERS; i++)); do out+=("etcd$i=http://$(etcd_ip "$i"):2380"); done
    (IFS=,; printf '%s\n' "${out[*]}")
}

# etcdctl3 ARGS... : etcdctl with the v3 API against all members.
etcdctl3() {
    ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints="$(etcd_endpoints)" --dial-timeout=2s --command-timeout=3s "$@"
}

# etcd_start_member WORKDIR I : start member I with --initial-cluster-state
# new (a data dir left from an earlier run is reused: etcd then ignores the
# initial-cluster flags). Fails when its ports are taken.
etcd_start_member() {
    local work=$1 i=$2 ip name
    ip=$(etcd_ip "$i")
    name="etcd$i"
    local p
    for p in 2379 2380; do
        if pgha_tcp_open "$ip" "$p"; then
            pgha_log "etcd: $ip:$p is already in use (a leftover etcd?)"
            return 1
        fi
    done
    mkdir -p "$work/etcd/$name"
    chmod 0700 "$work/etcd/$name"
    pgha_spawn "$work" "$ETCD_TIER" "$name" -- "$ETCD_BIN" \
        --name "$name" \
        --data-dir "$work/etcd/$name" \
        --listen-client-urls "http://$ip:2379" \
        --advertise-client-urls "http://$ip:2379" \
        --listen-peer-urls "http://$ip:2380" \
        --initial-advertise-peer-urls "http://$ip:2380" \
        --initial-cluster "$(etcd_initial_cluster)" \
        --initial-cluster-state new \
        --initial-cluster-token "$ETCD_CLUSTER_TOKEN" \
        --heartbeat-interval 100 --election-timeout 1000 \
        --log-outputs stderr >/dev/null
}

# etcd_start_cluster WORKDIR : start all ETCD_MEMBERS members together (they
# must all be up for the first election). Returns at once; use
# etcd_wait_healthy. On failure, stops the members it started.
etcd_start_cluster() {
    local work=${1:?usage: etcd_start_cluster WORKDIR}
    command -v "$ETCD_BIN" >/dev/null || { pgha_log "etcd: $ETCD_BIN not found (scripts/setup.sh installs etcd-server)"; return 1; }
    ETCD_CLUSTER_TOKEN=${ETCD_CLUSTER_TOKEN:-pgha-$RANDOM$RANDOM}
    pgha_log "etcd: starting $ETCD_MEMBERS members ($(etcd_endpoints)) under $work/etcd"
    printf 'etcd_stop_cluster\n' >"$work/pids/$(printf '%02d' "$ETCD_TIER").stop-hook"
    local i
    for ((i = 1; i <= ETCD_MEMBERS; i++)); do
        if ! etcd_start_member "$work" "$i"; then
            etcd_stop_cluster "$work"
            return 1
        fi
    done
}

# _etcd_all_healthy WORKDIR : true when every member answers `endpoint
# health` and every started process is still alive.
_etcd_all_healthy() {
    local work=$1 i f
    for ((i = 1; i <= ETCD_MEMBERS; i++)); do
        f=$(pgha_pidfile "etcd$i" "$work") || return 1
        pgha_pidfile_alive "$f" || return 1
    done
    etcdctl3 endpoint health >/dev/null 2>&1
}

# etcd_wait_healthy WORKDIR [TIMEOUT_S] : wait (default 60 s) until all
# members are healthy, printing progress. On timeout, or when a member died,
# prints the tail of each member's log and returns 1.
etcd_wait_healthy() {
    local work=${1:?usage: etcd_wait_healthy WORKDIR [TIMEOUT]} timeout=${2:-60}
    if pgha_wait_for "etcd cluster healthy ($ETCD_MEMBERS members)" "$timeout" _etcd_all_healthy "$work"; then
        return 0
    fi
    local i
    for ((i = 1; i <= ETCD_MEMBERS; i++)); do
        pgha_log "etcd: last lines of $work/logs/etcd$i.log:"
        tail -n 5 "$work/logs/etcd$i.log" >&2 || true
    done
    return 1
}

# etcd_leader_index : print the member number (1-based) of the current
# leader; fails when no member answers.
etcd_leader_index() {
    local json ep
    json=$(etcdctl3 endpoint status -w json 2>/dev/null) || true
    ep=$(jq -r '.[] | select(.Status.leader == .Status.header.member_id) | .Endpoint' <<<"${json:-[]}" 2>/dev/null | head -n1)
    [[ $ep =~ ^http://127\.0\.0\.([0-9]+):2379$ ]] || return 1
    printf '%s\n' "$((BASH_REMATCH[1] - 10))"
}

# etcd_stop_cluster WORKDIR [TIMEOUT_S] : stop all members (TERM, then KILL
# after TIMEOUT_S, default 10): the followers first, the leader last. When
# all get TERM at once, the leader hands leadership to a member that is
# itself stopping, which then waits ~7 s for a transfer that cannot happen.
# Data dirs stay.
etcd_stop_cluster() {
    local work=${1:?usage: etcd_stop_cluster WORKDIR} timeout=${2:-10} i f leader=0 files=()
    leader=$(etcd_leader_index) || leader=0
    for ((i = 1; i <= ETCD_MEMBERS; i++)); do
        ((i == leader)) && continue
        if f=$(pgha_pidfile "etcd$i" "$work"); then files+=("$f"); fi
    done
    ((${#files[@]} == 0)) || pgha_stop_pidfiles "$timeout" "${files[@]}"
    if ((leader > 0)) && f=$(pgha_pidfile "etcd$leader" "$work"); then
        pgha_stop_pidfiles "$timeout" "$f"
    fi
}

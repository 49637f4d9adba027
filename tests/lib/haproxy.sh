# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# haproxy.sh - HAProxy standing in for the network load balancer in front of
# Patroni nodes: HAPROXY_IP:5432 goes to the node whose REST API answers
# 200 on GET /primary, HAPROXY_IP:5433 round-robins over nodes answering 200
# on GET /replica. Health checks every second on port 8008.
#
#   . tests/lib/haproxy.sh
#   haproxy_start "$WORK" 127.0.0.21 127.0.0.22 127.0.0.23
#   psql -h 127.0.0.40 -p 5432 ...         # the primary
#   haproxy_stop "$WORK"
#
# Environment: HAPROXY_IP (127.0.0.40), HAPROXY_PRIMARY_PORT (5432),
# HAPROXY_REPLICA_PORT (5433), HAPROXY_STATS_PORT (7000), HAPROXY_BIN (haproxy).

if [[ -n ${_PGHA_HAPROXY_SH:-} ]]; then return 0; fi
_PGHA_HAPROXY_SH=1
# shellcheck source=proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

HAPROXY_IP=${HAPROXY_IP:-127.0.0.40}
HAPROXY_PRIMARY_PORT=${HAPROXY_PRIMARY_PORT:-5432}
HAPROXY_REPLICA_PORT=${HAPROXY_REPLICA_PORT:-5433}
HAPROXY_STATS_PORT=${HAPROXY_STATS_PORT:-7000}
HAPROXY_BIN=${HAPROXY_BIN:-haproxy}
HAPROXY_TIER=70

# haproxy_write_config WORKDIR NODE_IP... : write WORKDIR/haproxy/haproxy.cfg
# for the given Patroni nodes (PostgreSQL on :5432, REST API on :8008),
# check it with `haproxy -c`, print its path.
haproxy_write_config() {
    local work=${1:?usage: haproxy_write_config WORKDIR NODE_IP...} ip i=0
    shift
    (($#)) || { pgha_log "haproxy: no nodes given"; return 1; }
    mkdir -p "$work/haproxy"
    local cfg=$work/haproxy/haproxy.cfg servers=""
    for ip in "$@"; do
        i=$((i + 1))
        servers+="    server node$i $ip:5432 check port 8008"$'\n'
    done
    cat >"$cfg" <<EOF
# Load balancer for the Patroni nodes (written by tests/lib/haproxy.sh)
global
    maxconn 200
    log stderr format short local0 notice

defaults
    log global
    mode tcp
    option tcplog
    retries 2
    timeout connect 3s
    timeout client 30m
    timeout server 30m
    timeout check 2s
    default-server inter 1s fastinter 500ms fall 2 rise 2 on-marked-down shutdown-sessions

listen stats
    mode http
    bind $HAPROXY_IP:$HAPROXY_STATS_PORT
    stats enable
    stats uri /

listen primary
    bind $HAPROXY_IP:$HAPROXY_PRIMARY_PORT
    option httpchk GET /primary
    http-check expect status 200
${servers}
listen replicas
    bind $HAPROXY_IP:$HAPROXY_REPLICA_PORT
    balance roundrobin
    option httpchk GET /replica
    http-check expect status 200
${servers}
EOF
    "$HAPROXY_BIN" -c -q -f "$cfg" || { pgha_log "haproxy: $cfg is invalid"; return 1; }
    printf '%s\n' "$cfg"
}

# haproxy_start WORKDIR NODE_IP... : write the config and run haproxy in the
# foreground (-db) as a tracked process; waits until its frontends listen.
haproxy_start() {
    local work=${1:?usage: haproxy_start WORKDIR NODE_IP...} cfg
    shift
    cfg=$(haproxy_write_config "$work" "$@") || return 1
    pgha_spawn "$work" "$HAPROXY_TIER" haproxy -- "$HAPROXY_BIN" -db -f "$cfg" >/dev/null || return 1
    pgha_wait_for "haproxy on $HAPROXY_IP:$HAPROXY_PRIMARY_PORT" 15 \
        pgha_tcp_open "$HAPROXY_IP" "$HAPROXY_STATS_PORT"
}

# haproxy_backend_up BACKEND SERVER : true when the stats page reports
# SERVER of BACKEND (primary|replicas) as UP.
haproxy_backend_up() {
    curl -fsS --max-time 2 "http://$HAPROXY_IP:$HAPROXY_STATS_PORT/;csv" |
        awk -F, -v b="$1" -v s="$2" '$1 == b && $2 == s && $18 == "UP" {found = 1} END {exit !found}'
}

# haproxy_stop WORKDIR : stop haproxy.
haproxy_stop() {
    pgha_stop haproxy "${1:?usage: haproxy_stop WORKDIR}" 10
}

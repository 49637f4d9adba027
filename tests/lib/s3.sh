# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# s3.sh - an S3-compatible endpoint with TLS on 127.0.0.30:443 for
# pgBackRest: moto's server speaking plain HTTP on 127.0.0.30:9000, and
# stunnel4 in front terminating TLS with a certificate from a throw-away CA
# (SAN: IP 127.0.0.30 and DNS s3.pgha.test). moto keeps everything in memory:
# stopping it loses every object (and the bucket).
#
#   . tests/lib/s3.sh
#   WORK=$(pgha_workdir_init /tmp/w); trap 'pgha_stop_all "$WORK"' EXIT
#   s3_start "$WORK"                 # prints the CA file path
#   s3_create_bucket "$WORK" pgbackrest
#   s3_pgbackrest_repo_options "$WORK" pgbackrest   # lines for pgbackrest.conf [global]
#   s3_stop "$WORK"
#
# Environment (defaults):
#   S3_IP=127.0.0.30  S3_PORT=443  S3_HTTP_PORT=9000  S3_HOSTNAME=s3.pgha.test
#   S3_ENDPOINT=$S3_IP (what pgBackRest is told; may be S3_HOSTNAME)
#   S3_REGION=us-east-1  S3_KEY=pgha-test-key  S3_SECRET=pgha-test-secret
#   MOTO_SERVER (path of moto_server; default: $PGHA_VENV/bin/moto_server,
#   else moto_server on PATH, pyenv shims resolved)  STUNNEL_BIN=stunnel4

if [[ -n ${_PGHA_S3_SH:-} ]]; then return 0; fi
_PGHA_S3_SH=1
# shellcheck source=proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

S3_IP=${S3_IP:-127.0.0.30}
S3_PORT=${S3_PORT:-443}
S3_HTTP_PORT=${S3_HTTP_PORT:-9000}
S3_HOSTNAME=${S3_HOSTNAME:-s3.pgha.test}
S3_REGION=${S3_REGION:-us-east-1}
S3_KEY=${S3_KEY:-pgha-test-key}
S3_SECRET=${S3_SECRET:-pgha-test-secret}
STUNNEL_BIN=${STUNNEL_BIN:-stunnel4}
S3_TIER=15

# s3_moto_bin : print the moto_server to run. A pyenv shim is resolved to the
# real script so that the pid file names the server itself.
s3_moto_bin() {
    local m=${MOTO_SERVER:-}
    if [[ -z $m && -x ${PGHA_VENV:-/opt/pgha/venv}/bin/moto_server ]]; then
        m=${PGHA_VENV:-/opt/pgha/venv}/bin/moto_server
    fi
    if [[ -z $m ]]; then
        m=$(command -v moto_server) || { pgha_log "s3: moto_server not found (run scripts/setup.sh)"; return 1; }
        if [[ $m == */shims/* ]] && command -v pyenv >/dev/null; then
            m=$(pyenv which moto_server) || return 1
        fi
    fi
    printf '%s\n' "$m"
}

# s3_dir WORKDIR : print the directory holding the CA, certificate and
# stunnel config (WORKDIR/s3).
s3_dir() { printf '%s/s3\n' "$1"; }

# s3_ca_file WORKDIR : print the CA certificate path (for
# repo1-storage-ca-file, curl --cacert, AWS_CA_BUNDLE).
s3_ca_file() { printf '%s/s3/ca.crt\n' "$1"; }

# s3_make_certs WORKDIR : create a throw-away CA (ca.crt/ca.key) and a server
# certificate for S3_IP and S3_HOSTNAME signed by it (server.crt/server.key),
# unless they already exist. Keys are readable by root only; ca.crt by all.
# The SAN holds S3_IP twice, as IP and as DNS name: pgBackRest (2.45) checks
# only DNS names and the CN, so an IP-only SAN fails with "[095] unable to
# find hostname '127.0.0.30' in certificate"; curl and OpenSSL clients use the
# IP entry.
s3_make_certs() {
    local d
    d=$(s3_dir "$1")
    mkdir -p "$d"
    chmod 0755 "$d"
    [[ -s $d/ca.crt && -s $d/server.crt && -s $d/server.key ]] && return 0
    (
        set -e
        cd "$d"
        umask 077
        openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 7 \
            -keyout ca.key -out ca.crt -subj "/CN=pgha throw-away test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -new -nodes -newkey rsa:2048 -sha256 \
            -keyout server.key -out server.csr -subj "/CN=$S3_HOSTNAME" 2>/dev/null
        printf '%s\n' \
            "basicConstraints=CA:FALSE" \
            "keyUsage=critical,digitalSignature,keyEncipherment" \
            "extendedKeyUsage=serverAuth" \
            "subjectAltName=IP:$S3_IP,DNS:$S3_IP,DNS:$S3_HOSTNAME" >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -days 7 -sha256 -extfile server.ext -out server.crt 2>/dev/null
        chmod 0644 ca.crt server.crt
        openssl verify -CAfile ca.crt server.crt >/dev/null
    ) || { pgha_log "s3: certificate generation failed in $d"; return 1; }
}

# s3_start WORKDIR : make certificates, start moto (plain HTTP on
# S3_IP:S3_HTTP_PORT) and stunnel (TLS on S3_IP:S3_PORT), wait until an
# HTTPS request verified against the CA succeeds (timeout 30 s). Prints the
# CA file path. On failure stops what it started and returns 1.
s3_start() {
    local work=${1:?usage: s3_start WORKDIR} d moto
    d=$(s3_dir "$work")
    moto=$(s3_moto_bin) || return 1
    command -v "$STUNNEL_BIN" >/dev/null || { pgha_log "s3: $STUNNEL_BIN not found (apt package stunnel4)"; return 1; }
    local p
    for p in "$S3_HTTP_PORT" "$S3_PORT"; do
        if pgha_tcp_open "$S3_IP" "$p"; then
            pgha_log "s3: $S3_IP:$p already in use"
            return 1
        fi
    done
    s3_make_certs "$work" || return 1
    cat >"$d/stunnel.conf" <<EOF
; TLS in front of moto's plain-HTTP S3 server (written by tests/lib/s3.sh)
foreground = yes
pid =
debug = notice
output = /dev/stderr
[s3]
accept = $S3_IP:$S3_PORT
connect = $S3_IP:$S3_HTTP_PORT
cert = $d/server.crt
key = $d/server.key
sslVersionMin = TLSv1.2
EOF
    pgha_log "s3: starting moto ($moto) on http://$S3_IP:$S3_HTTP_PORT and stunnel on https://$S3_IP:$S3_PORT"
    # moto treats the first label of a dotted Host header that is not an IP
    # (s3.pgha.test -> bucket "s3") as a virtual-host bucket name; path-style
    # requests to a host name then fail with 404 NoSuchBucket. Force path style.
    pgha_spawn "$work" "$S3_TIER" moto -- env S3_IGNORE_SUBDOMAIN_BUCKETNAME=true \
        "$moto" -H "$S3_IP" -p "$S3_HTTP_PORT" >/dev/null || return 1
    pgha_spawn "$work" "$S3_TIER" stunnel -- "$STUNNEL_BIN" "$d/stunnel.conf" >/dev/null || { s3_stop "$work"; return 1; }
    if ! pgha_wait_for "S3 over TLS on https://$S3_IP:$S3_PORT" 30 _s3_ready "$work"; then
        pgha_log "s3: moto log:"; tail -n 5 "$work/logs/moto.log" >&2 || true
        pgha_log "s3: stunnel log:"; tail -n 5 "$work/logs/stunnel.log" >&2 || true
        s3_stop "$work"
        return 1
    fi
    s3_ca_file "$work"
}

# _s3_ready WORKDIR : true when GET / over TLS (certificate verified, by IP
# and by host name) answers 200.
_s3_ready() {
    local ca
    ca=$(s3_ca_file "$1")
    curl -fsS -o /dev/null --max-time 3 --cacert "$ca" "https://$S3_IP:$S3_PORT/" &&
        curl -fsS -o /dev/null --max-time 3 --cacert "$ca" \
            --resolve "$S3_HOSTNAME:$S3_PORT:$S3_IP" "https://$S3_HOSTNAME:$S3_PORT/"
}

# s3_create_bucket WORKDIR BUCKET : create BUCKET (path-style PUT over TLS;
# moto accepts unsigned requests). Succeeds when it already exists.
s3_create_bucket() {
    local work=${1:?usage: s3_create_bucket WORKDIR BUCKET} bucket=${2:?bucket missing} ca code
    ca=$(s3_ca_file "$work")
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$ca" \
        -X PUT "https://$S3_IP:$S3_PORT/$bucket") || return 1
    case $code in
        200|409) pgha_log "s3: bucket $bucket ready" ;;
        *) pgha_log "s3: creating bucket $bucket failed: HTTP $code"; return 1 ;;
    esac
}

# s3_list WORKDIR BUCKET [PREFIX] : print the object keys in BUCKET (up to
# 1000), one per line.
s3_list() {
    local work=$1 bucket=$2 prefix=${3:-} ca
    ca=$(s3_ca_file "$work")
    curl -fsS --max-time 10 --cacert "$ca" "https://$S3_IP:$S3_PORT/$bucket?list-type=2&prefix=$prefix" |
        grep -o '<Key>[^<]*</Key>' | sed 's/<Key>\(.*\)<\/Key>/\1/'
}

# s3_pgbackrest_repo_options WORKDIR BUCKET [REPO] : print pgbackrest.conf
# lines for repository REPO (default 1) on this endpoint, TLS verification
# on. The endpoint is S3_ENDPOINT (default S3_IP); when it is a host name,
# repoN-storage-host=S3_IP is added. These are the settings proven by
# tests/lib/prove/s3-pgbackrest.sh.
s3_pgbackrest_repo_options() {
    local work=$1 bucket=$2 r=repo${3:-1}
    local endpoint=${S3_ENDPOINT:-$S3_IP} storage_host=""
    # A host name as endpoint (sent as Host header) needs the address to
    # connect to; pgBackRest then checks the certificate against that
    # storage host, not against the endpoint.
    [[ $endpoint == "$S3_IP" ]] || storage_host="$r-storage-host=$S3_IP"$'\n'
    cat <<EOF
$r-type=s3
$r-path=/pgbackrest
$r-s3-bucket=$bucket
$r-s3-endpoint=$endpoint
${storage_host}$r-storage-port=$S3_PORT
$r-s3-region=$S3_REGION
$r-s3-key=$S3_KEY
$r-s3-key-secret=$S3_SECRET
$r-s3-uri-style=path
$r-storage-verify-tls=y
$r-storage-ca-file=$(s3_ca_file "$work")
EOF
}

# s3_stop WORKDIR : stop stunnel and moto (all stored objects are lost).
s3_stop() {
    local work=${1:?usage: s3_stop WORKDIR} f files=()
    for f in stunnel moto; do
        if f=$(pgha_pidfile "$f" "$work"); then files+=("$f"); fi
    done
    ((${#files[@]} == 0)) || pgha_stop_pidfiles 10 "${files[@]}"
}

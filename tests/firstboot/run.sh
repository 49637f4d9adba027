#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/firstboot/run.sh - a real first boot of the whole cluster.
#
# Six Debian 12 hosts (3 etcd, 3 database), each a bare debootstrap root file system (cached by
# image.sh; nothing of the cluster installed) booted with systemd-nspawn, systemd as PID 1, in a
# network namespace of its own on a bridge (10.231.0.0/24). The real cloud-init applies the
# document `pgha render` made for the host through the NoCloud seed; the hosts install Debian's
# packages from the mirror (NAT to the mirror's address only), open their ports in the OCI
# Ubuntu image's iptables rules (REJECT by default), resolve their S3 keys from an environment
# file, mount their block volumes (loop devices, with FIRSTBOOT_VOLUMES=1, the default) and form
# the cluster. Then, from outside: etcd health, one leader and streaming replicas, a backup in
# the S3 repository (moto behind stunnel, tests/lib/s3.sh), data on the volumes, a failover.
#
# Usage (root): tests/firstboot/run.sh      one line per check, then "N passed, N failed"
# Environment: FIRSTBOOT_CACHE (/var/cache/pgha/firstboot), FIRSTBOOT_WORK
# (/var/tmp/pgha-firstboot), FIRSTBOOT_VOLUMES (1), FIRSTBOOT_KEEP=1 keeps the hosts running
# after the checks (Ctrl-C cleans up), PGHA_BIN (the pgha CLI; built when missing).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${FIRSTBOOT_CACHE:-/var/cache/pgha/firstboot}
work=${FIRSTBOOT_WORK:-/var/tmp/pgha-firstboot}
with_volumes=${FIRSTBOOT_VOLUMES:-1}
bridge=pghafb0
net=10.231.0
gateway=$net.1
declare -A addr=(
    [fb-etcd1]=$net.11 [fb-etcd2]=$net.12 [fb-etcd3]=$net.13
    [fb-db1]=$net.21 [fb-db2]=$net.22 [fb-db3]=$net.23
)
etcd_hosts=(fb-etcd1 fb-etcd2 fb-etcd3)
db_hosts=(fb-db1 fb-db2 fb-db3)
hosts=("${etcd_hosts[@]}" "${db_hosts[@]}")
superuser_password=Sup3r-firstboot-6t1q
stanza=pgha

export S3_IP=$gateway S3_PORT=443 S3_HTTP_PORT=9000
imds_port=8169
# shellcheck source=../lib/s3.sh
. "$repo/tests/lib/s3.sh"

t0=$(date +%s)
log() { printf '[%s +%4ss] %s\n' "$(date -u +%H:%M:%S)" "$(($(date +%s) - t0))" "$*" >&2; }
die() { log "error: $*"; exit 2; }

[[ $(id -u) -eq 0 ]] || die "run as root"
for tool in systemd-nspawn ip iptables losetup curl psql jq nsenter; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install systemd-container iproute2 iptables postgresql-client jq)"
done

passed=0 failed=0
check() { # check NAME COMMAND...: one line per check
    local name=$1
    shift
    if "$@"; then
        printf 'ok   %s\n' "$name"
        passed=$((passed + 1))
    else
        printf 'FAIL %s\n' "$name"
        failed=$((failed + 1))
    fi
}

# ---------------------------------------------------------------------------------------------
# Clean-up: containers, mounts, loop devices, namespaces, bridge, NAT, S3.

declare -A nspawn_pid=()
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
mirror_ips=()
cleanup() {
    local rc=$?
    set +e
    log "cleaning up"
    local h inits=() alive
    for h in "${!nspawn_pid[@]}"; do
        inits+=("$(pgrep -P "${nspawn_pid[$h]}" | head -n1)")
        kill -TERM "${nspawn_pid[$h]}" 2>/dev/null
    done
    # An orderly shutdown of every container, 30 s at most, then SIGKILL.
    for _ in $(seq 1 60); do
        alive=0
        for h in "${!nspawn_pid[@]}"; do
            if kill -0 "${nspawn_pid[$h]}" 2>/dev/null; then alive=1; fi
        done
        ((alive)) || break
        sleep 0.5
    done
    for h in "${!nspawn_pid[@]}"; do kill -KILL "${nspawn_pid[$h]}" 2>/dev/null; done
    for h in "${inits[@]}"; do [[ -z $h ]] || kill -KILL "$h" 2>/dev/null; done
    sleep 1
    for h in "${hosts[@]}"; do
        if mountpoint -q "$work/$h/root"; then umount -l "$work/$h/root"; fi
        ip netns del "$h" 2>/dev/null
    done
    if [[ -e $work/loops ]]; then
        while read -r dev; do losetup -d "$dev" 2>/dev/null; done <"$work/loops"
        rm -f "$work/loops"
    fi
    ip link del "$bridge" 2>/dev/null
    iptables -t nat -D POSTROUTING -j PGHA-FB-NAT 2>/dev/null
    iptables -t nat -F PGHA-FB-NAT 2>/dev/null
    iptables -t nat -X PGHA-FB-NAT 2>/dev/null
    iptables -D FORWARD -j PGHA-FB-FWD 2>/dev/null
    iptables -F PGHA-FB-FWD 2>/dev/null
    iptables -X PGHA-FB-FWD 2>/dev/null
    echo "$forward_before" >/proc/sys/net/ipv4/ip_forward
    pgha_stop_all "$work" >/dev/null 2>&1
    exit "$rc"
}

# ---------------------------------------------------------------------------------------------
# Image, work dir, CLI

image=$("$here/image.sh" "$cache") || die "building the image failed"
log "image: $image"

if [[ -e $work ]]; then
    for h in "${hosts[@]}"; do
        if mountpoint -q "$work/$h/root"; then die "$work/$h/root is mounted: is another run active?"; fi
    done
    rm -rf "$work"
fi
mkdir -p "$work"
chmod 0755 "$work"
pgha_workdir_init "$work" >/dev/null
trap cleanup EXIT
trap 'exit 130' INT TERM

pgha=${PGHA_BIN:-$repo/target/debug/pgha}
if [[ ! -x $pgha ]]; then
    log "building the pgha CLI"
    (cd "$repo" && cargo build -q -p pgha-cli --bin pgha) || die "cargo build failed"
fi

# ---------------------------------------------------------------------------------------------
# Network: a bridge, a namespace per host, NAT to the Debian mirror only.

mapfile -t mirror_ips < <(getent ahostsv4 deb.debian.org | awk '{print $1}' | sort -u)
[[ ${#mirror_ips[@]} -gt 0 ]] || die "cannot resolve deb.debian.org"
log "Debian mirror: ${mirror_ips[*]}"

ip link add "$bridge" type bridge
ip addr add "$gateway/24" dev "$bridge"
ip link set "$bridge" up
i=0
for h in "${hosts[@]}"; do
    i=$((i + 1))
    ip netns add "$h"
    ip link add "fbv$i" type veth peer name eth0 netns "$h"
    ip link set "fbv$i" master "$bridge" up
    ip -n "$h" addr add "${addr[$h]}/24" dev eth0
    ip -n "$h" link set lo up
    ip -n "$h" link set eth0 up
    ip -n "$h" route add default via "$gateway"
done
echo 1 >/proc/sys/net/ipv4/ip_forward
iptables -N PGHA-FB-FWD
iptables -I FORWARD 1 -j PGHA-FB-FWD
iptables -t nat -N PGHA-FB-NAT
iptables -t nat -I POSTROUTING 1 -j PGHA-FB-NAT
for ip in "${mirror_ips[@]}"; do
    iptables -A PGHA-FB-FWD -s "$net.0/24" -d "$ip" -p tcp -m multiport --dports 80,443 -j ACCEPT
    iptables -A PGHA-FB-FWD -d "$net.0/24" -s "$ip" -m state --state ESTABLISHED,RELATED -j ACCEPT
    iptables -t nat -A PGHA-FB-NAT -s "$net.0/24" -d "$ip" -j MASQUERADE
done
# Nothing else leaves the test network.
iptables -A PGHA-FB-FWD -s "$net.0/24" ! -d "$net.0/24" -j DROP
iptables -A PGHA-FB-FWD -d "$net.0/24" ! -s "$net.0/24" -j DROP

# ---------------------------------------------------------------------------------------------
# S3 on the bridge address, reached by the database hosts.

ca=$(s3_start "$work") || die "S3 stand-in did not start"
s3_create_bucket "$work" pgbackrest >/dev/null || die "cannot create the bucket"

# ---------------------------------------------------------------------------------------------
# The cluster, rendered by the CLI

volumes_yaml=""
if [[ $with_volumes == 1 ]]; then
    volumes_yaml="
  volumes:
    data: { device: /dev/oracleoci/oraclevdb }
    wal: { device: /dev/oracleoci/oraclevdc }
    log: { device: /dev/oracleoci/oraclevdd }
    temp: { device: /dev/oracleoci/oraclevde }"
fi
cat >"$work/cluster.yaml" <<EOF
# The first-boot cluster: Debian 12 with its own packages, OCI Ubuntu's iptables firewall.
name: $stanza
postgres_version: 15
platform:
  preset: debian
  firewall: iptables
  extensions: [ pgaudit ]$volumes_yaml
  metadata_url: http://$gateway:$imds_port/{host}/opc/v2/instance/metadata/pgha_bundle
etcd:
  members:
    - { name: fb-etcd1, address: ${addr[fb-etcd1]} }
    - { name: fb-etcd2, address: ${addr[fb-etcd2]} }
    - { name: fb-etcd3, address: ${addr[fb-etcd3]} }
patroni:
  version: 3
  parameters:
    password_encryption: scram-sha-256
    shared_buffers: 64MB
    logging_collector: "on"
  client_cidrs: [ $gateway/32 ]
nodes:
  - { name: fb-db1, address: ${addr[fb-db1]} }
  - { name: fb-db2, address: ${addr[fb-db2]} }
  - { name: fb-db3, address: ${addr[fb-db3]} }
pgbackrest:
  name: $stanza
  repository:
    type: s3
    bucket: pgbackrest
    region: $S3_REGION
    endpoint: $S3_IP
    path: /firstboot
    verify_tls: true
    ca_file: /etc/pgha/s3-ca.crt
  retention_full: 2
  process_max: 2
secrets:
  superuser_password: { value: "$superuser_password" }
  replication_password: { value: "Repl-firstboot-2w8e" }
  rewind_password: { value: "Rew1nd-firstboot-5y3u" }
  restapi:
    username: patroni
    password: { value: "Rest-firstboot-9r4o" }
  s3_key: { env_file: { path: /etc/pgha/s3.env, variable: S3_ACCESS_KEY } }
  s3_key_secret: { env_file: { path: /etc/pgha/s3.env, variable: S3_SECRET_KEY } }
EOF
chmod 0600 "$work/cluster.yaml"
mkdir -m 0700 "$work/rendered"
"$pgha" render --spec "$work/cluster.yaml" --out "$work/rendered" >"$work/render.log" 2>&1 ||
    { cat "$work/render.log" >&2; die "pgha render failed"; }
log "rendered $(wc -c <"$work/rendered/fb-db1/cloud-init.yaml") bytes of cloud-config for fb-db1"

# The instance metadata service on the gateway, as OCI's IMDS v2 (Bearer Oracle): each database
# host's first boot reads its bundle (patroni.yml, pgbackrest.conf, the scripts) from it.
mkdir -m 0700 "$work/metadata"
for h in fb-db1 fb-db2 fb-db3; do
    install -D -m 0600 "$work/rendered/$h/pgha_bundle" "$work/metadata/$h/pgha_bundle"
done
pgha_spawn "$work" 05 imds -- "$repo/tests/standin/metadata-server" --listen "$gateway:$imds_port" --dir "$work/metadata" >/dev/null

# ---------------------------------------------------------------------------------------------
# Hosts: an overlay on the image, the NoCloud seed, the mirror's address, and what an OCI image
# would have besides the document (the S3 CA and key file stand in for what the image or an
# operator provides; the volumes are loop devices at OCI's device paths).

loop_for() { # loop_for HOST LETTER [FS]: a 1 GiB sparse file on a loop device, optionally formatted
    local f=$work/$1/vd$2.img dev
    truncate -s 1G "$f"
    if [[ -n ${3:-} ]]; then mkfs.ext4 -q -L "keep-$2" "$f"; fi
    dev=$(losetup --find --show "$f")
    echo "$dev" >>"$work/loops"
    printf '%s\n' "$dev"
}

# The volumes: each loop device bound into the container under its own name, and OCI's
# /dev/oracleoci/oraclevd* as symlinks to them (as on an instance, where they point at /dev/sd*).
declare -A binds=()
for h in "${hosts[@]}"; do
    d=$work/$h
    mkdir -p "$d/upper" "$d/work" "$d/root"
    mount -t overlay overlay -o "lowerdir=$image,upperdir=$d/upper,workdir=$d/work" "$d/root"
    r=$d/root
    mkdir -p "$r/var/lib/cloud/seed/nocloud"
    install -m 0600 "$work/rendered/$h/cloud-init.yaml" "$r/var/lib/cloud/seed/nocloud/user-data"
    printf 'instance-id: %s\nlocal-hostname: %s\n' "$h" "$h" >"$r/var/lib/cloud/seed/nocloud/meta-data"
    for ip in "${mirror_ips[@]}"; do
        printf '%s deb.debian.org security.debian.org\n' "$ip" >>"$r/etc/hosts"
    done
    : >"$r/etc/resolv.conf"
    binds[$h]=""
    case $h in fb-db*)
        mkdir -p "$r/etc/pgha"
        install -m 0644 "$ca" "$r/etc/pgha/s3-ca.crt"
        (umask 077 && printf 'S3_ACCESS_KEY=%s\nS3_SECRET_KEY=%s\n' "$S3_KEY" "$S3_SECRET" >"$r/etc/pgha/s3.env")
        if [[ $with_volumes == 1 ]]; then
            mkdir -p "$d/oracleoci"
            binds[$h]+=" --bind=$d/oracleoci:/dev/oracleoci"
            # fb-db1's WAL volume already has a file system with a file on it: it must be kept.
            for letter in b c d e; do
                fs=""
                if [[ $h == fb-db1 && $letter == c ]]; then fs=ext4; fi
                dev=$(loop_for "$h" "$letter" "$fs")
                if [[ -n $fs ]]; then
                    mkdir -p "$work/probe" && mount "$dev" "$work/probe"
                    echo "written before the first boot" >"$work/probe/keep-me"
                    umount "$work/probe"
                fi
                ln -s "$dev" "$d/oracleoci/oraclevd$letter"
                binds[$h]+=" --bind=$dev"
            done
        fi
        ;;
    esac
done

# ---------------------------------------------------------------------------------------------
# Boot

boot_start=$(date +%s)
for h in "${hosts[@]}"; do
    # shellcheck disable=SC2086 # binds[] holds separate options
    systemd-nspawn -q -D "$work/$h/root" -M "$h" --register=no --keep-unit -b \
        --network-namespace-path="/run/netns/$h" --console=read-only --capability=CAP_NET_ADMIN \
        ${binds[$h]} >"$work/logs/$h-console.log" 2>&1 &
    nspawn_pid[$h]=$!
    log "booting $h (${addr[$h]}), nspawn pid ${nspawn_pid[$h]}"
done

# The container's PID 1 (systemd), to enter its namespaces.
init_pid() { pgrep -P "${nspawn_pid[$1]}" | head -n1; }
in_host() { # in_host HOST COMMAND...: run inside the container
    local pid
    pid=$(init_pid "$1") || return 1
    [[ -n $pid ]] || return 1
    nsenter -t "$pid" -m -u -i -n -p -- "${@:2}"
}
cloud_init_done() { in_host "$1" test -e /var/lib/cloud/instance/boot-finished; }

wait_until() { # wait_until DESC TIMEOUT COMMAND...: progress every 15 s
    local desc=$1 timeout=$2 start now next=15
    shift 2
    start=$(date +%s)
    while ! "$@" >/dev/null 2>&1; do
        now=$(($(date +%s) - start))
        if ((now >= timeout)); then
            log "timeout after ${timeout}s: $desc"
            return 1
        fi
        if ((now >= next)); then
            log "waiting for $desc (${now}s/${timeout}s)"
            next=$((next + 15))
        fi
        sleep 2
    done
    log "ready: $desc after $(($(date +%s) - start))s"
}

all_cloud_init_done() {
    local h
    for h in "${hosts[@]}"; do cloud_init_done "$h" || return 1; done
}
wait_until "cloud-init to finish on all six hosts" 900 all_cloud_init_done || true
cloud_init_secs=$(($(date +%s) - boot_start))
for h in "${hosts[@]}"; do
    in_host "$h" cat /var/log/cloud-init-output.log >"$work/logs/$h-cloud-init-output.log" 2>/dev/null || true
done

# ---------------------------------------------------------------------------------------------
# Checks

etcd_healthy() { curl -fsS --max-time 3 "http://$1:2379/health" | jq -e '.health == "true"' >/dev/null; }
all_etcd_healthy() {
    local h
    for h in "${etcd_hosts[@]}"; do etcd_healthy "${addr[$h]}" || return 1; done
}
cluster_json() {
    local h
    for h in "${db_hosts[@]}"; do
        if curl -fsS --max-time 3 "http://${addr[$h]}:8008/cluster" 2>/dev/null; then return 0; fi
    done
    return 1
}
leader() { cluster_json | jq -r '.members[] | select(.role == "leader") | .name'; }
one_leader() { [[ $(leader | wc -l) -eq 1 ]]; }
sql() { # sql HOST QUERY: as the superuser over TCP from outside (through the host firewall)
    PGPASSWORD=$superuser_password PGCONNECT_TIMEOUT=3 psql -X -qAt \
        "host=${addr[$1]} port=5432 user=postgres dbname=postgres" -c "$2"
}
streaming_replicas() { [[ $(sql "$(leader)" "select count(*) from pg_stat_replication where state = 'streaming'") -eq ${1:-2} ]]; }
backup_count() { # the S3 keys are in the host's resolved secrets.env, as for the backup job
    in_host "$(leader)" bash -c "set -a; . /etc/pgha/secrets.env; set +a
        exec runuser -u postgres -- pgbackrest --stanza='$stanza' --output=json info" 2>/dev/null |
        jq '[.[0].backup[]?] | length'
}
has_backup() { [[ $(backup_count) -ge 1 ]]; }

no_cloud_init_errors() { ! grep -q -E 'Traceback|Failed to run module|failed to start' "$work/logs/$1-cloud-init-output.log"; }
image_is_bare() {
    local p
    for p in /usr/lib/postgresql /usr/bin/etcd /usr/bin/patroni /usr/bin/pgbackrest; do
        [[ ! -e $image$p ]] || return 1
    done
}
etcd_host_has_no_database() { in_host fb-etcd1 dpkg-query -W etcd-server etcd-client >/dev/null && ! in_host fb-etcd1 dpkg-query -W postgresql-15 >/dev/null 2>&1; }
no_main_cluster() { ! in_host fb-db1 test -e /etc/postgresql/15/main; }
etcd_members() { [[ $(curl -fsS --max-time 3 -X POST -d '{}' "http://${addr[fb-etcd1]}:2379/v3/cluster/member/list" | jq '.members | length') -eq 3 ]]; }
tcp_open() { timeout 3 bash -c "</dev/tcp/$1/$2" 2>/dev/null; }
peer_open_other_closed() { tcp_open "${addr[fb-etcd1]}" 2380 && ! tcp_open "${addr[fb-etcd1]}" 2381; }
etcd_exec_path() { in_host fb-etcd1 systemctl show -p ExecStart etcd.service | grep -q 'path=/usr/bin/etcd '; }
bundle_applied() { # the state names the rendered bundle's hash as applied
    local hash
    hash=$(cut -d: -f2 "$work/rendered/$1/pgha_bundle")
    in_host "$1" systemctl is-active --quiet pgha-reconcile.timer &&
        in_host "$1" cat /var/lib/pgha/reconcile/state.json | jq -e --arg h "$hash" '.applied_hash == $h' >/dev/null
}
resolver_ran() {
    in_host fb-db1 systemctl is-active --quiet pgha-resolve-secrets.service &&
        in_host fb-db1 grep -q '^PGBACKREST_REPO1_S3_KEY=' /etc/pgha/secrets.env &&
        [[ $(in_host fb-db1 stat -c %a /etc/pgha/secrets.env) == 640 ]]
}
# The OCI Ubuntu image's REJECT is still last in INPUT, and the host's ports are accepted before it.
firewall_opened() { # firewall_opened HOST PORT...
    local rules reject=0 port n
    rules=$(in_host "$1" iptables -S INPUT) || return 1
    reject=$(grep -n -- '-j REJECT' <<<"$rules" | head -n1 | cut -d: -f1)
    [[ -n $reject ]] || return 1
    for port in "${@:2}"; do
        n=$(grep -n -- "--dport $port -j ACCEPT" <<<"$rules" | head -n1 | cut -d: -f1)
        [[ -n $n && $n -lt $reject ]] || return 1
    done
    # Exactly the role's ports, nothing more (the image's own SSH rule aside).
    [[ $(grep -c -- '-j ACCEPT' <<<"$(grep -- '--dport' <<<"$rules" | grep -v -- '--dport 22 ')") -eq $(($# - 1)) ]]
}
persisted() { in_host "$1" grep -q -- "--dport $2 -j ACCEPT" /etc/iptables/rules.v4; }
bucket_has_stanza() { s3_list "$work" pgbackrest 2>/dev/null | grep -q "firstboot/backup/$stanza/backup.info"; }

check "cloud-init finished on all six hosts (${cloud_init_secs}s)" all_cloud_init_done
for h in "${hosts[@]}"; do
    check "$h: cloud-init reported no errors" no_cloud_init_errors "$h"
done
check "the cached image has no PostgreSQL, Patroni, etcd or pgBackRest" image_is_bare
check "fb-db1 installed postgresql-15, patroni, python3-etcd, pgbackrest from Debian" \
    in_host fb-db1 dpkg-query -W postgresql-15 patroni pgbackrest python3-etcd
check "fb-etcd1 installed etcd-server and etcd-client, no database" etcd_host_has_no_database
check "fb-db1: postgresql-common created no main cluster" no_main_cluster

wait_until "3 healthy etcd members" 180 all_etcd_healthy || true
for h in "${etcd_hosts[@]}"; do
    check "$h: iptables accepts 2379, 2380 before the image's REJECT, and only those" firewall_opened "$h" 2379 2380
done
for h in "${db_hosts[@]}"; do
    check "$h: iptables accepts 5432, 8008 before the image's REJECT, and only those" firewall_opened "$h" 5432 8008
done
check "fb-db1: the rules are saved in /etc/iptables/rules.v4" persisted fb-db1 5432
check "3 etcd members healthy (from outside, through their firewalls)" all_etcd_healthy
check "etcd lists 3 members" etcd_members
check "fb-etcd1: peer port 2380 open, unrendered port 2381 rejected" peer_open_other_closed
check "fb-etcd1: etcd runs as /usr/bin/etcd" etcd_exec_path

wait_until "a Patroni leader" 300 one_leader || true
check "one Patroni leader ($(leader 2>/dev/null | tr '\n' ' '))" one_leader
wait_until "2 streaming replicas" 300 streaming_replicas 2 || true
healthy_secs=$(($(date +%s) - boot_start))
check "2 replicas streaming from the leader (first boot to healthy: ${healthy_secs}s)" streaming_replicas 2
check "fb-db1: the secret resolver unit resolved the S3 keys (secrets.env 0640)" resolver_ran
for h in fb-db1 fb-db2 fb-db3; do
    check "$h: the first boot applied the bundle from the metadata service, the reconcile timer runs" bundle_applied "$h"
done
wait_until "a backup in the S3 repository" 300 has_backup || true
check "a full backup in the S3 repository ($(backup_count 2>/dev/null || echo 0) backup(s))" has_backup
check "the bucket holds the stanza's backup.info" bucket_has_stanza
pgaudit_loaded() {
    local l
    l=$(leader)
    [[ $(sql "$l" 'show shared_preload_libraries') == *pgaudit* ]] &&
        [[ $(sql "$l" "select count(*) from pg_extension where extname = 'pgaudit'") -eq 1 ]]
}
check "pgaudit (postgresql-15-pgaudit) preloaded and created by the post-bootstrap script" pgaudit_loaded

if [[ $with_volumes == 1 ]]; then
    on_volume() { # on_volume HOST PATH MOUNTPOINT: PATH lies on the file system mounted at MOUNTPOINT
        [[ $(in_host "$1" stat -c %m "$2") == "$3" ]]
    }
    on_volumes() {
        on_volume "$1" /pgdata/data/PG_VERSION /pgdata &&
            on_volume "$1" /pgwal/pg_wal /pgwal &&
            [[ $(in_host "$1" readlink /pgdata/data/pg_wal) == /pgwal/pg_wal ]] &&
            on_volume "$1" /pglog/log /pglog &&
            [[ -n $(in_host "$1" find /pglog/log -type f -name '*.log') ]] &&
            on_volume "$1" /pgtemp/tablespace /pgtemp
    }
    kept_filesystem() { in_host fb-db1 grep -q "written before the first boot" /pgwal/keep-me; }
    formatted_blank() { [[ $(in_host fb-db1 blkid -s LABEL -o value /dev/oracleoci/oraclevdb) == pgha-data ]]; }
    kept_label() { [[ $(in_host fb-db1 blkid -s LABEL -o value /dev/oracleoci/oraclevdc) == keep-c ]]; }
    temp_tablespace() {
        local l
        l=$(leader)
        [[ $(sql "$l" "select pg_tablespace_location(oid) from pg_tablespace where spcname = 'pgha_temp'") == /pgtemp/tablespace ]] &&
            [[ $(sql "$l" 'show temp_tablespaces') == pgha_temp ]]
    }
    waits_for_mounts() {
        local have m
        have=" $(in_host fb-db1 systemctl show -p RequiresMountsFor --value patroni.service) "
        for m in /pgdata /pgwal /pglog /pgtemp; do [[ $have == *" $m "* ]] || return 1; done
    }
    for h in "${db_hosts[@]}"; do
        check "$h: data, WAL (pg_wal link), logs, temp tablespace on their volumes" on_volumes "$h"
    done
    check "fb-db1: the WAL volume that had a file system kept it (and its file)" kept_filesystem
    check "fb-db1: the blank data volume was formatted, labelled pgha-data" formatted_blank
    check "fb-db1: the WAL volume kept its own label (not reformatted)" kept_label
    check "temp_tablespaces names the tablespace on the temp volume" temp_tablespace
    check "fb-db1: patroni.service requires the volumes' mounts" waits_for_mounts
fi

# Failover: stop the leader's container; a replica takes over.
old=$(leader 2>/dev/null | head -n1 || true)
if [[ -n $old ]]; then
    sql "$old" "create table if not exists firstboot(v text); insert into firstboot values ('before failover')" >/dev/null || true
    log "stopping the leader's container $old"
    fo_start=$(date +%s)
    kill -TERM "${nspawn_pid[$old]}"
    remaining=()
    for h in "${db_hosts[@]}"; do [[ $h == "$old" ]] || remaining+=("$h"); done
    db_hosts=("${remaining[@]}")
    new_leader() { local l; l=$(leader) && [[ -n $l && $l != "$old" ]]; }
    wait_until "a new leader after stopping $old" 120 new_leader || true
    fo_secs=$(($(date +%s) - fo_start))
    check "a replica took over after $old stopped (${fo_secs}s): $(leader 2>/dev/null || true)" new_leader
    row_survived() { [[ $(sql "$(leader)" 'select v from firstboot') == 'before failover' ]]; }
    check "the new leader has the row written before the failover" row_survived
else
    check "a replica took over after the leader stopped (there was no leader)" false
fi

total=$(($(date +%s) - t0))
log "timings: cloud-init on six hosts ${cloud_init_secs}s, first boot to healthy ${healthy_secs:-?}s, whole run ${total}s"
echo "$passed passed, $failed failed"
if [[ ${FIRSTBOOT_KEEP:-0} == 1 ]]; then
    log "FIRSTBOOT_KEEP=1: hosts keep running; Ctrl-C cleans up"
    while true; do
        sleep 3600 &
        wait $! # a signal interrupts wait at once, so the clean-up runs without delay
    done
fi
[[ $failed -eq 0 ]]

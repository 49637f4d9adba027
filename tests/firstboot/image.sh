#!/usr/bin/env bash
# Builds (once) the bare Debian 12 root file system the first-boot test boots: debootstrap's
# minbase, cloud-init, systemd as init, and what an OCI Ubuntu image ships for its firewall
# (iptables with netfilter-persistent and REJECT rules in /etc/iptables/rules.v4). Nothing the
# cluster runs (PostgreSQL, Patroni, etcd, pgBackRest) is installed: the hosts' cloud-init must.
#
# Usage: image.sh [CACHE_DIR]   (default /var/cache/pgha/firstboot). Prints the image directory.
# The image is rebuilt only when CACHE_DIR/bookworm/.complete is missing.
set -euo pipefail

cache=${1:-/var/cache/pgha/firstboot}
image="$cache/bookworm"
mirror=${PGHA_FIRSTBOOT_MIRROR:-http://deb.debian.org/debian}

if [[ -e "$image/.complete" ]]; then
  echo "$image"
  exit 0
fi

for tool in debootstrap chroot; do
  command -v "$tool" >/dev/null || { echo "image.sh: $tool is missing (apt-get install debootstrap)" >&2; exit 2; }
done

rm -rf "$image.partial"
mkdir -p "$cache"
start=$(date +%s)
echo "image.sh: debootstrap --variant=minbase bookworm (a few minutes)..." >&2
debootstrap --variant=minbase bookworm "$image.partial" "$mirror" >"$cache/debootstrap.log" 2>&1 \
  || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
echo "image.sh: debootstrap took $(( $(date +%s) - start ))s" >&2

# Carry the build machine's apt settings that its mirror needs (a snapshot mirror has an old
# Release date), nothing else.
if [[ -e /etc/apt/apt.conf.d/99artifact-registry ]]; then
  cp /etc/apt/apt.conf.d/99artifact-registry "$image.partial/etc/apt/apt.conf.d/"
fi
cp /etc/resolv.conf "$image.partial/etc/resolv.conf"

mount --bind /proc "$image.partial/proc"
trap 'umount "$image.partial/proc" 2>/dev/null || true' EXIT
step=$(date +%s)
echo "image.sh: installing cloud-init, systemd-sysv, iptables-persistent in the image..." >&2
# iptables-persistent asks whether to save the current rules; answer no.
chroot "$image.partial" sh -c '
  echo "iptables-persistent iptables-persistent/autosave_v4 boolean false" | debconf-set-selections
  echo "iptables-persistent iptables-persistent/autosave_v6 boolean false" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    cloud-init systemd-sysv dbus iproute2 iptables iptables-persistent netfilter-persistent \
    ca-certificates curl gnupg procps less
  apt-get clean
' >"$cache/apt.log" 2>&1 || { tail -20 "$cache/apt.log" >&2; exit 1; }
umount "$image.partial/proc"
trap - EXIT
echo "image.sh: packages took $(( $(date +%s) - step ))s" >&2

# The OCI Ubuntu image's firewall: accept established traffic, ICMP, loopback and SSH, reject
# everything else (the rendered cloud-init must insert its ACCEPT rules before the REJECTs).
mkdir -p "$image.partial/etc/iptables"
cat >"$image.partial/etc/iptables/rules.v4" <<'RULES'
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
COMMIT
RULES

# cloud-init: only the NoCloud seed (never probe a cloud's metadata address), and leave the
# network alone (the test configures each container's interface from outside).
cat >"$image.partial/etc/cloud/cloud.cfg.d/90-pgha-firstboot.cfg" <<'CFG'
datasource_list: [ NoCloud, None ]
network: {config: disabled}
# minbase has no locales package; C.UTF-8 is built into libc.
locale: C.UTF-8
CFG
# A container has no console login to wait for.
rm -f "$image.partial/etc/machine-id"
: >"$image.partial/etc/machine-id"

du -sh "$image.partial" | awk '{print "image.sh: image size " $1}' >&2
touch "$image.partial/.complete"
mv "$image.partial" "$image"
echo "image.sh: built $image in $(( $(date +%s) - start ))s" >&2
echo "$image"

#!/usr/bin/env bash
# setup.sh - install what pgha's local end-to-end harness and `make demo` need.
#
# Run as root on Debian 12 (or a recent Debian/Ubuntu). Safe to run again:
# every step first checks whether its work is already done, and `apt-get
# update` only runs when at least one package is missing.
#
# Usage: scripts/setup.sh [--skip-apt] [--skip-venv] [--strict] [--help]
#
# Environment:
#   PGHA_VENV          Python venv for Patroni, psycopg, cryptography, moto
#                      (default /opt/pgha/venv)
#   PGHA_SKIP_APT=1    do not touch apt; only check and report
#   PGHA_SKIP_VENV=1   do not create or change the venv
#   PGHA_PYTHON        interpreter for the venv (default /usr/bin/python3,
#                      else the first python3 on PATH). It must be readable
#                      by the postgres user: a pyenv under /root is not.
#   PGHA_PATRONI_SPEC  pip requirement for Patroni (default "patroni[etcd3]>=4,<5")
#   PGHA_FORCE_VENV_MOTO=1  install moto[server] into the venv even when a
#                      usable moto_server is already on PATH
#   PGHA_STRICT=1      same as --strict: missing cargo/rustc/terraform is an error
#   PGHA_EXTRA_APT     more apt packages to install (space separated)
#   PGHA_APT_SIMULATE=1  pass -s to apt-get install (show, change nothing)
#
# Exit status: 0 when everything needed is present, 1 on any failure
# (with a message saying what failed), 2 on a usage error.

set -euo pipefail
umask 022

PGHA_VENV=${PGHA_VENV:-/opt/pgha/venv}
PGHA_SKIP_APT=${PGHA_SKIP_APT:-0}
PGHA_SKIP_VENV=${PGHA_SKIP_VENV:-0}
PGHA_STRICT=${PGHA_STRICT:-0}
PGHA_FORCE_VENV_MOTO=${PGHA_FORCE_VENV_MOTO:-0}
PGHA_PATRONI_SPEC=${PGHA_PATRONI_SPEC:-patroni[etcd3]>=4,<5}
PGHA_EXTRA_APT=${PGHA_EXTRA_APT:-}
PGHA_APT_SIMULATE=${PGHA_APT_SIMULATE:-0}

# Packages every host of the harness needs, besides PostgreSQL (chosen below).
APT_PACKAGES=(
    etcd-server etcd-client
    pgbackrest haproxy stunnel4
    shellcheck cloud-init
    python3 python3-venv python3-pip python3-yaml python3-cryptography
    openssl ca-certificates curl jq
    procps iproute2 util-linux
    # The first-boot test (tests/firstboot): a Debian root file system booted with
    # systemd-nspawn in network namespaces, NAT to the mirror, XFS/ext4 volumes on loop devices.
    debootstrap systemd-container iptables xfsprogs e2fsprogs
)

# log MESSAGE... : progress line on stdout.
log() { printf '[setup] %s\n' "$*"; }
# warn MESSAGE... : warning on stderr.
warn() { printf '[setup] WARNING: %s\n' "$*" >&2; }
# die MESSAGE... : error on stderr, exit 1.
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; }

while (($#)); do
    case $1 in
        --skip-apt) PGHA_SKIP_APT=1 ;;
        --skip-venv) PGHA_SKIP_VENV=1 ;;
        --strict) PGHA_STRICT=1 ;;
        -h|--help) usage; exit 0 ;;
        *) printf 'unknown argument: %s (try --help)\n' "$1" >&2; exit 2 ;;
    esac
    shift
done

# pkg_installed NAME : true when dpkg reports NAME fully installed.
pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

# apt_candidate NAME : true when apt knows an installable version of NAME.
apt_candidate() {
    local c
    c=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [[ -n $c && $c != "(none)" ]]
}

# postgres_packages : prints the PostgreSQL package names to install.
# postgresql-15 where the distro has it (Debian 12); otherwise the distro's
# default postgresql + postgresql-contrib.
postgres_packages() {
    if pkg_installed postgresql-15 || apt_candidate postgresql-15; then
        echo postgresql-15
    else
        echo postgresql postgresql-contrib
    fi
}

install_apt() {
    if [[ $PGHA_SKIP_APT == 1 ]]; then
        log "apt: skipped (PGHA_SKIP_APT=1 / --skip-apt)"
        return 0
    fi
    command -v apt-get >/dev/null || die "apt-get not found: this installer supports Debian/Ubuntu only"
    [[ $(id -u) -eq 0 ]] || die "apt needs root: run as root, or pass --skip-apt"

    local wanted=() missing=() p
    # shellcheck disable=SC2207,SC2206  # package names contain no spaces
    wanted=("${APT_PACKAGES[@]}" $(postgres_packages) $PGHA_EXTRA_APT)
    for p in "${wanted[@]}"; do
        pkg_installed "$p" || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        log "apt: all ${#wanted[@]} packages present (${wanted[*]})"
        return 0
    fi
    log "apt: missing: ${missing[*]}"
    log "apt: running apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -q || die "apt-get update failed"
    # The package list may only now know postgresql-15: choose the PostgreSQL
    # packages again and keep only what is still missing.
    local clean=() pg
    for p in "${missing[@]}"; do
        case $p in postgresql|postgresql-15|postgresql-contrib) ;; *) clean+=("$p") ;; esac
    done
    for pg in $(postgres_packages); do
        pkg_installed "$pg" || clean+=("$pg")
    done
    log "apt: installing ${clean[*]}"
    # policy-rc.d is honoured by invoke-rc.d; without systemd, packages such as
    # etcd-server and postgresql would otherwise try to start their services.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created_policy=1
    fi
    local rc=0 sim=()
    [[ $PGHA_APT_SIMULATE != 1 ]] || sim=(-s)
    DEBIAN_FRONTEND=noninteractive apt-get install "${sim[@]}" -y -q --no-install-recommends "${clean[@]}" || rc=$?
    ((created_policy)) && rm -f "$policy"
    ((rc == 0)) || die "apt-get install failed (exit $rc) for: ${clean[*]}"
    log "apt: done$([[ $PGHA_APT_SIMULATE != 1 ]] || echo " (simulated, nothing installed)")"
}

# pick_python : prints the interpreter used to build the venv.
pick_python() {
    if [[ -n ${PGHA_PYTHON:-} ]]; then
        echo "$PGHA_PYTHON"
    elif [[ -x /usr/bin/python3 ]]; then
        echo /usr/bin/python3
    else
        command -v python3 || die "python3 not found"
    fi
}

# venv_ok : true when the venv has Patroni 4.x with etcd3 support, psycopg 3
# and cryptography, all importable.
venv_ok() {
    [[ -x $PGHA_VENV/bin/python && -x $PGHA_VENV/bin/patroni && -x $PGHA_VENV/bin/patronictl ]] || return 1
    "$PGHA_VENV/bin/python" - <<'EOF' >/dev/null 2>&1
import importlib.metadata as md, sys
import patroni, etcd, psycopg, psycopg_binary, cryptography, yaml  # noqa: F401
sys.exit(0 if md.version("patroni").split(".")[0] == "4" else 1)
EOF
}

# system_moto_ok : true when a moto_server outside the venv runs.
system_moto_ok() {
    local m
    m=$(command -v moto_server 2>/dev/null) || return 1
    [[ $m == "$PGHA_VENV"/* ]] && return 1
    "$m" --help >/dev/null 2>&1
}

# venv_moto_ok : true when the venv has a working moto_server.
venv_moto_ok() {
    [[ -x $PGHA_VENV/bin/moto_server ]] && "$PGHA_VENV/bin/moto_server" --help >/dev/null 2>&1
}

install_venv() {
    if [[ $PGHA_SKIP_VENV == 1 ]]; then
        log "venv: skipped (PGHA_SKIP_VENV=1 / --skip-venv)"
        return 0
    fi
    local py
    py=$(pick_python)
    if [[ ! -x $PGHA_VENV/bin/python ]]; then
        log "venv: creating $PGHA_VENV with $py ($("$py" --version 2>&1))"
        mkdir -p "$(dirname "$PGHA_VENV")"
        "$py" -m venv "$PGHA_VENV" || die "could not create venv $PGHA_VENV (is python3-venv installed?)"
    fi
    local pip=("$PGHA_VENV/bin/python" -m pip --disable-pip-version-check -q)
    if venv_ok; then
        log "venv: Patroni $("$PGHA_VENV/bin/patroni" --version | awk '{print $2}'), psycopg and cryptography present"
    else
        log "venv: installing $PGHA_PATRONI_SPEC psycopg[binary] cryptography"
        "${pip[@]}" install --use-pep517 "$PGHA_PATRONI_SPEC" "psycopg[binary]>=3" "cryptography" \
            || die "pip install of Patroni/psycopg/cryptography into $PGHA_VENV failed"
        venv_ok || die "venv $PGHA_VENV still lacks a working Patroni 4.x/psycopg/cryptography after install"
        log "venv: Patroni $("$PGHA_VENV/bin/patroni" --version | awk '{print $2}') installed"
    fi
    if venv_moto_ok; then
        log "venv: moto_server present in venv"
    elif [[ $PGHA_FORCE_VENV_MOTO != 1 ]] && system_moto_ok; then
        log "venv: using system moto_server at $(command -v moto_server)"
    else
        log "venv: installing moto[server] into the venv"
        "${pip[@]}" install --use-pep517 "moto[server]>=5" || die "pip install of moto[server] into $PGHA_VENV failed"
        venv_moto_ok || die "moto_server in $PGHA_VENV does not run after install"
    fi
    # Patroni runs as postgres: every file of the venv must be readable by it.
    if ! runuser -u postgres -- "$PGHA_VENV/bin/patroni" --version >/dev/null 2>&1; then
        die "the postgres user cannot run $PGHA_VENV/bin/patroni (directory permissions? interpreter under /root?)"
    fi
}

# find_tool NAME : prints the path of NAME from PATH or ~/.cargo/bin.
find_tool() {
    command -v "$1" 2>/dev/null && return 0
    local c
    for c in "${HOME:-/root}/.cargo/bin/$1" "/usr/local/bin/$1"; do
        [[ -x $c ]] && { echo "$c"; return 0; }
    done
    return 1
}

check_toolchain() {
    local t p missing=()
    for t in cargo rustc terraform; do
        if p=$(find_tool "$t"); then
            log "tool: $t $("$p" --version 2>/dev/null | head -n1 | sed "s/^$t //I")"
        else
            missing+=("$t")
        fi
    done
    ((${#missing[@]} == 0)) && return 0
    local msg="not found: ${missing[*]}. This installer does not download them:"
    msg+=" install Rust with rustup (https://rustup.rs) and Terraform >= 1.11"
    msg+=" (https://developer.hashicorp.com/terraform/install) and put them on PATH."
    if [[ $PGHA_STRICT == 1 ]]; then
        die "$msg"
    fi
    warn "$msg (building the provider and the Terraform tests will not work)"
}

# check_required : verify the binaries the harness runs exist.
check_required() {
    local bad=() b
    local bins=(etcd etcdctl pgbackrest haproxy stunnel4 openssl curl jq shellcheck cloud-init)
    for b in "${bins[@]}"; do
        command -v "$b" >/dev/null 2>&1 || bad+=("$b")
    done
    local pgbin
    pgbin=$(pg_bindir) || bad+=("postgres (no /usr/lib/postgresql/*/bin/postgres)")
    ((${#bad[@]} == 0)) || die "missing after install: ${bad[*]}"
    log "check: etcd $(etcd --version | awk '/etcd Version/ {print $3}'), $("$pgbin/postgres" --version)," \
        "$(pgbackrest version), $(haproxy -v | awk 'NR==1 {print $1, $3}'), $(stunnel4 -version 2>&1 | awk '/^stunnel/ {print $1, $2; exit}')"
}

# pg_bindir : prints the bin dir of the PostgreSQL server (15 preferred, else newest).
pg_bindir() {
    if [[ -x /usr/lib/postgresql/15/bin/postgres ]]; then
        echo /usr/lib/postgresql/15/bin
        return 0
    fi
    local d
    d=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null | sort -V | tail -n1)
    [[ -n $d ]] || return 1
    dirname "$d"
}

main() {
    local start=$SECONDS
    log "pgha setup: venv=$PGHA_VENV skip_apt=$PGHA_SKIP_APT skip_venv=$PGHA_SKIP_VENV"
    if [[ $(id -u) -ne 0 && $PGHA_SKIP_APT != 1 ]]; then
        die "run as root (or with --skip-apt to only check)"
    fi
    install_apt
    check_required
    install_venv
    check_toolchain
    log "done in $((SECONDS - start))s"
}

main

# shellcheck shell=bash
# proc.sh - process hygiene for the local harness: start background services
# with a pid file under a work dir, wait for things with progress and a
# timeout, and stop everything that was started under a work dir.
#
# Source it:   . tests/lib/proc.sh
# Works under `set -euo pipefail`. Functions return non-zero on failure and
# never call `exit`, so the caller's `trap 'pgha_stop_all "$WORK"' EXIT` runs.
#
# Work dir layout (created by pgha_workdir_init):
#   WORKDIR/pids/<tier>-<name>.pid     pid of a started service
#   WORKDIR/pids/<tier>-<name>.signal  optional: signal used to stop it (default TERM)
#   WORKDIR/logs/<name>.log            stdout+stderr of the service
# The tier (two digits) orders shutdown: pgha_stop_all stops the highest tier
# first, all services of one tier together. Defaults used by the libraries:
#   10 etcd, 15 S3 (moto, stunnel), 50 PostgreSQL/Patroni, 70 HAProxy.

# Guard against double sourcing.
if [[ -n ${_PGHA_PROC_SH:-} ]]; then return 0; fi
_PGHA_PROC_SH=1

# pgha_log MESSAGE... : timestamped progress line on stderr (stdout stays
# free for values that functions print).
pgha_log() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

# pgha_workdir_init WORKDIR : create WORKDIR with pids/ and logs/, mode 0755 on
# WORKDIR itself so that the postgres user can reach data dirs below it
# (mktemp -d makes 0700 directories, which postgres cannot traverse).
# Fails when a parent directory keeps postgres out (e.g. under /root).
# Prints the absolute path.
pgha_workdir_init() {
    local dir=${1:?usage: pgha_workdir_init WORKDIR}
    mkdir -p "$dir/pids" "$dir/logs" || return 1
    dir=$(cd "$dir" && pwd -P) || return 1
    chmod 0755 "$dir" "$dir/logs" || return 1
    if id postgres >/dev/null 2>&1 &&
        ! setpriv --reuid=postgres --regid=postgres --init-groups -- test -x "$dir" 2>/dev/null; then
        pgha_log "pgha_workdir_init: the postgres user cannot reach $dir (a parent dir is not searchable, e.g. /root)"
        return 1
    fi
    printf '%s\n' "$dir"
}

# pgha_as_user USER CMD [ARGS...] : run CMD as USER (exec, no extra process
# left in between: setpriv replaces itself with CMD). Runs CMD directly when
# already that user. HOME is set to USER's home.
pgha_as_user() {
    local user=${1:?usage: pgha_as_user USER CMD...}
    shift
    if [[ $(id -un) == "$user" ]]; then
        "$@"
        return
    fi
    local home
    home=$(getent passwd "$user" | cut -d: -f6)
    HOME=$home USER=$user LOGNAME=$user \
        setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
}

# pgha_spawn WORKDIR TIER NAME [--user USER] [--signal SIG] [--clean-env] -- CMD [ARGS...]
# Start CMD in the background in its own session (so its whole process
# group can be signalled), stdout+stderr appended to WORKDIR/logs/NAME.log,
# pid written to WORKDIR/pids/TIER-NAME.pid. --user runs it as USER,
# --signal sets the signal pgha_stop_all sends first (default TERM; use INT
# for a bare postgres = fast shutdown), --clean-env removes PG*, PATRONI_*
# and PGBACKREST_* variables from its environment. Prints the pid. Fails if a live
# process is already registered under NAME.
pgha_spawn() {
    local work=${1:?usage: pgha_spawn WORKDIR TIER NAME [--user U] [--signal S] -- CMD...}
    local tier=${2:?tier missing} name=${3:?name missing}
    shift 3
    local user="" sig="" unset_env=()
    while (($#)); do
        case $1 in
            --user) user=$2; shift 2 ;;
            --clean-env)
                # libpq, Patroni and pgBackRest read these; PGPASSWORD in
                # particular beats a walreceiver's passfile.
                local v
                for v in $(compgen -e); do
                    case $v in PG*|PATRONI_*) unset_env+=(-u "$v") ;; esac  # PG* covers PGBACKREST_*
                done
                shift ;;
            --signal) sig=$2; shift 2 ;;
            --) shift; break ;;
            *) pgha_log "pgha_spawn: unexpected argument $1 (missing --?)"; return 2 ;;
        esac
    done
    (($#)) || { pgha_log "pgha_spawn: no command for $name"; return 2; }
    mkdir -p "$work/pids" "$work/logs" || return 1
    local pidfile
    pidfile="$work/pids/$(printf '%02d' "$((10#$tier))")-$name.pid"
    local old
    for old in "$work"/pids/*-"$name".pid; do
        [[ -e $old ]] || continue
        if pgha_pidfile_alive "$old"; then
            pgha_log "pgha_spawn: $name already running (pid $(cat "$old"))"
            return 1
        fi
        rm -f "$old" "${old%.pid}.signal"
    done
    local log="$work/logs/$name.log"
    : >>"$log"
    [[ -z $user ]] || chown "$user" "$log"
    # A background job of a non-interactive shell is not a process group
    # leader, so setsid(1) calls setsid() and execs instead of forking:
    # $! is then the service itself and leads its own process group.
    if [[ -n $user ]]; then
        local home
        home=$(getent passwd "$user" | cut -d: -f6) || { pgha_log "pgha_spawn: no user $user"; return 1; }
        # env and setpriv both exec: the pid stays the service's own.
        setsid env "${unset_env[@]}" HOME="$home" USER="$user" LOGNAME="$user" \
            setpriv --reuid="$user" --regid="$user" --init-groups -- "$@" \
            >>"$log" 2>&1 </dev/null &
    else
        setsid env "${unset_env[@]}" "$@" >>"$log" 2>&1 </dev/null &
    fi
    local pid=$!
    # Not a job of this shell any more: no "Killed" notices when it is stopped.
    disown "$pid" 2>/dev/null || true
    printf '%s\n' "$pid" >"$pidfile"
    [[ -z $sig ]] || printf '%s\n' "$sig" >"${pidfile%.pid}.signal"
    printf '%s\n' "$pid"
}

# pgha_pidfile_alive PIDFILE : true when the pid in PIDFILE is a live
# (non-zombie) process.
pgha_pidfile_alive() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    pgha_pid_alive "$pid"
}

# pgha_pid_alive PID : true when PID exists and is not a zombie.
pgha_pid_alive() {
    local pid=$1 state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

# pgha_pid_gone PID : true when PID no longer runs (or is a zombie).
pgha_pid_gone() { ! pgha_pid_alive "$1"; }

# pgha_pidfile NAME WORKDIR : print the pid file registered for NAME.
pgha_pidfile() {
    local f
    for f in "$2"/pids/*-"$1".pid; do
        [[ -e $f ]] && { printf '%s\n' "$f"; return 0; }
    done
    return 1
}

# pgha_wait_for DESC TIMEOUT_S CMD [ARGS...] : run CMD every 0.5 s until it
# succeeds or TIMEOUT_S seconds pass; prints a progress line every 5 s and
# the elapsed time at the end. Returns 1 on timeout.
pgha_wait_for() {
    local desc=$1 timeout=$2
    shift 2
    local start now next=5
    start=$(date +%s.%N)
    while true; do
        if "$@" >/dev/null 2>&1; then
            now=$(date +%s.%N)
            pgha_log "ready: $desc ($(awk -v a="$start" -v b="$now" 'BEGIN {printf "%.1f", b-a}')s)"
            return 0
        fi
        now=$(date +%s.%N)
        local el
        el=$(awk -v a="$start" -v b="$now" 'BEGIN {printf "%d", b-a}')
        if ((el >= timeout)); then
            pgha_log "TIMEOUT after ${timeout}s waiting for: $desc"
            return 1
        fi
        if ((el >= next)); then
            pgha_log "waiting for $desc ... ${el}s/${timeout}s"
            next=$((next + 5))
        fi
        sleep 0.5
    done
}

# pgha_tcp_open HOST PORT : true when something accepts TCP on HOST:PORT.
pgha_tcp_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# pgha_tcp_free HOST PORT : true when nothing listens on HOST:PORT.
pgha_tcp_free() {
    ! pgha_tcp_open "$1" "$2"
}

# pgha_stop_pidfiles TIMEOUT_S PIDFILE... : send each process its stop signal
# (TERM or the one recorded at spawn), wait up to TIMEOUT_S for all of them,
# then KILL their process groups. Removes the pid files.
pgha_stop_pidfiles() {
    local timeout=$1
    shift
    local f pid sig pids=()
    for f in "$@"; do
        [[ -e $f ]] || continue
        pid=$(cat "$f" 2>/dev/null || true)
        if pgha_pid_alive "$pid"; then
            sig=TERM
            [[ ! -s ${f%.pid}.signal ]] || sig=$(cat "${f%.pid}.signal")
            kill -s "$sig" "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    local deadline=$((SECONDS + timeout)) alive
    while ((${#pids[@]})); do
        alive=()
        for pid in "${pids[@]}"; do
            pgha_pid_alive "$pid" && alive+=("$pid")
        done
        pids=("${alive[@]+"${alive[@]}"}")
        ((${#pids[@]})) || break
        if ((SECONDS >= deadline)); then
            pgha_log "still running after ${timeout}s, sending KILL: ${pids[*]}"
            for pid in "${pids[@]}"; do
                kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            done
            sleep 0.2
            break
        fi
        sleep 0.2
    done
    # Leftover members of the process groups (children that outlived their
    # leader) are killed too.
    for f in "$@"; do
        [[ -e $f ]] || continue
        pid=$(cat "$f" 2>/dev/null || true)
        if [[ $pid =~ ^[0-9]+$ ]]; then
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        rm -f "$f" "${f%.pid}.signal"
    done
    return 0
}

# pgha_stop NAME WORKDIR [TIMEOUT_S] : stop the one service registered as
# NAME (see pgha_stop_pidfiles). TIMEOUT_S defaults to 20.
pgha_stop() {
    local f
    f=$(pgha_pidfile "$1" "$2") || return 0
    pgha_stop_pidfiles "${3:-20}" "$f"
}

# _pgha_ancestors : print the pids of this shell and all its ancestors.
_pgha_ancestors() {
    local p=$BASHPID
    while [[ $p =~ ^[0-9]+$ ]] && ((p > 1)); do
        printf '%s\n' "$p"
        p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null || true)
    done
    printf '%s\n' "$$"
}

# pgha_stray_pids WORKDIR : print pids of processes that belong to WORKDIR
# but have no pid file: a command line naming WORKDIR (postmasters started by
# Patroni, pgbackrest, stunnel ...), or a postgres process whose cwd (its data
# dir) lies under WORKDIR. Never lists this shell or its ancestors.
pgha_stray_pids() {
    local work=$1 d pid cmd cwd comm skip
    skip=" $(_pgha_ancestors | tr '\n' ' ') "
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [[ $skip == *" $pid "* ]] && continue
        cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
        [[ -n $cmd ]] || continue
        if [[ $cmd == *"$work/"* || $cmd == *"$work "* ]]; then
            printf '%s\n' "$pid"
            continue
        fi
        comm=$(cat 2>/dev/null "$d/comm") || continue
        [[ $comm == postgres || $comm == postmaster ]] || continue
        cwd=$(readlink 2>/dev/null "$d/cwd") || continue
        [[ $cwd == "$work" || $cwd == "$work"/* ]] && printf '%s\n' "$pid"
    done
    return 0
}

# pgha_with_descendants PID... : print the PIDs and all their descendants.
pgha_with_descendants() {
    ps -e -o pid=,ppid= | awk -v roots="$*" '
        { parent[$1] = $2; pids[NR] = $1 }
        END {
            n = split(roots, r, " ")
            for (i = 1; i <= n; i++) keep[r[i]] = 1
            changed = 1
            while (changed) {
                changed = 0
                for (i in pids) { p = pids[i]; if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 } }
            }
            for (p in keep) print p
        }'
}

# pgha_stop_all WORKDIR [TIMEOUT_S] : stop everything started under WORKDIR,
# highest tier first (each tier: stop signal, wait up to TIMEOUT_S, default
# 20, then KILL), then TERM/KILL any stray process found by
# pgha_stray_pids. Safe to call twice and from `trap ... EXIT`; always
# returns 0.
pgha_stop_all() {
    local work=${1:-}
    [[ -n $work && -d $work ]] || return 0
    work=$(cd "$work" && pwd -P) || return 0
    local timeout=${2:-20} tiers t files
    tiers=$(find "$work/pids" -maxdepth 1 -name '[0-9][0-9]-*.pid' -printf '%f\n' 2>/dev/null \
        | cut -c1-2 | sort -ru)
    for t in $tiers; do
        # A library may register a smarter stop for its tier (etcd stops
        # followers before the leader): WORKDIR/pids/TT.stop-hook names a
        # function taking WORKDIR. The generic stop below catches the rest.
        local hook=""
        [[ ! -s $work/pids/$t.stop-hook ]] || hook=$(cat "$work/pids/$t.stop-hook")
        if [[ -n $hook ]] && declare -F "$hook" >/dev/null; then
            pgha_log "stopping tier $t with $hook"
            "$hook" "$work" || true
        fi
        files=("$work/pids/$t"-*.pid)
        [[ -e ${files[0]} ]] || continue
        pgha_log "stopping tier $t: $(for f in "${files[@]}"; do b=${f##*/}; printf '%s ' "${b:3:-4}"; done)"
        pgha_stop_pidfiles "$timeout" "${files[@]}"
    done
    local stray
    stray=$(pgha_stray_pids "$work")
    if [[ -n $stray ]]; then
        # shellcheck disable=SC2086
        stray=$(pgha_with_descendants $stray)
        pgha_log "stray processes under $work: $(echo "$stray" | tr '\n' ' ')"
        # shellcheck disable=SC2086
        kill -TERM $stray 2>/dev/null || true
        local _
        for _ in $(seq 1 25); do
            # shellcheck disable=SC2086
            stray=$(for p in $stray; do if pgha_pid_alive "$p"; then echo "$p"; fi; done)
            [[ -n $stray ]] || break
            sleep 0.2
        done
        # shellcheck disable=SC2086
        [[ -z $stray ]] || kill -KILL $stray 2>/dev/null || true
    fi
    return 0
}

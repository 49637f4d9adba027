//! Validation of the Patroni and PostgreSQL settings: HA timings, synchronous replication, tags,
//! pg_rewind prerequisites, PostgreSQL parameters Patroni owns or drops, connection and WAL sender
//! limits, authentication (`password_encryption`, pg_hba lines, client networks).
//!
//! Facts about Patroni come from its documentation ("Dynamic configuration settings", "YAML
//! configuration settings") and were checked against the Patroni 4.1.5 source: the minimum
//! timings and their adjustment (`Config._validate_and_adjust_timeouts`), the parameters Patroni
//! passes on the postmaster command line and validates (`ConfigHandler.CMDLINE_OPTIONS`), and the
//! recovery parameters it strips from `postgresql.parameters`.

use std::collections::BTreeMap;

use crate::cluster::Cluster;
use crate::diagnostic::{Diagnostic, ModelPath, Severity};
use crate::patroni::{Parameters, PgValue, SlotKind, WatchdogMode};
use crate::pg_hba::{self, AuthMethod, ConnectionType, HbaAddress, HbaLine};
use crate::validate::{diag, is_placeholder, parse_cidr, path, Cidr};

/// `loop_wait + 2 * retry_timeout > ttl`. Patroni's documentation requires
/// `loop_wait + 2 * retry_timeout <= ttl`: otherwise the leader key can expire while the primary
/// is still retrying the DCS, and a replica takes over (Patroni 4 silently shortens `loop_wait`
/// and `retry_timeout` instead, so the cluster runs with other values than configured).
pub const P001: &str = "P001";
/// `ttl` below 20 s, Patroni's documented minimum; Patroni raises it to 20.
pub const P002: &str = "P002";
/// `loop_wait` below 1 s, Patroni's documented minimum; Patroni raises it to 1.
pub const P003: &str = "P003";
/// `retry_timeout` below 3 s, Patroni's documented minimum; Patroni raises it to 3.
pub const P004: &str = "P004";
/// `retry_timeout` does not exceed the etcd election timeout. When the etcd leader fails, etcd
/// answers nothing for up to one election timeout; Patroni gives up on the DCS after
/// `retry_timeout` and demotes the primary, so an etcd leader change becomes a PostgreSQL outage.
pub const P005: &str = "P005";
/// `maximum_lag_on_failover` is 0: a replica may be promoted only when it has replayed every byte,
/// which under write load is almost never, so automatic failover rarely happens.
pub const P006: &str = "P006";
/// `synchronous_mode_strict` without `synchronous_mode`: strict mode only refines synchronous
/// mode, so on its own it does nothing.
pub const P007: &str = "P007";
/// `synchronous_mode` with fewer than two nodes: there is no replica to be synchronous
/// (with `synchronous_mode_strict`, writes stop altogether).
pub const P008: &str = "P008";
/// `synchronous_mode` but fewer than two nodes may be synchronous (the rest carry `nosync`): when
/// the only eligible node is the primary, no synchronous replica exists.
pub const P009: &str = "P009";
/// `use_pg_rewind` with `wal_log_hints` off and data checksums off. pg_rewind requires one of the
/// two (PostgreSQL's pg_rewind documentation), so pgha turns `wal_log_hints` on in that case and
/// the configured `off` is silently replaced.
pub const P010: &str = "P010";
/// `use_pg_rewind` with `full_page_writes` off, which pg_rewind also requires.
pub const P011: &str = "P011";
/// A PostgreSQL parameter Patroni sets itself: `listen_addresses` and `port` (from
/// `postgresql.listen`), `cluster_name` (from `scope`), `hot_standby` (always on),
/// `synchronous_standby_names` (managed in synchronous mode), or one that replaces Patroni's own
/// files: `hba_file` (Patroni then stops writing `pg_hba`, dropping the replication lines),
/// `config_file`.
pub const P012: &str = "P012";
/// A recovery parameter (`primary_conninfo`, `primary_slot_name`, `recovery_target*`,
/// `recovery_min_apply_delay`, …) in `parameters`: Patroni strips recovery parameters from
/// `postgresql.parameters` and writes its own.
pub const P013: &str = "P013";
/// `archive_command`, `restore_command` or `archive_mode` set by hand. The stanza is always
/// configured, and pgha sets `archive_mode = on`, `archive_command` to pgBackRest's
/// `archive-push` and the restore command to `archive-get`, replacing the hand-written value
/// (error: it is silently ignored; `archive_mode = always`, which would have every standby push
/// as well, is a warning).
pub const P014: &str = "P014";
/// `password_encryption` is neither `scram-sha-256` nor `md5`, the only values PostgreSQL 13–18
/// accept.
pub const P015: &str = "P015";
/// `password_encryption = md5`: MD5 password hashes are weaker than SCRAM and deprecated in
/// PostgreSQL 18.
pub const P016: &str = "P016";
/// A pg_hba line is malformed: wrong field count, unknown connection type or method (or one
/// PostgreSQL on Linux or this PostgreSQL version lacks), a list where one value belongs, options
/// that are not `name=value`, or a method on a line type it does not work on (`peer` on a network
/// line, `cert` off `hostssl`, `gss` on `local`). See [`crate::pg_hba`].
pub const P017: &str = "P017";
/// A pg_hba `trust` method on a network line: anyone who reaches the address connects without a
/// password (error), or any local OS user does (loopback: warning).
pub const P018: &str = "P018";
/// A pg_hba `password` method on a line that does not require SSL: the password crosses the
/// network in clear text.
pub const P019: &str = "P019";
/// A pg_hba `md5` method while `password_encryption` is `scram-sha-256`. This still works:
/// PostgreSQL's documentation says that when a role's stored password is a SCRAM verifier, an
/// `md5` line performs SCRAM authentication instead. But the line also accepts roles that still
/// have MD5 hashes, so `scram-sha-256` states the intent (info; warning from PostgreSQL 18, where
/// MD5 passwords are deprecated).
pub const P020: &str = "P020";
/// A network address (client CIDR or pg_hba address) is not valid CIDR syntax, or a pg_hba host
/// name is not a valid host name.
pub const P021: &str = "P021";
/// A network address is an unfilled placeholder such as the tutorial's `x.x.x.0/0`.
pub const P022: &str = "P022";
/// A network address admits the whole Internet (`0.0.0.0/0`, `::/0`, `all`).
pub const P023: &str = "P023";
/// `superuser_reserved_connections` (plus `reserved_connections` from PostgreSQL 16) is not less
/// than `max_connections`; PostgreSQL refuses to start ("superuser_reserved_connections (N) must
/// be less than max_connections (N)", checked with PostgreSQL 15).
pub const P024: &str = "P024";
/// `max_wal_senders` is too small for the nodes: every replica holds one WAL sender, and
/// rebuilding a member (pg_basebackup, pg_rewind) needs another.
pub const P025: &str = "P025";
/// `max_replication_slots` is smaller than the number of replicas while `use_slots` is on:
/// Patroni creates one slot per other member and fails to create the rest.
pub const P026: &str = "P026";
/// `wal_level` is neither `replica` nor `logical` (Patroni also accepts the old `hot_standby`):
/// streaming replication needs at least `replica`, so Patroni discards other values and pgha
/// writes `replica` in their place.
pub const P027: &str = "P027";
/// Every node is tagged `nofailover` (or `failover_priority: 0`): no node can ever be promoted.
pub const P028: &str = "P028";
/// A parameter Patroni validates on the postmaster command line fails its check
/// (`max_connections` ≥ 25, `max_wal_senders` ≥ 3, `max_replication_slots` ≥ 4,
/// `max_worker_processes` ≥ 2, `max_locks_per_transaction` ≥ 32, `max_prepared_transactions`
/// ≥ 0, `wal_keep_size` ≥ 16 MB, `wal_keep_segments` ≥ 1, booleans for `wal_log_hints` and
/// `track_commit_timestamp`): Patroni logs a warning and uses its default instead.
pub const P029: &str = "P029";
/// A node-local parameter that Patroni accepts only from the DCS (`max_connections`,
/// `max_wal_senders`, `wal_level`, …): Patroni discards it from the local configuration because
/// these must match on every member.
pub const P030: &str = "P030";
/// `watchdog: required`: Patroni refuses to become leader unless `/dev/watchdog` exists and is
/// usable, which needs a kernel watchdog driver (`softdog` on VMs) loaded on every host.
pub const P031: &str = "P031";
/// The Patroni major version is not 3 or 4, the versions pgha emits configuration for.
pub const P032: &str = "P032";
/// Two node names map to the same replication slot name. Patroni derives slot names by lowering
/// the case, replacing `-` and `.` with `_` and encoding other characters, so `pg-db-01` and
/// `pg_db_01` share one slot.
pub const P033: &str = "P033";
/// A CIDR has bits set below its prefix (`192.0.2.1/24`): PostgreSQL masks them, so the line
/// admits the whole network, which is probably not what was meant.
pub const P034: &str = "P034";
/// A numeric PostgreSQL parameter pgha checks (`superuser_reserved_connections`,
/// `reserved_connections`) is not a whole number.
pub const P035: &str = "P035";
/// A role name (superuser, replication, rewind, admin) is empty or contains whitespace.
pub const P036: &str = "P036";
/// A parameter pgha derives from the platform layout (`data_directory`, `log_directory`,
/// `unix_socket_directories`): the data directory, the log clean-up and the backup job's socket
/// connection follow the layout, so pgha writes the layout's value in each node's local
/// parameters (which take precedence over the DCS) and the value given here is ignored.
pub const P037: &str = "P037";
/// A pg_hba `scram-sha-256` line while `password_encryption` is `md5`: roles whose password is
/// stored as an MD5 hash cannot authenticate by SCRAM, so every password login fails.
pub const P038: &str = "P038";
/// `reserved_connections` on PostgreSQL older than 16, where it does not exist; Patroni drops
/// unknown parameters.
pub const P039: &str = "P039";
/// `synchronous_node_count` is 0, or (with `synchronous_mode`) not below the number of nodes
/// that may be synchronous: Patroni keeps only as many synchronous standbys as there are.
pub const P040: &str = "P040";
/// A permanent slot's name is not a valid PostgreSQL replication slot name (`[a-z0-9_]`, at most
/// 63 characters), or is the slot Patroni keeps for a member.
pub const P041: &str = "P041";
/// A logical permanent slot without `database` or `plugin`, or with `wal_level` below
/// `logical`: Patroni cannot create it; a physical slot with `database` or `plugin`.
pub const P042: &str = "P042";
/// `member_slots_ttl` with Patroni 3, which does not know it (it keeps no slot of a removed
/// member anyway).
pub const P043: &str = "P043";

/// Patroni's default for `max_connections`, `max_wal_senders` and `max_replication_slots` when not
/// set (or set to a value it rejects).
const PATRONI_DEFAULT_MAX_CONNECTIONS: i64 = 100;
const PATRONI_DEFAULT_SENDERS_AND_SLOTS: i64 = 10;
/// PostgreSQL's default `superuser_reserved_connections`.
const PG_DEFAULT_SUPERUSER_RESERVED: i64 = 3;

/// How Patroni validates a parameter it passes on the postmaster command line.
#[derive(Clone, Copy)]
pub(crate) enum CmdlineCheck {
    /// Always taken from the patroni.yml setting named here (`listen_addresses` and `port` from
    /// `postgresql.listen`, `cluster_name` from `scope`).
    Managed(&'static str),
    /// An integer at least this large.
    MinInt(i64),
    /// A boolean.
    Bool,
    /// Must be true (`hot_standby`).
    True,
    /// One of `hot_standby`, `replica`, `logical`.
    WalLevel,
}

/// Patroni 4's `ConfigHandler.CMDLINE_OPTIONS`: name, check, Patroni's default. Patroni takes
/// these parameters only from the DCS (they must match on every member) or sets them itself;
/// validation (P029, P030) and lint (L114) both read this table.
pub(crate) const CMDLINE_OPTIONS: &[(&str, CmdlineCheck, &str)] = &[
    (
        "listen_addresses",
        CmdlineCheck::Managed("postgresql.listen"),
        "",
    ),
    ("port", CmdlineCheck::Managed("postgresql.listen"), ""),
    ("cluster_name", CmdlineCheck::Managed("scope"), ""),
    ("wal_level", CmdlineCheck::WalLevel, "replica"),
    ("hot_standby", CmdlineCheck::True, "on"),
    ("max_connections", CmdlineCheck::MinInt(25), "100"),
    ("max_wal_senders", CmdlineCheck::MinInt(3), "10"),
    ("wal_keep_segments", CmdlineCheck::MinInt(1), "8"),
    ("wal_keep_size", CmdlineCheck::MinInt(16), "128MB"),
    ("max_prepared_transactions", CmdlineCheck::MinInt(0), "0"),
    ("max_locks_per_transaction", CmdlineCheck::MinInt(32), "64"),
    ("track_commit_timestamp", CmdlineCheck::Bool, "off"),
    ("max_replication_slots", CmdlineCheck::MinInt(4), "10"),
    ("max_worker_processes", CmdlineCheck::MinInt(2), "8"),
    ("wal_log_hints", CmdlineCheck::Bool, "on"),
];

/// Recovery parameters Patroni strips from `postgresql.parameters` (Patroni 4.1.5,
/// `available_parameters/0_postgres.yml`), except `restore_command` (P014).
const RECOVERY_PARAMETERS: &[&str] = &[
    "archive_cleanup_command",
    "pause_at_recovery_target",
    "primary_conninfo",
    "primary_slot_name",
    "promote_trigger_file",
    "recovery_end_command",
    "recovery_min_apply_delay",
    "recovery_target",
    "recovery_target_action",
    "recovery_target_inclusive",
    "recovery_target_lsn",
    "recovery_target_name",
    "recovery_target_time",
    "recovery_target_timeline",
    "recovery_target_xid",
    "standby_mode",
    "trigger_file",
];

/// An integer parameter value (`100`, `"100"`); `None` for anything else.
pub(crate) fn pg_int(v: &PgValue) -> Option<i64> {
    match v {
        PgValue::Int(i) => Some(*i),
        PgValue::Float(f) if f.fract() == 0.0 && f.is_finite() && f.abs() < 9.0e15 => {
            // Exact for every integer below 2^53.
            Some(*f as i64)
        }
        PgValue::Text(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A PostgreSQL boolean (`on`, `off`, `true`, `yes`, `1`, unique prefixes); `None` otherwise.
pub(crate) fn pg_bool(v: &PgValue) -> Option<bool> {
    match v {
        PgValue::Bool(b) => Some(*b),
        PgValue::Int(1) => Some(true),
        PgValue::Int(0) => Some(false),
        PgValue::Text(s) => {
            let s = s.trim().to_ascii_lowercase();
            if s.is_empty() {
                return None;
            }
            if s == "on" || s == "1" || "true".starts_with(&s) || "yes".starts_with(&s) {
                Some(true)
            } else if s == "off"
                || s == "of"
                || s == "0"
                || "false".starts_with(&s)
                || "no".starts_with(&s)
            {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The parameter, looked up case-insensitively as PostgreSQL does.
fn param<'a>(params: &'a Parameters, name: &str) -> Option<(&'a str, &'a PgValue)> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(k, v)| (k.as_str(), v))
}

/// Appends every problem of the patroni settings to `out`.
pub fn validate(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    check_timings(cluster, out);
    check_synchronous(cluster, out);
    check_tags(cluster, out);
    check_slots(cluster, out);
    check_parameters(cluster, out);
    check_capacity(cluster, out);
    check_rewind(cluster, out);
    check_auth(cluster, out);
    check_roles(cluster, out);

    let p = &cluster.patroni;
    if p.watchdog == WatchdogMode::Required {
        out.push(diag(
            P031,
            Severity::Warning,
            path("patroni.watchdog"),
            "watchdog `required` stops Patroni from becoming leader on any host without a usable /dev/watchdog.",
            "Load a watchdog driver on every database host (`modprobe softdog`, persisted in /etc/modules-load.d) and let the postgres user open /dev/watchdog, or use `automatic`.",
        ));
    }
    if p.member_slots_ttl.is_some() && p.version < 4 {
        out.push(diag(
            P043,
            Severity::Warning,
            path("patroni.member_slots_ttl"),
            "member_slots_ttl exists only in Patroni 4; Patroni 3 ignores it (and drops a removed member's slot at once).",
            "Remove `member_slots_ttl`, or run Patroni 4.",
        ));
    }
    if !(3..=4).contains(&p.version) {
        out.push(diag(
            P032,
            Severity::Error,
            path("patroni.version"),
            format!(
                "Patroni {} is not supported; pgha emits configuration for Patroni 3 and 4.",
                p.version
            ),
            "Set `patroni.version` to 4 (or 3).",
        ));
    }
}

fn check_timings(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let p = &c.patroni;
    let (ttl, lw, rt) = (
        u64::from(p.ttl),
        u64::from(p.loop_wait),
        u64::from(p.retry_timeout),
    );
    if ttl < 20 {
        out.push(diag(
            P002,
            Severity::Error,
            path("patroni.ttl"),
            format!("ttl {ttl} s is below Patroni's minimum of 20 s; Patroni raises it to 20."),
            "Set `ttl` to 20 or more (Patroni's default is 30).",
        ));
    }
    if lw < 1 {
        out.push(diag(
            P003,
            Severity::Error,
            path("patroni.loop_wait"),
            "loop_wait 0 s is below Patroni's minimum of 1 s; Patroni raises it to 1.",
            "Set `loop_wait` to 1 or more (Patroni's default is 10).",
        ));
    }
    if rt < 3 {
        out.push(diag(
            P004,
            Severity::Error,
            path("patroni.retry_timeout"),
            format!(
                "retry_timeout {rt} s is below Patroni's minimum of 3 s; Patroni raises it to 3."
            ),
            "Set `retry_timeout` to 3 or more (Patroni's default is 10).",
        ));
    }
    if lw + 2 * rt > ttl {
        out.push(diag(
            P001,
            Severity::Error,
            path("patroni.ttl"),
            format!(
                "loop_wait + 2 × retry_timeout = {} s exceeds ttl {ttl} s, so the leader key can expire while the primary is still retrying.",
                lw + 2 * rt
            ),
            format!(
                "Raise `ttl` to at least {} s, or lower `loop_wait`/`retry_timeout` so that loop_wait + 2 × retry_timeout <= ttl.",
                lw + 2 * rt
            ),
        ));
    }
    let election = u64::from(c.etcd.election_timeout_ms);
    if rt * 1000 <= election {
        out.push(diag(
            P005,
            Severity::Warning,
            path("patroni.retry_timeout"),
            format!(
                "retry_timeout {rt} s does not exceed the etcd election timeout ({election} ms), so an etcd leader change can demote the primary."
            ),
            format!(
                "Set `retry_timeout` above {} s (and keep loop_wait + 2 × retry_timeout <= ttl), or lower `etcd.election_timeout_ms`.",
                election / 1000
            ),
        ));
    }
    if p.maximum_lag_on_failover == 0 {
        out.push(diag(
            P006,
            Severity::Warning,
            path("patroni.maximum_lag_on_failover"),
            "maximum_lag_on_failover 0 lets only a replica with no lag at all be promoted, so failover rarely happens under load.",
            "Use Patroni's default of 1048576 bytes (1 MiB), or turn on synchronous_mode for zero data loss.",
        ));
    }
}

fn is_nofailover(n: &crate::patroni::PatroniNode) -> bool {
    n.tags.nofailover || n.tags.failover_priority == Some(0)
}

fn check_synchronous(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let p = &c.patroni;
    if p.synchronous_mode_strict && !p.synchronous_mode {
        out.push(diag(
            P007,
            Severity::Error,
            path("patroni.synchronous_mode_strict"),
            "synchronous_mode_strict is on but synchronous_mode is off, so it has no effect.",
            "Turn on `synchronous_mode` too, or turn `synchronous_mode_strict` off.",
        ));
    }
    if !p.synchronous_mode {
        return;
    }
    let sev = if p.synchronous_mode_strict {
        Severity::Error
    } else {
        Severity::Warning
    };
    let n = c.nodes.len();
    if n < 2 {
        out.push(diag(
            P008,
            sev,
            path("patroni.synchronous_mode"),
            format!("synchronous_mode is on with {n} node(s), so there is no replica to be synchronous."),
            "Add nodes, or turn `synchronous_mode` off.",
        ));
        return;
    }
    let eligible = c.nodes.iter().filter(|n| !n.tags.nosync).count();
    let count = p.synchronous_node_count as usize;
    if count == 0 || (eligible >= 2 && count >= eligible) {
        out.push(diag(
            P040,
            if count == 0 { Severity::Error } else { sev },
            path("patroni.synchronous_node_count"),
            format!(
                "synchronous_node_count is {count} with {eligible} node(s) that may be synchronous; \
                 a primary has at most {} synchronous standby(s).",
                eligible.saturating_sub(1)
            ),
            "Keep synchronous_node_count between 1 and the number of nodes that may be synchronous minus one (1 for three nodes).",
        ));
    }
    if eligible < 2 {
        out.push(diag(
            P009,
            sev,
            path("patroni.synchronous_mode"),
            format!("Only {eligible} node(s) may be synchronous (the others are tagged nosync), so some primaries have no synchronous replica."),
            "Remove `nosync` from at least two nodes, or turn `synchronous_mode` off.",
        ));
    }
}

fn check_tags(c: &Cluster, out: &mut Vec<Diagnostic>) {
    if !c.nodes.is_empty() && c.nodes.iter().all(is_nofailover) {
        out.push(diag(
            P028,
            Severity::Error,
            path("nodes"),
            "Every node is tagged nofailover (or failover_priority 0), so no node can ever be promoted.",
            "Remove `nofailover` (or give a positive `failover_priority`) on at least one node, better two.",
        ));
    }
    if c.patroni.use_slots {
        let mut slots: BTreeMap<String, usize> = BTreeMap::new();
        for (i, n) in c.nodes.iter().enumerate() {
            let slot = slot_name(&n.name);
            if let Some(&first) = slots.get(&slot) {
                let same = c.nodes.get(first).is_some_and(|f| f.name == n.name);
                if !same {
                    out.push(diag(
                        P033,
                        Severity::Error,
                        path("nodes").index(i).key("name"),
                        format!(
                            "Node name `{}` maps to replication slot `{slot}`, the same as nodes[{first}].",
                            n.name
                        ),
                        "Choose node names that differ in more than case, `-`, `.` and `_`.",
                    ));
                }
            } else {
                slots.insert(slot, i);
            }
        }
    }
}

fn check_slots(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let logical_wal = c
        .patroni
        .parameters
        .get("wal_level")
        .is_some_and(|v| v.to_string() == "logical");
    let members: Vec<String> = c.nodes.iter().map(|n| slot_name(&n.name)).collect();
    for (name, slot) in &c.patroni.slots {
        let at = path("patroni.slots").key(name);
        let valid = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            out.push(diag(
                P041,
                Severity::Error,
                at.clone(),
                format!("`{name}` is not a replication slot name: PostgreSQL accepts lower-case letters, digits and `_`, at most 63 characters."),
                "Rename the slot, e.g. with `_` instead of `-`.",
            ));
        } else if c.patroni.use_slots && members.contains(name) {
            out.push(diag(
                P041,
                Severity::Error,
                at.clone(),
                format!("`{name}` is the slot Patroni keeps for the member of that name; a permanent slot of the same name would fight it."),
                "Choose another name for the permanent slot.",
            ));
        }
        match slot.kind {
            SlotKind::Logical => {
                if slot.database.is_none() || slot.plugin.is_none() {
                    out.push(diag(
                        P042,
                        Severity::Error,
                        at.clone(),
                        format!("Logical slot `{name}` needs both `database` and `plugin`."),
                        "Give the database the slot decodes and its output plugin (`pgoutput` for logical replication).",
                    ));
                }
                if !logical_wal {
                    out.push(diag(
                        P042,
                        Severity::Error,
                        at,
                        format!("Logical slot `{name}` needs `wal_level = logical`; pgha sets `replica` unless told otherwise."),
                        "Set the PostgreSQL parameter `wal_level` to `logical` (a restart).",
                    ));
                }
            }
            SlotKind::Physical => {
                if slot.database.is_some() || slot.plugin.is_some() {
                    out.push(diag(
                        P042,
                        Severity::Error,
                        at,
                        format!("Physical slot `{name}` takes no `database` or `plugin`."),
                        "Remove them, or make the slot `logical`.",
                    ));
                }
            }
        }
    }
}

/// Patroni's `slot_name_from_member_name`: lower-case, `-`/`.` to `_`, other characters outside
/// `[a-z0-9_]` as `u%04d` of their code point, cut to 63 characters.
pub(crate) fn slot_name(member: &str) -> String {
    let mut s = String::new();
    for ch in member.to_lowercase().chars() {
        match ch {
            'a'..='z' | '0'..='9' | '_' => s.push(ch),
            '-' | '.' => s.push('_'),
            other => s.push_str(&format!("u{:04}", u32::from(other))),
        }
    }
    s.chars().take(63).collect()
}

fn check_parameters(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let base = path("patroni.parameters");
    check_parameter_set(c, &c.patroni.parameters, &base, false, out);
    for (i, n) in c.nodes.iter().enumerate() {
        let base = path("nodes").index(i).key("parameters");
        check_parameter_set(c, &n.parameters, &base, true, out);
    }
}

fn check_parameter_set(
    c: &Cluster,
    params: &Parameters,
    base: &ModelPath,
    local: bool,
    out: &mut Vec<Diagnostic>,
) {
    for (name, value) in params {
        let lower = name.to_ascii_lowercase();
        let p = base.key(name.as_str());
        let shown = value.to_string();

        // Parameters Patroni or pgha set themselves.
        let managed_hint = match lower.as_str() {
            "listen_addresses" => Some("Set the node's `listen_address` (and `address`) instead."),
            "port" => Some("Set the node's `pg_port` instead."),
            "cluster_name" => Some("Patroni sets it to the cluster `name`; remove it."),
            "config_file" => Some("Patroni writes postgresql.conf itself; remove it."),
            "hba_file" => Some(
                "Remove it and use `patroni.pg_hba` and `patroni.client_cidrs`; with hba_file set Patroni stops writing the replication entries.",
            ),
            "hot_standby" if pg_bool(value) != Some(true) => {
                Some("Patroni always runs with hot_standby on; remove it.")
            }
            "synchronous_standby_names" if c.patroni.synchronous_mode => Some(
                "Patroni manages it in synchronous mode; remove it (use `nosync` tags to exclude nodes).",
            ),
            _ => None,
        };
        if let Some(hint) = managed_hint {
            out.push(diag(
                P012,
                Severity::Error,
                p,
                format!("Parameter `{name}` is set by Patroni itself, so `{shown}` is overridden or breaks its configuration."),
                hint,
            ));
            continue;
        }
        let layout_hint = match lower.as_str() {
            "data_directory" => Some("Set `platform.paths.pg_data_dir` instead."),
            "log_directory" => {
                Some("Set `platform.paths.pg_log_dir` instead; the log clean-up job follows it.")
            }
            "unix_socket_directories" => Some(
                "Set `platform.paths.pg_socket_dir` instead; the backup job connects through it.",
            ),
            _ => None,
        };
        if let Some(hint) = layout_hint {
            out.push(diag(
                P037,
                Severity::Error,
                p,
                format!("Parameter `{name}` is set from the platform layout, so the value given here is ignored."),
                hint,
            ));
            continue;
        }
        if RECOVERY_PARAMETERS.contains(&lower.as_str()) {
            out.push(diag(
                P013,
                Severity::Error,
                p,
                format!("`{name}` is a recovery parameter, which Patroni removes from `parameters` and manages itself."),
                "Remove it; Patroni writes primary_conninfo and primary_slot_name, and pgha configures recovery through pgBackRest.",
            ));
            continue;
        }
        match lower.as_str() {
            "archive_command" | "restore_command" => {
                out.push(diag(
                    P014,
                    Severity::Error,
                    p,
                    format!("`{name}` is set by hand, but pgha replaces it with pgBackRest's command for stanza `{}`.", c.stanza_name()),
                    "Remove it; configure the repository under `pgbackrest` instead.",
                ));
                continue;
            }
            "archive_mode" => {
                let text = shown.to_ascii_lowercase();
                if text == "always" {
                    out.push(diag(
                        P014,
                        Severity::Warning,
                        p,
                        "archive_mode `always` (every standby pushing WAL too) is replaced by on, since all nodes share one repository.",
                        "Remove it; pgha sets archive_mode on.",
                    ));
                } else if pg_bool(value) != Some(true) {
                    out.push(diag(
                        P014,
                        Severity::Error,
                        p,
                        format!("archive_mode `{shown}` is replaced by on: pgBackRest backups and point-in-time recovery need WAL archiving."),
                        "Remove it; pgha always archives WAL to the pgBackRest repository.",
                    ));
                }
                continue;
            }
            _ => {}
        }

        if let Some((_, check, default)) = CMDLINE_OPTIONS
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(&lower))
        {
            if local {
                out.push(diag(
                    P030,
                    Severity::Error,
                    p,
                    format!("`{name}` must be the same on every member, so Patroni discards it from a node's local parameters."),
                    "Move it to `patroni.parameters`.",
                ));
                continue;
            }
            let ok = match check {
                CmdlineCheck::Managed(_) => false,
                CmdlineCheck::MinInt(min) => {
                    let parsed = if lower == "wal_keep_size" {
                        size_in_mb(value)
                    } else {
                        pg_int(value)
                    };
                    parsed.is_some_and(|v| v >= *min)
                }
                CmdlineCheck::Bool => pg_bool(value).is_some(),
                CmdlineCheck::True => pg_bool(value) == Some(true),
                CmdlineCheck::WalLevel => true, // P027 below says more.
            };
            if !ok {
                let need = match check {
                    CmdlineCheck::MinInt(min) if lower == "wal_keep_size" => {
                        format!("a size of at least {min}MB")
                    }
                    CmdlineCheck::MinInt(min) => format!("a whole number of at least {min}"),
                    _ => "on or off".to_string(),
                };
                out.push(diag(
                    P029,
                    Severity::Error,
                    p,
                    format!("`{name} = {shown}` fails Patroni's check ({need}), so Patroni ignores it and uses {default}."),
                    format!("Set `{name}` to {need}."),
                ));
                continue;
            }
        }

        match lower.as_str() {
            "wal_level" => {
                let text = shown.to_ascii_lowercase();
                if !matches!(text.as_str(), "replica" | "logical" | "hot_standby") {
                    out.push(diag(
                        P027,
                        Severity::Error,
                        p,
                        format!("wal_level `{shown}` does not allow streaming replication, so it is replaced by replica."),
                        "Use `replica` (or `logical` for logical decoding).",
                    ));
                }
            }
            "password_encryption" => {
                let text = shown.to_ascii_lowercase();
                if text == "md5" {
                    out.push(diag(
                        P016,
                        Severity::Warning,
                        p,
                        "password_encryption md5 stores weak password hashes, and MD5 passwords are deprecated in PostgreSQL 18.",
                        "Use `scram-sha-256`.",
                    ));
                } else if text != "scram-sha-256" {
                    out.push(diag(
                        P015,
                        Severity::Error,
                        p,
                        format!("password_encryption `{shown}` is not a value PostgreSQL accepts."),
                        "Use `scram-sha-256` (or `md5` for very old clients).",
                    ));
                }
            }
            "superuser_reserved_connections" | "reserved_connections" => {
                if pg_int(value).is_none_or_negative() {
                    out.push(diag(
                        P035,
                        Severity::Error,
                        p.clone(),
                        format!("`{name} = {shown}` is not a whole number of connections."),
                        "Give a whole number such as 3.",
                    ));
                }
                if lower == "reserved_connections" && c.postgres_version < 16 {
                    out.push(diag(
                        P039,
                        Severity::Warning,
                        p,
                        format!("reserved_connections exists from PostgreSQL 16; PostgreSQL {} does not know it.", c.postgres_version),
                        "Remove it, or raise `postgres_version` to 16 or later.",
                    ));
                }
            }
            _ => {}
        }
    }
}

/// `wal_keep_size` in megabytes: a bare number is megabytes; `MB`, `GB`, `TB` suffixes.
fn size_in_mb(v: &PgValue) -> Option<i64> {
    if let Some(i) = pg_int(v) {
        return Some(i);
    }
    let PgValue::Text(s) = v else { return None };
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = s.split_at(digits);
    let n: i64 = num.parse().ok()?;
    let factor = match unit.trim() {
        "kB" => return Some(n / 1024),
        "MB" => 1,
        "GB" => 1024,
        "TB" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(factor)
}

trait NoneOrNegative {
    fn is_none_or_negative(&self) -> bool;
}
impl NoneOrNegative for Option<i64> {
    fn is_none_or_negative(&self) -> bool {
        !matches!(self, Some(v) if *v >= 0)
    }
}

/// The value Patroni would run with for a command-line option: the user's valid value, else
/// Patroni's default.
fn effective_int(params: &Parameters, name: &str, min: i64, default: i64) -> (i64, bool) {
    match param(params, name).and_then(|(_, v)| pg_int(v)) {
        Some(v) if v >= min => (v, true),
        _ => (default, false),
    }
}

fn check_capacity(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let params = &c.patroni.parameters;
    let base = path("patroni.parameters");
    let (max_conn, _) = effective_int(
        params,
        "max_connections",
        25,
        PATRONI_DEFAULT_MAX_CONNECTIONS,
    );
    let su = param(params, "superuser_reserved_connections")
        .and_then(|(_, v)| pg_int(v))
        .unwrap_or(PG_DEFAULT_SUPERUSER_RESERVED);
    let reserved = if c.postgres_version >= 16 {
        param(params, "reserved_connections")
            .and_then(|(_, v)| pg_int(v))
            .unwrap_or(0)
    } else {
        0
    };
    if su.saturating_add(reserved) >= max_conn {
        let at = param(params, "superuser_reserved_connections")
            .map(|(k, _)| base.key(k))
            .unwrap_or_else(|| base.key("max_connections"));
        let what = if reserved > 0 {
            format!("superuser_reserved_connections ({su}) plus reserved_connections ({reserved})")
        } else {
            format!("superuser_reserved_connections ({su})")
        };
        out.push(diag(
            P024,
            Severity::Error,
            at,
            format!("{what} is not less than max_connections ({max_conn}); PostgreSQL refuses to start."),
            "Raise `max_connections` or lower the reserved connections.",
        ));
    }

    let nodes = i64::try_from(c.nodes.len()).unwrap_or(i64::MAX);
    if nodes >= 2 {
        let (senders, set) = effective_int(
            params,
            "max_wal_senders",
            3,
            PATRONI_DEFAULT_SENDERS_AND_SLOTS,
        );
        let at = param(params, "max_wal_senders")
            .map(|(k, _)| base.key(k))
            .unwrap_or_else(|| base.key("max_wal_senders"));
        if senders < nodes - 1 {
            out.push(diag(
                P025,
                Severity::Error,
                at,
                format!("max_wal_senders {senders}{} is less than the {} replicas, so some cannot stream.", if set { "" } else { " (Patroni's default)" }, nodes - 1),
                format!("Set `max_wal_senders` to at least {} (replicas plus one for rebuilding a member).", nodes),
            ));
        } else if senders < nodes {
            out.push(diag(
                P025,
                Severity::Warning,
                at,
                format!("max_wal_senders {senders} leaves no WAL sender free for rebuilding a member while all {} replicas stream.", nodes - 1),
                format!("Set `max_wal_senders` to at least {nodes}."),
            ));
        }
        if c.patroni.use_slots {
            let (slots, set) = effective_int(
                params,
                "max_replication_slots",
                4,
                PATRONI_DEFAULT_SENDERS_AND_SLOTS,
            );
            if slots < nodes - 1 {
                let at = param(params, "max_replication_slots")
                    .map(|(k, _)| base.key(k))
                    .unwrap_or_else(|| base.key("max_replication_slots"));
                out.push(diag(
                    P026,
                    Severity::Error,
                    at,
                    format!("max_replication_slots {slots}{} is less than the {} replicas Patroni creates slots for.", if set { "" } else { " (Patroni's default)" }, nodes - 1),
                    format!("Set `max_replication_slots` to at least {}.", nodes - 1),
                ));
            }
        }
    }
}

fn check_rewind(c: &Cluster, out: &mut Vec<Diagnostic>) {
    if !c.patroni.use_pg_rewind {
        return;
    }
    let params = &c.patroni.parameters;
    let base = path("patroni.parameters");
    if let Some((k, v)) = param(params, "wal_log_hints") {
        if pg_bool(v) == Some(false) && !c.patroni.initdb.data_checksums {
            out.push(diag(
                P010,
                Severity::Error,
                base.key(k),
                "wal_log_hints off conflicts with use_pg_rewind without data checksums (pg_rewind needs one of them), so it is replaced by on.",
                "Remove `wal_log_hints: off`, or set `patroni.initdb.data_checksums: true`, or turn `use_pg_rewind` off.",
            ));
        }
    }
    if let Some((k, v)) = param(params, "full_page_writes") {
        if pg_bool(v) == Some(false) {
            out.push(diag(
                P011,
                Severity::Error,
                base.key(k),
                "use_pg_rewind is on, but full_page_writes is off, which pg_rewind requires.",
                "Remove `full_page_writes: off`.",
            ));
        }
    }
}

/// What `password_encryption` will be: the configured value, else PostgreSQL's default
/// (`scram-sha-256` from PostgreSQL 14, `md5` before).
fn password_encryption(c: &Cluster) -> String {
    param(&c.patroni.parameters, "password_encryption")
        .map(|(_, v)| v.to_string().to_ascii_lowercase())
        .unwrap_or_else(|| {
            if c.postgres_version >= 14 {
                "scram-sha-256".to_string()
            } else {
                "md5".to_string()
            }
        })
}

fn check_auth(c: &Cluster, out: &mut Vec<Diagnostic>) {
    for (i, cidr) in c.patroni.client_cidrs.iter().enumerate() {
        let p = path("patroni.client_cidrs").index(i);
        check_network(cidr, p, out);
    }
    let encryption = password_encryption(c);
    for (i, line) in c.patroni.pg_hba.iter().enumerate() {
        let p = path("patroni.pg_hba").index(i);
        match pg_hba::parse_line(line, Some(c.postgres_version)) {
            Err(e) => out.push(diag(
                P017,
                Severity::Error,
                p,
                format!("pg_hba line `{}` is malformed: {e}.", line.trim()),
                "Write `host DATABASE USER ADDRESS/PREFIX METHOD` (or `local DATABASE USER METHOD`).",
            )),
            Ok(None) => {}
            Ok(Some(hba)) => check_hba(c, &hba, &p, &encryption, out),
        }
    }
}

/// Checks one client network (CIDR syntax, placeholder, whole Internet, host bits).
fn check_network(text: &str, p: ModelPath, out: &mut Vec<Diagnostic>) -> Option<Cidr> {
    if is_placeholder(text) {
        out.push(diag(
            P022,
            Severity::Error,
            p,
            format!("`{text}` is an unfilled placeholder, not a network."),
            "Give the client network in CIDR form, e.g. `10.0.1.0/24`.",
        ));
        return None;
    }
    match parse_cidr(text) {
        Err(e) => {
            out.push(diag(
                P021,
                Severity::Error,
                p,
                format!("`{text}` is not a valid network: {e}."),
                "Give the network in CIDR form, e.g. `10.0.1.0/24` or `192.0.2.7/32`.",
            ));
            None
        }
        Ok(cidr) => {
            if cidr.is_everything() {
                out.push(diag(
                    P023,
                    Severity::Warning,
                    p,
                    format!("`{text}` admits the whole Internet; only the firewall stands between it and the database."),
                    "Narrow it to the networks of your applications.",
                ));
            } else if cidr.has_host_bits() {
                out.push(diag(
                    P034,
                    Severity::Warning,
                    p,
                    format!("`{text}` has host bits set; PostgreSQL ignores them and admits the whole /{} network.", cidr.prefix),
                    format!("Write the network address (`{}`) or use /{} for one host.", network_of(&cidr), if cidr.ip.is_ipv4() { 32 } else { 128 }),
                ));
            }
            Some(cidr)
        }
    }
}

fn network_of(c: &Cidr) -> String {
    match c.ip {
        std::net::IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(c.prefix)).unwrap_or(0);
            format!(
                "{}/{}",
                std::net::Ipv4Addr::from(u32::from(v4) & mask),
                c.prefix
            )
        }
        std::net::IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(c.prefix))
                .unwrap_or(0);
            format!(
                "{}/{}",
                std::net::Ipv6Addr::from(u128::from(v6) & mask),
                c.prefix
            )
        }
    }
}

fn check_hba(
    c: &Cluster,
    hba: &HbaLine,
    p: &ModelPath,
    encryption: &str,
    out: &mut Vec<Diagnostic>,
) {
    let mut loopback = false;
    if let Some(field) = &hba.address {
        let addr = field.text.as_str();
        if is_placeholder(addr) {
            out.push(diag(
                P022,
                Severity::Error,
                p.clone(),
                format!("Address `{addr}` is an unfilled placeholder."),
                "Give the client network in CIDR form, e.g. `10.0.1.0/24`.",
            ));
            return;
        }
        match &field.value {
            Ok(HbaAddress::All) => out.push(diag(
                P023,
                Severity::Warning,
                p.clone(),
                "Address `all` admits the whole Internet; only the firewall stands between it and the database.",
                "Narrow it to the networks of your applications.",
            )),
            Ok(HbaAddress::SameHost) => loopback = true,
            Ok(HbaAddress::Cidr { .. }) => match check_network(addr, p.clone(), out) {
                Some(cidr) => loopback = cidr.is_loopback(),
                None => return,
            },
            Ok(HbaAddress::IpMask { ip, .. }) => loopback = ip.is_loopback(),
            Ok(HbaAddress::SameNet | HbaAddress::HostName(_)) => {}
            Err(_) if addr.contains('/') => {
                // The CIDR parser's own words (P021).
                check_network(addr, p.clone(), out);
                return;
            }
            Err(e) => {
                out.push(diag(
                    P021,
                    Severity::Error,
                    p.clone(),
                    format!("`{addr}` is not a valid network: {e}."),
                    "Give the network in CIDR form, e.g. `10.0.1.0/24` or `192.0.2.7/32`, or a host name.",
                ));
                return;
            }
        }
    }
    let network = hba.address.is_some();
    match hba.method {
        AuthMethod::Trust if network => out.push(diag(
            P018,
            if loopback { Severity::Warning } else { Severity::Error },
            p.clone(),
            if loopback {
                "`trust` on a loopback line lets every local OS user connect as any role without a password.".to_string()
            } else {
                "`trust` on a network line lets anyone who reaches the address connect as any role without a password.".to_string()
            },
            "Use `scram-sha-256`.",
        )),
        AuthMethod::Password if hba.connection != ConnectionType::HostSsl && network => out.push(diag(
            P019,
            Severity::Warning,
            p.clone(),
            "`password` sends the password in clear text over a connection that need not be encrypted.",
            "Use `scram-sha-256` (or `hostssl` if clear-text passwords are really needed).",
        )),
        AuthMethod::Md5 if encryption == "scram-sha-256" => out.push(diag(
            P020,
            if c.postgres_version >= 18 { Severity::Warning } else { Severity::Info },
            p.clone(),
            "`md5` performs SCRAM for roles with SCRAM passwords, but also accepts roles that still have MD5 hashes.",
            "Write `scram-sha-256` to match password_encryption.",
        )),
        AuthMethod::ScramSha256 if encryption == "md5" => out.push(diag(
            P038,
            Severity::Error,
            p.clone(),
            "`scram-sha-256` cannot verify passwords stored as MD5 hashes, and password_encryption is md5.",
            "Set `password_encryption: scram-sha-256` (and reset passwords), or use `md5` on this line.",
        )),
        _ => {}
    }
}

fn check_roles(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let u = &c.patroni.users;
    let mut roles = vec![
        (path("patroni.users.superuser"), u.superuser.as_str()),
        (path("patroni.users.replication"), u.replication.as_str()),
        (path("patroni.users.rewind"), u.rewind.as_str()),
    ];
    if let Some(a) = &c.patroni.admin_user {
        roles.push((path("patroni.admin_user.name"), a.name.as_str()));
    }
    for (p, name) in roles {
        if name.is_empty() || crate::validate::has_space_or_control(name) || is_placeholder(name) {
            out.push(diag(
                P036,
                Severity::Error,
                p,
                format!("Role name `{name}` is empty, contains whitespace or is a placeholder."),
                "Use a plain role name such as `replicator`.",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_names_follow_patroni() {
        assert_eq!(slot_name("pg-db-01"), "pg_db_01");
        assert_eq!(slot_name("PG.db_01"), "pg_db_01");
        assert_eq!(slot_name("a b"), "au0032b");
    }

    #[test]
    fn booleans_and_integers_read_like_postgresql() {
        assert_eq!(pg_bool(&PgValue::Text("off".into())), Some(false));
        assert_eq!(pg_bool(&PgValue::Text("ON".into())), Some(true));
        assert_eq!(pg_bool(&PgValue::Text("t".into())), Some(true));
        assert_eq!(pg_bool(&PgValue::Text("o".into())), None);
        assert_eq!(pg_int(&PgValue::Text(" 42 ".into())), Some(42));
        assert_eq!(pg_int(&PgValue::Float(10.0)), Some(10));
        assert_eq!(pg_int(&PgValue::Float(f64::NAN)), None);
        assert_eq!(size_in_mb(&PgValue::Text("1GB".into())), Some(1024));
    }
}

//! Validation of a whole cluster: each component, then the rules that span components.
//!
//! Every rule has a stable code, defined as a constant next to the code that emits it: `C###`
//! here for cluster-wide rules (names, addresses, ports, availability domains, log clean-up),
//! `S###` here for secrets, `E###` in [`crate::etcd::validate`], `P###` in
//! [`crate::patroni::validate`] and `B###` in [`crate::pgbackrest::validate`]. Each constant's
//! doc comment says what the rule catches and which upstream fact it rests on.
//!
//! Validation collects every finding; it never stops at the first and never panics, whatever the
//! model holds (the Terraform provider feeds it arbitrary user input).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::cluster::Cluster;
use crate::defaults;
use crate::diagnostic::{Diagnostic, Location, ModelPath, Severity};
use crate::secret::Secret;

/// The cluster name is empty, contains whitespace or control characters, contains `/`, or is an
/// unfilled `<placeholder>`. The name is Patroni's `scope`, a segment of every etcd key Patroni
/// writes (`<namespace>/<scope>/leader`), PostgreSQL's `cluster_name` and the default stanza name;
/// a `/` would nest the keys and whitespace breaks the shell commands that carry it.
pub const C001: &str = "C001";
/// The cluster name is not a DNS label (lower-case letters, digits and `-`, at most 63
/// characters, starting and ending with a letter or digit). It still works, but it is used in
/// host-facing names (stanza, directories, `cluster_name`) where anything else causes surprises.
pub const C002: &str = "C002";
/// The DCS namespace contains whitespace or is an unfilled placeholder (error), or does not start
/// and end with `/` (warning). Patroni joins `/<namespace>/<scope>` and collapses repeated
/// slashes, so missing slashes still work, but every other tool (patronictl, etcdctl prefixes,
/// our lint) expects the canonical `/service/` form.
pub const C003: &str = "C003";
/// The PostgreSQL major version is outside 13–18, the versions still supported upstream that we
/// render for.
pub const C004: &str = "C004";
/// The cluster has no database node.
pub const C005: &str = "C005";
/// A database node name is empty, contains whitespace, control characters or `/` (error), or
/// characters outside letters, digits, `.`, `_` and `-` (warning). Patroni's `name` becomes an
/// etcd key (`…/members/<name>`) and the host's name in every rendered plan.
pub const C006: &str = "C006";
/// Two database nodes have the same name. Patroni requires a unique `name` per member: two
/// members with one name overwrite each other's key in the DCS.
pub const C007: &str = "C007";
/// An address is not a valid IPv4 address, IPv6 address or host name (RFC 1123 labels), or is an
/// unfilled placeholder.
pub const C008: &str = "C008";
/// A connect address is a wildcard (`0.0.0.0`, `::`). Wildcards are fine to listen on, but other
/// hosts cannot connect to them; Patroni publishes the connect address for replicas, the load
/// balancer and `patronictl`, and etcd peers use the member address.
pub const C009: &str = "C009";
/// A connect address is on the loopback network (`127.0.0.0/8`, `::1`, `localhost`) while other
/// hosts of the cluster are not: those hosts would connect to themselves. A cluster whose every
/// host is on loopback (the local test harness) is accepted.
pub const C010: &str = "C010";
/// Two services would listen on the same address and port (a node's PostgreSQL or REST API port,
/// an etcd member's client or peer port). The second one fails to bind.
pub const C011: &str = "C011";
/// Two database nodes, or two etcd members, share one address: one host failure takes both down,
/// which defeats the redundancy they are meant to add.
pub const C012: &str = "C012";
/// Three or more database nodes, or three or more etcd members, all sit in one availability
/// domain: losing that domain loses the whole tier (the tutorial spreads each trio over AD1–AD3).
pub const C013: &str = "C013";
/// A node's listen address is on loopback while its connect address is not: PostgreSQL and the
/// REST API would not be reachable from the other hosts.
pub const C014: &str = "C014";
/// The etcd member list is empty. The DCS hosts Patroni talks to are the etcd members, so there
/// would be no DCS at all.
pub const C015: &str = "C015";
/// A listen address is `*`. PostgreSQL accepts `*`, but Patroni's REST API listens on the same
/// address and cannot bind `*`; write `0.0.0.0` (or `::`).
pub const C016: &str = "C016";
/// A port is 0, which asks the kernel for a random port that no other host can know.
pub const C017: &str = "C017";
/// The log clean-up schedule is not a valid five-field cron expression (cron silently skips a
/// malformed line, as it did the tutorial's four-field clean-up line), or, with systemd timers
/// (`pgbackrest.schedule.kind`), restricts both day of month and day of week, which no timer can
/// express, so the job would not be rendered.
pub const C018: &str = "C018";
/// The platform cannot install the configured PostgreSQL major version: Debian 12 packages only
/// PostgreSQL 15, Ubuntu 24.04 only 16. Either use that one, or install another major yourself
/// (apt.postgresql.org) and point `platform.paths.pg_bin_dir` at it, which leaves the PostgreSQL
/// package out.
pub const C019: &str = "C019";
/// The platform's Patroni package is older than `patroni.version` says (Debian 12 ships Patroni
/// 3.0.2, Ubuntu 24.04 3.2.2). The rendered configuration works with both, but the version field should say what
/// runs, and Patroni 4 features are not there.
pub const C020: &str = "C020";
/// A block volume is malformed: its device or mount point is not an absolute path, two volumes
/// share a device or a mount point, or a mount point is `/` or lies inside another volume's.
pub const C021: &str = "C021";
/// A path override puts PostgreSQL's data, WAL or logs off the volume meant for them
/// (`platform.paths.pg_data_dir` outside `platform.volumes.data`'s mount point, and so on): the
/// volume would be mounted and never used.
pub const C022: &str = "C022";
/// Volumes or a firewall are configured for hosts with a `platform.root` (hosts sharing one
/// machine in tests): nothing is formatted, mounted or opened for them.
pub const C023: &str = "C023";
/// pg_squeeze is among the extensions but `wal_level` is not `logical`: pg_squeeze works from
/// logical decoding and refuses to run otherwise.
pub const C024: &str = "C024";
/// An extension has no package on the platform (Debian 12 has no pg_squeeze; the `tutorial`
/// preset installs nothing): it would be preloaded but not be there, and PostgreSQL would not
/// start. With `platform.paths.pg_bin_dir` (a PostgreSQL you install) it is a warning: you
/// install the extension too.
pub const C025: &str = "C025";
/// `platform.metadata_url` is not an `http://` or `https://` URL without spaces, or
/// `platform.reconcile_interval_seconds` is outside 5–86400. The reconcile unit of every
/// database host fetches its bundle from that URL on that period; a broken URL means no change
/// made after creation ever reaches the host, and a first boot that waits for a bundle that
/// never comes.
pub const C026: &str = "C026";

/// An inline secret is empty.
pub const S001: &str = "S001";
/// An inline password is a well-known default (`password`, `postgres`, `admin`, `changeme`, …)
/// or equals its role name: the first guesses of every scanner. The tutorial's files use
/// `password` and `admin`.
pub const S002: &str = "S002";
/// An inline password is shorter than 12 characters.
pub const S003: &str = "S003";
/// An environment-file reference has a relative path. The file is read at boot by a root script
/// whose working directory is not defined.
pub const S004: &str = "S004";
/// An environment-file reference names a variable that is not a shell identifier
/// (`[A-Za-z_][A-Za-z0-9_]*`); the resolving script sources the file and reads that variable.
pub const S005: &str = "S005";
/// An OCI Vault reference is not a vault secret OCID (`ocid1.vaultsecret.<realm>.<region>.…`).
pub const S006: &str = "S006";
/// The superuser and replication passwords are the same inline value: the replication password
/// is stored in every node's `.pgpass` and `primary_conninfo`, so it would hand out superuser
/// access.
pub const S007: &str = "S007";
/// Patroni's REST API has no authentication. Its unsafe endpoints (`POST /switchover`,
/// `/restart`, `/reinitialize`, `PATCH /config`) are then open to anyone who can reach port 8008.
pub const S008: &str = "S008";
/// The S3 secret key is given inline: it will be stored in Terraform state and in
/// `pgbackrest.conf`. A reference keeps it on the host only.
pub const S009: &str = "S009";
/// `use_pg_rewind` is on but there is no rewind password. The rendered patroni.yml always names
/// the dedicated rewind role under `authentication.rewind` (Patroni falls back to the superuser
/// only when that section is absent), so Patroni creates the role without a password and
/// pg_rewind cannot log in over the network: a failed primary cannot rejoin by rewinding.
pub const S010: &str = "S010";
/// An admin user is configured without a password: the post-bootstrap script cannot create a
/// role that can log in over the network.
pub const S011: &str = "S011";
/// An admin password is given but no admin user: the password is never used.
pub const S012: &str = "S012";
/// The REST API user name is empty, or contains `:` or whitespace. HTTP Basic authentication
/// (RFC 7617) joins user and password with `:`, so a user name cannot contain one.
pub const S013: &str = "S013";
/// An inline secret contains a line break or NUL byte; it cannot be written into an INI file
/// (pgbackrest.conf) or an environment file intact.
pub const S014: &str = "S014";

/// Every problem in the cluster, errors and warnings, in a stable order. Never panics, never stops
/// at the first finding.
pub fn validate(cluster: &Cluster) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    validate_cluster(cluster, &mut out);
    crate::etcd::validate::validate(cluster, &mut out);
    crate::patroni::validate::validate(cluster, &mut out);
    crate::pgbackrest::validate::validate(cluster, &mut out);
    validate_secrets(cluster, &mut out);
    out
}

/// A warning or error at a model path with a hint, the shape every rule emits.
pub(crate) fn diag(
    code: &'static str,
    severity: Severity,
    path: ModelPath,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> Diagnostic {
    Diagnostic::new(code, severity, Location::Model(path), message).with_hint(hint)
}

/// Parses a dotted model path (`patroni.ttl`, `nodes[1].address`).
pub(crate) fn path(text: &str) -> ModelPath {
    ModelPath::parse(text)
}

// ---------------------------------------------------------------------------------------------
// Shared helpers for names, addresses and CIDRs.

/// Whether the text contains whitespace or control characters.
pub(crate) fn has_space_or_control(s: &str) -> bool {
    s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Whether the text looks like an unfilled template placeholder: `<stanza-name>`, `{{ x }}`, or
/// an address such as `x.x.x.0/0` (the tutorial's pg_hba line).
pub(crate) fn is_placeholder(s: &str) -> bool {
    if s.contains('<') || s.contains('>') || s.contains("{{") || s.contains("${") {
        return true;
    }
    let addr = s.split('/').next().unwrap_or("");
    let segments: Vec<&str> = addr.split('.').collect();
    segments.len() >= 2
        && segments.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_digit() || c == 'x' || c == 'X')
        })
        && segments
            .iter()
            .any(|p| p.chars().all(|c| c == 'x' || c == 'X'))
}

/// Whether `s` is a DNS label: 1–63 lower-case letters, digits or `-`, not starting or ending
/// with `-`.
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Whether `s` is a host name by RFC 1123: dot-separated labels of letters, digits and `-`, each
/// 1–63 characters, not starting or ending with `-`, at most 253 characters, and a last label
/// that is not all digits (that would be a mistyped IPv4 address).
pub(crate) fn is_hostname(s: &str) -> bool {
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = s.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|l| !l.bytes().all(|b| b.is_ascii_digit()))
}

/// A parsed host address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Address {
    /// An IP literal (IPv6 may be written in brackets).
    Ip(IpAddr),
    /// A host name, lower-cased.
    Name(String),
}

impl Address {
    /// `0.0.0.0` or `::`.
    pub(crate) fn is_wildcard(&self) -> bool {
        matches!(self, Address::Ip(ip) if ip.is_unspecified())
    }

    /// `127.0.0.0/8`, `::1`, `localhost` or a name under `.localhost` (RFC 6761).
    pub(crate) fn is_loopback(&self) -> bool {
        match self {
            Address::Ip(IpAddr::V4(v4)) => v4.is_loopback(),
            Address::Ip(IpAddr::V6(v6)) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            Address::Name(n) => n == "localhost" || n.ends_with(".localhost"),
        }
    }

    /// A canonical key for comparing addresses (`::1` and `[0::1]` are the same host).
    pub(crate) fn key(&self) -> String {
        match self {
            Address::Ip(ip) => ip.to_string(),
            Address::Name(n) => n.clone(),
        }
    }
}

/// Parses an address field: an IPv4 or IPv6 literal (brackets allowed) or a host name.
pub(crate) fn parse_address(s: &str) -> Result<Address, String> {
    if s.is_empty() {
        return Err("the address is empty".to_string());
    }
    if is_placeholder(s) {
        return Err(format!("`{s}` is an unfilled placeholder"));
    }
    if has_space_or_control(s) {
        return Err(format!("`{s}` contains whitespace"));
    }
    let bare = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    if let Ok(v6) = bare.parse::<Ipv6Addr>() {
        return Ok(Address::Ip(IpAddr::V6(v6)));
    }
    if bare != s {
        return Err(format!("`{s}` is not an IPv6 address"));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return match s.parse::<Ipv4Addr>() {
            Ok(v4) => Ok(Address::Ip(IpAddr::V4(v4))),
            Err(_) => Err(format!("`{s}` is not a valid IPv4 address")),
        };
    }
    if s.contains(':') {
        return Err(format!(
            "`{s}` is not a valid IPv6 address (and a port does not belong in an address)"
        ));
    }
    if is_hostname(s) {
        Ok(Address::Name(s.to_ascii_lowercase()))
    } else {
        Err(format!(
            "`{s}` is neither an IP address nor a valid host name"
        ))
    }
}

/// A parsed CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    /// The address part.
    pub ip: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Whether the block covers every address (`0.0.0.0/0`, `::/0`).
    pub(crate) fn is_everything(&self) -> bool {
        self.prefix == 0
    }

    /// Whether bits below the prefix are set (`192.0.2.1/24`).
    pub(crate) fn has_host_bits(&self) -> bool {
        match self.ip {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4);
                let host = u32::MAX.checked_shr(u32::from(self.prefix)).unwrap_or(0);
                bits & host != 0
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let host = u128::MAX.checked_shr(u32::from(self.prefix)).unwrap_or(0);
                bits & host != 0
            }
        }
    }

    /// Whether the whole block is loopback.
    pub(crate) fn is_loopback(&self) -> bool {
        match self.ip {
            IpAddr::V4(v4) => v4.is_loopback() && self.prefix >= 8,
            IpAddr::V6(v6) => v6.is_loopback() && self.prefix == 128,
        }
    }
}

/// Parses `address/prefix` as pg_hba.conf wants it (a prefix is required).
pub(crate) fn parse_cidr(s: &str) -> Result<Cidr, String> {
    if is_placeholder(s) {
        return Err(format!("`{s}` is an unfilled placeholder"));
    }
    let Some((addr, prefix)) = s.split_once('/') else {
        return Err(format!(
            "`{s}` has no prefix length (write `{s}/32` for one IPv4 host)"
        ));
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("`{addr}` in `{s}` is not an IP address"))?;
    let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = match prefix.parse::<u8>() {
        Ok(p) if p <= max && prefix.bytes().all(|b| b.is_ascii_digit()) => p,
        _ => {
            return Err(format!(
                "`/{prefix}` in `{s}` is not a prefix length between 0 and {max}"
            ))
        }
    };
    Ok(Cidr { ip, prefix })
}

// ---------------------------------------------------------------------------------------------
// Cluster-wide rules.

fn validate_cluster(c: &Cluster, out: &mut Vec<Diagnostic>) {
    check_cluster_name(c, out);
    check_namespace(c, out);

    let (min, max) = (
        defaults::POSTGRES_VERSION_MIN,
        defaults::POSTGRES_VERSION_MAX,
    );
    if !(min..=max).contains(&c.postgres_version) {
        out.push(diag(
            C004,
            Severity::Error,
            path("postgres_version"),
            format!(
                "PostgreSQL {} is not supported; pgha renders for PostgreSQL {min} to {max}.",
                c.postgres_version
            ),
            format!(
                "Set `postgres_version` to a major version from {min} to {max}, e.g. {}.",
                defaults::POSTGRES_VERSION
            ),
        ));
    }

    if c.nodes.is_empty() {
        out.push(diag(
            C005,
            Severity::Error,
            path("nodes"),
            "The cluster has no database node.",
            "Add at least one entry to `nodes` (three, in three availability domains, for high availability).",
        ));
    }
    if c.etcd.members.is_empty() {
        out.push(diag(
            C015,
            Severity::Error,
            path("etcd.members"),
            "The etcd member list is empty, so Patroni has no DCS to elect a leader through.",
            "Add the etcd members (three, in three availability domains) to `etcd.members`.",
        ));
    }

    check_platform(c, out);
    check_node_names(c, out);
    check_addresses(c, out);
    check_ports(c, out);
    check_availability_domains(c, out);

    if c.log_cleanup.retention_days > 0 {
        if let Err(e) = crate::schedule::check_cron_expression(&c.log_cleanup.schedule) {
            out.push(diag(
                C018,
                Severity::Error,
                path("log_cleanup.schedule"),
                format!("The log clean-up schedule is not valid cron: {e}."),
                "Write five fields: minute hour day-of-month month day-of-week, e.g. `8 0 * * *`.",
            ));
        } else if c.pgbackrest.schedule.kind == crate::pgbackrest::ScheduleKind::SystemdTimer
            && crate::pgbackrest::render::cron_to_on_calendar(&c.log_cleanup.schedule).is_none()
        {
            out.push(diag(
                C018,
                Severity::Error,
                path("log_cleanup.schedule"),
                format!("The log clean-up schedule `{}` restricts both day of month and day of week: cron runs it when either matches, a systemd timer only when both do, so no timer is rendered for it.", c.log_cleanup.schedule),
                "Restrict only one of the two day fields, or use `pgbackrest.schedule.kind: cron`.",
            ));
        }
    }
}

/// Whether `p` is `dir` or inside it.
fn is_within(p: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    p == dir
        || p.strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn check_platform(c: &Cluster, out: &mut Vec<Diagnostic>) {
    use crate::volumes::VolumeRole;
    let platform = &c.platform;
    let o = &platform.paths;
    if let Some((distro, pg, patroni)) = crate::packages::distribution_versions(platform.preset) {
        if c.postgres_version != pg && o.pg_bin_dir.is_none() {
            out.push(diag(
                C019,
                Severity::Error,
                path("postgres_version"),
                format!(
                    "{distro} packages PostgreSQL {pg} only; the `{}` preset cannot install PostgreSQL {}.",
                    platform.preset.name(),
                    c.postgres_version
                ),
                format!(
                    "Set `postgres_version: {pg}`, or install PostgreSQL {v} yourself (e.g. postgresql-{v} from apt.postgresql.org, in the image) and set `platform.paths.pg_bin_dir: /usr/lib/postgresql/{v}/bin`.",
                    v = c.postgres_version
                ),
            ));
        }
        if c.patroni.version >= 4 && o.patroni_bin_dir.is_none() {
            out.push(diag(
                C020,
                Severity::Warning,
                path("patroni.version"),
                format!(
                    "{distro}'s patroni package is {patroni}, but `patroni.version` is {}.",
                    c.patroni.version
                ),
                "Set `patroni.version: 3`, or install Patroni 4 yourself (pip install 'patroni[etcd3]') and set `platform.paths.patroni_bin_dir`.",
            ));
        }
    }
    for (i, e) in platform.extensions.iter().enumerate() {
        let at = path(&format!("platform.extensions[{i}]"));
        if *e == crate::extensions::Extension::PgSqueeze {
            let logical = c
                .patroni
                .parameters
                .get("wal_level")
                .is_some_and(|v| v.to_string() == "logical");
            if !logical {
                out.push(diag(
                    C024,
                    Severity::Error,
                    at.clone(),
                    "pg_squeeze needs `wal_level: logical`; pgha sets `replica` otherwise.",
                    "Add `wal_level: logical` to `patroni.parameters`, or drop pg_squeeze.",
                ));
            }
        }
        if e.package(platform.preset, c.postgres_version).is_none() {
            let own = o.pg_bin_dir.is_some();
            out.push(diag(
                C025,
                if own { Severity::Warning } else { Severity::Error },
                at,
                format!(
                    "The `{}` preset has no package for {} (PostgreSQL {}); it would be preloaded without being installed.",
                    platform.preset.name(),
                    e.key(),
                    c.postgres_version
                ),
                if own {
                    "Install it with your own PostgreSQL (the one `platform.paths.pg_bin_dir` names).".to_string()
                } else {
                    format!("Drop {} from `platform.extensions`, or install PostgreSQL and the extension yourself (e.g. from apt.postgresql.org) and set `platform.paths.pg_bin_dir`.", e.key())
                },
            ));
        }
    }
    if let Some(url) = &platform.metadata_url {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) || has_space_or_control(url) {
            out.push(diag(
                C026,
                Severity::Error,
                path("platform.metadata_url"),
                format!("`{url}` is not an http:// or https:// URL."),
                "Leave it unset on OCI (the instance metadata service); elsewhere give the full URL of the bundle, `{host}` standing for the host's name.",
            ));
        }
    }
    if let Some(secs) = platform.reconcile_interval_seconds {
        if !(5..=86_400).contains(&secs) {
            out.push(diag(
                C026,
                Severity::Error,
                path("platform.reconcile_interval_seconds"),
                format!("A reconcile period of {secs}s is outside 5–86400."),
                "Leave it unset (60) or choose a period between 5 seconds and one day.",
            ));
        }
    }
    let vols: Vec<(VolumeRole, &crate::volumes::Volume)> = platform.volumes.iter().collect();
    if !platform.provisions() && (!vols.is_empty() || platform.firewall.is_some()) {
        out.push(diag(
            C023,
            Severity::Warning,
            path("platform.root"),
            "`platform.root` is set, so the hosts share a machine: volumes are not formatted or mounted and no firewall port is opened.",
            "Leave `platform.root` unset on real hosts.",
        ));
    }
    for (i, (role, v)) in vols.iter().enumerate() {
        let at = |k: &str| path(&format!("platform.volumes.{}.{k}", role.key()));
        let mount = v.mount_point(*role);
        if !v.device.starts_with('/') || has_space_or_control(&v.device) {
            out.push(diag(
                C021,
                Severity::Error,
                at("device"),
                format!("The {} volume's device `{}` is not an absolute path.", role.key(), v.device),
                "Give the consistent device path chosen at attachment, e.g. `/dev/oracleoci/oraclevdb`.",
            ));
        }
        if !mount.starts_with('/')
            || mount.trim_end_matches('/').is_empty()
            || has_space_or_control(mount)
        {
            out.push(diag(
                C021,
                Severity::Error,
                at("mount_point"),
                format!("The {} volume's mount point `{mount}` is not an absolute directory other than `/`.", role.key()),
                format!("Leave it out (default `{}`) or give an absolute path without spaces.", role.default_mount_point()),
            ));
        }
        for (other_role, other) in &vols[..i] {
            if other.device == v.device {
                out.push(diag(
                    C021,
                    Severity::Error,
                    at("device"),
                    format!(
                        "The {} and {} volumes are the same device `{}`.",
                        other_role.key(),
                        role.key(),
                        v.device
                    ),
                    "Give each volume its own device (its own attachment).",
                ));
            }
            let other_mount = other.mount_point(*other_role);
            if is_within(mount, other_mount) || is_within(other_mount, mount) {
                out.push(diag(
                    C021,
                    Severity::Error,
                    at("mount_point"),
                    format!("The {} volume's mount point `{mount}` overlaps the {} volume's `{other_mount}`.", role.key(), other_role.key()),
                    "Mount each volume at a directory of its own.",
                ));
            }
        }
        let overridden = match role {
            VolumeRole::Data => o.pg_data_dir.as_deref().map(|p| ("pg_data_dir", p)),
            VolumeRole::Wal => o.pg_wal_dir.as_deref().map(|p| ("pg_wal_dir", p)),
            VolumeRole::Log => o.pg_log_dir.as_deref().map(|p| ("pg_log_dir", p)),
            VolumeRole::Temp => None,
        };
        if let Some((key, p)) = overridden {
            if !is_within(p, mount) || p.trim_end_matches('/') == mount.trim_end_matches('/') {
                out.push(diag(
                    C022,
                    Severity::Error,
                    path(&format!("platform.paths.{key}")),
                    format!("`{key}` is `{p}`, not a directory inside the {} volume's mount point `{mount}`.", role.key()),
                    format!("Leave `{key}` out (it becomes a subdirectory of `{mount}`) or put it below `{mount}/`."),
                ));
            }
        }
    }
}

fn check_cluster_name(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let name = &c.name;
    let p = path("name");
    let problem = if name.is_empty() {
        Some("The cluster name is empty.".to_string())
    } else if is_placeholder(name) {
        Some(format!(
            "The cluster name `{name}` is an unfilled placeholder."
        ))
    } else if has_space_or_control(name) {
        Some(format!("The cluster name `{name}` contains whitespace."))
    } else if name.contains('/') {
        Some(format!(
            "The cluster name `{name}` contains `/`, which would nest Patroni's etcd keys."
        ))
    } else {
        None
    };
    match problem {
        Some(message) => out.push(diag(
            C001,
            Severity::Error,
            p,
            message,
            "Use a short DNS-style name such as `pg-ha-cluster`.",
        )),
        None if !is_dns_label(name) => out.push(diag(
            C002,
            Severity::Warning,
            p,
            format!("The cluster name `{name}` is not a DNS label."),
            "Use lower-case letters, digits and `-` (at most 63 characters), e.g. `pg-ha-cluster`.",
        )),
        None => {}
    }
}

fn check_namespace(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let ns = &c.namespace;
    let p = path("namespace");
    if has_space_or_control(ns) || is_placeholder(ns) {
        out.push(diag(
            C003,
            Severity::Error,
            p,
            format!("The DCS namespace `{ns}` contains whitespace or is a placeholder."),
            "Use a key prefix such as `/service/`.",
        ));
    } else if !(ns.starts_with('/') && ns.ends_with('/')) || ns.len() < 2 {
        out.push(diag(
            C003,
            Severity::Warning,
            p,
            format!("The DCS namespace `{ns}` does not start and end with `/`."),
            format!(
                "Write it as `/{}/`; Patroni normalises the slashes, but tools comparing key prefixes expect the canonical form.",
                ns.trim_matches('/')
            ),
        ));
    }
}

fn check_node_names(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, node) in c.nodes.iter().enumerate() {
        let p = path("nodes").index(i).key("name");
        let name = node.name.as_str();
        let bad = if name.is_empty() {
            Some("is empty".to_string())
        } else if is_placeholder(name) {
            Some("is an unfilled placeholder".to_string())
        } else if has_space_or_control(name) {
            Some("contains whitespace".to_string())
        } else if name.contains('/') {
            Some("contains `/`, which would nest Patroni's member key".to_string())
        } else {
            None
        };
        if let Some(why) = bad {
            out.push(diag(
                C006,
                Severity::Error,
                p.clone(),
                format!("Node name `{name}` {why}."),
                "Use the host's short name, e.g. `pg-db-01`.",
            ));
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            out.push(diag(
                C006,
                Severity::Warning,
                p.clone(),
                format!("Node name `{name}` has characters other than letters, digits, `.`, `_` and `-`."),
                "Use the host's short name, e.g. `pg-db-01`.",
            ));
        }
        if let Some(first) = seen.get(name) {
            out.push(diag(
                C007,
                Severity::Error,
                p,
                format!("Node name `{name}` is already used by nodes[{first}]."),
                "Give every node its own name; Patroni keys each member by name in the DCS.",
            ));
        } else {
            seen.insert(name, i);
        }
    }
}

/// Every host's connect address, parsed (`None` when invalid).
fn host_addresses(c: &Cluster) -> Vec<Option<Address>> {
    c.nodes
        .iter()
        .map(|n| n.address.as_str())
        .chain(c.etcd.members.iter().map(|m| m.address.as_str()))
        .map(|a| parse_address(a).ok())
        .collect()
}

fn check_addresses(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let any_remote = host_addresses(c)
        .iter()
        .flatten()
        .any(|a| !a.is_loopback() && !a.is_wildcard());

    let mut connect = Vec::new();
    for (i, n) in c.nodes.iter().enumerate() {
        connect.push((
            path("nodes").index(i).key("address"),
            n.address.as_str(),
            "node",
        ));
    }
    for (i, m) in c.etcd.members.iter().enumerate() {
        connect.push((
            path("etcd.members").index(i).key("address"),
            m.address.as_str(),
            "etcd member",
        ));
    }
    for (p, text, what) in &connect {
        match parse_address(text) {
            Err(e) => out.push(diag(
                C008,
                Severity::Error,
                p.clone(),
                format!("The {what} address is invalid: {e}."),
                "Give an IPv4 address, an IPv6 address or a host name other hosts resolve, without a port.",
            )),
            Ok(a) if a.is_wildcard() => out.push(diag(
                C009,
                Severity::Error,
                p.clone(),
                format!("The {what} address `{text}` is a wildcard that other hosts cannot connect to."),
                "Give the host's own address here; to listen on every interface set the node's `listen_address` to 0.0.0.0.",
            )),
            Ok(a) if a.is_loopback() && any_remote => out.push(diag(
                C010,
                Severity::Error,
                p.clone(),
                format!("The {what} address `{text}` is loopback, but other hosts of the cluster are not and would connect to themselves."),
                "Give the host's network address (loopback works only when every host of the cluster is on 127.0.0.0/8).",
            )),
            Ok(_) => {}
        }
    }

    for (i, n) in c.nodes.iter().enumerate() {
        let Some(listen) = n.listen_address.as_deref() else {
            continue;
        };
        let p = path("nodes").index(i).key("listen_address");
        if listen == "*" {
            out.push(diag(
                C016,
                Severity::Error,
                p,
                "Listen address `*` cannot be bound by Patroni's REST API, which listens on the same address.",
                "Use `0.0.0.0` (or `::`) to listen on every interface.",
            ));
            continue;
        }
        match parse_address(listen) {
            Err(e) => out.push(diag(
                C008,
                Severity::Error,
                p,
                format!("The node's listen address is invalid: {e}."),
                "Give an IP address, a host name, or 0.0.0.0 for every interface.",
            )),
            Ok(l) => {
                let connect_remote = parse_address(&n.address)
                    .ok()
                    .is_some_and(|a| !a.is_loopback());
                if l.is_loopback() && connect_remote {
                    out.push(diag(
                        C014,
                        Severity::Error,
                        p,
                        format!("The node listens on loopback `{listen}` but is reached at `{}`, so other hosts cannot connect.", n.address),
                        "Listen on the connect address or on 0.0.0.0.",
                    ));
                }
            }
        }
    }

    // Two nodes (or two etcd members) on one host.
    let mut by_addr: BTreeMap<String, usize> = BTreeMap::new();
    for (i, n) in c.nodes.iter().enumerate() {
        if let Ok(a) = parse_address(&n.address) {
            if let Some(first) = by_addr.get(&a.key()) {
                out.push(diag(
                    C012,
                    Severity::Warning,
                    path("nodes").index(i).key("address"),
                    format!("Node address `{}` is also nodes[{first}]'s: one host failure takes down both.", n.address),
                    "Put every database node on its own host.",
                ));
            } else {
                by_addr.insert(a.key(), i);
            }
        }
    }
    let mut by_addr: BTreeMap<String, usize> = BTreeMap::new();
    for (i, m) in c.etcd.members.iter().enumerate() {
        if let Ok(a) = parse_address(&m.address) {
            if let Some(first) = by_addr.get(&a.key()) {
                out.push(diag(
                    C012,
                    Severity::Warning,
                    path("etcd.members").index(i).key("address"),
                    format!("etcd member address `{}` is also etcd.members[{first}]'s: one host failure takes down both.", m.address),
                    "Put every etcd member on its own host.",
                ));
            } else {
                by_addr.insert(a.key(), i);
            }
        }
    }
}

fn check_ports(c: &Cluster, out: &mut Vec<Diagnostic>) {
    // (address key, port) -> description of the first user.
    let mut used: BTreeMap<(String, u16), String> = BTreeMap::new();
    let mut claim =
        |out: &mut Vec<Diagnostic>, address: &str, port: u16, p: ModelPath, what: String| {
            if port == 0 {
                out.push(diag(
                    C017,
                    Severity::Error,
                    p,
                    format!(
                        "The {what} port is 0, which binds a random port no other host can know."
                    ),
                    "Give a fixed port.",
                ));
                return;
            }
            let Ok(a) = parse_address(address) else {
                return;
            };
            let key = (a.key(), port);
            if let Some(first) = used.get(&key) {
                out.push(diag(
                    C011,
                    Severity::Error,
                    p,
                    format!(
                    "The {what} would listen on {address} port {port}, which {first} already uses."
                ),
                    "Give one of them another port or another host.",
                ));
            } else {
                used.insert(key, what);
            }
        };
    let default_rest = c.patroni.restapi_port;
    for (i, n) in c.nodes.iter().enumerate() {
        let base = path("nodes").index(i);
        claim(
            out,
            &n.address,
            n.pg_port,
            base.key("pg_port"),
            format!("PostgreSQL port of nodes[{i}]"),
        );
        let rest_path = if n.restapi_port.is_some() {
            base.key("restapi_port")
        } else {
            path("patroni.restapi_port")
        };
        claim(
            out,
            &n.address,
            n.restapi_port_or(default_rest),
            rest_path,
            format!("REST API port of nodes[{i}]"),
        );
    }
    for (i, m) in c.etcd.members.iter().enumerate() {
        let base = path("etcd.members").index(i);
        claim(
            out,
            &m.address,
            m.client_port,
            base.key("client_port"),
            format!("client port of etcd.members[{i}]"),
        );
        claim(
            out,
            &m.address,
            m.peer_port,
            base.key("peer_port"),
            format!("peer port of etcd.members[{i}]"),
        );
    }
}

fn check_availability_domains(c: &Cluster, out: &mut Vec<Diagnostic>) {
    fn one_domain<'a>(ads: impl Iterator<Item = Option<&'a str>>) -> Option<String> {
        let mut first: Option<&str> = None;
        let mut count = 0usize;
        for ad in ads {
            let ad = ad?;
            match first {
                None => first = Some(ad),
                Some(f) if f == ad => {}
                Some(_) => return None,
            }
            count += 1;
        }
        if count >= 3 {
            first.map(str::to_string)
        } else {
            None
        }
    }
    if let Some(ad) = one_domain(c.nodes.iter().map(|n| n.availability_domain.as_deref())) {
        out.push(diag(
            C013,
            Severity::Warning,
            path("nodes"),
            format!("All {} database nodes are in availability domain `{ad}`; losing it loses the whole cluster.", c.nodes.len()),
            "Spread the nodes over the region's availability (or fault) domains.",
        ));
    }
    if let Some(ad) = one_domain(
        c.etcd
            .members
            .iter()
            .map(|m| m.availability_domain.as_deref()),
    ) {
        out.push(diag(
            C013,
            Severity::Warning,
            path("etcd.members"),
            format!("All {} etcd members are in availability domain `{ad}`; losing it loses the DCS and demotes the primary.", c.etcd.members.len()),
            "Spread the etcd members over the region's availability (or fault) domains.",
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets.

/// Passwords every scanner tries first, in lower case (compare case-insensitively). Validation
/// (S002) and lint (L121) both read this list.
pub(crate) const WEAK_PASSWORDS: &[&str] = &[
    "password",
    "passw0rd",
    "password1",
    "postgres",
    "postgresql",
    "admin",
    "administrator",
    "root",
    "secret",
    "changeme",
    "change_me",
    "changeit",
    "default",
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty",
    "letmein",
    "welcome",
    "replicator",
    "replication",
    "rep-pass",
    "patroni",
    "rewind",
    "rewind_password",
    "pgbackrest",
    "etcd",
    "test",
    "zalando",
];

/// Minimum length of an inline password before S003 (and lint's L121) warns.
pub(crate) const MIN_PASSWORD_LEN: usize = 12;

fn validate_secrets(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let s = &c.secrets;
    let users = &c.patroni.users;
    let base = path("secrets");

    check_secret(
        &s.superuser_password,
        base.key("superuser_password"),
        Some(&users.superuser),
        true,
        out,
    );
    check_secret(
        &s.replication_password,
        base.key("replication_password"),
        Some(&users.replication),
        true,
        out,
    );
    if let Some(r) = &s.rewind_password {
        check_secret(
            r,
            base.key("rewind_password"),
            Some(&users.rewind),
            true,
            out,
        );
    }
    if let Some(a) = &s.admin_password {
        let user = c.patroni.admin_user.as_ref().map(|u| u.name.as_str());
        check_secret(a, base.key("admin_password"), user, true, out);
    }
    if let Some(r) = &s.restapi {
        check_secret(
            &r.password,
            base.key("restapi").key("password"),
            Some(&r.username),
            true,
            out,
        );
        let u = &r.username;
        if u.is_empty() || u.contains(':') || has_space_or_control(u) {
            out.push(diag(
                S013,
                Severity::Error,
                base.key("restapi").key("username"),
                format!("REST API user name `{u}` is empty or contains `:` or whitespace, which HTTP Basic authentication cannot carry."),
                "Use a plain user name such as `patroni`.",
            ));
        }
    } else {
        out.push(diag(
            S008,
            Severity::Warning,
            base.key("restapi"),
            "Patroni's REST API has no authentication, so anyone who reaches it can switch over, restart or reconfigure the cluster.",
            "Set `secrets.restapi` with a user name and a password (preferably a reference).",
        ));
    }
    if let Some(k) = &s.s3_key {
        check_secret(k, base.key("s3_key"), None, false, out);
    }
    if let Some(k) = &s.s3_key_secret {
        check_secret(k, base.key("s3_key_secret"), None, false, out);
        if k.inline().is_some() {
            out.push(diag(
                S009,
                Severity::Warning,
                base.key("s3_key_secret").key("value"),
                "The S3 secret key is inline, so it will be stored in Terraform state and in pgbackrest.conf.",
                "Pass it as `env_file` or `oci_vault` so it is resolved on the host at boot.",
            ));
        }
    }
    if let Some(k) = &s.repo_cipher_pass {
        check_secret(k, base.key("repo_cipher_pass"), None, false, out);
    }

    if let (Some(su), Some(rep)) = (
        s.superuser_password.inline(),
        s.replication_password.inline(),
    ) {
        if su == rep && !su.is_empty() {
            out.push(diag(
                S007,
                Severity::Warning,
                base.key("replication_password").key("value"),
                "The replication password is the superuser password.",
                "Give the replication role its own password; it is stored on every node for streaming.",
            ));
        }
    }

    if c.patroni.use_pg_rewind && s.rewind_password.is_none() {
        out.push(diag(
            S010,
            Severity::Error,
            base.key("rewind_password"),
            format!(
                "use_pg_rewind is on but the rewind role `{}` has no password, so pg_rewind cannot log in.",
                users.rewind
            ),
            "Set `secrets.rewind_password` (preferably a reference), or turn `patroni.use_pg_rewind` off.",
        ));
    }
    match (&c.patroni.admin_user, &s.admin_password) {
        (Some(u), None) => out.push(diag(
            S011,
            Severity::Error,
            base.key("admin_password"),
            format!(
                "Admin user `{}` has no password, so it cannot log in over the network.",
                u.name
            ),
            "Set `secrets.admin_password`, or remove `patroni.admin_user`.",
        )),
        (None, Some(_)) => out.push(diag(
            S012,
            Severity::Warning,
            base.key("admin_password"),
            "An admin password is set but no admin user, so it is never used.",
            "Set `patroni.admin_user`, or remove `secrets.admin_password`.",
        )),
        _ => {}
    }
}

/// Checks one secret: inline values for strength, references for syntax.
fn check_secret(
    secret: &Secret,
    at: ModelPath,
    user: Option<&str>,
    is_password: bool,
    out: &mut Vec<Diagnostic>,
) {
    match secret {
        Secret::Value(v) => {
            let p = at.key("value");
            if v.is_empty() {
                out.push(diag(
                    S001,
                    Severity::Error,
                    p,
                    "The secret is empty.",
                    "Give a value, or a reference (`env_file`, `oci_vault`) resolved on the host.",
                ));
                return;
            }
            if v.chars().any(|ch| ch == '\n' || ch == '\r' || ch == '\0') {
                out.push(diag(
                    S014,
                    Severity::Error,
                    p.clone(),
                    "The secret contains a line break or NUL byte, which configuration and environment files cannot carry.",
                    "Use a single-line value.",
                ));
            }
            if !is_password {
                return;
            }
            let lower = v.to_ascii_lowercase();
            let equals_user = user.is_some_and(|u| !u.is_empty() && u.eq_ignore_ascii_case(v));
            if WEAK_PASSWORDS.contains(&lower.as_str()) || equals_user {
                out.push(diag(
                    S002,
                    Severity::Error,
                    p,
                    // Never the value itself: diagnostics end up in logs and CI output.
                    if equals_user {
                        "The password equals its user name.".to_string()
                    } else {
                        "The password is on the list of well-known defaults."
                            .to_string()
                    },
                    "Generate a random password (e.g. `openssl rand -base64 24`), preferably stored in OCI Vault.",
                ));
            } else if v.chars().count() < MIN_PASSWORD_LEN {
                out.push(diag(
                    S003,
                    Severity::Warning,
                    p,
                    format!("The password is shorter than {MIN_PASSWORD_LEN} characters."),
                    "Use a random password of at least 16 characters.",
                ));
            }
        }
        Secret::EnvFile {
            path: file,
            variable,
        } => {
            if !file.starts_with('/') || has_space_or_control(file) {
                out.push(diag(
                    S004,
                    Severity::Error,
                    at.key("env_file").key("path"),
                    format!("Environment file `{file}` is not an absolute path."),
                    "Give the absolute path of the file on the host, e.g. `/etc/pgha/secrets.env`.",
                ));
            }
            let mut chars = variable.chars();
            let ident = chars
                .next()
                .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
                && chars.all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            if !ident {
                out.push(diag(
                    S005,
                    Severity::Error,
                    at.key("env_file").key("variable"),
                    format!("`{variable}` is not a valid environment variable name."),
                    "Use letters, digits and `_`, not starting with a digit, e.g. `S3_ACCESS_KEY`.",
                ));
            }
        }
        Secret::OciVault { secret_id } => {
            let rest = secret_id.strip_prefix("ocid1.vaultsecret.");
            let ok = rest.is_some_and(|r| {
                r.split('.').count() >= 3
                    && !r.is_empty()
                    && r.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
            });
            if !ok {
                out.push(diag(
                    S006,
                    Severity::Error,
                    at.key("oci_vault").key("secret_id"),
                    format!("`{secret_id}` is not an OCI Vault secret OCID."),
                    "Copy the secret's OCID from the console; it starts with `ocid1.vaultsecret.`.",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_classify() {
        assert!(parse_address("192.0.2.1").is_ok());
        assert!(parse_address("::1").unwrap().is_loopback());
        assert!(parse_address("[::1]").unwrap().is_loopback());
        assert!(parse_address("127.0.0.21").unwrap().is_loopback());
        assert!(parse_address("localhost").unwrap().is_loopback());
        assert!(parse_address("0.0.0.0").unwrap().is_wildcard());
        assert!(parse_address("::").unwrap().is_wildcard());
        assert!(parse_address("db-1.example.com").is_ok());
        for bad in [
            "",
            "192.0.2.256",
            "1.2.3",
            "host name",
            "-bad.example",
            "a..b",
            "<ip>",
            "192.0.2.1:5432",
            "[192.0.2.1]",
        ] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs_parse_and_classify() {
        let c = parse_cidr("192.0.2.0/24").unwrap();
        assert!(!c.has_host_bits() && !c.is_everything());
        assert!(parse_cidr("192.0.2.1/24").unwrap().has_host_bits());
        assert!(parse_cidr("0.0.0.0/0").unwrap().is_everything());
        assert!(parse_cidr("::/0").unwrap().is_everything());
        assert!(parse_cidr("127.0.0.1/32").unwrap().is_loopback());
        assert!(!parse_cidr("2001:db8::/32").unwrap().has_host_bits());
        for bad in [
            "192.0.2.0",
            "192.0.2.0/33",
            "x.x.x.0/0",
            "::/129",
            "a/8",
            "1.2.3.4/-1",
        ] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn placeholders_are_recognised_without_false_alarms() {
        for p in [
            "<stanza-name>",
            "x.x.x.0/0",
            "10.x.x.x",
            "{{ name }}",
            "${NAME}",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for p in ["pg-ha-cluster", "192.0.2.0/24", "x.example.com", "box"] {
            assert!(!is_placeholder(p), "{p}");
        }
    }
}

//! Validation of the etcd settings: member count, Raft timings, member names, API, TLS, token.
//!
//! The timing limits are the ones etcd itself enforces when it verifies its flags (checked against
//! etcd 3.4.23: it exits with "--election-timeout[…] should be at least as 5 times as
//! --heartbeat-interval[…]", "--election-timeout[…] is too long, and should be set less than
//! 50000ms" and "--heartbeat-interval must be >0").

use std::collections::BTreeMap;

use crate::cluster::Cluster;
use crate::diagnostic::{Diagnostic, Severity};
use crate::etcd::EtcdApi;
use crate::validate::{diag, has_space_or_control, is_placeholder, path};

/// A single etcd member: it is its own quorum, so losing it stops the DCS and Patroni demotes the
/// primary. A cluster of N members tolerates (N-1)/2 failures (etcd FAQ).
pub const E001: &str = "E001";
/// An even number of members: the quorum of N is N/2+1, so an even cluster tolerates no more
/// failures than the odd cluster one smaller while adding a member that can fail.
pub const E002: &str = "E002";
/// More than seven members: etcd recommends odd sizes up to seven; every write goes to a
/// majority, so larger clusters are slower without a useful gain in fault tolerance.
pub const E003: &str = "E003";
/// The heartbeat interval is 0; etcd refuses to start ("--heartbeat-interval must be >0").
pub const E004: &str = "E004";
/// The election timeout is less than five heartbeat intervals; etcd refuses to start.
pub const E005: &str = "E005";
/// The election timeout is at least five but less than ten heartbeat intervals. etcd's tuning
/// guide recommends about ten (its defaults are 100 ms and 1000 ms) so that one or two late
/// heartbeats do not trigger an election.
pub const E006: &str = "E006";
/// The election timeout exceeds 50000 ms, etcd's upper limit; etcd refuses to start.
pub const E007: &str = "E007";
/// A member name is empty, contains whitespace (the tutorial's `ETCD_NAME=" pg-etcd-02"`), `,` or
/// `=` (which break `ETCD_INITIAL_CLUSTER`'s `name=url,name=url` list), or is a placeholder. etcd
/// matches `ETCD_NAME` against that list; a mismatch stops the member from joining.
pub const E008: &str = "E008";
/// Two members have the same name; `ETCD_INITIAL_CLUSTER` then maps one name to two peer URLs and
/// etcd refuses to bootstrap.
pub const E009: &str = "E009";
/// The v2 API is requested: it is deprecated since etcd 3.4 and removed in 3.6, and Patroni's
/// `etcd:` (v2) client sees none of the keys written through v3.
pub const E010: &str = "E010";
/// A TLS file path is not absolute: etcd is started by systemd with an undefined working
/// directory, and the path is written into its environment file as given.
pub const E011: &str = "E011";
/// The initial cluster token is empty or contains whitespace. etcd uses it to tell clusters
/// apart during bootstrap (`ETCD_INITIAL_CLUSTER_TOKEN`).
pub const E012: &str = "E012";

/// The upper limit etcd places on `--election-timeout`, in milliseconds.
pub const MAX_ELECTION_TIMEOUT_MS: u32 = 50_000;

/// Appends every problem of the etcd settings to `out`.
pub fn validate(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let etcd = &cluster.etcd;
    let members = etcd.members.len();
    let members_path = path("etcd.members");

    // Zero members is a cluster-wide error (C015).
    if members == 1 {
        out.push(diag(
            E001,
            Severity::Warning,
            members_path.clone(),
            "A single etcd member has no fault tolerance: when it stops, Patroni loses the DCS and demotes the primary.",
            "Run three etcd members in three availability domains.",
        ));
    } else if members > 0 && members.is_multiple_of(2) {
        out.push(diag(
            E002,
            Severity::Warning,
            members_path.clone(),
            format!(
                "{members} etcd members tolerate no more failures ({}) than {} would.",
                (members - 1) / 2,
                members - 1
            ),
            format!(
                "Run an odd number of members: {} or {}.",
                members - 1,
                members + 1
            ),
        ));
    }
    if members > 7 {
        out.push(diag(
            E003,
            Severity::Warning,
            members_path.clone(),
            format!("{members} etcd members make every write slower without useful extra fault tolerance."),
            "Run three or five members (seven at most).",
        ));
    }

    let hb = etcd.heartbeat_interval_ms;
    let el = etcd.election_timeout_ms;
    if hb == 0 {
        out.push(diag(
            E004,
            Severity::Error,
            path("etcd.heartbeat_interval_ms"),
            "The etcd heartbeat interval is 0 ms; etcd refuses to start.",
            "Set it near the round-trip time between members; etcd's default is 100 ms.",
        ));
    } else {
        let five = u64::from(hb) * 5;
        let ten = u64::from(hb) * 10;
        if u64::from(el) < five {
            out.push(diag(
                E005,
                Severity::Error,
                path("etcd.election_timeout_ms"),
                format!("The election timeout ({el} ms) is less than five heartbeat intervals ({five} ms); etcd refuses to start."),
                format!("Set the election timeout to about ten heartbeats ({ten} ms)."),
            ));
        } else if u64::from(el) < ten {
            out.push(diag(
                E006,
                Severity::Warning,
                path("etcd.election_timeout_ms"),
                format!("The election timeout ({el} ms) is less than ten heartbeat intervals ({ten} ms), so a few late heartbeats start an election."),
                format!("Set the election timeout to about {ten} ms, or lower the heartbeat interval."),
            ));
        }
    }
    if el > MAX_ELECTION_TIMEOUT_MS {
        out.push(diag(
            E007,
            Severity::Error,
            path("etcd.election_timeout_ms"),
            format!("The election timeout ({el} ms) is above etcd's limit of {MAX_ELECTION_TIMEOUT_MS} ms; etcd refuses to start."),
            "Use a value up to 50000 ms; etcd's default is 1000 ms.",
        ));
    }

    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, m) in etcd.members.iter().enumerate() {
        let p = members_path.index(i).key("name");
        let name = m.name.as_str();
        let why = if name.is_empty() {
            Some("is empty")
        } else if is_placeholder(name) {
            Some("is an unfilled placeholder")
        } else if has_space_or_control(name) {
            Some("contains whitespace")
        } else if name.contains(',') || name.contains('=') {
            Some("contains `,` or `=`, which break ETCD_INITIAL_CLUSTER")
        } else {
            None
        };
        if let Some(why) = why {
            out.push(diag(
                E008,
                Severity::Error,
                p.clone(),
                format!("etcd member name `{name}` {why}."),
                "Use the host's short name without spaces, e.g. `pg-etcd-02`.",
            ));
        }
        if let Some(first) = seen.get(name) {
            out.push(diag(
                E009,
                Severity::Error,
                p,
                format!("etcd member name `{name}` is already used by etcd.members[{first}]."),
                "Give every member its own name.",
            ));
        } else {
            seen.insert(name, i);
        }
    }

    if etcd.api == EtcdApi::V2 {
        out.push(diag(
            E010,
            Severity::Warning,
            path("etcd.api"),
            "The etcd v2 API is deprecated since etcd 3.4 and removed in etcd 3.6.",
            "Use `api: v3` (Patroni's `etcd3:`), which works with etcd 3.4 to 3.6.",
        ));
    }

    if let Some(tls) = &etcd.tls {
        for (field, value) in [
            ("ca_file", &tls.ca_file),
            ("cert_file", &tls.cert_file),
            ("key_file", &tls.key_file),
        ] {
            if !value.starts_with('/') || has_space_or_control(value) {
                out.push(diag(
                    E011,
                    Severity::Error,
                    path("etcd.tls").key(field),
                    format!("TLS file `{value}` is not an absolute path."),
                    "Give the absolute path of the file on the etcd host, e.g. `/etc/etcd/pki/ca.crt`.",
                ));
            }
        }
    }

    if let Some(token) = &etcd.token {
        if token.is_empty() || has_space_or_control(token) || is_placeholder(token) {
            out.push(diag(
                E012,
                Severity::Error,
                path("etcd.token"),
                format!("The etcd cluster token `{token}` is empty, contains whitespace or is a placeholder."),
                "Use a token unique to this cluster, or leave it out to use `<cluster name>-etcd`.",
            ));
        }
    }
}

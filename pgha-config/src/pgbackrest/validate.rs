//! Validation of the pgBackRest settings: stanza name, repository (S3 or POSIX), retention,
//! parallelism, encryption, backup schedule and extra options.
//!
//! Ranges and value rules come from the pgBackRest configuration reference and were checked with
//! pgBackRest 2.45: it rejects `process-max` 0 and 1000 ("out of range"), `repo1-retention-full` 0
//! and 10000000, a `repo1-path` not starting with `/` or containing `//`, and any
//! `repo1-cipher-type` other than `none` and `aes-256-cbc`; with a cipher it requires
//! `repo1-cipher-pass`.

use crate::cluster::Cluster;
use crate::diagnostic::{Diagnostic, ModelPath, Severity};
use crate::pgbackrest::render::cron_to_on_calendar;
use crate::pgbackrest::{Repository, ScheduleKind};
use crate::validate::{diag, has_space_or_control, is_placeholder, parse_address, path};

/// The stanza name is empty, contains whitespace, is a `<placeholder>` (the tutorial left
/// `<stanza-name>` in its commands), or has characters outside letters, digits, `.`, `_` and `-`.
/// The name is a directory in the repository (`backup/<stanza>`, `archive/<stanza>`), an INI
/// section (`[<stanza>]`, where `:` separates a command-specific section) and a command-line
/// argument, so `/`, `:`, `]` and the like break one of them.
pub const B001: &str = "B001";
/// The stanza name starts with `global`: pgBackRest 2.35 and older mistook a `[global_qa]`
/// section for a variant of `[global]` (pgbackrest issue #1524).
pub const B002: &str = "B002";
/// The bucket name is not valid: OCI Object Storage bucket names have 1–256 letters, digits,
/// `-`, `_` and `.`.
pub const B003: &str = "B003";
/// The region is not a region identifier (lower-case letters, digits and `-`, such as
/// `us-ashburn-1`).
pub const B004: &str = "B004";
/// The S3 endpoint is a URL (`https://…`), contains a path or a port, or is not a host name.
/// pgBackRest's `repo1-s3-endpoint` is a bare host (the tutorial wrote a URL there); the port is
/// the separate `repo1-storage-port`.
pub const B005: &str = "B005";
/// The S3 repository has neither an OCI namespace nor an endpoint, so there is no endpoint host.
pub const B006: &str = "B006";
/// A repository path is not absolute or contains `//`; pgBackRest rejects both.
pub const B007: &str = "B007";
/// TLS verification of the S3 endpoint is off: anyone on the path can impersonate the object
/// store and read or alter backups.
pub const B008: &str = "B008";
/// The S3 repository has no access key or no secret key (`secrets.s3_key`,
/// `secrets.s3_key_secret`); pgBackRest requires both for `repo1-s3-key-type=shared`.
pub const B009: &str = "B009";
/// `retention_full` is outside 1–9999999, the range pgBackRest accepts; without retention the
/// repository grows until it is full.
pub const B010: &str = "B010";
/// `retention_diff` is outside 1–9999999.
pub const B011: &str = "B011";
/// `process_max` is outside 1–999, the range pgBackRest accepts.
pub const B012: &str = "B012";
/// `cipher_type` is neither `none` nor `aes-256-cbc`, the only ciphers pgBackRest supports.
pub const B013: &str = "B013";
/// A cipher is set but `secrets.repo_cipher_pass` is missing; pgBackRest refuses to run without
/// it. (A pass phrase without a cipher is unused: warning.)
pub const B014: &str = "B014";
/// A backup schedule is not a valid five-field cron expression, or, with `kind: systemd-timer`,
/// restricts both day of month and day of week, which no `OnCalendar=` expression can mean (cron
/// runs when either matches, a timer only when both do), so the job would not be rendered.
pub const B015: &str = "B015";
/// An extra option repeats one pgha sets itself (`repo1-path`, `stanza`, `pg1-path`, …); the
/// two values would conflict in pgbackrest.conf.
pub const B016: &str = "B016";
/// An extra option's value contains a line break, which would inject further lines into
/// pgbackrest.conf.
pub const B017: &str = "B017";
/// An extra option's name is not a pgBackRest option name (lower-case letters, digits and `-`).
pub const B018: &str = "B018";
/// The OCI namespace is not a namespace (letters and digits, at most 63 characters); it becomes
/// the first label of the endpoint host.
pub const B019: &str = "B019";
/// The S3 CA file path is not absolute.
pub const B020: &str = "B020";
/// The S3 port is 0.
pub const B021: &str = "B021";

/// Options pgha writes into pgbackrest.conf or passes on every command line. Extra options must
/// not repeat them (nor their deprecated or unindexed aliases, which are normalised first).
const OWNED_OPTIONS: &[&str] = &[
    "stanza",
    "config",
    "config-path",
    "config-include-path",
    "pg1-path",
    "pg1-port",
    "pg1-socket-path",
    "pg1-user",
    "repo1-type",
    "repo1-path",
    "repo1-s3-bucket",
    "repo1-s3-endpoint",
    "repo1-s3-region",
    "repo1-s3-key",
    "repo1-s3-key-secret",
    "repo1-s3-uri-style",
    "repo1-s3-verify-tls",
    "repo1-s3-verify-ssl",
    "repo1-s3-ca-file",
    "repo1-s3-port",
    "repo1-storage-verify-tls",
    "repo1-storage-ca-file",
    "repo1-storage-port",
    "repo1-retention-full",
    "repo1-retention-diff",
    "repo1-cipher-type",
    "repo1-cipher-pass",
    "process-max",
    "archive-async",
    "spool-path",
    "lock-path",
    "log-path",
];

/// The largest retention pgBackRest accepts.
const MAX_RETENTION: u32 = 9_999_999;

/// Appends every problem of the pgbackrest settings to `out`.
pub fn validate(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    check_stanza(cluster, out);
    let st = &cluster.pgbackrest;
    let repo = path("pgbackrest.repository");

    match &st.repository {
        Repository::S3(s3) => {
            let b = &s3.bucket;
            let bucket_ok = !b.is_empty()
                && b.len() <= 256
                && b.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
            if !bucket_ok {
                out.push(diag(
                    B003,
                    Severity::Error,
                    repo.key("bucket"),
                    format!("Bucket name `{b}` is not valid."),
                    "Use 1–256 letters, digits, `-`, `_` or `.`, e.g. `pg_backup`.",
                ));
            }
            let r = &s3.region;
            let region_ok = !r.is_empty()
                && r.len() <= 64
                && r.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                && r.starts_with(|c: char| c.is_ascii_lowercase())
                && !r.ends_with('-');
            if !region_ok {
                out.push(diag(
                    B004,
                    Severity::Error,
                    repo.key("region"),
                    format!("Region `{r}` is not a region identifier."),
                    "Use the region's identifier, e.g. `us-ashburn-1`.",
                ));
            }
            if let Some(ns) = &s3.namespace {
                let ok = !ns.is_empty()
                    && ns.len() <= 63
                    && ns.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                    && !ns.starts_with('-')
                    && !ns.ends_with('-');
                if !ok {
                    out.push(diag(
                        B019,
                        Severity::Error,
                        repo.key("namespace"),
                        format!("OCI namespace `{ns}` is not a namespace."),
                        "Copy the tenancy's Object Storage namespace (`oci os ns get`).",
                    ));
                }
            }
            match &s3.endpoint {
                Some(e) => check_endpoint(e, repo.key("endpoint"), out),
                None if s3.namespace.is_none() => out.push(diag(
                    B006,
                    Severity::Error,
                    repo.key("namespace"),
                    "The S3 repository has neither an OCI namespace nor an endpoint.",
                    "Set `namespace` (OCI: the endpoint is derived from namespace and region) or `endpoint` (a bare host).",
                )),
                None => {}
            }
            check_repo_path(&s3.path, repo.key("path"), out);
            if !s3.verify_tls {
                out.push(diag(
                    B008,
                    Severity::Warning,
                    repo.key("verify_tls"),
                    "TLS verification of the S3 endpoint is off, so anyone on the network path can impersonate the object store.",
                    "Turn `verify_tls` on; for a private CA set `ca_file` instead.",
                ));
            }
            if let Some(ca) = &s3.ca_file {
                if !ca.starts_with('/') || has_space_or_control(ca) {
                    out.push(diag(
                        B020,
                        Severity::Error,
                        repo.key("ca_file"),
                        format!("CA file `{ca}` is not an absolute path."),
                        "Give the absolute path of the CA bundle on the database hosts.",
                    ));
                }
            }
            if s3.port == Some(0) {
                out.push(diag(
                    B021,
                    Severity::Error,
                    repo.key("port"),
                    "The S3 port is 0.",
                    "Leave `port` out for 443, or give the endpoint's port.",
                ));
            }
            let secrets = &cluster.secrets;
            for (field, present) in [
                ("s3_key", secrets.s3_key.is_some()),
                ("s3_key_secret", secrets.s3_key_secret.is_some()),
            ] {
                if !present {
                    out.push(diag(
                        B009,
                        Severity::Error,
                        path("secrets").key(field),
                        format!("The S3 repository needs `secrets.{field}`, which is missing."),
                        "Create a customer secret key for the backup user (OCI: Identity › Users › Customer secret keys) and pass its ID and secret, preferably as references.",
                    ));
                }
            }
        }
        Repository::Posix(px) => check_repo_path(&px.path, repo.key("path"), out),
    }

    if st.retention_full == 0 || st.retention_full > MAX_RETENTION {
        out.push(diag(
            B010,
            Severity::Error,
            path("pgbackrest.retention_full"),
            format!(
                "retention_full {} is outside 1–{MAX_RETENTION}, which pgBackRest rejects.",
                st.retention_full
            ),
            "Keep a small number of full backups, e.g. 2 to 10.",
        ));
    }
    if let Some(d) = st.retention_diff {
        if d == 0 || d > MAX_RETENTION {
            out.push(diag(
                B011,
                Severity::Error,
                path("pgbackrest.retention_diff"),
                format!("retention_diff {d} is outside 1–{MAX_RETENTION}, which pgBackRest rejects."),
                "Give a positive number, or leave it out to keep differentials as long as their full backup.",
            ));
        }
    }
    if !(1..=999).contains(&st.process_max) {
        out.push(diag(
            B012,
            Severity::Error,
            path("pgbackrest.process_max"),
            format!(
                "process_max {} is outside 1–999, which pgBackRest rejects.",
                st.process_max
            ),
            "Use about a quarter of the host's CPUs for backups, e.g. 4.",
        ));
    }

    let cipher = st.cipher_type.as_deref();
    match cipher {
        Some("aes-256-cbc") => {
            if cluster.secrets.repo_cipher_pass.is_none() {
                out.push(diag(
                    B014,
                    Severity::Error,
                    path("secrets.repo_cipher_pass"),
                    "Repository encryption is on but `secrets.repo_cipher_pass` is missing; pgBackRest refuses to run.",
                    "Set a long random pass phrase (`openssl rand -base64 48`) and keep a copy outside the cluster: without it the backups cannot be read.",
                ));
            }
        }
        Some("none") | None => {
            if cluster.secrets.repo_cipher_pass.is_some() {
                out.push(diag(
                    B014,
                    Severity::Warning,
                    path("secrets.repo_cipher_pass"),
                    "A repository pass phrase is set but `cipher_type` is not, so the repository is not encrypted.",
                    "Set `pgbackrest.cipher_type: aes-256-cbc`, or remove the pass phrase.",
                ));
            }
        }
        Some(other) => out.push(diag(
            B013,
            Severity::Error,
            path("pgbackrest.cipher_type"),
            format!("cipher_type `{other}` is not supported by pgBackRest."),
            "Use `aes-256-cbc`, or leave it out for no encryption.",
        )),
    }

    let sched = path("pgbackrest.schedule");
    let timers = st.schedule.kind == ScheduleKind::SystemdTimer;
    let mut entries = vec![("full", Some(st.schedule.full.as_str()))];
    entries.push(("diff", st.schedule.diff.as_deref()));
    entries.push(("incr", st.schedule.incr.as_deref()));
    for (field, expr) in entries {
        let Some(expr) = expr else { continue };
        if let Err(e) = crate::schedule::check_cron_expression(expr) {
            out.push(diag(
                B015,
                Severity::Error,
                sched.key(field),
                format!("The {field} backup schedule is not valid cron: {e}."),
                "Write five fields: minute hour day-of-month month day-of-week, e.g. `0 1 * * 0`.",
            ));
        } else if timers && cron_to_on_calendar(expr).is_none() {
            out.push(diag(
                B015,
                Severity::Error,
                sched.key(field),
                format!("The {field} backup schedule `{expr}` restricts both day of month and day of week: cron runs it when either matches, a systemd timer only when both do, so no timer is rendered for it."),
                "Restrict only one of the two day fields, or use `kind: cron`.",
            ));
        }
    }

    for (key, value) in &st.options {
        let p = path("pgbackrest.options").key(key.as_str());
        let key_ok = !key.is_empty()
            && key
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && !key.starts_with('-');
        if !key_ok {
            out.push(diag(
                B018,
                Severity::Error,
                p.clone(),
                format!("`{key}` is not a pgBackRest option name."),
                "Write the option as in pgbackrest.conf, e.g. `compress-type`.",
            ));
        } else if OWNED_OPTIONS.contains(&normalise_option(key).as_str()) {
            out.push(diag(
                B016,
                Severity::Error,
                p.clone(),
                format!("Option `{key}` is set by pgha itself, so the two values would conflict."),
                "Remove it and use the matching field of `pgbackrest` (repository, retention, process_max, cipher_type…) or `platform`.",
            ));
        }
        if value.contains('\n') || value.contains('\r') {
            out.push(diag(
                B017,
                Severity::Error,
                p,
                format!("The value of option `{key}` contains a line break."),
                "Give a single-line value.",
            ));
        }
    }
}

/// The option's current indexed name: `repo-path` → `repo1-path`, `retention-full` →
/// `repo1-retention-full`, `repo1-s3-verify-ssl` stays (listed as owned).
fn normalise_option(key: &str) -> String {
    let k = key.to_ascii_lowercase();
    if let Some(rest) = k.strip_prefix("repo-") {
        return format!("repo1-{rest}");
    }
    if let Some(rest) = k.strip_prefix("pg-") {
        return format!("pg1-{rest}");
    }
    match k.as_str() {
        "retention-full" | "retention-diff" | "retention-archive" => format!("repo1-{k}"),
        "db-path" => "pg1-path".to_string(),
        "db-port" => "pg1-port".to_string(),
        "db-socket-path" => "pg1-socket-path".to_string(),
        "db-user" => "pg1-user".to_string(),
        _ => k,
    }
}

fn check_stanza(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let (name, at, explicit) = match &c.pgbackrest.name {
        Some(n) => (n.as_str(), path("pgbackrest.name"), true),
        None => (c.name.as_str(), path("name"), false),
    };
    let basic = if name.is_empty() {
        Some("is empty".to_string())
    } else if is_placeholder(name) {
        Some("is an unfilled placeholder".to_string())
    } else if has_space_or_control(name) {
        Some("contains whitespace".to_string())
    } else {
        None
    };
    // Without an explicit stanza name the cluster name is used; C001 already reports an empty or
    // blank cluster name, so only the stricter character set is checked here.
    if let Some(why) = basic {
        if explicit {
            out.push(diag(
                B001,
                Severity::Error,
                at,
                format!("Stanza name `{name}` {why}."),
                "Use one short name of letters, digits, `.`, `_` and `-`, or leave it out to use the cluster name.",
            ));
        }
        return;
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        out.push(diag(
            B001,
            Severity::Error,
            at.clone(),
            format!(
                "Stanza name `{name}` has characters other than letters, digits, `.`, `_` and `-`."
            ),
            if explicit {
                "Use letters, digits, `.`, `_` and `-` only."
            } else {
                "Set `pgbackrest.name` to a stanza name of letters, digits, `.`, `_` and `-`."
            },
        ));
    }
    if name.to_ascii_lowercase().starts_with("global") {
        out.push(diag(
            B002,
            Severity::Warning,
            at,
            format!("Stanza name `{name}` starts with `global`, which pgBackRest 2.35 and older confuse with the [global] section."),
            "Choose a stanza name that does not start with `global`.",
        ));
    }
}

fn check_endpoint(e: &str, p: ModelPath, out: &mut Vec<Diagnostic>) {
    let lower = e.to_ascii_lowercase();
    let message = if let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    {
        let host = rest.split('/').next().unwrap_or("");
        Some((
            format!("S3 endpoint `{e}` is a URL, but pgBackRest wants a bare host."),
            format!("Write only the host, e.g. `{host}`."),
        ))
    } else if e.contains('/') {
        Some((
            format!("S3 endpoint `{e}` contains a path, but pgBackRest wants a bare host."),
            "Write only the host; the bucket and repository path are separate fields.".to_string(),
        ))
    } else if e.contains(':') && !e.starts_with('[') && e.matches(':').count() == 1 {
        Some((
            format!("S3 endpoint `{e}` contains a port."),
            "Write only the host and put the port in `port`.".to_string(),
        ))
    } else {
        match parse_address(e) {
            Ok(_) => None,
            Err(why) => Some((
                format!("S3 endpoint is not a host: {why}."),
                "Give the endpoint's host name, e.g. `<namespace>.compat.objectstorage.<region>.oraclecloud.com`, or leave it out to derive it.".to_string(),
            )),
        }
    };
    if let Some((m, h)) = message {
        out.push(diag(B005, Severity::Error, p, m, h));
    }
}

fn check_repo_path(p_text: &str, p: ModelPath, out: &mut Vec<Diagnostic>) {
    let why = if !p_text.starts_with('/') {
        Some("does not start with `/`")
    } else if p_text.contains("//") {
        Some("contains `//`")
    } else if has_space_or_control(p_text) {
        Some("contains whitespace")
    } else {
        None
    };
    if let Some(why) = why {
        out.push(diag(
            B007,
            Severity::Error,
            p,
            format!("Repository path `{p_text}` {why}, which pgBackRest rejects."),
            "Give an absolute path such as `/backup` (or `/var/lib/pgbackrest` for a POSIX repository).",
        ));
    }
}

//! `pgha_pgbackrest_backups`: what a pgBackRest repository holds for one stanza.
//!
//! Reads `backup/<stanza>/backup.info` and `archive/<stanza>/archive.info` (falling back to
//! their `.copy` files as pgBackRest does, checksums verified by [`pgha_oci`]) and lists the
//! stanza's WAL archive, from an OCI Object Storage bucket (with the provider's OCI settings)
//! or from a local directory. Like every data source it is read during `terraform plan`
//! (and refresh), unless its arguments are only known after apply.
//!
//! The repository's condition is data, not an error: a stanza that was never created reads as
//! `status = "missing_stanza"`, damaged info files as `checksum_mismatch` or `unreadable`.
//! Failing to reach the repository at all (settings, signature, missing bucket, network) is
//! an error diagnostic.

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use pgha_oci::{
    read_stanza, ArchiveRange, Backup, BackupType, ObjectStorageRepo, PosixRepo, StanzaReport,
    StanzaStatus,
};
use tfplugin::{
    Attribute, AttributePath, Block, DataSource, Diagnostics, NestingMode, Schema, Type, Value,
};

use crate::oci::{self, OciError, OciSettings};

/// Full type name.
pub const TYPE_NAME: &str = "pgha_pgbackrest_backups";

/// Repository path inside the bucket when `s3.path` is not set: the one
/// `pgha_pgbackrest_stanza` renders by default, so both agree without repeating it.
pub const DEFAULT_REPO_PATH: &str = pgha_config::defaults::REPO_PATH;

/// The data source. With no settings of its own it uses the provider's.
#[derive(Debug, Default, Clone)]
pub struct PgbackrestBackups {
    settings: Option<OciSettings>,
}

impl PgbackrestBackups {
    /// A data source that uses `settings` instead of the provider's (for tests and tools that
    /// run it outside Terraform).
    pub fn with_settings(settings: OciSettings) -> Self {
        Self {
            settings: Some(settings),
        }
    }
}

/// The type of one element of `backups` (and of `latest_full`).
pub fn backup_type() -> Type {
    Type::object([
        ("label", Type::String),
        ("type", Type::String),
        ("start", Type::String),
        ("stop", Type::String),
        ("database_size", Type::Number),
        ("database_size_delta", Type::Number),
        ("repo_size", Type::Number),
        ("repo_size_delta", Type::Number),
        ("wal_start", Type::String),
        ("wal_stop", Type::String),
        ("lsn_start", Type::String),
        ("lsn_stop", Type::String),
        ("prior", Type::String),
        ("references", Type::list(Type::String)),
        ("error", Type::Bool),
    ])
}

fn archive_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("database_id", Type::Number),
        ("version", Type::String),
        ("min", Type::String),
        ("max", Type::String),
        ("segments", Type::Number),
    ])
}

fn database_type() -> Type {
    Type::object([
        ("id", Type::Number),
        ("system_id", Type::String),
        ("version", Type::String),
    ])
}

/// The schema.
pub fn schema() -> Schema {
    let s3 = Block::new(
        "A repository in an OCI Object Storage bucket (pgBackRest `repo1-type=s3` through \
         OCI's S3-compatible endpoint), read through the native Object Storage API with the \
         provider's OCI settings.",
    )
    .attribute(
        Attribute::string("bucket")
            .required()
            .describe("Bucket name (pgBackRest's `repo1-s3-bucket`)."),
    )
    .attribute(Attribute::string("namespace").describe(
        "Object Storage namespace. Default: the tenancy's namespace, asked from OCI \
         (one extra GetNamespace call).",
    ))
    .attribute(Attribute::string("path").describe(
        "Repository path inside the bucket (pgBackRest's `repo1-path`); default `/backup`, \
         the default of `pgha_pgbackrest_stanza`.",
    ))
    .attribute(Attribute::string("region").describe(
        "Region of the bucket, e.g. `ap-chuncheon-1`. Default: the provider's `region`. \
         Ignored when the provider sets `object_storage_endpoint`.",
    ));
    let posix = Block::new(
        "A repository in a directory readable by the machine that runs Terraform \
         (pgBackRest `repo1-type=posix`, e.g. an NFS mount).",
    )
    .attribute(
        Attribute::string("path")
            .required()
            .describe("Absolute path of the repository (pgBackRest's `repo1-path`)."),
    );
    let block = Block::new(
        "Reads a pgBackRest repository: the backups of one stanza (from `backup.info`), its \
         WAL archive ranges (from `archive.info` and the archive listing), and whether the \
         info files verify. Exactly one of `s3` or `posix` says where the repository is.\n\n\
         Like every data source it is read during `terraform plan` and refresh, so an `s3` \
         repository is contacted then, with the provider's OCI settings (see the \
         authentication guide). A stanza that does not exist yet is not an error: `status` \
         is `missing_stanza` and `backups` is empty. An unreachable repository, a rejected \
         signature or a missing bucket is an error.",
    )
    .attribute(
        Attribute::string("stanza")
            .required()
            .describe("Stanza name (pgBackRest's `--stanza`)."),
    )
    .attribute(Attribute::string("id").computed().describe(
        "Where the stanza was read from: `s3://<namespace>/<bucket>/<path>#<stanza>` or \
         `posix://<path>#<stanza>`.",
    ))
    .attribute(Attribute::string("status").computed().describe(
        "`ok` (both info files verify), `missing_stanza` (neither exists: `stanza-create` has \
         not run), `checksum_mismatch` (an info file and its copy fail pgBackRest's checksum) \
         or `unreadable` (an info file is missing while the other exists, or does not parse).",
    ))
    .attribute(Attribute::string("status_detail").computed().describe(
        "What `status` is about: the damaged file and the stored and computed checksums, or \
         why a file is unreadable; empty when `status` is `ok`.",
    ))
    .attribute(
        Attribute::new("backups", Type::list(backup_type()))
            .computed()
            .describe(
                "Backups, oldest first, as in `pgbackrest info`: `label`, `type` (`full`, \
                 `diff`, `incr`), `start` and `stop` (RFC 3339, UTC; null if \
                 the recorded time is not within the years 1970 to 9999), `database_size` and \
                 `database_size_delta` (bytes of database files covered and copied), \
                 `repo_size` and `repo_size_delta` (bytes in the repository), `wal_start` and \
                 `wal_stop` (WAL segments needed for consistency), `lsn_start`, `lsn_stop`, \
                 `prior` (the backup a diff/incr depends on), `references` and `error` (page \
                 checksum errors found).",
            ),
    )
    .attribute(
        Attribute::new("latest_full", backup_type())
            .computed()
            .describe("The newest full backup (same fields as `backups`), or null when none."),
    )
    .attribute(
        Attribute::new("archive", Type::list(archive_type()))
            .computed()
            .describe(
                "WAL archive per archive id (`<version>-<database_id>`): `min` and `max` WAL \
                 segment present (null when none) and the number of `segments`.",
            ),
    )
    .attribute(
        Attribute::new("database", database_type())
            .computed()
            .describe(
                "The stanza's current database from `backup.info`: history `id`, PostgreSQL \
                 `system_id` (a string: it exceeds the precision of Terraform numbers) and \
                 major `version`; null unless `status` is `ok`.",
            ),
    )
    .attribute(
        Attribute::new("warnings", Type::list(Type::String))
            .computed()
            .describe(
                "Findings that did not stop the read, such as a damaged `backup.info` replaced \
                 by its `.copy` (as pgBackRest would).",
            ),
    )
    .block("s3", NestingMode::Single, s3)
    .block("posix", NestingMode::Single, posix);
    Schema { version: 0, block }
}

/// Where to read from, taken from a wholly known configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    S3 {
        namespace: Option<String>,
        bucket: String,
        path: String,
        region: Option<String>,
    },
    Posix {
        path: String,
    },
}

fn nonempty(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// Checks the configuration; returns the location and stanza when all of it is known and valid.
fn check_config(config: &Value, diags: &mut Diagnostics) -> Option<(Location, String)> {
    let before = diags.0.len();
    let stanza = config.get("stanza");
    if let Some(name) = stanza.as_str() {
        if let Some(problem) = stanza_problem(name) {
            diags.error_at(AttributePath::new("stanza"), "Invalid stanza name", problem);
        }
    }
    let s3 = config.get("s3");
    let posix = config.get("posix");
    let at = |block: &str, attr: &str| AttributePath::new(block).attribute(attr);
    match (s3.is_null(), posix.is_null()) {
        (true, true) => diags.error(
            "Repository location missing",
            "Add an `s3` block (a bucket in OCI Object Storage) or a `posix` block (a local \
             directory) saying where the pgBackRest repository is.",
        ),
        (false, false) => diags.error_at(
            AttributePath::new("posix"),
            "Conflicting repository locations",
            "Set either `s3` or `posix`, not both: the data source reads one repository.",
        ),
        _ => {}
    }
    if let Some(bucket) = s3.get("bucket").as_str() {
        if bucket.is_empty() || bucket.contains('/') {
            diags.error_at(
                at("s3", "bucket"),
                "Invalid bucket name",
                format!(
                    "{bucket:?} is not a bucket name: it must be non-empty and contain no '/'."
                ),
            );
        }
    }
    if let Some(path) = posix.get("path").as_str() {
        if !path.starts_with('/') {
            diags.error_at(
                at("posix", "path"),
                "Relative repository path",
                format!(
                    "{path:?} is relative; give the absolute path (Terraform runs the provider \
                     in the module directory, which is rarely what is meant)."
                ),
            );
        }
    }
    if diags.0.len() > before || !config.is_wholly_known() {
        return None;
    }
    let stanza = stanza.as_str()?.to_string();
    let location = if !s3.is_null() {
        Location::S3 {
            namespace: nonempty(s3.get("namespace")),
            bucket: s3.get("bucket").as_str()?.to_string(),
            path: nonempty(s3.get("path")).unwrap_or_else(|| DEFAULT_REPO_PATH.to_string()),
            region: nonempty(s3.get("region")),
        }
    } else {
        Location::Posix {
            path: posix.get("path").as_str()?.to_string(),
        }
    };
    Some((location, stanza))
}

/// Why `name` cannot be a stanza name (pgBackRest uses it as a path component).
fn stanza_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("The stanza name is empty.".to_string());
    }
    if name.contains(['/', '\\'])
        || name == "."
        || name == ".."
        || name.chars().any(char::is_whitespace)
    {
        return Some(format!(
            "{name:?} cannot be a stanza name: pgBackRest uses it as a directory name, so it \
             may not contain '/', '\\' or white space, nor be '.' or '..'."
        ));
    }
    None
}

/// Reads the stanza and fills the computed attributes of `config`.
async fn read(settings: &OciSettings, config: &Value, diags: &mut Diagnostics) -> Option<Value> {
    let (location, stanza) = check_config(config, diags)?;
    let (report, id) = match &location {
        Location::Posix { path } => {
            let repo = PosixRepo::new(path);
            let report = read_stanza(&repo, &stanza).await.map_err(OciError::from);
            (report, format!("posix://{path}#{stanza}"))
        }
        Location::S3 {
            namespace,
            bucket,
            path,
            region,
        } => match read_s3(
            settings,
            namespace.as_deref(),
            bucket,
            path,
            region.as_deref(),
            &stanza,
        )
        .await
        {
            Ok((report, namespace)) => (
                Ok(report),
                format!(
                    "s3://{namespace}/{bucket}/{}#{stanza}",
                    path.trim_matches('/')
                ),
            ),
            Err(e) => (Err(e), String::new()),
        },
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            let at = match (&location, &e) {
                (Location::S3 { .. }, OciError::Storage(s)) if is_bucket_error(s) => {
                    Some(AttributePath::new("s3").attribute("bucket"))
                }
                (Location::Posix { .. }, OciError::Io(_)) => {
                    Some(AttributePath::new("posix").attribute("path"))
                }
                _ => None,
            };
            oci::report(&e, settings, diags, at);
            return None;
        }
    };
    tracing::info!(
        stanza = %stanza,
        id = %id,
        status = status_name(&report.status),
        backups = report.backups.len(),
        "pgBackRest repository read"
    );
    if let StanzaStatus::ChecksumMismatch { .. } | StanzaStatus::Unreadable { .. } = report.status {
        diags.warning(
            format!("pgBackRest stanza {stanza:?} is damaged"),
            format!(
                "{} Backups cannot be listed until the info files are repaired (pgBackRest \
                 itself reports the same error).",
                status_detail(&report.status)
            ),
        );
    }
    Some(fill(config.clone(), id, &report))
}

fn is_bucket_error(e: &pgha_oci::ObjectStorageError) -> bool {
    match e {
        pgha_oci::ObjectStorageError::BucketNotFound { .. } => true,
        pgha_oci::ObjectStorageError::RetriesExhausted { last, .. } => is_bucket_error(last),
        _ => false,
    }
}

async fn read_s3(
    settings: &OciSettings,
    namespace: Option<&str>,
    bucket: &str,
    path: &str,
    region: Option<&str>,
    stanza: &str,
) -> Result<(StanzaReport, String), OciError> {
    let session = settings.session(region).map_err(|e| match e {
        OciError::NoRegion { .. } => OciError::NoRegion {
            for_block: " or `region` in the `s3` block".to_string(),
        },
        other => other,
    })?;
    let namespace = match namespace {
        Some(ns) => ns.to_string(),
        None => session.client.get_namespace().await?,
    };
    let repo = ObjectStorageRepo::new(session.client, namespace.clone(), bucket, path);
    let report = read_stanza(&repo, stanza).await?;
    Ok((report, namespace))
}

/// The spelling of a status in `status`.
pub fn status_name(status: &StanzaStatus) -> &'static str {
    match status {
        StanzaStatus::Ok => "ok",
        StanzaStatus::MissingStanza => "missing_stanza",
        StanzaStatus::ChecksumMismatch { .. } => "checksum_mismatch",
        StanzaStatus::Unreadable { .. } => "unreadable",
    }
}

fn status_detail(status: &StanzaStatus) -> String {
    match status {
        StanzaStatus::Ok => String::new(),
        StanzaStatus::MissingStanza => "Neither backup.info nor archive.info (nor their copies) \
                                        exists for this stanza: stanza-create has not run in \
                                        this repository."
            .to_string(),
        StanzaStatus::ChecksumMismatch {
            file,
            expected,
            actual,
        } => format!(
            "{file} (and its .copy) fails checksum verification: stored {}, computed {actual}.",
            expected.as_deref().unwrap_or("(none)")
        ),
        StanzaStatus::Unreadable { file, reason } => format!("{file} is unreadable: {reason}."),
    }
}

fn fill(mut state: Value, id: String, report: &StanzaReport) -> Value {
    state.set("id", Value::from(id));
    state.set("status", Value::from(status_name(&report.status)));
    state.set("status_detail", Value::from(status_detail(&report.status)));
    state.set(
        "backups",
        Value::List(report.backups.iter().map(backup_value).collect()),
    );
    state.set(
        "latest_full",
        report
            .backups
            .iter()
            .rev()
            .find(|b| b.backup_type == BackupType::Full)
            .map(backup_value)
            .unwrap_or(Value::Null),
    );
    state.set(
        "archive",
        Value::List(report.archive.iter().map(archive_value).collect()),
    );
    state.set(
        "database",
        match &report.db {
            Some(db) => Value::object([
                ("id", Value::from(db.id)),
                ("system_id", Value::from(db.system_id.to_string())),
                ("version", Value::from(db.version.as_str())),
            ]),
            None => Value::Null,
        },
    );
    state.set("warnings", Value::from(report.warnings.clone()));
    state
}

fn number(n: u64) -> Value {
    // Sizes and counts stay far below 2^53, where f64 is exact.
    Value::Number(n as f64)
}

fn backup_value(b: &Backup) -> Value {
    Value::object([
        ("label", Value::from(b.label.as_str())),
        ("type", Value::from(b.backup_type.as_str())),
        ("start", rfc3339(b.timestamp_start)),
        ("stop", rfc3339(b.timestamp_stop)),
        ("database_size", number(b.database_size)),
        ("database_size_delta", number(b.database_size_delta)),
        ("repo_size", number(b.repo_size)),
        ("repo_size_delta", number(b.repo_size_delta)),
        ("wal_start", Value::from(b.wal_start.clone())),
        ("wal_stop", Value::from(b.wal_stop.clone())),
        ("lsn_start", Value::from(b.lsn_start.clone())),
        ("lsn_stop", Value::from(b.lsn_stop.clone())),
        ("prior", Value::from(b.prior.clone())),
        ("references", Value::from(b.reference.clone())),
        ("error", Value::from(b.error)),
    ])
}

fn archive_value(a: &ArchiveRange) -> Value {
    Value::object([
        ("id", Value::from(a.archive_id.as_str())),
        ("database_id", Value::from(a.db_id)),
        ("version", Value::from(a.version.as_str())),
        ("min", Value::from(a.min.clone())),
        ("max", Value::from(a.max.clone())),
        ("segments", number(a.segments as u64)),
    ])
}

/// Unix seconds as RFC 3339 in UTC (`2024-05-01T12:00:00Z`), or null for a time before 1970
/// or after 9999: pgBackRest records `time()` there, so such a value is damage, not a date.
fn rfc3339(unix: i64) -> Value {
    match u64::try_from(unix) {
        Ok(secs) if secs < 253_402_300_800 => Value::from(
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string(),
        ),
        _ => Value::Null,
    }
}

#[async_trait]
impl DataSource for PgbackrestBackups {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        check_config(config, diags);
    }

    async fn read(&self, config: &Value, diags: &mut Diagnostics) -> Option<Value> {
        match &self.settings {
            Some(settings) => read(settings, config, diags).await,
            None => read(&oci::provider_settings(), config, diags).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        let text = |unix| rfc3339(unix).as_str().map(str::to_string);
        assert_eq!(text(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(text(951_782_400).as_deref(), Some("2000-02-29T00:00:00Z"));
        assert_eq!(text(1_709_210_096).as_deref(), Some("2024-02-29T12:34:56Z"));
        assert_eq!(text(4_102_444_799).as_deref(), Some("2099-12-31T23:59:59Z"));
        assert_eq!(
            text(253_402_300_799).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
    }

    #[test]
    fn rfc3339_is_null_outside_1970_to_9999() {
        assert_eq!(rfc3339(-1), Value::Null);
        assert_eq!(rfc3339(253_402_300_800), Value::Null);
        assert_eq!(rfc3339(i64::MAX), Value::Null);
    }

    fn cfg(s3: Value, posix: Value) -> Value {
        Value::object([
            ("stanza", Value::from("main")),
            ("s3", s3),
            ("posix", posix),
        ])
    }

    #[test]
    fn exactly_one_location() {
        let mut d = Diagnostics::default();
        assert!(check_config(&cfg(Value::Null, Value::Null), &mut d).is_none());
        assert!(d.0[0].summary.contains("missing"), "{d:?}");

        let mut d = Diagnostics::default();
        let s3 = Value::object([("bucket", Value::from("b"))]);
        let posix = Value::object([("path", Value::from("/r"))]);
        assert!(check_config(&cfg(s3.clone(), posix.clone()), &mut d).is_none());
        assert!(d.0[0].summary.contains("Conflicting"), "{d:?}");

        let mut d = Diagnostics::default();
        let (loc, stanza) = check_config(&cfg(s3, Value::Null), &mut d).expect("valid");
        assert_eq!(stanza, "main");
        assert_eq!(
            loc,
            Location::S3 {
                namespace: None,
                bucket: "b".into(),
                path: DEFAULT_REPO_PATH.into(),
                region: None
            }
        );
    }

    #[test]
    fn unknown_values_are_not_errors_and_not_read() {
        let mut d = Diagnostics::default();
        let s3 = Value::object([("bucket", Value::Unknown)]);
        assert!(check_config(&cfg(s3, Value::Null), &mut d).is_none());
        assert!(d.0.is_empty(), "{d:?}");
    }

    #[test]
    fn bad_names_and_relative_paths_point_at_the_attribute() {
        let mut d = Diagnostics::default();
        let config = Value::object([
            ("stanza", Value::from("../x")),
            ("posix", Value::object([("path", Value::from("repo"))])),
        ]);
        check_config(&config, &mut d);
        let paths: Vec<_> = d.0.iter().filter_map(|x| x.attribute.clone()).collect();
        assert_eq!(
            paths,
            [
                AttributePath::new("stanza"),
                AttributePath::new("posix").attribute("path")
            ]
        );
    }

    #[test]
    fn missing_stanza_fills_every_computed_attribute() {
        let report = StanzaReport {
            stanza: "main".into(),
            status: StanzaStatus::MissingStanza,
            backups: vec![],
            archive: vec![],
            db: None,
            warnings: vec![],
        };
        let v = fill(Value::Null, "posix:///r#main".into(), &report);
        for attr in [
            "id",
            "status",
            "status_detail",
            "backups",
            "archive",
            "warnings",
        ] {
            assert!(!v.get(attr).is_null(), "{attr}");
        }
        assert_eq!(v.get("status").as_str(), Some("missing_stanza"));
        assert!(v.get("latest_full").is_null());
    }
}

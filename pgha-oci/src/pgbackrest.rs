//! Reading a pgBackRest repository: `backup.info` and `archive.info` of a
//! stanza, from a posix directory or from an Object Storage bucket.
//!
//! pgBackRest's info files are INI-like: `[section]` headers and
//! `key=value` lines whose values are JSON. Each file carries
//! `[backrest] backrest-checksum`, a SHA-1 that pgBackRest computes over a
//! JSON rendering of the file's contents (see [`info_checksum`]), and is
//! written twice (`backup.info` and `backup.info.copy`) so that one damaged
//! copy is survivable. This reader verifies the checksum the same way and
//! falls back to the `.copy` file exactly when pgBackRest would.
//!
//! A stanza that does not exist is reported as [`StanzaStatus::MissingStanza`],
//! not as an error: "no backups yet" is an ordinary state during a first
//! `terraform apply`.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use sha1::{Digest as _, Sha1};
use tracing::{debug, warn};

use crate::object_storage::{ObjectStorageClient, ObjectStorageError};

/// Errors reaching the repository at all (as opposed to problems with the
/// content of one file, which become a [`StanzaStatus`]).
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// A posix I/O error other than "not found".
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An Object Storage error (authentication, missing bucket, network...).
    #[error(transparent)]
    ObjectStorage(#[from] ObjectStorageError),
}

/// Where a repository lives. Paths are relative to the repository root and
/// use `/` (e.g. `backup/demo/backup.info`).
pub trait RepoStorage: Send + Sync {
    /// The whole file, or `None` if it does not exist.
    fn read(&self, path: &str) -> impl Future<Output = Result<Option<Vec<u8>>, RepoError>> + Send;
    /// All file paths (recursively) below `dir`, relative to the repository
    /// root, in any order; empty if `dir` does not exist.
    fn list(&self, dir: &str) -> impl Future<Output = Result<Vec<String>, RepoError>> + Send;
    /// A human-readable location for messages.
    fn describe(&self) -> String;
}

/// A repository in a local directory (`repo1-type=posix`).
#[derive(Debug, Clone)]
pub struct PosixRepo {
    root: PathBuf,
}

impl PosixRepo {
    /// `root` is pgBackRest's `repo1-path`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl RepoStorage for PosixRepo {
    async fn read(&self, path: &str) -> Result<Option<Vec<u8>>, RepoError> {
        let full = self.root.join(path);
        match tokio::fs::read(&full).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(RepoError::Io { path: full, source }),
        }
    }

    async fn list(&self, dir: &str) -> Result<Vec<String>, RepoError> {
        let mut out = Vec::new();
        let mut stack = vec![dir.trim_end_matches('/').to_string()];
        while let Some(rel) = stack.pop() {
            let full = self.root.join(&rel);
            let mut entries = match tokio::fs::read_dir(&full).await {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(RepoError::Io { path: full, source }),
            };
            loop {
                let entry = match entries.next_entry().await {
                    Ok(Some(e)) => e,
                    Ok(None) => break,
                    Err(source) => {
                        return Err(RepoError::Io {
                            path: full.clone(),
                            source,
                        })
                    }
                };
                let name = entry.file_name().to_string_lossy().into_owned();
                let child = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let is_dir = entry.file_type().await.map(|t| t.is_dir()).unwrap_or(false);
                if is_dir {
                    stack.push(child);
                } else {
                    out.push(child);
                }
            }
        }
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("posix repository {}", self.root.display())
    }
}

/// A repository in an Object Storage bucket (what pgBackRest's S3 driver
/// writes through OCI's S3-compatible endpoint). `prefix` is `repo1-path`
/// without the leading `/` (often empty or `pgbackrest`).
#[derive(Debug, Clone)]
pub struct ObjectStorageRepo {
    client: ObjectStorageClient,
    namespace: String,
    bucket: String,
    prefix: String,
}

impl ObjectStorageRepo {
    /// Reads `<prefix>/...` objects of `bucket` in `namespace`.
    pub fn new(
        client: ObjectStorageClient,
        namespace: impl Into<String>,
        bucket: impl Into<String>,
        repo_path: &str,
    ) -> Self {
        Self {
            client,
            namespace: namespace.into(),
            bucket: bucket.into(),
            prefix: repo_path.trim_matches('/').to_string(),
        }
    }

    fn object_name(&self, path: &str) -> String {
        if self.prefix.is_empty() {
            path.to_string()
        } else {
            format!("{}/{}", self.prefix, path)
        }
    }
}

impl RepoStorage for ObjectStorageRepo {
    async fn read(&self, path: &str) -> Result<Option<Vec<u8>>, RepoError> {
        let name = self.object_name(path);
        match self
            .client
            .get_object(&self.namespace, &self.bucket, &name)
            .await
        {
            Ok(bytes) => Ok(Some(bytes)),
            Err(ObjectStorageError::ObjectNotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(&self, dir: &str) -> Result<Vec<String>, RepoError> {
        let mut prefix = self.object_name(dir.trim_end_matches('/'));
        prefix.push('/');
        let strip = if self.prefix.is_empty() {
            0
        } else {
            self.prefix.len() + 1
        };
        let objects = self
            .client
            .list_objects(&self.namespace, &self.bucket, Some(&prefix))
            .await?;
        Ok(objects
            .into_iter()
            .filter_map(|o| o.name.get(strip..).map(str::to_string))
            .collect())
    }

    fn describe(&self) -> String {
        format!(
            "bucket {} (namespace {}, prefix {:?}) at {}",
            self.bucket,
            self.namespace,
            self.prefix,
            self.client.endpoint()
        )
    }
}

/// One `[section]` of an info file, keys in file order, values as raw JSON text.
pub type InfoSection = Vec<(String, String)>;

/// A parsed info file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoFile {
    /// Sections in file order. A section name that appears twice (pgBackRest
    /// writes `[backrest]` again at the end for the checksum) is merged.
    pub sections: BTreeMap<String, InfoSection>,
    /// `backrest-checksum` as stored in the file (without quotes).
    pub checksum_expected: Option<String>,
    /// The checksum recomputed from the content.
    pub checksum_actual: String,
}

impl InfoFile {
    /// The raw JSON text of `section`/`key`.
    pub fn raw(&self, section: &str, key: &str) -> Option<&str> {
        self.sections
            .get(section)?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `section`/`key` parsed as JSON.
    pub fn json(&self, section: &str, key: &str) -> Option<serde_json::Value> {
        serde_json::from_str(self.raw(section, key)?).ok()
    }

    /// Whether the stored checksum matches the content.
    pub fn checksum_ok(&self) -> bool {
        self.checksum_expected.as_deref() == Some(self.checksum_actual.as_str())
    }
}

/// Why an info file's content could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    /// Not UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
    /// A line that is neither a section, a comment nor `key=value`.
    #[error("line {line}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A value that must be present or must have a certain JSON type is not.
    #[error("[{section}] {key}: {message}")]
    Value {
        /// Section.
        section: String,
        /// Key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Splits an info file into `(section, key, value)` triples in file order,
/// trimming each line, key and value and skipping blank and `#` lines, as
/// pgBackRest's INI loader does.
fn info_entries(text: &str) -> Result<Vec<(String, String, String)>, InfoError> {
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    for (idx, raw) in text.split('\n').enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest.strip_suffix(']').ok_or_else(|| InfoError::Syntax {
                line: idx + 1,
                message: format!("section header must end with ']': {line}"),
            })?;
            section = Some(name.to_string());
            continue;
        }
        let sec = section.clone().ok_or_else(|| InfoError::Syntax {
            line: idx + 1,
            message: "key=value before the first [section]".to_string(),
        })?;
        let (k, v) = line.split_once('=').ok_or_else(|| InfoError::Syntax {
            line: idx + 1,
            message: format!("missing '=': {line}"),
        })?;
        let key = k.trim();
        if key.is_empty() {
            return Err(InfoError::Syntax {
                line: idx + 1,
                message: "empty key".to_string(),
            });
        }
        out.push((sec, key.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

/// pgBackRest's info-file checksum: the lowercase hex SHA-1 of
/// `{"section":{"key":value,...},"section2":{...}}` built from the entries in
/// file order, where each key is JSON-quoted, each value is the raw JSON text
/// from the file, and `[backrest] backrest-checksum` itself is left out.
/// (pgBackRest 2.x feeds exactly these bytes to its hash while loading, and
/// compares the result with the stored value.)
pub fn info_checksum(text: &str) -> Result<String, InfoError> {
    let entries = info_entries(text)?;
    Ok(checksum_of_entries(&entries))
}

fn checksum_of_entries(entries: &[(String, String, String)]) -> String {
    let mut hash = Sha1::new();
    hash.update(b"{");
    let mut last: Option<&str> = None;
    for (section, key, value) in entries {
        if section == "backrest" && key == "backrest-checksum" {
            continue;
        }
        if last != Some(section.as_str()) {
            if last.is_some() {
                hash.update(b"},");
            }
            hash.update(b"\"");
            hash.update(section.as_bytes());
            hash.update(b"\":{");
            last = Some(section.as_str());
        } else {
            hash.update(b",");
        }
        let quoted = serde_json::to_string(key).unwrap_or_else(|_| format!("\"{key}\""));
        hash.update(quoted.as_bytes());
        hash.update(b":");
        hash.update(value.as_bytes());
    }
    hash.update(b"}}");
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses an info file and recomputes its checksum.
pub fn parse_info(bytes: &[u8]) -> Result<InfoFile, InfoError> {
    let text = std::str::from_utf8(bytes).map_err(|_| InfoError::NotUtf8)?;
    let entries = info_entries(text)?;
    let checksum_actual = checksum_of_entries(&entries);
    let mut sections: BTreeMap<String, InfoSection> = BTreeMap::new();
    let mut checksum_expected = None;
    for (section, key, value) in entries {
        if section == "backrest" && key == "backrest-checksum" {
            checksum_expected = serde_json::from_str::<String>(&value).ok();
            continue;
        }
        sections.entry(section).or_default().push((key, value));
    }
    Ok(InfoFile {
        sections,
        checksum_expected,
        checksum_actual,
    })
}

/// Kind of backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupType {
    /// Full backup.
    Full,
    /// Differential: changes since the last full backup.
    Diff,
    /// Incremental: changes since the last backup of any type.
    Incr,
}

impl BackupType {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "full" => Some(Self::Full),
            "diff" => Some(Self::Diff),
            "incr" => Some(Self::Incr),
            _ => None,
        }
    }

    /// The spelling pgBackRest uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Diff => "diff",
            Self::Incr => "incr",
        }
    }
}

/// One backup from `[backup:current]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Backup {
    /// Label, e.g. `20240101-120000F_20240102-010000D`.
    pub label: String,
    /// Full, differential or incremental.
    pub backup_type: BackupType,
    /// Start time, Unix seconds.
    pub timestamp_start: i64,
    /// Stop time, Unix seconds.
    pub timestamp_stop: i64,
    /// Size of the database files covered by the backup (bytes).
    pub database_size: u64,
    /// Bytes of database files copied by this backup.
    pub database_size_delta: u64,
    /// Size in the repository of the whole backup set (compressed bytes).
    pub repo_size: u64,
    /// Repository bytes written by this backup.
    pub repo_size_delta: u64,
    /// First WAL segment needed for consistency.
    pub wal_start: Option<String>,
    /// Last WAL segment needed for consistency.
    pub wal_stop: Option<String>,
    /// LSN at backup start.
    pub lsn_start: Option<String>,
    /// LSN at backup stop.
    pub lsn_stop: Option<String>,
    /// The backup this one depends on (diff/incr), `None` for full.
    pub prior: Option<String>,
    /// All backups this one references.
    pub reference: Vec<String>,
    /// `db-id` of the cluster history entry.
    pub db_id: u32,
    /// Whether pgBackRest found page checksum errors.
    pub error: Option<bool>,
    /// pgBackRest version that took the backup.
    pub backrest_version: Option<String>,
}

/// The current database of the stanza (`[db]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StanzaDb {
    /// History id.
    pub id: u32,
    /// PostgreSQL system identifier.
    pub system_id: u64,
    /// PostgreSQL major version, e.g. `15`.
    pub version: String,
}

/// WAL archive range for one archive id (`<pg version>-<db id>`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArchiveRange {
    /// Archive id, e.g. `15-1`.
    pub archive_id: String,
    /// History id in `archive.info`.
    pub db_id: u32,
    /// PostgreSQL major version.
    pub version: String,
    /// Lowest archived WAL segment, if any.
    pub min: Option<String>,
    /// Highest archived WAL segment, if any.
    pub max: Option<String>,
    /// Number of archived WAL segments.
    pub segments: usize,
}

/// Overall state of a stanza.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StanzaStatus {
    /// Both info files load and verify.
    Ok,
    /// Neither `backup.info` nor `archive.info` exists (nor their copies):
    /// `stanza-create` has not run for this stanza in this repository.
    MissingStanza,
    /// An info file (and its copy) fails checksum verification.
    ChecksumMismatch {
        /// Repository path of the file.
        file: String,
        /// Checksum stored in the file.
        expected: Option<String>,
        /// Checksum computed from the content.
        actual: String,
    },
    /// An info file (and its copy) is missing or cannot be parsed.
    Unreadable {
        /// Repository path of the file.
        file: String,
        /// Why.
        reason: String,
    },
}

/// Everything known about one stanza.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StanzaReport {
    /// Stanza name.
    pub stanza: String,
    /// Overall status.
    pub status: StanzaStatus,
    /// Backups in label order (empty unless `backup.info` loaded).
    pub backups: Vec<Backup>,
    /// Archive ranges (empty unless `archive.info` loaded).
    pub archive: Vec<ArchiveRange>,
    /// The stanza's current database, from `backup.info`.
    pub db: Option<StanzaDb>,
    /// Non-fatal findings, e.g. a damaged main file that pgBackRest would
    /// silently replace from its `.copy`.
    pub warnings: Vec<String>,
}

enum Loaded {
    Good(InfoFile),
    Missing,
    Bad(StanzaStatus),
}

/// Loads `<path>` or, failing that, `<path>.copy`, the way pgBackRest does.
async fn load_info<S: RepoStorage>(
    storage: &S,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<Loaded, RepoError> {
    let mut first_problem: Option<StanzaStatus> = None;
    let mut any_present = false;
    for candidate in [path.to_string(), format!("{path}.copy")] {
        let Some(bytes) = storage.read(&candidate).await? else {
            debug!(file = %candidate, "info file not present");
            continue;
        };
        any_present = true;
        let problem = match parse_info(&bytes) {
            Ok(info) if info.checksum_ok() => {
                if let Some(p) = &first_problem {
                    warnings.push(format!(
                        "{path} is damaged ({}); using {candidate}, as pgBackRest would",
                        describe_status(p)
                    ));
                }
                return Ok(Loaded::Good(info));
            }
            Ok(info) => StanzaStatus::ChecksumMismatch {
                file: candidate.clone(),
                expected: info.checksum_expected.clone(),
                actual: info.checksum_actual.clone(),
            },
            Err(e) => StanzaStatus::Unreadable {
                file: candidate.clone(),
                reason: e.to_string(),
            },
        };
        warn!(file = %candidate, problem = %describe_status(&problem), "info file rejected");
        first_problem.get_or_insert(problem);
    }
    Ok(match (any_present, first_problem) {
        (false, _) => Loaded::Missing,
        (true, Some(p)) => Loaded::Bad(p),
        (true, None) => Loaded::Missing,
    })
}

fn describe_status(s: &StanzaStatus) -> String {
    match s {
        StanzaStatus::Ok => "ok".to_string(),
        StanzaStatus::MissingStanza => "missing stanza".to_string(),
        StanzaStatus::ChecksumMismatch {
            file,
            expected,
            actual,
        } => format!(
            "checksum mismatch in {file}: stored {}, computed {actual}",
            expected.as_deref().unwrap_or("(none)")
        ),
        StanzaStatus::Unreadable { file, reason } => format!("{file} unreadable: {reason}"),
    }
}

fn value_err(section: &str, key: &str, message: impl Into<String>) -> InfoError {
    InfoError::Value {
        section: section.to_string(),
        key: key.to_string(),
        message: message.into(),
    }
}

fn parse_backups(info: &InfoFile) -> Result<Vec<Backup>, InfoError> {
    const SEC: &str = "backup:current";
    let mut out = Vec::new();
    for (label, raw) in info.sections.get(SEC).map(Vec::as_slice).unwrap_or(&[]) {
        let v: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| value_err(SEC, label, e.to_string()))?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let u = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| value_err(SEC, label, format!("{k} missing or not a number")))
        };
        let i = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| value_err(SEC, label, format!("{k} missing or not a number")))
        };
        let type_str = s("backup-type").unwrap_or_default();
        let backup_type = BackupType::parse(&type_str)
            .ok_or_else(|| value_err(SEC, label, format!("unknown backup-type {type_str:?}")))?;
        out.push(Backup {
            label: label.clone(),
            backup_type,
            timestamp_start: i("backup-timestamp-start")?,
            timestamp_stop: i("backup-timestamp-stop")?,
            database_size: u("backup-info-size")?,
            database_size_delta: u("backup-info-size-delta")?,
            repo_size: u("backup-info-repo-size")?,
            repo_size_delta: u("backup-info-repo-size-delta")?,
            wal_start: s("backup-archive-start"),
            wal_stop: s("backup-archive-stop"),
            lsn_start: s("backup-lsn-start"),
            lsn_stop: s("backup-lsn-stop"),
            prior: s("backup-prior"),
            reference: v
                .get("backup-reference")
                .and_then(|r| r.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            db_id: u32::try_from(u("db-id")?)
                .map_err(|_| value_err(SEC, label, "db-id out of range"))?,
            error: v.get("backup-error").and_then(serde_json::Value::as_bool),
            backrest_version: s("backrest-version"),
        });
    }
    Ok(out)
}

fn parse_db(info: &InfoFile) -> Result<StanzaDb, InfoError> {
    let id = info
        .json("db", "db-id")
        .and_then(|v| v.as_u64())
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| value_err("db", "db-id", "missing or not a number"))?;
    let system_id = info
        .json("db", "db-system-id")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| value_err("db", "db-system-id", "missing or not a number"))?;
    let version = info
        .json("db", "db-version")
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| value_err("db", "db-version", "missing or not a string"))?;
    Ok(StanzaDb {
        id,
        system_id,
        version,
    })
}

/// `(db id, version)` for each `[db:history]` entry of `archive.info`.
fn archive_history(info: &InfoFile) -> Result<Vec<(u32, String)>, InfoError> {
    const SEC: &str = "db:history";
    let mut out = Vec::new();
    for (id, raw) in info.sections.get(SEC).map(Vec::as_slice).unwrap_or(&[]) {
        let db_id: u32 = id
            .parse()
            .map_err(|_| value_err(SEC, id, "history key is not a number"))?;
        let v: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| value_err(SEC, id, e.to_string()))?;
        let version = v
            .get("db-version")
            .and_then(|x| x.as_str())
            .ok_or_else(|| value_err(SEC, id, "db-version missing"))?;
        out.push((db_id, version.to_string()));
    }
    Ok(out)
}

/// True for archived WAL segment files: 24 hex digits, `-`, 40 hex digits
/// (the SHA-1 pgBackRest appends), optionally a compression extension.
/// Backup history (`.backup`), timeline history and `.partial` files are not
/// segments.
pub fn is_wal_segment_file(name: &str) -> bool {
    let b = name.as_bytes();
    if b.len() < 65 || b[24] != b'-' {
        return false;
    }
    let seg_ok = b[..24]
        .iter()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase());
    let sha_ok = b[25..65].iter().all(u8::is_ascii_hexdigit);
    let rest = &name[65..];
    seg_ok && sha_ok && (rest.is_empty() || (rest.starts_with('.') && !rest.contains("partial")))
}

/// Reads a stanza's info files and archive listing.
///
/// Returns `Err` only when the repository cannot be reached or listed
/// (authentication, missing bucket, network, I/O); everything about the
/// files' content is reported in [`StanzaReport::status`].
pub async fn read_stanza<S: RepoStorage>(
    storage: &S,
    stanza: &str,
) -> Result<StanzaReport, RepoError> {
    let mut report = StanzaReport {
        stanza: stanza.to_string(),
        status: StanzaStatus::Ok,
        backups: Vec::new(),
        archive: Vec::new(),
        db: None,
        warnings: Vec::new(),
    };
    let backup_path = format!("backup/{stanza}/backup.info");
    let archive_path = format!("archive/{stanza}/archive.info");
    let backup = load_info(storage, &backup_path, &mut report.warnings).await?;
    let archive = load_info(storage, &archive_path, &mut report.warnings).await?;
    debug!(stanza, location = %storage.describe(), "read stanza info files");

    let (backup, archive) = match (backup, archive) {
        (Loaded::Missing, Loaded::Missing) => {
            report.status = StanzaStatus::MissingStanza;
            return Ok(report);
        }
        (Loaded::Bad(status), _) | (_, Loaded::Bad(status)) => {
            report.status = status;
            return Ok(report);
        }
        (Loaded::Missing, _) => {
            report.status = StanzaStatus::Unreadable {
                file: backup_path,
                reason:
                    "missing (and no .copy) although archive.info exists; the stanza is incomplete"
                        .to_string(),
            };
            return Ok(report);
        }
        (_, Loaded::Missing) => {
            report.status = StanzaStatus::Unreadable {
                file: archive_path,
                reason:
                    "missing (and no .copy) although backup.info exists; the stanza is incomplete"
                        .to_string(),
            };
            return Ok(report);
        }
        (Loaded::Good(b), Loaded::Good(a)) => (b, a),
    };

    match parse_backups(&backup).and_then(|list| Ok((list, parse_db(&backup)?))) {
        Ok((backups, db)) => {
            report.backups = backups;
            report.db = Some(db);
        }
        Err(e) => {
            report.status = StanzaStatus::Unreadable {
                file: backup_path,
                reason: e.to_string(),
            };
            return Ok(report);
        }
    }
    let history = match archive_history(&archive) {
        Ok(h) => h,
        Err(e) => {
            report.status = StanzaStatus::Unreadable {
                file: archive_path,
                reason: e.to_string(),
            };
            return Ok(report);
        }
    };
    for (db_id, version) in history {
        let archive_id = format!("{version}-{db_id}");
        let files = storage
            .list(&format!("archive/{stanza}/{archive_id}"))
            .await?;
        let mut segments: Vec<String> = files
            .iter()
            .filter_map(|p| p.rsplit('/').next())
            .filter(|n| is_wal_segment_file(n))
            .map(|n| n[..24].to_string())
            .collect();
        segments.sort();
        segments.dedup();
        report.archive.push(ArchiveRange {
            archive_id,
            db_id,
            version,
            min: segments.first().cloned(),
            max: segments.last().cloned(),
            segments: segments.len(),
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_segment_names() {
        assert!(is_wal_segment_file(
            "000000010000000000000001-0dff66f2d29fa932300e24de65b6a2e6464429fd.gz"
        ));
        assert!(is_wal_segment_file(
            "000000010000000000000001-0dff66f2d29fa932300e24de65b6a2e6464429fd"
        ));
        assert!(!is_wal_segment_file(
            "000000010000000000000002.00000028.backup"
        ));
        assert!(!is_wal_segment_file("00000002.history"));
        assert!(!is_wal_segment_file(
            "000000010000000000000001-0dff66f2d29fa932300e24de65b6a2e6464429fd.partial.gz"
        ));
    }

    #[test]
    fn info_parse_rejects_garbage_lines() {
        assert!(matches!(
            parse_info(b"[backrest]\nnot a pair\n"),
            Err(InfoError::Syntax { line: 2, .. })
        ));
        assert!(matches!(
            parse_info(b"key=1\n"),
            Err(InfoError::Syntax { line: 1, .. })
        ));
    }
}

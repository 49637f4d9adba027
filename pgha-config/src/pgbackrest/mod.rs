//! pgBackRest: the stanza and its repository ([`Stanza`], [`Repository`]), the renderer of its
//! configuration, scripts and schedule ([`render`]) and validation ([`validate`]).

pub mod render;
pub mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::defaults;

/// An S3-compatible repository; by default OCI Object Storage's S3 compatibility endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Repository {
    /// Bucket name.
    pub bucket: String,
    /// Region (`us-ashburn-1`); also used to derive the OCI endpoint.
    pub region: String,
    /// OCI Object Storage namespace of the tenancy; with `region` it gives the endpoint
    /// `<namespace>.compat.objectstorage.<region>.oraclecloud.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Endpoint host, overriding the one derived from `namespace` (a bare host, no scheme).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Endpoint port, when not 443.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Repository path inside the bucket.
    #[serde(default = "repo_path")]
    pub path: String,
    /// Verify the endpoint's TLS certificate. Turning this off is for tests only.
    #[serde(default = "yes")]
    pub verify_tls: bool,
    /// CA bundle to verify the endpoint with, when it is not in the system store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

impl S3Repository {
    /// The endpoint host: the override, or OCI's S3-compatible endpoint for namespace and region.
    /// `None` when neither is given.
    pub fn endpoint_host(&self) -> Option<String> {
        match (&self.endpoint, &self.namespace) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(ns)) => Some(defaults::oci_s3_endpoint(ns, &self.region)),
            (None, None) => None,
        }
    }
}

/// A repository on a file system (tests, NFS, on-host use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PosixRepository {
    /// Absolute path of the repository.
    pub path: String,
}

/// Where backups and archived WAL go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Repository {
    /// S3-compatible object storage.
    S3(S3Repository),
    /// A directory.
    Posix(PosixRepository),
}

/// How scheduled jobs are installed on the host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    /// A file in /etc/cron.d.
    #[default]
    Cron,
    /// systemd service + timer units.
    SystemdTimer,
}

/// Backup schedule, in cron syntax (five fields). Jobs run on every database host and do nothing
/// unless the host is the primary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Full backups.
    #[serde(default = "full_schedule")]
    pub full: String,
    /// Differential backups; none when absent.
    #[serde(default = "diff_schedule", skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Incremental backups; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incr: Option<String>,
    /// How the jobs are installed.
    #[serde(default)]
    pub kind: ScheduleKind,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            full: full_schedule(),
            diff: diff_schedule(),
            incr: None,
            kind: ScheduleKind::Cron,
        }
    }
}

/// The pgBackRest stanza of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stanza {
    /// Stanza name; the cluster name when absent. Written once, used in every file and command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The repository.
    pub repository: Repository,
    /// Full backups to keep (`repo1-retention-full`).
    #[serde(default = "retention_full")]
    pub retention_full: u32,
    /// Differential backups to keep (`repo1-retention-diff`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_diff: Option<u32>,
    /// Parallel processes for backup and restore (`process-max`).
    #[serde(default = "process_max")]
    pub process_max: u32,
    /// Repository encryption (`repo1-cipher-type`), e.g. `aes-256-cbc`; the pass phrase is the
    /// `repo_cipher_pass` secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_type: Option<String>,
    /// Push WAL asynchronously through a spool directory.
    #[serde(default)]
    pub archive_async: bool,
    /// Backup schedule.
    #[serde(default)]
    pub schedule: Schedule,
    /// Extra `[global]` options, written as given (`compress-type = zst`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl Stanza {
    /// The stanza name, falling back to the cluster name.
    pub fn name_or<'a>(&'a self, cluster_name: &'a str) -> &'a str {
        self.name.as_deref().unwrap_or(cluster_name)
    }
}

fn yes() -> bool {
    true
}
fn repo_path() -> String {
    defaults::REPO_PATH.to_string()
}
fn retention_full() -> u32 {
    defaults::RETENTION_FULL
}
fn process_max() -> u32 {
    defaults::PROCESS_MAX
}
fn full_schedule() -> String {
    defaults::FULL_SCHEDULE.to_string()
}
fn diff_schedule() -> Option<String> {
    Some(defaults::DIFF_SCHEDULE.to_string())
}

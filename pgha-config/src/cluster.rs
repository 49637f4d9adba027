//! The whole cluster: the one model both the CLI and the Terraform provider fill in.

use serde::{Deserialize, Serialize};

use crate::defaults;
use crate::etcd::Etcd;
use crate::patroni::{Patroni, PatroniNode};
use crate::pgbackrest::Stanza;
use crate::platform::{Layout, Platform};
use crate::secret::Secrets;

/// Deletion of old PostgreSQL server logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogCleanup {
    /// Delete log files older than this many days; 0 turns the clean-up off.
    #[serde(default = "log_days")]
    pub retention_days: u32,
    /// When to run it (cron syntax, five fields).
    #[serde(default = "log_schedule")]
    pub schedule: String,
}

impl Default for LogCleanup {
    fn default() -> Self {
        LogCleanup {
            retention_days: log_days(),
            schedule: log_schedule(),
        }
    }
}

fn log_days() -> u32 {
    defaults::LOG_RETENTION_DAYS
}
fn log_schedule() -> String {
    defaults::LOG_CLEANUP_SCHEDULE.to_string()
}
fn namespace() -> String {
    defaults::NAMESPACE.to_string()
}
fn postgres_version() -> u32 {
    defaults::POSTGRES_VERSION
}

/// A highly available PostgreSQL cluster: etcd members, Patroni nodes, one pgBackRest stanza.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Cluster name: Patroni's `scope`, and the default stanza name.
    pub name: String,
    /// DCS namespace (Patroni's `namespace`), a key prefix in etcd such as `/service/`.
    #[serde(default = "namespace")]
    pub namespace: String,
    /// PostgreSQL major version.
    #[serde(default = "postgres_version")]
    pub postgres_version: u32,
    /// Host layout.
    #[serde(default)]
    pub platform: Platform,
    /// The etcd cluster.
    pub etcd: Etcd,
    /// Cluster-wide Patroni and PostgreSQL settings.
    #[serde(default)]
    pub patroni: Patroni,
    /// Database hosts.
    pub nodes: Vec<PatroniNode>,
    /// The backup stanza and repository.
    pub pgbackrest: Stanza,
    /// Passwords and keys.
    pub secrets: Secrets,
    /// PostgreSQL log clean-up.
    #[serde(default)]
    pub log_cleanup: LogCleanup,
}

/// Why a cluster specification could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Not valid YAML, or not the shape of a cluster specification.
    #[error("{location}{message}")]
    Parse {
        /// `line:column: ` when known.
        location: String,
        /// What the parser said.
        message: String,
    },
}

impl SpecError {
    /// 1-based line and column of the problem, when the parser knows it.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        match self {
            SpecError::Parse { location, .. } => {
                let mut parts = location.trim_end_matches(": ").split(':');
                let line = parts.next()?.parse().ok()?;
                let column = parts.next()?.parse().ok()?;
                Some((line, column))
            }
        }
    }
}

impl Cluster {
    /// Reads a cluster specification from its YAML form. Unknown keys are errors, so a typo never
    /// silently falls back to a default.
    pub fn from_yaml(text: &str) -> Result<Cluster, SpecError> {
        serde_norway::from_str(text).map_err(|e| {
            let location = e
                .location()
                .map(|l| format!("{}:{}: ", l.line(), l.column()))
                .unwrap_or_default();
            // serde_norway appends " at line L column C"; the location is reported separately.
            let message = e.to_string();
            let message = match message.find(" at line ") {
                Some(i) if !location.is_empty() => message[..i].to_string(),
                _ => message,
            };
            SpecError::Parse { location, message }
        })
    }

    /// The YAML form of this cluster (defaults included), for `pgha` and tests.
    pub fn to_yaml(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_norway::to_string(self).unwrap_or_default()
    }

    /// The resolved host layout.
    pub fn layout(&self) -> Layout {
        self.platform.layout(self.postgres_version)
    }

    /// The stanza name used in every file and command.
    pub fn stanza_name(&self) -> &str {
        self.pgbackrest.name_or(&self.name)
    }
}

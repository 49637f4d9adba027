//! Platforms: where binaries, data and configuration live on a host, and which packages provide
//! them.
//!
//! A [`Platform`] is a preset plus overrides; [`Platform::layout`] resolves it into the concrete
//! [`Layout`] the renderers use. An optional `root` prefixes every path the cluster writes to
//! (data, configuration, logs, run-time files) but not the installed binaries, so several "hosts"
//! can share one machine in tests.

use serde::{Deserialize, Serialize};

/// A known operating-system layout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlatformPreset {
    /// Oracle Linux 8 with the PGDG repository (OCI's Oracle Linux 8 images).
    OracleLinux8,
    /// Oracle Linux 9 with the PGDG repository (OCI's default Oracle Linux images).
    #[default]
    OracleLinux9,
    /// Debian or Ubuntu with the distribution's (or apt.postgresql.org's) packages.
    Debian,
    /// The tutorial's layout: PostgreSQL built into `/opt/pgsql`, Patroni from pip, etcd from the
    /// release tarball in `/usr/local/bin`.
    Tutorial,
}

/// Path overrides: any path left out comes from the preset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathOverrides {
    /// Directory with `postgres`, `pg_ctl`, `initdb`, `pg_rewind`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_bin_dir: Option<String>,
    /// PostgreSQL data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_data_dir: Option<String>,
    /// Separate WAL directory (a WAL block volume), passed to initdb as `--waldir`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_wal_dir: Option<String>,
    /// PostgreSQL server log directory (`log_directory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_log_dir: Option<String>,
    /// Unix socket directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_socket_dir: Option<String>,
    /// Patroni's configuration directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patroni_config_dir: Option<String>,
    /// Directory with the `patroni` and `patronictl` executables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patroni_bin_dir: Option<String>,
    /// The `pgbackrest` executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgbackrest_bin: Option<String>,
    /// The `etcd` executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_bin: Option<String>,
    /// etcd data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_data_dir: Option<String>,
}

/// The platform of every host in the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    /// The layout to start from.
    #[serde(default)]
    pub preset: PlatformPreset,
    /// Prefix for every path the cluster writes (not for installed binaries). Empty on real hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Per-path overrides.
    #[serde(default, skip_serializing_if = "is_default")]
    pub paths: PathOverrides,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Every concrete path and name a renderer needs for one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layout {
    /// PostgreSQL binaries.
    pub pg_bin_dir: String,
    /// PostgreSQL data directory.
    pub pg_data_dir: String,
    /// Separate WAL directory, if any.
    pub pg_wal_dir: Option<String>,
    /// PostgreSQL server logs.
    pub pg_log_dir: String,
    /// Unix socket directory.
    pub pg_socket_dir: String,
    /// Patroni configuration directory (`patroni.yml`, the bootstrap scripts).
    pub patroni_config_dir: String,
    /// The `patroni` executable.
    pub patroni_bin: String,
    /// The `patronictl` executable.
    pub patronictl_bin: String,
    /// The `pgbackrest` executable.
    pub pgbackrest_bin: String,
    /// pgBackRest's configuration file.
    pub pgbackrest_config: String,
    /// pgBackRest's log directory.
    pub pgbackrest_log_dir: String,
    /// pgBackRest's spool directory (asynchronous archiving).
    pub pgbackrest_spool_dir: String,
    /// pgBackRest's lock directory; must differ between "hosts" sharing a machine.
    pub pgbackrest_lock_dir: String,
    /// Our own helper scripts (backup job, log clean-up, secret resolution).
    pub script_dir: String,
    /// Our own state and the resolved-secrets environment file.
    pub pgha_dir: String,
    /// The `etcd` executable.
    pub etcd_bin: String,
    /// The etcd environment file.
    pub etcd_config: String,
    /// etcd data directory.
    pub etcd_data_dir: String,
    /// systemd unit directory.
    pub systemd_dir: String,
    /// cron.d directory.
    pub cron_dir: String,
    /// The operating-system user that runs PostgreSQL and Patroni.
    pub postgres_user: String,
    /// The operating-system user that runs etcd.
    pub etcd_user: String,
    /// Packages a database host needs.
    pub db_packages: Vec<String>,
    /// Packages an etcd host needs.
    pub etcd_packages: Vec<String>,
}

impl Platform {
    /// Resolves the preset, the overrides and the root prefix for a PostgreSQL major version.
    pub fn layout(&self, pg_version: u32) -> Layout {
        let v = pg_version;
        let (pg_bin, pg_data, pg_log, pg_socket, patroni_bin_dir, etcd_bin, db_pkgs, etcd_pkgs) =
            match self.preset {
                PlatformPreset::OracleLinux8 | PlatformPreset::OracleLinux9 => (
                    format!("/usr/pgsql-{v}/bin"),
                    format!("/var/lib/pgsql/{v}/data"),
                    "/var/log/postgresql".to_string(),
                    "/run/postgresql".to_string(),
                    "/usr/bin".to_string(),
                    "/usr/local/bin/etcd".to_string(),
                    vec![
                        format!("postgresql{v}-server"),
                        format!("postgresql{v}-contrib"),
                        "patroni".to_string(),
                        "patroni-etcd".to_string(),
                        "pgbackrest".to_string(),
                    ],
                    Vec::new(),
                ),
                PlatformPreset::Debian => (
                    format!("/usr/lib/postgresql/{v}/bin"),
                    format!("/var/lib/postgresql/{v}/main"),
                    "/var/log/postgresql".to_string(),
                    "/var/run/postgresql".to_string(),
                    "/usr/bin".to_string(),
                    "/usr/bin/etcd".to_string(),
                    vec![
                        format!("postgresql-{v}"),
                        "patroni".to_string(),
                        "python3-etcd3".to_string(),
                        "pgbackrest".to_string(),
                    ],
                    vec!["etcd-server".to_string(), "etcd-client".to_string()],
                ),
                PlatformPreset::Tutorial => (
                    "/opt/pgsql/bin".to_string(),
                    "/opt/pgsql/data".to_string(),
                    "/opt/pgsql/log".to_string(),
                    "/var/run/postgresql".to_string(),
                    "/usr/local/bin".to_string(),
                    "/usr/local/bin/etcd".to_string(),
                    vec!["pgbackrest".to_string()],
                    Vec::new(),
                ),
            };
        let o = &self.paths;
        let root = self.root.as_deref().unwrap_or("").trim_end_matches('/');
        let state = |p: String| -> String { format!("{root}{p}") };
        let patroni_bin_dir = o.patroni_bin_dir.clone().unwrap_or(patroni_bin_dir);
        Layout {
            pg_bin_dir: o.pg_bin_dir.clone().unwrap_or(pg_bin),
            pg_data_dir: state(o.pg_data_dir.clone().unwrap_or(pg_data)),
            pg_wal_dir: o.pg_wal_dir.clone().map(state),
            pg_log_dir: state(o.pg_log_dir.clone().unwrap_or(pg_log)),
            pg_socket_dir: state(o.pg_socket_dir.clone().unwrap_or(pg_socket)),
            patroni_config_dir: state(
                o.patroni_config_dir
                    .clone()
                    .unwrap_or_else(|| "/etc/patroni".to_string()),
            ),
            patroni_bin: format!("{patroni_bin_dir}/patroni"),
            patronictl_bin: format!("{patroni_bin_dir}/patronictl"),
            pgbackrest_bin: o
                .pgbackrest_bin
                .clone()
                .unwrap_or_else(|| "/usr/bin/pgbackrest".to_string()),
            pgbackrest_config: state("/etc/pgbackrest/pgbackrest.conf".to_string()),
            pgbackrest_log_dir: state("/var/log/pgbackrest".to_string()),
            pgbackrest_spool_dir: state("/var/spool/pgbackrest".to_string()),
            pgbackrest_lock_dir: state("/tmp/pgbackrest".to_string()),
            script_dir: state("/usr/local/libexec/pgha".to_string()),
            pgha_dir: state("/etc/pgha".to_string()),
            etcd_bin: o.etcd_bin.clone().unwrap_or(etcd_bin),
            etcd_config: state("/etc/etcd/etcd.conf".to_string()),
            etcd_data_dir: state(
                o.etcd_data_dir
                    .clone()
                    .unwrap_or_else(|| "/var/lib/etcd".to_string()),
            ),
            systemd_dir: state("/etc/systemd/system".to_string()),
            cron_dir: state("/etc/cron.d".to_string()),
            postgres_user: "postgres".to_string(),
            etcd_user: "etcd".to_string(),
            db_packages: db_pkgs,
            etcd_packages: etcd_pkgs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_resolve_versioned_paths() {
        let ol = Platform::default().layout(16);
        assert_eq!(ol.pg_bin_dir, "/usr/pgsql-16/bin");
        assert_eq!(ol.pg_data_dir, "/var/lib/pgsql/16/data");
        let deb = Platform {
            preset: PlatformPreset::Debian,
            ..Platform::default()
        }
        .layout(15);
        assert_eq!(deb.pg_bin_dir, "/usr/lib/postgresql/15/bin");
        assert_eq!(deb.etcd_bin, "/usr/bin/etcd");
    }

    #[test]
    fn root_prefixes_state_but_not_binaries() {
        let p = Platform {
            preset: PlatformPreset::Debian,
            root: Some("/tmp/hosts/db1/".to_string()),
            paths: PathOverrides {
                patroni_bin_dir: Some("/opt/pgha/venv/bin".to_string()),
                ..PathOverrides::default()
            },
        };
        let l = p.layout(15);
        assert_eq!(l.pg_data_dir, "/tmp/hosts/db1/var/lib/postgresql/15/main");
        assert_eq!(l.pgbackrest_lock_dir, "/tmp/hosts/db1/tmp/pgbackrest");
        assert_eq!(l.pg_bin_dir, "/usr/lib/postgresql/15/bin");
        assert_eq!(l.patroni_bin, "/opt/pgha/venv/bin/patroni");
    }
}

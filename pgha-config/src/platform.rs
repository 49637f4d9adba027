//! Platforms: where binaries, data and configuration live on a host, and which packages provide
//! them.
//!
//! A [`Platform`] is a preset plus overrides; [`Platform::layout`] resolves it into the concrete
//! [`Layout`] the renderers use. An optional `root` prefixes every path the cluster writes to
//! (data, configuration, logs, run-time files) but not the installed binaries, so several "hosts"
//! can share one machine in tests.

use serde::{Deserialize, Serialize};

/// A known operating-system layout.
///
/// The Oracle Linux presets are written `oracle-linux9`/`oracle-linux8`; `oracle-linux-9` and
/// `oracle-linux-8` are accepted as well (the documentation used both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlatformPreset {
    /// Oracle Linux 8 with the PGDG repository (OCI's Oracle Linux 8 images).
    #[serde(alias = "oracle-linux-8")]
    OracleLinux8,
    /// Oracle Linux 9 with the PGDG repository (OCI's default Oracle Linux images).
    #[default]
    #[serde(alias = "oracle-linux-9")]
    OracleLinux9,
    /// Debian 12 (bookworm) with Debian's own packages: PostgreSQL 15, Patroni 3.0, etcd 3.4,
    /// pgBackRest 2.45.
    Debian,
    /// Ubuntu 24.04 (noble, OCI's Canonical Ubuntu images) with Ubuntu's packages: PostgreSQL 16,
    /// Patroni 3.2, etcd 3.4, pgBackRest 2.50; the image's iptables firewall.
    #[serde(rename = "ubuntu-24.04")]
    Ubuntu2404,
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
    /// A host with a root shares its machine with others (the test stand-in): nothing is
    /// installed, no firewall is changed and no volume is mounted for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Per-path overrides.
    #[serde(default, skip_serializing_if = "is_default")]
    pub paths: PathOverrides,
    /// The host firewall to open the cluster's ports in; the preset's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<FirewallKind>,
    /// Block volumes of the database hosts (the same devices on every node).
    #[serde(default, skip_serializing_if = "is_default")]
    pub volumes: crate::volumes::Volumes,
    /// PostgreSQL extensions installed on and preloaded by every database node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<crate::extensions::Extension>,
    /// Where a database host reads its bundle (the instance metadata value that carries the
    /// files that may change while it runs). OCI's instance metadata service when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_url: Option<String>,
    /// How often, in seconds, a database host checks its bundle; 60 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_interval_seconds: Option<u32>,
}

/// The host firewall the image runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirewallKind {
    /// firewalld (OCI's Oracle Linux images: only SSH open).
    Firewalld,
    /// iptables rules persisted in `/etc/iptables/rules.v4` (OCI's Ubuntu images: REJECT after
    /// SSH); ACCEPT rules are inserted before the REJECTs and saved.
    Iptables,
    /// No host firewall: nothing is opened.
    None,
}

impl PlatformPreset {
    /// Whether the preset is an Enterprise Linux (dnf, PGDG RPMs, firewalld).
    pub fn is_el(self) -> bool {
        matches!(
            self,
            PlatformPreset::OracleLinux8 | PlatformPreset::OracleLinux9
        )
    }

    /// The Enterprise Linux major version (8 or 9), if the preset is one.
    pub fn el_major(self) -> Option<u32> {
        match self {
            PlatformPreset::OracleLinux8 => Some(8),
            PlatformPreset::OracleLinux9 => Some(9),
            _ => None,
        }
    }

    /// Whether the preset installs from Debian-style (apt) distribution packages.
    pub fn is_apt(self) -> bool {
        matches!(self, PlatformPreset::Debian | PlatformPreset::Ubuntu2404)
    }

    /// The firewall the preset's image runs.
    pub fn firewall(self) -> FirewallKind {
        match self {
            PlatformPreset::OracleLinux8 | PlatformPreset::OracleLinux9 => FirewallKind::Firewalld,
            PlatformPreset::Ubuntu2404 => FirewallKind::Iptables,
            PlatformPreset::Debian | PlatformPreset::Tutorial => FirewallKind::None,
        }
    }

    /// The preset's name as written in a specification.
    pub fn name(self) -> &'static str {
        match self {
            PlatformPreset::OracleLinux8 => "oracle-linux8",
            PlatformPreset::OracleLinux9 => "oracle-linux9",
            PlatformPreset::Debian => "debian",
            PlatformPreset::Ubuntu2404 => "ubuntu-24.04",
            PlatformPreset::Tutorial => "tutorial",
        }
    }
}

impl Platform {
    /// Whether hosts of this platform are real machines that cloud-init provisions (no `root`):
    /// packages installed, firewall opened, volumes formatted and mounted.
    pub fn provisions(&self) -> bool {
        self.root
            .as_deref()
            .is_none_or(|r| r.trim_end_matches('/').is_empty())
    }

    /// The firewall in effect: the override, else the preset's.
    pub fn firewall_kind(&self) -> FirewallKind {
        self.firewall.unwrap_or(self.preset.firewall())
    }
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
    /// Where pgha keeps state on the host (`/var/lib/pgha`).
    pub state_dir: String,
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
    /// The `oci` command-line interface the secret resolver calls for OCI Vault references.
    pub oci_cli: String,
    /// The directory of the temporary tablespace (on the temp volume), if there is one.
    pub temp_tablespace_dir: Option<String>,
    /// Mount points the database units need (`RequiresMountsFor=`), one per volume.
    pub db_mounts: Vec<String>,
}

impl Platform {
    /// Resolves the preset, the overrides, the volumes and the root prefix for a PostgreSQL
    /// major version.
    ///
    /// A volume moves its part of the layout onto its mount point unless the path is overridden
    /// (validation checks that an overridden path still lies on its volume): the data directory
    /// to `<data>/data`, the WAL directory to `<wal>/pg_wal`, the server logs to `<log>/log`, the
    /// temporary tablespace to `<temp>/tablespace`. A subdirectory, never the mount point itself:
    /// PostgreSQL refuses a non-empty directory for initdb and tablespaces, and a fresh file
    /// system has `lost+found`.
    pub fn layout(&self, pg_version: u32) -> Layout {
        use crate::volumes::VolumeRole;
        let v = pg_version;
        let (pg_bin, pg_data, pg_log, pg_socket, patroni_bin_dir, etcd_bin, oci_cli) =
            match self.preset {
                PlatformPreset::OracleLinux8 | PlatformPreset::OracleLinux9 => (
                    format!("/usr/pgsql-{v}/bin"),
                    format!("/var/lib/pgsql/{v}/data"),
                    "/var/log/postgresql".to_string(),
                    "/run/postgresql".to_string(),
                    "/usr/bin".to_string(),
                    // PGDG's etcd package (pgdg-rhel<N>-extras).
                    "/usr/bin/etcd".to_string(),
                    // Oracle Linux's python3<N>-oci-cli package (ol<N>_developer).
                    "/usr/bin/oci".to_string(),
                ),
                PlatformPreset::Debian | PlatformPreset::Ubuntu2404 => (
                    format!("/usr/lib/postgresql/{v}/bin"),
                    format!("/var/lib/postgresql/{v}/main"),
                    "/var/log/postgresql".to_string(),
                    "/var/run/postgresql".to_string(),
                    "/usr/bin".to_string(),
                    "/usr/bin/etcd".to_string(),
                    // Not packaged by Debian or Ubuntu: pip-installed into a venv at first boot.
                    format!("{}/bin/oci", crate::packages::DEBIAN_OCI_CLI_VENV),
                ),
                PlatformPreset::Tutorial => (
                    "/opt/pgsql/bin".to_string(),
                    "/opt/pgsql/data".to_string(),
                    "/opt/pgsql/log".to_string(),
                    "/var/run/postgresql".to_string(),
                    "/usr/local/bin".to_string(),
                    "/usr/local/bin/etcd".to_string(),
                    // Installed by hand, found on PATH.
                    "oci".to_string(),
                ),
            };
        let o = &self.paths;
        let vols = &self.volumes;
        let on = |role: VolumeRole, sub: &str| -> Option<String> {
            vols.get(role)
                .map(|vol| format!("{}/{sub}", vol.mount_point(role).trim_end_matches('/')))
        };
        let pg_data = on(VolumeRole::Data, "data").unwrap_or(pg_data);
        let pg_log = on(VolumeRole::Log, "log").unwrap_or(pg_log);
        let pg_wal = o
            .pg_wal_dir
            .clone()
            .or_else(|| on(VolumeRole::Wal, "pg_wal"));
        let root = self.root.as_deref().unwrap_or("").trim_end_matches('/');
        let state = |p: String| -> String { format!("{root}{p}") };
        let patroni_bin_dir = o.patroni_bin_dir.clone().unwrap_or(patroni_bin_dir);
        let db_mounts = if self.provisions() {
            vols.iter()
                .map(|(role, vol)| vol.mount_point(role).to_string())
                .collect()
        } else {
            Vec::new()
        };
        Layout {
            pg_bin_dir: o.pg_bin_dir.clone().unwrap_or(pg_bin),
            pg_data_dir: state(o.pg_data_dir.clone().unwrap_or(pg_data)),
            pg_wal_dir: pg_wal.map(state),
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
            state_dir: state("/var/lib/pgha".to_string()),
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
            oci_cli,
            temp_tablespace_dir: on(VolumeRole::Temp, "tablespace").map(state),
            db_mounts,
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
        assert_eq!(ol.etcd_bin, "/usr/bin/etcd");
    }

    #[test]
    fn both_spellings_of_the_oracle_linux_presets_are_accepted() {
        for (text, preset) in [
            ("oracle-linux9", PlatformPreset::OracleLinux9),
            ("oracle-linux-9", PlatformPreset::OracleLinux9),
            ("oracle-linux8", PlatformPreset::OracleLinux8),
            ("oracle-linux-8", PlatformPreset::OracleLinux8),
        ] {
            let p: Platform = serde_norway::from_str(&format!("preset: {text}\n")).unwrap();
            assert_eq!(p.preset, preset, "{text}");
            // The provider reads presets through serde_json.
            let j: PlatformPreset = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(j, preset, "{text}");
            assert_eq!(preset.name(), serde_json::to_value(preset).unwrap());
        }
    }

    #[test]
    fn volumes_move_the_layout_onto_their_mount_points() {
        let p: Platform = serde_norway::from_str(
            "preset: oracle-linux9\nvolumes:\n  data: { device: /dev/oracleoci/oraclevdb }\n  \
             wal: { device: /dev/oracleoci/oraclevdc }\n  log: { device: /dev/oracleoci/oraclevdd, mount_point: /logs }\n  \
             temp: { device: /dev/oracleoci/oraclevde }\n",
        )
        .unwrap();
        let l = p.layout(17);
        assert_eq!(l.pg_data_dir, "/pgdata/data");
        assert_eq!(l.pg_wal_dir.as_deref(), Some("/pgwal/pg_wal"));
        assert_eq!(l.pg_log_dir, "/logs/log");
        assert_eq!(l.temp_tablespace_dir.as_deref(), Some("/pgtemp/tablespace"));
        assert_eq!(l.db_mounts, ["/pgdata", "/pgwal", "/logs", "/pgtemp"]);
        // A test host with a root mounts nothing.
        let rooted = Platform {
            root: Some("/tmp/h1".to_string()),
            ..p
        };
        assert!(rooted.layout(17).db_mounts.is_empty());
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
            ..Platform::default()
        };
        let l = p.layout(15);
        assert_eq!(l.pg_data_dir, "/tmp/hosts/db1/var/lib/postgresql/15/main");
        assert_eq!(l.pgbackrest_lock_dir, "/tmp/hosts/db1/tmp/pgbackrest");
        assert_eq!(l.pg_bin_dir, "/usr/lib/postgresql/15/bin");
        assert_eq!(l.patroni_bin, "/opt/pgha/venv/bin/patroni");
    }
}

//! What each platform installs, from where, in which order: the package repositories to set up
//! before cloud-init's `packages` module runs, the packages of each role, files that must be in
//! place before a package is installed, and what has to happen right after.
//!
//! - **Oracle Linux 9 / 8** (OCI's images): Oracle's EPEL (`oracle-epel-release-el<N>`, Python
//!   dependencies of Patroni), the PGDG repository RPM (`pgdg-redhat-repo`, for
//!   `postgresql<V>-server`, `patroni`, `patroni-etcd`, `pgbackrest`) and its `extras` repository
//!   (`pgdg-rhel<N>-extras`, which carries `etcd`). On EL8 the distribution's `postgresql` module
//!   is disabled first, or dnf's module filtering hides PGDG's packages. With OCI Vault
//!   references, Oracle's developer repository and its `python3<x>-oci-cli`. Each step runs once
//!   (`cloud-init-per once`) from `bootcmd`, i.e. before `packages`.
//! - **Debian 12** (`debian`): Debian's own packages: `postgresql-15` (bookworm has no other
//!   major), `patroni` (3.0.2; its etcd3 support uses `python3-etcd`), `pgbackrest`,
//!   `etcd-server` and `etcd-client` (3.4). postgresql-common would create and start a `main`
//!   cluster on installation, in the very directory Patroni bootstraps; a `createcluster.conf`
//!   written before the packages stops that. The OCI CLI is not packaged: with OCI Vault
//!   references it is pip-installed into a venv.
//! - **Ubuntu 24.04** (`ubuntu-24.04`, OCI's Canonical images): the same from Ubuntu's archive
//!   (`postgresql-16`, Patroni 3.2.2, etcd 3.4, pgBackRest 2.50).
//! - **tutorial**: binaries built or unpacked by hand; only pgBackRest is installed.
//!
//! A binary whose path is overridden (`platform.paths.pg_bin_dir`, `patroni_bin_dir`,
//! `pgbackrest_bin`, `etcd_bin`) is the user's to provide, and its package is left out.

use crate::cluster::Cluster;
use crate::host::{FileKind, RenderedFile};
use crate::platform::PlatformPreset;

/// Where the OCI CLI is pip-installed on Debian (it has no Debian package).
pub const DEBIAN_OCI_CLI_VENV: &str = "/opt/pgha/oci-cli";
/// The only PostgreSQL major version Debian 12 packages.
pub const DEBIAN_POSTGRES_VERSION: u32 = 15;
/// The Patroni version Debian 12 packages.
pub const DEBIAN_PATRONI_VERSION: &str = "3.0.2";
/// The only PostgreSQL major version Ubuntu 24.04 packages.
pub const UBUNTU_2404_POSTGRES_VERSION: u32 = 16;
/// The Patroni version Ubuntu 24.04 packages.
pub const UBUNTU_2404_PATRONI_VERSION: &str = "3.2.2";

/// The distribution, its only PostgreSQL major and its Patroni version, for the presets that
/// install the distribution's own packages.
pub fn distribution_versions(preset: PlatformPreset) -> Option<(&'static str, u32, &'static str)> {
    match preset {
        PlatformPreset::Debian => {
            Some(("Debian 12", DEBIAN_POSTGRES_VERSION, DEBIAN_PATRONI_VERSION))
        }
        PlatformPreset::Ubuntu2404 => Some((
            "Ubuntu 24.04",
            UBUNTU_2404_POSTGRES_VERSION,
            UBUNTU_2404_PATRONI_VERSION,
        )),
        _ => None,
    }
}

/// What a host installs, in cloud-init's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Install {
    /// Shell commands run from `bootcmd` before `packages` (repository set-up), each guarded to
    /// run once.
    pub repository_setup: Vec<String>,
    /// Files written before any package is installed (root-owned configuration a package's
    /// installation scripts read).
    pub early_files: Vec<RenderedFile>,
    /// The packages.
    pub packages: Vec<String>,
    /// Commands run after the packages, before the services (as argument vectors).
    pub after_packages: Vec<Vec<String>>,
}

/// The role a host installs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An etcd member.
    Etcd,
    /// A database node.
    Database,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `bootcmd` lines that set up Oracle's EPEL, the PGDG repository (and its extras) on EL `n`.
fn el_repositories(n: u32) -> Vec<String> {
    let mut out = vec![
        format!("cloud-init-per once pgha-epel dnf install -y oracle-epel-release-el{n}"),
        // `$(uname -m)`: the same document serves x86_64 and aarch64 (Ampere) shapes.
        format!(
            "cloud-init-per once pgha-pgdg-repo dnf install -y \
             https://download.postgresql.org/pub/repos/yum/reporpms/EL-{n}-$(uname -m)/pgdg-redhat-repo-latest.noarch.rpm"
        ),
    ];
    if n == 8 {
        // AppStream's postgresql module would mask PGDG's packages of the same names.
        out.push(
            "cloud-init-per once pgha-pg-module dnf -qy module disable postgresql".to_string(),
        );
    }
    out.push(format!(
        "cloud-init-per once pgha-pgdg-extras dnf config-manager --set-enabled pgdg-rhel{n}-extras"
    ));
    out
}

/// Whether a database host resolves an OCI Vault reference (and so needs the OCI CLI).
fn uses_oci_vault(cluster: &Cluster) -> bool {
    crate::patroni::render::secret_variables(cluster)
        .iter()
        .any(|(_, s)| matches!(s, crate::secret::Secret::OciVault { .. }))
}

/// What a host of `role` installs.
pub fn install(cluster: &Cluster, role: Role) -> Install {
    let platform = &cluster.platform;
    let o = &platform.paths;
    let v = cluster.postgres_version;
    let provisions = platform.provisions();
    let vault = role == Role::Database && uses_oci_vault(cluster);
    let mut out = Install::default();
    match platform.preset {
        PlatformPreset::OracleLinux8 | PlatformPreset::OracleLinux9 => {
            let n = platform.preset.el_major().unwrap_or(9);
            out.repository_setup = el_repositories(n);
            match role {
                Role::Database => {
                    if o.pg_bin_dir.is_none() {
                        out.packages.push(format!("postgresql{v}-server"));
                        out.packages.push(format!("postgresql{v}-contrib"));
                    }
                    if o.patroni_bin_dir.is_none() {
                        out.packages.extend(strings(&["patroni", "patroni-etcd"]));
                    }
                    if o.pgbackrest_bin.is_none() {
                        out.packages.push("pgbackrest".to_string());
                    }
                    out.packages.extend(
                        platform
                            .extensions
                            .iter()
                            .filter_map(|e| e.package(platform.preset, v)),
                    );
                    if vault {
                        out.repository_setup.push(format!(
                            "cloud-init-per once pgha-ol-developer dnf install -y oraclelinux-developer-release-el{n}"
                        ));
                        out.packages.push(
                            if n == 8 {
                                "python36-oci-cli"
                            } else {
                                "python39-oci-cli"
                            }
                            .to_string(),
                        );
                    }
                }
                Role::Etcd => {
                    if o.etcd_bin.is_none() {
                        out.packages.push("etcd".to_string());
                    }
                }
            }
        }
        PlatformPreset::Debian | PlatformPreset::Ubuntu2404 => match role {
            Role::Database => {
                if o.pg_bin_dir.is_none() {
                    out.packages.push(format!("postgresql-{v}"));
                    out.early_files.push(RenderedFile {
                        path: "/etc/postgresql-common/createcluster.conf".to_string(),
                        content: "# Rendered by pgha: Patroni creates the cluster, not the \
                                  postgresql package.\ncreate_main_cluster = false\n"
                            .to_string(),
                        mode: 0o644,
                        owner: "root".to_string(),
                        group: "root".to_string(),
                        sensitive: false,
                        kind: FileKind::Other,
                    });
                }
                if o.patroni_bin_dir.is_none() {
                    // Patroni's etcd3 client is built on python-etcd's classes.
                    out.packages
                        .extend(strings(&["patroni", "python3-etcd", "python3-psycopg2"]));
                }
                if o.pgbackrest_bin.is_none() {
                    out.packages.push("pgbackrest".to_string());
                }
                out.packages.extend(
                    platform
                        .extensions
                        .iter()
                        .filter_map(|e| e.package(platform.preset, v)),
                );
                if vault {
                    out.packages.push("python3-venv".to_string());
                    out.after_packages = vec![
                        strings(&["python3", "-m", "venv", DEBIAN_OCI_CLI_VENV]),
                        vec![
                            format!("{DEBIAN_OCI_CLI_VENV}/bin/pip"),
                            "install".to_string(),
                            "--quiet".to_string(),
                            "oci-cli".to_string(),
                        ],
                    ];
                }
            }
            Role::Etcd => {
                if o.etcd_bin.is_none() {
                    out.packages
                        .extend(strings(&["etcd-server", "etcd-client"]));
                }
            }
        },
        PlatformPreset::Tutorial => {
            if role == Role::Database && o.pgbackrest_bin.is_none() {
                out.packages.push("pgbackrest".to_string());
            }
        }
    }
    if !provisions {
        // A test host sharing its machine: the packages are the machine's (the stand-in checks
        // them); nothing is set up or installed by the document.
        out.repository_setup.clear();
        out.early_files.clear();
        out.after_packages.clear();
    }
    out
}

//! Hosts: everything one machine needs, as data ([`HostPlan`]), assembled from the per-component
//! renderers. `cloud_init` turns a plan into a `#cloud-config`; the Terraform provider exposes
//! its `files`; the local host stand-in of the test suite consumes the same plan.

use serde::Serialize;

use crate::cluster::Cluster;
use crate::diagnostic::{has_errors, Diagnostic};

/// What kind of file a rendered file is; tests pick the right external checker by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// Patroni's YAML configuration.
    PatroniYaml,
    /// An environment file (`NAME="value"` lines), such as etcd's.
    EnvFile,
    /// pgBackRest's INI configuration.
    PgbackrestConf,
    /// A bash script.
    Shell,
    /// A Python 3 program (standard library only).
    Python,
    /// A systemd unit (service or timer).
    SystemdUnit,
    /// A file for /etc/cron.d (with a user field).
    CronD,
    /// Anything else.
    Other,
}

/// A file to write on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderedFile {
    /// Absolute path on the host.
    pub path: String,
    /// Exact content; always ends with a newline.
    pub content: String,
    /// Permission bits, e.g. `0o640`.
    pub mode: u32,
    /// Owning user.
    pub owner: String,
    /// Owning group.
    pub group: String,
    /// Whether the content contains a secret.
    pub sensitive: bool,
    /// What the file is.
    pub kind: FileKind,
}

impl RenderedFile {
    /// `mode` as the four-digit octal string cloud-init and Terraform outputs use (`"0640"`).
    pub fn mode_string(&self) -> String {
        format!("{:04o}", self.mode)
    }
}

/// A directory to create (with parents) before files are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directory {
    /// Absolute path.
    pub path: String,
    /// Owning user.
    pub owner: String,
    /// Owning group.
    pub group: String,
    /// Permission bits.
    pub mode: u32,
}

/// An operating-system account the host needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemUser {
    /// User (and primary group) name.
    pub name: String,
    /// Home directory.
    pub home: String,
    /// Login shell (`/sbin/nologin` for daemons that never log in).
    pub shell: String,
}

/// A long-running service, described once: the systemd unit is rendered from it, and a host
/// without systemd (the test stand-in) can start the same command as a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    /// Unit name without `.service`.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// User the process runs as.
    pub user: String,
    /// Group the process runs as.
    pub group: String,
    /// Program and arguments (no shell).
    pub exec_start: Vec<String>,
    /// Environment files loaded before start (a leading `-` in the unit: optional).
    pub environment_files: Vec<String>,
    /// Fixed environment variables.
    pub environment: Vec<(String, String)>,
    /// Working directory.
    pub working_directory: String,
    /// Units this one starts after.
    pub after: Vec<String>,
    /// Units that must have started successfully before this one starts (`Requires=`; list
    /// them in `after` too).
    pub requires: Vec<String>,
    /// Paths whose mounts must be up before this unit starts (`RequiresMountsFor=`).
    pub requires_mounts_for: Vec<String>,
    /// A `oneshot` that counts as active once it has succeeded (`RemainAfterExit=yes`), so the
    /// units requiring it see it as started.
    pub remain_after_exit: bool,
    /// systemd `Type=` (`notify` for etcd, `simple` for Patroni).
    pub service_type: String,
    /// Only stop the main process (Patroni must stop PostgreSQL itself).
    pub kill_mode_process: bool,
    /// Restart policy (`on-failure`, `no`).
    pub restart: String,
    /// File-descriptor limit, if raised.
    pub limit_nofile: Option<u32>,
    /// Seconds systemd waits for start and stop.
    pub timeout_sec: Option<u32>,
    /// `systemctl reload` sends SIGHUP to the main process (`ExecReload=`): Patroni re-reads
    /// its configuration file on it.
    pub reload_with_sighup: bool,
}

/// The role of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HostRole {
    /// An etcd member.
    Etcd,
    /// A PostgreSQL + Patroni + pgBackRest node.
    Database,
}

/// Everything one host needs: accounts, packages, directories, files, and services to start in
/// order, then commands to run once after the services are up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostPlan {
    /// Host (member) name.
    pub host: String,
    /// Address other hosts reach it on.
    pub address: String,
    /// Role.
    pub role: HostRole,
    /// Accounts to create.
    pub users: Vec<SystemUser>,
    /// Shell commands that set up package repositories before the packages are installed
    /// (cloud-init `bootcmd`; each guarded to run once).
    pub repository_setup: Vec<String>,
    /// Root-owned files written before the packages are installed (configuration a package's
    /// installation scripts read).
    pub early_files: Vec<RenderedFile>,
    /// Packages to install.
    pub packages: Vec<String>,
    /// Block volumes to format when blank and mount, before anything is written to them.
    pub volumes: Vec<crate::volumes::VolumeMount>,
    /// Directories to create, parents first.
    pub directories: Vec<Directory>,
    /// Files to write.
    pub files: Vec<RenderedFile>,
    /// Commands to run as root before services start (such as resolving secret references).
    pub prepare_commands: Vec<Vec<String>>,
    /// Services to enable and start, in this order.
    pub services: Vec<Service>,
    /// The files of [`HostPlan::files`] that make up the host's bundle (they may change while
    /// the host runs), with what a change of each triggers. Empty for a host without a bundle.
    pub live_files: Vec<crate::bundle::LiveFile>,
    /// Role passwords the bundle carries for rotation.
    pub role_passwords: Vec<crate::bundle::RolePassword>,
}

impl HostPlan {
    /// The file at `path`, if the plan has one.
    pub fn file(&self, path: &str) -> Option<&RenderedFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Whether the file at `path` is carried by the bundle rather than the first-boot document.
    pub fn is_live(&self, path: &str) -> bool {
        self.live_files.iter().any(|l| l.path == path)
    }
}

/// Why a cluster was not rendered.
#[derive(Debug, thiserror::Error)]
#[error("the cluster has {} error(s); fix them and render again", .0.iter().filter(|d| d.is_error()).count())]
pub struct RenderRefused(pub Vec<Diagnostic>);

/// Validates the cluster and renders every host, etcd members first. Refuses when validation
/// finds an error; the returned diagnostics include the warnings either way.
pub fn render_cluster(
    cluster: &Cluster,
) -> Result<(Vec<HostPlan>, Vec<Diagnostic>), RenderRefused> {
    let diagnostics = crate::validate::validate(cluster);
    if has_errors(&diagnostics) {
        return Err(RenderRefused(diagnostics));
    }
    let plans = (0..cluster.etcd.members.len())
        .filter_map(|i| crate::etcd::render::host_plan(cluster, i))
        .chain(
            (0..cluster.nodes.len()).filter_map(|i| crate::patroni::render::host_plan(cluster, i)),
        )
        .collect();
    Ok((plans, diagnostics))
}

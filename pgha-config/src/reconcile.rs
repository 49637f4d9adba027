//! The reconcile unit: a systemd timer and oneshot service on every database host that keeps the
//! host's files equal to its bundle ([`crate::bundle`]).
//!
//! The program is a Python 3 script using only the standard library: every platform ships
//! Python 3 (cloud-init itself is written in it; Oracle Linux 8's is `platform-python`), so the
//! host needs no extra binary. Its configuration file, written at first boot, is what the bundle
//! cannot change: the metadata URL, which paths the bundle may write (with owner and mode) and
//! what a change of each triggers, how to reach the local PostgreSQL for password rotation.
//!
//! cloud-init runs the script once with `--first-boot` before any service starts: it waits for
//! the bundle (retrying with back-off; on OCI the metadata is set before the instance boots) and
//! writes the files without reloading anything. The timer then runs it every
//! `reconcile_interval_seconds` (`AccuracySec=1s`: systemd's default accuracy of a minute would
//! stretch the period).

use serde::Serialize;

use crate::bundle::{LiveFile, Reload, METADATA_KEY, OCI_METADATA_LIMIT};
use crate::cluster::Cluster;
use crate::host::{FileKind, RenderedFile, Service};
use crate::patroni::PatroniNode;
use crate::platform::PlatformPreset;

/// The instance metadata URL of the bundle on OCI (IMDS v2, link-local).
pub const OCI_METADATA_URL: &str = "http://169.254.169.254/opc/v2/instance/metadata/pgha_bundle";

/// How often the timer runs the reconciler when the platform does not say.
pub const DEFAULT_INTERVAL_SECONDS: u32 = 60;

/// Unit name (without `.service`/`.timer`).
pub const UNIT: &str = "pgha-reconcile";

const SCRIPT: &str = include_str!("reconcile/pgha-reconcile.py");

/// Path of the reconcile script.
pub fn script_path(cluster: &Cluster) -> String {
    format!("{}/pgha-reconcile", cluster.layout().script_dir)
}

/// Path of its configuration file.
pub fn config_path(cluster: &Cluster) -> String {
    format!("{}/reconcile.json", cluster.layout().pgha_dir)
}

/// Where it keeps its state (`state.json`) and the first-boot bundle.
pub fn state_dir(cluster: &Cluster) -> String {
    format!("{}/reconcile", cluster.layout().state_dir)
}

/// The metadata URL host `host` reads its bundle from: the platform's `metadata_url` with
/// `{host}` replaced by the host's name (so one stand-in service can serve several hosts), or
/// OCI's instance metadata service.
pub fn metadata_url(cluster: &Cluster, host: &str) -> String {
    match &cluster.platform.metadata_url {
        Some(url) => url.replace("{host}", host),
        None => OCI_METADATA_URL.to_string(),
    }
}

/// The timer's period in seconds.
pub fn interval_seconds(cluster: &Cluster) -> u32 {
    cluster
        .platform
        .reconcile_interval_seconds
        .unwrap_or(DEFAULT_INTERVAL_SECONDS)
}

fn python(cluster: &Cluster) -> &'static str {
    match cluster.platform.preset {
        PlatformPreset::OracleLinux8 => "/usr/libexec/platform-python",
        _ => "/usr/bin/python3",
    }
}

/// The script, for this cluster's interpreter and configuration path.
pub fn script(cluster: &Cluster) -> String {
    SCRIPT
        .replacen("@PYTHON@", python(cluster), 1)
        .replacen("@CONFIG@", &config_path(cluster), 1)
}

#[derive(Serialize)]
struct AllowedFile<'a> {
    mode: String,
    owner: &'a str,
    group: &'a str,
    reload: Reload,
}

#[derive(Serialize)]
struct Units {
    patroni: String,
    resolver: Option<String>,
}

#[derive(Serialize)]
struct Postgres {
    os_user: String,
    superuser: String,
    psql: String,
    socket_dir: String,
    port: u16,
}

/// The machine a configuration was made for. Addresses and ports are fixed when the instance is
/// created (its VNIC, its firewall, what the other hosts were told), so they belong to the
/// first-boot document: a change of any of them is a new machine, never a bundle.
#[derive(Serialize)]
struct Identity<'a> {
    address: &'a str,
    listen_address: &'a str,
    pg_port: u16,
    restapi_port: u16,
}

#[derive(Serialize)]
struct Config<'a> {
    host: &'a str,
    identity: Identity<'a>,
    metadata_url: String,
    metadata_key: &'static str,
    max_bytes: usize,
    state_dir: String,
    first_boot_timeout_seconds: u32,
    files: std::collections::BTreeMap<&'a str, AllowedFile<'a>>,
    units: Units,
    postgres: Postgres,
}

/// The configuration file: what the bundle of `node`'s host may write and what each file's change
/// triggers, and the identity (addresses, ports) the host was created with. `files` are the
/// host's rendered files, `live` the ones in its bundle.
pub fn config(
    cluster: &Cluster,
    node: &PatroniNode,
    files: &[RenderedFile],
    live: &[LiveFile],
    resolver_unit: Option<&str>,
) -> String {
    let layout = cluster.layout();
    let allowed = live
        .iter()
        .filter_map(|l| {
            let f = files.iter().find(|f| f.path == l.path)?;
            Some((
                f.path.as_str(),
                AllowedFile {
                    mode: f.mode_string(),
                    owner: &f.owner,
                    group: &f.group,
                    reload: l.reload,
                },
            ))
        })
        .collect();
    let host = node.name.as_str();
    let config = Config {
        host,
        identity: Identity {
            address: &node.address,
            listen_address: node.listen(),
            pg_port: node.pg_port,
            restapi_port: node.restapi_port_or(cluster.patroni.restapi_port),
        },
        metadata_url: metadata_url(cluster, host),
        metadata_key: METADATA_KEY,
        max_bytes: OCI_METADATA_LIMIT,
        state_dir: state_dir(cluster),
        first_boot_timeout_seconds: crate::defaults::SECRET_RESOLVE_TIMEOUT_SECS,
        files: allowed,
        units: Units {
            patroni: "patroni.service".to_string(),
            resolver: resolver_unit.map(|u| format!("{u}.service")),
        },
        postgres: Postgres {
            os_user: layout.postgres_user.clone(),
            superuser: cluster.patroni.users.superuser.clone(),
            psql: format!("{}/psql", layout.pg_bin_dir),
            socket_dir: layout.pg_socket_dir.clone(),
            port: node.pg_port,
        },
    };
    // Strings, numbers and maps of them: serialising cannot fail.
    let mut text = serde_json::to_string_pretty(&config).unwrap_or_default();
    text.push('\n');
    text
}

/// The oneshot service the timer starts.
pub fn service(cluster: &Cluster) -> Service {
    let mut s = crate::systemd::oneshot_service(
        UNIT,
        &format!(
            "Apply the host bundle of cluster {} from the instance metadata",
            cluster.name
        ),
        "root",
        "root",
        &[script_path(cluster)],
        &[],
    );
    s.after = vec!["network-online.target".to_string()];
    s.timeout_sec = Some(300);
    s
}

/// The timer: first run one period after it starts, then one period after each run ends.
pub fn timer(cluster: &Cluster) -> String {
    let period = interval_seconds(cluster);
    format!(
        "[Unit]\nDescription=Apply the host bundle of cluster {name} every {period}s\n\n\
         [Timer]\nOnActiveSec={period}s\nOnUnitInactiveSec={period}s\nAccuracySec=1s\n\
         Unit={UNIT}.service\n\n[Install]\nWantedBy=timers.target\n",
        name = crate::systemd::escape_specifiers(&cluster.name),
    )
}

/// Every file of the reconcile unit: script, configuration, service and timer.
pub fn files(
    cluster: &Cluster,
    node: &PatroniNode,
    host_files: &[RenderedFile],
    live: &[LiveFile],
    resolver_unit: Option<&str>,
) -> Vec<RenderedFile> {
    let layout = cluster.layout();
    let root_file = |path: String, content: String, mode: u32, kind: FileKind| RenderedFile {
        path,
        content,
        mode,
        owner: "root".to_string(),
        group: "root".to_string(),
        sensitive: false,
        kind,
    };
    vec![
        root_file(
            script_path(cluster),
            script(cluster),
            0o755,
            FileKind::Python,
        ),
        root_file(
            config_path(cluster),
            config(cluster, node, host_files, live, resolver_unit),
            0o600,
            FileKind::Other,
        ),
        root_file(
            format!("{}/{UNIT}.service", layout.systemd_dir),
            crate::systemd::oneshot_unit(&service(cluster)),
            0o644,
            FileKind::SystemdUnit,
        ),
        root_file(
            format!("{}/{UNIT}.timer", layout.systemd_dir),
            timer(cluster),
            0o644,
            FileKind::SystemdUnit,
        ),
    ]
}

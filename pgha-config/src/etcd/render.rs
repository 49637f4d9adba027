//! Renders an etcd host: its environment file, its systemd unit, its account and directories.
//!
//! Every member bootstraps together: `ETCD_INITIAL_CLUSTER` lists all members and the state is
//! `new` on each of them (the tutorial started one member and added the others with
//! `etcdctl member add`, a sequence that cannot be expressed as one file per host). Once a member
//! has data in its data directory etcd ignores the `ETCD_INITIAL_*` settings, so the same file is
//! right on every later start.

use crate::cluster::Cluster;
use crate::etcd::{EtcdApi, EtcdMember};
use crate::firewall::{self, Port};
use crate::host::{Directory, FileKind, HostPlan, HostRole, RenderedFile, Service, SystemUser};
use crate::packages;
use crate::systemd;

/// File descriptors etcd may open: the tutorial's (and etcd's packaged unit's) value. Every
/// client connection and watch stream holds one.
pub const ETCD_LIMIT_NOFILE: u32 = 65536;

/// The login shell of the `etcd` account: it runs a daemon and never logs in.
pub const NOLOGIN_SHELL: &str = "/sbin/nologin";

/// The `NAME=value` pairs of the environment file of `member`, in file order: the values etcd
/// must see. Tests compare what a shell or systemd reads from the file with these.
///
/// Clients are served only on the member's own address: no `127.0.0.1:2379` is added (the
/// tutorial did), because several members sharing one machine would collide on it and Patroni
/// connects to the member addresses anyway.
pub fn environment(cluster: &Cluster, member: &EtcdMember) -> Vec<(String, String)> {
    let etcd = &cluster.etcd;
    let layout = cluster.layout();
    let tls = etcd.tls.is_some();
    let client = member.client_url(tls);
    let peer = member.peer_url(tls);
    let mut env: Vec<(&str, String)> = vec![
        ("ETCD_NAME", member.name.clone()),
        ("ETCD_DATA_DIR", layout.etcd_data_dir.clone()),
        ("ETCD_LISTEN_PEER_URLS", peer.clone()),
        ("ETCD_LISTEN_CLIENT_URLS", client.clone()),
        ("ETCD_ADVERTISE_CLIENT_URLS", client),
        ("ETCD_INITIAL_ADVERTISE_PEER_URLS", peer),
        ("ETCD_INITIAL_CLUSTER", etcd.initial_cluster()),
        ("ETCD_INITIAL_CLUSTER_TOKEN", etcd.token_for(&cluster.name)),
        ("ETCD_INITIAL_CLUSTER_STATE", "new".to_string()),
        (
            "ETCD_HEARTBEAT_INTERVAL",
            etcd.heartbeat_interval_ms.to_string(),
        ),
        (
            "ETCD_ELECTION_TIMEOUT",
            etcd.election_timeout_ms.to_string(),
        ),
    ];
    if etcd.api == EtcdApi::V2 {
        env.push(("ETCD_ENABLE_V2", "true".to_string()));
    }
    if let Some(t) = &etcd.tls {
        let client_auth = if t.client_cert_auth { "true" } else { "false" };
        env.extend([
            ("ETCD_CERT_FILE", t.cert_file.clone()),
            ("ETCD_KEY_FILE", t.key_file.clone()),
            ("ETCD_TRUSTED_CA_FILE", t.ca_file.clone()),
            ("ETCD_CLIENT_CERT_AUTH", client_auth.to_string()),
            // Members authenticate each other with the same certificate, so it must carry both
            // the serverAuth and the clientAuth extended key usage. Peer authentication is always
            // on with TLS: without it anyone reaching the peer port could join the Raft group.
            ("ETCD_PEER_CERT_FILE", t.cert_file.clone()),
            ("ETCD_PEER_KEY_FILE", t.key_file.clone()),
            ("ETCD_PEER_TRUSTED_CA_FILE", t.ca_file.clone()),
            ("ETCD_PEER_CLIENT_CERT_AUTH", "true".to_string()),
        ]);
    }
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The etcd service of `member`, described once for the systemd unit and for hosts without
/// systemd (the test stand-in starts the same command with the same environment file).
pub fn service(cluster: &Cluster, member: &EtcdMember) -> Service {
    let layout = cluster.layout();
    Service {
        name: "etcd".to_string(),
        description: format!("etcd member {} of {}", member.name, cluster.name),
        user: layout.etcd_user.clone(),
        group: layout.etcd_user.clone(),
        // etcd itself, no shell: the tutorial's `bash -c "GOMAXPROCS=$(nproc) etcd"` is
        // unnecessary because Go (1.5 and later) already sets GOMAXPROCS to the number of CPUs,
        // and the shell in between kept systemd's sd_notify and signals one process away.
        exec_start: vec![layout.etcd_bin.clone()],
        // Not optional (no leading `-`): without its file etcd would start as a single-member
        // cluster on localhost and Patroni could elect a leader against the wrong store.
        environment_files: vec![layout.etcd_config.clone()],
        environment: Vec::new(),
        working_directory: layout.etcd_data_dir.clone(),
        after: Vec::new(),
        requires: Vec::new(),
        requires_mounts_for: Vec::new(),
        remain_after_exit: false,
        // etcd reports readiness with sd_notify once it has joined the cluster.
        service_type: "notify".to_string(),
        kill_mode_process: false,
        restart: "on-failure".to_string(),
        limit_nofile: Some(ETCD_LIMIT_NOFILE),
        timeout_sec: None,
        reload_with_sighup: false,
    }
}

/// Everything the etcd member at `member` (an index into `cluster.etcd.members`) needs.
///
/// # Panics
///
/// When `member` is not an index of `cluster.etcd.members` (a caller's bug, not user input:
/// [`crate::host::render_cluster`] only passes valid indexes).
pub fn host_plan(cluster: &Cluster, member: usize) -> HostPlan {
    let m = &cluster.etcd.members[member];
    let layout = cluster.layout();
    let user = layout.etcd_user.clone();

    let env = environment(cluster, m);
    let header = [
        format!("etcd member {} of cluster {}.", m.name, cluster.name),
        "Rendered by pgha: edit the cluster specification, not this file.".to_string(),
        "Read by systemd (EnvironmentFile=) and by POSIX shells (set -a; . file).".to_string(),
    ];
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let env_text = systemd::env_file(&header, &env);

    let service = service(cluster, m);
    let unit_text = systemd::unit(&service);

    let config_dir = parent_dir(&layout.etcd_config);
    let mut directories = Vec::new();
    if let Some(dir) = config_dir {
        directories.push(Directory {
            path: dir,
            owner: "root".to_string(),
            group: user.clone(),
            mode: 0o750,
        });
    }
    // etcd refuses (3.5+) or warns about (3.4) a data directory readable by others.
    directories.push(Directory {
        path: layout.etcd_data_dir.clone(),
        owner: user.clone(),
        group: user.clone(),
        mode: 0o700,
    });

    let mut files = vec![
        RenderedFile {
            path: layout.etcd_config.clone(),
            content: env_text,
            mode: 0o640,
            owner: "root".to_string(),
            group: user.clone(),
            sensitive: false,
            kind: FileKind::EnvFile,
        },
        RenderedFile {
            path: format!("{}/etcd.service", layout.systemd_dir),
            content: unit_text,
            mode: 0o644,
            owner: "root".to_string(),
            group: "root".to_string(),
            sensitive: false,
            kind: FileKind::SystemdUnit,
        },
    ];

    // Clients (Patroni) and peers reach the member on these ports, and on nothing else.
    let mut prepare_commands = Vec::new();
    let ports = [
        Port {
            port: m.client_port,
            service: "etcd clients (Patroni)",
        },
        Port {
            port: m.peer_port,
            service: "etcd peers",
        },
    ];
    if let Some(fw) = firewall::script(cluster, &ports) {
        prepare_commands.push(vec![fw.path.clone()]);
        files.push(fw);
    }
    let install = packages::install(cluster, packages::Role::Etcd);

    HostPlan {
        host: m.name.clone(),
        address: m.address.clone(),
        role: HostRole::Etcd,
        users: vec![SystemUser {
            name: user,
            home: layout.etcd_data_dir.clone(),
            shell: NOLOGIN_SHELL.to_string(),
        }],
        repository_setup: install.repository_setup,
        early_files: install.early_files,
        packages: install.packages,
        volumes: Vec::new(),
        directories,
        files,
        prepare_commands,
        services: vec![service],
        live_files: Vec::new(),
        role_passwords: Vec::new(),
    }
}

/// The directory part of an absolute path, if it has one besides `/`.
fn parent_dir(path: &str) -> Option<String> {
    let (dir, _) = path.rsplit_once('/')?;
    if dir.is_empty() {
        None
    } else {
        Some(dir.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_dir_of_paths() {
        assert_eq!(
            parent_dir("/etc/etcd/etcd.conf").as_deref(),
            Some("/etc/etcd")
        );
        assert_eq!(parent_dir("/etcd.conf"), None);
        assert_eq!(parent_dir("etcd.conf"), None);
    }
}

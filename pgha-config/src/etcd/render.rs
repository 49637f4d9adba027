//! Renders an etcd host: its environment file, its systemd unit, its account and directories.
//!
//! The first members bootstrap together: `ETCD_INITIAL_CLUSTER` lists all members and the state
//! is `new` on each of them (the tutorial started one member and added the others with
//! `etcdctl member add`, a sequence that cannot be expressed as one file per host). Once a member
//! has data in its data directory etcd ignores the `ETCD_INITIAL_*` settings, so the same file is
//! right on every later start.
//!
//! A member added to a running cluster ([`crate::etcd::EtcdJoin`]: a replacement, or a cluster
//! growing) was added as a learner through the API first; its file says `existing` with the
//! cluster's member list at that moment, and its host runs `pgha-etcd-promote` after etcd starts.

use crate::cluster::Cluster;
use crate::etcd::{EtcdApi, EtcdJoin, EtcdMember};
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
        (
            "ETCD_INITIAL_CLUSTER_STATE",
            if etcd.join.is_some() {
                "existing"
            } else {
                "new"
            }
            .to_string(),
        ),
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

/// Name of the unit that promotes a joining member (without `.service`).
pub const PROMOTE_UNIT: &str = "pgha-etcd-promote";

/// Path of the promotion script.
pub fn promote_script_path(cluster: &Cluster) -> String {
    format!("{}/{PROMOTE_UNIT}", cluster.layout().script_dir)
}

/// The environment file a joining member's host writes before etcd first starts: the
/// cluster's member list at that moment as `ETCD_INITIAL_CLUSTER`. Members added in the same
/// apply are all in the cluster by the time any of their hosts boots, but not when each was
/// added, and etcd refuses to join with a member list that differs from the cluster's.
pub fn join_env_path(cluster: &Cluster) -> String {
    format!("{}.join", cluster.layout().etcd_config)
}

/// `etcdctl`, next to the etcd binary (both packages install it there).
fn etcdctl(cluster: &Cluster) -> String {
    let bin = cluster.layout().etcd_bin;
    match bin.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() => format!("{dir}/etcdctl"),
        _ => "/usr/bin/etcdctl".to_string(),
    }
}

/// The join script of a joining member. `prepare` (before etcd's first start) writes the
/// cluster's current member list to [`join_env_path`]; then, after etcd has started, it asks the
/// cluster to promote the learner until etcd accepts (it refuses while the learner is behind the
/// leader), and removes the learner when it has not caught up within the join's timeout, so a
/// member that cannot join leaves the cluster as it was. A member that already votes (a later
/// boot) is left alone.
pub fn promote_script(cluster: &Cluster, member: &EtcdMember, join: &EtcdJoin) -> String {
    let q = crate::pgbackrest::render::shell_quote;
    let tls = cluster.etcd.tls.as_ref().map_or(String::new(), |t| {
        format!(
            " --cacert={} --cert={} --key={}",
            q(&t.ca_file),
            q(&t.cert_file),
            q(&t.key_file)
        )
    });
    format!(
        r#"#!/bin/bash
# Promotes etcd member {name} (learner {id}) of cluster {cluster} to a voting member once it has
# caught up with the leader. Rendered by pgha: edit the cluster specification, not this file.
set -u
export ETCDCTL_API=3
id={id}
peer_url={peer}
timeout={timeout}
bootstrap={bootstrap}
ctl() {{
    {etcdctl} --endpoints={endpoints}{tls} --dial-timeout=2s --command-timeout=10s "$@"
}}
start=$(date +%s)
attempt=1
if [[ ${{1:-}} == prepare ]]; then
    # etcd reads ETCD_INITIAL_* only while its data directory is empty.
    if [[ -d {data_dir}/member ]]; then
        exit 0
    fi
    while true; do
        initial=""
        found=0
        if list=$(ctl member list 2>&1); then
            answered=1
            while IFS=', ' read -r mid status mname mpeer _; do
                [[ -n $mid ]] || continue
                # By peer URL: a cluster rebuilt from empty disks gave this member another ID.
                if [[ $mpeer == "$peer_url" ]]; then
                    mname={name}
                    id=$mid
                    found=1
                elif [[ $status != started ]]; then
                    mname=unstarted-$mid
                fi
                initial+="${{initial:+,}}$mname=$mpeer"
            done <<<"$list"
        fi
        if ((!found)) && [[ -n $bootstrap ]] && [[ -z ${{answered:-}} ]] &&
            (($(date +%s) - start >= {fallback})); then
            # Nothing answered at all: every member is being rebuilt (a restore). Start together
            # with the others, as the first members did.
            umask 027
            printf 'ETCD_INITIAL_CLUSTER="%s"\nETCD_INITIAL_CLUSTER_STATE="new"\nPGHA_ETCD_MEMBER_ID=""\n' "$bootstrap" >{join_env}.tmp
            chgrp {group} {join_env}.tmp
            mv {join_env}.tmp {join_env}
            echo "pgha-etcd-promote: no member answered for {fallback}s: bootstrapping with the configured members ($bootstrap)"
            exit 0
        fi
        if ((found)); then
            umask 027
            printf 'ETCD_INITIAL_CLUSTER="%s"\nPGHA_ETCD_MEMBER_ID="%s"\n' "$initial" "$id" >{join_env}.tmp
            chgrp {group} {join_env}.tmp
            mv {join_env}.tmp {join_env}
            echo "pgha-etcd-promote: joining the cluster as it is now: $initial"
            exit 0
        fi
        if (($(date +%s) - start >= timeout)); then
            echo "pgha-etcd-promote: no member with peer URL $peer_url in the cluster's member list after ${{timeout}}s: $list" >&2
            exit 1
        fi
        echo "pgha-etcd-promote: attempt $attempt: the member list has no $peer_url yet; retrying in 5s"
        attempt=$((attempt + 1))
        sleep 5
    done
fi
# The ID prepare found (the rendered one, unless the cluster was rebuilt from empty disks).
if [[ -r {join_env} ]] && grep -q '^ETCD_INITIAL_CLUSTER_STATE="new"' {join_env}; then
    echo "pgha-etcd-promote: bootstrapped with the configured members; nothing to promote"
    exit 0
fi
if [[ -r {join_env} ]]; then
    found_id=$(sed -n 's/^PGHA_ETCD_MEMBER_ID="\(.*\)"$/\1/p' {join_env})
    id=${{found_id:-$id}}
fi
while true; do
    if out=$(ctl member promote "$id" 2>&1); then
        echo "pgha-etcd-promote: member $id is now a voting member"
        exit 0
    fi
    case $out in
        *"in sync with leader"*) why="the learner has not caught up with the leader yet" ;;
        *"can only promote a learner member"*)
            echo "pgha-etcd-promote: member $id already votes"
            exit 0
            ;;
        *"member not found"*)
            echo "pgha-etcd-promote: member $id is not in the cluster any more: $out" >&2
            exit 1
            ;;
        *) why=$out ;;
    esac
    if (($(date +%s) - start >= timeout)); then
        echo "pgha-etcd-promote: learner $id ($peer_url) did not catch up within ${{timeout}}s ($why); removing it, the cluster stays as it was" >&2
        ctl member remove "$id" >&2 || true
        exit 1
    fi
    echo "pgha-etcd-promote: attempt $attempt: $why; retrying in 5s"
    attempt=$((attempt + 1))
    sleep 5
done
"#,
        name = member.name,
        id = q(&join.member_id),
        cluster = cluster.name,
        peer = q(&member.peer_url(cluster.etcd.tls.is_some())),
        timeout = join.promote_timeout_seconds,
        etcdctl = q(&etcdctl(cluster)),
        endpoints = q(&join.endpoints.join(",")),
        data_dir = q(&cluster.layout().etcd_data_dir),
        bootstrap = q(join.bootstrap_cluster.as_deref().unwrap_or("")),
        fallback = crate::defaults::ETCD_JOIN_FALLBACK_SECS,
        join_env = q(&join_env_path(cluster)),
        group = q(&cluster.layout().etcd_user),
    )
}

/// The oneshot unit that runs the promotion after etcd has started.
pub fn promote_service(cluster: &Cluster, member: &EtcdMember) -> Service {
    Service {
        name: PROMOTE_UNIT.to_string(),
        description: format!(
            "Promote etcd member {} of {} once it has caught up",
            member.name, cluster.name
        ),
        user: "root".to_string(),
        group: "root".to_string(),
        exec_start: vec![promote_script_path(cluster)],
        environment_files: Vec::new(),
        environment: Vec::new(),
        working_directory: "/".to_string(),
        after: vec!["etcd.service".to_string()],
        requires: Vec::new(),
        requires_mounts_for: Vec::new(),
        remain_after_exit: true,
        service_type: "oneshot".to_string(),
        kill_mode_process: false,
        restart: "no".to_string(),
        limit_nofile: None,
        // The script's own deadline, plus the removal at its end.
        timeout_sec: cluster
            .etcd
            .join
            .as_ref()
            .map(|j| j.promote_timeout_seconds.saturating_add(60)),
        reload_with_sighup: false,
    }
}

/// Everything the etcd member at `member` (an index into `cluster.etcd.members`) needs; `None`
/// when the cluster has no such member.
pub fn host_plan(cluster: &Cluster, member: usize) -> Option<HostPlan> {
    let m = cluster.etcd.members.get(member)?;
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

    let mut service = service(cluster, m);
    if cluster.etcd.join.is_some() {
        service
            .environment_files
            .push(format!("-{}", join_env_path(cluster)));
    }
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
    let mut services = vec![service];
    if let Some(join) = &cluster.etcd.join {
        prepare_commands.push(vec![promote_script_path(cluster), "prepare".to_string()]);
        files.push(RenderedFile {
            path: promote_script_path(cluster),
            content: promote_script(cluster, m, join),
            mode: 0o755,
            owner: "root".to_string(),
            group: "root".to_string(),
            sensitive: false,
            kind: FileKind::Shell,
        });
        let promote = promote_service(cluster, m);
        files.push(RenderedFile {
            path: format!("{}/{PROMOTE_UNIT}.service", layout.systemd_dir),
            content: systemd::unit(&promote),
            mode: 0o644,
            owner: "root".to_string(),
            group: "root".to_string(),
            sensitive: false,
            kind: FileKind::SystemdUnit,
        });
        services.push(promote);
        if let Some(dir) = parent_dir(&promote_script_path(cluster)) {
            directories.push(Directory {
                path: dir,
                owner: "root".to_string(),
                group: "root".to_string(),
                mode: 0o755,
            });
        }
    }

    Some(HostPlan {
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
        services,
        live_files: Vec::new(),
        role_passwords: Vec::new(),
    })
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

//! The etcd host renderer: snapshots of the seed members' files, and the properties the files must
//! have whatever the snapshot says.

mod common;

use common::seed;
use pgha_config::etcd::render::{environment, host_plan};
use pgha_config::etcd::{EtcdApi, EtcdJoin, EtcdTls};
use pgha_config::host::{FileKind, HostRole};

#[test]
fn seed_member_files_snapshots() {
    let cluster = seed();
    for (i, m) in cluster.etcd.members.iter().enumerate() {
        let plan = host_plan(&cluster, i).expect("a host of the cluster");
        let conf = plan.file("/etc/etcd/etcd.conf").expect("etcd.conf");
        let unit = plan
            .file("/etc/systemd/system/etcd.service")
            .expect("etcd.service");
        insta::assert_snapshot!(format!("{}_etcd.conf", m.name), &conf.content);
        insta::assert_snapshot!(format!("{}_etcd.service", m.name), &unit.content);
    }
}

#[test]
fn seed_member_plan_shape() {
    let cluster = seed();
    let plan = host_plan(&cluster, 1).expect("a host of the cluster");
    assert_eq!(plan.host, "pg-etcd-02");
    assert_eq!(plan.address, "192.0.2.5");
    assert_eq!(plan.role, HostRole::Etcd);

    let conf = plan.file("/etc/etcd/etcd.conf").expect("etcd.conf");
    assert_eq!(conf.kind, FileKind::EnvFile);
    assert_eq!(
        (conf.mode, conf.owner.as_str(), conf.group.as_str()),
        (0o640, "root", "etcd")
    );
    assert!(conf.content.ends_with('\n'));
    let unit = plan
        .file("/etc/systemd/system/etcd.service")
        .expect("etcd.service");
    assert_eq!(unit.kind, FileKind::SystemdUnit);
    assert_eq!(unit.mode, 0o644);

    assert_eq!(plan.users.len(), 1);
    assert_eq!(plan.users[0].name, "etcd");
    assert_eq!(plan.users[0].home, "/var/lib/etcd");
    assert_eq!(plan.users[0].shell, "/sbin/nologin");

    let data = plan
        .directories
        .iter()
        .find(|d| d.path == "/var/lib/etcd")
        .expect("data dir");
    assert_eq!((data.mode, data.owner.as_str()), (0o700, "etcd"));
    assert!(plan.directories.iter().any(|d| d.path == "/etc/etcd"));

    let s = &plan.services[0];
    assert_eq!(s.name, "etcd");
    assert_eq!(s.service_type, "notify");
    assert_eq!(s.exec_start, vec!["/usr/local/bin/etcd".to_string()]);
    assert_eq!(s.environment_files, vec!["/etc/etcd/etcd.conf".to_string()]);
    assert_eq!(s.limit_nofile, Some(65536));
    assert_eq!(s.restart, "on-failure");
    assert!(!unit.content.contains("GOMAXPROCS"));
    assert!(!unit.content.contains("bash"));
}

fn value<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn every_member_bootstraps_the_whole_cluster_on_its_own_address() {
    let cluster = seed();
    let all = "pg-etcd-01=http://192.0.2.4:2380,pg-etcd-02=http://192.0.2.5:2380,\
               pg-etcd-03=http://192.0.2.6:2380";
    for m in &cluster.etcd.members {
        let env = environment(&cluster, m);
        assert_eq!(value(&env, "ETCD_NAME"), Some(m.name.as_str()));
        assert_eq!(value(&env, "ETCD_INITIAL_CLUSTER"), Some(all));
        assert_eq!(value(&env, "ETCD_INITIAL_CLUSTER_STATE"), Some("new"));
        assert_eq!(
            value(&env, "ETCD_INITIAL_CLUSTER_TOKEN"),
            Some("etcd-cluster")
        );
        let client = format!("http://{}:2379", m.address);
        assert_eq!(
            value(&env, "ETCD_LISTEN_CLIENT_URLS"),
            Some(client.as_str())
        );
        assert_eq!(
            value(&env, "ETCD_ADVERTISE_CLIENT_URLS"),
            Some(client.as_str())
        );
        let peer = format!("http://{}:2380", m.address);
        assert_eq!(value(&env, "ETCD_LISTEN_PEER_URLS"), Some(peer.as_str()));
        assert_eq!(
            value(&env, "ETCD_INITIAL_ADVERTISE_PEER_URLS"),
            Some(peer.as_str())
        );
        assert_eq!(value(&env, "ETCD_HEARTBEAT_INTERVAL"), Some("1000"));
        assert_eq!(value(&env, "ETCD_ELECTION_TIMEOUT"), Some("5000"));
        // v3 API by default: no v2 switch; no loopback listener that members on one machine
        // would fight over.
        assert_eq!(value(&env, "ETCD_ENABLE_V2"), None);
        assert!(env.iter().all(|(_, v)| !v.contains("127.0.0.1")));
        // Plain HTTP: no TLS variables.
        assert!(env
            .iter()
            .all(|(k, _)| !k.contains("CERT") && !k.contains("KEY_FILE")));
    }
}

#[test]
fn v2_api_turns_on_enable_v2() {
    let mut cluster = seed();
    cluster.etcd.api = EtcdApi::V2;
    let env = environment(&cluster, &cluster.etcd.members[0]);
    assert_eq!(value(&env, "ETCD_ENABLE_V2"), Some("true"));
}

#[test]
fn tls_sets_client_and_peer_certificates_and_https_urls() {
    let mut cluster = seed();
    cluster.etcd.tls = Some(EtcdTls {
        ca_file: "/etc/etcd/pki/ca.pem".to_string(),
        cert_file: "/etc/etcd/pki/member.pem".to_string(),
        key_file: "/etc/etcd/pki/member-key.pem".to_string(),
        client_cert_auth: true,
    });
    let env = environment(&cluster, &cluster.etcd.members[2]);
    assert_eq!(
        value(&env, "ETCD_LISTEN_CLIENT_URLS"),
        Some("https://192.0.2.6:2379")
    );
    assert_eq!(
        value(&env, "ETCD_LISTEN_PEER_URLS"),
        Some("https://192.0.2.6:2380")
    );
    assert!(value(&env, "ETCD_INITIAL_CLUSTER")
        .unwrap()
        .contains("pg-etcd-01=https://192.0.2.4:2380"));
    assert_eq!(
        value(&env, "ETCD_CERT_FILE"),
        Some("/etc/etcd/pki/member.pem")
    );
    assert_eq!(
        value(&env, "ETCD_KEY_FILE"),
        Some("/etc/etcd/pki/member-key.pem")
    );
    assert_eq!(
        value(&env, "ETCD_TRUSTED_CA_FILE"),
        Some("/etc/etcd/pki/ca.pem")
    );
    assert_eq!(value(&env, "ETCD_CLIENT_CERT_AUTH"), Some("true"));
    assert_eq!(
        value(&env, "ETCD_PEER_CERT_FILE"),
        Some("/etc/etcd/pki/member.pem")
    );
    assert_eq!(
        value(&env, "ETCD_PEER_KEY_FILE"),
        Some("/etc/etcd/pki/member-key.pem")
    );
    assert_eq!(
        value(&env, "ETCD_PEER_TRUSTED_CA_FILE"),
        Some("/etc/etcd/pki/ca.pem")
    );
    assert_eq!(value(&env, "ETCD_PEER_CLIENT_CERT_AUTH"), Some("true"));

    cluster.etcd.tls.as_mut().unwrap().client_cert_auth = false;
    let env = environment(&cluster, &cluster.etcd.members[2]);
    assert_eq!(value(&env, "ETCD_CLIENT_CERT_AUTH"), Some("false"));
}

#[test]
fn ipv6_members_are_bracketed_in_urls() {
    let mut cluster = seed();
    cluster.etcd.members[0].address = "2001:db8::4".to_string();
    let env = environment(&cluster, &cluster.etcd.members[0]);
    assert_eq!(
        value(&env, "ETCD_LISTEN_CLIENT_URLS"),
        Some("http://[2001:db8::4]:2379")
    );
}

#[test]
fn root_prefixes_data_and_config_paths() {
    let mut cluster = seed();
    cluster.platform.root = Some("/tmp/hosts/etcd1".to_string());
    let plan = host_plan(&cluster, 0).expect("a host of the cluster");
    assert!(plan.file("/tmp/hosts/etcd1/etc/etcd/etcd.conf").is_some());
    assert!(plan
        .file("/tmp/hosts/etcd1/etc/systemd/system/etcd.service")
        .is_some());
    let env = environment(&cluster, &cluster.etcd.members[0]);
    assert_eq!(
        value(&env, "ETCD_DATA_DIR"),
        Some("/tmp/hosts/etcd1/var/lib/etcd")
    );
}

#[test]
fn rendering_is_deterministic() {
    let cluster = seed();
    assert_eq!(
        host_plan(&cluster, 0).expect("a host of the cluster"),
        host_plan(&cluster, 0).expect("a host of the cluster")
    );
}

/// A member joining a running cluster says `existing`, and its host promotes the learner after
/// etcd has started (a oneshot unit ordered after etcd, started after it by cloud-init).
#[test]
fn a_joining_member_starts_as_existing_and_promotes_itself() {
    let mut cluster = seed();
    cluster.etcd.join = Some(EtcdJoin {
        member_id: "8e9e05c52164694d".to_string(),
        endpoints: vec![
            "http://192.0.2.4:2379".to_string(),
            "http://192.0.2.5:2379".to_string(),
        ],
        promote_timeout_seconds: 120,
        bootstrap_cluster: None,
    });
    let m = &cluster.etcd.members[2];
    let env = environment(&cluster, m);
    assert_eq!(value(&env, "ETCD_INITIAL_CLUSTER_STATE"), Some("existing"));
    let plan = host_plan(&cluster, 2).expect("a host of the cluster");
    let names: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["etcd", "pgha-etcd-promote"]);
    let script = plan
        .files
        .iter()
        .find(|f| f.path.ends_with("/pgha-etcd-promote") && f.kind == FileKind::Shell)
        .expect("the promotion script");
    assert_eq!(script.mode, 0o755);
    for needle in [
        "id=8e9e05c52164694d",
        "--endpoints=http://192.0.2.4:2379,http://192.0.2.5:2379",
        "timeout=120",
        "member promote",
        "member remove",
    ] {
        assert!(
            script.content.contains(needle),
            "{needle}: {}",
            script.content
        );
    }
    let unit = plan
        .files
        .iter()
        .find(|f| f.path.ends_with("/pgha-etcd-promote.service"))
        .expect("the promotion unit");
    assert!(
        unit.content.lines().any(|l| l.starts_with("After=")
            && l.split_whitespace().any(|u| u.ends_with("etcd.service"))),
        "ordered after etcd: {}",
        unit.content
    );
    assert!(unit.content.contains("Type=oneshot"), "{}", unit.content);
    let doc = pgha_config::cloud_init::render(&plan);
    let etcd_start = doc.find("- etcd.service").expect("etcd started");
    let promote_start = doc
        .rfind("pgha-etcd-promote.service")
        .expect("promotion started");
    assert!(etcd_start < promote_start, "{doc}");
    // The members that bootstrap together have neither.
    cluster.etcd.join = None;
    let plan = host_plan(&cluster, 2).expect("a host of the cluster");
    assert_eq!(plan.services.len(), 1);
}

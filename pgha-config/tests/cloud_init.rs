//! cloud-init documents: snapshots for one etcd and one database host of the seed, file contents
//! that read back byte for byte, and the size of every seed host's document against OCI's
//! `user_data` limit.

mod common;

use common::seed;
use pgha_config::cloud_init::{self, OCI_USER_DATA_LIMIT};
use pgha_config::host::{
    Directory, FileKind, HostPlan, HostRole, RenderedFile, Service, SystemUser,
};
use pgha_config::render_cluster;
use proptest::prelude::*;
use serde_norway::Value;

fn seed_plans() -> Vec<HostPlan> {
    render_cluster(&seed()).expect("seed renders").0
}

fn parse(doc: &str) -> Value {
    assert!(doc.starts_with("#cloud-config\n"), "{doc}");
    serde_norway::from_str(doc).expect("cloud-config is YAML")
}

/// The content of a `write_files` entry, decoded as cloud-init does (`gz+b64` or plain).
fn content_of(w: &Value) -> String {
    use base64::Engine as _;
    use std::io::Read as _;
    let text = w["content"].as_str().expect("content").to_string();
    match w.get("encoding").and_then(Value::as_str) {
        None => text,
        Some("gz+b64") => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(text)
                .expect("base64");
            let mut out = String::new();
            flate2::read::GzDecoder::new(raw.as_slice())
                .read_to_string(&mut out)
                .expect("gzip");
            out
        }
        Some(other) => panic!("unexpected encoding {other}"),
    }
}

/// Every file of `plan` that is not in its bundle appears in `doc` with its exact content,
/// owner and mode; the bundle's files do not (the reconcile unit writes them at first boot), and
/// the bundle carries each of them exactly.
fn assert_files_round_trip(plan: &HostPlan, doc: &str) {
    let v = parse(doc);
    let files = v["write_files"].as_sequence().cloned().unwrap_or_default();
    let first_boot: Vec<_> = plan
        .files
        .iter()
        .filter(|f| !plan.is_live(&f.path))
        .collect();
    assert_eq!(files.len(), first_boot.len(), "{}", plan.host);
    for (f, w) in first_boot.iter().zip(&files) {
        assert_eq!(w["path"].as_str(), Some(f.path.as_str()));
        assert_eq!(content_of(w), f.content, "{}", f.path);
        assert_eq!(
            w["owner"].as_str(),
            Some(format!("{}:{}", f.owner, f.group).as_str())
        );
        assert_eq!(w["permissions"].as_str(), Some(f.mode_string().as_str()));
        assert_eq!(w["defer"].as_bool(), Some(true));
    }
    let Some(bundle) = pgha_config::bundle::bundle(plan) else {
        assert!(plan.live_files.is_empty());
        return;
    };
    let payload = pgha_config::bundle::decode(&bundle.encoded).expect("the bundle decodes");
    assert_eq!(payload.host, plan.host);
    assert_eq!(payload.files.len(), plan.live_files.len(), "{}", plan.host);
    for live in &plan.live_files {
        let f = plan
            .file(&live.path)
            .expect("a live file is a file of the plan");
        let p = payload
            .files
            .iter()
            .find(|p| p.path == f.path)
            .expect("in the bundle");
        assert_eq!(p.content, f.content, "{}", f.path);
        assert_eq!(
            (p.owner.as_str(), p.group.as_str()),
            (f.owner.as_str(), f.group.as_str())
        );
        assert_eq!(p.mode, f.mode_string());
        assert!(
            !doc.contains(&f.content),
            "{} is in the first-boot document",
            f.path
        );
    }
}

#[test]
fn seed_etcd_host_snapshot() {
    let plans = seed_plans();
    let plan = plans
        .iter()
        .find(|p| p.host == "pg-etcd-01")
        .expect("etcd host");
    insta::assert_snapshot!("pg-etcd-01_cloud-config", cloud_init::render(plan));
}

#[test]
fn seed_db_host_snapshot() {
    let plans = seed_plans();
    let plan = plans
        .iter()
        .find(|p| p.host == "pg-db-01")
        .expect("db host");
    insta::assert_snapshot!("pg-db-01_cloud-config", cloud_init::render(plan));
}

#[test]
fn seed_documents_carry_every_file_exactly() {
    for plan in seed_plans() {
        assert_files_round_trip(&plan, &cloud_init::render(&plan));
    }
}

#[test]
fn etcd_host_document_shape() {
    let plans = seed_plans();
    let plan = plans
        .iter()
        .find(|p| p.host == "pg-etcd-02")
        .expect("etcd host");
    let v = parse(&cloud_init::render(plan));
    let users = v["users"].as_sequence().expect("users");
    assert_eq!(users[0].as_str(), Some("default"));
    assert_eq!(users[1]["name"].as_str(), Some("etcd"));
    assert_eq!(users[1]["system"].as_bool(), Some(true));
    assert_eq!(users[1]["shell"].as_str(), Some("/sbin/nologin"));
    // The data directory is the home; runcmd creates it 0700, useradd must not.
    assert_eq!(users[1]["no_create_home"].as_bool(), Some(true));
    // The tutorial layout installs etcd from a tarball: no packages, so no index refresh.
    assert!(v.get("packages").is_none());
    assert!(v.get("package_update").is_none());
    let runcmd: Vec<Vec<String>> =
        serde_norway::from_value(v["runcmd"].clone()).expect("runcmd is lists of words");
    let words = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        runcmd,
        vec![
            words(&[
                "install",
                "-d",
                "-o",
                "root",
                "-g",
                "etcd",
                "-m",
                "0750",
                "/etc/etcd"
            ]),
            words(&[
                "install",
                "-d",
                "-o",
                "etcd",
                "-g",
                "etcd",
                "-m",
                "0700",
                "/var/lib/etcd"
            ]),
            words(&["systemctl", "daemon-reload"]),
            words(&["systemctl", "enable", "etcd.service"]),
            words(&["systemctl", "restart", "--no-block", "etcd.service"]),
        ]
    );
}

#[test]
fn packages_turn_on_package_update() {
    let mut cluster = seed();
    cluster.platform.preset = pgha_config::platform::PlatformPreset::Debian;
    let plan = pgha_config::etcd::render::host_plan(&cluster, 0).expect("a host of the cluster");
    let v = parse(&cloud_init::render(&plan));
    assert_eq!(v["package_update"].as_bool(), Some(true));
    let pkgs: Vec<String> = serde_norway::from_value(v["packages"].clone()).unwrap();
    assert_eq!(pkgs, vec!["etcd-server", "etcd-client"]);
}

#[test]
fn seed_documents_fit_oci_user_data() {
    println!(
        "{:<12} {:>6} {:>9} {:>12}",
        "host", "files", "raw bytes", "base64 bytes"
    );
    for plan in seed_plans() {
        let doc = cloud_init::render(&plan);
        let (raw, b64) = cloud_init::sizes(&doc);
        println!(
            "{:<12} {:>6} {:>9} {:>12}",
            plan.host,
            plan.files.len(),
            raw,
            b64
        );
        assert!(
            b64 < OCI_USER_DATA_LIMIT,
            "{}: {b64} bytes after base64, OCI accepts fewer than {OCI_USER_DATA_LIMIT}",
            plan.host
        );
    }
}

#[test]
fn a_home_the_plan_does_not_create_is_left_to_useradd() {
    let mut plan = plan_with_content(String::new(), 0o644);
    let v = parse(&cloud_init::render(&plan));
    assert_eq!(v["users"][1]["no_create_home"].as_bool(), Some(true));
    plan.directories.clear();
    let v = parse(&cloud_init::render(&plan));
    assert_eq!(v["users"][1]["no_create_home"].as_bool(), Some(false));
}

#[test]
fn sizes_are_base64_lengths() {
    assert_eq!(cloud_init::sizes(""), (0, 0));
    assert_eq!(cloud_init::sizes("a"), (1, 4));
    assert_eq!(cloud_init::sizes("abc"), (3, 4));
    assert_eq!(cloud_init::sizes("abcd"), (4, 8));
}

fn plan_with_content(content: String, mode: u32) -> HostPlan {
    HostPlan {
        host: "h".to_string(),
        address: "127.0.0.1".to_string(),
        role: HostRole::Etcd,
        users: vec![SystemUser {
            name: "svc".to_string(),
            home: "/var/lib/svc".to_string(),
            shell: "/sbin/nologin".to_string(),
        }],
        repository_setup: Vec::new(),
        early_files: Vec::new(),
        packages: Vec::new(),
        volumes: Vec::new(),
        directories: vec![Directory {
            path: "/var/lib/svc".to_string(),
            owner: "svc".to_string(),
            group: "svc".to_string(),
            mode: 0o700,
        }],
        files: vec![RenderedFile {
            path: "/etc/svc/file".to_string(),
            content,
            mode,
            owner: "root".to_string(),
            group: "svc".to_string(),
            sensitive: false,
            kind: FileKind::Other,
        }],
        prepare_commands: vec![vec!["/bin/echo".to_string(), "a b; $c".to_string()]],
        services: vec![Service {
            name: "svc".to_string(),
            description: "d".to_string(),
            user: "svc".to_string(),
            group: "svc".to_string(),
            exec_start: vec!["/bin/true".to_string()],
            environment_files: Vec::new(),
            environment: Vec::new(),
            working_directory: String::new(),
            after: Vec::new(),
            requires: Vec::new(),
            requires_mounts_for: Vec::new(),
            remain_after_exit: false,
            service_type: "simple".to_string(),
            kill_mode_process: false,
            restart: "no".to_string(),
            limit_nofile: None,
            timeout_sec: None,
            reload_with_sighup: false,
        }],
        live_files: Vec::new(),
        role_passwords: Vec::new(),
    }
}

#[test]
fn awkward_contents_round_trip() {
    for content in [
        "",
        "\n",
        "key: value\n",
        "- list\n",
        "#cloud-config\n",
        "  leading spaces\n",
        "trailing spaces   \n",
        "no newline",
        "\n\n\nblank lines\n\n\n",
        "tab\tand\ttabs\n",
        "\ttab first\n",
        "on\nyes\nno\n0640\n~\nnull\n",
        "quote ' and \" and \\ and $HOME and %h\n",
        "---\n...\n",
        "crlf\r\nline\r\n",
        "bell \x07 and nul \0 and del \x7f\n",
        "unicode é ✓ \u{2028} \u{85} \u{feff}\n",
    ] {
        let plan = plan_with_content(content.to_string(), 0o600);
        assert_files_round_trip(&plan, &cloud_init::render(&plan));
    }
}

proptest! {
    #[test]
    fn any_content_round_trips(content in any::<String>(), mode in 0u32..0o7777) {
        let plan = plan_with_content(content, mode);
        assert_files_round_trip(&plan, &cloud_init::render(&plan));
    }

    #[test]
    fn any_line_based_content_round_trips(
        lines in proptest::collection::vec("[ -~\t]{0,40}", 0..8),
        trailing_newline in any::<bool>(),
    ) {
        let mut content = lines.join("\n");
        if trailing_newline {
            content.push('\n');
        }
        let plan = plan_with_content(content, 0o644);
        assert_files_round_trip(&plan, &cloud_init::render(&plan));
    }
}

/// What can change on a running database host (tags, local parameters, retention, process-max,
/// the schedule, passwords) changes its bundle and never its first-boot document, which would
/// mean a new machine; an address or a port changes the document.
#[test]
fn live_changes_stay_out_of_the_first_boot_document() {
    use pgha_config::patroni::{render::host_plan, PgValue};
    use pgha_config::secret::Secret;
    use pgha_config::Cluster;
    let base = seed();
    let doc = |c: &Cluster| cloud_init::render(&host_plan(c, 0).expect("a host of the cluster"));
    let hash = |c: &Cluster| {
        pgha_config::bundle::bundle(&host_plan(c, 0).expect("a host of the cluster"))
            .expect("a database host has a bundle")
            .hash
    };
    let changed = |f: &dyn Fn(&mut Cluster)| {
        let mut c = base.clone();
        f(&mut c);
        c
    };
    let live: Vec<(&str, Cluster)> = vec![
        (
            "nofailover tag",
            changed(&|c| c.nodes[0].tags.nofailover = !c.nodes[0].tags.nofailover),
        ),
        (
            "a local parameter",
            changed(&|c| {
                c.nodes[0]
                    .parameters
                    .insert("log_min_duration_statement".into(), PgValue::Int(250));
            }),
        ),
        (
            "retention_full",
            changed(&|c| c.pgbackrest.retention_full += 1),
        ),
        ("process_max", changed(&|c| c.pgbackrest.process_max += 1)),
        (
            "the full backup schedule",
            changed(&|c| c.pgbackrest.schedule.full = "30 2 * * 0".into()),
        ),
        (
            "the superuser password",
            changed(&|c| c.secrets.superuser_password = Secret::Value("An0ther-pass-9x".into())),
        ),
    ];
    for (what, c) in &live {
        assert_eq!(doc(c), doc(&base), "{what} changed the first-boot document");
        assert_ne!(hash(c), hash(&base), "{what} did not change the bundle");
    }
    let new_machine: Vec<(&str, Cluster)> = vec![
        (
            "the address",
            changed(&|c| c.nodes[0].address = "192.0.2.99".into()),
        ),
        (
            "the PostgreSQL port",
            changed(&|c| c.nodes[0].pg_port = 5433),
        ),
        (
            "the REST API port",
            changed(&|c| c.nodes[0].restapi_port = Some(8009)),
        ),
    ];
    for (what, c) in &new_machine {
        assert_ne!(
            doc(c),
            doc(&base),
            "{what} did not change the first-boot document"
        );
    }
}

/// The tutorial's database host, with 3, 5 and 9 database nodes: `user_data` (base64) and the
/// bundle together fit OCI's 32,000-byte metadata limit. Prints both sizes (`cargo test -- --nocapture`).
#[test]
fn user_data_and_bundle_fit_oci_metadata_for_3_5_and_9_nodes() {
    use pgha_config::bundle::{bundle, metadata_size, OCI_METADATA_LIMIT};
    use pgha_config::patroni::render::host_plan;
    println!(
        "{:>5} {:>16} {:>12} {:>8}",
        "nodes", "user_data (b64)", "pgha_bundle", "total"
    );
    for n in [3usize, 5, 9] {
        let mut c = seed();
        let template = c.nodes[0].clone();
        c.nodes.truncate(1);
        for i in 1..n {
            let mut node = template.clone();
            node.name = format!("pg-db-{:02}", i + 1);
            node.address = format!("192.0.2.{}", 100 + i);
            node.listen_address = None;
            c.nodes.push(node);
        }
        let mut largest = (0, 0, 0);
        for i in 0..n {
            let plan = host_plan(&c, i).expect("a host of the cluster");
            let doc = cloud_init::render(&plan);
            let b = bundle(&plan).expect("a database host has a bundle");
            let size = metadata_size(&doc, Some(&b));
            assert!(
                size.fits(),
                "{n} nodes, {}: {size:?} exceeds {OCI_METADATA_LIMIT}",
                plan.host
            );
            let (_, b64) = cloud_init::sizes(&doc);
            if size.total() > largest.2 {
                largest = (b64, b.encoded.len(), size.total());
            }
        }
        println!(
            "{n:>5} {:>16} {:>12} {:>8}",
            largest.0, largest.1, largest.2
        );
    }
}

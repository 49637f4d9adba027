//! Database hosts: every rendered file of every node, as snapshots, and judged by the real tools
//! — PyYAML (Patroni's parser), `patroni --validate-config`, `bash -n`, `shellcheck`,
//! pgBackRest's own option parser, and `systemd-analyze calendar`.

mod common;

use common::seed;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pgha_config::etcd::{EtcdApi, EtcdTls};
use pgha_config::host::{FileKind, HostPlan};
use pgha_config::patroni::render::{host_plan, patroni_config, to_yaml};
use pgha_config::pgbackrest::render::{cron_to_on_calendar, restore_command};
use pgha_config::pgbackrest::{PosixRepository, Repository, ScheduleKind};
use pgha_config::platform::{PathOverrides, Platform, PlatformPreset};
use pgha_config::secret::{RestApiAuth, Secret};
use pgha_config::Cluster;
use serde_json::Value as Json;

fn inline_secrets() -> Cluster {
    let mut c = seed();
    let v = |s: &str| Secret::Value(s.to_string());
    c.secrets.superuser_password = v("Sup3r'secret\"$x");
    c.secrets.replication_password = v("repl-Pa55word");
    c.secrets.rewind_password = Some(v("rew1nd-Pa55word"));
    c.secrets.admin_password = Some(v("adm'n $(touch /tmp/x) `id`"));
    c.secrets.restapi = Some(RestApiAuth {
        username: "patroni".to_string(),
        password: v("rest-Pa55word"),
    });
    c.secrets.s3_key = Some(v("0000000a90d57eddexxxxxa3dc7c4f700000ed2e6"));
    c.secrets.s3_key_secret = Some(v("1UhXj69xxxx1e6OyF+00000cccccyyyuuu="));
    c.secrets.repo_cipher_pass = Some(v("cipher-Pa55phrase"));
    c.pgbackrest.cipher_type = Some("aes-256-cbc".to_string());
    c
}

fn posix_repo() -> Cluster {
    let mut c = seed();
    c.pgbackrest.repository = Repository::Posix(PosixRepository {
        path: "/var/lib/pgbackrest".to_string(),
    });
    c.pgbackrest.archive_async = true;
    c.pgbackrest.retention_diff = Some(7);
    c
}

fn api_v2() -> Cluster {
    let mut c = seed();
    c.etcd.api = EtcdApi::V2;
    c.etcd.tls = Some(EtcdTls {
        ca_file: "/etc/pgha/etcd-ca.pem".to_string(),
        cert_file: "/etc/pgha/etcd-client.pem".to_string(),
        key_file: "/etc/pgha/etcd-client.key".to_string(),
        client_cert_auth: true,
    });
    c
}

fn debian_root() -> Cluster {
    let mut c = seed();
    c.postgres_version = 15;
    c.platform = Platform {
        preset: PlatformPreset::Debian,
        root: Some("/tmp/hosts/db/".to_string()),
        paths: PathOverrides {
            pg_wal_dir: Some("/var/lib/postgresql/15/wal".to_string()),
            patroni_bin_dir: Some("/opt/pgha/venv/bin".to_string()),
            ..PathOverrides::default()
        },
        ..Platform::default()
    };
    c.patroni.initdb.data_checksums = false;
    c.patroni.initdb.locale = Some("C.UTF-8".to_string());
    c
}

fn timers() -> Cluster {
    let mut c = seed();
    c.pgbackrest.schedule.kind = ScheduleKind::SystemdTimer;
    c.pgbackrest.schedule.incr = Some("30 */6 * * *".to_string());
    c
}

fn patroni3() -> Cluster {
    let mut c = seed();
    c.patroni.version = 3;
    c.nodes[2].tags.failover_priority = Some(0);
    c.nodes[2].tags.nofailover = true;
    c
}

/// Every variant, by name.
fn variants() -> Vec<(&'static str, Cluster)> {
    vec![
        ("seed", seed()),
        ("inline", inline_secrets()),
        ("posix", posix_repo()),
        ("etcd_v2", api_v2()),
        ("debian_root", debian_root()),
        ("timers", timers()),
        ("patroni3", patroni3()),
    ]
}

fn plans(c: &Cluster) -> Vec<HostPlan> {
    (0..c.nodes.len())
        .map(|i| host_plan(c, i).expect("a host of the cluster"))
        .collect()
}

fn snapshot_name(variant: &str, host: &str, path: &str) -> String {
    format!(
        "{variant}__{host}__{}",
        path.trim_start_matches('/').replace('/', "_")
    )
}

/// The plan without file contents: accounts, packages, directories, commands, services and
/// each file's metadata.
fn summary(plan: &HostPlan) -> String {
    let files: Vec<Json> = plan
        .files
        .iter()
        .map(|f| {
            serde_json::json!({
                "path": f.path, "mode": f.mode_string(), "owner": f.owner, "group": f.group,
                "sensitive": f.sensitive, "kind": f.kind,
            })
        })
        .collect();
    let v = serde_json::json!({
        "host": plan.host,
        "address": plan.address,
        "role": plan.role,
        "users": plan.users,
        "packages": plan.packages,
        "directories": plan.directories.iter().map(|d| format!("{} {}:{} {:04o}", d.path, d.owner, d.group, d.mode)).collect::<Vec<_>>(),
        "files": files,
        "prepare_commands": plan.prepare_commands,
        "services": plan.services,
    });
    serde_norway::to_string(&v).unwrap()
}

#[test]
fn seed_files_of_every_node_match_their_snapshots() {
    let c = seed();
    for plan in plans(&c) {
        insta::assert_snapshot!(format!("seed__{}__plan", plan.host), summary(&plan));
        for f in &plan.files {
            insta::assert_snapshot!(snapshot_name("seed", &plan.host, &f.path), &f.content);
        }
    }
}

#[test]
fn variant_files_of_the_first_node_match_their_snapshots() {
    for (name, c) in variants().into_iter().skip(1) {
        let plan = host_plan(&c, 0).expect("a host of the cluster");
        insta::assert_snapshot!(format!("{name}__{}__plan", plan.host), summary(&plan));
        for f in &plan.files {
            insta::assert_snapshot!(snapshot_name(name, &plan.host, &f.path), &f.content);
        }
    }
}

#[test]
fn rendering_is_deterministic() {
    for (name, c) in variants() {
        let a = plans(&c);
        let b = plans(&c.clone());
        assert_eq!(a, b, "{name}: two renderings differ");
        for p in &a {
            for f in &p.files {
                assert!(
                    f.content.ends_with('\n'),
                    "{name} {}: no trailing newline",
                    f.path
                );
            }
        }
    }
}

#[test]
fn patroni_3_and_4_get_the_same_patroni_yml() {
    // Everything we emit is valid for both; nothing in patroni.yml depends on the version.
    let c4 = patroni3();
    let mut c3 = c4.clone();
    c3.patroni.version = 4;
    for i in 0..c4.nodes.len() {
        let p3 = host_plan(&c3, i).expect("a host of the cluster");
        let p4 = host_plan(&c4, i).expect("a host of the cluster");
        assert_eq!(p3.files[0].content, p4.files[0].content);
    }
}

#[test]
fn secrets_decide_file_sensitivity_modes_and_the_resolver() {
    let seed = host_plan(&seed(), 0).expect("a host of the cluster");
    let yml = seed.file("/etc/patroni/patroni.yml").unwrap();
    assert!(
        !yml.sensitive,
        "references keep patroni.yml free of secrets"
    );
    assert_eq!(yml.mode, 0o600);
    assert_eq!(yml.owner, "postgres");
    assert!(!yml.content.contains("password:"), "{}", yml.content);
    let conf = seed.file("/etc/pgbackrest/pgbackrest.conf").unwrap();
    assert!(!conf.sensitive);
    assert_eq!(conf.mode, 0o640);
    assert!(!conf.content.contains("repo1-s3-key"));
    let resolver = "/usr/local/libexec/pgha/pgha-resolve-secrets";
    assert!(seed.file(resolver).is_some());
    // The resolver runs as a unit Patroni requires, so Patroni never starts without secrets.
    // Before it: only the first-boot run of the reconcile unit and the start of its timer.
    let words = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        seed.prepare_commands,
        vec![
            words(&["/usr/local/libexec/pgha/pgha-reconcile", "--first-boot"]),
            words(&["systemctl", "daemon-reload"]),
            words(&["systemctl", "enable", "--now", "pgha-reconcile.timer"]),
        ]
    );
    let names: Vec<&str> = seed.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["pgha-resolve-secrets", "patroni"]);
    let unit = seed
        .file("/etc/systemd/system/pgha-resolve-secrets.service")
        .unwrap();
    assert!(
        unit.content.contains("Type=oneshot\nRemainAfterExit=yes\n"),
        "{}",
        unit.content
    );
    assert!(unit.content.contains(&format!("ExecStart={resolver}\n")));
    let patroni = seed.file("/etc/systemd/system/patroni.service").unwrap();
    assert!(patroni
        .content
        .contains("After=network-online.target pgha-resolve-secrets.service\n"));
    assert!(patroni
        .content
        .contains("Requires=pgha-resolve-secrets.service\n"));

    let inline = host_plan(&inline_secrets(), 0).expect("a host of the cluster");
    assert!(inline.file(resolver).is_none(), "no reference, no resolver");
    assert_eq!(inline.prepare_commands, seed.prepare_commands);
    let yml = inline.file("/etc/patroni/patroni.yml").unwrap();
    assert!(yml.sensitive);
    assert_eq!(yml.mode, 0o600);
    let conf = inline.file("/etc/pgbackrest/pgbackrest.conf").unwrap();
    assert!(conf.sensitive);
    assert!(conf
        .content
        .contains("repo1-s3-key-secret=1UhXj69xxxx1e6OyF+00000cccccyyyuuu=\n"));
    assert!(conf
        .content
        .contains("repo1-cipher-pass=cipher-Pa55phrase\n"));
    let env = inline.file("/etc/pgha/secrets.env").unwrap();
    assert!(env.sensitive);
    assert_eq!(
        (env.mode, env.owner.as_str(), env.group.as_str()),
        (0o640, "root", "postgres")
    );
    // Sourced by bash, the admin password comes back literally (no expansion, no execution).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.env");
    std::fs::write(&path, &env.content).unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg("set -a; . \"$1\"; printf '%s' \"$PGHA_ADMIN_PASSWORD\"")
        .arg("bash")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "adm'n $(touch /tmp/x) `id`"
    );
}

fn parse_with_pyyaml(text: &str) -> Json {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    let out = Command::new("python3")
        .args([
            "-c",
            "import yaml,json,sys; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(f.path())
        .output()
        .expect("python3 with PyYAML is needed (python3 -c 'import yaml')");
    assert!(
        out.status.success(),
        "PyYAML rejected the file: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_patroni_yml_parses_with_pyyaml_to_the_intended_structure() {
    for (name, c) in variants() {
        for (i, plan) in plans(&c).iter().enumerate() {
            let file = plan
                .files
                .iter()
                .find(|f| f.kind == FileKind::PatroniYaml)
                .unwrap();
            let y = parse_with_pyyaml(&file.content);
            let node = &c.nodes[i];
            let ctx = format!("{name}/{}", node.name);
            // PyYAML (YAML 1.1) and serde_norway (YAML 1.2) read back exactly the tree we built.
            let tree = patroni_config(&c, node);
            assert_eq!(
                y,
                serde_json::to_value(&tree).unwrap(),
                "{ctx}: PyYAML differs"
            );
            let back: serde_norway::Value = serde_norway::from_str(&file.content).unwrap();
            assert_eq!(back, tree, "{ctx}: serde_norway differs");
            assert_eq!(y["scope"], "pg-ha-cluster", "{ctx}");
            assert_eq!(y["namespace"], "/service/", "{ctx}");
            assert_eq!(y["name"], node.name.as_str(), "{ctx}");
            assert_eq!(
                y["restapi"]["listen"],
                format!("{}:8008", node.address),
                "{ctx}"
            );
            let dcs_key = if name == "etcd_v2" { "etcd" } else { "etcd3" };
            assert!(y
                .get(if dcs_key == "etcd" { "etcd3" } else { "etcd" })
                .is_none());
            assert_eq!(
                y[dcs_key]["hosts"],
                serde_json::json!(["192.0.2.4:2379", "192.0.2.5:2379", "192.0.2.6:2379"]),
                "{ctx}"
            );
            let dcs = &y["bootstrap"]["dcs"];
            assert!(dcs["ttl"].is_u64(), "{ctx}: ttl must be an integer");
            assert_eq!(dcs["ttl"], 120);
            assert_eq!(dcs["loop_wait"], 10);
            assert_eq!(dcs["maximum_lag_on_failover"], 1048576);
            assert_eq!(dcs["synchronous_mode"], false);
            assert_eq!(dcs["postgresql"]["use_pg_rewind"], true);
            let params = &dcs["postgresql"]["parameters"];
            assert_eq!(params["log_file_mode"], "0640", "{ctx}: must stay a string");
            assert_eq!(
                params["archive_mode"], "on",
                "{ctx}: a string, not a boolean"
            );
            assert_eq!(params["hot_standby"], "on");
            assert_eq!(params["wal_level"], "replica");
            assert_eq!(params["logging_collector"], true);
            assert_eq!(params["max_connections"], 2000);
            assert_eq!(params["archive_timeout"], "900s");
            assert_eq!(params["password_encryption"], "scram-sha-256");
            let conf = if name == "debian_root" {
                "/tmp/hosts/db/etc/pgbackrest/pgbackrest.conf"
            } else {
                "/etc/pgbackrest/pgbackrest.conf"
            };
            // archive_command names this host's pgbackrest.conf: local, never in the DCS.
            assert!(params.get("archive_command").is_none(), "{ctx}");
            assert_eq!(
                y["postgresql"]["parameters"]["archive_command"],
                format!(
                    "/usr/bin/pgbackrest --config={conf} --stanza=pg-ha-cluster archive-push %p"
                ),
                "{ctx}"
            );
            assert_eq!(
                params.get("wal_log_hints").is_some(),
                name == "debian_root",
                "{ctx}: wal_log_hints only without data checksums"
            );
            let boot = &y["bootstrap"];
            assert_eq!(boot["method"], "pgbackrest");
            assert!(boot.get("users").is_none() && boot.get("pg_hba").is_none());
            let method = &boot["pgbackrest"];
            assert_eq!(method["keep_existing_recovery_conf"], false);
            assert_eq!(method["no_params"], false);
            assert_eq!(
                method["recovery_conf"]["recovery_target_timeline"],
                "latest"
            );
            assert_eq!(
                method["recovery_conf"]["restore_command"],
                restore_command(&c)
            );
            assert!(method["command"]
                .as_str()
                .unwrap()
                .ends_with("/pgbackrest-bootstrap.sh"));
            assert!(boot["post_bootstrap"]
                .as_str()
                .unwrap()
                .ends_with("/post-bootstrap.sh"));
            assert_eq!(boot["initdb"][0]["encoding"], "UTF8");
            let pg = &y["postgresql"];
            assert_eq!(pg["listen"], format!("{}:5432", node.address));
            assert_eq!(
                pg["create_replica_methods"],
                serde_json::json!(["pgbackrest", "basebackup"])
            );
            assert_eq!(pg["pgbackrest"]["keep_data"], true);
            assert_eq!(pg["pgbackrest"]["no_params"], true);
            assert_eq!(pg["recovery_conf"]["restore_command"], restore_command(&c));
            assert!(
                pg.get("pg_hba").is_none(),
                "{ctx}: a local pg_hba would override the DCS one"
            );
            let hba: Vec<&str> = boot["dcs"]["postgresql"]["pg_hba"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect();
            for n in &c.nodes {
                let line = format!("host replication replicator {}/32 scram-sha-256", n.address);
                assert!(
                    hba.contains(&line.as_str()),
                    "{ctx}: {line} missing from {hba:?}"
                );
            }
            assert!(hba.contains(&"host all all 192.0.2.0/24 scram-sha-256"));
            assert_eq!(y["watchdog"]["mode"], "off", "{ctx}: a string, not false");
            assert!(y["tags"]["nofailover"].is_boolean());
            let with_password = pg["authentication"]["superuser"].get("password").is_some();
            assert_eq!(with_password, name == "inline", "{ctx}");
            if name == "inline" {
                assert_eq!(
                    pg["authentication"]["superuser"]["password"],
                    "Sup3r'secret\"$x"
                );
                assert_eq!(y["restapi"]["authentication"]["username"], "patroni");
            }
            if name == "etcd_v2" {
                assert_eq!(y["etcd"]["protocol"], "https");
                assert_eq!(y["etcd"]["cacert"], "/etc/pgha/etcd-ca.pem");
            }
            if name == "patroni3" && i == 2 {
                assert_eq!(y["tags"]["failover_priority"], 0);
            }
        }
    }
}

#[test]
fn yaml_1_1_words_and_numbers_stay_strings_for_pyyaml() {
    let words = [
        "on",
        "off",
        "yes",
        "no",
        "y",
        "N",
        "True",
        "null",
        "~",
        "0640",
        "10:30",
        "1_000",
        "0x1f",
        ".inf",
        "2001-12-14",
        "- a",
        "a: b",
        "a #b",
        "'q'",
        "\"d\"",
        "",
        " lead",
        "tab\tx",
        "line\nbreak",
        "@x",
        "%p",
        "*alias",
        "&anchor",
        "!tag",
        "=",
        "<<",
        "plain/path-1.2",
    ];
    let mut m = serde_norway::Mapping::new();
    for w in words {
        m.insert(w.into(), w.into());
    }
    let tree = serde_norway::Value::Mapping(m);
    let text = to_yaml(&tree);
    assert_eq!(
        parse_with_pyyaml(&text),
        serde_json::to_value(&tree).unwrap(),
        "{text}"
    );
    let back: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(back, tree);
    assert!(text.contains("plain/path-1.2: plain/path-1.2\n"), "{text}");
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is the tool installed?)"))
}

#[test]
fn every_script_passes_bash_n_and_shellcheck() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (name, c) in variants() {
        for plan in plans(&c) {
            for f in plan.files.iter().filter(|f| f.kind == FileKind::Shell) {
                assert!(f.content.starts_with("#!/usr/bin/env bash\n"), "{}", f.path);
                assert!(f.content.contains("\nset -euo pipefail\n"), "{}", f.path);
                let path = dir
                    .path()
                    .join(format!("{name}-{}-{checked}.sh", plan.host));
                std::fs::write(&path, &f.content).unwrap();
                let out = run(Command::new("bash").arg("-n").arg(&path));
                assert!(
                    out.status.success(),
                    "bash -n {name} {}: {}",
                    f.path,
                    String::from_utf8_lossy(&out.stderr)
                );
                let out = run(Command::new("shellcheck").args(["-s", "bash"]).arg(&path));
                assert!(
                    out.status.success(),
                    "shellcheck {name} {}:\n{}\n{}",
                    f.path,
                    String::from_utf8_lossy(&out.stdout),
                    f.content
                );
                checked += 1;
            }
        }
    }
    // 5 scripts per host, 4 without secret references (no resolver).
    assert_eq!(checked, 6 * 3 * 5 + 3 * 4, "scripts checked");
}

/// Runs pgBackRest's `help backup [option]` against a configuration file: `help` loads and
/// parses the file like every command (an unknown option is a `WARN: configuration file contains
/// invalid option`, a bad value an error exit) and shows each option's `current:` value, but
/// never opens the repository or the database.
fn pgbackrest_help(conf: &Path, stanza: &str, option: Option<&str>) -> Output {
    let mut cmd = Command::new("pgbackrest");
    cmd.arg(format!("--config={}", conf.display()))
        .arg(format!("--stanza={stanza}"))
        .args(["help", "backup"]);
    if let Some(o) = option {
        cmd.arg(o);
    }
    run(&mut cmd)
}

#[test]
fn every_pgbackrest_conf_is_accepted_by_pgbackrest() {
    let dir = tempfile::tempdir().unwrap();
    for (name, c) in variants() {
        let plan = host_plan(&c, 1).expect("a host of the cluster");
        let f = plan
            .files
            .iter()
            .find(|f| f.kind == FileKind::PgbackrestConf)
            .unwrap();
        let path = dir.path().join(format!("{name}.conf"));
        std::fs::write(&path, &f.content).unwrap();
        let out = pgbackrest_help(&path, c.stanza_name(), None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}\n{}", f.content);
        assert!(
            stderr.trim().is_empty(),
            "{name}: pgBackRest complained: {stderr}"
        );
        // The values come back as pgBackRest read them.
        let mut expect: BTreeMap<&str, String> = BTreeMap::new();
        expect.insert("pg1-path", c.layout().pg_data_dir.clone());
        expect.insert("repo1-retention-full", "10".to_string());
        expect.insert("process-max", "10".to_string());
        if let Repository::S3(_) = &c.pgbackrest.repository {
            expect.insert("repo1-s3-bucket", "pg_backup".to_string());
            expect.insert(
                "repo1-s3-endpoint",
                "examplenamespace.compat.objectstorage.us-ashburn-1.oraclecloud.com".to_string(),
            );
        } else {
            expect.insert("repo1-path", "/var/lib/pgbackrest".to_string());
        }
        for (option, value) in expect {
            let out = pgbackrest_help(&path, c.stanza_name(), Some(option));
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                stdout.contains(&format!("current: {value}\n")),
                "{name}: {option} is not {value}:\n{stdout}"
            );
        }
    }

    // The check has teeth: a misspelt option is reported, a bad value is an error.
    let base = host_plan(&seed(), 0).expect("a host of the cluster").files[2]
        .content
        .clone();
    assert!(base.starts_with("# pgBackRest"), "{base}");
    let bad = dir.path().join("bad-name.conf");
    std::fs::write(
        &bad,
        base.replace("[global]\n", "[global]\nrepo1-retention-ful=3\n"),
    )
    .unwrap();
    let out = pgbackrest_help(&bad, "pg-ha-cluster", None);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid option 'repo1-retention-ful'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = dir.path().join("bad-value.conf");
    std::fs::write(&bad, base.replace("process-max=10", "process-max=ten")).unwrap();
    let out = pgbackrest_help(&bad, "pg-ha-cluster", None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("'ten' is not valid for 'process-max'"));
}

#[test]
fn timer_schedules_are_valid_systemd_calendar_events() {
    let c = timers();
    let plan = host_plan(&c, 0).expect("a host of the cluster");
    let timers: Vec<_> = plan
        .files
        .iter()
        .filter(|f| f.path.ends_with(".timer") && !f.path.ends_with("/pgha-reconcile.timer"))
        .collect();
    assert_eq!(timers.len(), 4, "full, diff, incr and log clean-up");
    for t in timers {
        let line = t
            .content
            .lines()
            .find_map(|l| l.strip_prefix("OnCalendar="))
            .unwrap();
        let out = run(Command::new("systemd-analyze").args(["calendar", line]));
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        cron_to_on_calendar("30 */6 * * *").as_deref(),
        Some("*-*-* 00,06,12,18:30:00")
    );
    assert!(plan
        .prepare_commands
        .iter()
        .any(|c| c.first().map(String::as_str) == Some("systemctl")
            && c.contains(&"pgha-backup-full.timer".to_string())));
}

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn patroni_bin() -> PathBuf {
    let venv = std::env::var("PGHA_VENV").unwrap_or_else(|_| "/opt/pgha/venv".to_string());
    PathBuf::from(venv).join("bin/patroni")
}

/// `patroni --validate-config` (Patroni 4.x from the venv) on a rendered patroni.yml.
///
/// The validator checks the environment as well as the schema, and this is what it needed:
/// - `postgresql.bin_dir` must hold executable `postgres`, `pg_ctl`, `initdb`, … and `postgres
///   --version` must run: the Debian preset with PostgreSQL 15 points at
///   /usr/lib/postgresql/15/bin, which this machine has.
/// - `postgresql.data_dir` must be missing, empty or a data directory of that version: it lives
///   under a fresh temporary `root`, so it does not exist.
/// - every etcd `hosts` entry must accept a TCP connection ("is not reachable" otherwise), but is
///   never spoken to: a plain listener on 127.0.0.1 stands in for etcd.
/// - `restapi.listen` and `postgresql.listen` must be free to bind: fresh loopback ports.
///
/// Nothing had to be skipped; `--ignore-listen-port` is not used.
#[test]
fn patroni_validate_config_accepts_a_rendered_patroni_yml() {
    let bin = patroni_bin();
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup.sh (or set PGHA_VENV) to create the Patroni 4 venv",
        bin.display()
    );
    let version = run(Command::new(&bin).arg("--version"));
    let version = String::from_utf8_lossy(&version.stdout).to_string();
    assert!(version.starts_with("patroni 4."), "{version}");
    assert!(
        Path::new("/usr/lib/postgresql/15/bin/postgres").exists(),
        "PostgreSQL 15 binaries are needed in /usr/lib/postgresql/15/bin"
    );

    let etcd_standin = TcpListener::bind("127.0.0.1:0").unwrap();
    let etcd_port = etcd_standin.local_addr().unwrap().port();
    let root = tempfile::tempdir().unwrap();
    let mut c = debian_root();
    c.platform.root = Some(root.path().to_string_lossy().to_string());
    c.etcd.members.truncate(1);
    c.etcd.members[0].address = "127.0.0.1".to_string();
    c.etcd.members[0].client_port = etcd_port;
    c.nodes[0].address = "127.0.0.21".to_string();
    c.nodes[0].pg_port = free_port();
    c.nodes[0].restapi_port = Some(free_port());
    for (label, cluster) in [
        ("references", c.clone()),
        ("inline", {
            let mut i = c.clone();
            i.secrets = inline_secrets().secrets;
            i
        }),
    ] {
        let plan = host_plan(&cluster, 0).expect("a host of the cluster");
        let yml = &plan.files[0];
        assert_eq!(yml.kind, FileKind::PatroniYaml);
        let path = root.path().join(format!("patroni-{label}.yml"));
        std::fs::write(&path, &yml.content).unwrap();
        let out = run(Command::new(&bin).arg("--validate-config").arg(&path));
        assert!(
            out.status.success(),
            "{label}: patroni --validate-config failed:\n{}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            yml.content
        );
    }

    // The check has teeth: a misplaced key type is refused.
    let plan = host_plan(&c, 0).expect("a host of the cluster");
    let broken = plan.files[0]
        .content
        .replace("  ttl: 120\n", "  ttl: soon\n");
    assert_ne!(broken, plan.files[0].content);
    let path = root.path().join("broken.yml");
    std::fs::write(&path, broken).unwrap();
    let out = run(Command::new(&bin).arg("--validate-config").arg(&path));
    assert!(!out.status.success(), "a string ttl must be refused");
    drop(etcd_standin);
}

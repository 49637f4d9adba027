//! The `pgha` binary: exit codes, output formats, and what `render` writes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pgha(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgha"))
        .args(args)
        .output()
        .expect("run pgha")
}

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
        .display()
        .to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn validate_accepts_the_seed_and_reports_warnings_as_json() {
    let out = pgha(&[
        "validate",
        "--spec",
        &repo("examples/seed/cluster.yaml"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["errors"], 0);
    assert!(v["diagnostics"].as_array().is_some_and(|d| d
        .iter()
        .all(|d| d["severity"] != "error" && d["code"].is_string() && d["path"].is_string())));
}

fn broken_spec(dir: &Path) -> PathBuf {
    let seed = std::fs::read_to_string(repo("examples/seed/cluster.yaml")).unwrap();
    let broken = seed
        .replace("ttl: 120", "ttl: 5")
        .replace("name: pg-etcd-02", "name: \" pg-etcd-02\"");
    let path = dir.join("broken.yaml");
    std::fs::write(&path, broken).unwrap();
    path
}

#[test]
fn validate_and_render_refuse_a_broken_cluster_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let spec = broken_spec(dir.path());
    let spec = spec.to_str().unwrap();
    let out = pgha(&["validate", "--spec", spec]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("patroni.ttl"), "{err}");
    assert!(err.contains("etcd.members[1].name"), "{err}");
    assert!(err.contains("hint:"), "{err}");

    let out_dir = dir.path().join("out");
    let out = pgha(&["render", "--spec", spec, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("nothing rendered"));
    assert!(
        !out_dir.exists(),
        "render must not write anything when it refuses"
    );
}

#[test]
fn a_spec_that_does_not_parse_points_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::write(
        &path,
        "name: x\netcd:\n  members: []\n  heartbeat_interval_ms: fast\n",
    )
    .unwrap();
    let out = pgha(&["validate", "--spec", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("c.yaml:4:"), "{err}");
}

#[test]
fn unreadable_files_exit_2() {
    let out = pgha(&["validate", "--spec", "/nonexistent/cluster.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/cluster.yaml"));
    let out = pgha(&["lint", "/nonexistent/patroni.yml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn render_writes_every_host_with_modes_and_a_cloud_config() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = pgha(&[
        "render",
        "--spec",
        &repo("examples/seed/cluster.yaml"),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for host in [
        "pg-etcd-01",
        "pg-etcd-02",
        "pg-etcd-03",
        "pg-db-01",
        "pg-db-02",
        "pg-db-03",
    ] {
        let cc = std::fs::read_to_string(dir.path().join(host).join("cloud-init.yaml")).unwrap();
        assert!(cc.starts_with("#cloud-config\n"), "{host}");
    }
    let yml = dir.path().join("pg-db-02/etc/patroni/patroni.yml");
    let meta = std::fs::metadata(&yml).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&yml)
        .unwrap()
        .contains("name: pg-db-02"));
    let script = dir
        .path()
        .join("pg-db-01/etc/patroni/pgbackrest-bootstrap.sh");
    assert_ne!(
        std::fs::metadata(script).unwrap().permissions().mode() & 0o111,
        0
    );
}

#[test]
fn lint_exit_codes_follow_the_findings() {
    let dir = tempfile::tempdir().unwrap();
    // The tutorial's files: errors.
    let out = pgha(&[
        "lint",
        &repo("pgha-config/tests/fixtures/seed/patroni.yml"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["errors"].as_u64().unwrap() > 0);
    // A file we render: clean.
    let rendered = dir.path().join("out");
    let r = pgha(&[
        "render",
        "--spec",
        &repo("examples/seed/cluster.yaml"),
        "--out",
        rendered.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0));
    let out = pgha(&[
        "lint",
        rendered
            .join("pg-db-01/etc/patroni/patroni.yml")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

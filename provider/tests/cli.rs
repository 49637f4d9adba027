//! The binary's command line: refusing to serve outside Terraform, and the docs generator.

use std::path::{Path, PathBuf};
use std::process::Command;

fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_terraform-provider-pgha"));
    cmd.env_remove("TF_PLUGIN_MAGIC_COOKIE");
    cmd
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/examples")
}

#[test]
fn started_by_hand_it_explains_instead_of_waiting_for_a_handshake() {
    let out = binary().output().expect("run the binary");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("plugin for Terraform"), "{stderr}");
    assert!(out.stdout.is_empty(), "no handshake line may be printed");
}

#[test]
fn docs_check_fails_when_stale_and_passes_after_generation() {
    let out_dir = tempfile::tempdir().expect("tempdir");
    let docs = |extra: &[&str]| {
        let mut cmd = binary();
        cmd.arg("docs")
            .arg("--out")
            .arg(out_dir.path())
            .arg("--examples")
            .arg(fixtures())
            .arg("--include-internal")
            .args(extra);
        cmd.output().expect("run docs")
    };

    let check = docs(&["--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stderr).contains("index.md is missing"));

    assert!(docs(&[]).status.success());
    let page = std::fs::read_to_string(out_dir.path().join("resources/example.md"))
        .expect("resource page written");
    assert!(page.contains("# pgha_example (Resource)"));
    assert!(
        page.contains("value = \"primary\""),
        "example from resource.tf:\n{page}"
    );
    assert!(page.contains("terraform import pgha_example.example alpha"));
    let index = std::fs::read_to_string(out_dir.path().join("index.md")).expect("index");
    assert!(index.contains("provider \"pgha\" {}"), "{index}");
    assert!(index.contains("The provider takes no arguments."));

    let check = docs(&["--check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // Without --include-internal the example page is a page for an undocumented type.
    let mut cmd = binary();
    let strict = cmd
        .args(["docs", "--check", "--out"])
        .arg(out_dir.path())
        .arg("--examples")
        .arg(fixtures())
        .output()
        .expect("run docs");
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("example.md documents a type"));
}

#[test]
fn unknown_arguments_are_rejected() {
    let out = binary().arg("--frobnicate").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = binary().args(["docs", "--out"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}

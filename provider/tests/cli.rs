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
            .args(extra);
        cmd.output().expect("run docs")
    };

    let check = docs(&["--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stderr).contains("index.md is missing"));

    assert!(docs(&[]).status.success());
    let page = std::fs::read_to_string(out_dir.path().join("resources/etcd_member.md"))
        .expect("resource page written");
    assert!(page.contains("# pgha_etcd_member (Resource)"));
    assert!(
        page.contains("e3 = \"10.0.0.3\""),
        "example from resource.tf:\n{page}"
    );
    assert!(page.contains("terraform import pgha_etcd_member.example e1"));
    let index = std::fs::read_to_string(out_dir.path().join("index.md")).expect("index");
    assert!(index.contains("provider \"pgha\" {}"), "{index}");
    assert!(index.contains("## Schema"), "{index}");

    let check = docs(&["--check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // A page left behind by a resource type the provider no longer serves fails the check.
    std::fs::write(out_dir.path().join("resources/example.md"), "old\n").expect("write");
    let check = docs(&["--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stderr)
        .contains("example.md documents a type the provider does not have"));
    assert!(docs(&[]).status.success());
    assert!(!out_dir.path().join("resources/example.md").exists());
    assert!(docs(&["--check"]).status.success());
}

#[test]
fn unknown_arguments_are_rejected() {
    let out = binary().arg("--frobnicate").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = binary().args(["docs", "--out"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    // Every type is documented: there is no switch for internal ones.
    let out = binary()
        .args(["docs", "--check", "--include-internal"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

/// Started with Terraform's cookie (and no client certificate, so without TLS), the binary
/// prints go-plugin's handshake line for a Unix socket in a private directory, serves until
/// SIGTERM, and removes the directory when it exits.
#[test]
fn handshake_names_a_private_unix_socket_that_is_removed_on_exit() {
    use std::io::BufRead as _;
    use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};

    let base = tempfile::tempdir().expect("tempdir");
    let mut child = binary()
        .env("TF_PLUGIN_MAGIC_COOKIE", tfplugin_cookie())
        .env("PLUGIN_UNIX_SOCKET_DIR", base.path())
        .env_remove("PLUGIN_CLIENT_CERT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the provider");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the handshake");
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(fields.len(), 6, "{line:?}");
    assert_eq!(&fields[..3], ["1", "6", "unix"], "{line:?}");
    assert_eq!(&fields[4..], ["grpc", ""], "{line:?}");
    let socket = PathBuf::from(fields[3]);
    let dir = socket.parent().expect("socket directory").to_owned();
    assert_eq!(dir.parent(), Some(base.path()));
    let meta = std::fs::metadata(&socket).expect("socket exists");
    assert!(meta.file_type().is_socket());
    let mode = std::fs::metadata(&dir).expect("dir").permissions().mode();
    assert_eq!(mode & 0o077, 0, "socket directory is private: {mode:o}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn a_malformed_client_certificate_is_a_clear_error() {
    let base = tempfile::tempdir().expect("tempdir");
    let out = binary()
        .env("TF_PLUGIN_MAGIC_COOKIE", tfplugin_cookie())
        .env("PLUGIN_UNIX_SOCKET_DIR", base.path())
        .env("PLUGIN_CLIENT_CERT", "not a certificate")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PLUGIN_CLIENT_CERT"), "{stderr}");
    assert!(out.stdout.is_empty(), "no handshake without a server");
    assert_eq!(
        std::fs::read_dir(base.path()).expect("list").count(),
        0,
        "socket directory removed"
    );
}

fn tfplugin_cookie() -> &'static str {
    terraform_provider_pgha::tfplugin::MAGIC_COOKIE_VALUE
}

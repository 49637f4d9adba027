//! Helpers for the provider's OCI tests (`tests/oci_*.rs`). The stand-in, the openssl keys
//! and the pgBackRest repository script are pgha-oci's (`pgha-oci/tests/common/mod.rs`,
//! included by each test file as `oci_common`, and
//! `pgha-oci/tests/support/make-pgbackrest-repo.sh`); this module only adds what the provider
//! needs on top: provider blocks, settings, an isolated environment.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;
use terraform_provider_pgha::oci::OciSettings;

use crate::oci_common::{build_pgbackrest_repo, run, TestKey, TENANCY, USER};

/// Loopback address for the provider tests' stand-ins (pgha-oci's own tests use .40).
pub const STANDIN_HOST: &str = "127.0.0.41";
/// Object Storage namespace served by the stand-in.
pub const NAMESPACE: &str = "pghatestns";
/// The bucket that holds the repository.
pub const BUCKET: &str = "pg-backups";
/// Region written into configurations (the endpoint override makes it irrelevant).
pub const REGION: &str = "ap-chuncheon-1";

/// An HCL string literal.
pub fn hcl(s: &str) -> String {
    Json::String(s.to_string()).to_string()
}

/// A `provider "pgha"` block with every setting as an attribute.
pub fn provider_block(key: &TestKey, endpoint: &str) -> String {
    format!(
        "provider \"pgha\" {{\n  tenancy_ocid            = {}\n  user_ocid               = {}\n  \
         fingerprint             = {}\n  private_key_path        = {}\n  region                  \
         = {}\n  object_storage_endpoint = {}\n}}\n",
        hcl(TENANCY),
        hcl(USER),
        hcl(&key.fingerprint),
        hcl(&key.private_pem.display().to_string()),
        hcl(REGION),
        hcl(endpoint),
    )
}

/// Settings equivalent to [`provider_block`], for calling the library directly.
pub fn settings(key: &TestKey, endpoint: &str) -> OciSettings {
    let mut s = OciSettings::default();
    s.auth.tenancy_ocid = Some(TENANCY.to_string());
    s.auth.user_ocid = Some(USER.to_string());
    s.auth.fingerprint = Some(key.fingerprint.clone());
    s.auth.private_key_path = Some(key.private_pem.display().to_string());
    s.auth.region = Some(REGION.to_string());
    s.object_storage_endpoint = Some(endpoint.to_string());
    s
}

/// Environment for Terraform (and so the provider) that hides the developer's OCI config
/// file: `HOME` and `OCI_CONFIG_FILE` point into `dir`.
pub fn isolated_env(dir: &Path) -> Vec<(String, String)> {
    vec![
        ("HOME".to_string(), dir.display().to_string()),
        (
            "OCI_CONFIG_FILE".to_string(),
            dir.join("oci-config").display().to_string(),
        ),
    ]
}

/// The pairs of `env` as the harness wants them.
pub fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// `key`'s private key re-encrypted with `pass` (PBES2, AES-256-CBC) by openssl.
pub fn encrypted_copy(key: &TestKey, pass: &str) -> PathBuf {
    let out = key.dir.path().join("encrypted.pem");
    run(Command::new("openssl")
        .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in"])
        .arg(&key.private_pem)
        .arg("-out")
        .arg(&out)
        .arg("-passout")
        .arg(format!("pass:{pass}")));
    out
}

/// A pgBackRest repository written by the installed pgBackRest for a throw-away PostgreSQL
/// cluster (full, diff and incr backups), with `pgbackrest info --output=json`.
pub struct Repository {
    _dir: tempfile::TempDir,
    /// The script's work directory (`repo/`, `pgbackrest.conf`, `info.json`, ...).
    pub work: PathBuf,
    /// `pgbackrest info --output=json`, parsed.
    pub info: Json,
}

impl Repository {
    /// Runs pgha-oci's `make-pgbackrest-repo.sh` (needs root: PostgreSQL runs as `postgres`).
    pub fn build(stanza: &str) -> Repository {
        let (dir, work, info) = build_pgbackrest_repo(stanza);
        Repository {
            _dir: dir,
            work,
            info,
        }
    }

    /// The posix repository (`repo1-path`).
    pub fn repo(&self) -> PathBuf {
        self.work.join("repo")
    }

    /// A stand-in root holding a copy of the repository as `NAMESPACE/BUCKET/pgbackrest/...`.
    pub fn standin_root(&self, name: &str) -> PathBuf {
        let root = self.work.join(name);
        let bucket = root.join(NAMESPACE).join(BUCKET);
        std::fs::create_dir_all(&bucket).expect("bucket directory");
        run(Command::new("cp")
            .arg("-a")
            .arg(self.repo())
            .arg(bucket.join("pgbackrest")));
        root
    }

    /// The stanza entry of `pgbackrest info --output=json`.
    pub fn stanza_info(&self, stanza: &str) -> &Json {
        self.info
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == stanza))
            .unwrap_or_else(|| panic!("stanza {stanza} not in {:#}", self.info))
    }
}

/// An empty stand-in root with one empty bucket (no stanza in it).
pub fn empty_bucket_root(dir: &Path) -> PathBuf {
    let root = dir.join("standin");
    std::fs::create_dir_all(root.join(NAMESPACE).join(BUCKET)).expect("bucket directory");
    root
}

/// `date -u -d @<secs> +%Y-%m-%dT%H:%M:%SZ`: the RFC 3339 form, computed by coreutils.
pub fn coreutils_rfc3339(secs: i64) -> String {
    let out = run(Command::new("date")
        .arg("-u")
        .arg("-d")
        .arg(format!("@{secs}"))
        .arg("+%Y-%m-%dT%H:%M:%SZ"));
    String::from_utf8_lossy(&out).trim().to_string()
}

/// The Object Storage calls a stand-in has served so far (its own test hooks left out), for
/// synchronous tests.
pub fn api_calls(standin: &crate::oci_common::Standin) -> Vec<(String, String, u16)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut log = runtime.block_on(standin.log());
    log.retain(|(_, path, _)| !path.starts_with("/_standin/"));
    log
}

/// Starts a stand-in on [`STANDIN_HOST`] serving `root`, knowing `key`, its clock shifted by
/// `clock_offset` seconds.
pub fn start_standin(root: &Path, key: &TestKey, clock_offset: i64) -> crate::oci_common::Standin {
    let mut opts = crate::oci_common::StandinOptions::new(NAMESPACE, key);
    opts.host = STANDIN_HOST.to_string();
    opts.clock_offset_secs = clock_offset;
    crate::oci_common::Standin::start(root, &opts)
}

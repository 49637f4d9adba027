//! Shared helpers for the integration tests (also included by the provider's
//! `tests/oci_*.rs` through `#[path]`): keys made with the openssl CLI
//! and the Python Object Storage stand-in (`tests/oci-standin/server.py` at
//! the workspace root), which is killed when its handle is dropped, also
//! when a test panics.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const TENANCY: &str = "ocid1.tenancy.oc1..aaaaaaaastandintenancy";
pub const USER: &str = "ocid1.user.oc1..aaaaaaaastandinuser";

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate lives inside the workspace")
        .to_path_buf()
}

/// Runs a command and returns stdout, panicking with stderr on failure.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// An RSA key pair written by the openssl CLI.
pub struct TestKey {
    pub dir: tempfile::TempDir,
    /// PKCS#8 `PRIVATE KEY` as written by `openssl genpkey`.
    pub private_pem: PathBuf,
    /// `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub public_pem: PathBuf,
    /// Fingerprint computed by openssl: MD5 over the DER public key.
    pub fingerprint: String,
}

pub fn openssl_key(bits: u32) -> TestKey {
    let dir = tempfile::tempdir().unwrap();
    let private_pem = dir.path().join("key.pem");
    let public_pem = dir.path().join("public.pem");
    run(Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
        .arg(format!("rsa_keygen_bits:{bits}"))
        .arg("-out")
        .arg(&private_pem));
    run(Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private_pem)
        .arg("-out")
        .arg(&public_pem));
    let der = run(Command::new("openssl")
        .args(["pkey", "-pubin", "-outform", "DER", "-in"])
        .arg(&public_pem));
    let fingerprint = md5_colon(&der);
    TestKey {
        dir,
        private_pem,
        public_pem,
        fingerprint,
    }
}

/// MD5 as colon-separated hex, computed by `openssl dgst -md5 -c`.
pub fn md5_colon(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["dgst", "-md5", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl must be installed");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_string()
}

/// The Python interpreter for the stand-in: `$PGHA_STANDIN_PYTHON`, else
/// `/usr/bin/python3` (Debian's python3-cryptography; see
/// `tests/oci-standin/setup.sh`).
pub fn standin_python() -> PathBuf {
    let python = std::env::var_os("PGHA_STANDIN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/python3"));
    let ok = Command::new(&python)
        .args(["-c", "import cryptography"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{} cannot import `cryptography`; run tests/oci-standin/setup.sh",
        python.display()
    );
    python
}

pub struct StandinOptions {
    /// Loopback address to listen on (the stand-in refuses anything else).
    pub host: String,
    pub namespace: String,
    pub page_size: u32,
    pub clock_offset_secs: i64,
    /// `(tenancy/user principal, public key PEM path)` pairs.
    pub users: Vec<(String, PathBuf)>,
}

impl StandinOptions {
    pub fn new(namespace: &str, key: &TestKey) -> Self {
        Self {
            host: "127.0.0.40".to_string(),
            namespace: namespace.to_string(),
            page_size: 3,
            clock_offset_secs: 0,
            users: vec![(format!("{TENANCY}/{USER}"), key.public_pem.clone())],
        }
    }
}

/// A running stand-in. Dropping it kills the process and reaps it.
pub struct Standin {
    child: Child,
    pub base_url: String,
    pub root: PathBuf,
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Standin {
    pub fn start(root: &Path, opts: &StandinOptions) -> Standin {
        let script = workspace_root().join("tests/oci-standin/server.py");
        let mut cmd = Command::new(standin_python());
        cmd.arg(&script)
            .arg("--root")
            .arg(root)
            .args(["--namespace", &opts.namespace])
            .args(["--host", &opts.host, "--port", "0"])
            .args(["--page-size", &opts.page_size.to_string()])
            .args(["--clock-offset", &opts.clock_offset_secs.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (principal, pem) in &opts.users {
            cmd.arg("--user")
                .arg(format!("{principal}={}", pem.display()));
        }
        let mut child = cmd.spawn().expect("cannot start the stand-in");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("stand-in did not start: {other:?}");
            }
        };
        let mut parts = line.split_whitespace();
        assert_eq!(parts.next(), Some("LISTENING"), "unexpected: {line}");
        let host = parts.next().unwrap().to_string();
        let port = parts.next().unwrap().to_string();
        Standin {
            child,
            base_url: format!("http://{host}:{port}"),
            root: root.to_path_buf(),
        }
    }

    /// Queues injected failures: the next `count` requests whose path
    /// contains `matching` get `status` (with `Retry-After` if given).
    pub async fn inject_fault(
        &self,
        matching: &str,
        status: u16,
        count: u32,
        retry_after: Option<u64>,
    ) {
        let body = serde_json::json!({
            "match": matching,
            "status": status,
            "count": count,
            "retry_after": retry_after,
            "code": if status == 429 { "TooManyRequests" } else { "InternalServerError" },
        });
        let resp = control_client()
            .post(format!("{}/_standin/faults", self.base_url))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }

    /// Requests served so far: `(method, path, status)`.
    pub async fn log(&self) -> Vec<(String, String, u16)> {
        let bytes = control_client()
            .get(format!("{}/_standin/log", self.base_url))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["method"].as_str().unwrap().to_string(),
                    e["path"].as_str().unwrap().to_string(),
                    e["status"].as_u64().unwrap() as u16,
                )
            })
            .collect()
    }
}

/// A signer for the key registered with the stand-in.
pub fn signer_for(key: &TestKey) -> pgha_oci::RequestSigner {
    let api_key = pgha_oci::ApiKey::from_file(&key.private_pem, None).unwrap();
    pgha_oci::RequestSigner::new(TENANCY, USER, &key.fingerprint, &api_key).unwrap()
}

/// A plain HTTP client for the stand-in's unsigned test hooks.
pub fn control_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Builds a real pgBackRest repository with `tests/support/make-pgbackrest-repo.sh`
/// (PostgreSQL runs as `postgres` via `runuser`, so this needs root): returns the temporary
/// directory that owns it, the script's work directory (`repo/`, `pgbackrest.conf`, ...) and
/// `pgbackrest info --output=json`.
pub fn build_pgbackrest_repo(stanza: &str) -> (tempfile::TempDir, PathBuf, serde_json::Value) {
    let uid = run(Command::new("id").arg("-u"));
    assert_eq!(
        String::from_utf8_lossy(&uid).trim(),
        "0",
        "this test runs PostgreSQL as the postgres user via runuser and must run as root"
    );
    let dir = tempfile::Builder::new()
        .prefix("pgha-oci-pgbackrest.")
        .tempdir()
        .unwrap();
    let work = dir.path().join("w");
    let script = workspace_root().join("pgha-oci/tests/support/make-pgbackrest-repo.sh");
    let started = std::time::Instant::now();
    let out = Command::new(&script)
        .arg(&work)
        .arg(stanza)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} failed:\n{}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("pgBackRest repository built in {:?}", started.elapsed());
    let info = serde_json::from_slice(&std::fs::read(work.join("info.json")).unwrap()).unwrap();
    (dir, work, info)
}

/// Damages an info file: the first `backup-info-size` grows by one, which keeps the file
/// valid JSON but breaks its checksum.
pub fn tamper(file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    let key = "\"backup-info-size\":";
    let at = text.find(key).unwrap() + key.len();
    let end = at + text[at..].find(',').unwrap();
    let n: u64 = text[at..end].parse().unwrap();
    let changed = format!("{}{}{}", &text[..at], n + 1, &text[end..]);
    std::fs::write(file, changed).unwrap();
}

//! The provider's etcd client against a real etcd that serves its clients over TLS and requires
//! client certificates (`--client-cert-auth`): the member list, adding and removing a learner
//! and the health check work with the CA and a client certificate; without the client
//! certificate, or trusting another CA, the calls fail.
//!
//! Certificates are made with the `openssl` command; etcd is Debian's /usr/bin/etcd.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use terraform_provider_pgha::etcd_api::{ClientTls, EtcdApi};

const ADDR: &str = "127.0.0.62";
const CLIENT_PORT: u16 = 23791;
const PEER_PORT: u16 = 23801;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a certificate signed by it for `name` with `ext` (extensions file contents).
fn ca(dir: &Path, ca: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.crt"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={ca}"),
        ],
    );
}

fn signed(dir: &Path, ca: &str, name: &str, ext: &str) {
    std::fs::write(dir.join(format!("{name}.ext")), ext).expect("write ext");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &format!("{name}.crt"),
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
}

struct Etcd(Child);

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).expect("read pem")
}

#[tokio::test]
async fn the_client_reaches_a_tls_etcd_with_its_client_certificate_only() {
    if !Path::new("/usr/bin/etcd").is_file() {
        panic!("/usr/bin/etcd is missing: scripts/setup.sh installs etcd-server");
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    ca(dir, "ca");
    ca(dir, "other-ca");
    signed(
        dir,
        "ca",
        "server",
        &format!(
            "subjectAltName=IP:{ADDR}\nextendedKeyUsage=serverAuth,clientAuth\n\
             keyUsage=digitalSignature,keyEncipherment\n"
        ),
    );
    signed(
        dir,
        "ca",
        "client",
        "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n",
    );
    let client_url = format!("https://{ADDR}:{CLIENT_PORT}");
    let peer_url = format!("http://{ADDR}:{PEER_PORT}");
    let data = dir.join("data");
    let log = std::fs::File::create(dir.join("etcd.log")).expect("log");
    let etcd = Etcd(
        Command::new("/usr/bin/etcd")
            .args([
                "--name",
                "tlsone",
                "--data-dir",
                data.to_str().expect("utf-8 path"),
                "--listen-client-urls",
                &client_url,
                "--advertise-client-urls",
                &client_url,
                "--listen-peer-urls",
                &peer_url,
                "--initial-advertise-peer-urls",
                &peer_url,
                "--initial-cluster",
                &format!("tlsone={peer_url}"),
                "--cert-file",
                "server.crt",
                "--key-file",
                "server.key",
                "--trusted-ca-file",
                "ca.crt",
                "--client-cert-auth",
            ])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts"),
    );
    let tls = ClientTls {
        ca_pem: read(dir, "ca.crt"),
        cert_pem: Some(read(dir, "client.crt")),
        key_pem: Some(read(dir, "client.key")),
    };
    let api = EtcdApi::new(vec![client_url.clone()], Some(&tls)).expect("client");
    let start = Instant::now();
    let members = loop {
        match api.members(Duration::from_secs(2)).await {
            Ok(m) => break m,
            Err(e) if start.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => panic!(
                "no member list over TLS: {e}\n{}",
                std::fs::read_to_string(dir.join("etcd.log")).unwrap_or_default()
            ),
        }
    };
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].name, "tlsone");
    assert!(api.healthy(&client_url).await, "GET /health over TLS");

    // A learner added and removed again, over TLS.
    let (added, with) = api
        .add("http://127.0.0.63:23802", true, Duration::from_secs(10))
        .await
        .expect("MemberAdd as a learner");
    assert!(added.is_learner && !added.started());
    assert_eq!(with.len(), 2);
    api.remove(added.id, Duration::from_secs(10))
        .await
        .expect("MemberRemove");
    assert_eq!(
        api.members(Duration::from_secs(5))
            .await
            .expect("list")
            .len(),
        1
    );

    // The CA alone: etcd wants a client certificate.
    let no_cert = ClientTls {
        ca_pem: tls.ca_pem.clone(),
        cert_pem: None,
        key_pem: None,
    };
    let api = EtcdApi::new(vec![client_url.clone()], Some(&no_cert)).expect("client");
    assert!(api.members(Duration::ZERO).await.is_err());
    assert!(!api.healthy(&client_url).await);

    // Another CA: the server's certificate is not trusted.
    let wrong = ClientTls {
        ca_pem: read(dir, "other-ca.crt"),
        ..tls.clone()
    };
    let api = EtcdApi::new(vec![client_url.clone()], Some(&wrong)).expect("client");
    assert!(api.members(Duration::ZERO).await.is_err());

    // Not PEM: a clear error, no panic.
    let broken = ClientTls {
        ca_pem: "not a certificate".to_string(),
        ..tls.clone()
    };
    assert!(EtcdApi::new(vec![client_url], Some(&broken)).is_err());
    // The key never shows in Debug output.
    let shown = format!("{tls:?}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    drop(etcd);
}

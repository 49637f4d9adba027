//! Private key formats, pass phrases, the console's OCI_API_KEY trailer and
//! fingerprints, with keys produced by the openssl CLI (the same tool the OCI
//! documentation tells users to run).

mod common;

use std::path::Path;
use std::process::Command;

use common::{openssl_key, run};
use pgha_oci::signer::SigningInput;
use pgha_oci::{ApiKey, KeyError, RequestSigner};

fn write(dir: &Path, name: &str, content: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn first_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn all_supported_encodings_load_with_the_openssl_fingerprint() {
    let key = openssl_key(2048);
    let dir = key.dir.path();

    let pkcs8 = key.private_pem.clone();
    assert_eq!(first_line(&pkcs8), "-----BEGIN PRIVATE KEY-----");

    let pkcs1 = dir.join("pkcs1.pem");
    run(Command::new("openssl")
        .args(["rsa", "-traditional", "-in"])
        .arg(&pkcs8)
        .arg("-out")
        .arg(&pkcs1));
    assert_eq!(first_line(&pkcs1), "-----BEGIN RSA PRIVATE KEY-----");

    let encrypted = dir.join("encrypted.pem");
    run(Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:s3cret phrase",
            "-in",
        ])
        .arg(&pkcs8)
        .arg("-out")
        .arg(&encrypted));
    assert_eq!(
        first_line(&encrypted),
        "-----BEGIN ENCRYPTED PRIVATE KEY-----"
    );

    // What the OCI console download looks like: a trailer after END.
    let mut console = std::fs::read(&pkcs8).unwrap();
    console.extend_from_slice(b"OCI_API_KEY\n");
    let console = write(dir, "console.pem", &console);

    for (path, pass) in [
        (&pkcs8, None),
        (&pkcs1, None),
        (&encrypted, Some("s3cret phrase")),
        (&console, None),
        // A pass phrase configured for a plain key is ignored, as OCI tools do.
        (&pkcs1, Some("unused")),
    ] {
        let loaded =
            ApiKey::from_file(path, pass).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(loaded.fingerprint(), key.fingerprint, "{}", path.display());
        loaded
            .check_fingerprint(&key.fingerprint.to_uppercase(), None)
            .unwrap();
    }

    // Keys pasted with CRLF line ends load too.
    let crlf = std::fs::read_to_string(&pkcs1)
        .unwrap()
        .replace('\n', "\r\n");
    assert_eq!(
        ApiKey::from_pem(&crlf, None).unwrap().fingerprint(),
        key.fingerprint
    );
}

#[test]
fn public_key_pem_matches_openssl() {
    let key = openssl_key(2048);
    let loaded = ApiKey::from_file(&key.private_pem, None).unwrap();
    assert_eq!(
        loaded.public_key_pem().unwrap(),
        std::fs::read_to_string(&key.public_pem).unwrap()
    );
}

#[test]
fn pass_phrase_problems_are_explained() {
    let key = openssl_key(2048);
    let encrypted = key.dir.path().join("encrypted.pem");
    run(Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:right",
            "-in",
        ])
        .arg(&key.private_pem)
        .arg("-out")
        .arg(&encrypted));

    let err = ApiKey::from_file(&encrypted, Some("wrong")).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassphrase { .. }), "{err:?}");
    assert!(err.to_string().contains("pass phrase is wrong"), "{err}");
    assert!(err.to_string().contains("encrypted.pem"), "{err}");

    for missing in [None, Some("")] {
        let err = ApiKey::from_file(&encrypted, missing).unwrap_err();
        assert!(
            matches!(err, KeyError::PassphraseRequired { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("private_key_password"), "{err}");
    }

    // Legacy OpenSSL encryption (Proc-Type/DEK-Info) gets a conversion hint.
    let legacy = key.dir.path().join("legacy.pem");
    run(Command::new("openssl")
        .args([
            "rsa",
            "-traditional",
            "-aes128",
            "-passout",
            "pass:right",
            "-in",
        ])
        .arg(&key.private_pem)
        .arg("-out")
        .arg(&legacy));
    let err = ApiKey::from_file(&legacy, Some("right")).unwrap_err();
    assert!(matches!(err, KeyError::LegacyEncryption { .. }), "{err:?}");
    assert!(err.to_string().contains("openssl pkcs8 -topk8"), "{err}");
}

#[test]
fn unusable_inputs_give_specific_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = ApiKey::from_file(&dir.path().join("absent.pem"), None).unwrap_err();
    assert!(matches!(err, KeyError::Unreadable { .. }), "{err:?}");
    assert!(err.to_string().contains("absent.pem"), "{err}");

    let err = ApiKey::from_pem("just some text", None).unwrap_err();
    assert!(matches!(err, KeyError::NoPemBlock { .. }), "{err:?}");

    let err = ApiKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n", None).unwrap_err();
    assert!(
        matches!(err, KeyError::NoPemBlock { .. }),
        "unterminated block: {err:?}"
    );

    let key = openssl_key(2048);
    let public = std::fs::read_to_string(&key.public_pem).unwrap();
    let err = ApiKey::from_pem(&public, None).unwrap_err();
    assert!(
        matches!(err, KeyError::UnsupportedLabel { ref label, .. } if label == "PUBLIC KEY"),
        "{err:?}"
    );

    let err = ApiKey::from_pem(
        "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
        None,
    )
    .unwrap_err();
    assert!(matches!(err, KeyError::BadBase64 { .. }), "{err:?}");

    let err = ApiKey::from_pem(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        None,
    )
    .unwrap_err();
    assert!(matches!(err, KeyError::InvalidKey { .. }), "{err:?}");

    // An EC key is a valid PKCS#8 document but not an RSA key.
    let ec = dir.path().join("ec.pem");
    run(Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&ec));
    let err = ApiKey::from_file(&ec, None).unwrap_err();
    assert!(matches!(err, KeyError::InvalidKey { .. }), "{err:?}");
}

#[test]
fn fingerprint_mismatch_is_reported_with_both_values() {
    let a = openssl_key(2048);
    let b = openssl_key(2048);
    let key_a = ApiKey::from_file(&a.private_pem, None).unwrap();
    let err = RequestSigner::new(
        "ocid1.tenancy.oc1..t",
        "ocid1.user.oc1..u",
        &b.fingerprint,
        &key_a,
    )
    .unwrap_err();
    match &err {
        KeyError::FingerprintMismatch {
            configured, actual, ..
        } => {
            assert_eq!(configured, &b.fingerprint);
            assert_eq!(actual, &a.fingerprint);
        }
        other => panic!("expected FingerprintMismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&a.fingerprint) && text.contains(&b.fingerprint),
        "{text}"
    );

    let ok = RequestSigner::new(
        "ocid1.tenancy.oc1..t",
        "ocid1.user.oc1..u",
        &a.fingerprint,
        &key_a,
    )
    .unwrap();
    assert_eq!(
        ok.key_id(),
        format!("ocid1.tenancy.oc1..t/ocid1.user.oc1..u/{}", a.fingerprint)
    );
}

#[test]
fn signatures_verify_with_openssl() {
    // Independent check of the RSA-SHA256 PKCS#1 v1.5 signature itself.
    let key = openssl_key(2048);
    let api_key = ApiKey::from_file(&key.private_pem, None).unwrap();
    let signer = RequestSigner::with_key_id("k", &api_key);
    let signed = signer
        .sign(&SigningInput {
            method: "GET",
            path_and_query: "/n/",
            host: "objectstorage.ap-chuncheon-1.oraclecloud.com",
            date: "Tue, 24 Nov 2026 10:00:00 GMT",
            body: b"",
            content_type: None,
        })
        .unwrap();
    let sig_b64 = signed
        .authorization
        .split("signature=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    use base64::Engine as _;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(sig_b64)
        .unwrap();
    let dir = key.dir.path();
    let msg = write(dir, "msg", signed.signing_string.as_bytes());
    let sig_path = write(dir, "sig", &sig);
    let out = run(Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&key.public_pem)
        .arg("-signature")
        .arg(&sig_path)
        .arg(&msg));
    assert_eq!(String::from_utf8_lossy(&out).trim(), "Verified OK");
}

//! Reproduces the GET and POST examples published in OCI's "Request
//! Signatures" documentation byte for byte (fixtures in
//! `tests/fixtures/oci-signing-example`, see its SOURCE.md).

mod common;

use std::path::PathBuf;
use std::process::Command;

use pgha_oci::signer::{RequestSigner, SigningInput};
use pgha_oci::ApiKey;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oci-signing-example")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Fixture text without `#` comment lines, lines joined by `\n`.
fn uncommented(name: &str) -> String {
    fixture(name)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

fn field(request: &str, name: &str) -> String {
    uncommented(request)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
        .unwrap_or_else(|| panic!("{request} has no {name}"))
}

fn test_key() -> ApiKey {
    ApiKey::from_pem(&fixture("test-key.pem"), None).unwrap()
}

fn signer(request: &str) -> RequestSigner {
    RequestSigner::with_key_id(field(request, "key-id"), &test_key())
}

fn host_and_target(url: &str) -> (String, String) {
    let u = reqwest::Url::parse(url).unwrap();
    let mut target = u.path().to_string();
    if let Some(q) = u.query() {
        target = format!("{target}?{q}");
    }
    (u.host_str().unwrap().to_string(), target)
}

#[test]
fn published_get_example_is_reproduced_exactly() {
    let url = field("get.request", "url");
    let (host, target) = host_and_target(&url);
    let date = field("get.request", "date");
    let signed = signer("get.request")
        .sign(&SigningInput {
            method: &field("get.request", "method"),
            path_and_query: &target,
            host: &host,
            date: &date,
            body: b"",
            content_type: None,
        })
        .unwrap();
    assert_eq!(signed.signing_string, uncommented("get.signing-string"));
    assert_eq!(signed.authorization, uncommented("get.authorization"));
    assert_eq!(
        signed.x_content_sha256, None,
        "GET must not sign body headers"
    );
}

#[test]
fn published_post_example_is_reproduced_exactly() {
    let url = field("post.request", "url");
    let (host, target) = host_and_target(&url);
    let body = fixture("post-body.json");
    let signed = signer("post.request")
        .sign(&SigningInput {
            method: &field("post.request", "method"),
            path_and_query: &target,
            host: &host,
            date: &field("post.request", "date"),
            body: body.as_bytes(),
            content_type: Some(&field("post.request", "content-type")),
        })
        .unwrap();
    assert_eq!(signed.signing_string, uncommented("post.signing-string"));
    assert_eq!(signed.authorization, uncommented("post.authorization"));
    assert_eq!(signed.content_length.as_deref(), Some("316"));
}

#[test]
fn reqwest_requests_are_signed_as_sent() {
    // The same examples through sign_request: the URL's path and query must
    // be signed exactly as reqwest will send them.
    for (req, body) in [
        ("get.request", None),
        ("post.request", Some(fixture("post-body.json"))),
    ] {
        let method: reqwest::Method = field(req, "method").parse().unwrap();
        let mut request = reqwest::Request::new(method, field(req, "url").parse().unwrap());
        request
            .headers_mut()
            .insert("date", field(req, "date").parse().unwrap());
        if let Some(b) = body {
            request
                .headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            *request.body_mut() = Some(b.into());
        }
        signer(req).sign_request(&mut request).unwrap();
        let auth = request.headers()["authorization"].to_str().unwrap();
        let expected_file = req.replace(".request", ".authorization");
        assert_eq!(auth, uncommented(&expected_file), "{req}");
    }
}

#[test]
fn empty_body_post_still_signs_body_headers() {
    let signed = signer("post.request")
        .sign(&SigningInput {
            method: "put",
            path_and_query: "/n/ns/b/bucket/o/empty",
            host: "127.0.0.1:8080",
            date: "Thu, 05 Jan 2014 21:31:40 GMT",
            body: b"",
            content_type: None,
        })
        .unwrap();
    assert_eq!(signed.content_length.as_deref(), Some("0"));
    // SHA-256 of the empty string, base64.
    assert_eq!(
        signed.x_content_sha256.as_deref(),
        Some("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
    );
    assert!(signed
        .signing_string
        .contains("(request-target): put /n/ns/b/bucket/o/empty\nhost: 127.0.0.1:8080\n"));
    assert!(signed.authorization.contains(
        "headers=\"date (request-target) host content-length content-type x-content-sha256\""
    ));
}

#[test]
fn fingerprint_of_published_key_matches_openssl() {
    // Independent check: openssl computes MD5 over the DER public key.
    let pem = fixture("test-key.pem");
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("k.pem");
    std::fs::write(&key_path, &pem).unwrap();
    let der = Command::new("openssl")
        .args(["rsa", "-pubout", "-outform", "DER", "-in"])
        .arg(&key_path)
        .output()
        .expect("openssl must be installed");
    assert!(
        der.status.success(),
        "{}",
        String::from_utf8_lossy(&der.stderr)
    );
    let digest = common::md5_colon(&der.stdout);
    assert_eq!(test_key().fingerprint(), digest);
    // The page's sample fingerprint is a placeholder, not this key's.
    assert_ne!(digest, "20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34");
}

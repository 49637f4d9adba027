//! `oci::verify_bucket` (the opt-in bucket check resources run at apply) against the Python
//! Object Storage stand-in, which verifies every request's signature, signed headers and date:
//! success sends exactly the expected calls; each kind of failure becomes one error diagnostic
//! whose summary names it, and failures found locally (key, pass phrase, fingerprint, region)
//! send nothing at all.

#[path = "../../pgha-oci/tests/common/mod.rs"]
mod oci_common;
mod oci_helpers;

use oci_common::{openssl_key, Standin, StandinOptions, TestKey};
use oci_helpers::{empty_bucket_root, encrypted_copy, settings, BUCKET, NAMESPACE, STANDIN_HOST};
use terraform_provider_pgha::oci::{verify_bucket, BucketTarget, OciSettings};
use tfplugin::{AttributePath, Diagnostics, Severity};

struct Env {
    _dir: tempfile::TempDir,
    key: TestKey,
    standin: Standin,
}

/// A stand-in with one empty bucket that knows `key`; `clock_offset` shifts its clock.
fn start(clock_offset: i64) -> Env {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = openssl_key(2048);
    let mut opts = StandinOptions::new(NAMESPACE, &key);
    opts.host = STANDIN_HOST.to_string();
    opts.clock_offset_secs = clock_offset;
    let standin = Standin::start(&empty_bucket_root(dir.path()), &opts);
    Env {
        _dir: dir,
        key,
        standin,
    }
}

fn target(namespace: Option<&str>, bucket: &str) -> BucketTarget {
    BucketTarget {
        namespace: namespace.map(str::to_string),
        bucket: bucket.to_string(),
        region: None,
    }
}

/// The Object Storage calls the stand-in served (its own test hooks left out).
async fn api_calls(standin: &Standin) -> Vec<(String, String, u16)> {
    let mut log = standin.log().await;
    log.retain(|(_, path, _)| !path.starts_with("/_standin/"));
    log
}

/// Runs `verify_bucket` and returns its single error diagnostic (panics on success).
async fn failure(settings: &OciSettings, target: &BucketTarget) -> (String, String) {
    let mut diags = Diagnostics::default();
    let at = AttributePath::new("repository").attribute("bucket");
    let result = verify_bucket(settings, target, &mut diags, Some(at.clone())).await;
    assert!(result.is_none(), "unexpectedly verified: {result:?}");
    assert_eq!(diags.0.len(), 1, "{diags:?}");
    let d = &diags.0[0];
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.attribute.as_ref(), Some(&at));
    (d.summary.clone(), d.detail.clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_bucket_verifies_with_one_signed_get_bucket() {
    let env = start(0);
    let s = settings(&env.key, &env.standin.base_url);
    let mut diags = Diagnostics::default();
    let bucket = verify_bucket(&s, &target(Some(NAMESPACE), BUCKET), &mut diags, None)
        .await
        .expect("bucket verifies");
    assert!(diags.0.is_empty(), "{diags:?}");
    assert_eq!(bucket.name, BUCKET);
    assert_eq!(bucket.namespace, NAMESPACE);
    let log = api_calls(&env.standin).await;
    assert_eq!(
        log,
        [("GET".to_string(), format!("/n/{NAMESPACE}/b/{BUCKET}"), 200)]
    );

    // Without a namespace the tenancy's is asked for first.
    let bucket = verify_bucket(&s, &target(None, BUCKET), &mut diags, None)
        .await
        .expect("bucket verifies");
    assert_eq!(bucket.namespace, NAMESPACE);
    let log = api_calls(&env.standin).await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[1], ("GET".to_string(), "/n/".to_string(), 200));
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_bucket_is_missing_or_not_authorized() {
    let env = start(0);
    let s = settings(&env.key, &env.standin.base_url);
    let (summary, detail) = failure(&s, &target(Some(NAMESPACE), "no-such-bucket")).await;
    assert_eq!(summary, "Object Storage bucket missing or not authorized");
    assert!(detail.contains("\"no-such-bucket\""), "{detail}");
    assert!(detail.contains("missing or not authorized"), "{detail}");
    assert!(detail.contains("IAM policy"), "{detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn key_not_registered_is_a_rejected_signature_with_the_settings_used() {
    let env = start(0);
    // A valid key with its own (matching) fingerprint that the service does not know.
    let other = openssl_key(2048);
    let s = settings(&other, &env.standin.base_url);
    let (summary, detail) = failure(&s, &target(Some(NAMESPACE), BUCKET)).await;
    assert!(summary.contains("signature"), "{summary}");
    assert!(summary.contains("authentication"), "{summary}");
    assert!(detail.contains("401 NotAuthenticated"), "{detail}");
    assert!(detail.contains("not a known API key"), "{detail}");
    assert!(
        detail.contains("Settings used:\n") && detail.contains("fingerprint: attribute"),
        "{detail}"
    );
    // Not retried: one request.
    assert_eq!(api_calls(&env.standin).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn skewed_clock_is_reported_as_such() {
    // The service's clock runs 15 minutes ahead of ours: OCI allows 5.
    let env = start(900);
    let s = settings(&env.key, &env.standin.base_url);
    let (summary, detail) = failure(&s, &target(Some(NAMESPACE), BUCKET)).await;
    assert!(summary.contains("authentication failed"), "{summary}");
    assert!(detail.contains("clock skew"), "{detail}");
    assert!(
        detail.contains("seconds away from the server time"),
        "{detail}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn local_key_problems_are_found_before_anything_is_sent() {
    let env = start(0);
    let base = settings(&env.key, &env.standin.base_url);
    let t = target(Some(NAMESPACE), BUCKET);

    // Fingerprint of another key.
    let other = openssl_key(2048);
    let mut s = base.clone();
    s.auth.fingerprint = Some(other.fingerprint.clone());
    let (summary, detail) = failure(&s, &t).await;
    assert_eq!(
        summary,
        "OCI API key fingerprint does not match the private key"
    );
    assert!(detail.contains(&other.fingerprint), "{detail}");
    assert!(detail.contains(&env.key.fingerprint), "{detail}");

    // Missing key file.
    let mut s = base.clone();
    s.auth.private_key_path = Some("/nonexistent/oci_api_key.pem".to_string());
    let (summary, detail) = failure(&s, &t).await;
    assert_eq!(summary, "Cannot read the OCI API private key");
    assert!(detail.contains("/nonexistent/oci_api_key.pem"), "{detail}");

    // Encrypted key: no pass phrase, then a wrong one, then the right one.
    let encrypted = encrypted_copy(&env.key, "right horse battery");
    let mut s = base.clone();
    s.auth.private_key_path = Some(encrypted.display().to_string());
    let (summary, detail) = failure(&s, &t).await;
    assert_eq!(
        summary,
        "Cannot decrypt the OCI API private key (pass phrase)"
    );
    assert!(detail.contains("no pass phrase was given"), "{detail}");
    s.auth.private_key_password = Some("wrong staple".to_string());
    let (summary, detail) = failure(&s, &t).await;
    assert_eq!(
        summary,
        "Cannot decrypt the OCI API private key (pass phrase)"
    );
    assert!(detail.contains("pass phrase is wrong"), "{detail}");

    // The key as PEM text instead of a path, with the pass phrase.
    s.auth.private_key_password = Some("right horse battery".to_string());
    let pem = std::fs::read_to_string(&encrypted).expect("encrypted key");
    s.auth.private_key = Some(pem.replace('\n', "\\n"));
    s.auth.private_key_path = Some("/nonexistent/ignored.pem".to_string());
    let mut diags = Diagnostics::default();
    assert!(
        verify_bucket(&s, &t, &mut diags, None).await.is_some(),
        "{diags:?}"
    );

    // No region and no endpoint.
    let mut s = base.clone();
    s.object_storage_endpoint = None;
    s.auth.region = None;
    if std::env::var_os("OCI_REGION").is_none() && std::env::var_os("TF_VAR_region").is_none() {
        let (summary, detail) = failure(&s, &t).await;
        assert_eq!(summary, "No OCI region configured");
        assert!(detail.contains("object_storage_endpoint"), "{detail}");
    }

    // Only the successful call above reached the service.
    let log = api_calls(&env.standin).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].2, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_provider_settings_are_named() {
    let env = start(0);
    let mut s = settings(&env.key, &env.standin.base_url);
    s.unknown = vec!["fingerprint".to_string()];
    let (summary, detail) = failure(&s, &target(Some(NAMESPACE), BUCKET)).await;
    assert_eq!(summary, "OCI settings not known yet");
    assert!(detail.contains("fingerprint"), "{detail}");
    assert!(api_calls(&env.standin).await.is_empty());
}

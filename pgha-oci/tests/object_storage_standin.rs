//! The Object Storage client against the Python stand-in, which verifies
//! every signature independently (tests/oci-standin/server.py).

mod common;

use std::time::{Duration, Instant};

use common::{openssl_key, signer_for, Standin, StandinOptions, TENANCY, USER};
use pgha_oci::{ApiKey, ObjectStorageClient, ObjectStorageError, RequestSigner, RetryPolicy};

const NS: &str = "pghatestns";
const BUCKET: &str = "pg-backups";

fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(3),
    }
}

/// A bucket directory with a few objects, one of them in a "directory".
fn populate(root: &std::path::Path) {
    let b = root.join(NS).join(BUCKET);
    std::fs::create_dir_all(b.join("dir/sub")).unwrap();
    for i in 0..7 {
        std::fs::write(b.join(format!("obj-{i}")), format!("content {i}")).unwrap();
    }
    std::fs::write(b.join("dir/sub/file name+1.txt"), b"nested").unwrap();
}

fn client(standin: &Standin, signer: RequestSigner) -> ObjectStorageClient {
    ObjectStorageClient::with_endpoint(signer, &standin.base_url)
        .unwrap()
        .with_retry_policy(fast_retries(4))
}

#[tokio::test]
async fn read_operations_succeed_with_verified_signatures() {
    let key = openssl_key(2048);
    let root = tempfile::tempdir().unwrap();
    populate(root.path());
    let mut opts = StandinOptions::new(NS, &key);
    opts.page_size = 2;
    let standin = Standin::start(root.path(), &opts);
    let c = client(&standin, signer_for(&key));

    assert_eq!(c.get_namespace().await.unwrap(), NS);

    let bucket = c.get_bucket(NS, BUCKET).await.unwrap();
    assert_eq!(
        (bucket.namespace.as_str(), bucket.name.as_str()),
        (NS, BUCKET)
    );

    let meta = c.head_object(NS, BUCKET, "obj-3").await.unwrap();
    assert_eq!(meta.content_length, Some("content 3".len() as u64));
    // The stand-in's ETag is the MD5 in hex and Content-MD5 the same digest in base64.
    let md5_hex = common::md5_colon(b"content 3").replace(':', "");
    assert_eq!(meta.etag.as_deref(), Some(md5_hex.as_str()));
    let content_md5 = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        meta.content_md5.as_deref().expect("Content-MD5"),
    )
    .unwrap();
    let content_md5: String = content_md5.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(content_md5, md5_hex);
    assert_eq!(
        meta.content_type.as_deref(),
        Some("application/octet-stream")
    );
    let modified = meta.last_modified.as_deref().expect("Last-Modified");
    assert!(httpdate::parse_http_date(modified).is_ok(), "{modified}");

    // Names with '/', ' ' and '+' travel percent-encoded and are signed as sent.
    let nested = c
        .get_object(NS, BUCKET, "dir/sub/file name+1.txt")
        .await
        .unwrap();
    assert_eq!(nested, b"nested");

    let all = c.list_objects(NS, BUCKET, None).await.unwrap();
    let names: Vec<&str> = all.iter().map(|o| o.name.as_str()).collect();
    let mut expected: Vec<String> = (0..7).map(|i| format!("obj-{i}")).collect();
    expected.insert(0, "dir/sub/file name+1.txt".to_string());
    assert_eq!(names, expected);
    assert_eq!(all[1].size, Some("content 0".len() as u64));

    let only_obj = c.list_objects(NS, BUCKET, Some("obj-")).await.unwrap();
    assert_eq!(only_obj.len(), 7);

    // 8 objects at 2 per page = 4 pages; 7 "obj-" objects = 4 pages.
    let list_calls: Vec<_> = standin
        .log()
        .await
        .into_iter()
        .filter(|(m, p, s)| m == "GET" && p.contains("/o?") && *s == 200)
        .collect();
    assert_eq!(list_calls.len(), 8, "{list_calls:#?}");
    assert_eq!(
        list_calls
            .iter()
            .filter(|(_, p, _)| p.contains("start="))
            .count(),
        6,
        "every page after the first must pass nextStartWith as start"
    );
}

#[tokio::test]
async fn missing_bucket_and_object_are_named_clearly() {
    let key = openssl_key(2048);
    let root = tempfile::tempdir().unwrap();
    populate(root.path());
    let standin = Standin::start(root.path(), &StandinOptions::new(NS, &key));
    let c = client(&standin, signer_for(&key));

    let err = c.get_bucket(NS, "no-such-bucket").await.unwrap_err();
    assert!(
        matches!(err, ObjectStorageError::BucketNotFound { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("missing or not authorized"), "{text}");
    assert!(text.contains("no-such-bucket"), "{text}");

    let err = c
        .list_objects(NS, "no-such-bucket", None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("missing or not authorized"),
        "{err}"
    );

    // A GetObject into a missing bucket reports the bucket, not the object.
    let err = c.get_object(NS, "no-such-bucket", "x").await.unwrap_err();
    assert!(
        matches!(err, ObjectStorageError::BucketNotFound { .. }),
        "{err:?}"
    );

    let err = c
        .get_object(NS, BUCKET, "no-such-object")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ObjectStorageError::ObjectNotFound { .. }),
        "{err:?}"
    );
    assert!(err.is_not_found());
    let err = c
        .head_object(NS, BUCKET, "no-such-object")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    // Wrong namespace: OCI answers like for a missing bucket.
    let err = c.get_bucket("otherns", BUCKET).await.unwrap_err();
    assert!(
        matches!(err, ObjectStorageError::BucketNotFound { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_keys_are_rejected_with_a_signature_hint() {
    let registered = openssl_key(2048);
    let other = openssl_key(2048);
    let root = tempfile::tempdir().unwrap();
    populate(root.path());
    let standin = Standin::start(root.path(), &StandinOptions::new(NS, &registered));

    // 1. A different key with its own (correct) fingerprint: unknown keyId.
    let c = client(&standin, signer_for(&other));
    let err = c.get_namespace().await.unwrap_err();
    assert!(
        matches!(err, ObjectStorageError::NotAuthenticated { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("signature"), "{text}");
    assert!(text.contains("clock"), "{text}");

    // 2. The registered keyId, but signed with another key: bad signature.
    let other_key = ApiKey::from_file(&other.private_pem, None).unwrap();
    let forged = RequestSigner::with_key_id(
        format!("{TENANCY}/{USER}/{}", registered.fingerprint),
        &other_key,
    );
    let err = client(&standin, forged).get_namespace().await.unwrap_err();
    match &err {
        ObjectStorageError::NotAuthenticated { details, .. } => {
            assert!(details.message.contains("does not verify"), "{details:?}")
        }
        other => panic!("expected NotAuthenticated, got {other:?}"),
    }

    // 401 is not retried: exactly one request per failed call.
    let unauthorized = standin
        .log()
        .await
        .into_iter()
        .filter(|(_, _, s)| *s == 401)
        .count();
    assert_eq!(unauthorized, 2);
}

#[tokio::test]
async fn clock_skew_beyond_five_minutes_is_rejected() {
    let key = openssl_key(2048);
    let root = tempfile::tempdir().unwrap();
    populate(root.path());

    let mut opts = StandinOptions::new(NS, &key);
    opts.clock_offset_secs = 4 * 60;
    let within = Standin::start(root.path(), &opts);
    assert_eq!(
        client(&within, signer_for(&key))
            .get_namespace()
            .await
            .unwrap(),
        NS,
        "4 minutes of skew is within OCI's tolerance"
    );

    opts.clock_offset_secs = -6 * 60;
    let beyond = Standin::start(root.path(), &opts);
    let err = client(&beyond, signer_for(&key))
        .get_namespace()
        .await
        .unwrap_err();
    match &err {
        ObjectStorageError::NotAuthenticated { details, .. } => {
            assert!(details.message.contains("clock skew"), "{details:?}")
        }
        other => panic!("expected NotAuthenticated, got {other:?}"),
    }
    assert!(err.to_string().contains("clock"), "{err}");
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_with_backoff() {
    let key = openssl_key(2048);
    let root = tempfile::tempdir().unwrap();
    populate(root.path());
    let standin = Standin::start(root.path(), &StandinOptions::new(NS, &key));
    let c = client(&standin, signer_for(&key));

    // Two 503s, then success.
    standin.inject_fault("/o/obj-1", 503, 2, None).await;
    assert_eq!(
        c.get_object(NS, BUCKET, "obj-1").await.unwrap(),
        b"content 1"
    );
    let attempts: Vec<u16> = standin
        .log()
        .await
        .into_iter()
        .filter(|(_, p, _)| p.ends_with("/o/obj-1"))
        .map(|(_, _, s)| s)
        .collect();
    assert_eq!(attempts, vec![503, 503, 200]);

    // 429 with Retry-After: 1 must wait at least a second.
    standin.inject_fault("/o/obj-2", 429, 1, Some(1)).await;
    let started = Instant::now();
    assert_eq!(
        c.get_object(NS, BUCKET, "obj-2").await.unwrap(),
        b"content 2"
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "waited only {waited:?}");

    // A persistent 500 exhausts the bounded budget.
    standin.inject_fault("/o/obj-3", 500, 100, None).await;
    let c3 = ObjectStorageClient::with_endpoint(signer_for(&key), &standin.base_url)
        .unwrap()
        .with_retry_policy(fast_retries(3));
    let err = c3.get_object(NS, BUCKET, "obj-3").await.unwrap_err();
    match &err {
        ObjectStorageError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 3);
            assert!(
                matches!(**last, ObjectStorageError::Service { .. }),
                "{last:?}"
            );
            assert_eq!(last.details().map(|d| d.status), Some(500));
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    let obj3_requests = standin
        .log()
        .await
        .into_iter()
        .filter(|(_, p, _)| p.ends_with("/o/obj-3"))
        .count();
    assert_eq!(obj3_requests, 3);
}

/// Sends a signed PUT, optionally replacing the body after signing.
async fn put(
    standin: &Standin,
    signer: &RequestSigner,
    name: &str,
    body: &'static [u8],
    sent_body: &'static [u8],
) -> (u16, String) {
    let url = format!("{}/n/{NS}/b/{BUCKET}/o/{name}", standin.base_url);
    let mut request = reqwest::Request::new(reqwest::Method::PUT, url.parse().unwrap());
    request
        .headers_mut()
        .insert("content-type", "application/octet-stream".parse().unwrap());
    *request.body_mut() = Some(body.into());
    signer.sign_request(&mut request).unwrap();
    *request.body_mut() = Some(sent_body.into());
    let resp = common::control_client().execute(request).await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        String::from_utf8_lossy(&resp.bytes().await.unwrap()).into_owned(),
    )
}

#[tokio::test]
async fn tampered_request_bodies_and_targets_are_rejected() {
    let key = openssl_key(2048);
    let root = tempfile::tempdir().unwrap();
    populate(root.path());
    let standin = Standin::start(root.path(), &StandinOptions::new(NS, &key));
    let signer = signer_for(&key);

    let (status, _) = put(&standin, &signer, "upload-ok", b"hello", b"hello").await;
    assert_eq!(status, 200);
    let stored = std::fs::read(root.path().join(NS).join(BUCKET).join("upload-ok")).unwrap();
    assert_eq!(stored, b"hello");

    // Same length, one byte changed: only x-content-sha256 can catch it.
    let (status, body) = put(&standin, &signer, "upload-bad", b"hello", b"hellO").await;
    assert_eq!(status, 401, "{body}");
    let err: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err["code"], "NotAuthenticated");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("x-content-sha256"),
        "{body}"
    );
    assert!(!root
        .path()
        .join(NS)
        .join(BUCKET)
        .join("upload-bad")
        .exists());

    // Empty PUT bodies are signed too (content-length: 0).
    let (status, body) = put(&standin, &signer, "upload-empty", b"", b"").await;
    assert_eq!(status, 200, "{body}");

    // A request whose target changed after signing fails verification.
    let mut request = reqwest::Request::new(
        reqwest::Method::GET,
        format!("{}/n/{NS}/b/{BUCKET}/o/obj-1", standin.base_url)
            .parse()
            .unwrap(),
    );
    signer.sign_request(&mut request).unwrap();
    *request.url_mut() = format!("{}/n/{NS}/b/{BUCKET}/o/obj-2", standin.base_url)
        .parse()
        .unwrap();
    let resp = common::control_client().execute(request).await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let text = String::from_utf8_lossy(&resp.bytes().await.unwrap()).into_owned();
    assert!(text.contains("does not verify"), "{text}");
}

#[tokio::test]
async fn unreachable_endpoint_is_a_transport_error_after_retries() {
    let key = openssl_key(2048);
    // Bind and drop a listener to find a port with nothing behind it.
    let port = std::net::TcpListener::bind("127.0.0.40:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c =
        ObjectStorageClient::with_endpoint(signer_for(&key), &format!("http://127.0.0.40:{port}"))
            .unwrap()
            .with_retry_policy(fast_retries(2));
    let err = c.get_namespace().await.unwrap_err();
    match &err {
        ObjectStorageError::RetriesExhausted {
            attempts: 2, last, ..
        } => {
            assert!(
                matches!(**last, ObjectStorageError::Transport { .. }),
                "{last:?}"
            )
        }
        other => panic!("expected RetriesExhausted(Transport), got {other:?}"),
    }
}

#[test]
fn endpoint_is_validated() {
    let key = openssl_key(2048);
    for bad in [
        "not a url",
        "ftp://example.com",
        "https://example.com/some/path",
    ] {
        let err = ObjectStorageClient::with_endpoint(signer_for(&key), bad).unwrap_err();
        assert!(
            matches!(err, ObjectStorageError::InvalidEndpoint { .. }),
            "{bad}: {err:?}"
        );
    }
    let c = ObjectStorageClient::new(signer_for(&key), "ap-chuncheon-1").unwrap();
    assert_eq!(
        c.endpoint(),
        "https://objectstorage.ap-chuncheon-1.oraclecloud.com"
    );
}

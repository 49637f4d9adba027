//! A small, read-only OCI Object Storage client.
//!
//! It covers what pgha needs to inspect a pgBackRest repository in a bucket:
//! GetNamespace, GetBucket, HeadObject, GetObject and ListObjects (with
//! paging). Every request is signed with [`RequestSigner`]; throttling (429)
//! and server errors (5xx) are retried with bounded exponential back-off that
//! honours `Retry-After`; OCI's JSON error bodies become typed errors whose
//! messages say what to check.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tracing::{debug, info, warn};

use crate::signer::{RequestSigner, SignError};

/// How failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts including the first (1 disables retries).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further retry.
    pub initial_backoff: Duration,
    /// Upper bound for the computed back-off.
    pub max_backoff: Duration,
    /// Upper bound for a server-sent `Retry-After`, so that a hostile or
    /// confused server cannot park a `terraform apply` for hours.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Back-off before retry number `retry` (1-based), without jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// What OCI said about a failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDetails {
    /// HTTP status.
    pub status: u16,
    /// OCI error code (`NotAuthenticated`, `BucketNotFound`, ...).
    pub code: String,
    /// OCI error message.
    pub message: String,
    /// `opc-request-id`, for Oracle support.
    pub request_id: Option<String>,
}

/// Errors from Object Storage calls.
#[derive(Debug, thiserror::Error)]
pub enum ObjectStorageError {
    /// 401: OCI did not accept the signature.
    #[error("{operation}: OCI rejected the request as not authenticated (401 {}: {}); likely causes: the request signature does not verify (wrong private key, fingerprint, user or tenancy OCID, or an API key not uploaded for that user) or the local clock is more than 5 minutes off (clock skew){}", .details.code, .details.message, request_id_note(&.details.request_id))]
    NotAuthenticated {
        /// What was being done (`GetBucket`, ...).
        operation: &'static str,
        /// The service's answer.
        details: Box<ServiceDetails>,
    },
    /// 404 on a bucket: OCI does not distinguish "missing" from "not allowed".
    #[error("{operation}: bucket \"{bucket}\" in namespace \"{namespace}\" is missing or not authorized (404 {}: {}); check the bucket name, the namespace and the IAM policy for the user{}", .details.code, .details.message, request_id_note(&.details.request_id))]
    BucketNotFound {
        /// What was being done.
        operation: &'static str,
        /// Namespace asked for.
        namespace: String,
        /// Bucket asked for.
        bucket: String,
        /// The service's answer.
        details: Box<ServiceDetails>,
    },
    /// 404 on an object in an existing bucket.
    #[error("{operation}: object \"{object}\" not found in bucket \"{bucket}\" (404 {}: {}){}", .details.code, .details.message, request_id_note(&.details.request_id))]
    ObjectNotFound {
        /// What was being done.
        operation: &'static str,
        /// Bucket asked for.
        bucket: String,
        /// Object name asked for.
        object: String,
        /// The service's answer.
        details: Box<ServiceDetails>,
    },
    /// Any other error status from the service.
    #[error("{operation}: OCI returned {} {}: {}{}", .details.status, .details.code, .details.message, request_id_note(&.details.request_id))]
    Service {
        /// What was being done.
        operation: &'static str,
        /// The service's answer.
        details: Box<ServiceDetails>,
    },
    /// Retryable failures continued past the retry budget.
    #[error("{operation}: giving up after {attempts} attempts; last error: {last}")]
    RetriesExhausted {
        /// What was being done.
        operation: &'static str,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<ObjectStorageError>,
    },
    /// The request never got an HTTP answer.
    #[error("{operation}: cannot reach {endpoint}: {source}")]
    Transport {
        /// What was being done.
        operation: &'static str,
        /// Base URL.
        endpoint: String,
        /// Underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// A success response that does not parse.
    #[error("{operation}: unexpected response body: {detail}")]
    Decode {
        /// What was being done.
        operation: &'static str,
        /// Parser message.
        detail: String,
    },
    /// The endpoint URL is unusable.
    #[error("invalid Object Storage endpoint {url:?}: {detail}")]
    InvalidEndpoint {
        /// The URL given.
        url: String,
        /// Why it is unusable.
        detail: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

fn request_id_note(id: &Option<String>) -> String {
    match id {
        Some(id) => format!(" [opc-request-id {id}]"),
        None => String::new(),
    }
}

impl ObjectStorageError {
    /// True for 429, 5xx and connection failures: worth another attempt.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Service { details, .. } => {
                details.status == 429 || (500..600).contains(&details.status)
            }
            Self::Transport { source, .. } => {
                source.is_connect() || source.is_timeout() || source.is_request()
            }
            _ => false,
        }
    }

    /// The service's answer, for errors that carry one.
    pub fn details(&self) -> Option<&ServiceDetails> {
        match self {
            Self::NotAuthenticated { details, .. }
            | Self::BucketNotFound { details, .. }
            | Self::ObjectNotFound { details, .. }
            | Self::Service { details, .. } => Some(details),
            _ => None,
        }
    }

    /// True when the thing asked for does not exist (bucket or object).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::BucketNotFound { .. } | Self::ObjectNotFound { .. }
        )
    }
}

/// Bucket properties returned by GetBucket (the subset pgha looks at).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    /// Namespace.
    pub namespace: String,
    /// Bucket name.
    pub name: String,
    /// Compartment OCID.
    #[serde(default)]
    pub compartment_id: Option<String>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub time_created: Option<String>,
    /// Entity tag.
    #[serde(default)]
    pub etag: Option<String>,
    /// `Standard` or `Archive`.
    #[serde(default)]
    pub storage_tier: Option<String>,
    /// `NoPublicAccess`, `ObjectRead`, ...
    #[serde(default)]
    pub public_access_type: Option<String>,
    /// Whether object versioning is enabled.
    #[serde(default)]
    pub versioning: Option<String>,
}

/// Object metadata from HeadObject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMetadata {
    /// Size in bytes.
    pub content_length: Option<u64>,
    /// Entity tag.
    pub etag: Option<String>,
    /// Base64 MD5 (absent for multipart uploads).
    pub content_md5: Option<String>,
    /// `Last-Modified` header, as sent.
    pub last_modified: Option<String>,
    /// `Content-Type` header, as sent.
    pub content_type: Option<String>,
}

/// One entry of a ListObjects page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSummary {
    /// Full object name.
    pub name: String,
    /// Size in bytes (present when `fields` asked for it).
    #[serde(default)]
    pub size: Option<u64>,
    /// Entity tag.
    #[serde(default)]
    pub etag: Option<String>,
    /// Base64 MD5.
    #[serde(default)]
    pub md5: Option<String>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub time_created: Option<String>,
    /// Modification time (RFC 3339).
    #[serde(default)]
    pub time_modified: Option<String>,
}

/// One page of ListObjects.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListObjectsPage {
    /// Objects on this page.
    #[serde(default)]
    pub objects: Vec<ObjectSummary>,
    /// Common prefixes (only with a delimiter).
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Where the next page starts; absent on the last page.
    #[serde(default)]
    pub next_start_with: Option<String>,
}

/// Parameters of one ListObjects call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListObjectsRequest {
    /// Only names starting with this.
    pub prefix: Option<String>,
    /// Start listing at this name (from `nextStartWith`).
    pub start: Option<String>,
    /// Page size (OCI's maximum is 1000).
    pub limit: Option<u32>,
    /// Group names by this delimiter (only `/` is supported by OCI).
    pub delimiter: Option<String>,
    /// Comma-separated fields to return besides `name`.
    pub fields: Option<String>,
}

#[derive(Debug, Deserialize)]
struct OciErrorBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// What a 404 means for the call being made.
#[derive(Clone, Copy)]
enum NotFoundMeaning<'a> {
    Generic,
    Bucket {
        namespace: &'a str,
        bucket: &'a str,
    },
    Object {
        namespace: &'a str,
        bucket: &'a str,
        object: &'a str,
    },
}

/// Percent-encodes everything except RFC 3986 unreserved characters, so that
/// an object name such as `backup/demo/backup.info` travels as one path
/// segment (`backup%2Fdemo%2Fbackup.info`), as the OCI SDKs send it.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The default endpoint for a region.
pub fn default_endpoint(region: &str) -> String {
    format!("https://objectstorage.{}.oraclecloud.com", region.trim())
}

/// Read-only Object Storage client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ObjectStorageClient {
    http: reqwest::Client,
    signer: Arc<RequestSigner>,
    endpoint: String,
    retry: RetryPolicy,
}

impl ObjectStorageClient {
    /// A client for `https://objectstorage.<region>.oraclecloud.com`.
    pub fn new(signer: RequestSigner, region: &str) -> Result<Self, ObjectStorageError> {
        Self::with_endpoint(signer, &default_endpoint(region))
    }

    /// A client for an explicit base URL (tests, dedicated endpoints).
    pub fn with_endpoint(
        signer: RequestSigner,
        endpoint: &str,
    ) -> Result<Self, ObjectStorageError> {
        let trimmed = endpoint.trim().trim_end_matches('/').to_string();
        let parsed =
            reqwest::Url::parse(&trimmed).map_err(|e| ObjectStorageError::InvalidEndpoint {
                url: endpoint.to_string(),
                detail: e.to_string(),
            })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(ObjectStorageError::InvalidEndpoint {
                url: endpoint.to_string(),
                detail: "expected an http:// or https:// URL with a host".to_string(),
            });
        }
        if parsed.path() != "/" || parsed.query().is_some() {
            return Err(ObjectStorageError::InvalidEndpoint {
                url: endpoint.to_string(),
                detail: "the endpoint must not have a path or query".to_string(),
            });
        }
        // reqwest is built without a bundled rustls provider; use ring unless
        // the embedding program already chose one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("pgha-oci/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ObjectStorageError::Client(e.to_string()))?;
        Ok(Self {
            http,
            signer: Arc::new(signer),
            endpoint: trimmed,
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The base URL in use.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// GetNamespace: the tenancy's Object Storage namespace.
    pub async fn get_namespace(&self) -> Result<String, ObjectStorageError> {
        self.get_json("GetNamespace", "/n/".to_string(), NotFoundMeaning::Generic)
            .await
    }

    /// GetBucket.
    pub async fn get_bucket(
        &self,
        namespace: &str,
        bucket: &str,
    ) -> Result<Bucket, ObjectStorageError> {
        self.get_json(
            "GetBucket",
            bucket_path(namespace, bucket),
            NotFoundMeaning::Bucket { namespace, bucket },
        )
        .await
    }

    /// HeadObject.
    pub async fn head_object(
        &self,
        namespace: &str,
        bucket: &str,
        object: &str,
    ) -> Result<ObjectMetadata, ObjectStorageError> {
        let resp = self
            .execute(
                "HeadObject",
                Method::HEAD,
                object_path(namespace, bucket, object),
                NotFoundMeaning::Object {
                    namespace,
                    bucket,
                    object,
                },
            )
            .await?;
        let h = |name: &str| {
            resp.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(ObjectMetadata {
            content_length: h("content-length").and_then(|v| v.parse().ok()),
            etag: h("etag"),
            content_md5: h("content-md5"),
            last_modified: h("last-modified"),
            content_type: h("content-type"),
        })
    }

    /// GetObject: the whole object in memory (meant for small files such as
    /// pgBackRest's info files, not for backups themselves).
    pub async fn get_object(
        &self,
        namespace: &str,
        bucket: &str,
        object: &str,
    ) -> Result<Vec<u8>, ObjectStorageError> {
        let resp = self
            .execute(
                "GetObject",
                Method::GET,
                object_path(namespace, bucket, object),
                NotFoundMeaning::Object {
                    namespace,
                    bucket,
                    object,
                },
            )
            .await?;
        Ok(resp.bytes)
    }

    /// One ListObjects page.
    pub async fn list_objects_page(
        &self,
        namespace: &str,
        bucket: &str,
        request: &ListObjectsRequest,
    ) -> Result<ListObjectsPage, ObjectStorageError> {
        let mut query: Vec<String> = Vec::new();
        let mut add = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                query.push(format!("{k}={}", encode_component(v)));
            }
        };
        add("prefix", &request.prefix);
        add("start", &request.start);
        add("limit", &request.limit.map(|l| l.to_string()));
        add("delimiter", &request.delimiter);
        add("fields", &request.fields);
        let mut path = format!("{}/o", bucket_path(namespace, bucket));
        if !query.is_empty() {
            path.push('?');
            path.push_str(&query.join("&"));
        }
        self.get_json(
            "ListObjects",
            path,
            NotFoundMeaning::Bucket { namespace, bucket },
        )
        .await
    }

    /// ListObjects over all pages (following `nextStartWith`), names and sizes.
    pub async fn list_objects(
        &self,
        namespace: &str,
        bucket: &str,
        prefix: Option<&str>,
    ) -> Result<Vec<ObjectSummary>, ObjectStorageError> {
        let mut request = ListObjectsRequest {
            prefix: prefix.map(str::to_string),
            fields: Some("name,size,etag,timeCreated,md5".to_string()),
            ..Default::default()
        };
        let mut all = Vec::new();
        let mut pages = 0u32;
        loop {
            let page = self.list_objects_page(namespace, bucket, &request).await?;
            pages += 1;
            all.extend(page.objects);
            match page.next_start_with {
                Some(next) if Some(&next) != request.start.as_ref() => {
                    debug!(pages, objects = all.len(), next = %next, "ListObjects: next page");
                    request.start = Some(next);
                }
                Some(next) => {
                    // A server that repeats the same cursor would loop forever.
                    return Err(ObjectStorageError::Decode {
                        operation: "ListObjects",
                        detail: format!("nextStartWith {next:?} repeats the previous page cursor"),
                    });
                }
                None => break,
            }
        }
        info!(
            namespace,
            bucket,
            pages,
            objects = all.len(),
            "ListObjects done"
        );
        Ok(all)
    }

    /// A GET whose response body is JSON.
    async fn get_json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path_and_query: String,
        not_found: NotFoundMeaning<'_>,
    ) -> Result<T, ObjectStorageError> {
        let resp = self
            .execute(operation, Method::GET, path_and_query, not_found)
            .await?;
        serde_json::from_slice(&resp.bytes).map_err(|e| ObjectStorageError::Decode {
            operation,
            detail: e.to_string(),
        })
    }

    async fn execute(
        &self,
        operation: &'static str,
        method: Method,
        path_and_query: String,
        not_found: NotFoundMeaning<'_>,
    ) -> Result<RawResponse, ObjectStorageError> {
        let url = format!("{}{}", self.endpoint, path_and_query);
        let max = self.retry.max_attempts.max(1);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            debug!(operation, %method, url = %url, attempt, "Object Storage request");
            let result = self.once(operation, method.clone(), &url, not_found).await;
            match result {
                Ok(resp) => {
                    debug!(
                        operation,
                        status = resp.status.as_u16(),
                        bytes = resp.bytes.len(),
                        "Object Storage response"
                    );
                    return Ok(resp);
                }
                Err((err, retry_after)) if err.is_retryable() && attempt < max => {
                    let mut delay = self.retry.backoff(attempt);
                    if let Some(ra) = retry_after {
                        delay = delay.max(ra.min(self.retry.max_retry_after));
                    }
                    warn!(operation, attempt, max_attempts = max, delay_ms = delay.as_millis() as u64, error = %err, "retrying Object Storage request");
                    tokio::time::sleep(delay).await;
                }
                Err((err, _)) if err.is_retryable() && max > 1 => {
                    return Err(ObjectStorageError::RetriesExhausted {
                        operation,
                        attempts: attempt,
                        last: Box::new(err),
                    })
                }
                Err((err, _)) => return Err(err),
            }
        }
    }

    async fn once(
        &self,
        operation: &'static str,
        method: Method,
        url: &str,
        not_found: NotFoundMeaning<'_>,
    ) -> Result<RawResponse, (ObjectStorageError, Option<Duration>)> {
        let parsed = reqwest::Url::parse(url).map_err(|e| {
            (
                ObjectStorageError::InvalidEndpoint {
                    url: url.to_string(),
                    detail: e.to_string(),
                },
                None,
            )
        })?;
        let mut request = reqwest::Request::new(method.clone(), parsed);
        request.headers_mut().insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        self.signer
            .sign_request(&mut request)
            .map_err(|e| (ObjectStorageError::from(e), None))?;
        let response = self.http.execute(request).await.map_err(|source| {
            (
                ObjectStorageError::Transport {
                    operation,
                    endpoint: self.endpoint.clone(),
                    source,
                },
                None,
            )
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(|source| {
            (
                ObjectStorageError::Transport {
                    operation,
                    endpoint: self.endpoint.clone(),
                    source,
                },
                None,
            )
        })?;
        if status.is_success() {
            return Ok(RawResponse {
                status,
                headers,
                bytes: bytes.to_vec(),
            });
        }
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let request_id = headers
            .get("opc-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let parsed: Option<OciErrorBody> = serde_json::from_slice(&bytes).ok();
        let code = parsed
            .as_ref()
            .and_then(|b| b.code.clone())
            .unwrap_or_else(|| {
                status
                    .canonical_reason()
                    .unwrap_or("Unknown")
                    .replace(' ', "")
            });
        let message = parsed
            .as_ref()
            .and_then(|b| b.message.clone())
            .unwrap_or_else(|| {
                if bytes.is_empty() {
                    "(no response body)".to_string()
                } else {
                    String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned()
                }
            });
        let details = Box::new(ServiceDetails {
            status: status.as_u16(),
            code,
            message,
            request_id,
        });
        let err = match (status, not_found) {
            (StatusCode::UNAUTHORIZED, _) => {
                ObjectStorageError::NotAuthenticated { operation, details }
            }
            (StatusCode::NOT_FOUND, NotFoundMeaning::Bucket { namespace, bucket }) => {
                ObjectStorageError::BucketNotFound {
                    operation,
                    namespace: namespace.to_string(),
                    bucket: bucket.to_string(),
                    details,
                }
            }
            (
                StatusCode::NOT_FOUND,
                NotFoundMeaning::Object {
                    namespace,
                    bucket,
                    object,
                },
            ) => {
                if details.code == "BucketNotFound" {
                    ObjectStorageError::BucketNotFound {
                        operation,
                        namespace: namespace.to_string(),
                        bucket: bucket.to_string(),
                        details,
                    }
                } else {
                    ObjectStorageError::ObjectNotFound {
                        operation,
                        bucket: bucket.to_string(),
                        object: object.to_string(),
                        details,
                    }
                }
            }
            _ => ObjectStorageError::Service { operation, details },
        };
        Err((err, retry_after))
    }
}

struct RawResponse {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

fn bucket_path(namespace: &str, bucket: &str) -> String {
    format!(
        "/n/{}/b/{}",
        encode_component(namespace),
        encode_component(bucket)
    )
}

fn object_path(namespace: &str, bucket: &str, object: &str) -> String {
    format!(
        "{}/o/{}",
        bucket_path(namespace, bucket),
        encode_component(object)
    )
}

/// `Retry-After` is either delta-seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(5),
        };
        let got: Vec<u128> = (1..=6).map(|r| p.backoff(r).as_millis()).collect();
        assert_eq!(got, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.backoff(40), Duration::from_millis(1000));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        let future = SystemTime::now() + Duration::from_secs(30);
        let d = parse_retry_after(&httpdate::fmt_http_date(future)).unwrap_or_default();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn component_encoding_keeps_unreserved_only() {
        assert_eq!(
            encode_component("backup/demo/backup.info"),
            "backup%2Fdemo%2Fbackup.info"
        );
        assert_eq!(encode_component("a b+c~d_e-f"), "a%20b%2Bc~d_e-f");
        assert_eq!(encode_component("é"), "%C3%A9");
    }
}

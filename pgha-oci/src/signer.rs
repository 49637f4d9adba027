//! OCI API request signatures (signature version 1).
//!
//! OCI authenticates API-key requests with a variant of the
//! draft-cavage HTTP signatures scheme: an RSA-SHA256 (PKCS#1 v1.5) signature
//! over a "signing string" built from selected headers, carried in the
//! `Authorization` header. This module implements exactly that and nothing
//! more, in our own code on top of RustCrypto, because the general-purpose
//! HTTP-signature crates are AGPL-licensed.
//!
//! Which headers are signed:
//! * every request: `date`, `(request-target)`, `host`;
//! * `PUT`, `POST` and `PATCH` additionally: `content-length`, `content-type`
//!   and `x-content-sha256` (the base64 SHA-256 of the body), also when the
//!   body is empty.

use std::time::SystemTime;

use base64::Engine as _;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer as _};
use sha2::{Digest as _, Sha256};

use crate::key::{ApiKey, KeyError};

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The URL has no host, so there is nothing to put in the `host` header.
    #[error("cannot sign a request to {url}: the URL has no host")]
    NoHost {
        /// The offending URL.
        url: String,
    },
    /// The request body is a stream; OCI needs its SHA-256 up front.
    #[error("cannot sign a {method} request with a streaming body: x-content-sha256 needs the whole body")]
    StreamingBody {
        /// The HTTP method.
        method: String,
    },
    /// The RSA operation itself failed.
    #[error("RSA signing failed: {0}")]
    Rsa(String),
    /// A computed header value is not a valid HTTP header value.
    #[error("invalid header value for {name}")]
    HeaderValue {
        /// The header name.
        name: &'static str,
    },
}

/// The parts of a request that take part in the signature.
#[derive(Debug, Clone, Copy)]
pub struct SigningInput<'a> {
    /// HTTP method, any case (`GET`, `post`, ...).
    pub method: &'a str,
    /// Path plus `?query`, byte for byte as it goes on the wire.
    pub path_and_query: &'a str,
    /// Host name, with `:port` when the port is not the scheme's default.
    pub host: &'a str,
    /// The `Date` header value (RFC 7231 IMF-fixdate).
    pub date: &'a str,
    /// The request body; only used for methods that sign body headers.
    pub body: &'a [u8],
    /// The `Content-Type`; defaults to `application/json` for body methods.
    pub content_type: Option<&'a str>,
}

/// Headers to add to the request, plus the signing string for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `Date` header value.
    pub date: String,
    /// `Authorization` header value.
    pub authorization: String,
    /// `Content-Length`, for PUT/POST/PATCH.
    pub content_length: Option<String>,
    /// `Content-Type`, for PUT/POST/PATCH.
    pub content_type: Option<String>,
    /// `x-content-sha256`, for PUT/POST/PATCH.
    pub x_content_sha256: Option<String>,
    /// The exact string that was signed (useful when a server disagrees).
    pub signing_string: String,
}

/// Signs OCI API requests with one API key.
#[derive(Clone)]
pub struct RequestSigner {
    key_id: String,
    signing_key: SigningKey<Sha256>,
}

impl std::fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Whether OCI expects the body headers to be signed for this method.
pub fn method_signs_body(method: &str) -> bool {
    ["PUT", "POST", "PATCH"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

impl RequestSigner {
    /// Builds a signer whose `keyId` is `<tenancy>/<user>/<fingerprint>`,
    /// after checking that `fingerprint` really is the fingerprint of `key`:
    /// a mismatch would otherwise only surface as a 401 from OCI.
    pub fn new(
        tenancy_ocid: &str,
        user_ocid: &str,
        fingerprint: &str,
        key: &ApiKey,
    ) -> Result<Self, KeyError> {
        key.check_fingerprint(fingerprint, None)?;
        Ok(Self::with_key_id(
            format!(
                "{}/{}/{}",
                tenancy_ocid.trim(),
                user_ocid.trim(),
                fingerprint.trim().to_ascii_lowercase()
            ),
            key,
        ))
    }

    /// Builds a signer with a caller-chosen `keyId` and no fingerprint check.
    /// Meant for reproducing published examples and for special principals;
    /// prefer [`RequestSigner::new`].
    pub fn with_key_id(key_id: impl Into<String>, key: &ApiKey) -> Self {
        Self {
            key_id: key_id.into(),
            signing_key: SigningKey::<Sha256>::new(key.rsa().clone()),
        }
    }

    /// The `keyId` placed in every `Authorization` header.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Computes the signature headers for one request. Pure: the same input
    /// always gives the same output (PKCS#1 v1.5 signatures are deterministic).
    pub fn sign(&self, input: &SigningInput<'_>) -> Result<SignedHeaders, SignError> {
        let method = input.method.to_ascii_lowercase();
        let mut names: Vec<&str> = vec!["date", "(request-target)", "host"];
        let mut lines = vec![
            format!("date: {}", input.date),
            format!("(request-target): {} {}", method, input.path_and_query),
            format!("host: {}", input.host),
        ];
        let (mut content_length, mut content_type, mut body_sha) = (None, None, None);
        if method_signs_body(&method) {
            let len = input.body.len().to_string();
            let ctype = input.content_type.unwrap_or("application/json").to_string();
            let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(input.body));
            names.extend(["content-length", "content-type", "x-content-sha256"]);
            lines.push(format!("content-length: {len}"));
            lines.push(format!("content-type: {ctype}"));
            lines.push(format!("x-content-sha256: {sha}"));
            content_length = Some(len);
            content_type = Some(ctype);
            body_sha = Some(sha);
        }
        let signing_string = lines.join("\n");
        let signature = self
            .signing_key
            .try_sign(signing_string.as_bytes())
            .map_err(|e| SignError::Rsa(e.to_string()))?;
        let signature = base64::engine::general_purpose::STANDARD.encode(signature.to_bytes());
        // Parameter order follows OCI's published examples so that the
        // documented Authorization headers are reproduced byte for byte.
        let authorization = format!(
            "Signature version=\"1\",headers=\"{}\",keyId=\"{}\",algorithm=\"rsa-sha256\",signature=\"{}\"",
            names.join(" "),
            self.key_id,
            signature
        );
        Ok(SignedHeaders {
            date: input.date.to_string(),
            authorization,
            content_length,
            content_type,
            x_content_sha256: body_sha,
            signing_string,
        })
    }

    /// Signs a `reqwest` request in place: sets `date` (unless the request
    /// already has one), `authorization` and, for body methods,
    /// `content-length`, `content-type` and `x-content-sha256`.
    pub fn sign_request(&self, request: &mut reqwest::Request) -> Result<(), SignError> {
        use reqwest::header::{HeaderName, HeaderValue};
        let url = request.url();
        let host = match url.host_str() {
            Some(h) => match url.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            },
            None => {
                return Err(SignError::NoHost {
                    url: url.to_string(),
                })
            }
        };
        let mut target = url.path().to_string();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        let date = match request
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
        {
            Some(d) => d.to_string(),
            None => httpdate::fmt_http_date(SystemTime::now()),
        };
        let method = request.method().as_str().to_string();
        let body: Vec<u8> = match request.body() {
            None => Vec::new(),
            Some(b) => match b.as_bytes() {
                Some(bytes) => bytes.to_vec(),
                None => return Err(SignError::StreamingBody { method }),
            },
        };
        let content_type = request
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let signed = self.sign(&SigningInput {
            method: &method,
            path_and_query: &target,
            host: &host,
            date: &date,
            body: &body,
            content_type: content_type.as_deref(),
        })?;
        let headers = request.headers_mut();
        let mut set = |name: &'static str, value: &str| -> Result<(), SignError> {
            let v = HeaderValue::from_str(value).map_err(|_| SignError::HeaderValue { name })?;
            headers.insert(HeaderName::from_static(name), v);
            Ok(())
        };
        set("date", &signed.date)?;
        set("authorization", &signed.authorization)?;
        if let Some(v) = &signed.content_length {
            set("content-length", v)?;
        }
        if let Some(v) = &signed.content_type {
            set("content-type", v)?;
        }
        if let Some(v) = &signed.x_content_sha256 {
            set("x-content-sha256", v)?;
        }
        Ok(())
    }
}

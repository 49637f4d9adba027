//! A client for etcd's v3 cluster API through its HTTP/JSON gateway (etcd 3.4 and later serve it
//! on the client port at `/v3/...`): the member list, adding a learner, removing a member, and
//! each member's health. `pgha_etcd_member` uses it to grow, shrink and replace the cluster.
//!
//! The gateway is plain JSON over HTTP, so the provider needs no gRPC stack; 64-bit member IDs
//! come as decimal strings and are shown in hexadecimal, as `etcdctl` prints them.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::patroni_api::{backoff, pause};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// No endpoint answered before the deadline.
    #[error("no etcd member answered within {waited:?} (tried {}): {last}", .tried.join(", "))]
    Unreachable {
        /// The client URLs tried.
        tried: Vec<String>,
        /// How long it tried.
        waited: Duration,
        /// The last error seen.
        last: String,
    },
    /// etcd refused the request: its own message.
    #[error("{url} refused the request: {message}")]
    Refused {
        /// The full URL.
        url: String,
        /// etcd's message.
        message: String,
    },
    /// Terraform asked the provider to stop.
    #[error("interrupted: Terraform asked the provider to stop")]
    Stopped,
}

/// One member as the member list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdMemberInfo {
    /// The member ID.
    pub id: u64,
    /// Its name; empty until a member added through the API has started.
    pub name: String,
    /// Its peer URLs.
    pub peer_urls: Vec<String>,
    /// Its client URLs; empty until it has started.
    pub client_urls: Vec<String>,
    /// Whether it is a learner (receives the log, does not vote).
    pub is_learner: bool,
}

impl EtcdMemberInfo {
    /// The ID as `etcdctl` prints it.
    pub fn hex_id(&self) -> String {
        format!("{:x}", self.id)
    }

    /// Whether it has started (a member added through the API has no name until then).
    pub fn started(&self) -> bool {
        !self.name.is_empty()
    }
}

#[derive(Deserialize)]
struct RawMember {
    #[serde(rename = "ID", default)]
    id: Option<Json>,
    #[serde(default)]
    name: String,
    #[serde(rename = "peerURLs", default)]
    peer_urls: Vec<String>,
    #[serde(rename = "clientURLs", default)]
    client_urls: Vec<String>,
    #[serde(rename = "isLearner", default)]
    is_learner: bool,
}

fn parse_id(v: &Json) -> Option<u64> {
    match v {
        Json::String(s) => s.parse().ok(),
        Json::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn members_of(body: &Json, url: &str) -> Result<Vec<EtcdMemberInfo>, EtcdError> {
    let raw: Vec<RawMember> = match body.get("members") {
        Some(m) => serde_json::from_value(m.clone()).map_err(|e| EtcdError::Refused {
            url: url.to_string(),
            message: format!("unexpected member list: {e}"),
        })?,
        None => Vec::new(),
    };
    raw.into_iter()
        .map(|m| {
            let id =
                m.id.as_ref()
                    .and_then(parse_id)
                    .ok_or_else(|| EtcdError::Refused {
                        url: url.to_string(),
                        message: "a member without an ID".to_string(),
                    })?;
            Ok(EtcdMemberInfo {
                id,
                name: m.name,
                peer_urls: m.peer_urls,
                client_urls: m.client_urls,
                is_learner: m.is_learner,
            })
        })
        .collect()
}

/// How the provider authenticates to members that serve their clients over TLS: the CA that
/// signed their certificates, and a client certificate and key when they require one
/// (`--client-cert-auth`).
#[derive(Clone, Default)]
pub struct ClientTls {
    /// PEM of the CA certificate(s); only these are trusted.
    pub ca_pem: String,
    /// PEM of the client certificate.
    pub cert_pem: Option<String>,
    /// PEM of the client's private key.
    pub key_pem: Option<String>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("ca_pem", &format!("({} bytes)", self.ca_pem.len()))
            .field(
                "cert_pem",
                &self
                    .cert_pem
                    .as_ref()
                    .map(|c| format!("({} bytes)", c.len())),
            )
            .field("key_pem", &self.key_pem.as_ref().map(|_| "(sensitive)"))
            .finish()
    }
}

/// A client for the client URLs of a cluster's members.
pub struct EtcdApi {
    endpoints: Vec<String>,
    http: reqwest::Client,
    request_timeout: Duration,
}

impl EtcdApi {
    /// A client for `endpoints` (client URLs such as `http://10.0.0.11:2379`; `https://` ones
    /// need `tls`).
    pub fn new(endpoints: Vec<String>, tls: Option<&ClientTls>) -> Result<Self, EtcdError> {
        Self::with_timeouts(
            endpoints,
            tls,
            Duration::from_secs(2),
            Duration::from_secs(5),
        )
    }

    /// A client that gives up quickly: for looking whether a cluster runs at all (a plan of a
    /// new cluster, a refresh from a runner that cannot reach it) without slowing the plan.
    pub fn probe(endpoints: Vec<String>, tls: Option<&ClientTls>) -> Result<Self, EtcdError> {
        Self::with_timeouts(
            endpoints,
            tls,
            Duration::from_secs(1),
            Duration::from_secs(2),
        )
    }

    fn with_timeouts(
        endpoints: Vec<String>,
        tls: Option<&ClientTls>,
        connect: Duration,
        request_timeout: Duration,
    ) -> Result<Self, EtcdError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let bad = |what: &str, e: reqwest::Error| EtcdError::Refused {
            url: String::new(),
            message: format!("{what}: {e}"),
        };
        let mut builder = reqwest::Client::builder().connect_timeout(connect);
        if let Some(t) = tls {
            // Only the cluster's CA: a public CA's certificate for the same address is not etcd.
            let roots = reqwest::Certificate::from_pem_bundle(t.ca_pem.as_bytes())
                .map_err(|e| bad("the etcd CA certificate is not PEM", e))?;
            if roots.is_empty() {
                return Err(EtcdError::Refused {
                    url: String::new(),
                    message: "the etcd CA (`api_tls.ca_pem`) holds no PEM certificate".to_string(),
                });
            }
            builder = builder.tls_certs_only(roots);
            if let (Some(cert), Some(key)) = (&t.cert_pem, &t.key_pem) {
                let pem = format!("{}\n{}", cert.trim_end(), key.trim_end());
                builder =
                    builder
                        .identity(reqwest::Identity::from_pem(pem.as_bytes()).map_err(|e| {
                            bad("the etcd client certificate or key is not PEM", e)
                        })?);
            }
        }
        let http = builder.build().map_err(|e| bad("HTTP client", e))?;
        Ok(EtcdApi {
            endpoints: endpoints
                .into_iter()
                .map(|e| e.trim_end_matches('/').to_string())
                .collect(),
            http,
            request_timeout,
        })
    }

    /// The endpoints, as given.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// `POST path` with `body` on the first endpoint that answers, retried until `deadline`
    /// (connection failures and 5xx; a 4xx is etcd's refusal).
    async fn call(&self, path: &str, body: &Json, deadline: Duration) -> Result<Json, EtcdError> {
        let start = Instant::now();
        let mut attempt = 0u32;
        let mut last = "no endpoint given".to_string();
        loop {
            for base in &self.endpoints {
                let url = format!("{base}{path}");
                let sent = self
                    .http
                    .post(&url)
                    .timeout(self.request_timeout)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.to_string())
                    .send()
                    .await;
                match sent {
                    Err(e) => last = format!("{url}: {e}"),
                    Ok(resp) => {
                        let status = resp.status();
                        let text = resp.text().await.unwrap_or_default();
                        let parsed: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
                        // The gateway reports gRPC errors as {"error"|"message": ..., "code": n}.
                        let message = parsed
                            .get("message")
                            .or_else(|| parsed.get("error"))
                            .and_then(Json::as_str)
                            .map(str::to_string);
                        if status.is_success() && message.is_none() {
                            return Ok(parsed);
                        }
                        let message = message.unwrap_or_else(|| text.trim().to_string());
                        if status.is_client_error() {
                            return Err(EtcdError::Refused { url, message });
                        }
                        last = format!("{url}: {status} {message}");
                    }
                }
            }
            attempt += 1;
            let wait = backoff(attempt);
            if start.elapsed() + wait > deadline {
                return Err(EtcdError::Unreachable {
                    tried: self.endpoints.clone(),
                    waited: start.elapsed(),
                    last,
                });
            }
            tracing::info!(
                path,
                attempt,
                "no etcd member answered yet ({last}); retrying"
            );
            if !pause(wait).await {
                return Err(EtcdError::Stopped);
            }
        }
    }

    /// The member list (`MemberList`), linearizable so a member just added is in it.
    pub async fn members(&self, deadline: Duration) -> Result<Vec<EtcdMemberInfo>, EtcdError> {
        let path = "/v3/cluster/member/list";
        let body = self
            .call(path, &json!({"linearizable": true}), deadline)
            .await?;
        members_of(&body, path)
    }

    /// Adds a member with `peer_url` (`MemberAdd`), a learner when `learner`: the new member and
    /// the list with it.
    pub async fn add(
        &self,
        peer_url: &str,
        learner: bool,
        deadline: Duration,
    ) -> Result<(EtcdMemberInfo, Vec<EtcdMemberInfo>), EtcdError> {
        let path = "/v3/cluster/member/add";
        let body = self
            .call(
                path,
                &json!({"peerURLs": [peer_url], "isLearner": learner}),
                deadline,
            )
            .await?;
        let added = body
            .get("member")
            .cloned()
            .map(|m| members_of(&json!({ "members": [m] }), path))
            .transpose()?
            .and_then(|mut v| v.pop());
        let members = members_of(&body, path)?;
        match added {
            Some(a) => Ok((a, members)),
            None => Err(EtcdError::Refused {
                url: path.to_string(),
                message: "MemberAdd answered without the new member".to_string(),
            }),
        }
    }

    /// Removes the member `id` (`MemberRemove`).
    pub async fn remove(&self, id: u64, deadline: Duration) -> Result<(), EtcdError> {
        self.call(
            "/v3/cluster/member/remove",
            &json!({"ID": id.to_string()}),
            deadline,
        )
        .await
        .map(|_| ())
    }
}

impl EtcdApi {
    /// Whether the member serving `client_url` answers and is healthy (`GET /health`: etcd says
    /// `"health": "true"` when it has a leader and its store answers).
    pub async fn healthy(&self, client_url: &str) -> bool {
        let url = format!("{}/health", client_url.trim_end_matches('/'));
        match self
            .http
            .get(&url)
            .timeout(Duration::from_secs(3))
            .send()
            .await
        {
            Ok(r) => serde_json::from_str::<Json>(&r.text().await.unwrap_or_default())
                .ok()
                .and_then(|j| j.get("health").and_then(Json::as_str).map(|h| h == "true"))
                .unwrap_or(false),
            Err(_) => false,
        }
    }
}

/// A cluster's quorum: a majority of its voting members.
pub fn quorum(voting: usize) -> usize {
    voting / 2 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_from_strings_or_numbers_and_shown_in_hex() {
        let body = json!({"members": [
            {"ID": "10276657743932975437", "name": "e1", "peerURLs": ["http://10.0.0.1:2380"],
             "clientURLs": ["http://10.0.0.1:2379"]},
            {"ID": 42, "peerURLs": ["http://10.0.0.4:2380"], "isLearner": true}
        ]});
        let m = members_of(&body, "/v3/cluster/member/list").expect("parses");
        assert_eq!(m[0].hex_id(), "8e9e05c52164694d");
        assert!(m[0].started() && !m[0].is_learner);
        assert_eq!(m[1].id, 42);
        assert!(!m[1].started() && m[1].is_learner);
        assert!(members_of(&json!({"members": [{"name": "x"}]}), "p").is_err());
    }

    #[test]
    fn quorum_is_a_majority() {
        assert_eq!(
            [1, 2, 3, 4, 5].map(quorum),
            [1, 2, 2, 3, 3],
            "quorum of 1..5 voting members"
        );
    }
}

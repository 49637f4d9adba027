//! A client for Patroni's REST API: the channel through which cluster-wide settings reach a
//! running cluster (DESIGN.md §6).
//!
//! Every call names the endpoints it tried when it fails, retries connection failures and 5xx
//! answers with back-off until its deadline, and never retries a 4xx (Patroni's message is the
//! answer). Nothing here runs during plan or `ConfigureProvider`.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value as Json;

/// Basic-authentication credentials of the REST API (Patroni asks for them on every unsafe
/// method: PATCH, POST).
#[derive(Clone)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"(sensitive)")
            .finish()
    }
}

/// Why a REST API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No endpoint answered before the deadline.
    #[error("no Patroni REST API answered within {waited:?} (tried {}): {last}", .tried.join(", "))]
    Unreachable {
        /// The endpoints tried.
        tried: Vec<String>,
        /// How long it tried.
        waited: Duration,
        /// The last error seen.
        last: String,
    },
    /// Patroni refused the request (a 4xx): its own message.
    #[error("{method} {url} was refused by Patroni ({status}): {message}")]
    Refused {
        /// The method.
        method: String,
        /// The full URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Patroni's answer.
        message: String,
    },
    /// Terraform asked the provider to stop (Ctrl-C) while it waited.
    #[error("interrupted: Terraform asked the provider to stop")]
    Stopped,
    /// The answer was not what Patroni sends.
    #[error("{url} answered something that is not Patroni's JSON: {detail}")]
    Unexpected {
        /// The full URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
}

/// One member as `GET /cluster` shows it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Member {
    /// Member name.
    pub name: String,
    /// `leader`, `standby_leader`, `sync_standby`, `quorum_standby` or `replica`.
    #[serde(default)]
    pub role: String,
    /// `running`, `streaming`, `stopped`, `starting`, `creating replica`, …
    #[serde(default)]
    pub state: String,
    /// The member's REST API URL (`http://host:8008/patroni`).
    #[serde(default)]
    pub api_url: Option<String>,
    /// PostgreSQL host.
    #[serde(default)]
    pub host: Option<String>,
    /// PostgreSQL port.
    #[serde(default)]
    pub port: Option<u16>,
    /// Timeline.
    #[serde(default)]
    pub timeline: Option<i64>,
    /// Replication lag in bytes; Patroni writes `"unknown"` when it has none.
    #[serde(default)]
    pub lag: Option<Json>,
    /// Whether a changed parameter waits for a restart.
    #[serde(default)]
    pub pending_restart: bool,
    /// The member's tags.
    #[serde(default)]
    pub tags: Option<serde_json::Map<String, Json>>,
}

impl Member {
    /// The lag in bytes, when Patroni knows it.
    pub fn lag_bytes(&self) -> Option<u64> {
        self.lag.as_ref().and_then(Json::as_u64)
    }

    /// Whether this member is the (standby) leader.
    pub fn is_leader(&self) -> bool {
        self.role == "leader" || self.role == "standby_leader"
    }

    /// A replica that streams and has replayed everything (lag 0).
    pub fn is_caught_up_replica(&self) -> bool {
        !self.is_leader() && self.state == "streaming" && self.lag_bytes() == Some(0)
    }

    /// Whether a tag is set to true.
    pub fn tag(&self, name: &str) -> bool {
        self.tags
            .as_ref()
            .and_then(|t| t.get(name))
            .and_then(Json::as_bool)
            .unwrap_or(false)
    }
}

/// `GET /cluster`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ClusterView {
    /// The members.
    #[serde(default)]
    pub members: Vec<Member>,
}

impl ClusterView {
    /// The leader, if there is one.
    pub fn leader(&self) -> Option<&Member> {
        self.members.iter().find(|m| m.is_leader())
    }

    /// The member called `name`.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// One running leader and every other member streaming with lag 0.
    pub fn is_healthy(&self, expected_members: usize) -> bool {
        let leaders = self.members.iter().filter(|m| m.is_leader()).count();
        leaders == 1
            && self.members.len() >= expected_members
            && self
                .members
                .iter()
                .all(|m| (m.is_leader() && m.state == "running") || m.is_caught_up_replica())
    }

    /// [`ClusterView::is_healthy`], and with `synchronous` (the cluster's `synchronous_mode`) a
    /// synchronous standby chosen, unless no replica may be one (all tagged `nosync`): right
    /// after a switchover or a restart Patroni names it a loop later, and until then a commit is
    /// acknowledged by the leader alone.
    pub fn is_settled(&self, expected_members: usize, synchronous: bool) -> bool {
        let eligible = self
            .members
            .iter()
            .any(|m| !m.is_leader() && !m.tag("nosync"));
        let sync_chosen = self
            .members
            .iter()
            .any(|m| m.role == "sync_standby" || m.role == "quorum_standby");
        self.is_healthy(expected_members) && (!synchronous || !eligible || sync_chosen)
    }

    /// Names of the members that wait for a restart.
    pub fn pending_restart(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.pending_restart)
            .map(|m| m.name.clone())
            .collect();
        names.sort();
        names
    }

    /// One line per member, for the log: `node1 leader running tl 3`.
    pub fn summary(&self) -> String {
        self.members
            .iter()
            .map(|m| {
                format!(
                    "{} {} {} tl {} lag {}",
                    m.name,
                    m.role,
                    m.state,
                    m.timeline.map(|t| t.to_string()).unwrap_or("-".into()),
                    m.lag_bytes().map(|l| l.to_string()).unwrap_or("-".into())
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The REST API of one cluster: its members' base URLs (`http://10.0.0.1:8008`), tried in turn.
#[derive(Debug, Clone)]
pub struct PatroniApi {
    endpoints: Vec<String>,
    credentials: Option<Credentials>,
    http: reqwest::Client,
}

/// Sleeps for `d`, or less when Terraform asks the provider to stop (then `false`).
pub async fn pause(d: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        () = tfplugin::stopped() => false,
    }
}

/// The delay before retry number `attempt` (1-based): 0.5 s doubling up to 5 s. Shared with the
/// etcd client.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let ms = 500u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(4));
    Duration::from_millis(ms.min(5_000))
}

impl PatroniApi {
    /// A client for `endpoints` (base URLs without a path).
    pub fn new(endpoints: Vec<String>, credentials: Option<Credentials>) -> Result<Self, ApiError> {
        // reqwest is built without a bundled rustls provider (as in pgha-oci); use ring unless
        // one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| ApiError::Unexpected {
                url: String::new(),
                detail: format!("HTTP client: {e}"),
            })?;
        Ok(PatroniApi {
            endpoints: endpoints
                .into_iter()
                .map(|e| e.trim_end_matches('/').to_string())
                .collect(),
            credentials,
            http,
        })
    }

    /// The endpoints, as given.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// One request to `base` + `path`; `Ok(None)` for an answer worth retrying elsewhere or later
    /// (connection failure, 5xx, 503 of a member that is not the one asked for), with the reason.
    async fn once(
        &self,
        method: &Method,
        url: &str,
        body: Option<&Json>,
        per_request: Duration,
    ) -> Result<Result<(StatusCode, String), String>, ApiError> {
        let mut request = self.http.request(method.clone(), url).timeout(per_request);
        if *method != Method::GET {
            if let Some(c) = &self.credentials {
                request = request.basic_auth(&c.username, Some(&c.password));
            }
        }
        if let Some(b) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        match request.send().await {
            Err(e) => Ok(Err(format!("{url}: {e}"))),
            Ok(resp) => {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                Ok(Ok((status, text)))
            }
        }
    }

    /// `method path` on the first endpoint that answers, retried until `deadline`. `accept`
    /// decides which statuses are an answer; a 4xx it does not accept is [`ApiError::Refused`].
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Json>,
        deadline: Duration,
        per_request: Duration,
    ) -> Result<(String, String), ApiError> {
        let start = Instant::now();
        let mut attempt = 0u32;
        let mut last = "no endpoint given".to_string();
        loop {
            for base in &self.endpoints {
                let url = format!("{base}{path}");
                match self.once(&method, &url, body, per_request).await? {
                    Err(e) => last = e,
                    Ok((status, text)) if status.is_success() => return Ok((base.clone(), text)),
                    Ok((status, text)) if status.is_client_error() => {
                        return Err(ApiError::Refused {
                            method: method.to_string(),
                            url,
                            status: status.as_u16(),
                            message: text.trim().to_string(),
                        })
                    }
                    Ok((status, text)) => last = format!("{url}: {status} {}", text.trim()),
                }
            }
            attempt += 1;
            let wait = backoff(attempt);
            if start.elapsed() + wait > deadline {
                return Err(ApiError::Unreachable {
                    tried: self.endpoints.clone(),
                    waited: start.elapsed(),
                    last,
                });
            }
            tracing::info!(
                path,
                attempt,
                "no Patroni REST API answered yet ({last}); retrying"
            );
            if !pause(wait).await {
                return Err(ApiError::Stopped);
            }
        }
    }

    fn json(url: &str, text: &str) -> Result<Json, ApiError> {
        serde_json::from_str(text).map_err(|e| ApiError::Unexpected {
            url: url.to_string(),
            detail: e.to_string(),
        })
    }

    /// `GET /config`: the dynamic configuration in the DCS.
    pub async fn get_config(&self, deadline: Duration) -> Result<Json, ApiError> {
        let (base, text) = self
            .call(
                Method::GET,
                "/config",
                None,
                deadline,
                Duration::from_secs(5),
            )
            .await?;
        Self::json(&format!("{base}/config"), &text)
    }

    /// `PATCH /config` with a merge patch (null removes a key); the configuration after it.
    pub async fn patch_config(&self, patch: &Json, deadline: Duration) -> Result<Json, ApiError> {
        let (base, text) = self
            .call(
                Method::PATCH,
                "/config",
                Some(patch),
                deadline,
                Duration::from_secs(10),
            )
            .await?;
        Self::json(&format!("{base}/config"), &text)
    }

    /// `GET /cluster`.
    pub async fn cluster(&self, deadline: Duration) -> Result<ClusterView, ApiError> {
        let (base, text) = self
            .call(
                Method::GET,
                "/cluster",
                None,
                deadline,
                Duration::from_secs(5),
            )
            .await?;
        let url = format!("{base}/cluster");
        serde_json::from_str(&text).map_err(|e| ApiError::Unexpected {
            url,
            detail: e.to_string(),
        })
    }

    /// `POST /restart` on the member whose REST API is `member_base` (only when a restart is
    /// pending). Patroni answers when PostgreSQL is up again.
    pub async fn restart_member(
        &self,
        member_base: &str,
        deadline: Duration,
    ) -> Result<String, ApiError> {
        let one = PatroniApi {
            endpoints: vec![member_base.trim_end_matches('/').to_string()],
            credentials: self.credentials.clone(),
            http: self.http.clone(),
        };
        let body = serde_json::json!({ "restart_pending": true });
        let (_, text) = one
            .call(Method::POST, "/restart", Some(&body), deadline, deadline)
            .await?;
        Ok(text.trim().to_string())
    }

    /// `POST /switchover` from `leader` to `candidate` (any healthy member when `None`).
    pub async fn switchover(
        &self,
        leader: &str,
        candidate: Option<&str>,
        deadline: Duration,
    ) -> Result<String, ApiError> {
        let mut body = serde_json::json!({ "leader": leader });
        if let Some(c) = candidate {
            body["candidate"] = Json::from(c);
        }
        let (_, text) = self
            .call(Method::POST, "/switchover", Some(&body), deadline, deadline)
            .await?;
        Ok(text.trim().to_string())
    }

    /// The base URL of `member` (from its `api_url`), or the endpoint whose host is its host.
    pub fn member_base(&self, member: &Member) -> Option<String> {
        if let Some(url) = &member.api_url {
            return Some(url.trim_end_matches("/patroni").to_string());
        }
        let host = member.host.as_deref()?;
        self.endpoints
            .iter()
            .find(|e| e.contains(&format!("//{host}:")))
            .cloned()
    }
}

/// The JSON merge patch (RFC 7386, as Patroni's `PATCH /config` applies it) that turns `from`
/// into `to`: changed values as they are in `to`, removed keys as null, objects recursively.
/// `None` when nothing differs. Keys in `keep` (top level) are left alone.
pub fn merge_patch(from: &Json, to: &Json, keep: &[&str]) -> Option<Json> {
    match (from, to) {
        (Json::Object(a), Json::Object(b)) => {
            let mut out = serde_json::Map::new();
            for (k, old) in a {
                if keep.contains(&k.as_str()) {
                    continue;
                }
                match b.get(k) {
                    None => {
                        out.insert(k.clone(), Json::Null);
                    }
                    Some(new) => {
                        if let Some(p) = merge_patch(old, new, &[]) {
                            out.insert(k.clone(), p);
                        }
                    }
                }
            }
            for (k, new) in b {
                if !a.contains_key(k) && !keep.contains(&k.as_str()) {
                    out.insert(k.clone(), new.clone());
                }
            }
            (!out.is_empty()).then_some(Json::Object(out))
        }
        (a, b) if a == b => None,
        (_, b) => Some(b.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_merge_patch_holds_exactly_the_difference() {
        let live = json!({"ttl": 20, "pause": true, "postgresql": {"parameters": {"work_mem": "4MB", "x": 1}, "use_slots": true}, "check_timeline": true});
        let want = json!({"ttl": 30, "postgresql": {"parameters": {"work_mem": "8MB"}, "use_slots": true}, "slots": {"s": {"type": "physical"}}});
        let patch = merge_patch(&live, &want, &["pause"]).unwrap();
        assert_eq!(
            patch,
            json!({"ttl": 30, "check_timeline": null, "postgresql": {"parameters": {"work_mem": "8MB", "x": null}}, "slots": {"s": {"type": "physical"}}})
        );
        assert_eq!(merge_patch(&want, &want, &[]), None);
        // A list is replaced whole.
        assert_eq!(
            merge_patch(&json!({"a": [1, 2]}), &json!({"a": [2]}), &[]),
            Some(json!({"a": [2]}))
        );
    }

    /// A one-shot HTTP server on loopback that answers every request with `status` and `body`,
    /// and hands back the requests it saw.
    fn answering(status: &str, body: &'static str) -> (String, std::sync::mpsc::Receiver<String>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let status = status.to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(4) {
                let Ok(mut stream) = stream else { return };
                let mut buf = vec![0u8; 65536];
                let n = stream.read(&mut buf).unwrap_or(0);
                let _ = tx.send(String::from_utf8_lossy(&buf[..n]).to_string());
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        (url, rx)
    }

    #[tokio::test]
    async fn a_refused_patch_carries_patronis_message_and_is_not_retried() {
        let (url, seen) = answering("400 Bad Request", "Invalid JSON document");
        let api = PatroniApi::new(
            vec![url.clone()],
            Some(Credentials {
                username: "patroni".into(),
                password: "pw-123".into(),
            }),
        )
        .unwrap();
        let err = api
            .patch_config(&json!({"ttl": 30}), Duration::from_secs(5))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ApiError::Refused { status: 400, .. }),
            "{text}"
        );
        assert!(text.contains("Invalid JSON document"), "{text}");
        assert!(text.contains(&format!("{url}/config")), "{text}");
        let request = seen.recv().unwrap();
        assert!(request.starts_with("PATCH /config"), "{request}");
        // Basic authentication on an unsafe method; the body is the patch.
        assert!(
            request
                .to_ascii_lowercase()
                .contains("authorization: basic "),
            "{request}"
        );
        assert!(request.ends_with(r#"{"ttl":30}"#), "{request}");
        assert!(seen.try_recv().is_err(), "a 4xx is not retried");
    }

    #[tokio::test]
    async fn unreachable_endpoints_fail_in_time_and_are_named() {
        // Nothing listens on port 9 of loopback (discard, never started here).
        let api = PatroniApi::new(
            vec!["http://127.0.0.1:9".into(), "http://127.0.0.2:9/".into()],
            None,
        )
        .unwrap();
        let start = Instant::now();
        let err = api.get_config(Duration::from_secs(2)).await.unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(10));
        let text = err.to_string();
        assert!(matches!(err, ApiError::Unreachable { .. }), "{text}");
        assert!(
            text.contains("http://127.0.0.1:9") && text.contains("http://127.0.0.2:9"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_server_error_is_retried_on_the_next_endpoint() {
        let (bad, _) = answering("503 Service Unavailable", "not ready");
        let (good, _) = answering("200 OK", r#"{"ttl": 20}"#);
        let api = PatroniApi::new(vec![bad, good], None).unwrap();
        let config = api.get_config(Duration::from_secs(5)).await.unwrap();
        assert_eq!(config, json!({"ttl": 20}));
    }

    #[test]
    fn backoff_doubles_and_stops_at_five_seconds() {
        let waits: Vec<u64> = (1..8).map(|a| backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, vec![500, 1000, 2000, 4000, 5000, 5000, 5000]);
    }

    #[test]
    fn credentials_never_print_the_password() {
        let c = Credentials {
            username: "patroni".into(),
            password: "s3cret-value".into(),
        };
        assert!(!format!("{c:?}").contains("s3cret-value"));
    }

    #[test]
    fn health_needs_one_running_leader_and_caught_up_replicas() {
        let view: ClusterView = serde_json::from_value(json!({"members": [
            {"name": "a", "role": "leader", "state": "running", "timeline": 2},
            {"name": "b", "role": "sync_standby", "state": "streaming", "lag": 0, "pending_restart": true},
            {"name": "c", "role": "replica", "state": "streaming", "lag": "unknown"}
        ]}))
        .unwrap();
        assert!(!view.is_healthy(3));
        assert_eq!(view.pending_restart(), vec!["b".to_string()]);
        assert_eq!(view.leader().map(|m| m.name.as_str()), Some("a"));
        let mut fixed = view.clone();
        fixed.members[2].lag = Some(json!(0));
        assert!(fixed.is_healthy(3));
        assert!(!fixed.is_healthy(4));
        assert!(fixed.is_settled(3, true));
        // Right after a switchover: healthy, but no synchronous standby named yet.
        let mut after = fixed.clone();
        after.members[1].role = "replica".into();
        assert!(after.is_healthy(3) && !after.is_settled(3, true) && after.is_settled(3, false));
        // Every replica nosync: nobody can be synchronous, so nobody is waited for.
        for m in after.members.iter_mut().skip(1) {
            m.tags = Some(serde_json::from_value(json!({"nosync": true})).unwrap());
        }
        assert!(after.is_settled(3, true));
    }
}

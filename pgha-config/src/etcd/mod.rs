//! etcd: the distributed configuration store Patroni elects its leader through.
//!
//! The model ([`Etcd`], [`EtcdMember`]), its renderer ([`render`]) and its validation
//! ([`validate`]) live together here.

pub mod render;
pub mod validate;

use serde::{Deserialize, Serialize};

use crate::defaults;

/// Which etcd API Patroni talks to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EtcdApi {
    /// The v3 gRPC-gateway API (`etcd3:` in patroni.yml). Works with etcd 3.4 to 3.6.
    #[default]
    V3,
    /// The v2 API (`etcd:` in patroni.yml, `ETCD_ENABLE_V2`). Deprecated in 3.4 and removed in
    /// etcd 3.6; only on explicit request.
    V2,
}

/// TLS for client and peer traffic. Paths are on the etcd host; the files are provisioned
/// separately (they are secrets of their own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EtcdTls {
    /// CA bundle that signed the member and client certificates.
    pub ca_file: String,
    /// This member's certificate.
    pub cert_file: String,
    /// This member's private key.
    pub key_file: String,
    /// Require clients (Patroni) to present a certificate signed by `ca_file`.
    #[serde(default)]
    pub client_cert_auth: bool,
}

/// One etcd member (one host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EtcdMember {
    /// Member name (`ETCD_NAME`); also the host's name.
    pub name: String,
    /// Address other hosts reach this member on (IP or DNS name).
    pub address: String,
    /// Client port.
    #[serde(default = "client_port")]
    pub client_port: u16,
    /// Peer port.
    #[serde(default = "peer_port")]
    pub peer_port: u16,
    /// Availability (or fault) domain, for documentation and spread checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_domain: Option<String>,
}

fn client_port() -> u16 {
    defaults::ETCD_CLIENT_PORT
}
fn peer_port() -> u16 {
    defaults::ETCD_PEER_PORT
}
fn heartbeat() -> u32 {
    defaults::ETCD_HEARTBEAT_MS
}
fn election() -> u32 {
    defaults::ETCD_ELECTION_TIMEOUT_MS
}

/// The etcd cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Etcd {
    /// All members, in a stable order.
    pub members: Vec<EtcdMember>,
    /// `ETCD_INITIAL_CLUSTER_TOKEN`; defaults to `<cluster name>-etcd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Heartbeat interval in milliseconds.
    #[serde(default = "heartbeat")]
    pub heartbeat_interval_ms: u32,
    /// Election timeout in milliseconds.
    #[serde(default = "election")]
    pub election_timeout_ms: u32,
    /// The API Patroni uses.
    #[serde(default)]
    pub api: EtcdApi,
    /// TLS settings; plain HTTP when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<EtcdTls>,
    /// Set when the member being rendered joins a running cluster instead of bootstrapping with
    /// the others; `members` is then the cluster's current member list, this member included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<EtcdJoin>,
}

/// A member that joins a running cluster. It was added through the cluster's API as a
/// **learner** (a member that receives the log but does not vote, so adding it cannot cost the
/// cluster its quorum), its environment says `ETCD_INITIAL_CLUSTER_STATE=existing`, and its host
/// promotes it to a voting member once it has caught up with the leader: only the host knows
/// when its etcd is running, and etcd refuses the promotion of a learner that is behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EtcdJoin {
    /// The ID the cluster gave the member, hexadecimal (as `etcdctl member list` prints it).
    pub member_id: String,
    /// Client URLs of the members that were in the cluster: where the promotion is asked for.
    pub endpoints: Vec<String>,
    /// How long the host waits for its learner to catch up; then it removes the learner again,
    /// so a member that cannot join leaves the cluster as it was.
    #[serde(default = "promote_timeout")]
    pub promote_timeout_seconds: u32,
    /// `ETCD_INITIAL_CLUSTER` of a bootstrap of the configured members (what the members that
    /// started together were given). When no member answers at first boot for
    /// [`crate::defaults::ETCD_JOIN_FALLBACK_SECS`] (every host rebuilt from empty disks, as in
    /// a restore), the host bootstraps with the others instead of waiting for a cluster that is
    /// gone. This cannot split a running cluster: a bootstrap needs a majority of these members,
    /// and members that have data never join a new cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_cluster: Option<String>,
}

fn promote_timeout() -> u32 {
    defaults::ETCD_PROMOTE_TIMEOUT_SECS
}

impl EtcdMember {
    /// The URL scheme members use.
    fn scheme(tls: bool) -> &'static str {
        if tls {
            "https"
        } else {
            "http"
        }
    }

    /// `scheme://address:client_port`.
    pub fn client_url(&self, tls: bool) -> String {
        format!(
            "{}://{}:{}",
            Self::scheme(tls),
            host_for_url(&self.address),
            self.client_port
        )
    }

    /// `scheme://address:peer_port`.
    pub fn peer_url(&self, tls: bool) -> String {
        format!(
            "{}://{}:{}",
            Self::scheme(tls),
            host_for_url(&self.address),
            self.peer_port
        )
    }

    /// `address:client_port`, as Patroni's `hosts` list wants it.
    pub fn client_host_port(&self) -> String {
        format!("{}:{}", host_for_url(&self.address), self.client_port)
    }
}

impl Etcd {
    /// The token, falling back to `<cluster>-etcd`.
    pub fn token_for(&self, cluster_name: &str) -> String {
        self.token
            .clone()
            .unwrap_or_else(|| format!("{cluster_name}-etcd"))
    }

    /// `ETCD_INITIAL_CLUSTER`: every member as `name=peer_url`, comma-separated.
    pub fn initial_cluster(&self) -> String {
        let tls = self.tls.is_some();
        self.members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url(tls)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Brackets an IPv6 literal for use in a URL or `host:port`.
pub fn host_for_url(address: &str) -> String {
    if address.contains(':') && !address.starts_with('[') {
        format!("[{address}]")
    } else {
        address.to_string()
    }
}

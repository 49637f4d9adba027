//! Patroni and the PostgreSQL it manages: cluster-wide settings ([`Patroni`]), the database
//! nodes ([`PatroniNode`]), the renderer ([`render`]) and validation ([`validate`]).

pub mod render;
pub mod validate;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::defaults;

/// A PostgreSQL parameter value as written in YAML: a boolean, a number or text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PgValue {
    /// `on`/`off`.
    Bool(bool),
    /// An integer (units, if any, are PostgreSQL's defaults for the parameter).
    Int(i64),
    /// A real number.
    Float(f64),
    /// Anything else, including values with units (`900s`, `5GB`).
    Text(String),
}

impl fmt::Display for PgValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgValue::Bool(true) => f.write_str("on"),
            PgValue::Bool(false) => f.write_str("off"),
            PgValue::Int(i) => write!(f, "{i}"),
            PgValue::Float(x) => write!(f, "{x}"),
            PgValue::Text(s) => f.write_str(s),
        }
    }
}

impl From<&str> for PgValue {
    fn from(s: &str) -> Self {
        PgValue::Text(s.to_string())
    }
}

/// PostgreSQL parameters by name, in a stable order.
pub type Parameters = BTreeMap<String, PgValue>;

/// What Patroni does with a hardware or software watchdog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchdogMode {
    /// No watchdog.
    #[default]
    Off,
    /// Use `/dev/watchdog` when it exists.
    Automatic,
    /// Refuse to become leader without a watchdog.
    Required,
}

/// initdb options for a new cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Initdb {
    /// Database encoding.
    #[serde(default = "encoding")]
    pub encoding: String,
    /// Locale (`--locale`); the host's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Page checksums (`--data-checksums`); pg_rewind needs them or `wal_log_hints`.
    #[serde(default = "yes")]
    pub data_checksums: bool,
}

impl Default for Initdb {
    fn default() -> Self {
        Initdb {
            encoding: encoding(),
            locale: None,
            data_checksums: true,
        }
    }
}

/// Role names Patroni uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Users {
    /// Superuser.
    #[serde(default = "superuser")]
    pub superuser: String,
    /// Replication role.
    #[serde(default = "replication")]
    pub replication: String,
    /// pg_rewind role.
    #[serde(default = "rewind")]
    pub rewind: String,
}

impl Default for Users {
    fn default() -> Self {
        Users {
            superuser: superuser(),
            replication: replication(),
            rewind: rewind(),
        }
    }
}

/// An application admin role created once, after the cluster is bootstrapped (Patroni 4 no longer
/// creates `bootstrap.users`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminUser {
    /// Role name.
    pub name: String,
    /// Role options such as `createrole`, `createdb`.
    #[serde(default)]
    pub options: Vec<String>,
}

/// Cluster-wide Patroni settings. Everything here except `restapi_port`, `version` and `watchdog`
/// lives in the DCS (`bootstrap.dcs`), because Patroni reads those keys only from there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patroni {
    /// Patroni major version on the hosts (3 or 4).
    #[serde(default = "patroni_version")]
    pub version: u32,
    /// REST API port.
    #[serde(default = "restapi_port")]
    pub restapi_port: u16,
    /// Leader key TTL, seconds.
    #[serde(default = "ttl")]
    pub ttl: u32,
    /// HA loop interval, seconds.
    #[serde(default = "loop_wait")]
    pub loop_wait: u32,
    /// DCS and PostgreSQL retry timeout, seconds.
    #[serde(default = "retry_timeout")]
    pub retry_timeout: u32,
    /// Largest lag in bytes a replica may have and still be promoted.
    #[serde(default = "maximum_lag_on_failover")]
    pub maximum_lag_on_failover: u64,
    /// Synchronous replication managed by Patroni: a commit is acknowledged only when a replica
    /// has it, so a failover loses nothing.
    #[serde(default = "yes")]
    pub synchronous_mode: bool,
    /// Refuse writes when no synchronous replica is available.
    #[serde(default)]
    pub synchronous_mode_strict: bool,
    /// How many synchronous standbys Patroni keeps (with `synchronous_mode`).
    #[serde(default = "synchronous_node_count")]
    pub synchronous_node_count: u32,
    /// Keep the primary running when the DCS is unreachable but all members agree.
    #[serde(default)]
    pub failsafe_mode: bool,
    /// Rejoin a failed primary with pg_rewind.
    #[serde(default = "yes")]
    pub use_pg_rewind: bool,
    /// Use replication slots for every member.
    #[serde(default = "yes")]
    pub use_slots: bool,
    /// Watchdog use.
    #[serde(default)]
    pub watchdog: WatchdogMode,
    /// PostgreSQL parameters for every node (stored in the DCS).
    #[serde(default)]
    pub parameters: Parameters,
    /// Seconds a member's replication slot outlives the member (Patroni 4's `member_slots_ttl`;
    /// Patroni's default, 30 minutes, when absent). 0 drops a removed member's slot at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_slots_ttl: Option<u32>,
    /// Extra pg_hba.conf lines, after the ones generated for replication and local access.
    #[serde(default)]
    pub pg_hba: Vec<String>,
    /// Permanent replication slots (Patroni's `slots`), by name: kept on the leader, and on
    /// every member for physical slots, across failovers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slots: BTreeMap<String, PermanentSlot>,
    /// Networks allowed to connect to all databases with a password (`host all all CIDR`).
    #[serde(default)]
    pub client_cidrs: Vec<String>,
    /// initdb options.
    #[serde(default)]
    pub initdb: Initdb,
    /// Role names.
    #[serde(default)]
    pub users: Users,
    /// Application admin role created after bootstrap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_user: Option<AdminUser>,
}

impl Default for Patroni {
    fn default() -> Self {
        Patroni {
            version: patroni_version(),
            restapi_port: restapi_port(),
            ttl: ttl(),
            loop_wait: loop_wait(),
            retry_timeout: retry_timeout(),
            maximum_lag_on_failover: maximum_lag_on_failover(),
            synchronous_mode: true,
            synchronous_mode_strict: false,
            synchronous_node_count: synchronous_node_count(),
            failsafe_mode: false,
            use_pg_rewind: true,
            use_slots: true,
            watchdog: WatchdogMode::Off,
            parameters: Parameters::new(),
            pg_hba: Vec::new(),
            member_slots_ttl: None,
            slots: BTreeMap::new(),
            client_cidrs: Vec::new(),
            initdb: Initdb::default(),
            users: Users::default(),
            admin_user: None,
        }
    }
}

/// The kind of a permanent replication slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SlotKind {
    /// A physical slot (an external standby, a `pg_receivewal`).
    #[default]
    Physical,
    /// A logical slot (a subscriber, change data capture); needs `database` and `plugin`.
    Logical,
}

impl SlotKind {
    /// Patroni's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SlotKind::Physical => "physical",
            SlotKind::Logical => "logical",
        }
    }
}

/// A permanent replication slot (an entry of Patroni's `slots`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermanentSlot {
    /// `physical` or `logical`.
    #[serde(default, rename = "type")]
    pub kind: SlotKind,
    /// Database of a logical slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Output plugin of a logical slot (`pgoutput`, `test_decoding`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
}

/// Patroni member tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tags {
    /// Never promote this node.
    #[serde(default)]
    pub nofailover: bool,
    /// Keep this node out of read load balancing (`GET /replica` answers 503).
    #[serde(default)]
    pub noloadbalance: bool,
    /// Preferred source for new replicas.
    #[serde(default)]
    pub clonefrom: bool,
    /// Never choose this node as the synchronous replica.
    #[serde(default)]
    pub nosync: bool,
    /// Promotion priority (Patroni 3.1+; higher wins, 0 means never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_priority: Option<u32>,
}

/// One PostgreSQL + Patroni + pgBackRest host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatroniNode {
    /// Member name; also the host's name.
    pub name: String,
    /// Address other hosts reach this node on (PostgreSQL and REST API connect address).
    pub address: String,
    /// Address PostgreSQL and the REST API listen on; `address` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_address: Option<String>,
    /// PostgreSQL port.
    #[serde(default = "pg_port")]
    pub pg_port: u16,
    /// REST API port; the cluster's `restapi_port` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restapi_port: Option<u16>,
    /// Member tags.
    #[serde(default)]
    pub tags: Tags,
    /// PostgreSQL parameters for this node only (local `postgresql.parameters`).
    #[serde(default)]
    pub parameters: Parameters,
    /// Availability (or fault) domain, for documentation and spread checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_domain: Option<String>,
}

impl PatroniNode {
    /// The address PostgreSQL and the REST API listen on.
    pub fn listen(&self) -> &str {
        self.listen_address.as_deref().unwrap_or(&self.address)
    }

    /// The REST API port, given the cluster's default.
    pub fn restapi_port_or(&self, cluster_default: u16) -> u16 {
        self.restapi_port.unwrap_or(cluster_default)
    }
}

fn yes() -> bool {
    true
}
fn encoding() -> String {
    defaults::INITDB_ENCODING.to_string()
}
fn superuser() -> String {
    defaults::SUPERUSER.to_string()
}
fn replication() -> String {
    defaults::REPLICATION_USER.to_string()
}
fn rewind() -> String {
    defaults::REWIND_USER.to_string()
}
fn patroni_version() -> u32 {
    4
}
fn restapi_port() -> u16 {
    defaults::RESTAPI_PORT
}
fn ttl() -> u32 {
    defaults::TTL
}
fn loop_wait() -> u32 {
    defaults::LOOP_WAIT
}
fn retry_timeout() -> u32 {
    defaults::RETRY_TIMEOUT
}
fn maximum_lag_on_failover() -> u64 {
    defaults::MAXIMUM_LAG_ON_FAILOVER
}
fn synchronous_node_count() -> u32 {
    defaults::SYNCHRONOUS_NODE_COUNT
}
fn pg_port() -> u16 {
    defaults::PG_PORT
}

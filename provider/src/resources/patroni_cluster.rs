//! `pgha_patroni_cluster`: everything cluster-wide, and the live channel to a running cluster.
//!
//! The resource owns Patroni's dynamic configuration (DCS timings, synchronous replication,
//! PostgreSQL parameters, pg_hba, permanent slots) and what every node shares (scope, DCS hosts,
//! roles and passwords, the REST API credentials, the stanza). Each `pgha_patroni_node` takes
//! its entry of `node_specs` (`spec`, the whole cluster, is for `pgha_patroni_switchover`), so
//! no setting has two owners.
//!
//! Day 2 (DESIGN.md §6): a change of a cluster-wide setting never changes a host's first-boot
//! document. The `spec` carries the dynamic configuration the cluster was *created* with (the
//! `bootstrap.dcs` every node's patroni.yml holds, read only when a brand-new cluster is
//! initialized), and apply brings the running cluster to the configured settings through
//! Patroni's REST API: `PATCH /config` with exactly the difference from `GET /config`. Refresh
//! reads `GET /config` into `dynamic_config`, so a change made with `patronictl edit-config`
//! shows as drift in the next plan. Parameters that need a restart are reported in
//! `pending_restart`; with `restart = "rolling"` apply restarts the replicas one at a time,
//! switches over to a caught-up synchronous standby, then restarts the former leader if it still
//! needs it. Nothing connects during plan or `ConfigureProvider`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pgha_config::cluster::Cluster;
use pgha_config::etcd::{Etcd, EtcdMember, EtcdTls};
use pgha_config::patroni::render::{dynamic_configuration, to_yaml};
use pgha_config::patroni::{
    AdminUser, Initdb, Patroni, PatroniNode, PermanentSlot, SlotKind, Tags, Users,
};
use pgha_config::secret::{RestApiAuth, Secret, Secrets};
use pgha_config::{defaults, ModelPath};
use serde::{Deserialize, Serialize};
use tfplugin::{
    ApplyRequest, Attribute, AttributePath, Block, Diagnostics, NestingMode, PlanRequest,
    PlanResponse, Resource, Schema, Type, Value,
};

use super::cluster_map::{
    attr, flag, inline_values, nonempty, number, parameters, report, secret, secret_path, steps,
    string, string_map, strings, with_secret, Step::I, Step::K,
};
use super::pgbackrest_stanza::{StanzaSpec, SPEC_FORMAT as STANZA_SPEC_FORMAT};
use crate::patroni_api::{merge_patch, pause, ApiError, ClusterView, Credentials, PatroniApi};

/// Full type name.
pub const TYPE_NAME: &str = "pgha_patroni_cluster";

/// Schema version (2: the first with this resource, alongside `pgha_patroni_node` version 2).
pub const SCHEMA_VERSION: i64 = 2;

/// Format of [`ClusterSpec`].
pub const SPEC_FORMAT: u32 = 1;

/// Keys of the dynamic configuration that are not Terraform's: `pause` is an operator's
/// maintenance switch (`patronictl pause`), never reset by an apply.
const NOT_OWNED: &[&str] = &["pause"];

/// Default timeouts.
const CREATE_TIMEOUT: Duration = Duration::from_secs(600);
const UPDATE_TIMEOUT: Duration = Duration::from_secs(1200);
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The resource.
pub struct PatroniClusterResource;

/// What `pgha_patroni_node` (and `pgha_patroni_switchover`) take from the cluster: the `spec`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// [`SPEC_FORMAT`].
    pub format: u32,
    /// The cluster as its hosts' files need it: identity, DCS hosts, roles, secrets, stanza, and
    /// the members (name and address). The live settings are left at their defaults here: they
    /// reach the hosts through the DCS, never through their files.
    pub cluster: Cluster,
    /// The dynamic configuration the cluster was created with, as YAML (`bootstrap.dcs`).
    pub bootstrap_dcs: String,
    /// The members' REST API base URLs.
    pub endpoints: Vec<String>,
}

/// The DCS settings, as (attribute, description): attribute names are Patroni's keys.
const DCS_NUMBERS: &[(&str, &str)] = &[
    ("ttl", "Leader key TTL in seconds. Default `20`. Live."),
    (
        "loop_wait",
        "Seconds between HA loop runs. Default `5`. Live.",
    ),
    (
        "retry_timeout",
        "DCS and PostgreSQL retry timeout in seconds. Default `5`. Live.",
    ),
    (
        "maximum_lag_on_failover",
        "Largest lag in bytes a replica may have and still be promoted. Default `1048576`. Live.",
    ),
    (
        "synchronous_node_count",
        "Synchronous standbys Patroni keeps with `synchronous_mode`. Default `1`. Live.",
    ),
    (
        "member_slots_ttl",
        "Seconds a removed member's replication slot is kept (Patroni 4). Default: Patroni's \
         30 minutes; `0` drops it as soon as the member leaves. Live.",
    ),
];

const DCS_FLAGS: &[(&str, &str)] = &[
    (
        "synchronous_mode",
        "Synchronous replication managed by Patroni. Default `true`. Live.",
    ),
    (
        "synchronous_mode_strict",
        "Refuse writes without a synchronous replica. Default `false`. Live.",
    ),
    (
        "failsafe_mode",
        "Keep the primary when the DCS is down but all members agree. Default `false`. Live.",
    ),
    (
        "use_pg_rewind",
        "Rejoin a failed primary with pg_rewind. Default `true`. Live in the DCS, but it also \
         decides whether the hosts' files hold the rewind role's credentials.",
    ),
    (
        "use_slots",
        "Replication slots for every member. Default `true`. Live.",
    ),
];

/// Computed attributes.
const OUTPUTS: &[&str] = &[
    "id",
    "spec",
    "dynamic_config",
    "bootstrap_dynamic_config",
    "restapi_urls",
    "pending_restart",
    "node_specs",
];

/// The schema.
pub fn schema() -> Schema {
    let mut block = Block::new(
        "Everything cluster-wide of a Patroni cluster, and the live channel to it. Its `spec` \
         feeds every `pgha_patroni_node`. DCS settings (timings, synchronous replication, \
         PostgreSQL parameters, pg_hba, slots) are applied to the running cluster at apply \
         through Patroni's REST API (`PATCH /config`) and never replace a host; refresh reads \
         `GET /config`, so changes made outside Terraform show as drift. Parameters that need a \
         restart are listed in `pending_restart` and, with `restart = \"rolling\"`, restarted \
         one member at a time with a switchover. Scope, namespace, versions and the stanza's \
         repository replace the cluster (and so every node).",
    )
    .attribute(
        Attribute::string("id")
            .computed()
            .describe("The cluster's `name`."),
    )
    .attribute(
        Attribute::string("name")
            .required()
            .describe("Cluster name: Patroni's `scope`. Changing it replaces the cluster."),
    )
    .attribute(
        Attribute::string("namespace")
            .describe("DCS namespace. Default `/service/`. Changing it replaces the cluster."),
    )
    .attribute(
        Attribute::new("members", Type::map(Type::String))
            .required()
            .describe(
                "Every database node: `name = \"address\"` (the `pgha_patroni_node` names). \
                 pg_hba admits replication from each (live), and the REST API endpoints default \
                 to `http://address:restapi_port`. Take it from the same `locals` value as the \
                 nodes' `for_each`.",
            ),
    )
    .attribute(
        Attribute::number("restapi_port")
            .describe("Patroni REST API port of the members. Default `8008`."),
    )
    .attribute(
        Attribute::new("endpoints", Type::list(Type::String)).describe(
            "REST API base URLs the provider uses at apply and refresh (e.g. through a \
             bastion). Default: one per member, `http://address:restapi_port`.",
        ),
    )
    .attribute(
        Attribute::new("dcs_hosts", Type::list(Type::String))
            .required()
            .describe(
                "The etcd members' client endpoints (`address:port`), e.g. \
                 `[for m in pgha_etcd_member.e : m.client_endpoint]`.",
            ),
    )
    .attribute(Attribute::string("etcd_api").describe("`v3` (default) or `v2`."))
    .attribute(Attribute::string("stanza").required().sensitive().describe(
        "The `spec` of a `pgha_pgbackrest_stanza`. A change of its repository, name, \
         encryption or platform replaces the cluster.",
    ))
    .attribute(
        Attribute::number("postgres_version")
            .describe("PostgreSQL major version, 13–18. Default `17`. Replaces."),
    )
    .attribute(
        Attribute::number("patroni_version")
            .describe("Patroni major version, 3 or 4. Default `4`. Replaces."),
    );
    for (name, text) in DCS_NUMBERS {
        block = block.attribute(Attribute::number(*name).describe(*text));
    }
    for (name, text) in DCS_FLAGS {
        block = block.attribute(Attribute::bool(*name).describe(*text));
    }
    block = block
        .attribute(
            Attribute::new("parameters", Type::map(Type::String)).describe(
                "PostgreSQL parameters of every node (in the DCS; live: reloaded, or listed in \
                 `pending_restart` when PostgreSQL needs a restart). Values are strings: \
                 `true`/`false` and plain integers are written as such, anything else as text.",
            ),
        )
        .attribute(
            Attribute::new("pg_hba", Type::list(Type::String))
                .describe("Extra pg_hba.conf lines, after the generated ones. Live."),
        )
        .attribute(
            Attribute::new("client_cidrs", Type::list(Type::String))
                .describe("Networks allowed to connect to all databases with a password. Live."),
        )
        .attribute(Attribute::string("restart").describe(
            "What apply does when a changed parameter needs a PostgreSQL restart: `never` \
             (default: only report it in `pending_restart`) or `rolling` (replicas one at a \
             time, each caught up before the next, then a switchover to a caught-up \
             synchronous standby, then the former leader).",
        ))
        .attribute(Attribute::bool("wait_for_healthy").describe(
            "After a change, wait until the cluster has one leader, every member that is \
             there streams with lag 0 and (with `synchronous_mode`) a synchronous standby is \
             chosen again. Default `false`. Hosts are created after this resource \
             (they take its `node_specs`), so neither a new cluster nor a member added in the same \
             apply can be waited for here: use the `pgha_patroni_cluster_status` data source \
             with `wait_for_healthy` and `depends_on` the hosts for that.",
        ))
        .attribute(
            Attribute::string("restapi_username")
                .describe("REST API user name (basic authentication)."),
        );
    block = with_secret(
        block,
        "superuser_password",
        "the PostgreSQL superuser's password",
    );
    block = with_secret(
        block,
        "replication_password",
        "the replication role's password",
    );
    block = with_secret(block, "rewind_password", "the pg_rewind role's password");
    block = with_secret(
        block,
        "restapi_password",
        "the REST API password (the provider needs it inline for live changes)",
    );
    let users = Block::new("Role names.")
        .attribute(Attribute::string("superuser").describe("Default `postgres`."))
        .attribute(Attribute::string("replication").describe("Default `replicator`."))
        .attribute(Attribute::string("rewind").describe("Default `rewind_user`."));
    let initdb = Block::new(
        "initdb options of a new cluster. They act only when the cluster is created: a later \
         change is kept for the next new cluster and reported as a warning.",
    )
    .attribute(Attribute::string("encoding").describe("Default `UTF8`."))
    .attribute(Attribute::string("locale").describe("Default: the host's."))
    .attribute(Attribute::bool("data_checksums").describe("Default `true`."));
    let admin = Block::new(
        "An application admin role, created once after bootstrap (a later change acts only on \
         a new cluster).",
    )
    .attribute(Attribute::string("name").required().describe("Role name."))
    .attribute(
        Attribute::new("options", Type::list(Type::String))
            .describe("Role options such as `createrole`, `createdb`."),
    );
    let admin = with_secret(admin, "password", "the admin role's password");
    let etcd_tls = Block::new("TLS towards etcd (paths on the database hosts).")
        .attribute(
            Attribute::string("ca_file")
                .required()
                .describe("CA bundle."),
        )
        .attribute(
            Attribute::string("cert_file")
                .describe("Client certificate, when etcd requires one (`client_cert_auth`)."),
        )
        .attribute(Attribute::string("key_file").describe("Client key."));
    let slot = Block::new("A permanent replication slot (Patroni's `slots`). Live.")
        .attribute(
            Attribute::string("name")
                .required()
                .describe("Slot name (`[a-z0-9_]`)."),
        )
        .attribute(Attribute::string("type").describe("`physical` (default) or `logical`."))
        .attribute(Attribute::string("database").describe("Database of a logical slot."))
        .attribute(
            Attribute::string("plugin")
                .describe("Output plugin of a logical slot, such as `pgoutput`."),
        );
    let timeouts = Block::new("How long apply and refresh may take (`30s`, `10m`).")
        .attribute(Attribute::string("create").describe("Default `10m`."))
        .attribute(
            Attribute::string("update")
                .describe("Default `20m` (a rolling restart waits for each member)."),
        )
        .attribute(
            Attribute::string("read")
                .describe("Refresh; an unreachable cluster is a warning. Default `5s`."),
        );
    let block = block
        .attribute(Attribute::string("spec").computed().sensitive().describe(
            "The whole cluster as `pgha_patroni_switchover` takes it (members, endpoints, \
             credentials).",
        ))
        .attribute(
            Attribute::new("node_specs", Type::map(Type::String))
                .computed()
                .sensitive()
                .describe(
                    "What each `pgha_patroni_node` takes as `cluster`, by member name: \
                     `cluster = pgha_patroni_cluster.main.node_specs[each.key]`. Each holds only \
                     its own member, so adding or removing a member leaves the other nodes \
                     unchanged.",
                ),
        )
        .attribute(Attribute::string("dynamic_config").computed().describe(
            "The dynamic configuration as JSON: the configured one in plans, the cluster's \
             own (`GET /config`) after a refresh, so a difference is drift that apply puts back.",
        ))
        .attribute(
            Attribute::string("bootstrap_dynamic_config")
                .computed()
                .describe(
                    "The dynamic configuration the cluster was created with (JSON): the hosts' \
             `bootstrap.dcs`. Kept across live changes, so they never touch a host.",
                ),
        )
        .attribute(
            Attribute::new("restapi_urls", Type::list(Type::String))
                .computed()
                .describe("The REST API base URLs used (for the status data source)."),
        )
        .attribute(
            Attribute::new("pending_restart", Type::list(Type::String))
                .computed()
                .describe("Members whose PostgreSQL waits for a restart, as last seen."),
        )
        .block("users", NestingMode::Single, users)
        .block("initdb", NestingMode::Single, initdb)
        .block("admin_user", NestingMode::Single, admin)
        .block("etcd_tls", NestingMode::Single, etcd_tls)
        .block("slot", NestingMode::List, slot)
        .block("timeouts", NestingMode::Single, timeouts);
    Schema {
        version: SCHEMA_VERSION,
        block,
    }
}

/// `host:port` (IPv6 in brackets) from a `dcs_hosts` element.
pub(crate) fn split_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (h, tail) = rest.split_once(']')?;
            (h, tail.strip_prefix(':')?)
        }
        None => text.rsplit_once(':')?,
    };
    if host.is_empty() || host.contains(':') && !text.starts_with('[') {
        return None;
    }
    Some((host.to_string(), port.parse().ok()?))
}

/// The stanza spec from `stanza`.
fn read_stanza(args: &Value, diags: &mut Diagnostics) -> Option<StanzaSpec> {
    let text = string(args, "stanza").unwrap_or_default();
    match serde_json::from_str::<StanzaSpec>(&text) {
        Ok(spec) if spec.format == STANZA_SPEC_FORMAT => Some(spec),
        Ok(spec) => {
            diags.error_at(
                attr("stanza"),
                "Stanza spec from another provider version",
                format!(
                    "The spec has format {}, this provider reads format {STANZA_SPEC_FORMAT}; use \
                     the same provider version for the stanza and the cluster.",
                    spec.format
                ),
            );
            None
        }
        Err(e) => {
            diags.error_at(
                attr("stanza"),
                "Not a stanza spec",
                format!("`stanza` must be the `spec` output of a pgha_pgbackrest_stanza ({e})."),
            );
            None
        }
    }
}

/// The whole cluster from the arguments: the members as nodes with default per-host settings
/// (their own resources set the rest), the current live settings.
fn build(args: &Value, diags: &mut Diagnostics) -> Option<Cluster> {
    let mut ok = true;
    let mut fail = |r: Result<Option<Secret>, ()>| {
        r.unwrap_or_else(|()| {
            ok = false;
            None
        })
    };
    let superuser = fail(secret(args, None, "superuser_password", diags));
    let replication = fail(secret(args, None, "replication_password", diags));
    let rewind = fail(secret(args, None, "rewind_password", diags));
    let restapi = fail(secret(args, None, "restapi_password", diags));
    let admin_block = args.get("admin_user");
    let admin_password = if admin_block.is_null() {
        None
    } else {
        fail(secret(
            admin_block,
            Some(&attr("admin_user")),
            "password",
            diags,
        ))
    };
    let stanza = read_stanza(args, diags);
    let base = Patroni::default();
    let num = |key: &str, default: u32, diags: &mut Diagnostics| {
        number(args, key, attr(key), default, diags)
    };
    let postgres_version = num("postgres_version", defaults::POSTGRES_VERSION, diags);
    let patroni_version = num("patroni_version", base.version, diags);
    let restapi_port = number(
        args,
        "restapi_port",
        attr("restapi_port"),
        defaults::RESTAPI_PORT,
        diags,
    );
    let ttl = num("ttl", defaults::TTL, diags);
    let loop_wait = num("loop_wait", defaults::LOOP_WAIT, diags);
    let retry_timeout = num("retry_timeout", defaults::RETRY_TIMEOUT, diags);
    let sync_count = num(
        "synchronous_node_count",
        defaults::SYNCHRONOUS_NODE_COUNT,
        diags,
    );
    let member_slots_ttl = super::cluster_map::optional_number::<u32>(
        args,
        "member_slots_ttl",
        attr("member_slots_ttl"),
        diags,
    );
    let max_lag = number(
        args,
        "maximum_lag_on_failover",
        attr("maximum_lag_on_failover"),
        defaults::MAXIMUM_LAG_ON_FAILOVER,
        diags,
    );
    let api = super::cluster_map::etcd_api(args, "etcd_api", diags);
    let mut etcd_members = Vec::new();
    for (i, host) in strings(args, "dcs_hosts").iter().enumerate() {
        match split_host_port(host) {
            Some((address, client_port)) => etcd_members.push(EtcdMember {
                name: format!("dcs-{i}"),
                address,
                client_port,
                peer_port: defaults::ETCD_PEER_PORT,
                availability_domain: None,
            }),
            None => {
                diags.error_at(
                    attr("dcs_hosts").index(i as i64),
                    "Not an etcd client endpoint",
                    format!(
                        "`{host}` is not `address:port`; use the etcd members' \
                         `client_endpoint` outputs."
                    ),
                );
                ok = false;
            }
        }
    }
    let mut slots = BTreeMap::new();
    for (i, s) in args.get("slot").as_list().unwrap_or(&[]).iter().enumerate() {
        let name = string(s, "name").unwrap_or_default();
        let kind = match nonempty(s, "type").as_deref() {
            None | Some("physical") => SlotKind::Physical,
            Some("logical") => SlotKind::Logical,
            Some(other) => {
                diags.error_at(
                    attr("slot").index(i as i64).attribute("type"),
                    "Unknown slot type",
                    format!("`{other}`: use `physical` or `logical`."),
                );
                ok = false;
                continue;
            }
        };
        if slots.contains_key(&name) {
            diags.error_at(
                attr("slot").index(i as i64).attribute("name"),
                "Slot given twice",
                format!("A permanent slot named `{name}` is already declared."),
            );
            ok = false;
            continue;
        }
        slots.insert(
            name,
            PermanentSlot {
                kind,
                database: nonempty(s, "database"),
                plugin: nonempty(s, "plugin"),
            },
        );
    }
    let (
        Some(stanza),
        Some(postgres_version),
        Some(patroni_version),
        Some(restapi_port),
        Some(ttl),
        Some(loop_wait),
        Some(retry_timeout),
        Some(sync_count),
        Some(max_lag),
        Some(api),
        Ok(member_slots_ttl),
    ) = (
        stanza,
        postgres_version,
        patroni_version,
        restapi_port,
        ttl,
        loop_wait,
        retry_timeout,
        sync_count,
        max_lag,
        api,
        member_slots_ttl,
    )
    else {
        return None;
    };
    if !ok {
        return None;
    }
    let members = string_map(args, "members");
    if members.is_empty() {
        diags.error_at(
            attr("members"),
            "No members",
            "`members` lists every database node (`name = \"address\"`); give at least one.",
        );
        return None;
    }
    let nodes = members
        .iter()
        .map(|(name, address)| PatroniNode {
            name: name.clone(),
            address: address.clone(),
            listen_address: None,
            pg_port: defaults::PG_PORT,
            restapi_port: None,
            tags: Tags::default(),
            parameters: Default::default(),
            availability_domain: None,
        })
        .collect();
    let restapi_auth = match (nonempty(args, "restapi_username"), restapi) {
        (Some(username), Some(password)) => Some(RestApiAuth { username, password }),
        (None, None) => None,
        (None, Some(_)) => {
            diags.error_at(
                attr("restapi_username"),
                "REST API password without a user name",
                "Set `restapi_username` too (basic authentication needs both).",
            );
            return None;
        }
        (Some(_), None) => {
            diags.error_at(
                attr("restapi_password"),
                "REST API user name without a password",
                "Set `restapi_password` or `restapi_password_ref` too.",
            );
            return None;
        }
    };
    let (Some(superuser_password), Some(replication_password)) = (superuser, replication) else {
        diags.error_at(
            attr("superuser_password"),
            "Passwords missing",
            "Give `superuser_password` and `replication_password` (or their `_ref` blocks).",
        );
        return None;
    };
    let users_v = args.get("users");
    let base_users = Users::default();
    let initdb_v = args.get("initdb");
    let base_initdb = Initdb::default();
    let tls_v = args.get("etcd_tls");
    Some(Cluster {
        name: string(args, "name").unwrap_or_default(),
        namespace: string(args, "namespace").unwrap_or_else(|| defaults::NAMESPACE.to_string()),
        postgres_version,
        platform: stanza.platform.clone(),
        etcd: Etcd {
            members: etcd_members,
            token: None,
            heartbeat_interval_ms: defaults::ETCD_HEARTBEAT_MS,
            election_timeout_ms: defaults::ETCD_ELECTION_TIMEOUT_MS,
            api,
            tls: (!tls_v.is_null()).then(|| {
                let cert = nonempty(tls_v, "cert_file");
                let key = nonempty(tls_v, "key_file");
                EtcdTls {
                    ca_file: string(tls_v, "ca_file").unwrap_or_default(),
                    client_cert_auth: cert.is_some() || key.is_some(),
                    cert_file: cert.unwrap_or_default(),
                    key_file: key.unwrap_or_default(),
                }
            }),
            join: None,
        },
        patroni: Patroni {
            version: patroni_version,
            restapi_port,
            ttl,
            loop_wait,
            retry_timeout,
            maximum_lag_on_failover: max_lag,
            synchronous_mode: flag(args, "synchronous_mode", base.synchronous_mode),
            synchronous_mode_strict: flag(
                args,
                "synchronous_mode_strict",
                base.synchronous_mode_strict,
            ),
            synchronous_node_count: sync_count,
            failsafe_mode: flag(args, "failsafe_mode", base.failsafe_mode),
            use_pg_rewind: flag(args, "use_pg_rewind", base.use_pg_rewind),
            use_slots: flag(args, "use_slots", base.use_slots),
            watchdog: base.watchdog,
            parameters: parameters(args, "parameters"),
            pg_hba: strings(args, "pg_hba"),
            member_slots_ttl,
            slots,
            client_cidrs: strings(args, "client_cidrs"),
            initdb: Initdb {
                encoding: nonempty(initdb_v, "encoding").unwrap_or(base_initdb.encoding),
                locale: nonempty(initdb_v, "locale"),
                data_checksums: flag(initdb_v, "data_checksums", base_initdb.data_checksums),
            },
            users: Users {
                superuser: nonempty(users_v, "superuser").unwrap_or(base_users.superuser),
                replication: nonempty(users_v, "replication").unwrap_or(base_users.replication),
                rewind: nonempty(users_v, "rewind").unwrap_or(base_users.rewind),
            },
            admin_user: (!admin_block.is_null()).then(|| AdminUser {
                name: string(admin_block, "name").unwrap_or_default(),
                options: strings(admin_block, "options"),
            }),
        },
        nodes,
        pgbackrest: stanza.stanza,
        secrets: Secrets {
            superuser_password,
            replication_password,
            rewind_password: rewind,
            admin_password,
            restapi: restapi_auth,
            s3_key: stanza.secrets.s3_key,
            s3_key_secret: stanza.secrets.s3_key_secret,
            repo_cipher_pass: stanza.secrets.repo_cipher_pass,
        },
        log_cleanup: stanza.log_cleanup,
    })
}

/// Where a finding about the model lands in this resource.
fn attribute_for(path: &ModelPath, cluster: &Cluster, args: &Value) -> Option<AttributePath> {
    let s = &cluster.secrets;
    let slot_index = |name: &str| {
        args.get("slot")
            .as_list()
            .and_then(|l| l.iter().position(|v| v.get("name").as_str() == Some(name)))
    };
    Some(match steps(path).as_slice() {
        [K("name"), ..] => attr("name"),
        [K("namespace"), ..] => attr("namespace"),
        [K("postgres_version"), ..] => attr("postgres_version"),
        [K("nodes"), I(i), ..] => attr("members").key(cluster.nodes.get(*i)?.name.as_str()),
        [K("nodes")] => attr("members"),
        [K("etcd"), K("members"), I(i), ..] => attr("dcs_hosts").index(*i as i64),
        [K("etcd"), K("members")] => attr("dcs_hosts"),
        [K("etcd"), K("api"), ..] => attr("etcd_api"),
        [K("etcd"), K("tls"), K(f @ ("ca_file" | "cert_file" | "key_file")), ..] => {
            attr("etcd_tls").attribute(*f)
        }
        [K("etcd"), K("tls"), ..] => attr("etcd_tls"),
        [K("patroni"), K("version"), ..] => attr("patroni_version"),
        [K("patroni"), K("restapi_port"), ..] => attr("restapi_port"),
        [K("patroni"), K("watchdog"), ..] => return None,
        [K("patroni"), K("parameters"), K(p), ..] => attr("parameters").key(*p),
        [K("patroni"), K("slots"), K(name), ..] => match slot_index(name) {
            // A path to the block element itself lands on the resource's first line.
            Some(i) => attr("slot").index(i as i64).attribute("name"),
            None => attr("slot"),
        },
        [K("patroni"), K(f @ ("pg_hba" | "client_cidrs")), I(i), ..] => attr(f).index(*i as i64),
        [K("patroni"), K(f @ ("users" | "initdb" | "admin_user")), K(field), ..] => {
            attr(f).attribute(*field)
        }
        [K("patroni"), K(field), ..] => attr(field),
        [K("secrets"), K("superuser_password"), ..] => {
            secret_path(None, Some(&s.superuser_password), "superuser_password")
        }
        [K("secrets"), K("replication_password"), ..] => {
            secret_path(None, Some(&s.replication_password), "replication_password")
        }
        [K("secrets"), K("rewind_password"), ..] => {
            secret_path(None, s.rewind_password.as_ref(), "rewind_password")
        }
        [K("secrets"), K("admin_password"), ..] if cluster.patroni.admin_user.is_some() => {
            secret_path(
                Some(attr("admin_user")),
                s.admin_password.as_ref(),
                "password",
            )
        }
        [K("secrets"), K("admin_password"), ..] => attr("admin_user"),
        [K("secrets"), K("restapi"), K("username"), ..] => attr("restapi_username"),
        [K("secrets"), K("restapi"), ..] => secret_path(
            None,
            s.restapi.as_ref().map(|r| &r.password),
            "restapi_password",
        ),
        // The platform and the repository are the stanza's; their errors are reported on the
        // stanza resource and here on `stanza`.
        [K("platform" | "pgbackrest" | "log_cleanup"), ..]
        | [K("secrets"), K("s3_key" | "s3_key_secret" | "repo_cipher_pass"), ..] => attr("stanza"),
        _ => return None,
    })
}

/// The dynamic configuration as canonical JSON text (keys sorted), the form `dynamic_config`
/// holds, so a plan compares like with like.
fn canonical(json: &serde_json::Value) -> String {
    // serde_json's map is ordered by key (no `preserve_order`), so this text is canonical.
    json.to_string()
}

/// The configured dynamic configuration as JSON.
pub(crate) fn desired_config(cluster: &Cluster) -> serde_json::Value {
    serde_json::to_value(serde_norway::Value::Mapping(dynamic_configuration(cluster)))
        .unwrap_or_default()
}

/// The live configuration without the keys Terraform does not own.
fn owned(live: &serde_json::Value) -> serde_json::Value {
    let mut v = live.clone();
    if let serde_json::Value::Object(m) = &mut v {
        for k in NOT_OWNED {
            m.remove(*k);
        }
    }
    v
}

/// The REST API endpoints: `endpoints`, or one per member.
fn endpoints(args: &Value, cluster: &Cluster) -> Vec<String> {
    let given = strings(args, "endpoints");
    if !given.is_empty() {
        return given;
    }
    cluster
        .nodes
        .iter()
        .map(|n| {
            format!(
                "http://{}:{}",
                pgha_config::etcd::host_for_url(&n.address),
                cluster.patroni.restapi_port
            )
        })
        .collect()
}

/// The parts whose change makes it another cluster (and so new hosts).
fn identity(args: &Value) -> Vec<(&'static str, serde_json::Value)> {
    let stanza = args
        .get("stanza")
        .as_str()
        .and_then(|t| serde_json::from_str::<StanzaSpec>(t).ok())
        .map(|spec| {
            serde_json::json!({
                "name": spec.stanza.name,
                "repository": spec.stanza.repository,
                "cipher_type": spec.stanza.cipher_type,
                "platform": spec.platform,
            })
        });
    let plain = |k: &str| serde_json::to_value(args.get(k).as_str().map(str::to_string));
    vec![
        ("name", plain("name").unwrap_or_default()),
        ("namespace", plain("namespace").unwrap_or_default()),
        (
            "postgres_version",
            serde_json::json!(args.get("postgres_version").as_f64()),
        ),
        (
            "patroni_version",
            serde_json::json!(args.get("patroni_version").as_f64()),
        ),
        ("stanza", serde_json::to_value(stanza).unwrap_or_default()),
    ]
}

fn replacements(prior: &Value, planned: &Value) -> Vec<AttributePath> {
    identity(prior)
        .into_iter()
        .zip(identity(planned))
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, _)| attr(a.0))
        .collect()
}

/// `state` without the computed attributes.
fn arguments(state: &Value) -> Value {
    super::rendering::without(state, OUTPUTS)
}

/// The spec a node takes, from the cluster and what it was created with.
fn spec_of(cluster: &Cluster, bootstrap: &Bootstrap, endpoints: Vec<String>) -> ClusterSpec {
    let mut c = cluster.clone();
    let p = &cluster.patroni;
    // Only what the hosts' files hold; the live settings stay in the DCS.
    c.patroni = Patroni {
        version: p.version,
        restapi_port: p.restapi_port,
        use_pg_rewind: p.use_pg_rewind,
        users: p.users.clone(),
        initdb: bootstrap.initdb.clone(),
        admin_user: bootstrap.admin_user.clone(),
        ..Patroni::default()
    };
    ClusterSpec {
        format: SPEC_FORMAT,
        cluster: c,
        bootstrap_dcs: bootstrap.dcs_yaml.clone(),
        endpoints,
    }
}

/// What a cluster was created with: kept across updates.
#[derive(Debug, Clone)]
struct Bootstrap {
    dcs_yaml: String,
    dcs_json: serde_json::Value,
    initdb: Initdb,
    admin_user: Option<AdminUser>,
}

impl Bootstrap {
    fn new(cluster: &Cluster) -> Self {
        let dcs = dynamic_configuration(cluster);
        Bootstrap {
            dcs_yaml: to_yaml(&serde_norway::Value::Mapping(dcs)),
            dcs_json: desired_config(cluster),
            initdb: cluster.patroni.initdb.clone(),
            admin_user: cluster.patroni.admin_user.clone(),
        }
    }

    /// The prior state's, when it has one.
    fn from_state(state: &Value) -> Option<Self> {
        let spec: ClusterSpec = serde_json::from_str(state.get("spec").as_str()?).ok()?;
        let dcs_json =
            serde_json::from_str(state.get("bootstrap_dynamic_config").as_str()?).ok()?;
        Some(Bootstrap {
            dcs_yaml: spec.bootstrap_dcs,
            dcs_json,
            initdb: spec.cluster.patroni.initdb,
            admin_user: spec.cluster.patroni.admin_user,
        })
    }
}

/// Outputs computed from wholly known arguments (plan and apply compute the same).
struct Rendered {
    cluster: Cluster,
    spec: ClusterSpec,
    desired: serde_json::Value,
    bootstrap: Bootstrap,
}

fn render(args: &Value, prior: Option<&Value>, diags: &mut Diagnostics) -> Option<Rendered> {
    let cluster = build(args, diags)?;
    let findings = pgha_config::validate(&cluster);
    let secrets = inline_values(&cluster.secrets);
    let failed = report(
        diags,
        &findings,
        |p| attribute_for(p, &cluster, args),
        &secrets,
    );
    if failed {
        return None;
    }
    let bootstrap = prior
        .and_then(Bootstrap::from_state)
        .unwrap_or_else(|| Bootstrap::new(&cluster));
    if bootstrap.initdb != cluster.patroni.initdb {
        diags.warning_at(
            attr("initdb"),
            "initdb options act only on a new cluster",
            "The running cluster was created with other initdb options; they are kept in the \
             nodes' files and the change takes effect only when the cluster is created anew.",
        );
    }
    if bootstrap.admin_user != cluster.patroni.admin_user {
        diags.warning_at(
            attr("admin_user"),
            "The admin role is created only with a new cluster",
            "The running cluster keeps the admin role it was created with; create or change \
             the role with SQL.",
        );
    }
    let desired = desired_config(&cluster);
    let spec = spec_of(&cluster, &bootstrap, endpoints(args, &cluster));
    Some(Rendered {
        cluster,
        spec,
        desired,
        bootstrap,
    })
}

fn list_value(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| Value::from(s.as_str())).collect())
}

fn with_outputs(mut state: Value, r: &Rendered, pending: Value) -> Value {
    state.set("id", Value::from(r.cluster.name.as_str()));
    state.set(
        "spec",
        Value::from(serde_json::to_string(&r.spec).unwrap_or_default()),
    );
    state.set("dynamic_config", Value::from(canonical(&r.desired)));
    state.set(
        "bootstrap_dynamic_config",
        Value::from(canonical(&r.bootstrap.dcs_json)),
    );
    state.set("restapi_urls", list_value(&r.spec.endpoints));
    state.set("pending_restart", pending);
    state.set("node_specs", node_specs(&r.spec));
    state
}

/// One spec per member, holding only that member (and no endpoints): what each node takes, so
/// adding or removing a member changes no other node's argument.
fn node_specs(spec: &ClusterSpec) -> Value {
    Value::Map(
        spec.cluster
            .nodes
            .iter()
            .map(|n| {
                let mut one = spec.clone();
                one.cluster.nodes = vec![n.clone()];
                one.endpoints = Vec::new();
                (
                    n.name.clone(),
                    Value::from(serde_json::to_string(&one).unwrap_or_default()),
                )
            })
            .collect(),
    )
}

/// A duration attribute of the `timeouts` block.
fn timeout(args: &Value, key: &str, default: Duration, diags: &mut Diagnostics) -> Duration {
    super::cluster_map::duration(
        args.get("timeouts"),
        key,
        attr("timeouts").attribute(key),
        default,
        diags,
    )
}

/// The REST API client of a cluster spec: its endpoints, its credentials when inline.
pub(crate) fn api_of(spec: &ClusterSpec) -> Result<PatroniApi, ApiError> {
    let credentials = spec.cluster.secrets.restapi.as_ref().and_then(|r| {
        r.password.inline().map(|pw| Credentials {
            username: r.username.clone(),
            password: pw.to_string(),
        })
    });
    PatroniApi::new(spec.endpoints.clone(), credentials)
}

/// An API error as a diagnostic, with what to do next.
pub(crate) fn api_error(diags: &mut Diagnostics, what: &str, e: &ApiError, restapi_ref: bool) {
    let hint = match e {
        ApiError::Unreachable { .. } => {
            "The Terraform runner must reach the members' REST API (port 8008 by default): from \
             Terraform Cloud, run an agent inside the VCN or go through a bastion, and set \
             `endpoints` to the addresses it reaches."
        }
        ApiError::Refused { status: 401, .. } if restapi_ref => {
            "Patroni wants the REST API credentials: the password is a reference the provider \
             cannot read, so give `restapi_password` inline (it is sensitive) for live changes."
        }
        ApiError::Refused { .. } => "Nothing was changed by this call; correct the setting.",
        ApiError::Unexpected { .. } => "Check that the endpoints are Patroni's REST API.",
        ApiError::Stopped => "Run the apply again; the next plan shows where the cluster stands.",
    };
    diags.error(what.to_string(), format!("{e}\n\n{hint}"));
}

/// Polls `GET /cluster` until `done` holds, logging progress; the last view, or an error.
async fn wait_for(
    api: &PatroniApi,
    what: &str,
    deadline: Instant,
    done: impl Fn(&ClusterView) -> bool,
) -> Result<ClusterView, String> {
    let start = Instant::now();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let last = match api.cluster(left.min(Duration::from_secs(10))).await {
            Ok(view) if done(&view) => return Ok(view),
            Ok(view) => view.summary(),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "timed out after {:.0?} waiting for {what}; last seen: {last}",
                start.elapsed()
            ));
        }
        tracing::info!("waiting for {what} ({:.0?}): {last}", start.elapsed());
        if !pause(Duration::from_secs(1)).await {
            return Err(format!("interrupted while waiting for {what}"));
        }
    }
}

/// What a rolling restart did, for the log.
#[derive(Debug, Default)]
pub(crate) struct RestartReport {
    pub restarted: Vec<String>,
    pub switchover: Option<(String, String, Duration)>,
}

/// Restarts the member `name` through its REST API and waits until it runs again (a replica:
/// streaming with lag 0; the leader: running).
async fn restart_one(
    api: &PatroniApi,
    view: &ClusterView,
    name: &str,
    deadline: Instant,
    settle: Duration,
) -> Result<(), String> {
    let member = view
        .member(name)
        .ok_or_else(|| format!("{name} is not a member any more"))?;
    let leader = member.is_leader();
    let base = api
        .member_base(member)
        .ok_or_else(|| format!("no REST API URL for {name}"))?;
    let left = deadline.saturating_duration_since(Instant::now());
    api.restart_member(&base, left)
        .await
        .map_err(|e| format!("restart of {name}: {e}"))?;
    let what = if leader {
        format!("{name} running as leader")
    } else {
        format!("{name} streaming with lag 0")
    };
    wait_for(api, &what, deadline, |v| {
        v.member(name).is_some_and(|m| {
            if leader {
                m.is_leader() && m.state == "running"
            } else {
                m.is_caught_up_replica()
            }
        })
    })
    .await?;
    // A member publishes its pending-restart flag in its next HA loop: wait for it, so the next
    // look at the cluster is not the state from before the restart.
    if !pause(settle).await {
        return Err(format!("interrupted after the restart of {name}"));
    }
    Ok(())
}

/// Restarts the members that wait for it, keeping the cluster writable:
///
/// 1. replicas one at a time, each caught up before the next;
/// 2. the leader by a switchover to a caught-up synchronous standby that no longer waits (a
///    clean shutdown and a start as a replica applies the new settings);
/// 3. whatever still waits after that, again one at a time.
///
/// A lowered `max_connections` (or `max_worker_processes`, …) is the case of step 3: a replica
/// cannot run with less than its primary, so Patroni starts it with the primary's value and it
/// keeps waiting until the primary runs with the new one. When no replica is free of a pending
/// restart, the leader is restarted in place (a short write outage, logged) instead of a
/// switchover to a member that would wait as well.
pub(crate) async fn rolling_restart(
    api: &PatroniApi,
    expected: usize,
    deadline: Instant,
    loop_wait: u32,
) -> Result<RestartReport, String> {
    let settle = Duration::from_secs(u64::from(loop_wait) + 1);
    let mut report = RestartReport::default();
    for round in 1..=3 {
        let view = wait_for(api, "a leader and caught-up replicas", deadline, |v| {
            v.is_healthy(expected)
        })
        .await?;
        if view.pending_restart().is_empty() {
            break;
        }
        let Some(leader) = view.leader().map(|m| m.name.clone()) else {
            return Err("the cluster has no leader".into());
        };
        let replicas: Vec<String> = view
            .members
            .iter()
            .filter(|m| m.pending_restart && m.name != leader)
            .map(|m| m.name.clone())
            .collect();
        for name in replicas {
            tracing::info!("rolling restart (round {round}): restarting replica {name}");
            let now = api
                .cluster(deadline.saturating_duration_since(Instant::now()))
                .await
                .map_err(|e| e.to_string())?;
            restart_one(api, &now, &name, deadline, settle).await?;
            report.restarted.push(name);
        }
        let view = wait_for(api, "caught-up replicas", deadline, |v| {
            v.is_healthy(expected)
        })
        .await?;
        if !view.member(&leader).is_some_and(|m| m.pending_restart) {
            continue;
        }
        let candidate = view
            .members
            .iter()
            .filter(|m| m.is_caught_up_replica() && !m.tag("nofailover") && !m.pending_restart)
            .max_by_key(|m| m.role == "sync_standby")
            .map(|m| m.name.clone());
        match candidate {
            Some(candidate) if report.switchover.is_none() => {
                tracing::info!("rolling restart: switchover from {leader} to {candidate}");
                let t0 = Instant::now();
                let left = deadline.saturating_duration_since(Instant::now());
                api.switchover(&leader, Some(&candidate), left)
                    .await
                    .map_err(|e| format!("switchover from {leader} to {candidate}: {e}"))?;
                let c = candidate.clone();
                wait_for(api, &format!("{c} leading"), deadline, |v| {
                    v.member(&c)
                        .is_some_and(|m| m.is_leader() && m.state == "running")
                })
                .await?;
                let took = t0.elapsed();
                tracing::info!("rolling restart: {candidate} leads after {took:.1?}");
                if !pause(settle).await {
                    return Err("interrupted after the switchover".into());
                }
                report.switchover = Some((leader.clone(), candidate, took));
                report.restarted.push(leader);
            }
            _ => {
                tracing::info!(
                    "rolling restart: no replica is free of a pending restart; restarting the \
                     leader {leader} in place (writes pause while it restarts)"
                );
                restart_one(api, &view, &leader, deadline, settle).await?;
                report.restarted.push(leader);
            }
        }
    }
    Ok(report)
}

/// Brings the running cluster to `desired`. `Ok(None)` when no member answered and `create` is
/// set (a new cluster, whose hosts come after this resource).
async fn converge(
    args: &Value,
    r: &Rendered,
    create: bool,
    previous: Option<&Value>,
    diags: &mut Diagnostics,
) -> Option<Option<Vec<String>>> {
    let limit = if create {
        timeout(args, "create", CREATE_TIMEOUT, diags)
    } else {
        timeout(args, "update", UPDATE_TIMEOUT, diags)
    };
    let deadline = Instant::now() + limit;
    let restapi_ref = r
        .cluster
        .secrets
        .restapi
        .as_ref()
        .is_some_and(|a| a.password.is_reference());
    let mut api = match api_of(&r.spec) {
        Ok(api) => api,
        Err(e) => {
            api_error(diags, "Patroni REST API client", &e, restapi_ref);
            return None;
        }
    };
    // The REST API credentials the hosts had before this apply: a new password reaches them
    // through their bundles at their next reconcile run, after this apply.
    let previous_api = previous
        .and_then(|p| p.get("spec").as_str())
        .and_then(|t| serde_json::from_str::<ClusterSpec>(t).ok())
        .filter(|old| old.cluster.secrets.restapi != r.spec.cluster.secrets.restapi)
        .and_then(|old| api_of(&old).ok());
    // A create probes briefly: usually the hosts do not exist yet.
    let first = if create {
        Duration::from_secs(4)
    } else {
        limit
    };
    let live = match api.get_config(first).await {
        Ok(live) => live,
        Err(ApiError::Unreachable { .. }) if create => {
            tracing::info!(
                "no member of {} answers yet: a new cluster, bootstrapped with this configuration",
                r.cluster.name
            );
            return Some(None);
        }
        Err(e) => {
            api_error(
                diags,
                "Reading the cluster's configuration",
                &e,
                restapi_ref,
            );
            return None;
        }
    };
    let live = owned(&live);
    let old_loop = live
        .get("loop_wait")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(r.cluster.patroni.loop_wait.into());
    if let Some(patch) = merge_patch(&live, &r.desired, NOT_OWNED) {
        tracing::info!(patch = %patch, "PATCH /config");
        let left = deadline.saturating_duration_since(Instant::now());
        let mut sent = api.patch_config(&patch, left).await;
        if let (Err(ApiError::Refused { status: 401, .. }), Some(old)) = (&sent, previous_api) {
            tracing::info!(
                "the members refused the new REST API password (they get it with their next \
                 bundle): sending the change with the previous one"
            );
            let left = deadline.saturating_duration_since(Instant::now());
            sent = old.patch_config(&patch, left).await;
            api = old;
        }
        if let Err(e) = sent {
            api_error(diags, "Patroni refused the configuration", &e, restapi_ref);
            return None;
        }
        // Every member applies the new configuration in its next HA loop.
        let settle = old_loop.max(r.cluster.patroni.loop_wait.into()) + 3;
        tracing::info!("waiting {settle}s for every member's next HA loop");
        if !pause(Duration::from_secs(settle)).await {
            diags.error(
                "Interrupted",
                "Terraform asked the provider to stop. The new configuration is in the DCS \
                 already; the next plan shows where the cluster stands.",
            );
            return None;
        }
    } else {
        tracing::info!("the cluster's configuration already matches");
    }
    let left = deadline.saturating_duration_since(Instant::now());
    let view = match api.cluster(left).await {
        Ok(v) => v,
        Err(e) => {
            api_error(diags, "Reading the cluster's members", &e, restapi_ref);
            return None;
        }
    };
    // The members that are there now: a member added in this apply has its host created after
    // this resource (it takes the cluster's spec), so it cannot be waited for here.
    let expected = view.members.len().min(r.cluster.nodes.len()).max(1);
    let mut pending = view.pending_restart();
    let restart = nonempty(args, "restart").unwrap_or_else(|| "never".into());
    if restart == "rolling" && !pending.is_empty() {
        match rolling_restart(&api, expected, deadline, r.cluster.patroni.loop_wait).await {
            Ok(rep) => {
                tracing::info!(
                    restarted = ?rep.restarted,
                    switchover = ?rep.switchover,
                    "rolling restart done"
                );
                pending = match api
                    .cluster(deadline.saturating_duration_since(Instant::now()))
                    .await
                {
                    Ok(v) => v.pending_restart(),
                    Err(_) => Vec::new(),
                };
            }
            Err(e) => {
                diags.error(
                    "Rolling restart failed",
                    format!(
                        "{e}\n\nThe new configuration is in the DCS; members not yet restarted \
                         still run with the old values. Run the apply again once the cluster \
                         is healthy."
                    ),
                );
                return None;
            }
        }
    } else if !pending.is_empty() {
        diags.warning(
            "PostgreSQL restart pending",
            format!(
                "These members need a restart for the new parameters: {}. Set `restart = \
                 \"rolling\"` to restart them one at a time at apply, or restart them with \
                 `patronictl restart`.",
                pending.join(", ")
            ),
        );
    }
    if flag(args, "wait_for_healthy", false) {
        let synchronous = r.cluster.patroni.synchronous_mode;
        if let Err(e) = wait_for(&api, "a healthy cluster", deadline, |v| {
            v.is_settled(expected, synchronous)
        })
        .await
        {
            diags.error("The cluster did not become healthy", e);
            return None;
        }
    }
    Some(Some(pending))
}

#[async_trait]
impl Resource for PatroniClusterResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let args = arguments(config);
        if let Some(r) = nonempty(&args, "restart") {
            if r != "never" && r != "rolling" {
                diags.error_at(
                    attr("restart"),
                    "Unknown restart policy",
                    format!("`{r}`: use `never` or `rolling`."),
                );
            }
        }
        if args.is_wholly_known() {
            let _ = render(&args, None, diags);
            for key in ["create", "update", "read"] {
                let _ = timeout(&args, key, Duration::ZERO, diags);
            }
        }
    }

    async fn plan(
        &self,
        request: PlanRequest<'_>,
        diags: &mut Diagnostics,
    ) -> Option<PlanResponse> {
        if request.proposed.is_null() {
            return Some(PlanResponse::default());
        }
        let args = arguments(request.proposed);
        let requires_replace = match request.prior {
            Some(prior) if !prior.get("spec").is_null() => replacements(prior, &args),
            _ => Vec::new(),
        };
        // A replacement is a new cluster: it starts from the configured settings.
        let prior = request.prior.filter(|_| requires_replace.is_empty());
        let planned = if args.is_wholly_known() {
            let mut found = Diagnostics::default();
            let rendered = render(&args, prior, &mut found);
            let failed = found.has_errors();
            // Warnings about bootstrap-only settings are shown at plan (validation cannot see
            // the prior state).
            diags.0.extend(found.0);
            let r = rendered.filter(|_| !failed)?;
            // Unchanged arguments and live configuration: no apply follows, the last seen list
            // stays. Anything else may restart members (or find more waiting): known after apply.
            let pending = match prior {
                Some(p)
                    if arguments(p) == args
                        && p.get("dynamic_config").as_str() == Some(&canonical(&r.desired)) =>
                {
                    p.get("pending_restart").clone()
                }
                _ => Value::Unknown,
            };
            with_outputs(args, &r, pending)
        } else {
            let mut state = args;
            for out in OUTPUTS {
                state.set(*out, Value::Unknown);
            }
            state
        };
        Some(PlanResponse {
            planned,
            requires_replace,
        })
    }

    async fn apply(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Option<Value> {
        if request.planned.is_null() {
            // Nothing in the cluster is removed with the resource: the DCS configuration stays
            // with the cluster (its hosts go with their own resources).
            return Some(Value::Null);
        }
        let args = arguments(request.planned);
        let prior = request
            .prior
            .filter(|p| !p.get("spec").is_null() && replacements(p, &args).is_empty());
        let mut found = Diagnostics::default();
        let rendered = render(&args, prior, &mut found);
        let failed = found.has_errors();
        super::rendering::errors_only(found, diags);
        let r = rendered.filter(|_| !failed)?;
        let create = prior.is_none();
        let pending = converge(&args, &r, create, request.prior, diags).await?;
        let pending = list_value(&pending.unwrap_or_default());
        Some(with_outputs(args, &r, pending))
    }

    async fn read(&self, state: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let Some(spec) = state
            .get("spec")
            .as_str()
            .and_then(|t| serde_json::from_str::<ClusterSpec>(t).ok())
        else {
            return Some(state.clone());
        };
        let mut scratch = Diagnostics::default();
        let limit = timeout(state, "read", READ_TIMEOUT, &mut scratch);
        let api = match api_of(&spec) {
            Ok(api) => api,
            Err(_) => return Some(state.clone()),
        };
        let mut out = state.clone();
        match api.get_config(limit).await {
            Ok(live) => {
                out.set("dynamic_config", Value::from(canonical(&owned(&live))));
                if let Ok(view) = api.cluster(limit).await {
                    out.set("pending_restart", list_value(&view.pending_restart()));
                }
            }
            Err(e) => {
                diags.warning(
                    "Cluster not reachable: drift not checked",
                    format!(
                        "The live configuration of {} could not be read, so this plan \
                         assumes it is as last applied. {e}",
                        spec.cluster.name
                    ),
                );
            }
        }
        Some(out)
    }

    async fn import(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let trimmed = id.trim();
        if trimmed.is_empty() {
            diags.error(
                "Empty import ID",
                "Give the cluster's name (its Patroni scope).",
            );
            return None;
        }
        Some(super::rendering::named_state(trimmed, OUTPUTS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dcs_hosts_parse_as_host_and_port() {
        assert_eq!(
            split_host_port("10.0.0.1:2379"),
            Some(("10.0.0.1".into(), 2379))
        );
        assert_eq!(
            split_host_port("[fd00::1]:2379"),
            Some(("fd00::1".into(), 2379))
        );
        assert_eq!(split_host_port("fd00::1"), None);
        assert_eq!(split_host_port("10.0.0.1"), None);
        assert_eq!(split_host_port("10.0.0.1:x"), None);
    }

    #[test]
    fn pause_is_never_owned() {
        let live = serde_json::json!({"ttl": 20, "pause": true});
        assert_eq!(owned(&live), serde_json::json!({"ttl": 20}));
    }
}

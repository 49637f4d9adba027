//! `pgha_etcd_member`: one etcd member (one host) of the cluster's DCS.
//!
//! The member's files come from `pgha_config::etcd::render::host_plan`, its checks from
//! `pgha_config::validate`, on a cluster whose etcd members are this resource's `members` map.
//! Members reference each other, so the map comes from a `locals` value shared by every member
//! (never from another member's outputs, which would be a cycle).
//!
//! Membership acts on the running cluster through etcd's v3 API ([`crate::etcd_api`]):
//!
//! - **create**: when a sibling in `members` answers, the cluster exists, so the member is added
//!   as a learner (`MemberAdd`) and its documents say `existing` with the cluster's member list;
//!   its host promotes it once it has caught up (`pgha-etcd-promote`, see
//!   `pgha_config::etcd::render`). The plan shows those documents as known after apply. When no
//!   sibling answers, the members bootstrap together (`new`), as at the first apply.
//! - **update**: a member's documents are its first boot's; a change of `members` alone (a
//!   sibling added or removed) keeps them, so no host is replaced. The plan refuses a change
//!   that drops a majority of the current members at once.
//! - **destroy**: the plan refuses when removing the member would leave fewer healthy voting
//!   members than the smaller cluster's quorum; the apply removes it (`MemberRemove`). When no
//!   member answers (the whole cluster is being destroyed) there is nothing to remove.
//! - **read**: a member missing from the member list (removed by hand) is gone: the next plan
//!   adds it again.

use pgha_config::cluster::{Cluster, LogCleanup};
use pgha_config::etcd::{host_for_url, Etcd, EtcdMember, EtcdTls};
use pgha_config::patroni::{Patroni, PatroniNode, Tags};
use pgha_config::pgbackrest::{PosixRepository, Repository, Stanza};
use pgha_config::{defaults, ModelPath};
use tfplugin::{Attribute, AttributePath, Block, Diagnostics, NestingMode, Schema, Type, Value};

use super::cluster_map::{
    self as map, attr, companion_address, companion_secrets, files_type, files_value, flag,
    nonempty, number, platform, platform_block, report, steps, string, HostKind, Step::I, Step::K,
};
use super::rendering::{arguments, errors_only, Rendered, Renderer, SCHEMA_VERSION};
use crate::etcd_api::{quorum, ClientTls, EtcdApi, EtcdError, EtcdMemberInfo};
use async_trait::async_trait;
use pgha_config::etcd::EtcdJoin;
use std::time::{Duration, Instant};
use tfplugin::{ApplyRequest, PlanRequest, PlanResponse, Resource};

/// Full type name.
pub const TYPE_NAME: &str = "pgha_etcd_member";

/// The `pgha_etcd_member` resource.
pub struct EtcdMemberResource;

/// The schema.
pub fn schema() -> Schema {
    let tls = Block::new(
        "TLS for client and peer traffic. Paths are on the etcd host; provision the \
         certificate files separately. Patroni nodes need the same CA (`etcd_tls` there).",
    )
    .attribute(
        Attribute::string("ca_file")
            .required()
            .describe("CA bundle that signed the member and client certificates."),
    )
    .attribute(
        Attribute::string("cert_file").required().describe(
            "This member's certificate (server and client auth: peers use it both ways).",
        ),
    )
    .attribute(
        Attribute::string("key_file")
            .required()
            .describe("This member's private key."),
    )
    .attribute(Attribute::bool("client_cert_auth").describe(
        "Require clients (Patroni) to present a certificate signed by `ca_file`. Default `false`.",
    ));
    let api_tls = Block::new(
        "How the provider reaches the members' client URLs when `tls` is set, to add and remove \
         members: PEM strings (from the `hashicorp/tls` provider, OCI Certificates, files). \
         Without it, a member with `tls` leaves the running cluster's membership alone.",
    )
    .attribute(
        Attribute::string("ca_pem")
            .required()
            .describe("The CA that signed the members' certificates; the only one trusted."),
    )
    .attribute(
        Attribute::string("cert_pem")
            .describe("A client certificate the members accept (with `client_cert_auth`)."),
    )
    .attribute(
        Attribute::string("key_pem")
            .sensitive()
            .describe("The client certificate's private key. Stored in Terraform state."),
    );
    let block =
        Block::new(
            "One etcd member of the cluster's DCS: renders its environment file, systemd unit and \
         a cloud-init document for its instance. Every argument is checked by the pgha \
         library at plan time. Creating a member while the cluster runs adds it through etcd's \
         v3 API (as a learner, promoted by its host once it has caught up); destroying one \
         removes it, and is refused when that would cost the cluster its quorum.",
        )
        .attribute(
            Attribute::string("id")
                .computed()
                .describe("The member's `name`."),
        )
        .attribute(Attribute::string("name").required().describe(
            "Member name (`ETCD_NAME`), also the host's name. Must be a key of `members`. \
         Changing it replaces the resource.",
        ))
        .attribute(Attribute::string("address").required().describe(
            "Address the other hosts reach this member on (IP or DNS name). Changing it replaces \
         the resource.",
        ))
        .attribute(
            Attribute::number("client_port")
                .describe("Client port. Default `2379`. Changing it replaces the resource."),
        )
        .attribute(
            Attribute::number("peer_port")
                .describe("Peer port. Default `2380`. Changing it replaces the resource."),
        )
        .attribute(
            Attribute::string("availability_domain")
                .describe("Availability (or fault) domain, for the spread checks."),
        )
        .attribute(
            Attribute::new("members", Type::map(Type::String))
                .required()
                .describe(
                    "Every member of the cluster, this member included: `name = \"address\"` or \
                 `name = \"address:peer_port\"` (IPv6 as `[addr]:port`). Take it from a \
                 `locals` value shared by all members. Growing or shrinking it adds or removes \
                 members on the running cluster; the others keep their documents.",
                ),
        )
        .attribute(Attribute::string("cluster_name").required().describe(
            "The PostgreSQL cluster's name (Patroni's `scope`); names the unit and the default \
         token.",
        ))
        .attribute(
            Attribute::string("token")
                .describe("`ETCD_INITIAL_CLUSTER_TOKEN`. Default `<cluster_name>-etcd`."),
        )
        .attribute(
            Attribute::number("heartbeat_interval_ms")
                .describe("Heartbeat interval in milliseconds. Default `100`."),
        )
        .attribute(Attribute::number("election_timeout_ms").describe(
            "Election timeout in milliseconds. Default `1000`. Patroni's `retry_timeout` must \
         exceed it.",
        ))
        .attribute(
            Attribute::string("api")
                .describe("`v3` (default) or `v2` (removed in etcd 3.6; only with a warning)."),
        )
        .attribute(Attribute::string("data_dir").describe(
            "Data directory. Default `/var/lib/etcd`. Changing it replaces the resource.",
        ))
        .attribute(Attribute::bool("allow_even_members").describe(
            "Allow an even number of `members`. An even count tolerates no more failures than \
             the odd count below it and splits evenly in a partition. Default `false`.",
        ))
        .attribute(Attribute::string("member_id").computed().describe(
            "The member's ID in the etcd cluster, hexadecimal as `etcdctl member list` prints \
             it: known after a member joined a running cluster, read from the member list for \
             the members that bootstrapped together.",
        ))
        .attribute(
            Attribute::string("initial_cluster_state")
                .computed()
                .describe(
                "`new` (bootstrapped with the other members) or `existing` (added to a running \
             cluster as a learner, then promoted by its host).",
            ),
        )
        .attribute(Attribute::string("initial_cluster").computed().describe(
            "`ETCD_INITIAL_CLUSTER` as this member was created with: every member then, as \
             `name=peer_url`.",
        ))
        .attribute(
            Attribute::string("env_file")
                .computed()
                .describe("The rendered environment file (`/etc/etcd/etcd.conf`)."),
        )
        .attribute(
            Attribute::string("unit")
                .computed()
                .describe("The rendered `etcd.service` unit."),
        )
        .attribute(Attribute::new("files", files_type()).computed().describe(
            "Every file of the host: `path`, `content`, `mode` (`\"0640\"`), `owner`, `group`.",
        ))
        .attribute(Attribute::string("cloud_init").computed().describe(
            "The host's `#cloud-config` document, for \
         `oci_core_instance.metadata.user_data = base64encode(...)`.",
        ))
        .attribute(
            Attribute::string("client_url")
                .computed()
                .describe("`http(s)://address:client_port`."),
        )
        .attribute(
            Attribute::string("client_endpoint")
                .computed()
                .describe("`address:client_port`: what `pgha_patroni_node.dcs_hosts` takes."),
        )
        .attribute(
            Attribute::string("peer_url")
                .computed()
                .describe("`http(s)://address:peer_port`."),
        )
        .block("tls", NestingMode::Single, tls)
        .block("api_tls", NestingMode::Single, api_tls)
        .block(
            "platform",
            NestingMode::Single,
            platform_block(HostKind::Etcd),
        );
    Schema {
        version: SCHEMA_VERSION,
        block,
    }
}

/// `address` or `address:port` (IPv6 in brackets) from a `members` value.
fn split_member(text: &str) -> (String, Option<&str>) {
    if let Some(rest) = text.strip_prefix('[') {
        if let Some((addr, tail)) = rest.split_once(']') {
            return (addr.to_string(), tail.strip_prefix(':'));
        }
    }
    match text.rsplit_once(':') {
        // One colon: host:port. More: a bare IPv6 address.
        Some((addr, port)) if !addr.contains(':') => (addr.to_string(), Some(port)),
        _ => (text.to_string(), None),
    }
}

/// The cluster this member belongs to, and this member's index in it.
fn build(args: &Value, diags: &mut Diagnostics) -> Option<(Cluster, usize)> {
    let name = string(args, "name").unwrap_or_default();
    let address = string(args, "address").unwrap_or_default();
    let client_port = number(
        args,
        "client_port",
        attr("client_port"),
        defaults::ETCD_CLIENT_PORT,
        diags,
    );
    let peer_port = number(
        args,
        "peer_port",
        attr("peer_port"),
        defaults::ETCD_PEER_PORT,
        diags,
    );
    let heartbeat = number(
        args,
        "heartbeat_interval_ms",
        attr("heartbeat_interval_ms"),
        defaults::ETCD_HEARTBEAT_MS,
        diags,
    );
    let election = number(
        args,
        "election_timeout_ms",
        attr("election_timeout_ms"),
        defaults::ETCD_ELECTION_TIMEOUT_MS,
        diags,
    );
    let api = super::cluster_map::etcd_api(args, "api", diags);
    let mut platform = platform(args, HostKind::Etcd, diags);
    if let Some(p) = platform.as_mut() {
        p.paths.etcd_data_dir = nonempty(args, "data_dir");
    }
    let (
        Some(client_port),
        Some(peer_port),
        Some(heartbeat),
        Some(election),
        Some(api),
        Some(platform),
    ) = (client_port, peer_port, heartbeat, election, api, platform)
    else {
        return None;
    };

    let listed = map::string_map(args, "members");
    if listed.len().is_multiple_of(2) && !flag(args, "allow_even_members", false) {
        diags.error_at(
            attr("members"),
            "An even number of etcd members",
            format!(
                "`members` has {n} members. {n} members tolerate as many failures as {odd}, and \
                 a partition can split them evenly with no side keeping a quorum. Use {odd} or \
                 {next}, or set `allow_even_members = true` for a step in between.",
                n = listed.len(),
                odd = listed.len().saturating_sub(1),
                next = listed.len() + 1
            ),
        );
        return None;
    }
    if !listed.contains_key(&name) {
        diags.error_at(
            attr("members"),
            "This member is not in `members`",
            format!(
                "`members` is the full initial cluster and must list this member itself \
                 (`{name}`) with its address."
            ),
        );
        return None;
    }
    let mut members = Vec::new();
    let mut own = 0;
    for (i, (member, spec)) in listed.iter().enumerate() {
        let (member_address, port) = split_member(spec);
        let at = attr("members").key(member.as_str());
        let member_peer = match port.map(str::parse::<u16>) {
            None => defaults::ETCD_PEER_PORT,
            Some(Ok(p)) => p,
            Some(Err(_)) => {
                diags.error_at(
                    at,
                    "Invalid peer port",
                    format!("`{spec}` is not `address` or `address:peer_port`."),
                );
                return None;
            }
        };
        if *member == name {
            own = i;
            if member_address != address || (port.is_some() && member_peer != peer_port) {
                diags.error_at(
                    at,
                    "`members` disagrees with this member",
                    format!(
                        "`members[\"{name}\"]` is `{spec}`, but this member is {}:{peer_port}; \
                         every member must see the same initial cluster.",
                        host_for_url(&address)
                    ),
                );
                return None;
            }
            members.push(EtcdMember {
                name: name.clone(),
                address: address.clone(),
                client_port,
                peer_port,
                availability_domain: nonempty(args, "availability_domain"),
            });
        } else {
            members.push(EtcdMember {
                name: member.clone(),
                address: member_address,
                client_port: defaults::ETCD_CLIENT_PORT,
                peer_port: member_peer,
                availability_domain: None,
            });
        }
    }
    let tls = args.get("tls");
    let tls = (!tls.is_null()).then(|| EtcdTls {
        ca_file: string(tls, "ca_file").unwrap_or_default(),
        cert_file: string(tls, "cert_file").unwrap_or_default(),
        key_file: string(tls, "key_file").unwrap_or_default(),
        client_cert_auth: flag(tls, "client_cert_auth", false),
    });
    let cluster_name = string(args, "cluster_name").unwrap_or_default();
    let companion = companion_address(&address);
    let cluster = Cluster {
        name: cluster_name.clone(),
        namespace: defaults::NAMESPACE.to_string(),
        postgres_version: defaults::POSTGRES_VERSION,
        platform,
        etcd: Etcd {
            members,
            token: nonempty(args, "token"),
            heartbeat_interval_ms: heartbeat,
            election_timeout_ms: election,
            api,
            tls,
            join: None,
        },
        // The database tier is not this resource's: one neutral node so the whole-cluster
        // rules run. Its findings fall outside this resource's paths.
        patroni: Patroni {
            synchronous_mode: false,
            ..Patroni::default()
        },
        nodes: vec![PatroniNode {
            name: "pgha-companion".to_string(),
            address: companion,
            listen_address: None,
            pg_port: defaults::PG_PORT,
            restapi_port: None,
            tags: Tags::default(),
            parameters: Default::default(),
            availability_domain: None,
        }],
        pgbackrest: Stanza {
            name: None,
            repository: Repository::Posix(PosixRepository {
                path: "/var/lib/pgbackrest".to_string(),
            }),
            retention_full: defaults::RETENTION_FULL,
            retention_diff: None,
            process_max: defaults::PROCESS_MAX,
            cipher_type: None,
            archive_async: false,
            schedule: Default::default(),
            options: Default::default(),
        },
        secrets: companion_secrets(),
        log_cleanup: LogCleanup::default(),
    };
    Some((cluster, own))
}

/// Where a finding about the model lands in this resource (`own`: this member's index).
fn attribute_for(path: &ModelPath, cluster: &Cluster, own: usize) -> Option<AttributePath> {
    let member_key = |i: usize| {
        cluster
            .etcd
            .members
            .get(i)
            .map(|m| attr("members").key(m.name.as_str()))
    };
    Some(match steps(path).as_slice() {
        [K("name"), ..] => attr("cluster_name"),
        [K("etcd"), K("members"), I(i), rest @ ..] if *i == own => match rest {
            [K(
                field @ ("name" | "address" | "client_port" | "peer_port" | "availability_domain"),
            ), ..] => attr(field),
            _ => attr("name"),
        },
        [K("etcd"), K("members"), I(i), ..] => member_key(*i)?,
        [K("etcd"), K("members")] => attr("members"),
        [K("etcd"), K(field @ ("token" | "heartbeat_interval_ms" | "election_timeout_ms" | "api")), ..] => {
            attr(field)
        }
        [K("etcd"), K("tls"), K(field), ..] => attr("tls").attribute(*field),
        [K("etcd"), K("tls")] => attr("tls"),
        [K("platform"), K("paths"), K("etcd_data_dir"), ..] => attr("data_dir"),
        [K("platform"), K("paths"), K(field), ..] => attr("platform").attribute(*field),
        [K("platform"), K(field), ..] => attr("platform").attribute(*field),
        _ => return None,
    })
}

impl Renderer for EtcdMemberResource {
    const TYPE_NAME: &'static str = TYPE_NAME;
    const OUTPUTS: &'static [&'static str] = &[
        "id",
        "member_id",
        "initial_cluster_state",
        "initial_cluster",
        "env_file",
        "unit",
        "files",
        "cloud_init",
        "client_url",
        "client_endpoint",
        "peer_url",
    ];

    fn schema() -> Schema {
        schema()
    }

    fn render(args: &Value, diags: &mut Diagnostics) -> Option<Vec<(&'static str, Value)>> {
        let (cluster, own) = build(args, diags)?;
        let findings = pgha_config::validate(&cluster);
        if report(diags, &findings, |p| attribute_for(p, &cluster, own), &[]) {
            return None;
        }
        outputs(&cluster, own)
    }

    fn replacements(prior: &Value, planned: &Value) -> Vec<AttributePath> {
        [
            "name",
            "address",
            "client_port",
            "peer_port",
            "data_dir",
            "platform",
        ]
        .into_iter()
        .filter(|k| prior.get(k) != planned.get(k))
        .map(attr)
        .collect()
    }
}

/// The outputs of member `own` of `cluster` (bootstrapping with the others, or joining when
/// `cluster.etcd.join` is set).
fn outputs(cluster: &Cluster, own: usize) -> Option<Vec<(&'static str, Value)>> {
    {
        let plan = pgha_config::etcd::render::host_plan(cluster, own)?;
        let member = cluster.etcd.members.get(own)?;
        let tls = cluster.etcd.tls.is_some();
        let file_of = |kind: pgha_config::host::FileKind| {
            plan.files
                .iter()
                .find(|f| f.kind == kind)
                .map(|f| Value::from(f.content.as_str()))
                .unwrap_or(Value::Null)
        };
        let join = cluster.etcd.join.as_ref();
        Some(vec![
            ("id", Value::from(member.name.as_str())),
            (
                "member_id",
                join.map_or(Value::Null, |j| Value::from(j.member_id.as_str())),
            ),
            (
                "initial_cluster_state",
                Value::from(if join.is_some() { "existing" } else { "new" }),
            ),
            (
                "initial_cluster",
                Value::from(cluster.etcd.initial_cluster()),
            ),
            ("env_file", file_of(pgha_config::host::FileKind::EnvFile)),
            ("unit", file_of(pgha_config::host::FileKind::SystemdUnit)),
            ("files", files_value(&plan.files)),
            (
                "cloud_init",
                Value::from(pgha_config::cloud_init::render(&plan)),
            ),
            ("client_url", Value::from(member.client_url(tls))),
            ("client_endpoint", Value::from(member.client_host_port())),
            ("peer_url", Value::from(member.peer_url(tls))),
        ])
    }
}

// -------------------------------------------------------------------------------------------
// Membership on the running cluster

/// How long a plan or refresh looks for a running cluster: one pass over the endpoints (1 s to
/// connect to each), so the first plan of a new cluster, where nothing answers, stays quick.
const PROBE: Duration = Duration::ZERO;
/// How long create waits for a learner slot (etcd admits one learner at a time: members added
/// in one apply join one after the other) and destroy for an answer.
const JOIN_WAIT: Duration = Duration::from_secs(600);
const REMOVE_WAIT: Duration = Duration::from_secs(60);
/// The arguments whose change leaves a member's documents as they are: they were its first
/// boot's, and etcd reads `ETCD_INITIAL_*` only then.
const MEMBERSHIP_ONLY: &[&str] = &["members", "allow_even_members", "api_tls"];

/// The `pgha_etcd_member` resource: rendering plus membership on the running cluster.
pub struct EtcdMemberLive;

fn rendered() -> Rendered<EtcdMemberResource> {
    Rendered::new()
}

/// Whether the member uses TLS but the provider was given no way to reach it (`api_tls`): then
/// it leaves the membership alone (and says so) rather than guess.
fn tls_on(state: &Value) -> bool {
    !state.get("tls").is_null() && state.get("api_tls").is_null()
}

const TLS_NOT_YET: &str = "The members serve clients over TLS and `api_tls` is not set, so the \
    provider cannot reach them and leaves the running cluster's membership alone: a member \
    created now bootstraps with the others (`new`), and a destroyed one stays in the member \
    list. Set `api_tls`, or use `etcdctl member add --learner` / `member promote` / \
    `member remove` yourself.";

/// The provider's TLS client settings (`api_tls`), when the members use TLS.
fn client_tls(state: &Value) -> Option<ClientTls> {
    let t = state.get("api_tls");
    if t.is_null() || state.get("tls").is_null() {
        return None;
    }
    Some(ClientTls {
        ca_pem: string(t, "ca_pem").unwrap_or_default(),
        cert_pem: nonempty(t, "cert_pem"),
        key_pem: nonempty(t, "key_pem"),
    })
}

/// A client for `urls` with `state`'s TLS settings; `quick` for one fast pass.
fn client_for(state: &Value, urls: Vec<String>, quick: bool) -> Option<EtcdApi> {
    let tls = client_tls(state);
    let made = if quick {
        EtcdApi::probe(urls, tls.as_ref())
    } else {
        EtcdApi::new(urls, tls.as_ref())
    };
    match made {
        Ok(api) => Some(api),
        Err(e) => {
            tracing::warn!("etcd client not built: {e}");
            None
        }
    }
}

/// Client URLs of the members in `state`'s `members` map other than this one (the map gives
/// peer ports only; siblings serve clients on the default port). None with TLS and no
/// `api_tls` (see [`tls_on`]).
fn sibling_urls(state: &Value) -> Vec<String> {
    if tls_on(state) {
        return Vec::new();
    }
    let own = string(state, "name").unwrap_or_default();
    let tls = !state.get("tls").is_null();
    map::string_map(state, "members")
        .into_iter()
        .filter(|(name, _)| *name != own)
        .map(|(_, spec)| {
            let (address, _) = split_member(&spec);
            let scheme = if tls { "https" } else { "http" };
            format!(
                "{scheme}://{}:{}",
                host_for_url(&address),
                defaults::ETCD_CLIENT_PORT
            )
        })
        .collect()
}

/// The member list and a client to go on with, when any of `urls` answers within `wait` (one
/// quick pass when zero).
async fn live_members(
    state: &Value,
    urls: Vec<String>,
    wait: Duration,
) -> Option<(Vec<EtcdMemberInfo>, EtcdApi)> {
    if urls.is_empty() {
        return None;
    }
    let api = client_for(state, urls, wait.is_zero())?;
    match api.members(wait).await {
        Ok(m) => Some((m, api)),
        Err(e) => {
            tracing::info!("etcd member list not read: {e}");
            None
        }
    }
}

/// This member in a member list: by peer URL (a member added through the API has no name
/// until it starts).
fn find<'a>(list: &'a [EtcdMemberInfo], state: &Value) -> Option<&'a EtcdMemberInfo> {
    let peer = string(state, "peer_url").unwrap_or_default();
    let name = string(state, "name").unwrap_or_default();
    list.iter()
        .find(|m| m.peer_urls.contains(&peer))
        .or_else(|| list.iter().find(|m| m.started() && m.name == name))
}

/// The voting members of `list`, and the IDs of those that answer as healthy at their client URL.
async fn healthy_voters<'a>(
    api: &EtcdApi,
    list: &'a [EtcdMemberInfo],
) -> (Vec<&'a EtcdMemberInfo>, Vec<u64>) {
    let voting: Vec<&EtcdMemberInfo> = list.iter().filter(|m| !m.is_learner).collect();
    let mut healthy = Vec::new();
    for m in &voting {
        if let Some(url) = m.client_urls.first() {
            if api.healthy(url).await {
                healthy.push(m.id);
            }
        }
    }
    (voting, healthy)
}

/// What removing a member would do to the cluster's quorum.
enum Removal {
    /// Safe: the voting members left include a healthy quorum of their own number.
    Safe,
    /// The cluster has no quorum now (most members already gone): etcd could not remove a
    /// member anyway.
    NoQuorumNow(String),
    /// It would leave fewer healthy voting members than the smaller cluster's quorum.
    WouldLoseQuorum(String),
}

/// Checks removing `target` from `list` (each voting member's health asked at its client URL).
async fn removal(api: &EtcdApi, list: &[EtcdMemberInfo], target: &EtcdMemberInfo) -> Removal {
    if target.is_learner {
        return Removal::Safe;
    }
    let (voting, healthy) = healthy_voters(api, list).await;
    let name = |id: u64| {
        list.iter()
            .find(|m| m.id == id)
            .map_or_else(|| format!("{id:x}"), |m| m.name.clone())
    };
    if healthy.len() < quorum(voting.len()) {
        return Removal::NoQuorumNow(format!(
            "{} of its {} voting members are healthy",
            healthy.len(),
            voting.len()
        ));
    }
    let left = voting.len() - 1;
    let healthy_left: Vec<String> = healthy
        .iter()
        .filter(|id| **id != target.id)
        .map(|id| name(*id))
        .collect();
    if left == 0 {
        return Removal::WouldLoseQuorum("it is the cluster's only voting member".to_string());
    }
    let need = quorum(left);
    if healthy_left.len() < need {
        return Removal::WouldLoseQuorum(format!(
            "{left} voting members would be left and {} of them are healthy ({}); their quorum \
             is {need}",
            healthy_left.len(),
            if healthy_left.is_empty() {
                "none".to_string()
            } else {
                healthy_left.join(", ")
            }
        ));
    }
    Removal::Safe
}

/// Whether one more (unstarted) voting member keeps the cluster's quorum: its healthy voting
/// members must be a quorum of their number plus one. Says how, or `None`.
async fn voting_margin(api: &EtcdApi) -> Option<String> {
    let list = api.members(Duration::from_secs(10)).await.ok()?;
    let (voting, healthy) = healthy_voters(api, &list).await;
    let healthy = healthy.len();
    let need = quorum(voting.len() + 1);
    (healthy >= need).then(|| {
        format!(
            "{healthy} healthy of {} voting members with it, quorum {need}",
            voting.len() + 1
        )
    })
}

/// `planned` with the membership-dependent outputs unknown (a member that joins at apply).
fn joining(mut planned: Value) -> Value {
    for out in [
        "member_id",
        "initial_cluster_state",
        "initial_cluster",
        "env_file",
        "unit",
        "files",
        "cloud_init",
    ] {
        planned.set(out, Value::Unknown);
    }
    planned
}

/// The refusal of a change of `members` that drops a majority of the current members at once
/// (reported by the first remaining member only, so it is shown once).
fn shrink_problem(prior: &Value, planned: &Value, diags: &mut Diagnostics) {
    let old = map::string_map(prior, "members");
    let new = map::string_map(planned, "members");
    let kept: Vec<&String> = old.keys().filter(|k| new.contains_key(*k)).collect();
    let me = string(planned, "name").unwrap_or_default();
    if kept.first().map(|k| k.as_str()) != Some(me.as_str()) {
        return;
    }
    let need = quorum(old.len());
    if kept.len() < need {
        let removed: Vec<&str> = old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .map(String::as_str)
            .collect();
        diags.error_at(
            attr("members"),
            "Too many etcd members removed at once",
            format!(
                "This change removes {} of the {} members ({}), leaving {}: fewer than the {} the \
                 cluster needs for its quorum while the removals happen. Remove at most {} \
                 member(s) per apply.",
                removed.len(),
                old.len(),
                removed.join(", "),
                kept.len(),
                need,
                old.len() - need
            ),
        );
    }
}

/// Reports a refused or failed `MemberAdd`.
fn add_failed<T>(
    diags: &mut Diagnostics,
    name: &str,
    peer: &str,
    how: &str,
    e: &EtcdError,
) -> Option<T> {
    diags.error_at(
        attr("name"),
        "etcd did not add the member",
        format!("MemberAdd of {name} ({peer}){how}: {e}"),
    );
    None
}

/// Adds this member to the running cluster as a learner and renders its documents from the
/// member list the cluster answered with.
async fn join(args: &Value, diags: &mut Diagnostics) -> Option<Value> {
    let mut found = Diagnostics::default();
    let built = build(args, &mut found);
    errors_only(found, diags);
    let (mut cluster, own) = built?;
    let me = cluster.etcd.members.get(own)?.clone();
    let tls = cluster.etcd.tls.is_some();
    let peer = me.peer_url(tls);
    let Some(api) = client_for(args, sibling_urls(args), false) else {
        diags.error_at(
            attr("api_tls"),
            "Cannot build the etcd client",
            "The certificates in `api_tls` are not PEM (see the provider's log).",
        );
        return None;
    };
    let list = match api.members(Duration::from_secs(30)).await {
        Ok(l) => l,
        Err(e) => {
            diags.error_at(
                attr("members"),
                "Cannot read the etcd member list",
                format!("Joining {} needs the running cluster: {e}", me.name),
            );
            return None;
        }
    };
    let existing = list.iter().find(|m| m.peer_urls.contains(&peer)).cloned();
    let (added, list) = match existing {
        Some(m) if m.started() => {
            diags.error_at(
                attr("name"),
                "This member is already in the etcd cluster",
                format!(
                    "Member {} ({}, {peer}) is a started member of the cluster, so it was not \
                     created by this resource instance. Import it (`terraform import` with the \
                     member's name) or remove it first (`etcdctl member remove {}`).",
                    m.hex_id(),
                    m.name,
                    m.hex_id()
                ),
            );
            return None;
        }
        // Added by an earlier apply that stopped before its host started: use it.
        Some(m) => (m, list),
        None => {
            let started = Instant::now();
            let mut attempt = 0u32;
            loop {
                match api.add(&peer, true, Duration::from_secs(30)).await {
                    Ok(done) => break done,
                    Err(EtcdError::Refused { message, .. })
                        if message.contains("too many learner")
                            && started.elapsed() < JOIN_WAIT =>
                    {
                        // etcd admits one learner at a time, and a learner's host starts only
                        // after every member of this apply is created (Terraform orders
                        // resources, not their instances): waiting could not end. Add this one
                        // as a voting member when the cluster keeps its quorum with it unstarted.
                        if let Some(margin) = voting_margin(&api).await {
                            match api.add(&peer, false, Duration::from_secs(30)).await {
                                Ok(done) => {
                                    diags.warning_at(
                                        attr("name"),
                                        "Added as a voting member, not as a learner",
                                        format!(
                                            "The cluster already has a learner (etcd admits one \
                                             at a time), so {} was added as a voting member \
                                             before it started: {margin}. Its host starts it \
                                             next; until then it counts against the quorum.",
                                            me.name
                                        ),
                                    );
                                    break done;
                                }
                                Err(e) => return add_failed(diags, &me.name, &peer, "", &e),
                            }
                        }
                        attempt += 1;
                        tracing::info!(
                            member = me.name.as_str(),
                            attempt,
                            "the cluster admits one learner at a time and has one: waiting for \
                             its promotion ({message})"
                        );
                        if !crate::patroni_api::pause(Duration::from_secs(5)).await {
                            diags.error("Interrupted", "Terraform asked the provider to stop.");
                            return None;
                        }
                    }
                    Err(e) => return add_failed(diags, &me.name, &peer, " as a learner", &e),
                }
            }
        }
    };
    tracing::info!(
        member = me.name.as_str(),
        id = added.hex_id().as_str(),
        "added to the etcd cluster as a learner; its host promotes it once it has caught up"
    );
    // What the configured members bootstrap with, for a host that finds no cluster at all.
    let bootstrap = cluster.etcd.initial_cluster();
    let names = map::string_map(args, "members");
    let mut members = Vec::new();
    let mut own_index = 0;
    for m in &list {
        let url = m.peer_urls.first().cloned().unwrap_or_default();
        let host_port = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        let (address, port) = split_member(host_port);
        let name = if m.id == added.id {
            own_index = members.len();
            me.name.clone()
        } else if m.started() {
            m.name.clone()
        } else {
            // Another learner that has not started: its name from `members`, by address.
            names
                .iter()
                .find(|(_, spec)| split_member(spec).0 == address)
                .map(|(n, _)| n.clone())
                .unwrap_or_else(|| format!("pending-{}", m.hex_id()))
        };
        if m.id == added.id {
            members.push(me.clone());
        } else {
            members.push(EtcdMember {
                name,
                address,
                client_port: defaults::ETCD_CLIENT_PORT,
                peer_port: port
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(defaults::ETCD_PEER_PORT),
                availability_domain: None,
            });
        }
    }
    let endpoints: Vec<String> = list
        .iter()
        .filter(|m| m.id != added.id && !m.is_learner)
        .flat_map(|m| m.client_urls.iter().cloned())
        .collect();
    cluster.etcd.members = members;
    cluster.etcd.join = Some(EtcdJoin {
        member_id: added.hex_id(),
        endpoints,
        promote_timeout_seconds: defaults::ETCD_PROMOTE_TIMEOUT_SECS,
        bootstrap_cluster: Some(bootstrap),
    });
    let outs = outputs(&cluster, own_index)?;
    let mut state = arguments::<EtcdMemberResource>(args);
    for (k, v) in outs {
        state.set(k, v);
    }
    Some(state)
}

#[async_trait]
impl Resource for EtcdMemberLive {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        rendered().validate(config, diags).await;
    }

    async fn plan(
        &self,
        request: PlanRequest<'_>,
        diags: &mut Diagnostics,
    ) -> Option<PlanResponse> {
        if request.proposed.is_null() {
            // Destroy: refused here, before anything (its host first) is destroyed, when the
            // cluster could not lose this member.
            if let Some(prior) = request.prior.filter(|p| tls_on(p)) {
                diags.warning_at(
                    attr("tls"),
                    "etcd membership is not managed with TLS yet",
                    format!(
                        "{} will not be removed from the etcd cluster. {TLS_NOT_YET}",
                        string(prior, "name").unwrap_or_default()
                    ),
                );
            }
            if let Some(prior) = request.prior.filter(|p| !tls_on(p)) {
                let mut urls = sibling_urls(prior);
                urls.extend(string(prior, "client_url"));
                if let Some((list, api)) = live_members(prior, urls, PROBE).await {
                    if let Some(target) = find(&list, prior) {
                        if let Removal::WouldLoseQuorum(why) = removal(&api, &list, target).await {
                            diags.error(
                                "Removing this etcd member would cost the cluster its quorum",
                                format!(
                                    "{} ({}) cannot be removed now: {why}. Bring the other \
                                     members back first; nothing was changed.",
                                    target.name,
                                    target.hex_id()
                                ),
                            );
                            return None;
                        }
                    }
                }
            }
            return Some(PlanResponse::default());
        }
        let mut response = rendered().plan(request, diags).await?;
        let known = arguments::<EtcdMemberResource>(&response.planned).is_wholly_known();
        match request.prior {
            Some(prior) if response.requires_replace.is_empty() && known => {
                shrink_problem(prior, &response.planned, diags);
                if diags.has_errors() {
                    return None;
                }
                let schema = schema();
                let args_changed: Vec<&str> = schema
                    .block
                    .attributes
                    .iter()
                    .map(|a| a.name.as_str())
                    .chain(schema.block.blocks.iter().map(|b| b.type_name.as_str()))
                    .filter(|n| !EtcdMemberResource::OUTPUTS.contains(n))
                    .filter(|n| prior.get(n) != response.planned.get(n))
                    .collect();
                let prior_rendered = !prior.get("cloud_init").is_null();
                if prior_rendered && args_changed.iter().all(|n| MEMBERSHIP_ONLY.contains(n)) {
                    for out in EtcdMemberResource::OUTPUTS {
                        response.planned.set(*out, prior.get(out).clone());
                    }
                } else if prior.get("initial_cluster_state").as_str() == Some("existing") {
                    diags.error(
                        "This change needs a new etcd member",
                        format!(
                            "{} joined the running cluster; its documents hold the member list \
                             of that moment. Replace it (`terraform apply -replace`) to change \
                             {}.",
                            string(prior, "name").unwrap_or_default(),
                            args_changed.join(", ")
                        ),
                    );
                    return None;
                }
            }
            _ => {}
        }
        if request.prior.is_none() && known && tls_on(&response.planned) {
            diags.warning_at(
                attr("tls"),
                "etcd membership is not managed with TLS yet",
                TLS_NOT_YET,
            );
        }
        // A new member of a cluster that runs joins it at apply.
        if request.prior.is_none()
            && known
            && live_members(&response.planned, sibling_urls(&response.planned), PROBE)
                .await
                .is_some()
        {
            response.planned = joining(response.planned);
        }
        Some(response)
    }

    async fn apply(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Option<Value> {
        if request.planned.is_null() {
            let Some(prior) = request.prior else {
                return Some(Value::Null);
            };
            let name = string(prior, "name").unwrap_or_default();
            if tls_on(prior) {
                return Some(Value::Null);
            }
            let mut urls = sibling_urls(prior);
            urls.extend(string(prior, "client_url"));
            let Some((list, api)) =
                live_members(prior, urls.clone(), Duration::from_secs(10)).await
            else {
                diags.warning(
                    "No etcd member answered; nothing removed",
                    format!(
                        "{name} was forgotten without MemberRemove: no member answered at {} \
                         (the whole cluster is going, or unreachable from here). If the \
                         cluster still runs, remove it there: `etcdctl member remove`.",
                        urls.join(", ")
                    ),
                );
                return Some(Value::Null);
            };
            let Some(target) = find(&list, prior).cloned() else {
                tracing::info!(
                    member = name.as_str(),
                    "not in the etcd member list: nothing to remove"
                );
                return Some(Value::Null);
            };
            match removal(&api, &list, &target).await {
                Removal::Safe => {}
                Removal::NoQuorumNow(why) => {
                    diags.warning(
                        "The etcd cluster has no quorum; nothing removed",
                        format!(
                            "{name} ({}) was forgotten without MemberRemove: {why}, and etcd \
                             changes its membership only with a quorum (the whole cluster is \
                             going, or most of it is down).",
                            target.hex_id()
                        ),
                    );
                    return Some(Value::Null);
                }
                Removal::WouldLoseQuorum(why) => {
                    diags.error(
                        "Removing this etcd member would cost the cluster its quorum",
                        format!("{name} ({}) was not removed: {why}.", target.hex_id()),
                    );
                    return None;
                }
            }
            if let Err(e) = api.remove(target.id, REMOVE_WAIT).await {
                diags.error(
                    "etcd did not remove the member",
                    format!("MemberRemove of {name} ({}): {e}", target.hex_id()),
                );
                return None;
            }
            tracing::info!(
                member = name.as_str(),
                id = target.hex_id().as_str(),
                "removed from the etcd cluster"
            );
            return Some(Value::Null);
        }
        if request.prior.is_none() && !request.planned.get("cloud_init").is_known() {
            return join(request.planned, diags).await;
        }
        if request.planned.is_wholly_known() {
            // Rendered at plan (a new cluster's member, or documents kept from the first boot).
            return Some(request.planned.clone());
        }
        rendered().apply(request, diags).await
    }

    async fn read(&self, state: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let _ = diags;
        if state.get("cloud_init").is_null() || tls_on(state) {
            return Some(state.clone());
        }
        let mut urls = sibling_urls(state);
        urls.extend(string(state, "client_url"));
        let Some((list, _)) = live_members(state, urls, PROBE).await else {
            return Some(state.clone());
        };
        match find(&list, state) {
            None => {
                tracing::info!(
                    member = string(state, "name").unwrap_or_default().as_str(),
                    "not in the etcd member list: removed outside Terraform"
                );
                Some(Value::Null)
            }
            Some(m) => {
                let mut next = state.clone();
                if next.get("member_id").is_null() {
                    next.set("member_id", Value::from(m.hex_id()));
                }
                Some(next)
            }
        }
    }

    async fn import(&self, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        rendered().import(id, diags).await
    }

    async fn upgrade(
        &self,
        version: i64,
        prior: &serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        rendered().upgrade(version, prior, diags).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[(&str, Value)]) -> Value {
        let mut v = Value::object([
            ("name", Value::from("e1")),
            ("address", Value::from("10.0.0.1")),
            ("cluster_name", Value::from("pg")),
            (
                "members",
                Value::object([
                    ("e1", Value::from("10.0.0.1")),
                    ("e2", Value::from("10.0.0.2")),
                    ("e3", Value::from("10.0.0.3:2390")),
                ]),
            ),
        ]);
        for (k, x) in extra {
            v.set(*k, x.clone());
        }
        v
    }

    #[test]
    fn members_split_into_address_and_port() {
        assert_eq!(split_member("10.0.0.1"), ("10.0.0.1".into(), None));
        assert_eq!(
            split_member("10.0.0.1:2390"),
            ("10.0.0.1".into(), Some("2390"))
        );
        assert_eq!(
            split_member("[fd00::1]:2390"),
            ("fd00::1".into(), Some("2390"))
        );
        assert_eq!(split_member("fd00::1"), ("fd00::1".into(), None));
    }

    #[test]
    fn a_valid_member_renders_without_findings_from_the_companions() {
        let mut diags = Diagnostics::default();
        let out = EtcdMemberResource::render(&args(&[]), &mut diags).expect("renders");
        assert!(diags.0.is_empty(), "{diags:?}");
        let env = out
            .iter()
            .find(|(k, _)| *k == "env_file")
            .unwrap()
            .1
            .clone();
        let env = env.as_str().unwrap().to_string();
        assert!(env.contains(
            "ETCD_INITIAL_CLUSTER=\"e1=http://10.0.0.1:2380,e2=http://10.0.0.2:2380,e3=http://10.0.0.3:2390\""
        ) || env.contains("e3=http://10.0.0.3:2390"), "{env}");
    }

    #[test]
    fn findings_point_at_the_attribute() {
        let mut diags = Diagnostics::default();
        let bad = args(&[("election_timeout_ms", Value::Number(10.0))]);
        assert!(EtcdMemberResource::render(&bad, &mut diags).is_none());
        assert!(
            diags
                .0
                .iter()
                .any(|d| d.attribute == Some(attr("election_timeout_ms"))),
            "{diags:?}"
        );
        let mut diags = Diagnostics::default();
        let bad = args(&[("address", Value::from("10.0.0.9"))]);
        assert!(EtcdMemberResource::render(&bad, &mut diags).is_none());
        assert_eq!(diags.0[0].attribute, Some(attr("members").key("e1")));
    }

    /// Members on loopback addresses where nothing listens: "no running cluster", at once.
    fn idle(names: &[&str]) -> Value {
        let members: Vec<(&str, Value)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, Value::from(format!("127.0.0.{}", 201 + i))))
            .collect();
        Value::object([
            ("name", Value::from("e1")),
            ("address", Value::from("127.0.0.201")),
            ("cluster_name", Value::from("pg")),
            ("members", Value::object(members)),
        ])
    }

    async fn plan(prior: Option<&Value>, proposed: &Value) -> (Option<PlanResponse>, Diagnostics) {
        let mut diags = Diagnostics::default();
        let out = EtcdMemberLive
            .plan(
                PlanRequest {
                    prior,
                    proposed,
                    config: proposed,
                },
                &mut diags,
            )
            .await;
        (out, diags)
    }

    #[tokio::test]
    async fn with_no_cluster_running_the_members_bootstrap_together_known_at_plan() {
        let (out, diags) = plan(None, &idle(&["e1", "e2", "e3"])).await;
        assert!(!diags.has_errors(), "{diags:?}");
        let planned = out.expect("planned").planned;
        assert_eq!(planned.get("initial_cluster_state"), &Value::from("new"));
        assert!(planned
            .get("env_file")
            .as_str()
            .is_some_and(|e| e.contains("ETCD_INITIAL_CLUSTER_STATE=\"new\"")));
        assert_eq!(planned.get("member_id"), &Value::Null);
    }

    #[tokio::test]
    async fn a_sibling_added_or_removed_keeps_the_documents_of_the_first_boot() {
        let (out, _) = plan(None, &idle(&["e1", "e2", "e3"])).await;
        let prior = out.expect("planned").planned;
        let grown = idle(&["e1", "e2", "e3", "e4", "e5"]);
        let (out, diags) = plan(Some(&prior), &grown).await;
        assert!(!diags.has_errors(), "{diags:?}");
        let planned = out.expect("planned").planned;
        for k in ["env_file", "cloud_init", "files", "initial_cluster"] {
            assert_eq!(planned.get(k), prior.get(k), "{k}");
        }
        assert_eq!(planned.get("members"), grown.get("members"));
        // A setting of etcd itself renders again.
        let mut slower = idle(&["e1", "e2", "e3"]);
        slower.set("heartbeat_interval_ms", Value::Number(200.0));
        let (out, _) = plan(Some(&prior), &slower).await;
        assert_ne!(
            out.expect("planned").planned.get("env_file"),
            prior.get("env_file")
        );
    }

    #[tokio::test]
    async fn dropping_a_majority_at_once_or_an_even_count_is_refused_at_plan() {
        let (out, _) = plan(None, &idle(&["e1", "e2", "e3"])).await;
        let prior = out.expect("planned").planned;
        let (out, diags) = plan(Some(&prior), &idle(&["e1"])).await;
        assert!(out.is_none());
        assert!(
            diags
                .0
                .iter()
                .any(|d| d.summary.contains("Too many etcd members removed")
                    && d.attribute == Some(attr("members"))),
            "{diags:?}"
        );
        let (out, diags) = plan(None, &idle(&["e1", "e2"])).await;
        assert!(out.is_none());
        assert!(
            diags.0.iter().any(|d| d.summary.contains("An even number")),
            "{diags:?}"
        );
        let mut allowed = idle(&["e1", "e2"]);
        allowed.set("allow_even_members", Value::Bool(true));
        let (out, diags) = plan(None, &allowed).await;
        assert!(out.is_some() && !diags.has_errors(), "{diags:?}");
    }

    #[tokio::test]
    async fn with_tls_the_membership_is_left_alone_and_the_plan_says_so() {
        let mut with_tls = idle(&["e1", "e2", "e3"]);
        with_tls.set(
            "tls",
            Value::object([
                ("ca_file", Value::from("/etc/etcd/ca.crt")),
                ("cert_file", Value::from("/etc/etcd/e1.crt")),
                ("key_file", Value::from("/etc/etcd/e1.key")),
                ("client_cert_auth", Value::Null),
            ]),
        );
        assert!(sibling_urls(&with_tls).is_empty());
        // With `api_tls` the provider reaches them over https with its own CA and certificate.
        let mut reachable = with_tls.clone();
        reachable.set(
            "api_tls",
            Value::object([
                ("ca_pem", Value::from("-----BEGIN CERTIFICATE-----")),
                ("cert_pem", Value::Null),
                ("key_pem", Value::Null),
            ]),
        );
        assert!(!tls_on(&reachable));
        assert_eq!(
            sibling_urls(&reachable),
            ["https://127.0.0.202:2379", "https://127.0.0.203:2379"]
        );
        assert!(client_tls(&reachable).is_some_and(|t| t.cert_pem.is_none()));
        let (out, diags) = plan(None, &with_tls).await;
        let planned = out.expect("planned").planned;
        assert_eq!(planned.get("initial_cluster_state"), &Value::from("new"));
        assert!(
            diags
                .0
                .iter()
                .any(|d| d.summary.contains("not managed with TLS")
                    && d.attribute == Some(attr("tls"))),
            "{diags:?}"
        );
    }
}

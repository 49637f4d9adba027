//! `pgha_etcd_member`: one etcd member (one host) of the cluster's DCS.
//!
//! The member's files come from `pgha_config::etcd::render::host_plan`, its checks from
//! `pgha_config::validate`, on a cluster whose etcd members are this resource's `members` map.
//! Members reference each other, so the map comes from a `locals` value shared by every member
//! (never from another member's outputs, which would be a cycle).

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
use super::rendering::{Renderer, SCHEMA_VERSION};

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
    let block =
        Block::new(
            "One etcd member of the cluster's DCS: renders its environment file, systemd unit and \
         a cloud-init document for its instance. Every argument is checked by the pgha \
         library at plan time; nothing is contacted.",
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
                    "The full initial cluster, this member included: `name = \"address\"` or \
                 `name = \"address:peer_port\"` (IPv6 as `[addr]:port`). Take it from a \
                 `locals` value shared by all members.",
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
        let plan = pgha_config::etcd::render::host_plan(&cluster, own);
        let member = cluster.etcd.members.get(own)?;
        let tls = cluster.etcd.tls.is_some();
        let file_of = |kind: pgha_config::host::FileKind| {
            plan.files
                .iter()
                .find(|f| f.kind == kind)
                .map(|f| Value::from(f.content.as_str()))
                .unwrap_or(Value::Null)
        };
        Some(vec![
            ("id", Value::from(member.name.as_str())),
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
}

//! `pgha_patroni_node`: one PostgreSQL + Patroni + pgBackRest host.
//!
//! The node builds the library's whole `Cluster` from its own arguments: every peer of `nodes`
//! as a node (pg_hba lists them all), the etcd members from `dcs_hosts`, and the stanza, its
//! secrets, log clean-up and platform from `stanza` (the stanza resource's `spec`). Then the
//! library validates it and `pgha_config::patroni::render::host_plan` renders this host.

use std::collections::BTreeMap;

use pgha_config::cluster::Cluster;
use pgha_config::etcd::{Etcd, EtcdApi, EtcdMember, EtcdTls};
use pgha_config::host::FileKind;
use pgha_config::patroni::{AdminUser, Initdb, Patroni, PatroniNode, Tags, Users, WatchdogMode};
use pgha_config::secret::{RestApiAuth, Secret, Secrets};
use pgha_config::{defaults, ModelPath};
use tfplugin::{Attribute, AttributePath, Block, Diagnostics, NestingMode, Schema, Type, Value};

use super::cluster_map::{
    attr, files_type, files_value, flag, inline_values, nonempty, number, optional_number,
    parameters, platform, platform_block, report, secret, secret_path, steps, string, strings,
    with_secret, HostKind, Step::I, Step::K,
};
use super::pgbackrest_stanza::{StanzaSpec, SPEC_FORMAT};
use super::rendering::{Renderer, SCHEMA_VERSION};

/// Full type name.
pub const TYPE_NAME: &str = "pgha_patroni_node";

/// The `pgha_patroni_node` resource.
pub struct PatroniNodeResource;

/// The DCS settings, as (attribute, description): attribute names are Patroni's keys.
const DCS_NUMBERS: &[(&str, &str)] = &[
    ("ttl", "Leader key TTL in seconds. Default `20`."),
    ("loop_wait", "Seconds between HA loop runs. Default `5`."),
    (
        "retry_timeout",
        "DCS and PostgreSQL retry timeout in seconds. Default `5`.",
    ),
    (
        "maximum_lag_on_failover",
        "Largest lag in bytes a replica may have and still be promoted. Default `1048576`.",
    ),
];

const DCS_FLAGS: &[(&str, &str)] = &[
    (
        "synchronous_mode",
        "Synchronous replication managed by Patroni. Default `true`.",
    ),
    (
        "synchronous_mode_strict",
        "Refuse writes without a synchronous replica. Default `false`.",
    ),
    (
        "failsafe_mode",
        "Keep the primary when the DCS is down but all members agree. Default `false`.",
    ),
    (
        "use_pg_rewind",
        "Rejoin a failed primary with pg_rewind. Default `true`.",
    ),
    (
        "use_slots",
        "Replication slots for every member. Default `true`.",
    ),
];

/// The schema.
pub fn schema() -> Schema {
    let mut block = Block::new(
        "One PostgreSQL + Patroni + pgBackRest host: renders patroni.yml, the unit, \
         pgbackrest.conf, the bootstrap, backup and clean-up scripts, the schedule and a \
         cloud-init document. DCS settings, PostgreSQL parameters, pg_hba and tags update in \
         place; identity, addresses, versions, platform and the stanza's repository replace \
         the resource.",
    )
    .attribute(
        Attribute::string("id")
            .computed()
            .describe("The node's `name`."),
    )
    .attribute(
        Attribute::string("cluster_name")
            .required()
            .describe("Cluster name: Patroni's `scope`. Changing it replaces the resource."),
    )
    .attribute(
        Attribute::string("namespace")
            .describe("DCS namespace. Default `/service/`. Changing it replaces the resource."),
    )
    .attribute(Attribute::string("name").required().describe(
        "Member name, also the host's name; a key of `nodes`. Changing it replaces the resource.",
    ))
    .attribute(
        Attribute::string("address").required().describe(
            "Address the other hosts reach this node on. Changing it replaces the resource.",
        ),
    )
    .attribute(
        Attribute::string("listen_address").describe(
            "Address PostgreSQL and the REST API listen on. Default `address`. Replaces.",
        ),
    )
    .attribute(Attribute::number("pg_port").describe("PostgreSQL port. Default `5432`. Replaces."))
    .attribute(
        Attribute::number("restapi_port")
            .describe("Patroni REST API port. Default `8008`. Replaces."),
    )
    .attribute(
        Attribute::string("availability_domain")
            .describe("Availability (or fault) domain, for the spread checks."),
    )
    .attribute(
        Attribute::new("nodes", Type::map(Type::String))
            .required()
            .describe(
                "Every node of the cluster, this one included: `name = \"address\"`. pg_hba \
                 admits replication from each. Take it from a `locals` value.",
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
                 encryption or platform replaces the resource; retention and schedule update \
                 in place.",
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
            Attribute::string("watchdog").describe("`off` (default), `automatic` or `required`."),
        )
        .attribute(
            Attribute::new("parameters", Type::map(Type::String)).describe(
                "PostgreSQL parameters for every node (stored in the DCS). Values are strings: \
             `true`/`false` and plain integers are written as such, anything else as text.",
            ),
        )
        .attribute(
            Attribute::new("local_parameters", Type::map(Type::String))
                .describe("PostgreSQL parameters for this node only."),
        )
        .attribute(
            Attribute::new("pg_hba", Type::list(Type::String))
                .describe("Extra pg_hba.conf lines, after the generated ones."),
        )
        .attribute(
            Attribute::new("client_cidrs", Type::list(Type::String))
                .describe("Networks allowed to connect to all databases with a password."),
        )
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
    block = with_secret(block, "restapi_password", "the REST API password");
    let users = Block::new("Role names.")
        .attribute(Attribute::string("superuser").describe("Default `postgres`."))
        .attribute(Attribute::string("replication").describe("Default `replicator`."))
        .attribute(Attribute::string("rewind").describe("Default `rewind_user`."));
    let initdb = Block::new("initdb options of a new cluster.")
        .attribute(Attribute::string("encoding").describe("Default `UTF8`."))
        .attribute(Attribute::string("locale").describe("Default: the host's."))
        .attribute(Attribute::bool("data_checksums").describe("Default `true`."));
    let admin = Block::new("An application admin role, created once after bootstrap.")
        .attribute(Attribute::string("name").required().describe("Role name."))
        .attribute(
            Attribute::new("options", Type::list(Type::String))
                .describe("Role options such as `createrole`, `createdb`."),
        );
    let admin = with_secret(admin, "password", "the admin role's password");
    let tags = Block::new("Patroni member tags.")
        .attribute(Attribute::bool("nofailover").describe("Never promote this node."))
        .attribute(Attribute::bool("noloadbalance").describe("Keep it out of read load balancing."))
        .attribute(Attribute::bool("clonefrom").describe("Preferred source for new replicas."))
        .attribute(Attribute::bool("nosync").describe("Never the synchronous replica."))
        .attribute(
            Attribute::number("failover_priority")
                .describe("Promotion priority (Patroni 3.1+; 0 never)."),
        );
    let etcd_tls = Block::new("TLS towards etcd (paths on the database host).")
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
    let block = block
        .attribute(
            Attribute::string("patroni_yml")
                .computed()
                .sensitive()
                .describe("patroni.yml. Always sensitive: it holds inline passwords."),
        )
        .attribute(
            Attribute::string("unit")
                .computed()
                .describe("The `patroni.service` unit."),
        )
        .attribute(Attribute::new("scripts", Type::map(Type::String)).computed().describe(
            "The host's scripts without inline secrets, by path (bootstrap, post-bootstrap, \
             backup, log clean-up, secret resolver).",
        ))
        .attribute(Attribute::new("files", files_type()).computed().describe(
            "Every file of the host that holds no inline secret, with `path`, `content`, \
             `mode`, `owner`, `group`: shown in plans.",
        ))
        .attribute(
            Attribute::new("sensitive_files", files_type())
                .computed()
                .sensitive()
                .describe("The files that hold an inline secret (empty when all are references)."),
        )
        .attribute(
            Attribute::string("cloud_init")
                .computed()
                .sensitive()
                .describe(
                    "The host's `#cloud-config`, for `base64encode()` into \
                     `oci_core_instance.metadata.user_data`. Always sensitive.",
                ),
        )
        .attribute(
            Attribute::string("restapi_url")
                .computed()
                .describe("`http://address:restapi_port`, for health checks."),
        )
        .block("users", NestingMode::Single, users)
        .block("initdb", NestingMode::Single, initdb)
        .block("admin_user", NestingMode::Single, admin)
        .block("tags", NestingMode::Single, tags)
        .block("etcd_tls", NestingMode::Single, etcd_tls)
        .block(
            "platform",
            NestingMode::Single,
            platform_block(HostKind::Database),
        );
    Schema {
        version: SCHEMA_VERSION,
        block,
    }
}

/// `host:port` (IPv6 in brackets) from a `dcs_hosts` element.
fn split_host_port(text: &str) -> Option<(String, u16)> {
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
fn read_spec(args: &Value, diags: &mut Diagnostics) -> Option<StanzaSpec> {
    let text = string(args, "stanza").unwrap_or_default();
    match serde_json::from_str::<StanzaSpec>(&text) {
        Ok(spec) if spec.format == SPEC_FORMAT => Some(spec),
        Ok(spec) => {
            diags.error_at(
                attr("stanza"),
                "Stanza spec from another provider version",
                format!(
                    "The spec has format {}, this provider reads format {SPEC_FORMAT}; use the \
                     same provider version for the stanza and the nodes.",
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

/// What [`build`] yields: the cluster and this node's index in it.
struct Built {
    cluster: Cluster,
    own: usize,
}

/// The whole cluster as this node sees it.
fn build(args: &Value, diags: &mut Diagnostics) -> Option<Built> {
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
    let spec = read_spec(args, diags);

    let pg_port = number(args, "pg_port", attr("pg_port"), defaults::PG_PORT, diags);
    let restapi_port = optional_number::<u16>(args, "restapi_port", attr("restapi_port"), diags);
    let postgres_version = number(
        args,
        "postgres_version",
        attr("postgres_version"),
        defaults::POSTGRES_VERSION,
        diags,
    );
    let patroni_version = number(
        args,
        "patroni_version",
        attr("patroni_version"),
        4u32,
        diags,
    );
    let ttl = number(args, "ttl", attr("ttl"), defaults::TTL, diags);
    let loop_wait = number(
        args,
        "loop_wait",
        attr("loop_wait"),
        defaults::LOOP_WAIT,
        diags,
    );
    let retry_timeout = number(
        args,
        "retry_timeout",
        attr("retry_timeout"),
        defaults::RETRY_TIMEOUT,
        diags,
    );
    let max_lag = number(
        args,
        "maximum_lag_on_failover",
        attr("maximum_lag_on_failover"),
        defaults::MAXIMUM_LAG_ON_FAILOVER,
        diags,
    );
    let tags_v = args.get("tags");
    let priority = optional_number::<u32>(
        tags_v,
        "failover_priority",
        attr("tags").attribute("failover_priority"),
        diags,
    );
    let platform = platform(args, HostKind::Database, diags);
    let watchdog = match nonempty(args, "watchdog").as_deref() {
        None | Some("off") => Some(WatchdogMode::Off),
        Some("automatic") => Some(WatchdogMode::Automatic),
        Some("required") => Some(WatchdogMode::Required),
        Some(other) => {
            diags.error_at(
                attr("watchdog"),
                "Unknown watchdog mode",
                format!("`{other}`: use `off`, `automatic` or `required`."),
            );
            None
        }
    };
    let api = match nonempty(args, "etcd_api").as_deref() {
        None | Some("v3") => Some(EtcdApi::V3),
        Some("v2") => Some(EtcdApi::V2),
        Some(other) => {
            diags.error_at(
                attr("etcd_api"),
                "Unknown etcd API",
                format!("`{other}` is not an etcd API; use `v3` (or `v2`)."),
            );
            None
        }
    };
    let mut members = Vec::new();
    for (i, host) in strings(args, "dcs_hosts").iter().enumerate() {
        match split_host_port(host) {
            Some((address, client_port)) => members.push(EtcdMember {
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
    let (
        Some(spec),
        Some(pg_port),
        Ok(restapi_port),
        Some(postgres_version),
        Some(patroni_version),
        Some(ttl),
        Some(loop_wait),
        Some(retry_timeout),
        Some(max_lag),
        Ok(priority),
        Some(platform),
        Some(watchdog),
        Some(api),
    ) = (
        spec,
        pg_port,
        restapi_port,
        postgres_version,
        patroni_version,
        ttl,
        loop_wait,
        retry_timeout,
        max_lag,
        priority,
        platform,
        watchdog,
        api,
    )
    else {
        return None;
    };
    if !ok {
        return None;
    }
    // The node renders every file with its own platform; the stanza's platform only shapes the
    // commands the stanza resource shows. They must agree on the layout (binaries, data
    // directory), but not on `root`: hosts that share one machine in tests each have their own
    // root and still share one stanza.
    let without_root = |p: &pgha_config::platform::Platform| pgha_config::platform::Platform {
        root: None,
        ..p.clone()
    };
    if without_root(&spec.platform) != without_root(&platform) {
        // Terraform shows a path into a nested block on the resource's first line; a path to the
        // differing attribute inside it shows that attribute's line.
        let at = if spec.platform.preset != platform.preset {
            attr("platform").attribute("preset")
        } else {
            attr("platform")
        };
        diags.error_at(
            at,
            "The stanza was rendered for another platform",
            "The stanza's commands embed the database hosts' paths: give the \
             pgha_pgbackrest_stanza the same `platform` block as this node (its `root` may differ).",
        );
        return None;
    }

    let name = string(args, "name").unwrap_or_default();
    let address = string(args, "address").unwrap_or_default();
    let peers: BTreeMap<String, String> = super::cluster_map::string_map(args, "nodes");
    match peers.get(&name) {
        None => {
            diags.error_at(
                attr("nodes"),
                "This node is not in `nodes`",
                format!(
                    "`nodes` lists every node of the cluster and must include this one (`{name}`)."
                ),
            );
            return None;
        }
        Some(listed) if *listed != address => {
            diags.error_at(
                attr("nodes").key(name.as_str()),
                "`nodes` disagrees with this node",
                format!(
                    "`nodes[\"{name}\"]` is `{listed}`, but this node's `address` is `{address}`."
                ),
            );
            return None;
        }
        Some(_) => {}
    }
    let own = peers.keys().position(|k| *k == name).unwrap_or(0);
    let nodes = peers
        .iter()
        .map(|(peer, peer_address)| {
            if *peer == name {
                PatroniNode {
                    name: name.clone(),
                    address: address.clone(),
                    listen_address: nonempty(args, "listen_address"),
                    pg_port,
                    restapi_port,
                    tags: Tags {
                        nofailover: flag(tags_v, "nofailover", false),
                        noloadbalance: flag(tags_v, "noloadbalance", false),
                        clonefrom: flag(tags_v, "clonefrom", false),
                        nosync: flag(tags_v, "nosync", false),
                        failover_priority: priority,
                    },
                    parameters: parameters(args, "local_parameters"),
                    availability_domain: nonempty(args, "availability_domain"),
                }
            } else {
                PatroniNode {
                    name: peer.clone(),
                    address: peer_address.clone(),
                    listen_address: None,
                    pg_port: defaults::PG_PORT,
                    restapi_port: None,
                    tags: Tags::default(),
                    parameters: Default::default(),
                    availability_domain: None,
                }
            }
        })
        .collect();

    let users_v = args.get("users");
    let base_users = Users::default();
    let initdb_v = args.get("initdb");
    let base_initdb = Initdb::default();
    let tls_v = args.get("etcd_tls");
    let base = Patroni::default();
    let restapi_username = nonempty(args, "restapi_username");
    let restapi_auth = match (restapi_username, restapi) {
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
    let cluster = Cluster {
        name: string(args, "cluster_name").unwrap_or_default(),
        namespace: string(args, "namespace").unwrap_or_else(|| defaults::NAMESPACE.to_string()),
        postgres_version,
        platform,
        etcd: Etcd {
            members,
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
        },
        patroni: Patroni {
            version: patroni_version,
            restapi_port: base.restapi_port,
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
            failsafe_mode: flag(args, "failsafe_mode", base.failsafe_mode),
            use_pg_rewind: flag(args, "use_pg_rewind", base.use_pg_rewind),
            use_slots: flag(args, "use_slots", base.use_slots),
            watchdog,
            parameters: parameters(args, "parameters"),
            pg_hba: strings(args, "pg_hba"),
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
        pgbackrest: spec.stanza,
        secrets: Secrets {
            superuser_password,
            replication_password,
            rewind_password: rewind,
            admin_password,
            restapi: restapi_auth,
            s3_key: spec.secrets.s3_key,
            s3_key_secret: spec.secrets.s3_key_secret,
            repo_cipher_pass: spec.secrets.repo_cipher_pass,
        },
        log_cleanup: spec.log_cleanup,
    };
    Some(Built { cluster, own })
}

/// Where a finding about the model lands in this resource. Findings about the stanza's part
/// land on `stanza` when they are errors (the stanza resource reports its warnings itself).
fn attribute_for(
    path: &ModelPath,
    cluster: &Cluster,
    own: usize,
    error: bool,
) -> Option<AttributePath> {
    let s = &cluster.secrets;
    let node_field = |field: &str| -> AttributePath {
        match field {
            "name"
            | "address"
            | "listen_address"
            | "pg_port"
            | "restapi_port"
            | "availability_domain" => attr(field),
            "parameters" => attr("local_parameters"),
            "tags" => attr("tags"),
            _ => attr("name"),
        }
    };
    Some(match steps(path).as_slice() {
        [K("name"), ..] => attr("cluster_name"),
        [K("namespace"), ..] => attr("namespace"),
        [K("postgres_version"), ..] => attr("postgres_version"),
        [K("nodes"), I(i), K("tags"), K(tag), ..] if *i == own => attr("tags").attribute(*tag),
        [K("nodes"), I(i), K("parameters"), K(p), ..] if *i == own => {
            attr("local_parameters").key(*p)
        }
        [K("nodes"), I(i), K(field), ..] if *i == own => node_field(field),
        [K("nodes"), I(i), ..] => attr("nodes").key(cluster.nodes.get(*i)?.name.as_str()),
        [K("nodes")] => attr("nodes"),
        [K("etcd"), K("members"), I(i), ..] => attr("dcs_hosts").index(*i as i64),
        [K("etcd"), K("members")] => attr("dcs_hosts"),
        [K("etcd"), K("api"), ..] => attr("etcd_api"),
        [K("etcd"), K("tls"), K(f @ ("ca_file" | "cert_file" | "key_file")), ..] => {
            attr("etcd_tls").attribute(*f)
        }
        [K("etcd"), K("tls"), ..] => attr("etcd_tls"),
        [K("patroni"), K("version"), ..] => attr("patroni_version"),
        [K("patroni"), K("restapi_port"), ..] => attr("restapi_port"),
        [K("patroni"), K("parameters"), K(p), ..] => attr("parameters").key(*p),
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
        [K("platform"), K("paths"), K(field), ..] => attr("platform").attribute(*field),
        [K("platform"), K(field), ..] => attr("platform").attribute(*field),
        [K("pgbackrest" | "log_cleanup"), ..]
        | [K("secrets"), K("s3_key" | "s3_key_secret" | "repo_cipher_pass"), ..]
            if error =>
        {
            attr("stanza")
        }
        _ => return None,
    })
}

/// The parts of a stanza spec whose change needs new hosts: name, repository, encryption,
/// platform. `None` when the text is not a spec.
fn spec_identity(text: &Value) -> Option<serde_json::Value> {
    let spec: StanzaSpec = serde_json::from_str(text.as_str()?).ok()?;
    Some(serde_json::json!({
        "name": spec.stanza.name,
        "repository": spec.stanza.repository,
        "cipher_type": spec.stanza.cipher_type,
        "platform": spec.platform,
    }))
}

impl Renderer for PatroniNodeResource {
    const TYPE_NAME: &'static str = TYPE_NAME;
    const OUTPUTS: &'static [&'static str] = &[
        "id",
        "patroni_yml",
        "unit",
        "scripts",
        "files",
        "sensitive_files",
        "cloud_init",
        "restapi_url",
    ];

    fn schema() -> Schema {
        schema()
    }

    fn render(args: &Value, diags: &mut Diagnostics) -> Option<Vec<(&'static str, Value)>> {
        let Built { cluster, own } = build(args, diags)?;
        let findings = pgha_config::validate(&cluster);
        let secrets = inline_values(&cluster.secrets);
        let (errors, others): (Vec<_>, Vec<_>) = findings.into_iter().partition(|f| f.is_error());
        let failed = report(
            diags,
            &errors,
            |p| attribute_for(p, &cluster, own, true),
            &secrets,
        );
        report(
            diags,
            &others,
            |p| attribute_for(p, &cluster, own, false),
            &secrets,
        );
        if failed {
            return None;
        }
        let node = cluster.nodes.get(own)?;
        let plan = pgha_config::patroni::render::host_plan(&cluster, own);
        let content = |kind: FileKind| {
            plan.files
                .iter()
                .find(|f| f.kind == kind)
                .map(|f| Value::from(f.content.as_str()))
                .unwrap_or(Value::Null)
        };
        let scripts: BTreeMap<String, Value> = plan
            .files
            .iter()
            .filter(|f| f.kind == FileKind::Shell && !f.sensitive)
            .map(|f| (f.path.clone(), Value::from(f.content.as_str())))
            .collect();
        let unit = plan
            .files
            .iter()
            .find(|f| f.kind == FileKind::SystemdUnit && f.path.ends_with("/patroni.service"))
            .map(|f| Value::from(f.content.as_str()))
            .unwrap_or(Value::Null);
        let port = node.restapi_port_or(cluster.patroni.restapi_port);
        Some(vec![
            ("id", Value::from(node.name.as_str())),
            ("patroni_yml", content(FileKind::PatroniYaml)),
            ("unit", unit),
            ("scripts", Value::Map(scripts)),
            (
                "files",
                files_value(plan.files.iter().filter(|f| !f.sensitive)),
            ),
            (
                "sensitive_files",
                files_value(plan.files.iter().filter(|f| f.sensitive)),
            ),
            (
                "cloud_init",
                Value::from(pgha_config::cloud_init::render(&plan)),
            ),
            (
                "restapi_url",
                Value::from(format!(
                    "http://{}:{port}",
                    pgha_config::etcd::host_for_url(&node.address)
                )),
            ),
        ])
    }

    fn replacements(prior: &Value, planned: &Value) -> Vec<AttributePath> {
        let mut out: Vec<AttributePath> = [
            "cluster_name",
            "namespace",
            "name",
            "address",
            "listen_address",
            "pg_port",
            "restapi_port",
            "postgres_version",
            "patroni_version",
            "platform",
        ]
        .into_iter()
        .filter(|k| prior.get(k) != planned.get(k))
        .map(attr)
        .collect();
        if spec_identity(prior.get("stanza")) != spec_identity(planned.get("stanza")) {
            out.push(attr("stanza"));
        }
        out
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
}

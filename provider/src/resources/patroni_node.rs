//! `pgha_patroni_node`: one PostgreSQL + Patroni + pgBackRest host.
//!
//! The node takes everything cluster-wide from `cluster` (its entry of a `pgha_patroni_cluster`'s
//! `node_specs`: its own member, the DCS hosts, roles, secrets, stanza and the dynamic
//! configuration the cluster was created with) and adds what is its own (addresses, ports, tags, local parameters, platform).
//! The library validates the whole and `host_plan_bootstrapped` renders this host, so a live
//! change of the cluster's settings never changes the host's first-boot document.

use std::collections::BTreeMap;

use pgha_config::cluster::Cluster;
use pgha_config::host::FileKind;
use pgha_config::patroni::{PatroniNode, Tags, WatchdogMode};
use pgha_config::{defaults, ModelPath};
use tfplugin::{Attribute, AttributePath, Block, Diagnostics, NestingMode, Schema, Type, Value};

use super::cluster_map::{
    attr, companion_address, files_type, files_value, flag, inline_values, nonempty, number,
    optional_number, parameters, platform, platform_block, report, steps, string, HostKind,
    Step::I, Step::K,
};
use super::patroni_cluster::{ClusterSpec, SPEC_FORMAT};
use super::rendering::Renderer;

/// Schema version: 2 moved every cluster-wide setting to `pgha_patroni_cluster`. A version 1
/// state upgrades by keeping the per-host arguments and the rendered outputs (see
/// `rendering::Rendered::upgrade`), so the first plan compares the new rendering with what the
/// host has.
pub const SCHEMA_VERSION: i64 = 2;

/// Full type name.
pub const TYPE_NAME: &str = "pgha_patroni_node";

/// The `pgha_patroni_node` resource.
pub struct PatroniNodeResource;

/// The schema.
pub fn schema() -> Schema {
    let tags = Block::new("Patroni member tags.")
        .attribute(Attribute::bool("nofailover").describe("Never promote this node."))
        .attribute(Attribute::bool("noloadbalance").describe("Keep it out of read load balancing."))
        .attribute(Attribute::bool("clonefrom").describe("Preferred source for new replicas."))
        .attribute(Attribute::bool("nosync").describe("Never the synchronous replica."))
        .attribute(
            Attribute::number("failover_priority")
                .describe("Promotion priority (Patroni 3.1+; 0 never)."),
        );
    let block = Block::new(
        "One PostgreSQL + Patroni + pgBackRest host: renders patroni.yml's local part, the \
         unit, pgbackrest.conf, the bootstrap, backup and clean-up scripts, the schedule and a \
         cloud-init document. Everything cluster-wide comes from `cluster` (its entry of a \
         `pgha_patroni_cluster`'s `node_specs`) and is changed live there; a live change of \
         the cluster never changes this host's files. Identity, addresses, ports, platform and \
         the cluster's identity replace the resource.",
    )
    .attribute(
        Attribute::string("id")
            .computed()
            .describe("The node's `name`."),
    )
    .attribute(
        Attribute::string("cluster")
            .required()
            .sensitive()
            .describe(
                "This node's entry of its `pgha_patroni_cluster`'s `node_specs`: \
                 `pgha_patroni_cluster.main.node_specs[each.key]` (the cluster's whole `spec` \
                 works too, but then every member added or removed shows as an update of every \
                 node).",
            ),
    )
    .attribute(Attribute::string("name").required().describe(
        "Member name, also the host's name; a key of the cluster's `members`. Changing it \
         replaces the resource.",
    ))
    .attribute(Attribute::string("address").required().describe(
        "Address the other hosts reach this node on: the cluster's `members[name]`. \
             Changing it replaces the resource.",
    ))
    .attribute(
        Attribute::string("listen_address").describe(
            "Address PostgreSQL and the REST API listen on. Default `address`. Replaces.",
        ),
    )
    .attribute(Attribute::number("pg_port").describe("PostgreSQL port. Default `5432`. Replaces."))
    .attribute(
        Attribute::number("restapi_port")
            .describe("Patroni REST API port. Default: the cluster's. Replaces."),
    )
    .attribute(
        Attribute::string("availability_domain")
            .describe("Availability (or fault) domain, for the spread checks."),
    )
    .attribute(
        Attribute::string("watchdog").describe("`off` (default), `automatic` or `required`."),
    )
    .attribute(
        Attribute::new("local_parameters", Type::map(Type::String))
            .describe("PostgreSQL parameters for this node only."),
    )
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
    .attribute(
        Attribute::new("scripts", Type::map(Type::String))
            .computed()
            .describe(
                "The host's scripts without inline secrets, by path (bootstrap, post-bootstrap, \
         backup, log clean-up, secret resolver).",
            ),
    )
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
    .attribute(Attribute::string("bundle").computed().sensitive().describe(
        "The host bundle: every file that may change while the host runs (patroni.yml, \
                 pgbackrest.conf, the backup schedule, the scripts) and the role passwords, \
                 compressed and hashed, for `oci_core_instance.metadata.pgha_bundle`. A change \
                 updates the instance in place; the host's reconcile unit applies it. Always \
                 sensitive.",
    ))
    .attribute(Attribute::string("bundle_hash").computed().describe(
        "SHA-256 of the bundle's content: what the host reports as applied in \
                 `/var/lib/pgha/reconcile/state.json`, and a trigger for whatever publishes \
                 the bundle.",
    ))
    .attribute(
        Attribute::string("restapi_url")
            .computed()
            .describe("`http://address:restapi_port`, for health checks."),
    )
    .block("tags", NestingMode::Single, tags)
    .block(
        "platform",
        NestingMode::Single,
        platform_block(HostKind::DatabaseNode),
    );
    Schema {
        version: SCHEMA_VERSION,
        block,
    }
}

/// The cluster spec from `cluster`.
fn read_spec(args: &Value, diags: &mut Diagnostics) -> Option<ClusterSpec> {
    let text = string(args, "cluster").unwrap_or_default();
    match serde_json::from_str::<ClusterSpec>(&text) {
        Ok(spec) if spec.format == SPEC_FORMAT => Some(spec),
        Ok(spec) => {
            diags.error_at(
                attr("cluster"),
                "Cluster spec from another provider version",
                format!(
                    "The spec has format {}, this provider reads format {SPEC_FORMAT}; use the \
                     same provider version for the cluster and the nodes.",
                    spec.format
                ),
            );
            None
        }
        Err(e) => {
            diags.error_at(
                attr("cluster"),
                "Not a cluster spec",
                format!("`cluster` must be the `spec` output of a pgha_patroni_cluster ({e})."),
            );
            None
        }
    }
}

/// What [`build`] yields: the cluster, this node's index in it, the bootstrap document.
struct Built {
    cluster: Cluster,
    own: usize,
    bootstrap_dcs: serde_norway::Mapping,
}

/// The whole cluster as this node sees it: the spec's, with this node's own settings.
fn build(args: &Value, diags: &mut Diagnostics) -> Option<Built> {
    let spec = read_spec(args, diags)?;
    let bootstrap_dcs = match serde_norway::from_str::<serde_norway::Mapping>(&spec.bootstrap_dcs) {
        Ok(m) => m,
        Err(e) => {
            diags.error_at(
                attr("cluster"),
                "Not a cluster spec",
                format!("The spec's bootstrap configuration does not parse ({e})."),
            );
            return None;
        }
    };
    let pg_port = number(args, "pg_port", attr("pg_port"), defaults::PG_PORT, diags);
    let restapi_port = optional_number::<u16>(args, "restapi_port", attr("restapi_port"), diags);
    let tags_v = args.get("tags");
    let priority = optional_number::<u32>(
        tags_v,
        "failover_priority",
        attr("tags").attribute("failover_priority"),
        diags,
    );
    let platform = platform(args, HostKind::DatabaseNode, diags);
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
    let (Some(pg_port), Ok(restapi_port), Ok(priority), Some(platform), Some(watchdog)) =
        (pg_port, restapi_port, priority, platform, watchdog)
    else {
        return None;
    };
    let mut cluster = spec.cluster;
    // The node renders every file with its own platform; the stanza's platform only shapes the
    // commands the stanza resource shows. They must agree on the layout (binaries, data
    // directory), but not on `root`: hosts that share one machine in tests each have their own
    // root and still share one stanza.
    let without_root = |p: &pgha_config::platform::Platform| pgha_config::platform::Platform {
        root: None,
        metadata_url: None,
        reconcile_interval_seconds: None,
        ..p.clone()
    };
    if without_root(&cluster.platform) != without_root(&platform) {
        // Terraform shows a path into a nested block on the resource's first line; a path to the
        // differing attribute inside it shows that attribute's line.
        let at = if cluster.platform.preset != platform.preset {
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
    cluster.platform = platform;
    cluster.patroni.watchdog = watchdog;

    let name = string(args, "name").unwrap_or_default();
    let address = string(args, "address").unwrap_or_default();
    let Some(own) = cluster.nodes.iter().position(|n| n.name == name) else {
        let names: Vec<&str> = cluster.nodes.iter().map(|n| n.name.as_str()).collect();
        diags.error_at(
            attr("name"),
            "This node is not a member of its cluster",
            format!(
                "`{name}` is not in the pgha_patroni_cluster's `members` ({}): add it there \
                 (the cluster's pg_hba admits replication only from its members).",
                names.join(", ")
            ),
        );
        return None;
    };
    if cluster.nodes[own].address != address {
        diags.error_at(
            attr("address"),
            "The cluster lists this node at another address",
            format!(
                "The pgha_patroni_cluster's `members[\"{name}\"]` is `{}`, but this node's \
                 `address` is `{address}`; take both from one `locals` map.",
                cluster.nodes[own].address
            ),
        );
        return None;
    }
    let this = PatroniNode {
        name,
        address,
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
    };
    // This host's files depend on no other member (pg_hba is in the DCS), and the cluster
    // resource validates the members together. The node is validated beside a neutral
    // companion, so whole-cluster rules (every node nofailover, one node with synchronous
    // mode) do not fire for a cluster of one.
    let companion = PatroniNode {
        name: "pgha-companion".to_string(),
        address: companion_address(&this.address),
        listen_address: None,
        pg_port: defaults::PG_PORT,
        restapi_port: None,
        tags: Tags::default(),
        parameters: Default::default(),
        availability_domain: this.availability_domain.clone(),
    };
    cluster.nodes = vec![this, companion];
    Some(Built {
        cluster,
        own: 0,
        bootstrap_dcs,
    })
}

/// Where a finding about the model lands in this resource: this node's own settings and its
/// platform. Cluster-wide findings are the `pgha_patroni_cluster`'s to report; findings about
/// the cluster's part land on `cluster` when they are errors.
fn attribute_for(path: &ModelPath, own: usize, error: bool) -> Option<AttributePath> {
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
        [K("nodes"), I(i), K("tags"), K(tag), ..] if *i == own => attr("tags").attribute(*tag),
        [K("nodes"), I(i), K("parameters"), K(p), ..] if *i == own => {
            attr("local_parameters").key(*p)
        }
        [K("nodes"), I(i), K(field), ..] if *i == own => node_field(field),
        [K("patroni"), K("watchdog"), ..] => attr("watchdog"),
        [K("platform"), K("paths"), K(field), ..] => attr("platform").attribute(*field),
        [K("platform"), K(field), ..] => attr("platform").attribute(*field),
        _ if error => attr("cluster"),
        _ => return None,
    })
}

/// The parts of a cluster spec whose change needs new hosts: the cluster's identity, its
/// stanza's repository and encryption. `None` when the text is not a spec.
fn spec_identity(text: &Value) -> Option<serde_json::Value> {
    let spec: ClusterSpec = serde_json::from_str(text.as_str()?).ok()?;
    let c = &spec.cluster;
    Some(serde_json::json!({
        "name": c.name,
        "namespace": c.namespace,
        "postgres_version": c.postgres_version,
        "patroni_version": c.patroni.version,
        "stanza": c.pgbackrest.name,
        "repository": c.pgbackrest.repository,
        "cipher_type": c.pgbackrest.cipher_type,
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
        "bundle",
        "bundle_hash",
        "restapi_url",
    ];

    fn schema() -> Schema {
        schema()
    }

    fn render(args: &Value, diags: &mut Diagnostics) -> Option<Vec<(&'static str, Value)>> {
        let Built {
            cluster,
            own,
            bootstrap_dcs,
        } = build(args, diags)?;
        let findings = pgha_config::validate(&cluster);
        let secrets = inline_values(&cluster.secrets);
        let (errors, others): (Vec<_>, Vec<_>) = findings.into_iter().partition(|f| f.is_error());
        let failed = report(diags, &errors, |p| attribute_for(p, own, true), &secrets);
        report(diags, &others, |p| attribute_for(p, own, false), &secrets);
        if failed {
            return None;
        }
        let node = cluster.nodes.get(own)?;
        let plan =
            pgha_config::patroni::render::host_plan_bootstrapped(&cluster, own, &bootstrap_dcs)?;
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
        let cloud_init = pgha_config::cloud_init::render(&plan);
        let bundle = pgha_config::bundle::bundle(&plan);
        let size = pgha_config::bundle::metadata_size(&cloud_init, bundle.as_ref());
        if !size.fits() {
            diags.error_at(
                attr("name"),
                "The host's instance metadata does not fit",
                format!(
                    "OCI allows {} bytes of instance metadata; this host needs {} ({} for \
                     `user_data`, the cloud-init document in base64, and {} for `pgha_bundle`). \
                     Long inline scripts, many local parameters or extensions make it grow: \
                     move secrets to references and trim what this node sets.",
                    pgha_config::bundle::OCI_METADATA_LIMIT,
                    size.total(),
                    size.user_data,
                    size.bundle
                ),
            );
            return None;
        }
        let (bundle, bundle_hash) = match bundle {
            Some(b) => (Value::from(b.encoded), Value::from(b.hash)),
            None => (Value::Null, Value::Null),
        };
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
            ("cloud_init", Value::from(cloud_init)),
            ("bundle", bundle),
            ("bundle_hash", bundle_hash),
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
            "name",
            "address",
            "listen_address",
            "pg_port",
            "restapi_port",
            "platform",
        ]
        .into_iter()
        .filter(|k| prior.get(k) != planned.get(k))
        .map(attr)
        .collect();
        // A state upgraded from version 1 has no `cluster` yet: taking the new layout is not
        // another cluster (the files say whether the host changes).
        let before = spec_identity(prior.get("cluster"));
        if before.is_some() && before != spec_identity(planned.get("cluster")) {
            out.push(attr("cluster"));
        }
        out
    }
}

//! `pgha_pgbackrest_stanza`: the cluster's pgBackRest stanza and repository, written once.
//!
//! Its outputs are what every database host shares — archive and restore commands, Patroni's
//! replica-creation and bootstrap methods, pgbackrest.conf's `[global]` section, the schedule —
//! all from the library's renderers, plus one `spec`: the JSON form of the library's `Stanza`
//! with its secrets, log clean-up and platform, which `pgha_patroni_node.stanza` takes so the
//! nodes render their pgBackRest files from the same model.

use pgha_config::cluster::{Cluster, LogCleanup};
use pgha_config::etcd::{Etcd, EtcdMember};
use pgha_config::patroni::render as patroni_render;
use pgha_config::patroni::{Patroni, PatroniNode, Tags};
use pgha_config::pgbackrest::render as backrest;
use pgha_config::pgbackrest::{
    PosixRepository, Repository, S3Repository, Schedule, ScheduleKind, Stanza,
};
use pgha_config::platform::Platform;
use pgha_config::secret::Secret;
use pgha_config::{defaults, ModelPath};
use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, AttributePath, Block, Diagnostics, NestingMode, Schema, Type, Value};

use super::cluster_map::{
    attr, companion_address, companion_secrets, files_type, files_value, flag, inline_values,
    nonempty, number, optional_number, platform, platform_block, report, secret, secret_path,
    steps, string, string_map, with_secret, HostKind, Step::K,
};
use super::rendering::{Renderer, SCHEMA_VERSION};

/// Full type name.
pub const TYPE_NAME: &str = "pgha_pgbackrest_stanza";

/// Format version of [`StanzaSpec`], raised if its shape ever changes incompatibly.
pub const SPEC_FORMAT: u32 = 1;

/// The `pgha_pgbackrest_stanza` resource.
pub struct StanzaResource;

/// The secrets a stanza carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StanzaSecrets {
    /// S3 access key ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key: Option<Secret>,
    /// S3 secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key_secret: Option<Secret>,
    /// Repository encryption pass phrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_cipher_pass: Option<Secret>,
}

/// The `spec` output: everything a database host needs to know about the stanza.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StanzaSpec {
    /// [`SPEC_FORMAT`].
    pub format: u32,
    /// The library's stanza model.
    pub stanza: Stanza,
    /// Its secrets.
    pub secrets: StanzaSecrets,
    /// PostgreSQL log clean-up, scheduled next to the backups.
    pub log_cleanup: LogCleanup,
    /// The database hosts' platform the commands were rendered for.
    pub platform: Platform,
}

/// The schema.
pub fn schema() -> Schema {
    let s3 = Block::new(
        "An S3-compatible repository; by default OCI Object Storage's S3 compatibility \
         endpoint derived from `namespace` and `region`. Changing the location replaces the \
         resource.",
    )
    .attribute(
        Attribute::string("bucket")
            .required()
            .describe("Bucket name."),
    )
    .attribute(
        Attribute::string("region")
            .required()
            .describe("Region, e.g. `us-ashburn-1`."),
    )
    .attribute(Attribute::string("namespace").describe(
        "OCI Object Storage namespace; the endpoint becomes \
         `<namespace>.compat.objectstorage.<region>.oraclecloud.com`.",
    ))
    .attribute(
        Attribute::string("endpoint")
            .describe("Endpoint host (no scheme), overriding the OCI endpoint."),
    )
    .attribute(Attribute::number("port").describe("Endpoint port, when not 443."))
    .attribute(
        Attribute::string("path").describe("Repository path inside the bucket. Default `/backup`."),
    )
    .attribute(
        Attribute::bool("verify_tls")
            .describe("Verify the endpoint's certificate. Default `true`; `false` is for tests."),
    )
    .attribute(
        Attribute::string("ca_file").describe("CA bundle on the database hosts, for a private CA."),
    );
    let s3 = with_secret(
        s3,
        "access_key",
        "the S3 access key ID (OCI customer secret key ID)",
    );
    let s3 = with_secret(s3, "secret_key", "the S3 secret key");
    let posix = Block::new("A repository in a directory of the database hosts (NFS, tests).")
        .attribute(
            Attribute::string("path")
                .required()
                .describe("Absolute path of the repository."),
        );
    let schedule = Block::new(
        "Backup schedule (five-field cron expressions). The jobs run on every database host \
         and do nothing unless the host is the primary.",
    )
    .attribute(Attribute::string("full").describe("Full backups. Default `0 1 * * 0`."))
    .attribute(
        Attribute::string("diff")
            .describe("Differential backups. Default `0 1 * * 1-6`; `\"\"` for none."),
    )
    .attribute(Attribute::string("incr").describe("Incremental backups. Default none."))
    .attribute(
        Attribute::string("kind")
            .describe("`cron` (default: a file in /etc/cron.d) or `systemd-timer`."),
    );
    let log_cleanup =
        Block::new("Deletion of old PostgreSQL server logs, scheduled with the backups.")
            .attribute(
                Attribute::number("retention_days").describe(
                    "Delete logs older than this many days; `0` turns it off. Default `15`.",
                ),
            )
            .attribute(
                Attribute::string("schedule").describe("When (cron syntax). Default `8 0 * * *`."),
            );
    let encryption = Block::new("Repository encryption.").attribute(
        Attribute::string("cipher_type")
            .required()
            .describe("`aes-256-cbc`. Changing it replaces the resource."),
    );
    let encryption = with_secret(
        encryption,
        "passphrase",
        "the repository encryption pass phrase",
    );

    let block = Block::new(
        "The cluster's pgBackRest stanza and repository. Outputs what every Patroni node \
         needs (commands, methods, configuration, schedule) and a `spec` for \
         `pgha_patroni_node.stanza`, so the stanza is written once.",
    )
    .attribute(
        Attribute::string("id")
            .computed()
            .describe("The stanza `name`."),
    )
    .attribute(Attribute::string("name").required().describe(
        "Stanza name, used in every file and command. Changing it replaces the resource.",
    ))
    .attribute(Attribute::number("retention_full").describe("Full backups to keep. Default `10`."))
    .attribute(Attribute::number("retention_diff").describe("Differential backups to keep."))
    .attribute(
        Attribute::number("process_max")
            .describe("Parallel processes for backup and restore. Default `4`."),
    )
    .attribute(
        Attribute::bool("archive_async")
            .describe("Push WAL asynchronously through a spool directory. Default `false`."),
    )
    .attribute(
        Attribute::new("options", Type::map(Type::String))
            .describe("Extra `[global]` options, written as given (`compress-type = \"zst\"`)."),
    )
    .attribute(Attribute::bool("verify_bucket").describe(
        "Check at apply (create and update) that the `s3` bucket exists and is readable, with \
         a GetBucket call through OCI Object Storage's own API and the provider's OCI \
         settings (see the authentication guide), not the S3 keys. Default `false`. Nothing \
         is contacted at plan. Needs an `s3` repository.",
    ))
    .attribute(
        Attribute::string("archive_command")
            .computed()
            .describe("PostgreSQL's `archive_command`."),
    )
    .attribute(
        Attribute::string("restore_command")
            .computed()
            .describe("PostgreSQL's `restore_command`."),
    )
    .attribute(
        Attribute::string("create_replica_command")
            .computed()
            .describe("The command of Patroni's `pgbackrest` replica creation method."),
    )
    .attribute(
        Attribute::string("replica_method")
            .computed()
            .describe("Patroni's `postgresql.pgbackrest` replica creation method, as YAML."),
    )
    .attribute(
        Attribute::string("bootstrap_method")
            .computed()
            .describe("Patroni's restore-based `bootstrap.pgbackrest` method, as YAML."),
    )
    .attribute(
        Attribute::string("pgbackrest_conf")
            .computed()
            .sensitive()
            .describe(
                "pgbackrest.conf's `[global]` section, the same on every node (each node's \
                 file adds its stanza section). Always sensitive: it holds the keys and pass \
                 phrase when they are given inline.",
            ),
    )
    .attribute(
        Attribute::new("schedule_files", files_type())
            .computed()
            .describe("The schedule's files (a cron.d file, or systemd service and timer units)."),
    )
    .attribute(Attribute::string("spec").computed().sensitive().describe(
        "JSON of the stanza, its secrets, log clean-up and platform: set \
         `pgha_patroni_node.stanza` to it. Always sensitive: it carries the secrets that are \
         given inline.",
    ))
    .block("s3", NestingMode::Single, s3)
    .block("posix", NestingMode::Single, posix)
    .block("schedule", NestingMode::Single, schedule)
    .block("log_cleanup", NestingMode::Single, log_cleanup)
    .block("encryption", NestingMode::Single, encryption)
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

/// The stanza spec from the arguments.
fn build_spec(args: &Value, diags: &mut Diagnostics) -> Option<StanzaSpec> {
    let mut ok = true;
    let s3 = args.get("s3");
    let posix = args.get("posix");
    let mut secrets = StanzaSecrets::default();
    let repository = match (s3.is_null(), posix.is_null()) {
        (false, true) => {
            let base = attr("s3");
            let port = optional_number::<u16>(s3, "port", base.clone().attribute("port"), diags);
            secrets.s3_key = secret(s3, Some(&base), "access_key", diags).unwrap_or_else(|()| {
                ok = false;
                None
            });
            secrets.s3_key_secret =
                secret(s3, Some(&base), "secret_key", diags).unwrap_or_else(|()| {
                    ok = false;
                    None
                });
            let Ok(port) = port else { return None };
            Repository::S3(S3Repository {
                bucket: string(s3, "bucket").unwrap_or_default(),
                region: string(s3, "region").unwrap_or_default(),
                namespace: nonempty(s3, "namespace"),
                endpoint: nonempty(s3, "endpoint"),
                port,
                path: nonempty(s3, "path").unwrap_or_else(|| defaults::REPO_PATH.to_string()),
                verify_tls: flag(s3, "verify_tls", true),
                ca_file: nonempty(s3, "ca_file"),
            })
        }
        (true, false) => Repository::Posix(PosixRepository {
            path: string(posix, "path").unwrap_or_default(),
        }),
        _ => {
            diags.error_at(
                attr("s3"),
                "One repository",
                "Give exactly one repository block: `s3 { … }` or `posix { … }`.",
            );
            return None;
        }
    };
    let enc = args.get("encryption");
    let cipher_type = string(enc, "cipher_type");
    if !enc.is_null() {
        secrets.repo_cipher_pass = secret(enc, Some(&attr("encryption")), "passphrase", diags)
            .unwrap_or_else(|()| {
                ok = false;
                None
            });
    }
    let sched = args.get("schedule");
    let kind = match nonempty(sched, "kind").as_deref() {
        None | Some("cron") => ScheduleKind::Cron,
        Some("systemd-timer") => ScheduleKind::SystemdTimer,
        Some(other) => {
            diags.error_at(
                attr("schedule").attribute("kind"),
                "Unknown schedule kind",
                format!("`{other}` is not a schedule kind; use `cron` or `systemd-timer`."),
            );
            return None;
        }
    };
    let default = Schedule::default();
    let schedule = Schedule {
        full: string(sched, "full").unwrap_or(default.full),
        diff: match string(sched, "diff") {
            None => default.diff,
            Some(d) if d.is_empty() => None,
            Some(d) => Some(d),
        },
        incr: nonempty(sched, "incr"),
        kind,
    };
    let lc = args.get("log_cleanup");
    let log_days = number(
        lc,
        "retention_days",
        attr("log_cleanup").attribute("retention_days"),
        defaults::LOG_RETENTION_DAYS,
        diags,
    );
    let retention_full = number(
        args,
        "retention_full",
        attr("retention_full"),
        defaults::RETENTION_FULL,
        diags,
    );
    let retention_diff =
        optional_number::<u32>(args, "retention_diff", attr("retention_diff"), diags);
    let process_max = number(
        args,
        "process_max",
        attr("process_max"),
        defaults::PROCESS_MAX,
        diags,
    );
    let platform = platform(args, HostKind::Database, diags);
    let (
        Some(log_days),
        Some(retention_full),
        Ok(retention_diff),
        Some(process_max),
        Some(platform),
    ) = (
        log_days,
        retention_full,
        retention_diff,
        process_max,
        platform,
    )
    else {
        return None;
    };
    if !ok {
        return None;
    }
    Some(StanzaSpec {
        format: SPEC_FORMAT,
        stanza: Stanza {
            name: string(args, "name"),
            repository,
            retention_full,
            retention_diff,
            process_max,
            cipher_type,
            archive_async: flag(args, "archive_async", false),
            schedule,
            options: string_map(args, "options"),
        },
        secrets,
        log_cleanup: LogCleanup {
            retention_days: log_days,
            schedule: string(lc, "schedule")
                .unwrap_or_else(|| defaults::LOG_CLEANUP_SCHEDULE.to_string()),
        },
        platform,
    })
}

/// A cluster around `spec`: the stanza's own parts from the spec, neutral companions for the
/// rest (used to validate the stanza and to render what it publishes).
pub(crate) fn companion_cluster(spec: &StanzaSpec) -> Cluster {
    let address = companion_address("");
    let mut secrets = companion_secrets();
    secrets.s3_key = spec.secrets.s3_key.clone();
    secrets.s3_key_secret = spec.secrets.s3_key_secret.clone();
    secrets.repo_cipher_pass = spec.secrets.repo_cipher_pass.clone();
    Cluster {
        name: "pgha".to_string(),
        namespace: defaults::NAMESPACE.to_string(),
        postgres_version: defaults::POSTGRES_VERSION,
        platform: spec.platform.clone(),
        etcd: Etcd {
            members: vec![EtcdMember {
                name: "pgha-companion-etcd".to_string(),
                address: address.clone(),
                client_port: defaults::ETCD_CLIENT_PORT,
                peer_port: defaults::ETCD_PEER_PORT,
                availability_domain: None,
            }],
            token: None,
            heartbeat_interval_ms: defaults::ETCD_HEARTBEAT_MS,
            election_timeout_ms: defaults::ETCD_ELECTION_TIMEOUT_MS,
            api: Default::default(),
            tls: None,
            join: None,
        },
        patroni: Patroni {
            synchronous_mode: false,
            ..Patroni::default()
        },
        nodes: vec![PatroniNode {
            name: "pgha-companion".to_string(),
            address,
            listen_address: None,
            pg_port: defaults::PG_PORT,
            restapi_port: None,
            tags: Tags::default(),
            parameters: Default::default(),
            availability_domain: None,
        }],
        pgbackrest: spec.stanza.clone(),
        secrets,
        log_cleanup: spec.log_cleanup.clone(),
    }
}

/// Where a finding about the model lands in this resource.
fn attribute_for(path: &ModelPath, spec: &StanzaSpec) -> Option<AttributePath> {
    let repo = match spec.stanza.repository {
        Repository::S3(_) => "s3",
        Repository::Posix(_) => "posix",
    };
    let s = &spec.secrets;
    Some(match steps(path).as_slice() {
        [K("pgbackrest"), K("name"), ..] => attr("name"),
        [K("pgbackrest"), K("repository"), K(field), ..] => attr(repo).attribute(*field),
        [K("pgbackrest"), K("repository")] => attr(repo),
        [K("pgbackrest"), K("cipher_type"), ..] => attr("encryption").attribute("cipher_type"),
        [K("pgbackrest"), K("options"), K(key), ..] => attr("options").key(*key),
        [K("pgbackrest"), K("schedule"), K(field), ..] => attr("schedule").attribute(*field),
        [K("pgbackrest"), K("schedule")] => attr("schedule"),
        [K("pgbackrest"), K(field), ..] => attr(field),
        [K("log_cleanup"), K(field), ..] => attr("log_cleanup").attribute(*field),
        [K("secrets"), K("s3_key"), ..] => {
            secret_path(Some(attr("s3")), s.s3_key.as_ref(), "access_key")
        }
        [K("secrets"), K("s3_key_secret"), ..] => {
            secret_path(Some(attr("s3")), s.s3_key_secret.as_ref(), "secret_key")
        }
        [K("secrets"), K("repo_cipher_pass"), ..] if spec.stanza.cipher_type.is_some() => {
            secret_path(
                Some(attr("encryption")),
                s.repo_cipher_pass.as_ref(),
                "passphrase",
            )
        }
        [K("secrets"), K("repo_cipher_pass"), ..] => attr("encryption"),
        [K("platform"), K("paths"), K(field), ..] => attr("platform").attribute(*field),
        [K("platform"), K(field), ..] => attr("platform").attribute(*field),
        _ => return None,
    })
}

/// Reports the library's findings about the stanza in `spec` through `map`; whether any is an
/// error.
fn check(spec: &StanzaSpec, diags: &mut Diagnostics) -> bool {
    let cluster = companion_cluster(spec);
    let findings = pgha_config::validate(&cluster);
    let secrets = inline_values(&cluster.secrets);
    report(diags, &findings, |p| attribute_for(p, spec), &secrets)
}

impl Renderer for StanzaResource {
    const TYPE_NAME: &'static str = TYPE_NAME;
    const OUTPUTS: &'static [&'static str] = &[
        "id",
        "archive_command",
        "restore_command",
        "create_replica_command",
        "replica_method",
        "bootstrap_method",
        "pgbackrest_conf",
        "schedule_files",
        "spec",
    ];

    fn schema() -> Schema {
        schema()
    }

    fn render(args: &Value, diags: &mut Diagnostics) -> Option<Vec<(&'static str, Value)>> {
        if args.get("verify_bucket").as_bool() == Some(true) && args.get("s3").is_null() {
            diags.error_at(
                attr("verify_bucket"),
                "verify_bucket needs an s3 repository",
                "Only a bucket in OCI Object Storage can be verified; remove `verify_bucket` \
                 or use an `s3` block.",
            );
            return None;
        }
        let spec = build_spec(args, diags)?;
        if check(&spec, diags) {
            return None;
        }
        let cluster = companion_cluster(&spec);
        let yaml = |m| patroni_render::to_yaml(&serde_norway::Value::Mapping(m));
        let Ok(spec_json) = serde_json::to_string(&spec) else {
            diags.error(
                "Cannot serialise the stanza spec",
                "This is a bug in the provider.",
            );
            return None;
        };
        Some(vec![
            ("id", Value::from(cluster.stanza_name())),
            (
                "archive_command",
                Value::from(backrest::archive_command(&cluster)),
            ),
            (
                "restore_command",
                Value::from(backrest::restore_command(&cluster)),
            ),
            (
                "create_replica_command",
                Value::from(backrest::create_replica_command(&cluster)),
            ),
            (
                "replica_method",
                Value::from(yaml(patroni_render::replica_method(&cluster))),
            ),
            (
                "bootstrap_method",
                Value::from(yaml(patroni_render::bootstrap_method(&cluster))),
            ),
            (
                "pgbackrest_conf",
                Value::from(backrest::global_section(&cluster)),
            ),
            (
                "schedule_files",
                files_value(&backrest::schedule_files(&cluster)),
            ),
            ("spec", Value::from(spec_json)),
        ])
    }

    fn bucket_to_verify(args: &Value) -> Option<(crate::oci::BucketTarget, AttributePath)> {
        let s3 = args.get("s3");
        if args.get("verify_bucket").as_bool() != Some(true) || s3.is_null() {
            return None;
        }
        let target = crate::oci::BucketTarget {
            namespace: nonempty(s3, "namespace"),
            bucket: string(s3, "bucket").unwrap_or_default(),
            region: nonempty(s3, "region"),
        };
        Some((target, attr("s3").attribute("bucket")))
    }

    fn replacements(prior: &Value, planned: &Value) -> Vec<AttributePath> {
        let mut out = Vec::new();
        for k in ["name", "posix", "platform"] {
            if prior.get(k) != planned.get(k) {
                out.push(attr(k));
            }
        }
        if prior.get("s3").is_null() != planned.get("s3").is_null() {
            out.push(attr("s3"));
        } else {
            for k in ["bucket", "region", "namespace", "endpoint", "port", "path"] {
                if prior.get("s3").get(k) != planned.get("s3").get(k) {
                    out.push(attr("s3").attribute(k));
                }
            }
        }
        if prior.get("encryption").get("cipher_type")
            != planned.get("encryption").get("cipher_type")
        {
            out.push(attr("encryption"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3_args() -> Value {
        Value::object([
            ("name", Value::from("pg-ha-cluster")),
            (
                "s3",
                Value::object([
                    ("bucket", Value::from("pg_backup")),
                    ("region", Value::from("us-ashburn-1")),
                    ("namespace", Value::from("examplenamespace")),
                    (
                        "access_key_ref",
                        Value::object([
                            ("env_file", Value::from("/etc/pgha/s3.env")),
                            ("variable", Value::from("S3_ACCESS_KEY")),
                        ]),
                    ),
                    (
                        "secret_key_ref",
                        Value::object([
                            ("env_file", Value::from("/etc/pgha/s3.env")),
                            ("variable", Value::from("S3_SECRET_KEY")),
                        ]),
                    ),
                ]),
            ),
        ])
    }

    #[test]
    fn outputs_come_from_the_library_and_the_spec_round_trips() {
        let mut diags = Diagnostics::default();
        let out = StanzaResource::render(&s3_args(), &mut diags).expect("renders");
        assert!(diags.0.is_empty(), "{diags:?}");
        let get = |k: &str| out.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(
            get("archive_command").as_str(),
            Some("/usr/bin/pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=pg-ha-cluster archive-push %p")
        );
        let spec: StanzaSpec = serde_json::from_str(get("spec").as_str().unwrap()).unwrap();
        let env_file = |variable: &str| Secret::EnvFile {
            path: "/etc/pgha/s3.env".into(),
            variable: variable.into(),
        };
        assert_eq!(spec.secrets.s3_key, Some(env_file("S3_ACCESS_KEY")));
        assert_eq!(spec.secrets.s3_key_secret, Some(env_file("S3_SECRET_KEY")));
        assert_eq!(spec.secrets.repo_cipher_pass, None);
        assert_eq!(spec.stanza.name.as_deref(), Some("pg-ha-cluster"));
        assert!(get("bootstrap_method")
            .as_str()
            .unwrap()
            .contains("pgbackrest-bootstrap.sh"));
    }

    #[test]
    fn invalid_bucket_and_missing_key_point_at_s3_attributes() {
        let mut args = s3_args();
        let mut s3 = args.get("s3").clone();
        s3.set("bucket", Value::from("no spaces"));
        s3.set("access_key_ref", Value::Null);
        args.set("s3", s3);
        let mut diags = Diagnostics::default();
        assert!(StanzaResource::render(&args, &mut diags).is_none());
        let paths: Vec<_> = diags.0.iter().filter_map(|d| d.attribute.clone()).collect();
        assert!(paths.contains(&attr("s3").attribute("bucket")), "{paths:?}");
        assert!(
            paths.contains(&attr("s3").attribute("access_key")),
            "{paths:?}"
        );
    }

    #[test]
    fn inline_secrets_never_reach_a_message() {
        let mut args = s3_args();
        let mut s3 = args.get("s3").clone();
        s3.set("secret_key_ref", Value::Null);
        s3.set("secret_key", Value::from("password"));
        args.set("s3", s3);
        let mut diags = Diagnostics::default();
        let _ = StanzaResource::render(&args, &mut diags);
        assert!(!diags.0.is_empty());
        for d in &diags.0 {
            assert!(
                !d.summary.contains("`password`") && !d.detail.contains("`password`"),
                "{d:?}"
            );
        }
    }
}

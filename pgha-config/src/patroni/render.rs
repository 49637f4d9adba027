//! Renders a database host: patroni.yml, its unit, the secret resolver, and (through
//! [`crate::pgbackrest::render`]) pgBackRest's configuration, scripts and schedule.
//!
//! patroni.yml is built as a `serde_norway` mapping, never as text, so every value is typed
//! (`ttl: 20` stays an integer, `log_file_mode: '0640'` and `watchdog.mode: 'off'` stay strings)
//! and quoted the way PyYAML — Patroni's parser — reads it back.
//!
//! What we emit is accepted by Patroni 3.x and 4.x alike: Patroni 4 dropped `bootstrap.users`
//! (we never emit it; the post-bootstrap script creates the admin role), and everything else we
//! use (`postgresql.pg_hba`, `recovery_conf`, custom bootstrap and replica methods,
//! `use_unix_socket_repl`, `failsafe_mode`) exists in both. The only version-dependent key is the
//! `failover_priority` tag (Patroni 3.1+), which is written only when set.

use std::net::IpAddr;
use std::path::Path;

use serde_norway::{Mapping, Number, Value};

use crate::bundle::{LiveFile, Reload, RolePassword};
use crate::cluster::Cluster;
use crate::etcd::{host_for_url, EtcdApi};
use crate::host::{Directory, FileKind, HostPlan, HostRole, RenderedFile, Service, SystemUser};
use crate::patroni::{PatroniNode, PgValue, WatchdogMode};
use crate::pgbackrest::render as backrest;
use crate::pgbackrest::render::shell_quote;
use crate::platform::PlatformPreset;
use crate::secret::Secret;

/// A YAML mapping from `(key, value)` pairs, in the given order.
fn map<const N: usize>(pairs: [(&str, Value); N]) -> Mapping {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(Value::from(k), v);
    }
    m
}

fn s(text: &str) -> Value {
    Value::from(text)
}

fn n(v: u64) -> Value {
    Value::Number(Number::from(v))
}

fn insert(m: &mut Mapping, key: &str, value: impl Into<Value>) {
    m.insert(Value::from(key), value.into());
}

fn pg_value(v: &PgValue) -> Value {
    match v {
        PgValue::Bool(b) => Value::Bool(*b),
        PgValue::Int(i) => Value::Number(Number::from(*i)),
        PgValue::Float(x) => Value::Number(Number::from(*x)),
        PgValue::Text(t) => Value::from(t.as_str()),
    }
}

/// The pg_hba authentication method for passwords: `md5` when `password_encryption` is `md5`,
/// otherwise `scram-sha-256` (PostgreSQL 14+'s default encryption). A `scram-sha-256` line also
/// accepts nothing else, so it must match how the passwords were stored.
pub fn hba_method(cluster: &Cluster) -> &'static str {
    match cluster.patroni.parameters.get("password_encryption") {
        Some(v) if v.to_string().eq_ignore_ascii_case("md5") => "md5",
        _ => "scram-sha-256",
    }
}

/// An address as a pg_hba single-host mask: `/32` for IPv4, `/128` for IPv6; a host name stays
/// as it is (pg_hba accepts names).
pub fn host_cidr(address: &str) -> String {
    match address.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => format!("{a}/32"),
        Ok(IpAddr::V6(a)) => format!("{a}/128"),
        Err(_) => address.to_string(),
    }
}

/// pg_hba.conf lines (Patroni's `postgresql.pg_hba`), the same on every node:
///
/// 1. the superuser over the unix socket by `peer` (Patroni, pgBackRest and the backup job run
///    as the operating-system user of the same name; with another superuser name, a password);
/// 2. the replication role over the unix socket (Patroni's local replication connection,
///    `use_unix_socket_repl`);
/// 3. replication from every node's address (streaming and pg_basebackup);
/// 4. the rewind role from every node's address to the `postgres` database (pg_rewind);
/// 5. every client network (`host all all CIDR`);
/// 6. the extra lines of the model, as given.
///
/// Password lines use [`hba_method`].
pub fn pg_hba(cluster: &Cluster) -> Vec<String> {
    let p = &cluster.patroni;
    let auth = hba_method(cluster);
    let layout = cluster.layout();
    let users = &p.users;
    let mut out = Vec::new();
    let local_super = if users.superuser == layout.postgres_user {
        "peer"
    } else {
        auth
    };
    out.push(format!("local all {} {local_super}", users.superuser));
    out.push(format!("local replication {} {auth}", users.replication));
    for node in &cluster.nodes {
        out.push(format!(
            "host replication {} {} {auth}",
            users.replication,
            host_cidr(&node.address)
        ));
    }
    if p.use_pg_rewind {
        for node in &cluster.nodes {
            out.push(format!(
                "host postgres {} {} {auth}",
                users.rewind,
                host_cidr(&node.address)
            ));
        }
    }
    for cidr in &p.client_cidrs {
        out.push(format!("host all all {cidr} {auth}"));
    }
    out.extend(p.pg_hba.iter().cloned());
    out
}

/// The PostgreSQL parameters stored in the DCS (`bootstrap.dcs.postgresql.parameters`): the
/// cluster's parameters plus the ones we own — `archive_mode`, `wal_level` `replica` (unless
/// `logical` is asked for), `hot_standby`, and `wal_log_hints` when pg_rewind is used without
/// data checksums (pg_rewind needs one of the two).
///
/// `archive_command` is not among them: it names the host's pgBackRest configuration file, a
/// path of the host's layout, so it goes into each node's local `postgresql.parameters` (which
/// Patroni applies on top of the DCS ones). In the DCS, the first node's path would be every
/// node's path — wrong as soon as the hosts' layouts differ (a `root` per host, or a changed
/// platform on some of them).
pub fn dcs_parameters(cluster: &Cluster) -> Mapping {
    let p = &cluster.patroni;
    let mut m = Mapping::new();
    for (k, v) in &p.parameters {
        insert(&mut m, k, pg_value(v));
    }
    insert(&mut m, "archive_mode", "on");
    let logical = p
        .parameters
        .get("wal_level")
        .is_some_and(|v| v.to_string() == "logical");
    if !logical {
        insert(&mut m, "wal_level", "replica");
    }
    insert(&mut m, "hot_standby", "on");
    if p.use_pg_rewind && !p.initdb.data_checksums {
        insert(&mut m, "wal_log_hints", "on");
    }
    m
}

/// The restore-based custom bootstrap method (`bootstrap.pgbackrest` in patroni.yml).
///
/// Patroni runs `command --scope=<scope> --datadir=<data_dir>` (no_params false), then writes
/// recovery_conf (keep_existing_recovery_conf false also strips the recovery settings pgBackRest
/// put in postgresql.auto.conf, so Patroni's are the only ones). Depends only on the layout and
/// the stanza, so the Terraform stanza resource can publish it.
pub fn bootstrap_method(cluster: &Cluster) -> Mapping {
    map([
        ("command", s(&backrest::bootstrap_script_path(cluster))),
        ("keep_existing_recovery_conf", Value::Bool(false)),
        ("no_params", Value::Bool(false)),
        (
            "recovery_conf",
            Value::Mapping(map([
                ("restore_command", s(&backrest::restore_command(cluster))),
                ("recovery_target_timeline", s("latest")),
            ])),
        ),
    ])
}

/// The `pgbackrest` replica creation method (`postgresql.pgbackrest` in patroni.yml): a delta
/// restore with `keep_data` (so `--delta` reuses what is there) and `no_params` (pgBackRest
/// rejects Patroni's `--scope=`/`--role=` arguments).
pub fn replica_method(cluster: &Cluster) -> Mapping {
    map([
        ("command", s(&backrest::create_replica_command(cluster))),
        ("keep_data", Value::Bool(true)),
        ("no_params", Value::Bool(true)),
    ])
}

/// Patroni's dynamic configuration: what lives in the DCS (`/<namespace>/<scope>/config`) and is
/// the same on every member. A new cluster starts with it (`bootstrap.dcs`); afterwards it is
/// changed live through the REST API (`PATCH /config`), which is what the Terraform provider's
/// `pgha_patroni_cluster` does with exactly this document, so nothing cluster-wide sits in a
/// host's local patroni.yml. `pg_hba` is here too: a local `postgresql.pg_hba` would take
/// precedence over the DCS one on that host and make it impossible to change live.
pub fn dynamic_configuration(cluster: &Cluster) -> Mapping {
    let p = &cluster.patroni;
    let postgresql = map([
        ("use_pg_rewind", Value::Bool(p.use_pg_rewind)),
        ("use_slots", Value::Bool(p.use_slots)),
        ("parameters", Value::Mapping(dcs_parameters(cluster))),
        (
            "pg_hba",
            Value::Sequence(pg_hba(cluster).iter().map(|l| s(l)).collect()),
        ),
    ]);
    let mut dcs = map([
        ("ttl", n(p.ttl.into())),
        ("loop_wait", n(p.loop_wait.into())),
        ("retry_timeout", n(p.retry_timeout.into())),
        ("maximum_lag_on_failover", n(p.maximum_lag_on_failover)),
        ("synchronous_mode", Value::Bool(p.synchronous_mode)),
        (
            "synchronous_mode_strict",
            Value::Bool(p.synchronous_mode_strict),
        ),
        ("synchronous_node_count", n(p.synchronous_node_count.into())),
        ("failsafe_mode", Value::Bool(p.failsafe_mode)),
        ("postgresql", Value::Mapping(postgresql)),
    ]);
    if let Some(ttl) = p.member_slots_ttl {
        insert(&mut dcs, "member_slots_ttl", n(ttl.into()));
    }
    if !p.slots.is_empty() {
        let mut slots = Mapping::new();
        for (name, slot) in &p.slots {
            let mut m = map([("type", s(slot.kind.as_str()))]);
            if let Some(db) = &slot.database {
                insert(&mut m, "database", db.as_str());
            }
            if let Some(plugin) = &slot.plugin {
                insert(&mut m, "plugin", plugin.as_str());
            }
            insert(&mut slots, name, Value::Mapping(m));
        }
        insert(&mut dcs, "slots", Value::Mapping(slots));
    }
    dcs
}

/// Patroni's `bootstrap` section, with `dcs` from [`dynamic_configuration`] or, when given,
/// `dcs` as it is (the configuration a cluster was created with: see [`host_plan_bootstrapped`]).
fn bootstrap(cluster: &Cluster, dcs: Option<&Mapping>) -> Mapping {
    let p = &cluster.patroni;
    let layout = cluster.layout();
    let dcs = dcs
        .cloned()
        .unwrap_or_else(|| dynamic_configuration(cluster));
    let method = bootstrap_method(cluster);
    let mut initdb: Vec<Value> = vec![Value::Mapping(map([("encoding", s(&p.initdb.encoding))]))];
    if let Some(locale) = &p.initdb.locale {
        initdb.push(Value::Mapping(map([("locale", s(locale))])));
    }
    if p.initdb.data_checksums {
        initdb.push(s("data-checksums"));
    }
    if let Some(wal) = &layout.pg_wal_dir {
        initdb.push(Value::Mapping(map([("waldir", s(wal))])));
    }
    map([
        ("dcs", Value::Mapping(dcs)),
        ("method", s("pgbackrest")),
        ("pgbackrest", Value::Mapping(method)),
        ("initdb", Value::Sequence(initdb)),
        (
            "post_bootstrap",
            s(&backrest::post_bootstrap_script_path(cluster)),
        ),
    ])
}

/// One `authentication` entry: the user name, and the password only when it is inline (a
/// reference reaches Patroni as `PATRONI_<ROLE>_PASSWORD` from secrets.env).
fn credentials(username: &str, password: Option<&Secret>) -> Value {
    let mut m = map([("username", s(username))]);
    if let Some(pw) = password.and_then(Secret::inline) {
        insert(&mut m, "password", pw);
    }
    Value::Mapping(m)
}

/// Patroni's local `postgresql` section for `node`.
fn postgresql(cluster: &Cluster, node: &PatroniNode) -> Mapping {
    let p = &cluster.patroni;
    let layout = cluster.layout();
    let secrets = &cluster.secrets;
    let mut auth = map([
        (
            "superuser",
            credentials(&p.users.superuser, Some(&secrets.superuser_password)),
        ),
        (
            "replication",
            credentials(&p.users.replication, Some(&secrets.replication_password)),
        ),
    ]);
    if p.use_pg_rewind {
        insert(
            &mut auth,
            "rewind",
            credentials(&p.users.rewind, secrets.rewind_password.as_ref()),
        );
    }
    let mut parameters = Mapping::new();
    for (k, v) in &node.parameters {
        insert(&mut parameters, k, pg_value(v));
    }
    insert(
        &mut parameters,
        "archive_command",
        backrest::archive_command(cluster),
    );
    insert(
        &mut parameters,
        "unix_socket_directories",
        layout.pg_socket_dir.as_str(),
    );
    insert(&mut parameters, "log_directory", layout.pg_log_dir.as_str());
    let existing = p
        .parameters
        .get("shared_preload_libraries")
        .map(|v| v.to_string());
    if let Some(libs) =
        crate::extensions::preload_libraries(existing.as_deref(), &cluster.platform.extensions)
    {
        insert(&mut parameters, "shared_preload_libraries", libs);
    }
    if layout.temp_tablespace_dir.is_some() {
        // Created by the post-bootstrap script; until then PostgreSQL ignores the name.
        insert(
            &mut parameters,
            "temp_tablespaces",
            crate::defaults::TEMP_TABLESPACE,
        );
    }

    let mut basebackup = vec![Value::Mapping(map([("checkpoint", s("fast"))]))];
    if let Some(wal) = &layout.pg_wal_dir {
        basebackup.push(Value::Mapping(map([("waldir", s(wal))])));
    }
    map([
        (
            "listen",
            s(&format!("{}:{}", host_for_url(node.listen()), node.pg_port)),
        ),
        (
            "connect_address",
            s(&format!("{}:{}", host_for_url(&node.address), node.pg_port)),
        ),
        ("data_dir", s(&layout.pg_data_dir)),
        ("bin_dir", s(&layout.pg_bin_dir)),
        (
            "pgpass",
            s(&format!("{}/pgpass", layout.patroni_config_dir)),
        ),
        // Local superuser and replication connections go through the unix socket (peer for
        // the superuser), so they never depend on the node's own address being reachable.
        ("use_unix_socket", Value::Bool(true)),
        ("use_unix_socket_repl", Value::Bool(true)),
        ("authentication", Value::Mapping(auth)),
        ("parameters", Value::Mapping(parameters)),
        (
            "create_replica_methods",
            Value::Sequence(vec![s("pgbackrest"), s("basebackup")]),
        ),
        ("pgbackrest", Value::Mapping(replica_method(cluster))),
        ("basebackup", Value::Sequence(basebackup)),
        (
            "recovery_conf",
            Value::Mapping(map([(
                "restore_command",
                s(&backrest::restore_command(cluster)),
            )])),
        ),
    ])
}

/// The DCS section: `etcd3:` (or `etcd:` for the v2 API) with every member as `host:port`.
fn dcs_section(cluster: &Cluster) -> (&'static str, Mapping) {
    let etcd = &cluster.etcd;
    let hosts = etcd
        .members
        .iter()
        .map(|m| s(&m.client_host_port()))
        .collect();
    let mut m = map([("hosts", Value::Sequence(hosts))]);
    if let Some(tls) = &etcd.tls {
        insert(&mut m, "protocol", "https");
        insert(&mut m, "cacert", tls.ca_file.as_str());
        if tls.client_cert_auth {
            insert(&mut m, "cert", tls.cert_file.as_str());
            insert(&mut m, "key", tls.key_file.as_str());
        }
    }
    let key = match etcd.api {
        EtcdApi::V3 => "etcd3",
        EtcdApi::V2 => "etcd",
    };
    (key, m)
}

/// patroni.yml of the node at `node` as a YAML value.
pub fn patroni_config(cluster: &Cluster, node: &PatroniNode) -> Value {
    patroni_config_with(cluster, node, None)
}

/// [`patroni_config`] with `bootstrap.dcs` given (`None`: [`dynamic_configuration`]).
fn patroni_config_with(
    cluster: &Cluster,
    node: &PatroniNode,
    bootstrap_dcs: Option<&Mapping>,
) -> Value {
    let p = &cluster.patroni;
    let port = node.restapi_port_or(p.restapi_port);
    let mut restapi = map([
        (
            "listen",
            s(&format!("{}:{}", host_for_url(node.listen()), port)),
        ),
        (
            "connect_address",
            s(&format!("{}:{}", host_for_url(&node.address), port)),
        ),
    ]);
    if let Some(api) = &cluster.secrets.restapi {
        if let Some(pw) = api.password.inline() {
            insert(
                &mut restapi,
                "authentication",
                Value::Mapping(map([("username", s(&api.username)), ("password", s(pw))])),
            );
        }
    }
    let (dcs_key, dcs) = dcs_section(cluster);
    let watchdog = match p.watchdog {
        WatchdogMode::Off => "off",
        WatchdogMode::Automatic => "automatic",
        WatchdogMode::Required => "required",
    };
    let t = &node.tags;
    let mut tags = map([
        ("nofailover", Value::Bool(t.nofailover)),
        ("noloadbalance", Value::Bool(t.noloadbalance)),
        ("clonefrom", Value::Bool(t.clonefrom)),
        ("nosync", Value::Bool(t.nosync)),
    ]);
    if let Some(prio) = t.failover_priority {
        insert(&mut tags, "failover_priority", n(prio.into()));
    }
    Value::Mapping(map([
        ("scope", s(&cluster.name)),
        ("namespace", s(&cluster.namespace)),
        ("name", s(&node.name)),
        ("restapi", Value::Mapping(restapi)),
        (dcs_key, Value::Mapping(dcs)),
        (
            "bootstrap",
            Value::Mapping(bootstrap(cluster, bootstrap_dcs)),
        ),
        ("postgresql", Value::Mapping(postgresql(cluster, node))),
        ("watchdog", Value::Mapping(map([("mode", s(watchdog))]))),
        ("tags", Value::Mapping(tags)),
    ]))
}

/// Whether a string can be written as a plain (unquoted) YAML scalar and read back as the same
/// string by both YAML 1.2 parsers (serde_norway) and YAML 1.1 parsers (PyYAML, which Patroni
/// uses). Deliberately conservative: it must start with a letter, `_` or `/` (so no number,
/// date, sexagesimal `10:30`, `.inf`, `~` or indicator), use only characters that are never
/// special in the middle of a block scalar, have no `: `/` #` and no edge blanks, and not be
/// one of YAML 1.1's boolean or null words (`on`, `off`, `yes`, `no`, `y`, `n`, …).
pub fn yaml_plain_is_safe(text: &str) -> bool {
    const WORDS: &[&str] = &["y", "yes", "n", "no", "true", "false", "on", "off", "null"];
    let Some(first) = text.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_' || first == '/')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _./@%+=,:-".contains(c))
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with([':', ' '])
        && !WORDS.contains(&text.to_ascii_lowercase().as_str())
}

/// A scalar as YAML text: plain when [`yaml_plain_is_safe`], otherwise single-quoted (`'`
/// doubled), or double-quoted with JSON escapes when it has control characters (JSON's escapes
/// are valid YAML double-quoted escapes).
fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(num) => num.to_string(),
        Value::String(t) if yaml_plain_is_safe(t) => t.clone(),
        Value::String(t) if !t.chars().any(char::is_control) => {
            format!("'{}'", t.replace('\'', "''"))
        }
        Value::String(t) => serde_json::to_string(t).unwrap_or_default(),
        // Not produced by our tree; keep the emitter total.
        Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => serde_norway::to_string(v)
            .unwrap_or_default()
            .trim_end()
            .to_string(),
    }
}

fn is_nested(v: &Value) -> bool {
    matches!(v, Value::Mapping(m) if !m.is_empty())
        || matches!(v, Value::Sequence(s) if !s.is_empty())
}

fn yaml_leaf(v: &Value) -> String {
    match v {
        Value::Mapping(_) => "{}".to_string(),
        Value::Sequence(_) => "[]".to_string(),
        other => yaml_scalar(other),
    }
}

/// Writes `v` in block style at `indent` spaces.
fn yaml_block(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                out.push_str(&pad);
                out.push_str(&yaml_scalar(k));
                out.push(':');
                if is_nested(val) {
                    out.push('\n');
                    yaml_block(out, val, indent + 2);
                } else {
                    out.push(' ');
                    out.push_str(&yaml_leaf(val));
                    out.push('\n');
                }
            }
        }
        Value::Sequence(items) => {
            for item in items {
                out.push_str(&pad);
                out.push_str("- ");
                if is_nested(item) {
                    // The item's first line follows the dash; the rest align under it.
                    let mut inner = String::new();
                    yaml_block(&mut inner, item, indent + 2);
                    out.push_str(inner.get(indent + 2..).unwrap_or(""));
                } else {
                    out.push_str(&yaml_leaf(item));
                    out.push('\n');
                }
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&yaml_leaf(other));
            out.push('\n');
        }
    }
}

/// The YAML text of a value tree, readable alike by YAML 1.1 and 1.2 parsers.
///
/// serde_norway builds and checks the tree, but its serializer quotes strings by YAML 1.2 rules
/// only: it writes `mode: off` or `password: yes` plain, which PyYAML — Patroni's parser, YAML
/// 1.1 — reads as booleans, and it has no way to force quoting (tags come out as local `!str`).
/// This small block-style emitter quotes every string that is not [`yaml_plain_is_safe`]; tests
/// check that PyYAML and serde_norway both read every rendered file back to the same tree.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    yaml_block(&mut out, v, 0);
    out
}

/// patroni.yml of `node` as text.
pub fn patroni_yml(cluster: &Cluster, node: &PatroniNode) -> String {
    patroni_yml_with(cluster, node, None)
}

fn patroni_yml_with(cluster: &Cluster, node: &PatroniNode, dcs: Option<&Mapping>) -> String {
    let body = to_yaml(&patroni_config_with(cluster, node, dcs));
    format!(
        "# Patroni configuration of {} in cluster {}, rendered by pgha.\n{body}",
        node.name, cluster.name
    )
}

/// Whether patroni.yml holds an inline password.
pub fn patroni_yml_is_sensitive(cluster: &Cluster) -> bool {
    let sec = &cluster.secrets;
    sec.superuser_password.inline().is_some()
        || sec.replication_password.inline().is_some()
        || (cluster.patroni.use_pg_rewind
            && sec
                .rewind_password
                .as_ref()
                .and_then(Secret::inline)
                .is_some())
        || sec
            .restapi
            .as_ref()
            .and_then(|a| a.password.inline())
            .is_some()
}

/// Path of patroni.yml.
pub fn patroni_yml_path(cluster: &Cluster) -> String {
    format!("{}/patroni.yml", cluster.layout().patroni_config_dir)
}

/// The environment variable each secret reaches Patroni, pgBackRest or our scripts through, in a
/// fixed order. Only secrets that are configured (and, for the pgBackRest ones, used) appear.
pub fn secret_variables(cluster: &Cluster) -> Vec<(&'static str, &Secret)> {
    let s = &cluster.secrets;
    let mut out: Vec<(&'static str, &Secret)> = vec![
        ("PATRONI_SUPERUSER_PASSWORD", &s.superuser_password),
        ("PATRONI_REPLICATION_PASSWORD", &s.replication_password),
    ];
    if let Some(r) = &s.rewind_password {
        out.push(("PATRONI_REWIND_PASSWORD", r));
    }
    if let Some(api) = &s.restapi {
        out.push(("PATRONI_RESTAPI_PASSWORD", &api.password));
    }
    if matches!(
        cluster.pgbackrest.repository,
        crate::pgbackrest::Repository::S3(_)
    ) {
        if let Some(k) = &s.s3_key {
            out.push(("PGBACKREST_REPO1_S3_KEY", k));
        }
        if let Some(k) = &s.s3_key_secret {
            out.push(("PGBACKREST_REPO1_S3_KEY_SECRET", k));
        }
    }
    if cluster.pgbackrest.cipher_type.is_some() {
        if let Some(k) = &s.repo_cipher_pass {
            out.push(("PGBACKREST_REPO1_CIPHER_PASS", k));
        }
    }
    if cluster.patroni.admin_user.is_some() {
        if let Some(k) = &s.admin_password {
            out.push(("PGHA_ADMIN_PASSWORD", k));
        }
    }
    out
}

/// Whether any secret the host uses is a reference resolved at boot.
pub fn has_secret_references(cluster: &Cluster) -> bool {
    secret_variables(cluster)
        .iter()
        .any(|(_, s)| s.is_reference())
}

/// Path of the secret resolver script.
pub fn resolver_path(cluster: &Cluster) -> String {
    format!("{}/pgha-resolve-secrets", cluster.layout().script_dir)
}

/// The secret resolver: a root script run once before the services start. It reads every
/// referenced secret — from an existing environment file (parsed, never executed) or from OCI
/// Vault with the instance principal — and writes secrets.env atomically (a temporary file in
/// the same directory, mode 0640 root:postgres, then `mv`), each line quoted by the rules
/// systemd's `EnvironmentFile=` and bash share. Inline secrets that only reach their consumer
/// through the environment (the admin password) are embedded, which makes the script itself
/// sensitive. `None` when no secret is a reference.
pub fn resolve_secrets_script(cluster: &Cluster) -> Option<String> {
    if !has_secret_references(cluster) {
        return None;
    }
    let layout = cluster.layout();
    let mut sc = String::new();
    sc.push_str("#!/usr/bin/env bash\n");
    sc.push_str(&format!(
        "# Resolves the secret references of cluster {} into secrets.env, rendered by pgha.\n",
        cluster.name
    ));
    sc.push_str("set -euo pipefail\numask 027\n\n");
    sc.push_str(&format!(
        "target={}\ngroup={}\noci={}\ndeadline=$((SECONDS + {}))\n\n",
        backrest::shell_assign(&backrest::secrets_env_path(cluster)),
        backrest::shell_assign(&layout.postgres_user),
        backrest::shell_assign(&layout.oci_cli),
        crate::defaults::SECRET_RESOLVE_TIMEOUT_SECS
    ));
    sc.push_str(
        r##"log() { printf 'pgha-resolve-secrets: %s\n' "$*" >&2; }

# env_value FILE NAME: the value NAME is assigned in FILE (`NAME=value` or `export NAME=value`,
# one pair of surrounding quotes removed, the last assignment wins). The file is read, never run.
env_value() {
    local file="$1" name="$2" line value="" found=""
    if [[ ! -r "$file" ]]; then
        log "cannot read $file"
        return 1
    fi
    while IFS= read -r line || [[ -n "$line" ]]; do
        line="${line%$'\r'}"
        line="${line#"${line%%[![:space:]]*}"}"
        line="${line#export }"
        [[ "$line" == "$name="* ]] || continue
        value="${line#*=}"
        if [[ ${#value} -ge 2 && ( ("$value" == \"*\") || ("$value" == \'*\') ) ]]; then
            value="${value:1:${#value}-2}"
        fi
        found=1
    done <"$file"
    if [[ -z "$found" ]]; then
        log "$name is not set in $file"
        return 1
    fi
    printf '%s' "$value"
}

# vault_value OCID: the content of an OCI Vault secret, fetched with the instance principal.
vault_value() {
    local content
    content="$("$oci" secrets secret-bundle get --secret-id "$1" --auth instance_principal \
        --query 'data."secret-bundle-content".content' --raw-output)" || return 1
    printf '%s' "$content" | base64 -d
}

# retry WHAT COMMAND...: COMMAND's output once it succeeds, retried with back-off (5 s doubling
# to 60 s) until the deadline. An instance principal can take minutes to become usable after a
# dynamic group or policy is created, and an environment file may be put in place late.
retry() {
    local what="$1" delay=5 attempt=1 out
    shift
    while true; do
        if out="$("$@")"; then
            printf '%s' "$out"
            return 0
        fi
        if (( SECONDS + delay > deadline )); then
            log "giving up on $what after $attempt attempt(s); the database units stay stopped"
            return 1
        fi
        log "$what: attempt $attempt failed, retrying in ${delay}s"
        sleep "$delay"
        attempt=$((attempt + 1))
        delay=$((delay * 2 > 60 ? 60 : delay * 2))
    done
}

# env_line NAME VALUE: NAME="VALUE" with \ " ` $ escaped, which systemd and bash read alike.
env_line() {
    local value="$2"
    if [[ "$value" == *$'\n'* || -z "$value" ]]; then
        log "$1 is empty or has a line break"
        return 1
    fi
    value="${value//\\/\\\\}"
    value="${value//\"/\\\"}"
    value="${value//\`/\\\`}"
    value="${value//\$/\\\$}"
    printf '%s="%s"\n' "$1" "$value"
}

tmp="$(mktemp "$(dirname "$target")/.secrets.env.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
echo "# Resolved by pgha-resolve-secrets; do not edit." >"$tmp"
"##,
    );
    let restapi_user = cluster.secrets.restapi.as_ref().map(|a| a.username.clone());
    for (var, secret) in secret_variables(cluster) {
        let fetch = match secret {
            Secret::EnvFile { path, variable } => {
                format!(
                    "retry {} env_value {} {}",
                    shell_quote(&format!("{variable} from {path}")),
                    shell_quote(path),
                    shell_quote(variable)
                )
            }
            Secret::OciVault { secret_id } => {
                format!(
                    "retry {} vault_value {}",
                    shell_quote(secret_id),
                    shell_quote(secret_id)
                )
            }
            // Inline secrets that are already in patroni.yml or pgbackrest.conf stay there.
            Secret::Value(v) if var == "PGHA_ADMIN_PASSWORD" => {
                format!("printf '%s' {}", shell_quote(v))
            }
            Secret::Value(_) => continue,
        };
        if var == "PATRONI_RESTAPI_PASSWORD" {
            if let Some(user) = &restapi_user {
                sc.push_str(&format!(
                    "env_line PATRONI_RESTAPI_USERNAME {} >>\"$tmp\"\n",
                    shell_quote(user)
                ));
            }
        }
        sc.push_str(&format!(
            "value=\"$({fetch})\"\nenv_line {var} \"$value\" >>\"$tmp\"\n"
        ));
    }
    sc.push_str(
        r#"chown "root:$group" "$tmp"
chmod 0640 "$tmp"
mv -f "$tmp" "$target"
trap - EXIT
log "wrote $target"
"#,
    );
    Some(sc)
}

/// The unit that runs the resolver once per boot, before the database units: they `Require=`
/// it, so Patroni (and with it PostgreSQL) does not start until every secret is resolved. The
/// script retries on its own (systemd 239 on Oracle Linux 8 refuses `Restart=` on a oneshot).
pub fn resolver_service(cluster: &Cluster) -> Service {
    Service {
        name: RESOLVER_UNIT.to_string(),
        description: format!("Resolve the secret references of cluster {}", cluster.name),
        user: "root".to_string(),
        group: "root".to_string(),
        exec_start: vec![resolver_path(cluster)],
        environment_files: Vec::new(),
        environment: Vec::new(),
        working_directory: String::new(),
        after: Vec::new(),
        requires: Vec::new(),
        requires_mounts_for: Vec::new(),
        remain_after_exit: true,
        service_type: "oneshot".to_string(),
        kill_mode_process: false,
        restart: String::new(),
        limit_nofile: None,
        timeout_sec: Some(crate::defaults::SECRET_RESOLVE_TIMEOUT_SECS + 60),
        reload_with_sighup: false,
    }
}

/// Name of the resolver's unit (without `.service`).
pub const RESOLVER_UNIT: &str = "pgha-resolve-secrets";

/// Whether the resolver embeds an inline secret.
fn resolver_is_sensitive(cluster: &Cluster) -> bool {
    secret_variables(cluster)
        .iter()
        .any(|(var, s)| *var == "PGHA_ADMIN_PASSWORD" && s.inline().is_some())
}

/// secrets.env rendered directly, when no secret is a reference but an inline one can only reach
/// its consumer through the environment (the admin password for the post-bootstrap script).
fn inline_secrets_env(cluster: &Cluster) -> Option<RenderedFile> {
    if has_secret_references(cluster) {
        return None;
    }
    let pairs: Vec<(String, String)> = secret_variables(cluster)
        .into_iter()
        .filter(|(var, _)| *var == "PGHA_ADMIN_PASSWORD")
        .filter_map(|(var, s)| s.inline().map(|v| (var.to_string(), v.to_string())))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    Some(RenderedFile {
        path: backrest::secrets_env_path(cluster),
        content: crate::systemd::env_file(
            &["Secrets for the pgha scripts, rendered by pgha."],
            &pairs,
        ),
        mode: 0o640,
        owner: "root".to_string(),
        group: cluster.layout().postgres_user,
        sensitive: true,
        kind: FileKind::EnvFile,
    })
}

/// The Patroni service.
///
/// `Restart=on-failure` rather than the tutorial's `Restart=no`: `KillMode=process` leaves
/// PostgreSQL running when Patroni dies, and a primary whose Patroni is gone keeps accepting
/// writes while its leader key expires and another node is promoted. Restarting Patroni lets it
/// adopt the running PostgreSQL and demote it if it lost the leader race. Patroni also exits
/// after a failed bootstrap (repository briefly unreachable), and the restart retries it.
/// Inspecting a broken node stays possible with `systemctl stop patroni`.
pub fn service(cluster: &Cluster, node: &PatroniNode) -> Service {
    let layout = cluster.layout();
    let resolver: Vec<String> = has_secret_references(cluster)
        .then(|| format!("{RESOLVER_UNIT}.service"))
        .into_iter()
        .collect();
    let mut after = vec!["network-online.target".to_string()];
    after.extend(resolver.iter().cloned());
    Service {
        name: "patroni".to_string(),
        description: format!(
            "Patroni member {} of PostgreSQL cluster {}",
            node.name, cluster.name
        ),
        user: layout.postgres_user.clone(),
        group: layout.postgres_user.clone(),
        exec_start: vec![layout.patroni_bin.clone(), patroni_yml_path(cluster)],
        environment_files: vec![format!("-{}", backrest::secrets_env_path(cluster))],
        environment: Vec::new(),
        working_directory: layout.patroni_config_dir.clone(),
        after,
        requires: resolver,
        requires_mounts_for: layout.db_mounts.clone(),
        remain_after_exit: false,
        service_type: "simple".to_string(),
        kill_mode_process: true,
        restart: "on-failure".to_string(),
        limit_nofile: Some(65536),
        timeout_sec: Some(60),
        reload_with_sighup: true,
    }
}

/// The home directory of the PostgreSQL account on each platform.
fn postgres_home(cluster: &Cluster) -> String {
    match cluster.platform.preset {
        PlatformPreset::OracleLinux8 | PlatformPreset::OracleLinux9 => "/var/lib/pgsql",
        PlatformPreset::Debian | PlatformPreset::Ubuntu2404 => "/var/lib/postgresql",
        PlatformPreset::Tutorial => "/home/postgres",
    }
    .to_string()
}

/// Directories of a database host, parents before children (sorted by path, which orders every
/// ancestor first), each once.
pub fn directories(cluster: &Cluster) -> Vec<Directory> {
    let layout = cluster.layout();
    let pg = layout.postgres_user.as_str();
    let dir = |path: &str, owner: &str, group: &str, mode: u32| Directory {
        path: path.to_string(),
        owner: owner.to_string(),
        group: group.to_string(),
        mode,
    };
    let mut out = Vec::new();
    // Patroni renames or removes and re-creates the data directory (failed bootstrap, reinit),
    // which needs write access to its parent.
    if let Some(parent) = Path::new(&layout.pg_data_dir).parent() {
        let parent = parent.to_string_lossy();
        if parent != "/" && !parent.is_empty() {
            out.push(dir(&parent, pg, pg, 0o750));
        }
    }
    out.push(dir(&layout.pg_data_dir, pg, pg, 0o700));
    if let Some(wal) = &layout.pg_wal_dir {
        out.push(dir(wal, pg, pg, 0o700));
    }
    out.push(dir(&layout.pg_log_dir, pg, pg, 0o750));
    if let Some(temp) = &layout.temp_tablespace_dir {
        out.push(dir(temp, pg, pg, 0o700));
    }
    out.push(dir(&layout.pg_socket_dir, pg, pg, 0o755));
    out.push(dir(&layout.patroni_config_dir, pg, pg, 0o750));
    if let Some(parent) = Path::new(&layout.pgbackrest_config).parent() {
        out.push(dir(&parent.to_string_lossy(), "root", "root", 0o755));
    }
    out.push(dir(&layout.pgbackrest_log_dir, pg, pg, 0o750));
    out.push(dir(&layout.pgbackrest_spool_dir, pg, pg, 0o750));
    out.push(dir(&layout.pgbackrest_lock_dir, pg, pg, 0o750));
    out.push(dir(&layout.script_dir, "root", "root", 0o755));
    out.push(dir(&layout.pgha_dir, "root", pg, 0o750));
    out.push(dir(&layout.systemd_dir, "root", "root", 0o755));
    out.push(dir(&layout.state_dir, "root", "root", 0o755));
    out.push(dir(
        &crate::reconcile::state_dir(cluster),
        "root",
        "root",
        0o700,
    ));
    if cluster.pgbackrest.schedule.kind == crate::pgbackrest::ScheduleKind::Cron {
        out.push(dir(&layout.cron_dir, "root", "root", 0o755));
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup_by(|a, b| a.path == b.path);
    out
}

/// A tmpfiles.d entry that re-creates the unix socket directory at every boot when it lives on
/// the `/run` tmpfs (PGDG and Debian packages ship one for their default directory; an override
/// or the tutorial layout would otherwise lose it at the first reboot).
fn tmpfiles(cluster: &Cluster) -> Option<RenderedFile> {
    let layout = cluster.layout();
    let root = cluster
        .platform
        .root
        .as_deref()
        .unwrap_or("")
        .trim_end_matches('/');
    let socket = layout.pg_socket_dir.strip_prefix(root)?;
    if !(socket.starts_with("/run/") || socket.starts_with("/var/run/")) {
        return None;
    }
    Some(RenderedFile {
        path: format!("{root}/etc/tmpfiles.d/pgha-postgresql.conf"),
        content: format!(
            "# PostgreSQL's unix socket directory, re-created at boot; rendered by pgha.\n\
             d {} 0755 {} {} -\n",
            layout.pg_socket_dir, layout.postgres_user, layout.postgres_user
        ),
        mode: 0o644,
        owner: "root".to_string(),
        group: "root".to_string(),
        sensitive: false,
        kind: FileKind::Other,
    })
}

/// Everything the database node at `node` (an index into `cluster.nodes`) needs; `None` when
/// the cluster has no such node.
pub fn host_plan(cluster: &Cluster, node: usize) -> Option<HostPlan> {
    host_plan_with(cluster, node, None)
}

/// [`host_plan`] for a host of a cluster that was created with another dynamic configuration
/// than the model's current one: `bootstrap.dcs` is `bootstrap_dcs` as given.
///
/// `bootstrap.dcs` is read only when a member initializes a brand-new cluster; on every other
/// start Patroni takes the configuration from the DCS. A tool that changes the settings live
/// (`PATCH /config`) keeps the document the cluster was created with here, so a live change
/// does not change a host's first-boot document, which would mean a new machine.
pub fn host_plan_bootstrapped(
    cluster: &Cluster,
    node: usize,
    bootstrap_dcs: &Mapping,
) -> Option<HostPlan> {
    host_plan_with(cluster, node, Some(bootstrap_dcs))
}

fn host_plan_with(cluster: &Cluster, node: usize, dcs: Option<&Mapping>) -> Option<HostPlan> {
    let n = cluster.nodes.get(node)?;
    let layout = cluster.layout();
    let pg = layout.postgres_user.clone();
    let service = service(cluster, n);

    let mut files = vec![RenderedFile {
        path: patroni_yml_path(cluster),
        content: patroni_yml_with(cluster, n, dcs),
        mode: 0o600,
        owner: pg.clone(),
        group: pg.clone(),
        sensitive: patroni_yml_is_sensitive(cluster),
        kind: FileKind::PatroniYaml,
    }];
    files.push(RenderedFile {
        path: format!("{}/{}.service", layout.systemd_dir, service.name),
        content: crate::systemd::unit(&service),
        mode: 0o644,
        owner: "root".to_string(),
        group: "root".to_string(),
        sensitive: false,
        kind: FileKind::SystemdUnit,
    });
    files.extend(backrest::files(cluster, n));
    let install = crate::packages::install(cluster, crate::packages::Role::Database);
    let mut prepare_commands = install.after_packages;
    let ports = [
        crate::firewall::Port {
            port: n.pg_port,
            service: "PostgreSQL",
        },
        crate::firewall::Port {
            port: n.restapi_port_or(cluster.patroni.restapi_port),
            service: "Patroni REST API (health checks, patronictl)",
        },
    ];
    if let Some(fw) = crate::firewall::script(cluster, &ports) {
        prepare_commands.insert(0, vec![fw.path.clone()]);
        files.push(fw);
    }
    let mut services = Vec::new();
    if let Some(script) = resolve_secrets_script(cluster) {
        files.push(RenderedFile {
            path: resolver_path(cluster),
            content: script,
            mode: 0o700,
            owner: "root".to_string(),
            group: "root".to_string(),
            sensitive: resolver_is_sensitive(cluster),
            kind: FileKind::Shell,
        });
        let resolver = resolver_service(cluster);
        files.push(RenderedFile {
            path: format!("{}/{}.service", layout.systemd_dir, resolver.name),
            content: crate::systemd::unit(&resolver),
            mode: 0o644,
            owner: "root".to_string(),
            group: "root".to_string(),
            sensitive: false,
            kind: FileKind::SystemdUnit,
        });
        services.push(resolver);
    }
    services.push(service);
    if let Some(env) = inline_secrets_env(cluster) {
        files.push(env);
    }
    if let Some(t) = tmpfiles(cluster) {
        files.push(t);
    }
    let live_files = live_files(cluster, &files);
    let resolver_unit = has_secret_references(cluster).then_some(RESOLVER_UNIT);
    let reconcile = crate::reconcile::files(cluster, n, &files, &live_files, resolver_unit);
    // Right after the firewall: the files of the bundle are written before anything uses them.
    let first = usize::from(
        prepare_commands
            .first()
            .is_some_and(|c| c.first() == Some(&crate::firewall::script_path(cluster))),
    );
    prepare_commands.insert(
        first,
        vec![
            crate::reconcile::script_path(cluster),
            "--first-boot".to_string(),
        ],
    );
    files.extend(reconcile);
    let mut timers = backrest::timer_units(cluster);
    timers.push(format!("{}.timer", crate::reconcile::UNIT));
    let mut cmd = vec![
        "systemctl".to_string(),
        "enable".to_string(),
        "--now".to_string(),
    ];
    cmd.extend(timers);
    prepare_commands.push(vec!["systemctl".to_string(), "daemon-reload".to_string()]);
    prepare_commands.push(cmd);

    Some(HostPlan {
        host: n.name.clone(),
        address: n.address.clone(),
        role: HostRole::Database,
        users: vec![SystemUser {
            name: pg,
            home: postgres_home(cluster),
            shell: "/bin/bash".to_string(),
        }],
        repository_setup: install.repository_setup,
        early_files: install.early_files,
        packages: install.packages,
        volumes: crate::volumes::mounts(cluster),
        directories: directories(cluster),
        files,
        prepare_commands,
        services,
        live_files,
        role_passwords: role_passwords(cluster),
    })
}

/// The files of a database host that go into its bundle, and what a change of each triggers.
/// The rest is first-boot only: the service units of Patroni and the secret resolver and
/// tmpfiles.d (they change with versions and paths, which need a new machine), the firewall
/// script (run once).
fn live_files(cluster: &Cluster, files: &[RenderedFile]) -> Vec<LiveFile> {
    let resolver = resolver_path(cluster);
    let firewall = crate::firewall::script_path(cluster);
    files
        .iter()
        .filter_map(|f| {
            let reload = match f.kind {
                FileKind::PatroniYaml => Reload::Patroni,
                FileKind::PgbackrestConf | FileKind::CronD | FileKind::EnvFile => Reload::Nothing,
                FileKind::Shell if f.path == resolver => Reload::Resolver,
                FileKind::Shell if f.path == firewall => return None,
                FileKind::Shell => Reload::Nothing,
                FileKind::SystemdUnit if f.path.ends_with("/patroni.service") => return None,
                FileKind::SystemdUnit if f.path.contains(&format!("/{RESOLVER_UNIT}.")) => {
                    return None
                }
                FileKind::SystemdUnit if f.path.ends_with(".timer") => Reload::RestartTimer,
                FileKind::SystemdUnit => Reload::DaemonReload,
                FileKind::Other | FileKind::Python => return None,
            };
            Some(LiveFile {
                path: f.path.clone(),
                reload,
            })
        })
        .collect()
}

/// The roles whose passwords the bundle carries: superuser, replication, rewind, admin.
fn role_passwords(cluster: &Cluster) -> Vec<RolePassword> {
    let p = &cluster.patroni;
    let s = &cluster.secrets;
    let mut out = vec![
        RolePassword {
            role: p.users.superuser.clone(),
            password: s.superuser_password.clone(),
        },
        RolePassword {
            role: p.users.replication.clone(),
            password: s.replication_password.clone(),
        },
    ];
    if p.use_pg_rewind {
        if let Some(r) = &s.rewind_password {
            out.push(RolePassword {
                role: p.users.rewind.clone(),
                password: r.clone(),
            });
        }
    }
    if let (Some(admin), Some(pw)) = (&p.admin_user, &s.admin_password) {
        out.push(RolePassword {
            role: admin.name.clone(),
            password: pw.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_methods_are_the_ones_in_patroni_yml() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/seed/cluster.yaml"
        ))
        .unwrap();
        let cluster = Cluster::from_yaml(&text).unwrap();
        let doc = patroni_config(&cluster, &cluster.nodes[0]);
        assert_eq!(
            doc["bootstrap"]["pgbackrest"],
            Value::Mapping(bootstrap_method(&cluster))
        );
        assert_eq!(
            doc["postgresql"]["pgbackrest"],
            Value::Mapping(replica_method(&cluster))
        );
        assert_eq!(
            replica_method(&cluster)[&Value::from("command")],
            Value::from(backrest::create_replica_command(&cluster))
        );
    }
}

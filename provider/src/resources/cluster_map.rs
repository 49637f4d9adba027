//! Mapping between Terraform values and the library's cluster model.
//!
//! The resources never check or render anything themselves: they read their attributes into
//! `pgha_config` types ([`Secret`], [`Platform`], ports, parameters), call the library, and map
//! what comes back onto Terraform values — rendered files as a list of objects, and the
//! library's diagnostics onto the attribute paths of the resource that set the value
//! ([`report`]). The checks here are only about the mapping itself (a secret given both inline
//! and as a reference, a number that does not fit a port), which the typed model cannot even
//! represent.

use std::collections::BTreeMap;

use pgha_config::diagnostic::{Location, Segment};
use pgha_config::host::RenderedFile;
use pgha_config::patroni::{Parameters, PgValue};
use pgha_config::platform::{PathOverrides, Platform, PlatformPreset};
use pgha_config::secret::Secret;
use pgha_config::{Diagnostic as Finding, ModelPath, Severity as FindingSeverity};
use tfplugin::{Attribute, AttributePath, Block, Diagnostics, NestingMode, Type, Value};

/// One step of a model path, borrowed, so rules can be written as slice patterns
/// (`[K("etcd"), K("token"), ..]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step<'a> {
    /// A field or map key.
    K(&'a str),
    /// A list position.
    I(usize),
}

/// The steps of a model path.
pub(crate) fn steps(path: &ModelPath) -> Vec<Step<'_>> {
    path.0
        .iter()
        .map(|s| match s {
            Segment::Key(k) => Step::K(k.as_str()),
            Segment::Index(i) => Step::I(*i),
        })
        .collect()
}

/// A top-level attribute path.
pub(crate) fn attr(name: &str) -> AttributePath {
    AttributePath::new(name)
}

// ---------------------------------------------------------------------------------------------
// Reading attributes. Callers only read wholly known values (rendering waits for them).

/// The string at `key`, `None` when null.
pub(crate) fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).as_str().map(str::to_string)
}

/// The string at `key`, `None` when null or empty (an empty optional means "not set").
pub(crate) fn nonempty(v: &Value, key: &str) -> Option<String> {
    string(v, key).filter(|s| !s.is_empty())
}

/// The bool at `key`, `default` when null.
pub(crate) fn flag(v: &Value, key: &str, default: bool) -> bool {
    v.get(key).as_bool().unwrap_or(default)
}

/// A list of strings at `key` (empty when null).
pub(crate) fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .as_list()
        .unwrap_or(&[])
        .iter()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}

/// A map of strings at `key` (empty when null), in key order.
pub(crate) fn string_map(v: &Value, key: &str) -> BTreeMap<String, String> {
    v.get(key)
        .as_map()
        .map(|m| {
            m.iter()
                .filter_map(|(k, e)| Some((k.clone(), e.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The whole number at `key` converted to `T`; `default` when null. A fraction or a value out of
/// `T`'s range is an error at `path` (the model could not hold it), and yields `None`.
pub(crate) fn number<T>(
    v: &Value,
    key: &str,
    path: AttributePath,
    default: T,
    diags: &mut Diagnostics,
) -> Option<T>
where
    T: TryFrom<i64> + Copy,
{
    let raw = v.get(key);
    if raw.is_null() {
        return Some(default);
    }
    match raw.as_i64().and_then(|n| T::try_from(n).ok()) {
        Some(n) => Some(n),
        None => {
            diags.error_at(
                path,
                "Number out of range",
                format!(
                    "`{key}` must be a whole number that fits the setting (ports 0–65535, \
                     counts and durations not negative); got {}.",
                    raw.as_f64().map(|n| n.to_string()).unwrap_or_default()
                ),
            );
            None
        }
    }
}

/// Like [`number`], but `None` (not set) when null.
pub(crate) fn optional_number<T>(
    v: &Value,
    key: &str,
    path: AttributePath,
    diags: &mut Diagnostics,
) -> Result<Option<T>, ()>
where
    T: TryFrom<i64> + Copy + Default,
{
    if v.get(key).is_null() {
        return Ok(None);
    }
    number(v, key, path, T::default(), diags)
        .map(Some)
        .ok_or(())
}

/// The etcd API named by the attribute `key` (`v3` when null); `None` after reporting an
/// unknown one.
pub(crate) fn etcd_api(
    v: &Value,
    key: &str,
    diags: &mut Diagnostics,
) -> Option<pgha_config::etcd::EtcdApi> {
    use pgha_config::etcd::EtcdApi;
    match nonempty(v, key).as_deref() {
        None | Some("v3") => Some(EtcdApi::V3),
        Some("v2") => Some(EtcdApi::V2),
        Some(other) => {
            diags.error_at(
                attr(key),
                "Unknown etcd API",
                format!("`{other}` is not an etcd API; use `v3` (or `v2`)."),
            );
            None
        }
    }
}

/// The duration in the string attribute `key` of `v` (`30s`, `10m`), `default` when null; an
/// unreadable one is an error at `at` and yields `default`.
pub(crate) fn duration(
    v: &Value,
    key: &str,
    at: AttributePath,
    default: std::time::Duration,
    diags: &mut Diagnostics,
) -> std::time::Duration {
    let Some(text) = nonempty(v, key) else {
        return default;
    };
    match humantime::parse_duration(&text) {
        Ok(d) => d,
        Err(e) => {
            diags.error_at(
                at,
                "Not a duration",
                format!("`{text}` is not a duration such as `30s` or `10m` ({e})."),
            );
            default
        }
    }
}

/// A PostgreSQL parameter value from its Terraform string. Terraform turns numbers and bools in
/// a `map(string)` into strings, so the type is inferred back: `true`/`false` become booleans,
/// a plain decimal integer without a leading zero becomes an integer, everything else stays text
/// (`0640`, `900s`, `5GB`, `0.9` are written as YAML strings, which PostgreSQL accepts).
pub(crate) fn pg_value(text: &str) -> PgValue {
    match text {
        "true" => return PgValue::Bool(true),
        "false" => return PgValue::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    let integer = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    match text.parse::<i64>() {
        Ok(n) if integer => PgValue::Int(n),
        _ => PgValue::Text(text.to_string()),
    }
}

/// PostgreSQL parameters from a `map(string)` attribute.
pub(crate) fn parameters(v: &Value, key: &str) -> Parameters {
    string_map(v, key)
        .into_iter()
        .map(|(k, text)| (k, pg_value(&text)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Secrets: an inline sensitive attribute, or a `<name>_ref` block resolved on the host.

/// The `<name>_ref` block: where the host finds a secret at first boot.
pub(crate) fn secret_ref_block(what: &str) -> Block {
    Block::new(format!(
        "Reference to {what}, resolved on the host at first boot so the value never enters \
         Terraform state. Give either `env_file` and `variable`, or `oci_vault_secret_id`."
    ))
    .attribute(Attribute::string("env_file").describe(
        "Absolute path of an environment file (`NAME=value` lines) that exists on the host.",
    ))
    .attribute(
        Attribute::string("variable").describe("The variable in `env_file` that holds the secret."),
    )
    .attribute(Attribute::string("oci_vault_secret_id").describe(
        "OCID of an OCI Vault secret (`ocid1.vaultsecret.…`), read with the instance principal \
         (the instance's dynamic group needs `read secret-bundles` on it).",
    ))
}

/// Adds `<name>` (sensitive string) and `<name>_ref` (block) to `block`.
pub(crate) fn with_secret(block: Block, name: &str, what: &str) -> Block {
    block
        .attribute(Attribute::string(name).sensitive().describe(format!(
            "{what}, inline: stored in Terraform state and written into the rendered files. \
             Prefer `{name}_ref`."
        )))
        .block(
            format!("{name}_ref"),
            NestingMode::Single,
            secret_ref_block(what),
        )
}

/// The secret given by `<name>` or `<name>_ref` in `parent` (at `base`, the parent block's
/// path, or `None` at the top level). `Err` after reporting a malformed reference.
pub(crate) fn secret(
    parent: &Value,
    base: Option<&AttributePath>,
    name: &str,
    diags: &mut Diagnostics,
) -> Result<Option<Secret>, ()> {
    let at = |field: &str| match base {
        Some(b) => b.clone().attribute(field),
        None => attr(field),
    };
    let ref_name = format!("{name}_ref");
    let inline = string(parent, name);
    let reference = parent.get(&ref_name);
    if reference.is_null() {
        return Ok(inline.map(Secret::Value));
    }
    if inline.is_some() {
        diags.error_at(
            at(&ref_name),
            "Secret given twice",
            format!("Give either `{name}` or `{ref_name}`, not both."),
        );
        return Err(());
    }
    let env_file = string(reference, "env_file");
    let variable = string(reference, "variable");
    let vault = string(reference, "oci_vault_secret_id");
    match (env_file, variable, vault) {
        (Some(path), Some(variable), None) => Ok(Some(Secret::EnvFile { path, variable })),
        (None, None, Some(secret_id)) => Ok(Some(Secret::OciVault { secret_id })),
        _ => {
            diags.error_at(
                at(&ref_name),
                "Incomplete secret reference",
                format!(
                    "`{ref_name}` needs either both `env_file` and `variable`, or only \
                     `oci_vault_secret_id`."
                ),
            );
            Err(())
        }
    }
}

/// Where a finding about a secret points: `<name>_ref` (under `base`) when it is a reference;
/// when it is inline, the enclosing block (`base`), or the resource as a whole at the top level
/// — never the inline attribute, whose configuration line Terraform would print with the value.
pub(crate) fn secret_path(
    base: Option<AttributePath>,
    secret: Option<&Secret>,
    name: &str,
) -> AttributePath {
    let under = |field: String| match &base {
        Some(b) => b.clone().attribute(field),
        None => attr(&field),
    };
    match secret {
        Some(s) if s.is_reference() => under(format!("{name}_ref")),
        Some(_) => base.unwrap_or_else(resource_level),
        None => under(name.to_string()),
    }
}

/// The empty path: a finding about the resource as a whole (see [`report`]).
pub(crate) fn resource_level() -> AttributePath {
    AttributePath(Vec::new())
}

// ---------------------------------------------------------------------------------------------
// Platform.

/// Path overrides a database host's `platform` block offers.
const DB_PATHS: &[(&str, &str)] = &[
    (
        "pg_bin_dir",
        "Directory with `postgres`, `pg_ctl`, `initdb`, `pg_rewind`.",
    ),
    ("pg_data_dir", "PostgreSQL data directory."),
    (
        "pg_wal_dir",
        "Separate WAL directory (a WAL block volume), passed to initdb as `--waldir`.",
    ),
    ("pg_log_dir", "PostgreSQL server log directory."),
    ("pg_socket_dir", "Unix socket directory."),
    ("patroni_config_dir", "Patroni's configuration directory."),
    (
        "patroni_bin_dir",
        "Directory with the `patroni` and `patronictl` executables.",
    ),
    ("pgbackrest_bin", "The `pgbackrest` executable."),
];

/// Path overrides an etcd host's `platform` block offers (the data directory is `data_dir`).
const ETCD_PATHS: &[(&str, &str)] = &[("etcd_bin", "The `etcd` executable.")];

/// Which host a platform block describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostKind {
    /// An etcd member.
    Etcd,
    /// The database host's layout, as the stanza (whose commands run there) needs it.
    Database,
    /// A database host itself (`pgha_patroni_node`): the layout plus where and how often its
    /// reconcile unit reads the host bundle.
    DatabaseNode,
}

impl HostKind {
    fn paths(self) -> &'static [(&'static str, &'static str)] {
        match self {
            HostKind::Etcd => ETCD_PATHS,
            HostKind::Database | HostKind::DatabaseNode => DB_PATHS,
        }
    }
}

/// The `platform` block.
pub(crate) fn platform_block(kind: HostKind) -> Block {
    let mut b = Block::new(
        "The host's operating-system layout: a preset plus path overrides. Changing it \
         replaces the resource (cloud-init only runs at an instance's first boot).",
    )
    .attribute(Attribute::string("preset").describe(
        "`oracle-linux-9` (default; OCI's Oracle Linux images with PGDG packages), \
         `oracle-linux-8`, `debian`, or `tutorial` (PostgreSQL in `/opt/pgsql`).",
    ))
    .attribute(Attribute::string("root").describe(
        "Prefix for every path the cluster writes (not for installed binaries); for several \
         hosts on one machine in tests. Leave unset on real hosts.",
    ));
    for (name, text) in kind.paths() {
        b = b.attribute(Attribute::string(*name).describe(*text));
    }
    if kind == HostKind::DatabaseNode {
        b = b
            .attribute(Attribute::string("metadata_url").describe(format!(
                "Where the host's reconcile unit reads its bundle. Default: OCI's instance \
                 metadata service (`{}`); `{{host}}` stands for the node's name.",
                pgha_config::reconcile::OCI_METADATA_URL
            )))
            .attribute(Attribute::number("reconcile_interval_seconds").describe(
                "How often the reconcile unit checks the bundle, 5 to 86400. Default `60`.",
            ));
    }
    b
}

/// The platform from the `platform` block (defaults when absent).
pub(crate) fn platform(v: &Value, kind: HostKind, diags: &mut Diagnostics) -> Option<Platform> {
    let p = v.get("platform");
    let mut out = Platform::default();
    if p.is_null() {
        return Some(out);
    }
    if let Some(preset) = nonempty(p, "preset") {
        match serde_json::from_value::<PlatformPreset>(serde_json::Value::String(preset.clone())) {
            Ok(preset) => out.preset = preset,
            Err(_) => {
                diags.error_at(
                    attr("platform").attribute("preset"),
                    "Unknown platform preset",
                    format!(
                        "`{preset}` is not a preset; use `oracle-linux-9`, `oracle-linux-8`, \
                         `debian` or `tutorial`."
                    ),
                );
                return None;
            }
        }
    }
    out.root = nonempty(p, "root");
    let o = &mut out.paths;
    let get = |k: &str| -> Option<String> {
        if kind.paths().iter().any(|(n, _)| *n == k) {
            nonempty(p, k)
        } else {
            None
        }
    };
    *o = PathOverrides {
        pg_bin_dir: get("pg_bin_dir"),
        pg_data_dir: get("pg_data_dir"),
        pg_wal_dir: get("pg_wal_dir"),
        pg_log_dir: get("pg_log_dir"),
        pg_socket_dir: get("pg_socket_dir"),
        patroni_config_dir: get("patroni_config_dir"),
        patroni_bin_dir: get("patroni_bin_dir"),
        pgbackrest_bin: get("pgbackrest_bin"),
        etcd_bin: get("etcd_bin"),
        etcd_data_dir: None,
    };
    if kind == HostKind::DatabaseNode {
        out.metadata_url = nonempty(p, "metadata_url");
        out.reconcile_interval_seconds = optional_number::<u32>(
            p,
            "reconcile_interval_seconds",
            attr("platform").attribute("reconcile_interval_seconds"),
            diags,
        )
        .ok()?;
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Rendered files.

/// The type of a `files` output: `list(object({path, content, mode, owner, group}))`.
pub(crate) fn files_type() -> Type {
    Type::list(Type::object([
        ("path", Type::String),
        ("content", Type::String),
        ("mode", Type::String),
        ("owner", Type::String),
        ("group", Type::String),
    ]))
}

/// Rendered files as a `files` value, in the library's order.
pub(crate) fn files_value<'a>(files: impl IntoIterator<Item = &'a RenderedFile>) -> Value {
    Value::List(
        files
            .into_iter()
            .map(|f| {
                Value::object([
                    ("path", Value::from(f.path.as_str())),
                    ("content", Value::from(f.content.as_str())),
                    ("mode", Value::from(f.mode_string())),
                    ("owner", Value::from(f.owner.as_str())),
                    ("group", Value::from(f.group.as_str())),
                ])
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Diagnostics.

/// Reports the library's findings at the attribute paths `map` gives (the empty path: the
/// resource as a whole). Findings `map` cannot
/// place concern a part of the model this resource does not set (the neutral companions a
/// resource fills in so the whole-cluster validation can run) and are left out; so are
/// informational ones. Inline secret values (`secrets`) are never repeated in a message.
/// Returns whether an error was reported.
pub(crate) fn report(
    diags: &mut Diagnostics,
    findings: &[Finding],
    map: impl Fn(&ModelPath) -> Option<AttributePath>,
    secrets: &[String],
) -> bool {
    let mut failed = false;
    for f in findings {
        let Location::Model(model_path) = &f.location else {
            continue;
        };
        let severity = match f.severity {
            FindingSeverity::Error => tfplugin::Severity::Error,
            FindingSeverity::Warning => tfplugin::Severity::Warning,
            FindingSeverity::Info => continue,
        };
        let Some(path) = map(model_path) else {
            tracing::debug!(code = f.code, path = %model_path, "finding outside this resource");
            continue;
        };
        let redact = |text: &str| {
            secrets
                .iter()
                .filter(|s| !s.is_empty())
                .fold(text.to_string(), |t, s| {
                    t.replace(s.as_str(), "(sensitive value)")
                })
        };
        let mut detail = redact(&f.message);
        if let Some(hint) = &f.hint {
            detail.push_str("\n\n");
            detail.push_str(&redact(hint));
        }
        detail.push_str(&format!("\n\n(pgha {} at {model_path})", f.code));
        let attribute = (!path.0.is_empty()).then_some(path);
        failed |= severity == tfplugin::Severity::Error;
        diags.push(
            severity,
            format!("{}: {}", f.code, first_sentence(&redact(&f.message))),
            detail,
            attribute,
        );
    }
    failed
}

/// The message up to its first sentence end, for the one-line summary.
fn first_sentence(message: &str) -> String {
    match message.find(". ") {
        Some(i) => message[..=i].to_string(),
        None => message.to_string(),
    }
}

/// Every inline secret value in `secrets`, for redaction.
pub(crate) fn inline_values(secrets: &pgha_config::secret::Secrets) -> Vec<String> {
    let mut all: Vec<Option<&Secret>> = vec![
        Some(&secrets.superuser_password),
        Some(&secrets.replication_password),
        secrets.rewind_password.as_ref(),
        secrets.admin_password.as_ref(),
        secrets.restapi.as_ref().map(|r| &r.password),
        secrets.s3_key.as_ref(),
        secrets.s3_key_secret.as_ref(),
        secrets.repo_cipher_pass.as_ref(),
    ];
    all.retain(Option::is_some);
    all.into_iter()
        .flatten()
        .filter_map(|s| s.inline().map(str::to_string))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Neutral companions: the parts of a cluster a resource does not describe, filled in so the
// library's whole-cluster validation and renderers can run. They are chosen to raise no
// finding of their own; whatever they still raise falls outside the resource's paths.

/// Whether the library treats `address` as loopback (its rule C010 compares tiers).
fn is_loopback(address: &str) -> bool {
    address.eq_ignore_ascii_case("localhost")
        || address
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An address for a stand-in host next to `beside`: on loopback when `beside` is (so the
/// cross-tier loopback rule stays quiet), otherwise a reserved `.invalid` host name.
pub(crate) fn companion_address(beside: &str) -> String {
    if is_loopback(beside) {
        "127.255.255.254".to_string()
    } else {
        "pgha-companion.invalid".to_string()
    }
}

/// A vault reference that satisfies the secret rules, for secrets a resource does not own.
pub(crate) fn companion_secret(role: &str) -> Secret {
    Secret::OciVault {
        secret_id: format!("ocid1.vaultsecret.oc1.iad.pghacompanion{role}"),
    }
}

/// Secrets for the roles a resource does not own.
pub(crate) fn companion_secrets() -> pgha_config::secret::Secrets {
    pgha_config::secret::Secrets {
        superuser_password: companion_secret("superuser"),
        replication_password: companion_secret("replication"),
        rewind_password: Some(companion_secret("rewind")),
        admin_password: None,
        restapi: Some(pgha_config::secret::RestApiAuth {
            username: "patroni".to_string(),
            password: companion_secret("restapi"),
        }),
        s3_key: None,
        s3_key_secret: None,
        repo_cipher_pass: None,
    }
}

// ---------------------------------------------------------------------------------------------
// JSON (import IDs, stored state) to values, guided by the schema.

/// Converts a JSON object into a value of `block`'s shape. Missing attributes are null.
/// `strict` rejects keys the schema does not have (an import ID with a typo); stored state of an
/// older schema is read leniently.
pub(crate) fn from_json(
    block: &Block,
    json: &serde_json::Value,
    strict: bool,
) -> Result<Value, String> {
    let Some(obj) = json.as_object() else {
        return Err("expected a JSON object".to_string());
    };
    if strict {
        for key in obj.keys() {
            let known = block.attributes.iter().any(|a| &a.name == key)
                || block.blocks.iter().any(|b| &b.type_name == key);
            if !known {
                return Err(format!("`{key}` is not an argument of this resource"));
            }
        }
    }
    let mut out = BTreeMap::new();
    for a in &block.attributes {
        let v = obj.get(&a.name).unwrap_or(&serde_json::Value::Null);
        let converted = typed(&a.ty, v).map_err(|e| format!("`{}`: {e}", a.name))?;
        out.insert(a.name.clone(), converted);
    }
    for b in &block.blocks {
        let v = obj.get(&b.type_name).unwrap_or(&serde_json::Value::Null);
        let converted = match (b.nesting, v) {
            (_, serde_json::Value::Null) => match b.nesting {
                NestingMode::List | NestingMode::Set => Value::List(Vec::new()),
                _ => Value::Null,
            },
            (NestingMode::List | NestingMode::Set, serde_json::Value::Array(items)) => Value::List(
                items
                    .iter()
                    .map(|i| from_json(&b.block, i, strict))
                    .collect::<Result<_, _>>()?,
            ),
            (NestingMode::Single | NestingMode::Group, serde_json::Value::Array(items)) => {
                match items.as_slice() {
                    [] => Value::Null,
                    [one] => from_json(&b.block, one, strict)?,
                    _ => return Err(format!("`{}` takes one block", b.type_name)),
                }
            }
            (_, v) => {
                from_json(&b.block, v, strict).map_err(|e| format!("`{}`: {e}", b.type_name))?
            }
        };
        out.insert(b.type_name.clone(), converted);
    }
    Ok(Value::Map(out))
}

fn typed(ty: &Type, v: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    Ok(match (ty, v) {
        (_, J::Null) => Value::Null,
        (Type::String, J::String(s)) => Value::String(s.clone()),
        (Type::String, J::Number(n)) => Value::String(n.to_string()),
        (Type::String, J::Bool(b)) => Value::String(b.to_string()),
        (Type::Number, J::Number(n)) => Value::Number(n.as_f64().unwrap_or_default()),
        (Type::Bool, J::Bool(b)) => Value::Bool(*b),
        (Type::List(t) | Type::Set(t), J::Array(items)) => Value::List(
            items
                .iter()
                .map(|i| typed(t, i))
                .collect::<Result<_, _>>()?,
        ),
        (Type::Map(t), J::Object(m)) => Value::Map(
            m.iter()
                .map(|(k, i)| Ok((k.clone(), typed(t, i)?)))
                .collect::<Result<_, String>>()?,
        ),
        (Type::Object(fields), J::Object(m)) => Value::Map(
            fields
                .iter()
                .map(|(k, t)| Ok((k.clone(), typed(t, m.get(k).unwrap_or(&J::Null))?)))
                .collect::<Result<_, String>>()?,
        ),
        (Type::Dynamic, other) => dynamic(other),
        (ty, other) => return Err(format!("expected {ty:?}, got {other}")),
    })
}

fn dynamic(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => Value::Number(n.as_f64().unwrap_or_default()),
        J::String(s) => Value::String(s.clone()),
        J::Array(a) => Value::List(a.iter().map(dynamic).collect()),
        J::Object(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), dynamic(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_values_get_their_yaml_type_back() {
        assert_eq!(pg_value("true"), PgValue::Bool(true));
        assert_eq!(pg_value("2000"), PgValue::Int(2000));
        assert_eq!(pg_value("-1"), PgValue::Int(-1));
        assert_eq!(pg_value("0"), PgValue::Int(0));
        assert_eq!(pg_value("0640"), PgValue::Text("0640".into()));
        assert_eq!(pg_value("900s"), PgValue::Text("900s".into()));
        assert_eq!(pg_value("on"), PgValue::Text("on".into()));
        assert_eq!(pg_value("0.9"), PgValue::Text("0.9".into()));
        assert_eq!(
            pg_value("99999999999999999999"),
            PgValue::Text("99999999999999999999".into())
        );
    }

    #[test]
    fn secrets_inline_or_by_reference_but_not_both() {
        let mut diags = Diagnostics::default();
        let v = Value::object([("pw", Value::from("x"))]);
        assert_eq!(
            secret(&v, None, "pw", &mut diags),
            Ok(Some(Secret::Value("x".into())))
        );
        let r = Value::object([(
            "pw_ref",
            Value::object([("oci_vault_secret_id", Value::from("ocid1.vaultsecret.a"))]),
        )]);
        assert_eq!(
            secret(&r, None, "pw", &mut diags),
            Ok(Some(Secret::OciVault {
                secret_id: "ocid1.vaultsecret.a".into()
            }))
        );
        assert!(!diags.has_errors());
        let both = Value::object([
            ("pw", Value::from("x")),
            ("pw_ref", Value::object([("env_file", Value::from("/a"))])),
        ]);
        assert!(secret(&both, None, "pw", &mut diags).is_err());
        let half = Value::object([("pw_ref", Value::object([("env_file", Value::from("/a"))]))]);
        let base = attr("s3");
        assert!(secret(&half, Some(&base), "pw", &mut diags).is_err());
        assert_eq!(diags.0.len(), 2);
        assert_eq!(diags.0[1].attribute, Some(attr("s3").attribute("pw_ref")));
    }

    #[test]
    fn numbers_that_do_not_fit_are_errors_at_the_attribute() {
        let mut diags = Diagnostics::default();
        let v = Value::object([("port", Value::Number(70000.0))]);
        assert_eq!(number::<u16>(&v, "port", attr("port"), 1, &mut diags), None);
        assert_eq!(diags.0[0].attribute, Some(attr("port")));
        let v = Value::object([("port", Value::Null)]);
        assert_eq!(
            number::<u16>(&v, "port", attr("port"), 7, &mut diags),
            Some(7)
        );
    }

    #[test]
    fn json_follows_the_schema_and_strict_mode_rejects_typos() {
        let block = Block::new("t")
            .attribute(Attribute::string("name"))
            .attribute(Attribute::new("m", Type::map(Type::String)))
            .block(
                "inner",
                NestingMode::Single,
                Block::new("i").attribute(Attribute::number("n")),
            );
        let j = serde_json::json!({"name": "a", "m": {"k": "v"}, "inner": {"n": 3}});
        let v = from_json(&block, &j, true).unwrap();
        assert_eq!(v.get("inner").get("n").as_i64(), Some(3));
        assert_eq!(v.get("m").get("k").as_str(), Some("v"));
        let typo = serde_json::json!({"nmae": "a"});
        assert!(from_json(&block, &typo, true).is_err());
        assert!(from_json(&block, &typo, false).is_ok());
    }

    #[test]
    fn report_places_findings_redacts_secrets_and_says_whether_one_was_an_error() {
        let map = |p: &ModelPath| match p.to_string().as_str() {
            "etcd" => Some(attr("etcd")),
            "" => Some(AttributePath::default()),
            _ => None,
        };
        let warning = Finding::warning("W1", ModelPath::parse("etcd"), "Uses hunter2. More.");
        let elsewhere = Finding::error("E1", ModelPath::parse("nodes.a"), "Not ours.");
        let mut diags = Diagnostics::default();
        let secrets = ["hunter2".to_string(), String::new()];
        assert!(!report(&mut diags, &[warning, elsewhere], map, &secrets));
        assert_eq!(diags.0.len(), 1, "{diags:?}");
        assert_eq!(diags.0[0].summary, "W1: Uses (sensitive value).");
        assert_eq!(diags.0[0].attribute, Some(attr("etcd")));
        assert!(!diags.0[0].detail.contains("hunter2"));

        let error = Finding::error("E2", ModelPath::root(), "Whole resource.");
        assert!(report(&mut diags, &[error], map, &[]));
        assert_eq!(diags.0[1].attribute, None, "the root path is the resource");
    }

    #[test]
    fn companions_stay_on_loopback_beside_loopback() {
        assert_eq!(companion_address("127.0.0.11"), "127.255.255.254");
        assert_eq!(companion_address("localhost"), "127.255.255.254");
        assert_eq!(companion_address("10.0.0.5"), "pgha-companion.invalid");
    }
}

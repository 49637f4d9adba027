//! patroni.yml: YAML syntax (through the YAML parser, for the verdict and the first error's
//! position), then the document's outline (see `yaml`) mapped onto the structure Patroni reads.
//!
//! Patroni validates little and ignores much: a key in the wrong section is silently dropped,
//! settings it reads only from the DCS are ignored in the local file, and some PostgreSQL
//! parameters are ignored unless they come from the DCS. The tables below say, section by section,
//! which keys Patroni 3.x/4.x reads (from its YAML configuration reference, its dynamic
//! configuration reference and its configuration loader).

use super::text::{scan_pgbackrest, scan_placeholders};
use super::yaml::{self, NodeKind, Outline, Scalar};
use super::{Rule, Sink};
use crate::diagnostic::Severity;
use crate::patroni::validate::{CmdlineCheck, CMDLINE_OPTIONS};
use crate::pg_hba::{AddressField, AuthMethod};

/// The file is not valid YAML.
pub const L101: Rule = Rule {
    code: "L101",
    severity: Severity::Error,
    summary: "the file is not valid YAML; Patroni cannot load it",
    hint: "fix the YAML syntax at this position (the other findings explain likely causes)",
};

/// An unknown top-level key.
pub const L110: Rule = Rule {
    code: "L110",
    severity: Severity::Error,
    summary: "an unknown top-level key; Patroni ignores it",
    hint: "check the spelling and the indentation",
};

/// A known key in a section where Patroni does not read it.
pub const L111: Rule = Rule {
    code: "L111",
    severity: Severity::Error,
    summary: "a Patroni key is placed in a section where Patroni does not read it, so it is \
              silently ignored",
    hint: "move the key (fix its indentation) into the section named in the message",
};

/// An unknown key inside a known section.
pub const L112: Rule = Rule {
    code: "L112",
    severity: Severity::Warning,
    summary: "a key Patroni does not know in this section; it is ignored",
    hint: "check the spelling against Patroni's YAML configuration reference",
};

/// A setting Patroni reads only from the DCS is set in the local configuration.
pub const L113: Rule = Rule {
    code: "L113",
    severity: Severity::Error,
    summary: "a setting that Patroni reads only from the DCS is set in the local configuration, \
              where it is ignored",
    hint: "set it under bootstrap.dcs (first start) or with `patronictl edit-config`",
};

/// A PostgreSQL parameter that Patroni ignores where it is set.
pub const L114: Rule = Rule {
    code: "L114",
    severity: Severity::Error,
    summary: "a PostgreSQL parameter that Patroni ignores where it is set",
    hint: "set it under bootstrap.dcs.postgresql.parameters (or with `patronictl edit-config`)",
};

/// `bootstrap.pg_hba` is deprecated.
pub const L115: Rule = Rule {
    code: "L115",
    severity: Severity::Warning,
    summary: "`bootstrap.pg_hba` is deprecated; its lines are only appended once at initdb",
    hint: "move the lines to `postgresql.pg_hba` (or bootstrap.dcs.postgresql.pg_hba)",
};

/// `bootstrap.users` was removed in Patroni 4.
pub const L116: Rule = Rule {
    code: "L116",
    severity: Severity::Error,
    summary: "`bootstrap.users` was removed in Patroni 4.0; the users are not created",
    hint: "create users in a `bootstrap.post_bootstrap` script",
};

/// A required key is missing.
pub const L117: Rule = Rule {
    code: "L117",
    severity: Severity::Error,
    summary: "a key Patroni requires is missing",
    hint: "add the key; Patroni refuses to start without it",
};

/// A boolean setting that is not a YAML boolean.
pub const L118: Rule = Rule {
    code: "L118",
    severity: Severity::Error,
    summary: "a boolean setting is a string (quoted or not a YAML boolean), which Python treats \
              as true whatever it says",
    hint: "write an unquoted `true` or `false`",
};

/// An invalid `%` escape in a PostgreSQL command setting.
pub const L119: Rule = Rule {
    code: "L119",
    severity: Severity::Error,
    summary: "an invalid `%` escape in archive_command, restore_command or a related setting",
    hint: "archive_command takes %p %f; restore_command %f %p %r; archive_cleanup_command and \
           recovery_end_command %r; write %% for a literal percent sign",
};

/// A weak or default password.
pub const L121: Rule = Rule {
    code: "L121",
    severity: Severity::Warning,
    summary: "a weak or default password",
    hint: "use a long random password, or leave it out of the file and set it through the \
           PATRONI_* environment variables",
};

/// A pg_hba line PostgreSQL cannot parse.
pub const L122: Rule = Rule {
    code: "L122",
    severity: Severity::Error,
    summary: "a pg_hba line PostgreSQL rejects (bad type, address or method); PostgreSQL will not \
              load pg_hba.conf",
    hint: "write `host <database> <user> <address/prefix> <method>` with a real address",
};

/// md5 in pg_hba while passwords are encrypted with SCRAM.
pub const L123: Rule = Rule {
    code: "L123",
    severity: Severity::Warning,
    summary: "pg_hba uses md5 while password_encryption is scram-sha-256",
    hint: "use scram-sha-256 in pg_hba to match password_encryption (md5 entries silently \
           use SCRAM for SCRAM-hashed passwords, which hides the intent)",
};

/// A bootstrap or replica method with no section, or without a command.
pub const L124: Rule = Rule {
    code: "L124",
    severity: Severity::Error,
    summary: "a custom bootstrap or replica-creation method has no section with a `command`",
    hint: "add the method's section with a `command`, next to the setting that names the method",
};

#[derive(Clone, Copy)]
enum Spec {
    /// A value; its children are not checked.
    Leaf,
    /// A boolean.
    Bool,
    /// A mapping with these keys and no others.
    Map(&'static [(&'static str, Spec)]),
    /// A mapping where these keys are typed and any other key is allowed (tags).
    Extensible(&'static [(&'static str, Spec)]),
    /// PostgreSQL parameters; `true` in the local section.
    Params(bool),
    /// A list of pg_hba lines.
    Hba,
}

use Spec::*;

const USERPASS: &[(&str, Spec)] = &[("username", Leaf), ("password", Leaf)];
const PG_USER: &[(&str, Spec)] = &[
    ("username", Leaf),
    ("password", Leaf),
    ("sslmode", Leaf),
    ("sslkey", Leaf),
    ("sslpassword", Leaf),
    ("sslcert", Leaf),
    ("sslrootcert", Leaf),
    ("sslcrl", Leaf),
    ("sslcrldir", Leaf),
    ("gssencmode", Leaf),
    ("channel_binding", Leaf),
    ("sslnegotiation", Leaf),
];
const PG_AUTH: &[(&str, Spec)] = &[
    ("superuser", Map(PG_USER)),
    ("replication", Map(PG_USER)),
    ("rewind", Map(PG_USER)),
];
const CALLBACKS: &[(&str, Spec)] = &[
    ("on_reload", Leaf),
    ("on_restart", Leaf),
    ("on_role_change", Leaf),
    ("on_start", Leaf),
    ("on_stop", Leaf),
];
const LOG: &[(&str, Spec)] = &[
    ("type", Leaf),
    ("level", Leaf),
    ("traceback_level", Leaf),
    ("format", Leaf),
    ("dateformat", Leaf),
    ("static_fields", Leaf),
    ("max_queue_size", Leaf),
    ("dir", Leaf),
    ("file_num", Leaf),
    ("file_size", Leaf),
    ("mode", Leaf),
    ("loggers", Leaf),
    ("deduplicate_heartbeat_logs", Bool),
];
const CTL: &[(&str, Spec)] = &[
    ("insecure", Bool),
    ("cacert", Leaf),
    ("certfile", Leaf),
    ("keyfile", Leaf),
    ("keyfile_password", Leaf),
    ("authentication", Map(USERPASS)),
];
const RESTAPI: &[(&str, Spec)] = &[
    ("listen", Leaf),
    ("connect_address", Leaf),
    ("authentication", Map(USERPASS)),
    ("certfile", Leaf),
    ("keyfile", Leaf),
    ("keyfile_password", Leaf),
    ("cafile", Leaf),
    ("ciphers", Leaf),
    ("verify_client", Leaf),
    ("allowlist", Leaf),
    ("allowlist_include_members", Bool),
    ("http_extra_headers", Leaf),
    ("https_extra_headers", Leaf),
    ("request_queue_size", Leaf),
    ("server_tokens", Leaf),
    ("thread_pool_size", Leaf),
];
const ETCD: &[(&str, Spec)] = &[
    ("host", Leaf),
    ("hosts", Leaf),
    ("use_proxies", Bool),
    ("url", Leaf),
    ("proxy", Leaf),
    ("srv", Leaf),
    ("srv_suffix", Leaf),
    ("protocol", Leaf),
    ("username", Leaf),
    ("password", Leaf),
    ("cacert", Leaf),
    ("cert", Leaf),
    ("key", Leaf),
];
const WATCHDOG: &[(&str, Spec)] = &[("mode", Leaf), ("device", Leaf), ("safety_margin", Leaf)];
const TAGS: &[(&str, Spec)] = &[
    ("nofailover", Bool),
    ("failover_priority", Leaf),
    ("clonefrom", Bool),
    ("noloadbalance", Bool),
    ("replicatefrom", Leaf),
    ("nosync", Bool),
    ("sync_priority", Leaf),
    ("nostream", Bool),
];
const CITUS: &[(&str, Spec)] = &[("database", Leaf), ("group", Leaf)];
const STANDBY: &[(&str, Spec)] = &[
    ("host", Leaf),
    ("port", Leaf),
    ("primary_slot_name", Leaf),
    ("create_replica_methods", Leaf),
    ("restore_command", Leaf),
    ("archive_cleanup_command", Leaf),
    ("recovery_min_apply_delay", Leaf),
];
const DCS_PG: &[(&str, Spec)] = &[
    ("use_pg_rewind", Bool),
    ("use_slots", Bool),
    ("parameters", Params(false)),
    ("pg_hba", Hba),
    ("pg_ident", Leaf),
    ("recovery_conf", Leaf),
    ("pg_ctl_timeout", Leaf),
    ("remove_data_directory_on_rewind_failure", Bool),
    ("remove_data_directory_on_diverged_timelines", Bool),
];
const DCS: &[(&str, Spec)] = &[
    ("loop_wait", Leaf),
    ("ttl", Leaf),
    ("retry_timeout", Leaf),
    ("maximum_lag_on_failover", Leaf),
    ("maximum_lag_on_syncnode", Leaf),
    ("max_timelines_history", Leaf),
    ("primary_start_timeout", Leaf),
    ("primary_stop_timeout", Leaf),
    ("master_start_timeout", Leaf),
    ("master_stop_timeout", Leaf),
    ("synchronous_mode", Leaf),
    ("synchronous_mode_strict", Bool),
    ("synchronous_node_count", Leaf),
    ("failsafe_mode", Bool),
    ("check_timeline", Bool),
    ("postgresql", Map(DCS_PG)),
    ("standby_cluster", Map(STANDBY)),
    ("slots", Leaf),
    ("ignore_slots", Leaf),
    ("member_slots_ttl", Leaf),
    ("permanent_slots", Leaf),
    ("permanent_replication_slots", Leaf),
];
const BOOTSTRAP: &[(&str, Spec)] = &[
    ("dcs", Map(DCS)),
    ("method", Leaf),
    ("initdb", Leaf),
    ("post_bootstrap", Leaf),
    ("post_init", Leaf),
];
const POSTGRESQL: &[(&str, Spec)] = &[
    ("listen", Leaf),
    ("connect_address", Leaf),
    ("proxy_address", Leaf),
    ("authentication", Map(PG_AUTH)),
    ("callbacks", Map(CALLBACKS)),
    ("create_replica_methods", Leaf),
    ("data_dir", Leaf),
    ("config_dir", Leaf),
    ("bin_dir", Leaf),
    ("bin_name", Leaf),
    ("use_unix_socket", Bool),
    ("use_unix_socket_repl", Bool),
    ("pgpass", Leaf),
    ("recovery_conf", Leaf),
    ("custom_conf", Leaf),
    ("parameters", Params(true)),
    ("pg_hba", Hba),
    ("pg_ident", Leaf),
    ("pg_ctl_timeout", Leaf),
    ("use_pg_rewind", Bool),
    ("remove_data_directory_on_rewind_failure", Bool),
    ("remove_data_directory_on_diverged_timelines", Bool),
    ("basebackup", Leaf),
    ("pre_promote", Leaf),
    ("before_stop", Leaf),
];
const TOP: &[(&str, Spec)] = &[
    ("name", Leaf),
    ("scope", Leaf),
    ("namespace", Leaf),
    ("log", Map(LOG)),
    ("bootstrap", Map(BOOTSTRAP)),
    ("citus", Map(CITUS)),
    ("consul", Leaf),
    ("etcd", Map(ETCD)),
    ("etcd3", Map(ETCD)),
    ("exhibitor", Leaf),
    ("kubernetes", Leaf),
    ("raft", Leaf),
    ("zookeeper", Leaf),
    ("postgresql", Map(POSTGRESQL)),
    ("restapi", Map(RESTAPI)),
    ("ctl", Map(CTL)),
    ("watchdog", Map(WATCHDOG)),
    ("tags", Extensible(TAGS)),
    ("thread_pool_size", Leaf),
];

/// Settings Patroni takes only from the DCS (the dynamic configuration).
const DCS_ONLY: &[&str] = &[
    "loop_wait",
    "ttl",
    "retry_timeout",
    "maximum_lag_on_failover",
    "maximum_lag_on_syncnode",
    "max_timelines_history",
    "primary_start_timeout",
    "primary_stop_timeout",
    "master_start_timeout",
    "master_stop_timeout",
    "synchronous_mode",
    "synchronous_mode_strict",
    "synchronous_node_count",
    "failsafe_mode",
    "check_timeline",
    "standby_cluster",
    "slots",
    "ignore_slots",
    "member_slots_ttl",
    "permanent_slots",
];

/// Settings of the `postgresql` section that are local only: Patroni drops them from the DCS.
const LOCAL_ONLY_PG: &[&str] = &[
    "connect_address",
    "proxy_address",
    "listen",
    "config_dir",
    "data_dir",
    "pgpass",
    "authentication",
];

/// Top-level keys of which one names the DCS.
const DCS_SECTIONS: &[&str] = &[
    "etcd",
    "etcd3",
    "consul",
    "zookeeper",
    "kubernetes",
    "raft",
    "exhibitor",
];

/// Every path (dotted) where a key named `key` is valid, in table order.
fn known_paths(key: &str) -> Vec<String> {
    fn walk(spec: &[(&str, Spec)], prefix: &str, key: &str, out: &mut Vec<String>) {
        for (k, s) in spec {
            let here = if prefix.is_empty() {
                (*k).to_string()
            } else {
                format!("{prefix}.{k}")
            };
            if *k == key {
                out.push(here.clone());
            }
            if let Map(c) | Extensible(c) = s {
                walk(c, &here, key, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(TOP, "", key, &mut out);
    out
}

/// The spec at a dotted path, when the path is in the tables.
fn spec_at(path: &str) -> Option<Spec> {
    let mut spec = Map(TOP);
    for part in path.split('.') {
        let (Map(c) | Extensible(c)) = spec else {
            return None;
        };
        spec = c.iter().find(|(k, _)| *k == part)?.1;
    }
    Some(spec)
}

/// Among the places where a key is valid, the best guess for `node` found at `at`: the place
/// whose section accepts most of the node's own keys, then one outside standby_cluster unless
/// already there, then the one sharing most of the path, then the first in table order.
fn best_place(o: &Outline, node: usize, candidates: &[String], at: &[String]) -> Option<String> {
    let in_standby = at.iter().any(|p| p == "standby_cluster");
    let child_keys: Vec<&str> = o
        .children(Some(node))
        .iter()
        .filter_map(|&c| node_key(o, c))
        .collect();
    let mut best: Option<(&String, (usize, bool, usize))> = None;
    for c in candidates {
        let parts: Vec<&str> = c.split('.').collect();
        let shared = parts
            .iter()
            .zip(at.iter())
            .take_while(|(a, b)| **a == b.as_str())
            .count();
        let fits = match spec_at(c) {
            Some(Map(cs)) | Some(Extensible(cs)) => child_keys
                .iter()
                .filter(|k| cs.iter().any(|(n, _)| n == *k))
                .count(),
            _ => 0,
        };
        let standby_ok = in_standby || !c.contains("standby_cluster");
        let score = (fits, standby_ok, shared);
        if best.as_ref().is_none_or(|(_, s)| score > *s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c.clone())
}

/// Facts collected while walking, for checks that need the whole document.
struct Facts {
    bootstrap_method: Option<String>,
    replica_methods: Vec<String>,
    password_encryption: Option<String>,
}

/// Lints a patroni.yml.
pub(crate) fn lint(content: &str, sink: &mut Sink) {
    check_syntax(content, sink);
    let o = yaml::outline(content, sink);
    let facts = collect_facts(&o);
    if let Some(scope) = o
        .get(&["scope"])
        .and_then(|n| o.nodes.get(n)?.value.as_ref())
    {
        sink.scope = Some(scope.text.clone());
    }
    walk_map(&o, sink, None, TOP, &[], &facts);
    check_required(&o, sink);
    check_methods(&o, sink, &facts);
    check_values(&o, sink, &facts);
}

/// The YAML parser's verdict: the first syntax error with its position, or more than one
/// document (Patroni loads exactly one).
fn check_syntax(content: &str, sink: &mut Sink) {
    use serde::Deserialize;
    let mut docs = 0;
    for doc in serde_norway::Deserializer::from_str(content) {
        docs += 1;
        if let Err(e) = serde::de::IgnoredAny::deserialize(doc) {
            let (line, col) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((0, 0));
            let msg = e.to_string();
            let msg = match msg.find(" at line ") {
                Some(i) => msg[..i].to_string(),
                None => msg,
            };
            sink.emit(&L101, line, col, format!("YAML syntax error: {msg}"));
            return;
        }
        if docs > 1 {
            sink.emit(&L101, 0, 0, "the file holds more than one YAML document");
            return;
        }
    }
}

fn collect_facts(o: &Outline) -> Facts {
    let value_of = |n: usize| o.nodes.get(n).and_then(|n| n.value.as_ref());
    let find_key = |key: &str| -> Vec<usize> {
        (0..o.nodes.len())
            .filter(|&i| o.nodes.get(i).and_then(|n| n.key()) == Some(key))
            .collect()
    };
    let bootstrap_method = o
        .get(&["bootstrap", "method"])
        .and_then(value_of)
        .map(|s| s.text.clone());
    let replica_methods = find_key("create_replica_methods")
        .into_iter()
        .flat_map(|n| {
            let mut v: Vec<String> = o.items(n).iter().map(|s| s.text.clone()).collect();
            if let Some(s) = value_of(n) {
                v.extend(
                    s.text
                        .trim_matches(|c| c == '[' || c == ']')
                        .split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty()),
                );
            }
            v
        })
        .collect();
    let password_encryption = find_key("password_encryption")
        .into_iter()
        .find_map(value_of)
        .map(|s| s.text.to_ascii_lowercase());
    Facts {
        bootstrap_method,
        replica_methods,
        password_encryption,
    }
}

fn node_key(o: &Outline, n: usize) -> Option<&str> {
    o.nodes.get(n).and_then(|n| n.key())
}

fn is_empty_section(o: &Outline, n: usize) -> bool {
    o.nodes
        .get(n)
        .is_some_and(|x| x.value.is_none() && x.children.is_empty())
}

fn walk_map(
    o: &Outline,
    sink: &mut Sink,
    parent: Option<usize>,
    spec: &'static [(&'static str, Spec)],
    path: &[String],
    facts: &Facts,
) {
    let extensible = false;
    walk_entries(o, sink, parent, spec, path, facts, extensible);
}

fn walk_entries(
    o: &Outline,
    sink: &mut Sink,
    parent: Option<usize>,
    spec: &'static [(&'static str, Spec)],
    path: &[String],
    facts: &Facts,
    extensible: bool,
) {
    let children: Vec<usize> = o.children(parent).to_vec();
    for (pos, &c) in children.iter().enumerate() {
        let Some(node) = o.nodes.get(c) else { continue };
        let Some(key) = node.key() else { continue };
        let (line, col) = (node.line, node.col);
        let mut here = path.to_vec();
        here.push(key.to_string());
        let dotted_parent = path.join(".");
        if let Some((_, s)) = spec.iter().find(|(k, _)| *k == key) {
            check_spec(o, sink, c, *s, &here, facts);
            continue;
        }
        if extensible {
            continue;
        }
        // Keys that are valid here only by the document's own choices.
        if dotted_parent == "bootstrap" && facts.bootstrap_method.as_deref() == Some(key) {
            continue;
        }
        if dotted_parent == "postgresql" && facts.replica_methods.iter().any(|m| m == key) {
            continue;
        }
        if dotted_parent.is_empty() && DCS_ONLY.contains(&key) {
            sink.emit_hint(
                &L113,
                line,
                col,
                format!("`{key}` is read only from the DCS; in the local configuration it is ignored"),
                format!("move it to `bootstrap.dcs.{key}` (applied when the cluster is first bootstrapped) or change it with `patronictl edit-config`"),
            );
            continue;
        }
        if dotted_parent == "postgresql" && key == "use_slots" {
            sink.emit_hint(
                &L113,
                line,
                col,
                "`postgresql.use_slots` is read only from the DCS; in the local configuration it is ignored",
                "move it to `bootstrap.dcs.postgresql.use_slots`",
            );
            continue;
        }
        if dotted_parent == "bootstrap.dcs.postgresql" && LOCAL_ONLY_PG.contains(&key) {
            sink.emit_hint(
                &L111,
                line,
                col,
                format!("`{key}` is a local setting; Patroni drops it from the DCS configuration"),
                format!("move it to `postgresql.{key}`"),
            );
            continue;
        }
        if dotted_parent == "bootstrap" && key == "pg_hba" {
            sink.emit(
                &L115,
                line,
                col,
                "`bootstrap.pg_hba` is deprecated: Patroni only appends these lines to pg_hba.conf once, after initdb",
            );
            continue;
        }
        if dotted_parent == "bootstrap" && key == "users" {
            sink.emit(
                &L116,
                line,
                col,
                "`bootstrap.users` is not supported since Patroni 4.0: these users will not be created",
            );
            continue;
        }
        if dotted_parent == "bootstrap" && o.child(Some(c), "command").is_some() {
            sink.emit_hint(
                &L112,
                line,
                col,
                format!("`bootstrap.{key}` looks like a custom bootstrap method, but `bootstrap.method` is not `{key}`, so it is never used"),
                format!("set `bootstrap.method: {key}` or remove the section"),
            );
            continue;
        }
        // Known somewhere else?
        let candidates = known_paths(key);
        if let Some(best) = best_place(o, c, &candidates, &here) {
            let listed: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
            let where_ = if dotted_parent.is_empty() {
                "at the top level".to_string()
            } else {
                format!("under `{dotted_parent}`")
            };
            // A preceding empty section where the key would be valid: the block was meant to be
            // indented under it.
            let empty_section = children[..pos].iter().rev().copied().find(|&s| {
                is_empty_section(o, s)
                    && node_key(o, s).is_some_and(|sk| {
                        let mut p = path.to_vec();
                        p.push(sk.to_string());
                        matches!(spec_at(&p.join(".")), Some(Map(cs)) if cs.iter().any(|(k, _)| *k == key))
                    })
            });
            let (hint, best) = match empty_section.and_then(|s| o.nodes.get(s)) {
                Some(s) => {
                    let sk = s.key().unwrap_or("");
                    let mut p = path.to_vec();
                    p.push(sk.to_string());
                    p.push(key.to_string());
                    (
                        format!(
                            "`{sk}:` on line {} is empty: indent this block under it",
                            s.line
                        ),
                        p.join("."),
                    )
                }
                None => (format!("move it to `{best}`"), best),
            };
            sink.emit_hint(
                &L111,
                line,
                col,
                format!(
                    "`{key}` is not read {where_}; Patroni silently ignores it here (it belongs in {})",
                    listed.join(" or ")
                ),
                hint,
            );
            // Check what is inside as if it were where it belongs.
            if let Some(s) = spec_at(&best) {
                let best_path: Vec<String> = best.split('.').map(str::to_string).collect();
                check_spec(o, sink, c, s, &best_path, facts);
            }
            continue;
        }
        if dotted_parent.is_empty() {
            sink.emit(&L110, line, col, format!("unknown top-level key `{key}`"));
        } else {
            sink.emit(
                &L112,
                line,
                col,
                format!("`{key}` is not a setting of `{dotted_parent}`"),
            );
        }
    }
}

fn check_spec(o: &Outline, sink: &mut Sink, n: usize, spec: Spec, path: &[String], facts: &Facts) {
    match spec {
        Leaf | Hba => {}
        Bool => check_bool(o, sink, n, path),
        Map(c) => walk_entries(o, sink, Some(n), c, path, facts, false),
        Extensible(c) => walk_entries(o, sink, Some(n), c, path, facts, true),
        Params(local) => check_params(o, sink, n, local, facts),
    }
}

fn check_bool(o: &Outline, sink: &mut Sink, n: usize, path: &[String]) {
    let Some(node) = o.nodes.get(n) else { return };
    let Some(v) = &node.value else { return };
    let lower = v.text.to_ascii_lowercase();
    let yaml_bool = matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    );
    if v.quoted || !yaml_bool {
        let what = if v.quoted && yaml_bool {
            format!("`{}` is the quoted string \"{}\", not a boolean; Python treats any non-empty string as true", path.join("."), v.text)
        } else {
            format!("`{}` expects a boolean, not `{}`", path.join("."), v.text)
        };
        sink.emit(&L118, v.line, v.col, what);
    }
}

fn check_params(o: &Outline, sink: &mut Sink, n: usize, local: bool, facts: &Facts) {
    let children: Vec<usize> = o.children(Some(n)).to_vec();
    for c in children {
        let Some(node) = o.nodes.get(c) else { continue };
        let Some(key) = node.key() else { continue };
        let elsewhere = known_paths(key);
        if let Some(best) = best_place(o, c, &elsewhere, &[]) {
            sink.emit_hint(
                &L111,
                node.line,
                node.col,
                format!("`{key}` is a Patroni setting, not a PostgreSQL parameter; Patroni ignores it here"),
                format!("move it to `{best}`"),
            );
            continue;
        }
        if !node.children.is_empty() {
            let is_method = facts.replica_methods.iter().any(|m| m == key);
            let hint = if is_method {
                format!("`{key}` is listed in create_replica_methods: its settings belong in `postgresql.{key}`")
            } else {
                "move the block out of `parameters`".to_string()
            };
            sink.emit_hint(
                &L111,
                node.line,
                node.col,
                format!("`{key}` is a block, not a PostgreSQL parameter; Patroni ignores it here"),
                hint,
            );
            continue;
        }
        // PostgreSQL parameter names are case-insensitive, and so is Patroni's lookup.
        let cmdline = CMDLINE_OPTIONS
            .iter()
            .find(|(p, _, _)| p.eq_ignore_ascii_case(key));
        if let Some((_, CmdlineCheck::Managed(from), _)) = cmdline {
            sink.emit_hint(
                &L114,
                node.line,
                node.col,
                format!("Patroni sets `{key}` itself and ignores this value"),
                format!("set `{from}` instead"),
            );
            continue;
        }
        if local && cmdline.is_some() {
            sink.emit(
                &L114,
                node.line,
                node.col,
                format!("`{key}` is accepted only from the DCS; in `postgresql.parameters` it is ignored"),
            );
        }
    }
}

fn check_required(o: &Outline, sink: &mut Sink) {
    let anywhere =
        |key: &str| (0..o.nodes.len()).any(|i| o.nodes.get(i).and_then(|n| n.key()) == Some(key));
    let mut missing = Vec::new();
    for k in ["scope", "name", "restapi", "postgresql"] {
        if o.get(&[k]).is_none() && !anywhere(k) {
            missing.push(k.to_string());
        }
    }
    if o.get(&["restapi"]).is_some() {
        for k in ["listen", "connect_address"] {
            if o.get(&["restapi", k]).is_none() && !anywhere(k) {
                missing.push(format!("restapi.{k}"));
            }
        }
    }
    if o.get(&["postgresql"]).is_some() {
        for k in ["listen", "connect_address", "data_dir", "authentication"] {
            if o.get(&["postgresql", k]).is_none() && !anywhere(k) {
                missing.push(format!("postgresql.{k}"));
            }
        }
    }
    if !DCS_SECTIONS.iter().any(|k| anywhere(k)) {
        missing
            .push("a DCS section (etcd3, etcd, consul, zookeeper, kubernetes, raft)".to_string());
    }
    if o.nodes.is_empty() {
        return;
    }
    for m in missing {
        sink.emit(&L117, 1, 1, format!("`{m}` is missing"));
    }
}

fn check_methods(o: &Outline, sink: &mut Sink, facts: &Facts) {
    if let Some(m) = &facts.bootstrap_method {
        if m != "initdb" {
            let section = o.get(&["bootstrap", m]);
            let has_command = section.and_then(|s| o.child(Some(s), "command")).is_some();
            if !has_command {
                if let Some(n) = o.get(&["bootstrap", "method"]).and_then(|n| o.nodes.get(n)) {
                    sink.emit(
                        &L124,
                        n.line,
                        n.col,
                        format!("`bootstrap.method` is `{m}`, but there is no `bootstrap.{m}.command`; bootstrap will fail"),
                    );
                }
            }
        }
    }
    if let Some(list) = o.get(&["postgresql", "create_replica_methods"]) {
        for m in &facts.replica_methods {
            if m == "basebackup" {
                continue;
            }
            let has_command = o
                .get(&["postgresql", m])
                .and_then(|s| o.child(Some(s), "command"))
                .is_some();
            if !has_command {
                if let Some(n) = o.nodes.get(list) {
                    sink.emit_hint(
                        &L124,
                        n.line,
                        n.col,
                        format!("replica method `{m}` has no `postgresql.{m}.command`; Patroni skips it"),
                        format!("add `postgresql.{m}:` with a `command`"),
                    );
                }
            }
        }
    }
}

fn check_values(o: &Outline, sink: &mut Sink, facts: &Facts) {
    for (i, node) in o.nodes.iter().enumerate() {
        let Some(v) = &node.value else { continue };
        let key = node.key().unwrap_or("");
        let command_like = key.ends_with("command") || key == "on_role_change";
        for (k, part) in v.text.split('\n').enumerate() {
            scan_placeholders(sink, part, v.line + k, if k == 0 { v.col } else { 1 });
            if command_like && part.contains("pgbackrest") {
                scan_pgbackrest(sink, part, v.line + k, if k == 0 { v.col } else { 1 });
            }
        }
        match key {
            "archive_command" => check_escapes(sink, v, key, &['p', 'f']),
            "restore_command" => check_escapes(sink, v, key, &['p', 'f', 'r']),
            "archive_cleanup_command" | "recovery_end_command" => {
                check_escapes(sink, v, key, &['r'])
            }
            "password" => check_password(o, sink, i, v),
            _ => {}
        }
        if node.kind == NodeKind::Item {
            let in_hba = node
                .parent
                .and_then(|p| o.nodes.get(p))
                .and_then(|p| p.key())
                == Some("pg_hba");
            if in_hba {
                check_hba_line(sink, v, facts);
            }
        }
    }
}

fn check_escapes(sink: &mut Sink, v: &Scalar, key: &str, allowed: &[char]) {
    let chars: Vec<char> = v.text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '%' {
            match chars.get(i + 1) {
                Some('%') => i += 1,
                Some(c) if allowed.contains(c) => i += 1,
                Some(c) => {
                    let shown: Vec<String> = allowed.iter().map(|a| format!("%{a}")).collect();
                    sink.emit(
                        &L119,
                        v.line,
                        v.col + i,
                        format!(
                            "`%{c}` is not an escape of {key} (it knows {} and %%)",
                            shown.join(" ")
                        ),
                    );
                    i += 1;
                }
                None => sink.emit(
                    &L119,
                    v.line,
                    v.col + i,
                    format!("{key} ends with a lone `%`"),
                ),
            }
        }
        i += 1;
    }
}

fn check_password(o: &Outline, sink: &mut Sink, node: usize, v: &Scalar) {
    let username = o
        .nodes
        .get(node)
        .and_then(|n| o.child(n.parent, "username"))
        .and_then(|u| o.nodes.get(u)?.value.as_ref())
        .map(|s| s.text.clone());
    let p = v.text.as_str();
    if p.is_empty() || p.starts_with('$') || p.contains('<') {
        return;
    }
    let weak = crate::validate::WEAK_PASSWORDS
        .iter()
        .any(|w| w.eq_ignore_ascii_case(p))
        || username.as_deref() == Some(p)
        || p.chars().count() < crate::validate::MIN_PASSWORD_LEN;
    if weak {
        sink.emit(&L121, v.line, v.col, format!("weak password `{p}`"));
    }
}

fn check_hba_line(sink: &mut Sink, v: &Scalar, facts: &Facts) {
    // The column of a field within the scalar, as a column of the file.
    let col_of = |column: usize| v.col + column - 1;
    let hba = match crate::pg_hba::parse_line(&v.text, None) {
        Ok(Some(hba)) => hba,
        Ok(None) => return,
        Err(e) => {
            sink.emit(&L122, v.line, col_of(e.column), e.message);
            return;
        }
    };
    if let Some(AddressField {
        column,
        value: Err(e),
        ..
    }) = &hba.address
    {
        sink.emit(&L122, v.line, col_of(*column), e.as_str());
    }
    if hba.method == AuthMethod::Md5
        && facts.password_encryption.as_deref() == Some("scram-sha-256")
    {
        sink.emit(
            &L123,
            v.line,
            col_of(hba.method_column),
            "pg_hba method md5 while password_encryption is scram-sha-256",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<String> {
        let mut s = Sink::new("patroni.yml");
        lint(text, &mut s);
        s.out
            .iter()
            .map(|d| format!("{}@{}", d.code, d.location))
            .collect()
    }

    const GOOD: &str = "scope: c\nname: n1\nrestapi:\n  listen: 0.0.0.0:8008\n  connect_address: 10.0.0.1:8008\netcd3:\n  hosts: 10.0.0.2:2379\nbootstrap:\n  dcs:\n    ttl: 30\n    postgresql:\n      use_pg_rewind: true\n      parameters:\n        max_connections: 100\n        archive_command: 'pgbackrest --stanza=c archive-push %p'\n        password_encryption: scram-sha-256\n  initdb:\n  - encoding: UTF8\npostgresql:\n  listen: 0.0.0.0:5432\n  connect_address: 10.0.0.1:5432\n  data_dir: /d\n  pg_hba:\n  - host replication replicator 10.0.0.0/24 scram-sha-256\n  authentication:\n    superuser:\n      username: postgres\n    replication:\n      username: replicator\ntags:\n  nofailover: false\n  custom: x\n";

    #[test]
    fn a_good_file_is_clean() {
        assert_eq!(codes(GOOD), Vec::<String>::new());
    }

    #[test]
    fn misplaced_and_ignored_keys() {
        let bad = GOOD
            .replace(
                "    postgresql:\n      use_pg_rewind",
                "    parameters:\n      x: 1\n    postgresql:\n      use_pg_rewind",
            )
            .replace("tags:\n", "ttl: 30\ntags:\n")
            .replace("  nofailover: false", "  nofailover: 'false'");
        let c = codes(&bad);
        assert!(
            c.iter().any(|x| x.starts_with("L111@patroni.yml:11:5")),
            "{c:?}"
        );
        assert!(c.iter().any(|x| x.starts_with("L113@")), "{c:?}");
        assert!(c.iter().any(|x| x.starts_with("L118@")), "{c:?}");
    }

    #[test]
    fn local_dcs_only_parameters_and_escapes() {
        let bad = GOOD.replace("  data_dir: /d\n", "  data_dir: /d\n  parameters:\n    max_connections: 10\n    restore_command: 'cp x %P'\n");
        let c = codes(&bad);
        assert!(c.iter().any(|x| x.starts_with("L114@")), "{c:?}");
        assert!(c.iter().any(|x| x.starts_with("L119@")), "{c:?}");
    }

    #[test]
    fn unknown_missing_and_methods() {
        let bad = GOOD
            .replace("scope: c\n", "scopes: c\n")
            .replace(
                "  listen: 0.0.0.0:8008\n",
                "  listen: 0.0.0.0:8008\n  colour: red\n",
            )
            .replace("  initdb:\n", "  method: pgbackrest\n  initdb:\n")
            .replace(
                "  data_dir: /d\n",
                "  data_dir: /d\n  create_replica_methods: [pgbackrest, basebackup]\n",
            );
        let c = codes(&bad);
        for code in [
            "L110@",
            "L112@",
            "L117@",
            "L124@patroni.yml:18:3",
            "L124@patroni.yml:25:3",
        ] {
            assert!(c.iter().any(|x| x.starts_with(code)), "{code} in {c:?}");
        }
    }

    #[test]
    fn hba_checks() {
        let bad = GOOD.replace("10.0.0.0/24 scram-sha-256", "x.x.x.0/0 md5");
        let c = codes(&bad);
        assert!(c.iter().any(|x| x.starts_with("L122@")), "{c:?}");
        assert!(c.iter().any(|x| x.starts_with("L123@")), "{c:?}");
    }

    #[test]
    fn weak_passwords_follow_validation() {
        let with = |pw: &str| {
            codes(&GOOD.replace(
                "      username: postgres\n",
                &format!("      username: postgres\n      password: '{pw}'\n"),
            ))
        };
        // Validation's list (S002) and length (S003) apply here too.
        assert_eq!(with("Administrator"), ["L121@patroni.yml:28:18"]);
        assert_eq!(with("Kq3vT9xLw2p"), ["L121@patroni.yml:28:18"]);
        assert_eq!(with("postgres"), ["L121@patroni.yml:28:18"]);
        assert_eq!(with("Kq3vT9xLw2pR"), Vec::<String>::new());
    }
}

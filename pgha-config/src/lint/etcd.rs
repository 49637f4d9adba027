//! etcd environment files (`/etc/etcd/etcd.conf`, loaded by `EnvironmentFile=`): `KEY="value"`
//! syntax, the variable names etcd 3.4–3.6 read, and the relations between the member's name,
//! URLs and initial cluster that etcd checks at its first start.

use std::collections::BTreeMap;

use super::text::scan_placeholders;
use super::{Rule, Sink};
use crate::diagnostic::Severity;

/// A line that is not `KEY=value`, or an unterminated quote.
pub const L201: Rule = Rule {
    code: "L201",
    severity: Severity::Error,
    summary: "a line is not `KEY=value` (or `KEY=\"value\"`)",
    hint: "write one `NAME=\"value\"` per line, without spaces around `=`",
};

/// An `ETCD_*` variable etcd does not know.
pub const L202: Rule = Rule {
    code: "L202",
    severity: Severity::Warning,
    summary: "an `ETCD_*` variable that etcd 3.4–3.6 does not read",
    hint: "check the name against etcd's configuration flags (`--foo-bar` is `ETCD_FOO_BAR`)",
};

/// Whitespace inside a name, token or URL value.
pub const L203: Rule = Rule {
    code: "L203",
    severity: Severity::Error,
    summary: "a name, token or URL value contains whitespace",
    hint: "remove the whitespace inside the quotes",
};

/// A variable set twice.
pub const L204: Rule = Rule {
    code: "L204",
    severity: Severity::Warning,
    summary: "a variable is set twice; the last one wins",
    hint: "remove the duplicate",
};

/// The initial cluster does not contain this member as it advertises itself.
pub const L205: Rule = Rule {
    code: "L205",
    severity: Severity::Error,
    summary: "ETCD_INITIAL_CLUSTER does not list this member with its advertised peer URL; etcd \
              refuses to start",
    hint: "list `<ETCD_NAME>=<ETCD_INITIAL_ADVERTISE_PEER_URLS>` in ETCD_INITIAL_CLUSTER",
};

/// A URL etcd cannot parse.
pub const L206: Rule = Rule {
    code: "L206",
    severity: Severity::Error,
    summary: "a URL etcd cannot use",
    hint: "write `http://host:port` or `https://host:port` (comma-separated, no spaces)",
};

/// Election timeout too small for the heartbeat.
pub const L207: Rule = Rule {
    code: "L207",
    severity: Severity::Error,
    summary: "the election timeout is below five heartbeats (or above 50000 ms); etcd refuses to \
              start",
    hint: "set ETCD_ELECTION_TIMEOUT to at least 5 × ETCD_HEARTBEAT_INTERVAL (typically 10 ×)",
};

/// The v2 API is enabled.
pub const L208: Rule = Rule {
    code: "L208",
    severity: Severity::Warning,
    summary: "ETCD_ENABLE_V2 turns on the v2 API, which etcd 3.6 removed",
    hint: "use the v3 API (`etcd3:` in patroni.yml) and drop ETCD_ENABLE_V2",
};

/// A listen peer URL that no member advertises.
pub const L209: Rule = Rule {
    code: "L209",
    severity: Severity::Info,
    summary: "a listen peer URL that is not advertised, so no peer ever connects to it",
    hint: "listen only on the advertised peer URL",
};

/// `existing` cluster state: the member must have been added first.
pub const L210: Rule = Rule {
    code: "L210",
    severity: Severity::Info,
    summary: "ETCD_INITIAL_CLUSTER_STATE=existing: this member joins a running cluster and must \
              have been added with `etcdctl member add` first",
    hint: "run `etcdctl member add <name> --peer-urls=<url>` on a running member before the first \
           start, or bootstrap all members together with state `new`",
};

/// A value etcd does not accept.
pub const L211: Rule = Rule {
    code: "L211",
    severity: Severity::Error,
    summary: "a value etcd does not accept for this variable",
    hint: "see etcd's configuration reference for the accepted values",
};

/// etcd 3.4–3.6 configuration flags, as `ETCD_` variable suffixes (experimental flags are
/// accepted by prefix).
const KNOWN: &[&str] = &[
    "NAME",
    "DATA_DIR",
    "WAL_DIR",
    "SNAPSHOT_COUNT",
    "HEARTBEAT_INTERVAL",
    "ELECTION_TIMEOUT",
    "INITIAL_ELECTION_TICK_ADVANCE",
    "LISTEN_PEER_URLS",
    "LISTEN_CLIENT_URLS",
    "LISTEN_CLIENT_HTTP_URLS",
    "MAX_SNAPSHOTS",
    "MAX_WALS",
    "QUOTA_BACKEND_BYTES",
    "BACKEND_BBOLT_FREELIST_TYPE",
    "BACKEND_BATCH_INTERVAL",
    "BACKEND_BATCH_LIMIT",
    "MAX_TXN_OPS",
    "MAX_REQUEST_BYTES",
    "MAX_CONCURRENT_STREAMS",
    "GRPC_KEEPALIVE_MIN_TIME",
    "GRPC_KEEPALIVE_INTERVAL",
    "GRPC_KEEPALIVE_TIMEOUT",
    "SOCKET_REUSE_PORT",
    "SOCKET_REUSE_ADDRESS",
    "CORS",
    "HOST_WHITELIST",
    "INITIAL_ADVERTISE_PEER_URLS",
    "INITIAL_CLUSTER",
    "INITIAL_CLUSTER_STATE",
    "INITIAL_CLUSTER_TOKEN",
    "ADVERTISE_CLIENT_URLS",
    "DISCOVERY",
    "DISCOVERY_SRV",
    "DISCOVERY_SRV_NAME",
    "DISCOVERY_FALLBACK",
    "DISCOVERY_PROXY",
    "STRICT_RECONFIG_CHECK",
    "PRE_VOTE",
    "AUTO_COMPACTION_RETENTION",
    "AUTO_COMPACTION_MODE",
    "ENABLE_V2",
    "V2_DEPRECATION",
    "ENABLE_PPROF",
    "PROXY",
    "PROXY_FAILURE_WAIT",
    "PROXY_REFRESH_INTERVAL",
    "PROXY_DIAL_TIMEOUT",
    "PROXY_WRITE_TIMEOUT",
    "PROXY_READ_TIMEOUT",
    "CA_FILE",
    "CERT_FILE",
    "KEY_FILE",
    "CLIENT_CERT_AUTH",
    "CLIENT_CRL_FILE",
    "CLIENT_CERT_ALLOWED_HOSTNAME",
    "TRUSTED_CA_FILE",
    "AUTO_TLS",
    "CLIENT_CERT_FILE",
    "CLIENT_KEY_FILE",
    "PEER_CA_FILE",
    "PEER_CERT_FILE",
    "PEER_KEY_FILE",
    "PEER_CLIENT_CERT_AUTH",
    "PEER_CRL_FILE",
    "PEER_TRUSTED_CA_FILE",
    "PEER_AUTO_TLS",
    "PEER_CLIENT_CERT_FILE",
    "PEER_CLIENT_KEY_FILE",
    "PEER_CERT_ALLOWED_CN",
    "PEER_CERT_ALLOWED_HOSTNAME",
    "CIPHER_SUITES",
    "TLS_MIN_VERSION",
    "TLS_MAX_VERSION",
    "SELF_SIGNED_CERT_VALIDITY",
    "LOGGER",
    "LOG_OUTPUTS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "ENABLE_LOG_ROTATION",
    "LOG_ROTATION_CONFIG_JSON",
    "DEBUG",
    "LOG_PACKAGE_LEVELS",
    "FORCE_NEW_CLUSTER",
    "UNSAFE_NO_FSYNC",
    "AUTH_TOKEN",
    "BCRYPT_COST",
    "AUTH_TOKEN_TTL",
    "METRICS",
    "LISTEN_METRICS_URLS",
    "MAX_LEARNERS",
    "ENABLE_GRPC_GATEWAY",
    "CONFIG_FILE",
    "FEATURE_GATES",
    "SNAPSHOT_CATCHUP_ENTRIES",
    "CORRUPT_CHECK_TIME",
    "COMPACT_HASH_CHECK_ENABLED",
    "COMPACT_HASH_CHECK_TIME",
    "WATCH_PROGRESS_NOTIFY_INTERVAL",
    "WARNING_APPLY_DURATION",
    "WARNING_UNARY_REQUEST_DURATION",
    "DOWNGRADE_CHECK_TIME",
    "MEMORY_MLOCK",
    "COMPACTION_BATCH_LIMIT",
    "COMPACTION_SLEEP_INTERVAL",
    "INITIAL_CORRUPT_CHECK",
    "ENABLE_DISTRIBUTED_TRACING",
    "DISTRIBUTED_TRACING_ADDRESS",
    "DISTRIBUTED_TRACING_SERVICE_NAME",
    "DISTRIBUTED_TRACING_INSTANCE_ID",
    "DISTRIBUTED_TRACING_SAMPLING_RATE",
];

struct Var {
    value: String,
    line: usize,
    col: usize,
}

/// Lints an etcd environment file.
pub(crate) fn lint(content: &str, sink: &mut Sink) {
    let mut vars: BTreeMap<String, Var> = BTreeMap::new();
    for (idx, raw) in content.lines().enumerate() {
        let line = idx + 1;
        let raw = raw.trim_end_matches('\r');
        let t = raw.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        let lead = raw.len() - t.len();
        let Some(eq) = t.find('=') else {
            sink.emit(&L201, line, lead + 1, "not a `NAME=value` line");
            continue;
        };
        let key_raw = &t[..eq];
        let key = key_raw.trim();
        if key.starts_with("export ") {
            sink.emit(
                &L201,
                line,
                lead + 1,
                "`export` is shell syntax; systemd's EnvironmentFile= does not accept it",
            );
        }
        let key = key.trim_start_matches("export ").trim();
        if key.is_empty()
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || key.starts_with(|c: char| c.is_ascii_digit())
        {
            sink.emit(
                &L201,
                line,
                lead + 1,
                format!("`{key}` is not a variable name"),
            );
            continue;
        }
        if key_raw != key_raw.trim_end() || t[eq + 1..].starts_with(' ') {
            sink.emit(
                &L201,
                line,
                lead + eq + 1,
                "spaces around `=`: a shell sourcing this file fails, and the value may keep the space",
            );
        }
        let vstart = eq + 1;
        let vtext = t[vstart..].trim();
        let vcol = lead + vstart + (t[vstart..].len() - t[vstart..].trim_start().len()) + 1;
        let (value, value_col) = match vtext.chars().next() {
            Some(q @ ('"' | '\'')) => match vtext[1..].find(q) {
                Some(end) => {
                    let rest = vtext[end + 2..].trim();
                    if !rest.is_empty() && !rest.starts_with('#') {
                        sink.emit(
                            &L201,
                            line,
                            vcol + end + 2,
                            format!("text after the closing quote: `{rest}`"),
                        );
                    }
                    (vtext[1..=end].to_string(), vcol + 1)
                }
                None => {
                    sink.emit(&L201, line, vcol, "unterminated quote");
                    (vtext[1..].to_string(), vcol + 1)
                }
            },
            _ => (vtext.to_string(), vcol),
        };
        scan_placeholders(sink, &value, line, value_col);
        if let Some(suffix) = key.strip_prefix("ETCD_") {
            if !KNOWN.contains(&suffix) && !suffix.starts_with("EXPERIMENTAL_") {
                sink.emit(&L202, line, lead + 1, format!("etcd does not read `{key}`"));
            }
        }
        check_whitespace(key, &value, line, value_col, sink);
        if let Some(prev) = vars.get(key) {
            sink.emit(
                &L204,
                line,
                lead + 1,
                format!("`{key}` is already set on line {}", prev.line),
            );
        }
        vars.insert(
            key.to_string(),
            Var {
                value,
                line,
                col: value_col,
            },
        );
    }
    check_relations(&vars, sink);
}

fn check_relations(vars: &BTreeMap<String, Var>, sink: &mut Sink) {
    for key in [
        "ETCD_LISTEN_PEER_URLS",
        "ETCD_LISTEN_CLIENT_URLS",
        "ETCD_ADVERTISE_CLIENT_URLS",
        "ETCD_INITIAL_ADVERTISE_PEER_URLS",
        "ETCD_LISTEN_METRICS_URLS",
    ] {
        if let Some(v) = vars.get(key) {
            for u in v.value.split(',') {
                if let Err(e) = parse_url(u.trim()) {
                    sink.emit(&L206, v.line, v.col, format!("{key}: `{}`: {e}", u.trim()));
                }
            }
        }
    }
    let name = vars.get("ETCD_NAME").map(|v| v.value.trim().to_string());
    let advertised: Vec<String> = vars
        .get("ETCD_INITIAL_ADVERTISE_PEER_URLS")
        .map(|v| v.value.split(',').map(|u| u.trim().to_string()).collect())
        .unwrap_or_default();
    let mut cluster_members: Vec<(String, String)> = Vec::new();
    if let Some(ic) = vars.get("ETCD_INITIAL_CLUSTER") {
        for entry in ic.value.split(',') {
            match entry.trim().split_once('=') {
                Some((n, u)) => {
                    if let Err(e) = parse_url(u.trim()) {
                        sink.emit(
                            &L206,
                            ic.line,
                            ic.col,
                            format!("ETCD_INITIAL_CLUSTER: `{}`: {e}", entry.trim()),
                        );
                    }
                    cluster_members.push((n.trim().to_string(), u.trim().to_string()));
                }
                None => sink.emit(
                    &L206,
                    ic.line,
                    ic.col,
                    format!(
                        "ETCD_INITIAL_CLUSTER entry `{}` is not `name=url`",
                        entry.trim()
                    ),
                ),
            }
        }
        if let Some(name) = &name {
            let mine: Vec<&String> = cluster_members
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, u)| u)
                .collect();
            if mine.is_empty() {
                sink.emit(
                    &L205,
                    ic.line,
                    ic.col,
                    format!("ETCD_INITIAL_CLUSTER does not list this member `{name}`"),
                );
            } else if !advertised.is_empty() && !mine.iter().all(|u| advertised.contains(u)) {
                sink.emit(
                    &L205,
                    ic.line,
                    ic.col,
                    format!(
                        "ETCD_INITIAL_CLUSTER lists `{name}` at {}, but it advertises {}",
                        mine.iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        advertised.join(",")
                    ),
                );
            }
        }
    }
    let num = |k: &str| -> Option<(u64, &Var)> {
        let v = vars.get(k)?;
        v.value.trim().parse::<u64>().ok().map(|n| (n, v))
    };
    let hb = num("ETCD_HEARTBEAT_INTERVAL");
    let el = num("ETCD_ELECTION_TIMEOUT");
    for k in ["ETCD_HEARTBEAT_INTERVAL", "ETCD_ELECTION_TIMEOUT"] {
        if let Some(v) = vars.get(k) {
            if v.value.trim().parse::<u64>().is_err() {
                sink.emit(
                    &L211,
                    v.line,
                    v.col,
                    format!("{k}=\"{}\" is not a number of milliseconds", v.value),
                );
            }
        }
    }
    let hb_ms = hb.map(|(n, _)| n).unwrap_or(100);
    if let Some((e, v)) = el {
        if e < 5 * hb_ms {
            sink.emit(
                &L207,
                v.line,
                v.col,
                format!("election timeout {e} ms is below 5 × heartbeat ({hb_ms} ms)"),
            );
        } else if e > 50_000 {
            sink.emit(
                &L207,
                v.line,
                v.col,
                format!("election timeout {e} ms is above 50000 ms"),
            );
        }
    }
    if let Some(v) = vars.get("ETCD_ENABLE_V2") {
        sink.emit(
            &L208,
            v.line,
            v.col,
            format!(
                "ETCD_ENABLE_V2=\"{}\": the v2 API is gone in etcd 3.6",
                v.value
            ),
        );
    }
    if let Some(v) = vars.get("ETCD_LISTEN_PEER_URLS") {
        let mut known: Vec<String> = advertised.clone();
        known.extend(cluster_members.iter().map(|(_, u)| u.clone()));
        for u in v.value.split(',').map(str::trim) {
            let wildcard = u.contains("0.0.0.0") || u.contains("[::]");
            if !u.is_empty() && !wildcard && !known.iter().any(|k| k == u) {
                sink.emit(
                    &L209,
                    v.line,
                    v.col,
                    format!("listen peer URL `{u}` is not advertised to any peer"),
                );
            }
        }
    }
    if let Some(v) = vars.get("ETCD_INITIAL_CLUSTER_STATE") {
        match v.value.trim() {
            "new" => {}
            "existing" => sink.emit(
                &L210,
                v.line,
                v.col,
                format!(
                    "state `existing` with {} member(s) in ETCD_INITIAL_CLUSTER: this member must be added with `etcdctl member add` before its first start",
                    cluster_members.len()
                ),
            ),
            other => sink.emit(
                &L211,
                v.line,
                v.col,
                format!("ETCD_INITIAL_CLUSTER_STATE must be `new` or `existing`, not `{other}`"),
            ),
        }
    }
}

/// Names, tokens and URL lists must not contain whitespace.
fn check_whitespace(key: &str, value: &str, line: usize, col: usize, sink: &mut Sink) {
    const NO_SPACE: &[&str] = &[
        "ETCD_NAME",
        "ETCD_INITIAL_CLUSTER_TOKEN",
        "ETCD_INITIAL_CLUSTER_STATE",
        "ETCD_INITIAL_CLUSTER",
        "ETCD_LISTEN_PEER_URLS",
        "ETCD_LISTEN_CLIENT_URLS",
        "ETCD_ADVERTISE_CLIENT_URLS",
        "ETCD_INITIAL_ADVERTISE_PEER_URLS",
    ];
    if !NO_SPACE.contains(&key) {
        return;
    }
    if let Some(pos) = value.find(char::is_whitespace) {
        let extra = if key == "ETCD_NAME" {
            "; etcd will not find this member in ETCD_INITIAL_CLUSTER"
        } else {
            ""
        };
        sink.emit(
            &L203,
            line,
            col + value[..pos].chars().count(),
            format!("{key}=\"{value}\" contains whitespace{extra}"),
        );
    }
}

/// Checks an etcd URL: `scheme://host[:port][/]`.
pub(crate) fn parse_url(u: &str) -> Result<(), String> {
    let Some((scheme, rest)) = u.split_once("://") else {
        return Err("no scheme (http:// or https://)".to_string());
    };
    if !matches!(scheme, "http" | "https" | "unix" | "unixs") {
        return Err(format!(
            "scheme `{scheme}` is not http, https, unix or unixs"
        ));
    }
    let hostport = rest.trim_end_matches('/');
    if hostport.is_empty() {
        return Err("no host".to_string());
    }
    if hostport.contains('/') || hostport.chars().any(char::is_whitespace) {
        return Err("unexpected path or whitespace".to_string());
    }
    if scheme.starts_with("unix") {
        return Ok(());
    }
    let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
        let (h, p) = h.split_once(']').ok_or("unclosed `[`")?;
        (h, p.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err("no host".to_string());
    }
    if let Some(p) = port {
        if p.parse::<u16>().map(|p| p == 0).unwrap_or(true) {
            return Err(format!("port `{p}` is not 1–65535"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<&'static str> {
        let mut s = Sink::new("etcd.conf");
        lint(text, &mut s);
        s.out.iter().map(|d| d.code).collect()
    }

    const GOOD: &str = "ETCD_NAME=\"a\"\nETCD_INITIAL_CLUSTER=\"a=http://10.0.0.1:2380,b=http://10.0.0.2:2380\"\nETCD_INITIAL_ADVERTISE_PEER_URLS=\"http://10.0.0.1:2380\"\nETCD_LISTEN_PEER_URLS=\"http://10.0.0.1:2380\"\nETCD_LISTEN_CLIENT_URLS=\"http://10.0.0.1:2379,http://127.0.0.1:2379\"\nETCD_ADVERTISE_CLIENT_URLS=\"http://10.0.0.1:2379\"\nETCD_INITIAL_CLUSTER_STATE=\"new\"\nETCD_HEARTBEAT_INTERVAL=\"100\"\nETCD_ELECTION_TIMEOUT=\"1000\"\n";

    #[test]
    fn clean_and_dirty() {
        assert_eq!(codes(GOOD), Vec::<&str>::new());
        let bad = GOOD
            .replace(
                "ETCD_NAME=\"a\"",
                "ETCD_NAME=\" a\"\nETCD_NAMEE=x\nETCD_NAME=\"c\"",
            )
            .replace("\"1000\"", "\"300\"")
            .replace("http://10.0.0.1:2379,", "http//10.0.0.1:2379,")
            .replace("\"new\"", "\"existing\"");
        let c = codes(&bad);
        for code in ["L202", "L203", "L204", "L205", "L206", "L207", "L210"] {
            assert!(c.contains(&code), "{code} in {c:?}");
        }
        assert!(codes("ETCD_NAME\n").contains(&"L201"));
        assert!(codes("ETCD_NAME=\"a\nETCD_ENABLE_V2=true\n").contains(&"L208"));
    }
}

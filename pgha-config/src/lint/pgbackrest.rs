//! pgbackrest.conf: INI syntax, the option names pgBackRest 2.4x–2.5x reads (indexed `repoN-` and
//! `pgN-` options included), where they may appear, and values pgBackRest rejects or that are
//! probably not meant (a scheme in the S3 endpoint, a capitalised role name, a placeholder
//! section name).

use std::collections::BTreeMap;

use super::text::scan_placeholders;
use super::{NameKind, Rule, Sink};
use crate::diagnostic::Severity;

/// A line that is not a section, an option or a comment.
pub const L301: Rule = Rule {
    code: "L301",
    severity: Severity::Error,
    summary: "a line is not `[section]`, `option=value` or a comment",
    hint: "write `[section]` headers and `option=value` lines",
};

/// An option pgBackRest does not know (or does not accept in a configuration file).
pub const L302: Rule = Rule {
    code: "L302",
    severity: Severity::Error,
    summary: "an option pgBackRest does not know or does not accept in a configuration file; it \
              is ignored with a warning",
    hint: "check the name against `pgbackrest help <command>`",
};

/// A stanza-only option in `[global]`.
pub const L303: Rule = Rule {
    code: "L303",
    severity: Severity::Error,
    summary: "a stanza option (pgN-*) is set in [global], where pgBackRest ignores it",
    hint: "move it into the stanza's section",
};

/// An endpoint with a scheme.
pub const L304: Rule = Rule {
    code: "L304",
    severity: Severity::Error,
    summary: "a repository endpoint or host includes a scheme (`https://`); pgBackRest expects a \
              bare host",
    hint: "remove `https://` (pgBackRest always uses TLS; the port goes in repoN-storage-port)",
};

/// A placeholder used as a section name.
pub const L305: Rule = Rule {
    code: "L305",
    severity: Severity::Error,
    summary: "the stanza section has a placeholder name",
    hint: "name the section after the stanza used in every pgbackrest command (usually the \
           Patroni scope)",
};

/// `pgN-user` not in lower case.
pub const L306: Rule = Rule {
    code: "L306",
    severity: Severity::Warning,
    summary: "a PostgreSQL role name with capital letters; role names are case-sensitive",
    hint: "the default superuser is `postgres`, in lower case",
};

/// An invalid `repoN-s3-uri-style`.
pub const L307: Rule = Rule {
    code: "L307",
    severity: Severity::Error,
    summary: "an option value pgBackRest does not accept (enumerated options)",
    hint: "use one of the values listed in the message",
};

/// No retention for a repository.
pub const L308: Rule = Rule {
    code: "L308",
    severity: Severity::Warning,
    summary: "a repository has no full-backup retention, so backups are never expired",
    hint: "set repoN-retention-full",
};

/// A secret in the file.
pub const L309: Rule = Rule {
    code: "L309",
    severity: Severity::Info,
    summary: "a secret is stored in the configuration file",
    hint: "consider the environment instead (PGBACKREST_REPO1_S3_KEY, \
           PGBACKREST_REPO1_S3_KEY_SECRET, PGBACKREST_REPO1_CIPHER_PASS) and keep the file mode \
           0640 or stricter",
};

/// Whitespace in a section name.
pub const L310: Rule = Rule {
    code: "L310",
    severity: Severity::Error,
    summary: "a section name contains whitespace",
    hint: "remove the whitespace inside the brackets",
};

/// An option set twice in one section.
pub const L311: Rule = Rule {
    code: "L311",
    severity: Severity::Error,
    summary: "an option is set twice in one section; pgBackRest refuses the file",
    hint: "remove the duplicate",
};

/// A boolean option with a value other than `y`/`n`.
pub const L312: Rule = Rule {
    code: "L312",
    severity: Severity::Error,
    summary: "a boolean option whose value is not `y` or `n`",
    hint: "pgBackRest booleans are `y` or `n`",
};

/// No stanza section.
pub const L313: Rule = Rule {
    code: "L313",
    severity: Severity::Warning,
    summary: "the file has no stanza section, so no stanza has a pg1-path",
    hint: "add `[<stanza>]` with `pg1-path=<data directory>`",
};

/// Option names of pgBackRest 2.4x–2.5x, with `repoN-`/`pgN-` written as `repo-`/`pg-`.
const OPTIONS: &[&str] = &[
    "annotation",
    "archive-async",
    "archive-check",
    "archive-copy",
    "archive-get-queue-max",
    "archive-header-check",
    "archive-missing-retry",
    "archive-mode",
    "archive-mode-check",
    "archive-push-queue-max",
    "archive-timeout",
    "backup-full-incr",
    "backup-standby",
    "beta",
    "buffer-size",
    "checksum-page",
    "cmd",
    "cmd-ssh",
    "compress",
    "compress-level",
    "compress-level-network",
    "compress-type",
    "db-exclude",
    "db-include",
    "db-timeout",
    "delta",
    "exclude",
    "expire-auto",
    "io-timeout",
    "job-retry",
    "job-retry-interval",
    "link-all",
    "link-map",
    "lock-path",
    "log-level-console",
    "log-level-file",
    "log-level-stderr",
    "log-path",
    "log-subprocess",
    "log-timestamp",
    "manifest-save-threshold",
    "neutral-umask",
    "online",
    "pg-database",
    "pg-host",
    "pg-host-ca-file",
    "pg-host-ca-path",
    "pg-host-cert-file",
    "pg-host-cmd",
    "pg-host-config",
    "pg-host-config-include-path",
    "pg-host-config-path",
    "pg-host-key-file",
    "pg-host-port",
    "pg-host-type",
    "pg-host-user",
    "pg-path",
    "pg-port",
    "pg-socket-path",
    "pg-user",
    "pg-version-force",
    "process-max",
    "protocol-timeout",
    "recovery-option",
    "repo",
    "repo-azure-account",
    "repo-azure-container",
    "repo-azure-endpoint",
    "repo-azure-key",
    "repo-azure-key-type",
    "repo-azure-uri-style",
    "repo-block",
    "repo-block-age-map",
    "repo-block-checksum-size-map",
    "repo-block-size-map",
    "repo-block-size-super",
    "repo-block-size-super-full",
    "repo-bundle",
    "repo-bundle-limit",
    "repo-bundle-size",
    "repo-cipher-pass",
    "repo-cipher-type",
    "repo-gcs-bucket",
    "repo-gcs-endpoint",
    "repo-gcs-key",
    "repo-gcs-key-type",
    "repo-gcs-user-project",
    "repo-hardlink",
    "repo-host",
    "repo-host-ca-file",
    "repo-host-ca-path",
    "repo-host-cert-file",
    "repo-host-cmd",
    "repo-host-config",
    "repo-host-config-include-path",
    "repo-host-config-path",
    "repo-host-key-file",
    "repo-host-port",
    "repo-host-type",
    "repo-host-user",
    "repo-path",
    "repo-retention-archive",
    "repo-retention-archive-type",
    "repo-retention-diff",
    "repo-retention-full",
    "repo-retention-full-type",
    "repo-retention-history",
    "repo-s3-bucket",
    "repo-s3-endpoint",
    "repo-s3-key",
    "repo-s3-key-secret",
    "repo-s3-key-type",
    "repo-s3-kms-key-id",
    "repo-s3-region",
    "repo-s3-requester-pays",
    "repo-s3-role",
    "repo-s3-sse-customer-key",
    "repo-s3-token",
    "repo-s3-uri-style",
    "repo-sftp-host",
    "repo-sftp-host-fingerprint",
    "repo-sftp-host-key-check-type",
    "repo-sftp-host-key-hash-type",
    "repo-sftp-host-port",
    "repo-sftp-host-user",
    "repo-sftp-known-host",
    "repo-sftp-private-key-file",
    "repo-sftp-private-key-passphrase",
    "repo-sftp-public-key-file",
    "repo-storage-ca-file",
    "repo-storage-ca-path",
    "repo-storage-host",
    "repo-storage-port",
    "repo-storage-tag",
    "repo-storage-upload-chunk-size",
    "repo-storage-verify-tls",
    "repo-target-time",
    "repo-type",
    "resume",
    "sck-block",
    "sck-keep-alive",
    "spool-path",
    "start-fast",
    "stop-auto",
    "tablespace-map",
    "tablespace-map-all",
    "tcp-keep-alive-count",
    "tcp-keep-alive-idle",
    "tcp-keep-alive-interval",
    "tls-server-address",
    "tls-server-auth",
    "tls-server-ca-file",
    "tls-server-cert-file",
    "tls-server-key-file",
    "tls-server-port",
    "type",
    "target",
    "target-action",
    "target-exclusive",
    "target-timeline",
    "set",
    "force",
    "output",
    "filter",
    "dry-run",
    "archive-push-queue-max",
    "verbose",
];

/// Boolean options (values `y`/`n`).
const BOOLEANS: &[&str] = &[
    "archive-async",
    "archive-check",
    "archive-copy",
    "archive-header-check",
    "archive-mode-check",
    "backup-standby",
    "checksum-page",
    "compress",
    "delta",
    "expire-auto",
    "link-all",
    "log-subprocess",
    "log-timestamp",
    "neutral-umask",
    "online",
    "repo-block",
    "repo-bundle",
    "repo-hardlink",
    "repo-s3-requester-pays",
    "repo-storage-verify-tls",
    "resume",
    "sck-keep-alive",
    "start-fast",
    "stop-auto",
    "tablespace-map-all",
];

/// Options with enumerated values.
const ENUMS: &[(&str, &[&str])] = &[
    (
        "repo-type",
        &["azure", "cifs", "gcs", "posix", "s3", "sftp"],
    ),
    ("repo-s3-uri-style", &["host", "path"]),
    ("repo-azure-uri-style", &["host", "path"]),
    ("repo-s3-key-type", &["shared", "auto", "web-id"]),
    ("repo-cipher-type", &["none", "aes-256-cbc"]),
    ("repo-retention-full-type", &["count", "time"]),
    ("repo-retention-archive-type", &["full", "diff", "incr"]),
    ("compress-type", &["none", "bz2", "gz", "lz4", "zst"]),
    (
        "log-level-console",
        &["off", "error", "warn", "info", "detail", "debug", "trace"],
    ),
    (
        "log-level-file",
        &["off", "error", "warn", "info", "detail", "debug", "trace"],
    ),
    (
        "log-level-stderr",
        &["off", "error", "warn", "info", "detail", "debug", "trace"],
    ),
];

const SECRETS: &[&str] = &[
    "repo-s3-key",
    "repo-s3-key-secret",
    "repo-s3-token",
    "repo-cipher-pass",
    "repo-azure-key",
    "repo-s3-sse-customer-key",
    "repo-sftp-private-key-passphrase",
];

const ENDPOINTS: &[&str] = &[
    "repo-s3-endpoint",
    "repo-azure-endpoint",
    "repo-gcs-endpoint",
    "repo-storage-host",
    "repo-host",
    "pg-host",
    "repo-sftp-host",
];

/// Splits an option into its generic name and index: `repo1-s3-key` → (`repo-s3-key`, 1).
fn generic(name: &str) -> (String, Option<u32>) {
    for prefix in ["repo", "pg"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() {
                let after = &rest[digits.len()..];
                if after.is_empty() || after.starts_with('-') {
                    return (format!("{prefix}{after}"), digits.parse().ok());
                }
            }
        }
    }
    (name.to_string(), None)
}

/// Lints a pgbackrest.conf.
pub(crate) fn lint(content: &str, sink: &mut Sink) {
    let mut section: Option<(String, usize)> = None;
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut repos: BTreeMap<u32, usize> = BTreeMap::new();
    let mut retention: Vec<u32> = Vec::new();
    let mut stanza_sections = 0;
    for (idx, raw) in content.lines().enumerate() {
        let line = idx + 1;
        let raw = raw.trim_end_matches('\r');
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let lead = raw.len() - raw.trim_start().len();
        if t.starts_with('[') {
            let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
                sink.emit(&L301, line, lead + 1, "a section header must end with `]`");
                continue;
            };
            let col = lead + 2;
            if inner.chars().any(char::is_whitespace) || inner.is_empty() {
                sink.emit(&L310, line, col, format!("section name `[{inner}]`"));
            }
            let name = inner.trim().to_string();
            let stanza = name.split(':').next().unwrap_or("").to_string();
            if stanza != "global" {
                stanza_sections += 1;
                sink.stanza(
                    &stanza,
                    line,
                    col + (inner.len() - inner.trim_start().len()),
                );
                if super::text::classify_stanza_name(&stanza) == NameKind::Placeholder {
                    sink.emit(
                        &L305,
                        line,
                        col,
                        format!("`[{stanza}]` is a placeholder, not a stanza name"),
                    );
                } else {
                    scan_placeholders(sink, inner, line, col);
                }
            }
            section = Some((name, line));
            continue;
        }
        let Some(eq) = t.find('=') else {
            sink.emit(
                &L301,
                line,
                lead + 1,
                format!("`{t}` is not `option=value`"),
            );
            continue;
        };
        let key = t[..eq].trim();
        let value = t[eq + 1..].trim();
        let vcol = lead + eq + 2 + (t[eq + 1..].len() - t[eq + 1..].trim_start().len());
        let kcol = lead + 1;
        let Some((sec, _)) = &section else {
            sink.emit(
                &L301,
                line,
                kcol,
                format!("`{key}` comes before any [section]"),
            );
            continue;
        };
        let sec = sec.clone();
        if let Some(prev) = seen.insert((sec.clone(), key.to_string()), line) {
            if key != "recovery-option"
                && key != "link-map"
                && key != "db-include"
                && key != "exclude"
            {
                sink.emit(
                    &L311,
                    line,
                    kcol,
                    format!("`{key}` is already set on line {prev} in [{sec}]"),
                );
            }
        }
        scan_placeholders(sink, value, line, vcol);
        let (g, index) = generic(key);
        if !OPTIONS.contains(&g.as_str()) || matches!(key, "repo" | "pg") {
            let hint = if matches!(
                key,
                "config" | "config-path" | "config-include-path" | "stanza"
            ) {
                format!("`{key}` is a command-line option; it cannot be set in the file")
            } else {
                L302.hint.to_string()
            };
            sink.emit_hint(&L302, line, kcol, format!("unknown option `{key}`"), hint);
            continue;
        }
        if let Some(i) = index {
            if !(1..=256).contains(&i) {
                sink.emit(
                    &L302,
                    line,
                    kcol,
                    format!("`{key}`: index {i} is outside 1–256"),
                );
            }
            if g.starts_with("repo") {
                repos.entry(i).or_insert(line);
                if g == "repo-retention-full" {
                    retention.push(i);
                }
            }
        }
        let in_global = sec == "global" || sec.starts_with("global:");
        if in_global && g.starts_with("pg-") {
            sink.emit(
                &L303,
                line,
                kcol,
                format!("`{key}` is a stanza option; in [{sec}] it is ignored"),
            );
        }
        if ENDPOINTS.contains(&g.as_str()) && value.contains("://") {
            sink.emit(
                &L304,
                line,
                vcol,
                format!("`{key}` must be a host, not the URL `{value}`"),
            );
        }
        if g == "pg-user" && value.chars().any(|c| c.is_ascii_uppercase()) {
            sink.emit_hint(
                &L306,
                line,
                vcol,
                format!(
                    "`{key}={value}`: the role `{value}` is not `{}`",
                    value.to_lowercase()
                ),
                format!(
                    "write `{key}={}` unless the role really has capital letters",
                    value.to_lowercase()
                ),
            );
        }
        if BOOLEANS.contains(&g.as_str()) && !matches!(value, "y" | "n") {
            sink.emit(
                &L312,
                line,
                vcol,
                format!("`{key}={value}`: expected `y` or `n`"),
            );
        }
        if let Some((_, allowed)) = ENUMS.iter().find(|(n, _)| *n == g) {
            if !allowed.contains(&value) {
                sink.emit(
                    &L307,
                    line,
                    vcol,
                    format!("`{key}={value}`: expected one of {}", allowed.join(", ")),
                );
            }
        }
        if SECRETS.contains(&g.as_str()) && !value.is_empty() {
            sink.emit(&L309, line, kcol, format!("`{key}` is stored in the file"));
        }
    }
    for (repo, line) in repos {
        if !retention.contains(&repo) {
            sink.emit(
                &L308,
                line,
                1,
                format!("repo{repo} has no repo{repo}-retention-full"),
            );
        }
    }
    if stanza_sections == 0 && !content.trim().is_empty() {
        sink.emit(&L313, 0, 0, "no stanza section");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<&'static str> {
        let mut s = Sink::new("pgbackrest.conf");
        lint(text, &mut s);
        s.out.iter().map(|d| d.code).collect()
    }

    #[test]
    fn clean_and_dirty() {
        let good = "[global]\nrepo1-type=s3\nrepo1-s3-endpoint=ns.compat.objectstorage.r.oraclecloud.com\nrepo1-s3-uri-style=path\nrepo1-retention-full=2\nstart-fast=y\n\n[main]\npg1-path=/d\npg1-user=postgres\n";
        assert_eq!(codes(good), Vec::<&str>::new());
        let bad = "junk\n[global]\nrepo1-type=s3\nrepo1-s3-endpoint=https://x\nrepo1-s3-uri-style=virtual\nrepo1-bogus=1\npg1-path=/d\nstart-fast=yes\nstart-fast=y\nrepo1-s3-key-secret=s\n[stanza-name]\npg1-user=Postgres\n[a b]\n";
        let c = codes(bad);
        for code in [
            "L301", "L302", "L303", "L304", "L305", "L306", "L307", "L308", "L309", "L310", "L311",
            "L312",
        ] {
            assert!(c.contains(&code), "{code} in {c:?}");
        }
        assert!(codes("[global]\nrepo1-path=/r\nrepo1-retention-full=1\n").contains(&"L313"));
    }
}

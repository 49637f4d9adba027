//! Lint: checks files people wrote by hand (patroni.yml, etcd env files, pgbackrest.conf,
//! crontabs, shell scripts, systemd units).
//!
//! Each file is first recognised ([`detect`]) by its name and, failing that, by its content, then
//! checked by the linter of its type. Every finding is a [`Diagnostic`] with a `L###` code, a
//! severity, the file's name with a 1-based line and column, a message and a hint. Codes are
//! grouped by file type: `L0xx` any file (placeholders, pgBackRest command lines), `L1xx`
//! patroni.yml, `L2xx` etcd environment files, `L3xx` pgbackrest.conf, `L4xx` crontabs, `L5xx`
//! shell scripts, `L6xx` systemd units, `L9xx` checks across all the files given together. Every
//! code is a [`Rule`] constant of the module that emits it, listed in [`RULES`].
//!
//! The linters never stop at the first problem: a YAML file that does not parse is still mapped
//! onto Patroni's structure by a tolerant outline reader (see `yaml`), because a file with one
//! indentation error usually has several more, and the user should see them all at once.

mod cron;
mod detect;
mod etcd;
mod patroni;
mod pgbackrest;
mod shell;
mod systemd;
mod text;
mod yaml;

use std::collections::BTreeMap;

use crate::diagnostic::{Diagnostic, Location, Severity};

pub use cron::*;
pub use detect::detect;
pub use etcd::*;
pub use patroni::*;
pub use pgbackrest::*;
pub use shell::*;
pub use systemd::*;
pub use text::*;
pub use yaml::{L102, L103, L104, L105};

/// What kind of hand-written file a linted file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// Patroni's YAML configuration (`patroni.yml`).
    PatroniYaml,
    /// etcd's environment file (`ETCD_NAME="…"` lines, loaded by `EnvironmentFile=`).
    EtcdEnv,
    /// pgBackRest's INI configuration (`pgbackrest.conf`).
    PgbackrestConf,
    /// A user crontab (`crontab -e`): five time fields, then the command.
    Crontab,
    /// A system crontab (`/etc/crontab`, `/etc/cron.d/*`): five time fields, a user, the command.
    CronD,
    /// A shell script (or a list of shell commands).
    Shell,
    /// A systemd unit (`.service`, `.timer`, …).
    SystemdUnit,
    /// Not recognised; only a warning is reported.
    Unknown,
}

impl FileType {
    /// A short name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            FileType::PatroniYaml => "Patroni configuration",
            FileType::EtcdEnv => "etcd environment file",
            FileType::PgbackrestConf => "pgBackRest configuration",
            FileType::Crontab => "user crontab",
            FileType::CronD => "system crontab (cron.d)",
            FileType::Shell => "shell script",
            FileType::SystemdUnit => "systemd unit",
            FileType::Unknown => "unrecognised file",
        }
    }
}

/// A lint rule: its code, usual severity, what it catches and the usual remedy. The message of a
/// diagnostic is specific to the finding; `summary` is the general statement for documentation
/// (`pgha lint --explain`) and `hint` is used when the finding has no more specific advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable code, `L` and three digits.
    pub code: &'static str,
    /// The severity findings of this rule have.
    pub severity: Severity,
    /// What the rule catches, in one sentence.
    pub summary: &'static str,
    /// What to do about it.
    pub hint: &'static str,
}

/// The type of a file was not recognised, so it was not checked.
pub const L001: Rule = Rule {
    code: "L001",
    severity: Severity::Warning,
    summary: "the file's type was not recognised, so it was not checked",
    hint: "name the file after what it is: patroni.yml, etcd.conf (or *.env), pgbackrest.conf, \
           crontab (user crontab) or a path under /etc/cron.d/, *.sh, *.service / *.timer",
};

/// Every rule of the linter, in code order: the index of what `pgha lint` can report (code,
/// severity, summary, hint). A test checks that codes are unique and sorted.
pub const RULES: &[Rule] = &[
    L001, L002, L003, L010, L011, L012, L101, L102, L103, L104, L105, L110, L111, L112, L113, L114,
    L115, L116, L117, L118, L119, L121, L122, L123, L124, L201, L202, L203, L204, L205, L206, L207,
    L208, L209, L210, L211, L301, L302, L303, L304, L305, L306, L307, L308, L309, L310, L311, L312,
    L313, L401, L402, L403, L404, L405, L406, L407, L501, L502, L503, L504, L505, L506, L507, L601,
    L602, L603, L604, L605, L606, L607, L608, L609, L901,
];

/// How a stanza name was written where it was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    /// A literal name.
    Literal,
    /// An unfilled placeholder (`<stanza-name>`, `stanza-name`).
    Placeholder,
    /// A shell variable (`$SCOPE`), resolved later when possible.
    Variable,
}

/// One place where a pgBackRest stanza name is used.
#[derive(Debug, Clone)]
pub(crate) struct StanzaUse {
    pub name: String,
    pub kind: NameKind,
    pub line: usize,
    pub column: usize,
}

/// What the linter of one file reports: its diagnostics and the facts the cross-file checks need.
pub(crate) struct Sink {
    pub file: String,
    pub out: Vec<Diagnostic>,
    pub stanzas: Vec<StanzaUse>,
    /// Patroni's `scope`, when the file is a patroni.yml that sets one.
    pub scope: Option<String>,
}

impl Sink {
    fn new(file: &str) -> Self {
        Sink {
            file: file.to_string(),
            out: Vec::new(),
            stanzas: Vec::new(),
            scope: None,
        }
    }

    /// Reports a finding of `rule` with the rule's general hint.
    pub fn emit(&mut self, rule: &Rule, line: usize, column: usize, message: impl Into<String>) {
        self.emit_with(rule, rule.severity, line, column, message, rule.hint);
    }

    /// Reports a finding of `rule` with advice specific to it.
    pub fn emit_hint(
        &mut self,
        rule: &Rule,
        line: usize,
        column: usize,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.emit_with(rule, rule.severity, line, column, message, hint);
    }

    /// Reports a finding with a severity other than the rule's usual one.
    pub fn emit_with(
        &mut self,
        rule: &Rule,
        severity: Severity,
        line: usize,
        column: usize,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let d = Diagnostic::in_file(
            rule.code,
            severity,
            self.file.clone(),
            line,
            column,
            message,
        )
        .with_hint(hint);
        self.out.push(d);
    }

    /// Records a stanza name used at a position.
    pub fn stanza(&mut self, name: &str, line: usize, column: usize) {
        let kind = text::classify_stanza_name(name);
        self.stanzas.push(StanzaUse {
            name: name.to_string(),
            kind,
            line,
            column,
        });
    }
}

/// Lints one file by its detected type. Cross-file checks run too, within this one file (a
/// patroni.yml that names two different stanzas is reported).
pub fn lint_file(name: &str, content: &str) -> Vec<Diagnostic> {
    lint_files(&[(name.to_string(), content.to_string())])
}

/// Lints files given as `(name, content)` pairs (the name as the user gave it), each by its
/// detected type, then across files: one stanza name everywhere. Diagnostics come file by file
/// in the order given, each file's sorted by line and column, then the cross-file findings.
pub fn lint_files(files: &[(String, String)]) -> Vec<Diagnostic> {
    let mut all = Vec::new();
    let mut sinks = Vec::new();
    for (name, content) in files {
        let sink = lint_one(name, content);
        let mut diags = sink.out.clone();
        diags.sort_by_key(|d| match &d.location {
            Location::File { line, column, .. } => (*line, *column),
            Location::Model(_) => (0, 0),
        });
        all.extend(diags);
        sinks.push(sink);
    }
    all.extend(cross_file(&sinks));
    all
}

fn lint_one(name: &str, content: &str) -> Sink {
    let mut sink = Sink::new(name);
    // A byte-order mark is not part of any of these formats' syntax; tools differ on it.
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let kind = detect(name, content);
    match kind {
        FileType::PatroniYaml => patroni::lint(content, &mut sink),
        FileType::EtcdEnv => etcd::lint(content, &mut sink),
        FileType::PgbackrestConf => pgbackrest::lint(content, &mut sink),
        FileType::Crontab => cron::lint(content, false, &mut sink),
        FileType::CronD => cron::lint(content, true, &mut sink),
        FileType::Shell => shell::lint(content, &mut sink),
        FileType::SystemdUnit => systemd::lint(content, &mut sink),
        FileType::Unknown => sink.emit(
            &L001,
            0,
            0,
            "the file's type was not recognised from its name or content; it was not checked",
        ),
    }
    sink
}

/// Cross-file rule: one stanza name in every file and command.
pub const L901: Rule = Rule {
    code: "L901",
    severity: Severity::Error,
    summary: "the files use different pgBackRest stanza names",
    hint: "use one stanza name in pgbackrest.conf, archive_command, restore_command, the replica \
           and bootstrap methods, and every backup command",
};

fn cross_file(sinks: &[Sink]) -> Vec<Diagnostic> {
    let scope = sinks.iter().find_map(|s| s.scope.clone());
    // Resolve `$SCOPE`-style variables: Patroni passes `--scope=<scope>` to a custom bootstrap
    // script, which conventionally stores it in SCOPE.
    let resolved = |u: &StanzaUse| -> String {
        match (&u.kind, &scope) {
            (NameKind::Variable, Some(s))
                if matches!(
                    u.name.as_str(),
                    "$SCOPE" | "${SCOPE}" | "$PATRONI_SCOPE" | "${PATRONI_SCOPE}"
                ) =>
            {
                s.clone()
            }
            _ => u.name.clone(),
        }
    };
    let mut uses: Vec<(&Sink, &StanzaUse, String)> = Vec::new();
    for s in sinks {
        for u in &s.stanzas {
            uses.push((s, u, resolved(u)));
        }
    }
    let distinct: BTreeMap<&str, usize> = uses.iter().fold(BTreeMap::new(), |mut m, (_, _, n)| {
        *m.entry(n.as_str()).or_insert(0) += 1;
        m
    });
    if distinct.len() < 2 {
        return Vec::new();
    }
    // The majority among literal names (placeholders and unresolved variables do not vote); the
    // first used wins a tie, so the result does not depend on map order.
    let mut counts: Vec<(String, usize, usize)> = Vec::new();
    for (i, (_, u, n)) in uses.iter().enumerate() {
        let literal = u.kind == NameKind::Literal || (u.kind == NameKind::Variable && *n != u.name);
        if !literal {
            continue;
        }
        match counts.iter_mut().find(|(name, _, _)| name == n) {
            Some(c) => c.1 += 1,
            None => counts.push((n.clone(), 1, i)),
        }
    }
    let majority = counts
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)))
        .map(|c| c.0.clone());
    let names: Vec<String> = distinct.keys().map(|n| format!("`{n}`")).collect();
    let mut out = Vec::new();
    for (s, u, n) in &uses {
        if Some(n) == majority.as_ref() {
            continue;
        }
        let hint = match (&majority, &scope) {
            (Some(m), Some(sc)) if m != sc => format!(
                "use one name everywhere: `{m}` is the most common; the Patroni scope is `{sc}`"
            ),
            (Some(m), _) => format!("use `{m}` (the most common name) everywhere"),
            (None, Some(sc)) => format!("pick one real name, such as the Patroni scope `{sc}`"),
            (None, None) => "pick one real stanza name and use it everywhere".to_string(),
        };
        let shown = if *n != u.name {
            format!("`{}` (= `{n}`)", u.name)
        } else {
            format!("`{n}`")
        };
        out.push(
            Diagnostic::in_file(
                L901.code,
                L901.severity,
                s.file.clone(),
                u.line,
                u.column,
                format!(
                    "stanza name {shown} differs from the others used ({})",
                    names.join(", ")
                ),
            )
            .with_hint(hint),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_well_formed_and_documented() {
        let mut seen = std::collections::BTreeSet::new();
        for r in RULES {
            assert!(seen.insert(r.code), "duplicate code {}", r.code);
            assert_eq!(r.code.len(), 4, "{}", r.code);
            assert!(r.code.starts_with('L'));
            assert!(r.code[1..].chars().all(|c| c.is_ascii_digit()));
            assert!(!r.summary.is_empty() && !r.hint.is_empty(), "{}", r.code);
        }
        let sorted: Vec<_> = RULES.iter().map(|r| r.code).collect();
        let mut again = sorted.clone();
        again.sort();
        assert_eq!(sorted, again, "RULES is in code order");
    }
}

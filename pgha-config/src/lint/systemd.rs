//! systemd units: section and key syntax, sections systemd does not know, common keys in the
//! wrong section (systemd ignores them with a log line nobody reads), the program of `Exec*=`,
//! and a few choices worth a second look in database units.

use super::text::{scan_placeholders, words};
use super::{Rule, Sink};
use crate::diagnostic::Severity;

/// A line that is not a section, a `Key=Value` or a comment.
pub const L601: Rule = Rule {
    code: "L601",
    severity: Severity::Error,
    summary: "a line is not `[Section]`, `Key=Value` or a comment (or a key precedes any section)",
    hint: "write `[Section]` headers and `Key=Value` lines",
};

/// A section systemd does not know.
pub const L602: Rule = Rule {
    code: "L602",
    severity: Severity::Warning,
    summary: "a section systemd does not know; systemd ignores it",
    hint: "check the spelling; custom sections must start with `X-`",
};

/// A key in the wrong section.
pub const L603: Rule = Rule {
    code: "L603",
    severity: Severity::Error,
    summary: "a key in a section where systemd does not read it; systemd ignores it",
    hint: "move the key into the section named in the message",
};

/// An `Exec*=` whose program is not an absolute path.
pub const L604: Rule = Rule {
    code: "L604",
    severity: Severity::Warning,
    summary: "the program of an Exec*= line is not an absolute path (older systemd rejects it)",
    hint: "write the program's absolute path, after any of the prefixes `-@:+!`",
};

/// `Type=notify` with a program that may not notify.
pub const L605: Rule = Rule {
    code: "L605",
    severity: Severity::Info,
    summary: "Type=notify, but the program started may not send the READY notification itself",
    hint: "start the notifying program directly in ExecStart= (not through a shell), or use \
           Type=simple / Type=exec for programs that do not notify",
};

/// `Restart=no` for a database service.
pub const L606: Rule = Rule {
    code: "L606",
    severity: Severity::Info,
    summary: "Restart=no: after a crash the service stays down until someone starts it",
    hint: "Restart=on-failure keeps the node in the cluster; keep `no` only if a person must \
           inspect every crash",
};

/// An obsolete dependency.
pub const L607: Rule = Rule {
    code: "L607",
    severity: Severity::Info,
    summary: "a dependency on an obsolete unit (syslog.target is not used since systemd 209)",
    hint: "remove it",
};

/// `WorkingDirectory=~` without `User=`.
pub const L608: Rule = Rule {
    code: "L608",
    severity: Severity::Warning,
    summary: "WorkingDirectory=~ without User= means root's home directory",
    hint: "set User= to the service account",
};

/// No `ExecStart=` in a service.
pub const L609: Rule = Rule {
    code: "L609",
    severity: Severity::Error,
    summary: "a [Service] without ExecStart=; systemd refuses to load the unit",
    hint: "add ExecStart=",
};

const SECTIONS: &[&str] = &[
    "Unit",
    "Service",
    "Install",
    "Timer",
    "Socket",
    "Mount",
    "Automount",
    "Swap",
    "Path",
    "Slice",
    "Scope",
];

const UNIT_KEYS: &[&str] = &[
    "Description",
    "Documentation",
    "Wants",
    "Requires",
    "Requisite",
    "BindsTo",
    "PartOf",
    "Upholds",
    "Conflicts",
    "Before",
    "After",
    "OnFailure",
    "OnSuccess",
    "PropagatesReloadTo",
    "ReloadPropagatedFrom",
    "JoinsNamespaceOf",
    "RequiresMountsFor",
    "OnFailureJobMode",
    "IgnoreOnIsolate",
    "StopWhenUnneeded",
    "RefuseManualStart",
    "RefuseManualStop",
    "AllowIsolate",
    "DefaultDependencies",
    "CollectMode",
    "FailureAction",
    "SuccessAction",
    "StartLimitIntervalSec",
    "StartLimitBurst",
    "StartLimitAction",
    "JobTimeoutSec",
    "JobRunningTimeoutSec",
    "SourcePath",
];

const INSTALL_KEYS: &[&str] = &[
    "WantedBy",
    "RequiredBy",
    "UpheldBy",
    "Also",
    "Alias",
    "DefaultInstance",
];

/// Keys read only in [Service].
const SERVICE_ONLY: &[&str] = &[
    "Type",
    "ExitType",
    "RemainAfterExit",
    "GuessMainPID",
    "PIDFile",
    "BusName",
    "ExecStart",
    "ExecStartPre",
    "ExecStartPost",
    "ExecCondition",
    "ExecReload",
    "ExecStop",
    "ExecStopPost",
    "RestartSec",
    "TimeoutStartSec",
    "TimeoutStopSec",
    "TimeoutAbortSec",
    "TimeoutSec",
    "RuntimeMaxSec",
    "WatchdogSec",
    "Restart",
    "RestartMode",
    "SuccessExitStatus",
    "RestartPreventExitStatus",
    "RestartForceExitStatus",
    "NotifyAccess",
    "Sockets",
    "OOMPolicy",
];

/// Execution keys, read in [Service], [Socket], [Mount] and [Swap].
const EXEC_KEYS: &[&str] = &[
    "User",
    "Group",
    "WorkingDirectory",
    "Environment",
    "EnvironmentFile",
    "UMask",
    "Nice",
    "IOSchedulingClass",
    "IOSchedulingPriority",
    "StandardOutput",
    "StandardError",
    "StandardInput",
    "SyslogIdentifier",
    "PrivateTmp",
    "ProtectSystem",
    "ProtectHome",
    "NoNewPrivileges",
    "LimitNOFILE",
    "LimitNPROC",
    "LimitCORE",
    "LimitMEMLOCK",
    "KillMode",
    "KillSignal",
    "SendSIGKILL",
    "RuntimeDirectory",
    "StateDirectory",
    "LogsDirectory",
];

const EXEC_SECTIONS: &[&str] = &["Service", "Socket", "Mount", "Swap"];

const TIMER_KEYS: &[&str] = &[
    "OnActiveSec",
    "OnBootSec",
    "OnStartupSec",
    "OnUnitActiveSec",
    "OnUnitInactiveSec",
    "OnCalendar",
    "AccuracySec",
    "RandomizedDelaySec",
    "FixedRandomDelay",
    "Persistent",
    "WakeSystem",
    "RemainAfterElapse",
];

/// The sections where a key is read, if the key is one of the common ones above.
fn home_of(key: &str) -> Option<&'static [&'static str]> {
    if UNIT_KEYS.contains(&key) || key.starts_with("Condition") || key.starts_with("Assert") {
        Some(&["Unit"])
    } else if INSTALL_KEYS.contains(&key) {
        Some(&["Install"])
    } else if SERVICE_ONLY.contains(&key) {
        Some(&["Service"])
    } else if EXEC_KEYS.contains(&key) {
        Some(EXEC_SECTIONS)
    } else if TIMER_KEYS.contains(&key) {
        Some(&["Timer"])
    } else {
        None
    }
}

struct Entry {
    section: String,
    key: String,
    value: String,
    line: usize,
    vcol: usize,
}

/// Lints a systemd unit.
pub(crate) fn lint(content: &str, sink: &mut Sink) {
    let mut section: Option<String> = None;
    let mut entries: Vec<Entry> = Vec::new();
    let mut sections_seen: Vec<String> = Vec::new();
    let mut continued: Option<usize> = None;
    for (idx, raw) in content.lines().enumerate() {
        let line = idx + 1;
        let raw = raw.trim_end_matches('\r');
        if let Some(e) = continued {
            if let Some(entry) = entries.get_mut(e) {
                entry.value.push(' ');
                entry.value.push_str(raw.trim().trim_end_matches('\\'));
            }
            if !raw.trim_end().ends_with('\\') {
                continued = None;
            }
            continue;
        }
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        let lead = raw.len() - raw.trim_start().len();
        if t.starts_with('[') {
            match t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                Some(name) => {
                    if !SECTIONS.contains(&name) && !name.starts_with("X-") {
                        sink.emit(&L602, line, lead + 2, format!("unknown section [{name}]"));
                    }
                    sections_seen.push(name.to_string());
                    section = Some(name.to_string());
                }
                None => sink.emit(&L601, line, lead + 1, "a section header must end with `]`"),
            }
            continue;
        }
        let Some(eq) = t.find('=') else {
            sink.emit(&L601, line, lead + 1, format!("`{t}` is not `Key=Value`"));
            continue;
        };
        let key = t[..eq].trim();
        let value = t[eq + 1..].trim();
        let vcol = lead + eq + 2 + (t[eq + 1..].len() - t[eq + 1..].trim_start().len());
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            sink.emit(&L601, line, lead + 1, format!("`{key}` is not a key name"));
            continue;
        }
        let Some(sec) = section.clone() else {
            sink.emit(
                &L601,
                line,
                lead + 1,
                format!("`{key}` comes before any [Section]"),
            );
            continue;
        };
        if let Some(home) = home_of(key) {
            if !home.contains(&sec.as_str()) && SECTIONS.contains(&sec.as_str()) {
                sink.emit(
                    &L603,
                    line,
                    lead + 1,
                    format!(
                        "`{key}` is not read in [{sec}]; it belongs in [{}]",
                        home.join("], [")
                    ),
                );
            }
        }
        scan_placeholders(sink, value, line, vcol);
        entries.push(Entry {
            section: sec,
            key: key.to_string(),
            value: value.trim_end_matches('\\').trim().to_string(),
            line,
            vcol,
        });
        if t.ends_with('\\') {
            continued = Some(entries.len() - 1);
        }
    }
    check_entries(&entries, &sections_seen, sink);
}

fn get<'a>(entries: &'a [Entry], section: &str, key: &str) -> Option<&'a Entry> {
    entries
        .iter()
        .rev()
        .find(|e| e.section == section && e.key == key)
}

fn check_entries(entries: &[Entry], sections: &[String], sink: &mut Sink) {
    for e in entries.iter().filter(|e| e.key.starts_with("Exec")) {
        if e.value.is_empty() {
            continue;
        }
        let prog = e.value.trim_start_matches(['-', '@', ':', '+', '!']);
        let first = prog.split_whitespace().next().unwrap_or("");
        if first.starts_with('/') {
            continue;
        }
        if first.contains('/') || first.starts_with('$') || first.is_empty() {
            sink.emit_with(
                &L604,
                Severity::Error,
                e.line,
                e.vcol,
                format!(
                    "{}: `{first}` is not an absolute path and systemd cannot search for it",
                    e.key
                ),
                L604.hint,
            );
        } else {
            sink.emit(
                &L604,
                e.line,
                e.vcol,
                format!("{}: `{first}` is not an absolute path", e.key),
            );
        }
    }
    let exec = get(entries, "Service", "ExecStart");
    let program = exec.map(|e| {
        let prog = e.value.trim_start_matches(['-', '@', ':', '+', '!']);
        let ws = words(prog);
        let first = ws.first().map(|w| w.1).unwrap_or("");
        first.rsplit('/').next().unwrap_or(first).to_string()
    });
    if sections.iter().any(|s| s == "Service") && exec.is_none() {
        let oneshot = get(entries, "Service", "Type").is_some_and(|t| t.value == "oneshot");
        if !oneshot {
            sink.emit(&L609, 0, 0, "[Service] has no ExecStart=");
        }
    }
    if let (Some(t), Some(prog), Some(e)) = (get(entries, "Service", "Type"), &program, exec) {
        if t.value == "notify" || t.value == "notify-reload" {
            let shells = ["bash", "sh", "dash", "env"];
            let quiet = ["patroni", "pgbackrest", "python3", "python"];
            if shells.contains(&prog.as_str()) {
                sink.emit(
                    &L605,
                    e.line,
                    e.vcol,
                    format!("Type=notify with ExecStart through `{prog}`: systemd accepts READY only from the main process, which works only while the shell execs the program as its last command"),
                );
            } else if quiet.contains(&prog.as_str()) {
                sink.emit_with(
                    &L605,
                    Severity::Warning,
                    e.line,
                    e.vcol,
                    format!("Type=notify, but `{prog}` does not send READY=1: systemd will kill it when the start times out"),
                    "use Type=simple (or Type=exec)",
                );
            }
        }
    }
    if let (Some(r), Some(prog)) = (get(entries, "Service", "Restart"), &program) {
        if r.value == "no" && matches!(prog.as_str(), "patroni" | "etcd" | "postgres") {
            sink.emit(
                &L606,
                r.line,
                r.vcol,
                format!("Restart=no for {prog}: a crashed node stays out of the cluster"),
            );
        }
    }
    for e in entries
        .iter()
        .filter(|e| e.section == "Unit" && matches!(e.key.as_str(), "After" | "Wants" | "Requires"))
    {
        for (off, w) in words(&e.value) {
            if w == "syslog.target" {
                sink.emit(
                    &L607,
                    e.line,
                    e.vcol + super::text::column(&e.value, off) - 1,
                    "syslog.target is obsolete",
                );
            }
        }
    }
    if let Some(w) = get(entries, "Service", "WorkingDirectory") {
        if w.value.trim_start_matches('-') == "~" && get(entries, "Service", "User").is_none() {
            sink.emit(&L608, w.line, w.vcol, "WorkingDirectory=~ without User=");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<&'static str> {
        let mut s = Sink::new("x.service");
        lint(text, &mut s);
        s.out.iter().map(|d| d.code).collect()
    }

    #[test]
    fn clean_and_dirty() {
        let good = "[Unit]\nDescription=x\nAfter=network-online.target\n\n[Service]\nType=simple\nUser=postgres\nWorkingDirectory=~\nExecStart=/usr/bin/patroni /etc/patroni.yml\nRestart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n";
        assert_eq!(codes(good), Vec::<&str>::new());
        let bad = "Description=early\n[Unit]\nAfter=syslog.target\nWantedBy=multi-user.target\n[Servce]\n[Service]\nType=notify\nWorkingDirectory=~\nExecStart=patroni /etc/p.yml\nRestart=no\nnot a line\n";
        let c = codes(bad);
        for code in [
            "L601", "L602", "L603", "L604", "L605", "L606", "L607", "L608",
        ] {
            assert!(c.contains(&code), "{code} in {c:?}");
        }
        assert!(codes("[Service]\nUser=a\n").contains(&"L609"));
    }
}

//! Crontabs: user crontabs (`crontab -e`: five time fields, then the command) and system
//! crontabs (`/etc/crontab`, `/etc/cron.d/*`: five time fields, the user, then the command).
//! Cron runs the command with `/bin/sh` unless `SHELL=` says otherwise, and turns every
//! unescaped `%` into a newline; `crontab` refuses the whole file when one line is malformed.

use super::detect::KNOWN_USERS;
use super::text::{column, scan_pgbackrest, scan_placeholders, words};
use super::{Rule, Sink};
use crate::diagnostic::Severity;
use crate::schedule::{check_cron_field, CRON_FIELDS};

/// A line with too few time fields.
pub const L401: Rule = Rule {
    code: "L401",
    severity: Severity::Error,
    summary: "a cron line does not have five time fields before the command; `crontab` refuses \
              the whole file",
    hint: "write minute, hour, day of month, month and day of week, then the command",
};

/// An invalid time field.
pub const L402: Rule = Rule {
    code: "L402",
    severity: Severity::Error,
    summary: "a time field cron does not accept",
    hint: "see crontab(5): numbers, ranges a-b, steps /n, lists, `*`, month and day names",
};

/// A user field in a user crontab.
pub const L403: Rule = Rule {
    code: "L403",
    severity: Severity::Error,
    summary: "a user name after the time fields of a user crontab is run as the command",
    hint: "user crontabs (`crontab -e`) have no user field: remove it and install the crontab as \
           that user (`crontab -u postgres -e`), or put the line in /etc/cron.d/ where the user \
           field belongs",
};

/// A system crontab line without a user.
pub const L404: Rule = Rule {
    code: "L404",
    severity: Severity::Error,
    summary: "a line of a system crontab (cron.d) has no user field",
    hint: "add the user between the time fields and the command",
};

/// `&>` under /bin/sh.
pub const L405: Rule = Rule {
    code: "L405",
    severity: Severity::Warning,
    summary: "`&>` is bash syntax; under cron's /bin/sh it puts the job in the background and \
              does not redirect its output",
    hint: "write `>/dev/null 2>&1`, or set SHELL=/bin/bash at the top of the crontab",
};

/// An unescaped `%` in a command.
pub const L406: Rule = Rule {
    code: "L406",
    severity: Severity::Error,
    summary: "an unescaped `%` in a cron command: cron ends the command there and feeds the rest \
              as standard input",
    hint: "escape it as `\\%`, or move the command into a script",
};

/// A trailing backslash.
pub const L407: Rule = Rule {
    code: "L407",
    severity: Severity::Error,
    summary: "a cron line ends with a backslash; cron has no line continuation",
    hint: "put the whole entry on one line, or move the command into a script",
};

const SPECIALS: &[&str] = &[
    "@reboot",
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

fn is_time_word(w: &str) -> bool {
    !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '/' | ',' | '-'))
}

fn is_name_word(w: &str, field: usize) -> bool {
    // Month (index 3) and day-of-week (index 4) fields also take names (jan, mon-fri).
    field >= 3
        && w.split([',', '-', '/'])
            .all(|p| p.len() == 3 && p.chars().all(|c| c.is_ascii_alphabetic()))
}

/// Lints a crontab; `system` when lines carry a user field (cron.d, /etc/crontab).
pub(crate) fn lint(content: &str, system: bool, sink: &mut Sink) {
    let mut shell_is_bash = false;
    for (idx, raw) in content.lines().enumerate() {
        let line = idx + 1;
        let raw = raw.trim_end_matches('\r');
        let t = raw.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let ws = words(raw);
        let Some(&(_, first)) = ws.first() else {
            continue;
        };
        // Environment settings: NAME=value.
        if let Some((name, value)) = first.split_once('=') {
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                if name == "SHELL" {
                    let v = raw.split_once('=').map(|x| x.1).unwrap_or(value).trim();
                    shell_is_bash = v.trim_matches('"').ends_with("bash");
                }
                continue;
            }
        }
        if raw.trim_end().ends_with('\\') {
            sink.emit(
                &L407,
                line,
                raw.trim_end().chars().count(),
                "trailing backslash",
            );
        }
        let (time_count, special) = if SPECIALS.contains(&first) {
            (1, true)
        } else {
            let n = ws
                .iter()
                .take(5)
                .enumerate()
                .take_while(|(i, (_, w))| is_time_word(w) || is_name_word(w, *i))
                .count();
            (n, false)
        };
        if first.starts_with('@') && !special {
            sink.emit(&L402, line, 1, format!("`{first}` is not a cron keyword"));
            continue;
        }
        if !special && time_count < 5 {
            let (off, w) = ws.get(time_count).copied().unwrap_or((raw.len(), ""));
            sink.emit(
                &L401,
                line,
                column(raw, off),
                format!(
                    "{time_count} time field(s) before `{w}`; cron needs 5 and would read `{w}` as the {}",
                    CRON_FIELDS
                        .get(time_count)
                        .map(|f| f.name())
                        .unwrap_or("command")
                ),
            );
            continue;
        }
        if !special {
            for (i, field) in CRON_FIELDS.iter().enumerate() {
                if let Some(&(off, w)) = ws.get(i) {
                    if let Err(e) = check_cron_field(*field, w) {
                        sink.emit(
                            &L402,
                            line,
                            column(raw, off),
                            format!("{}: {e}", field.name()),
                        );
                    }
                }
            }
        }
        let mut next = time_count;
        if system {
            match ws.get(next) {
                Some(&(off, u)) if !u.contains('/') && !u.contains('=') && !is_command(u) => {
                    let _ = off;
                    next += 1;
                }
                Some(&(off, w)) => {
                    sink.emit(
                        &L404,
                        line,
                        column(raw, off),
                        format!("`{w}` stands where the user belongs"),
                    );
                }
                None => {}
            }
        } else if let Some(&(off, u)) = ws.get(next) {
            if KNOWN_USERS.contains(&u) {
                sink.emit(
                    &L403,
                    line,
                    column(raw, off),
                    format!("`{u}` is a user name, but in a user crontab it is run as the command"),
                );
                next += 1;
            }
        }
        let Some(&(cmd_off, _)) = ws.get(next) else {
            sink.emit(&L401, line, raw.chars().count(), "no command");
            continue;
        };
        let cmd = &raw[cmd_off..];
        let cmd_col = column(raw, cmd_off);
        check_percent(sink, cmd, line, cmd_col);
        if !shell_is_bash {
            if let Some(pos) = cmd.find("&>") {
                sink.emit(
                    &L405,
                    line,
                    cmd_col + column(cmd, pos) - 1,
                    "`&>` under /bin/sh: the job is put in the background and its output is not discarded",
                );
            }
        }
        scan_placeholders(sink, cmd, line, cmd_col);
        scan_pgbackrest(sink, cmd, line, cmd_col);
    }
}

fn is_command(w: &str) -> bool {
    matches!(
        w,
        "pgbackrest" | "find" | "psql" | "patronictl" | "bash" | "sh" | "test" | "[" | "cd"
    )
}

fn check_percent(sink: &mut Sink, cmd: &str, line: usize, col0: usize) {
    let mut prev = ' ';
    for (i, c) in cmd.char_indices() {
        if c == '%' && prev != '\\' {
            sink.emit(
                &L406,
                line,
                col0 + column(cmd, i) - 1,
                "unescaped `%`: cron turns it into a newline",
            );
        }
        prev = c;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str, system: bool) -> Vec<String> {
        let mut s = Sink::new("crontab");
        lint(text, system, &mut s);
        s.out
            .iter()
            .map(|d| format!("{}@{}", d.code, d.location))
            .collect()
    }

    #[test]
    fn user_crontab() {
        assert!(codes("SHELL=/bin/bash\n0 1 * * 0 pgbackrest --stanza=a backup &> /dev/null\n@daily date +\\%F\n", false).is_empty());
        let c = codes("8 * * * find /x -delete\n0 1 * * 0 postgres date +%F\n0 1 * * 0 a &>/dev/null\n0 25 * * * b\n", false);
        assert!(c.contains(&"L401@crontab:1:9".to_string()), "{c:?}");
        assert!(c.contains(&"L403@crontab:2:11".to_string()), "{c:?}");
        assert!(c.iter().any(|x| x.starts_with("L406@crontab:2:")), "{c:?}");
        assert!(c.iter().any(|x| x.starts_with("L405@crontab:3:")), "{c:?}");
        assert!(c.iter().any(|x| x.starts_with("L402@crontab:4:3")), "{c:?}");
    }

    #[test]
    fn system_crontab() {
        assert!(codes(
            "0 1 * * mon-sat postgres /usr/bin/pgbackrest --stanza=a backup\n",
            true
        )
        .is_empty());
        let c = codes("0 1 * * 0 /usr/bin/pgbackrest --stanza=a backup\n", true);
        assert_eq!(c, vec!["L404@crontab:1:11".to_string()]);
    }
}

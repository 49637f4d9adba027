//! Checks that apply to text in any kind of file: unfilled `<placeholders>`, masked sample values
//! (`xxxxx`, `x.x.x.0/0`), and pgBackRest command lines (the stanza they name, a stray space after
//! `--stanza=`, a missing command). Also small helpers for columns and words.

use super::{NameKind, Rule, Sink};
use crate::diagnostic::Severity;

/// An unfilled `<placeholder>` from a template or tutorial.
pub const L002: Rule = Rule {
    code: "L002",
    severity: Severity::Error,
    summary: "an unfilled `<placeholder>` is left in the file",
    hint: "replace the placeholder with the real value",
};

/// A masked sample value such as `xxxxx0011` or `x.x.x.0/0`.
pub const L003: Rule = Rule {
    code: "L003",
    severity: Severity::Warning,
    summary: "a value looks like a masked sample (`xxxx`, `x.x.x.0`) rather than a real value",
    hint: "replace the sample value with the real one",
};

/// `--stanza=` followed by a space: the option is empty and the name becomes a stray argument.
pub const L010: Rule = Rule {
    code: "L010",
    severity: Severity::Error,
    summary: "`--stanza=` is followed by a space, so the stanza option is empty",
    hint: "remove the space: `--stanza=<name>`",
};

/// A pgBackRest command that needs a stanza has none.
pub const L011: Rule = Rule {
    code: "L011",
    severity: Severity::Warning,
    summary: "a pgBackRest command that works on a stanza is run without `--stanza`",
    hint: "add `--stanza=<name>` (or set PGBACKREST_STANZA in the environment)",
};

/// A pgBackRest invocation without a known command.
pub const L012: Rule = Rule {
    code: "L012",
    severity: Severity::Error,
    summary: "a pgBackRest invocation names no known command",
    hint: "name one of pgBackRest's commands (backup, archive-push, archive-get, restore, \
           stanza-create, check, expire, info, …) after the options",
};

/// pgBackRest's commands (2.4x–2.5x).
const PGBACKREST_COMMANDS: &[&str] = &[
    "annotate",
    "archive-get",
    "archive-push",
    "backup",
    "check",
    "expire",
    "help",
    "info",
    "manifest",
    "repo-create",
    "repo-get",
    "repo-ls",
    "repo-put",
    "repo-rm",
    "restore",
    "server",
    "server-ping",
    "stanza-create",
    "stanza-delete",
    "stanza-upgrade",
    "start",
    "stop",
    "verify",
    "version",
];

/// Commands that fail without a stanza.
const NEEDS_STANZA: &[&str] = &[
    "archive-get",
    "archive-push",
    "backup",
    "check",
    "expire",
    "restore",
    "stanza-create",
    "stanza-delete",
    "stanza-upgrade",
    "verify",
];

/// Names that tutorials use as a stand-in for the real stanza name.
const PLACEHOLDER_STANZAS: &[&str] = &[
    "stanza-name",
    "stanza_name",
    "stanzaname",
    "stanza",
    "your-stanza",
    "my-stanza",
    "mystanza",
    "name",
];

/// Whether a stanza name is literal, an unfilled placeholder or a shell variable.
pub(crate) fn classify_stanza_name(name: &str) -> NameKind {
    if name.contains('<') || name.contains('>') {
        NameKind::Placeholder
    } else if name.starts_with('$') {
        NameKind::Variable
    } else if PLACEHOLDER_STANZAS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
    {
        NameKind::Placeholder
    } else {
        NameKind::Literal
    }
}

/// The 1-based column of byte offset `byte` in `s`, counted in characters.
pub(crate) fn column(s: &str, byte: usize) -> usize {
    s.get(..byte).map(|p| p.chars().count()).unwrap_or(0) + 1
}

/// Whitespace-separated words of `s` with their byte offsets.
pub(crate) fn words(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push((st, &s[st..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

/// Removes one level of matching quotes around a word.
pub(crate) fn unquote(w: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = w.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    w.trim_matches(|c| c == '"' || c == '\'')
}

/// Reports `<placeholder>` tokens and masked sample values in `text`, which sits on `line`
/// starting at column `col0` (1-based) of the file.
pub(crate) fn scan_placeholders(sink: &mut Sink, text: &str, line: usize, col0: usize) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'<'
            && (i == 0 || bytes[i - 1] != b'<')
            && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic())
        {
            let mut j = i + 1;
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric() || matches!(bytes[j], b'_' | b'-' | b'.'))
            {
                j += 1;
            }
            if bytes.get(j) == Some(&b'>') {
                let token = &text[i..=j];
                sink.emit(
                    &L002,
                    line,
                    col0 + column(text, i) - 1,
                    format!("unfilled placeholder `{token}`"),
                );
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    for (off, w) in words(text) {
        if let Some(reason) = masked(w) {
            sink.emit(
                &L003,
                line,
                col0 + column(text, off) - 1,
                format!(
                    "`{}` looks like a masked sample value ({reason})",
                    unquote(w)
                ),
            );
        }
    }
}

/// Why a word looks masked, if it does.
fn masked(word: &str) -> Option<&'static str> {
    // Lower-case only: upper-case runs are mktemp templates (`tmp.XXXXXX`).
    if word.contains("xxxx") {
        return Some("a run of x's");
    }
    let lower = word.to_ascii_lowercase();
    // Dotted quads with an `x` for a number: x.x.x.0/0, 10.x.x.x.
    for start in lower.match_indices(|c: char| c == 'x' || c.is_ascii_digit()) {
        let rest = &lower[start.0..];
        let quad: String = rest
            .chars()
            .take_while(|c| *c == 'x' || *c == '.' || c.is_ascii_digit())
            .collect();
        let parts: Vec<&str> = quad.split('.').collect();
        if parts.len() >= 4
            && parts[..4]
                .iter()
                .all(|p| *p == "x" || (!p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok()))
            && parts[..4].contains(&"x")
        {
            return Some("an IP address with `x` for a number");
        }
    }
    None
}

/// A pgBackRest invocation found in a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PgbackrestCall {
    /// The command (`backup`, `archive-get`), if one was found.
    pub command: Option<String>,
    /// The stanza as written, if any.
    pub stanza: Option<String>,
    /// The arguments after the command, in order.
    pub args_after_command: Vec<String>,
}

/// Finds pgBackRest invocations in a command line `text` (on `line`, starting at column `col0`),
/// reports a stray space after `--stanza=`, a missing stanza or command, and records the stanza
/// names used.
pub(crate) fn scan_pgbackrest(
    sink: &mut Sink,
    text: &str,
    line: usize,
    col0: usize,
) -> Vec<PgbackrestCall> {
    let ws = words(text);
    let mut calls = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let (off, w) = ws[i];
        let prog = unquote(w);
        // `cmd=(/usr/bin/pgbackrest --stanza=x)` defines a command in an array; the command
        // word comes where the array is expanded, so only the stanza is checked.
        let in_array = prog.contains("=(") || prog.starts_with('(');
        let prog = prog.rsplit(['(', '=']).next().unwrap_or(prog);
        let base = prog.rsplit('/').next().unwrap_or(prog);
        if base != "pgbackrest" {
            i += 1;
            continue;
        }
        let call_col = col0 + column(text, off) - 1;
        let mut call = PgbackrestCall {
            command: None,
            stanza: None,
            args_after_command: Vec::new(),
        };
        let mut stray: Vec<String> = Vec::new();
        let mut j = i + 1;
        while j < ws.len() {
            let (aoff, raw) = ws[j];
            if is_separator(raw) {
                break;
            }
            let ends = raw.ends_with(';') || raw.ends_with(')');
            let a = unquote(raw.trim_end_matches([';', ')']));
            let acol = col0 + column(text, aoff) - 1;
            if let Some(v) = a.strip_prefix("--stanza=") {
                if v.is_empty() {
                    let next = ws
                        .get(j + 1)
                        .map(|(o, w)| (*o, unquote(w)))
                        .filter(|(_, w)| !w.starts_with('-') && !is_separator(w));
                    match next {
                        Some((noff, name)) if !PGBACKREST_COMMANDS.contains(&name) => {
                            sink.emit(
                                &L010,
                                line,
                                acol,
                                format!(
                                    "`--stanza= {name}`: the space makes the stanza option empty \
                                     and `{name}` a stray argument"
                                ),
                            );
                            let name = name.trim_end_matches(';');
                            sink.stanza(name, line, col0 + column(text, noff) - 1);
                            call.stanza = Some(name.to_string());
                            j += 1;
                        }
                        _ => sink.emit(&L010, line, acol, "`--stanza=` has no value"),
                    }
                } else {
                    sink.stanza(v, line, acol + "--stanza=".len());
                    call.stanza = Some(v.to_string());
                }
            } else if a == "--stanza" {
                if let Some((noff, n)) = ws.get(j + 1) {
                    let n = unquote(n);
                    sink.stanza(n, line, col0 + column(text, *noff) - 1);
                    call.stanza = Some(n.to_string());
                    j += 1;
                }
            } else if !a.starts_with('-') {
                if call.command.is_none() && PGBACKREST_COMMANDS.contains(&a) {
                    call.command = Some(a.to_string());
                } else if call.command.is_some() {
                    call.args_after_command.push(a.to_string());
                } else {
                    stray.push(a.to_string());
                }
            }
            j += 1;
            if ends {
                break;
            }
        }
        match &call.command {
            _ if in_array => {}
            None => sink.emit(
                &L012,
                line,
                call_col,
                if stray.is_empty() {
                    "pgBackRest is run without a command".to_string()
                } else {
                    format!(
                        "pgBackRest is run without a known command (found `{}`)",
                        stray.join(" ")
                    )
                },
            ),
            Some(c) if call.stanza.is_none() && NEEDS_STANZA.contains(&c.as_str()) => sink.emit(
                &L011,
                line,
                call_col,
                format!("`pgbackrest {c}` has no `--stanza`"),
            ),
            _ => {}
        }
        calls.push(call);
        i = j;
    }
    calls
}

fn is_separator(w: &str) -> bool {
    w.starts_with(';')
        || w.starts_with('|')
        || w.starts_with('&')
        || w.starts_with('>')
        || w.starts_with('<')
        || w.starts_with("2>")
        || w.starts_with("1>")
        || w == ")"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink() -> Sink {
        Sink::new("t")
    }

    #[test]
    fn placeholders_and_masks() {
        let mut s = sink();
        scan_placeholders(&mut s, "a <stanza-name> b x.x.x.0/0 c", 3, 5);
        let codes: Vec<_> = s.out.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["L002", "L003"]);
        assert_eq!(s.out[0].location.to_string(), "t:3:7");
        let mut clean = sink();
        scan_placeholders(&mut clean, "cat <<EOF > out; a < b; 10.0.0.1/32 max", 1, 1);
        assert!(clean.out.is_empty(), "{:?}", clean.out);
    }

    #[test]
    fn stanza_space_is_reported_and_name_recovered() {
        let mut s = sink();
        let calls = scan_pgbackrest(
            &mut s,
            "pgbackrest  --type=full --stanza= pgha --process-max=10 backup",
            1,
            1,
        );
        assert_eq!(calls[0].command.as_deref(), Some("backup"));
        assert_eq!(calls[0].stanza.as_deref(), Some("pgha"));
        assert_eq!(s.out.len(), 1);
        assert_eq!(s.out[0].code, "L010");
        assert_eq!(s.stanzas[0].name, "pgha");
        let mut clean = sink();
        scan_pgbackrest(&mut clean, "pgbackrest  --stanza=main  backup", 1, 1);
        scan_pgbackrest(&mut clean, "pb=(/usr/bin/pgbackrest --stanza=main)", 1, 1);
        scan_pgbackrest(&mut clean, "x=$(pgbackrest --stanza=main info)", 1, 1);
        scan_placeholders(&mut clean, "mktemp /tmp/x.XXXXXX", 1, 1);
        assert!(clean.out.is_empty(), "{:?}", clean.out);
        assert!(clean.stanzas.iter().all(|s| s.name == "main"));
        let mut missing = sink();
        scan_pgbackrest(
            &mut missing,
            "pgbackrest backup; pgbackrest --stanza=x",
            1,
            1,
        );
        let codes: Vec<_> = missing.out.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["L011", "L012"]);
    }
}

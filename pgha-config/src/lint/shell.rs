//! Shell scripts: the shebang, `bash -n` (run on a private copy, with a time limit and no
//! input), mistakes `bash -n` does not catch because they fail only when the line runs (`${ x }`,
//! `VAR =value`), ShellCheck when it is installed, placeholders and pgBackRest command lines.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::text::{column, scan_pgbackrest, scan_placeholders, words};
use super::{Rule, Sink};
use crate::diagnostic::Severity;

/// A broken shebang line.
pub const L501: Rule = Rule {
    code: "L501",
    severity: Severity::Error,
    summary: "the shebang is not `#!` followed by an absolute interpreter path; the kernel cannot \
              run the script",
    hint: "write `#!/usr/bin/env bash` (or `#!/bin/bash`) with no spaces inside the path",
};

/// `bash -n` found a syntax error.
pub const L502: Rule = Rule {
    code: "L502",
    severity: Severity::Error,
    summary: "bash reports a syntax error",
    hint: "fix the syntax at this line (`bash -n <script>` shows the same error)",
};

/// `${ name }`: a space inside a parameter expansion.
pub const L503: Rule = Rule {
    code: "L503",
    severity: Severity::Error,
    summary: "`${ ` with a space is not a parameter expansion (bash fails with \"bad \
              substitution\" when the line runs; `bash -n` does not see it)",
    hint: "write `${name}` without spaces",
};

/// `VAR =value`: a space before `=`.
pub const L504: Rule = Rule {
    code: "L504",
    severity: Severity::Error,
    summary: "`NAME =value` runs NAME as a command instead of assigning a variable",
    hint: "write `NAME=value` with no spaces around `=`",
};

/// A ShellCheck finding.
pub const L505: Rule = Rule {
    code: "L505",
    severity: Severity::Warning,
    summary: "a ShellCheck finding (the message starts with its SC code)",
    hint: "see https://www.shellcheck.net/wiki/ for the SC code",
};

/// An external checker was not run.
pub const L506: Rule = Rule {
    code: "L506",
    severity: Severity::Info,
    summary: "an external checker (bash, shellcheck) is not installed or did not finish, so its \
              checks were skipped",
    hint: "install it to get these checks",
};

/// No shebang.
pub const L507: Rule = Rule {
    code: "L507",
    severity: Severity::Info,
    summary: "the script has no shebang; it runs with whatever shell starts it",
    hint: "start the script with `#!/usr/bin/env bash` if it is meant to be executed",
};

/// How long an external checker may run.
const TOOL_TIMEOUT: Duration = Duration::from_secs(20);

/// Lints a shell script.
pub(crate) fn lint(content: &str, sink: &mut Sink) {
    check_shebang(content, sink);
    for (idx, raw) in content.lines().enumerate() {
        let line = idx + 1;
        let raw = raw.trim_end_matches('\r');
        let t = raw.trim_start();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        check_expansions(raw, line, sink);
        check_assignments(raw, line, sink);
        scan_placeholders(sink, raw, line, 1);
        scan_pgbackrest(sink, raw, line, 1);
    }
    run_bash(content, sink);
    run_shellcheck(content, sink);
}

fn check_shebang(content: &str, sink: &mut Sink) {
    let first = content.lines().next().unwrap_or("").trim_end_matches('\r');
    let Some(rest) = first.strip_prefix("#!") else {
        sink.emit(&L507, 1, 1, "no `#!` line");
        return;
    };
    let rest_trim = rest.trim_start();
    let ws = words(rest_trim);
    let interp = ws.first().map(|w| w.1).unwrap_or("");
    let args: Vec<&str> = ws.iter().skip(1).map(|w| w.1).collect();
    let col = 3 + (rest.len() - rest_trim.len());
    let broken_path = interp.ends_with('/')
        || args
            .iter()
            .any(|a| *a == "/" || (a.starts_with('/') && args.len() > 1));
    if interp.is_empty() {
        sink.emit(&L501, 1, col, "the shebang names no interpreter");
    } else if !interp.starts_with('/') {
        sink.emit(
            &L501,
            1,
            col,
            format!("the interpreter `{interp}` is not an absolute path"),
        );
    } else if broken_path {
        sink.emit(
            &L501,
            1,
            col,
            format!(
                "`#!{}`: spaces split the interpreter path; the kernel tries to run `{interp}`",
                rest
            ),
        );
    }
}

fn check_expansions(raw: &str, line: usize, sink: &mut Sink) {
    let bytes = raw.as_bytes();
    for i in 0..bytes.len().saturating_sub(2) {
        if bytes[i] == b'$'
            && bytes[i + 1] == b'{'
            && matches!(bytes[i + 2], b' ' | b'\t')
            && (i == 0 || bytes[i - 1] != b'\\')
        {
            let end = raw[i..].find('}').map(|e| i + e + 1).unwrap_or(raw.len());
            sink.emit(
                &L503,
                line,
                column(raw, i),
                format!("`{}` is not a parameter expansion", &raw[i..end]),
            );
        }
    }
}

fn check_assignments(raw: &str, line: usize, sink: &mut Sink) {
    let t = raw.trim_end();
    if t.ends_with(')') && !t.contains("$(") {
        return; // a case pattern such as `name =* )`
    }
    let ws = words(raw);
    for pair in ws.windows(2) {
        let (off, name) = pair[0];
        let (_, next) = pair[1];
        let ident = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let at_command_start = raw[..off]
            .trim_end()
            .chars()
            .last()
            .is_none_or(|c| matches!(c, ';' | '&' | '|' | '(' | '{'))
            || matches!(
                raw[..off].split_whitespace().last(),
                Some("then" | "else" | "do" | "export" | "local" | "readonly")
            );
        if ident && at_command_start && next.starts_with('=') && !next.starts_with("==") {
            sink.emit(
                &L504,
                line,
                column(raw, off),
                format!("`{name} {next}` runs `{name}` as a command"),
            );
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A private copy of the script for the external tools, removed when dropped.
struct TempScript(PathBuf);

impl TempScript {
    fn new(content: &str) -> Option<Self> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("pgha-lint-{}-{n}-{nanos}.sh", std::process::id()));
        std::fs::write(&path, content).ok()?;
        Some(TempScript(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempScript {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The result of running a tool: `None` when it could not be started or did not finish in time.
struct ToolOutput {
    stdout: String,
    stderr: String,
}

enum ToolResult {
    Done(ToolOutput),
    Missing,
    TimedOut,
}

/// Runs `program args…` with no input, collecting its output, killing it after `timeout`.
fn run_tool(program: &str, args: &[&std::ffi::OsStr], timeout: Duration) -> ToolResult {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        return ToolResult::Missing;
    };
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_end(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_end(&mut s);
        }
        s
    });
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = out_reader.join();
                let _ = err_reader.join();
                return ToolResult::TimedOut;
            }
        }
    }
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    ToolResult::Done(ToolOutput {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

fn run_bash(content: &str, sink: &mut Sink) {
    let Some(tmp) = TempScript::new(content) else {
        sink.emit(
            &L506,
            0,
            0,
            "bash -n skipped: could not write a temporary copy",
        );
        return;
    };
    let path = tmp.path().as_os_str();
    match run_tool("bash", &["-n".as_ref(), path], TOOL_TIMEOUT) {
        ToolResult::Missing => sink.emit(&L506, 0, 0, "bash is not installed: `bash -n` skipped"),
        ToolResult::TimedOut => sink.emit(&L506, 0, 0, "`bash -n` did not finish in time"),
        ToolResult::Done(out) => {
            let prefix = format!("{}: ", tmp.path().display());
            let mut seen_lines = Vec::new();
            for l in out.stderr.lines() {
                let l = l.strip_prefix(&prefix).unwrap_or(l);
                let Some(rest) = l.strip_prefix("line ") else {
                    continue;
                };
                let Some((num, msg)) = rest.split_once(": ") else {
                    continue;
                };
                let Ok(n) = num.parse::<usize>() else {
                    continue;
                };
                // bash repeats the offending line after the message; keep the message.
                if seen_lines.contains(&n) {
                    continue;
                }
                seen_lines.push(n);
                sink.emit(&L502, n, 0, format!("bash -n: {msg}"));
            }
        }
    }
}

fn run_shellcheck(content: &str, sink: &mut Sink) {
    let Some(tmp) = TempScript::new(content) else {
        return;
    };
    let path = tmp.path().as_os_str();
    let args: [&std::ffi::OsStr; 6] = [
        "-f".as_ref(),
        "json".as_ref(),
        "-s".as_ref(),
        "bash".as_ref(),
        "-S".as_ref(),
        "info".as_ref(),
    ];
    let mut all: Vec<&std::ffi::OsStr> = args.to_vec();
    all.push(path);
    match run_tool("shellcheck", &all, TOOL_TIMEOUT) {
        ToolResult::Missing => sink.emit(
            &L506,
            0,
            0,
            "shellcheck is not installed: its checks were skipped",
        ),
        ToolResult::TimedOut => sink.emit(&L506, 0, 0, "shellcheck did not finish in time"),
        ToolResult::Done(out) => {
            let Ok(items) = serde_json::from_str::<Vec<serde_json::Value>>(&out.stdout) else {
                if !out.stdout.trim().is_empty() || !out.stderr.trim().is_empty() {
                    sink.emit(
                        &L506,
                        0,
                        0,
                        format!(
                            "shellcheck output could not be read: {}",
                            out.stderr.lines().next().unwrap_or("")
                        ),
                    );
                }
                return;
            };
            for it in items {
                let num = |k: &str| it.get(k).and_then(|v| v.as_u64()).unwrap_or(0) as usize;
                let code = it.get("code").and_then(|v| v.as_u64()).unwrap_or(0);
                let level = it.get("level").and_then(|v| v.as_str()).unwrap_or("");
                let msg = it.get("message").and_then(|v| v.as_str()).unwrap_or("");
                let severity = match level {
                    "error" => Severity::Error,
                    "warning" => Severity::Warning,
                    _ => Severity::Info,
                };
                sink.emit_with(
                    &L505,
                    severity,
                    num("line"),
                    num("column"),
                    format!("SC{code}: {msg}"),
                    format!("see https://www.shellcheck.net/wiki/SC{code}"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<String> {
        let mut s = Sink::new("x.sh");
        lint(text, &mut s);
        s.out
            .iter()
            .map(|d| format!("{}@{}", d.code, d.location))
            .collect()
    }

    #[test]
    fn clean_script() {
        let c = codes("#!/usr/bin/env bash\nset -euo pipefail\nSCOPE=\"${1:-main}\"\nexec pgbackrest --stanza=\"$SCOPE\" check\n");
        assert!(c.is_empty(), "{c:?}");
    }

    #[test]
    fn dirty_script() {
        let c = codes("#!/ usr /bin/bash\nA =1\necho \"${ A }\"\nif then\n");
        assert!(c.contains(&"L501@x.sh:1:3".to_string()), "{c:?}");
        assert!(c.contains(&"L504@x.sh:2:1".to_string()), "{c:?}");
        assert!(c.contains(&"L503@x.sh:3:7".to_string()), "{c:?}");
        assert!(c.iter().any(|x| x.starts_with("L502@x.sh:4")), "{c:?}");
    }
}

//! Real tools judge every host of the seed example and of a Debian variant whose binaries exist
//! on this machine:
//!
//! - each cloud-config passes `cloud-init schema --config-file`, and PyYAML (what cloud-init
//!   parses with) reads back every file byte for byte, with owner and a string mode;
//! - each systemd unit passes `systemd-analyze verify` in a throw-away `--root` that holds the
//!   host's rendered files and the machine's own unit directory; an `Exec*=` program that is not
//!   a rendered file is checked on this machine (the Debian variant must have all of them) and
//!   replaced by a stub in the root (the report lists which, and why);
//! - each environment file, sourced by bash with `set -a`, yields exactly the variables that
//!   systemd's `EnvironmentFile=` parser yields (ported below), and for etcd exactly the values
//!   the renderer intended;
//! - each cron.d file has blank, comment, variable or five-time-field + user + command lines
//!   (checked by a small parser written here, independent of the library's);
//! - each shell script passes `bash -n` and `shellcheck`;
//! - and etcd (Debian's /usr/bin/etcd) starts three members from their rendered environment
//!   files on 127.0.0.11–13 and forms a healthy cluster with the rendered names.
//!
//! The tools are installed by scripts/setup.sh; a missing one fails the test with that hint.

mod common;

use common::seed;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pgha_config::cloud_init;
use pgha_config::etcd::render::{environment, host_plan};
use pgha_config::etcd::EtcdMember;
use pgha_config::host::{FileKind, HostPlan};
use pgha_config::pgbackrest::render::cron_to_on_calendar;
use pgha_config::platform::PlatformPreset;
use pgha_config::{render_cluster, Cluster};

// ---------------------------------------------------------------------------------------------
// Inputs

fn venv() -> String {
    std::env::var("PGHA_VENV").unwrap_or_else(|_| "/opt/pgha/venv".to_string())
}

/// The seed on the Debian layout with the binaries this machine has: PostgreSQL 15, etcd from
/// Debian, Patroni from the harness venv.
fn debian_variant() -> Cluster {
    let mut c = seed();
    c.postgres_version = 15;
    c.platform.preset = PlatformPreset::Debian;
    c.platform.paths.patroni_bin_dir = Some(format!("{}/bin", venv()));
    c
}

fn variants() -> Vec<(&'static str, Cluster)> {
    vec![
        ("seed", seed()),
        ("debian", debian_variant()),
        ("join", join_variant()),
    ]
}

/// The seed with its etcd members joining a running cluster: their promotion script and unit
/// go through the same tools.
fn join_variant() -> Cluster {
    let mut c = seed();
    c.etcd.join = Some(pgha_config::etcd::EtcdJoin {
        member_id: "8e9e05c52164694d".to_string(),
        endpoints: vec!["http://192.0.2.4:2379".to_string()],
        promote_timeout_seconds: 600,
        bootstrap_cluster: Some(
            "pg-etcd-01=http://192.0.2.4:2380,pg-etcd-02=http://192.0.2.5:2380".to_string(),
        ),
    });
    c
}

fn plans(cluster: &Cluster) -> Vec<HostPlan> {
    match render_cluster(cluster) {
        Ok((plans, _)) => plans,
        Err(e) => panic!("render refused: {e}: {:#?}", e.0),
    }
}

// ---------------------------------------------------------------------------------------------
// Running tools

/// Runs a tool; a tool that cannot be started fails the test with the installer hint.
fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!(
            "cannot run {shown}: {e}. The real-tool tests need cloud-init, systemd-analyze, \
             bash, shellcheck, python3 with PyYAML and etcd; scripts/setup.sh installs them."
        ),
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write_file(path: &Path, content: &str, mode: u32) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).expect("create dir");
    }
    fs::write(path, content).expect("write file");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `path` (absolute) placed under `root`.
fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

// ---------------------------------------------------------------------------------------------
// cloud-init

#[test]
fn every_cloud_config_passes_cloud_init_schema_and_pyyaml_reads_every_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let mut checked = 0;
    for (variant, cluster) in variants() {
        for plan in plans(&cluster) {
            let doc = cloud_init::render(&plan);
            let (raw, b64) = cloud_init::sizes(&doc);
            println!(
                "{variant}/{}: cloud-config {raw} bytes, {b64} bytes as base64",
                plan.host
            );
            let file = tmp.path().join(format!("{variant}-{}.yaml", plan.host));
            write_file(&file, &doc, 0o600);

            let o = run(Command::new("cloud-init")
                .args(["schema", "--config-file"])
                .arg(&file));
            let out = text(&o);
            // Deprecated keys are reported but accepted; we want none of them either.
            if !o.status.success()
                || !out.contains("Valid cloud-config")
                || out.to_lowercase().contains("deprecat")
            {
                failures.push(format!(
                    "{variant}/{}: cloud-init schema:\n{out}",
                    plan.host
                ));
            }

            // What PyYAML reads is what cloud-init writes.
            // Files a package's installation reads come first and are not deferred.
            let expected: Vec<serde_json::Value> = plan
                .early_files
                .iter()
                .map(|f| (f, false))
                .chain(
                    plan.files
                        .iter()
                        .filter(|f| !plan.is_live(&f.path))
                        .map(|f| (f, true)),
                )
                .map(|(f, defer)| {
                    serde_json::json!({
                        "path": f.path,
                        "content": f.content,
                        "owner": format!("{}:{}", f.owner, f.group),
                        "permissions": f.mode_string(),
                        "defer": defer,
                    })
                })
                .collect();
            let exp_file = tmp.path().join(format!("{variant}-{}.json", plan.host));
            write_file(
                &exp_file,
                &serde_json::to_string(&expected).expect("json"),
                0o600,
            );
            let o = run(Command::new("python3")
                .arg("-c")
                .arg(PYYAML_CHECK)
                .arg(&file)
                .arg(&exp_file));
            if !o.status.success() {
                failures.push(format!("{variant}/{}: PyYAML:\n{}", plan.host, text(&o)));
            }
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} hosts checked");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

const PYYAML_CHECK: &str = r##"
import base64, gzip, json, sys, yaml
doc_text = open(sys.argv[1], encoding="utf-8").read()
assert doc_text.startswith("#cloud-config\n"), "missing #cloud-config header"
doc = yaml.safe_load(doc_text)
expected = json.load(open(sys.argv[2], encoding="utf-8"))
got = doc.get("write_files", [])
assert len(got) == len(expected), f"{len(got)} write_files, expected {len(expected)}"
for g, e in zip(got, expected):
    if g.get("encoding") == "gz+b64":
        # decoded the way cloud-init's write_files does
        g["content"] = gzip.decompress(base64.b64decode(g["content"])).decode("utf-8")
    else:
        assert "encoding" not in g, f"{e['path']}: encoding {g.get('encoding')!r}"
    for k in ("path", "content", "owner", "permissions"):
        assert isinstance(g.get(k), str), f"{e['path']}: {k} is {type(g.get(k)).__name__}, not str"
        assert g[k] == e[k], f"{e['path']}: {k} differs: {g[k]!r} != {e[k]!r}"
    assert g.get("defer") is e["defer"], f"{e['path']}: defer is {g.get('defer')!r}"
for cmd in doc.get("runcmd", []):
    assert isinstance(cmd, list) and all(isinstance(w, str) for w in cmd), f"runcmd entry {cmd!r}"
"##;

// ---------------------------------------------------------------------------------------------
// systemd units

/// The program of each `Exec*=` line of a unit: the first word, unquoted, without the `-@:+!`
/// prefixes.
fn exec_programs(unit: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in unit.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !key.starts_with("Exec") {
            continue;
        }
        let v = value
            .trim_start()
            .trim_start_matches(['-', '@', ':', '+', '!']);
        let word = if let Some(rest) = v.strip_prefix('"') {
            rest.split('"').next().unwrap_or("").to_string()
        } else {
            v.split_whitespace().next().unwrap_or("").to_string()
        };
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

#[test]
fn every_unit_passes_systemd_analyze_verify() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let mut report = String::new();
    let mut verified = 0;
    for (variant, cluster) in variants() {
        let layout = cluster.layout();
        for plan in plans(&cluster) {
            let units: Vec<_> = plan
                .files
                .iter()
                .filter(|f| f.kind == FileKind::SystemdUnit)
                .collect();
            if units.is_empty() {
                continue;
            }
            let root = tmp.path().join(format!("{variant}-{}", plan.host));
            let units_dir = under(&root, "/usr/lib/systemd/system");
            fs::create_dir_all(&units_dir).expect("mkdir");
            let o = run(Command::new("cp")
                .arg("-a")
                .arg("/usr/lib/systemd/system/.")
                .arg(&units_dir));
            assert!(o.status.success(), "copy unit directory: {}", text(&o));
            for f in &plan.files {
                write_file(&under(&root, &f.path), &f.content, f.mode);
            }
            for unit in &units {
                for program in exec_programs(&unit.content) {
                    if plan.file(&program).is_some() {
                        continue;
                    }
                    let on_host = Path::new(&program).is_file();
                    let _ = writeln!(
                        report,
                        "{variant}/{}: {} runs {program}: {}; stubbed in the verify root",
                        plan.host,
                        unit.path,
                        if on_host {
                            "installed on this machine"
                        } else {
                            "NOT installed on this machine"
                        }
                    );
                    if variant == "debian"
                        && [
                            &layout.etcd_bin,
                            &layout.patroni_bin,
                            &layout.pgbackrest_bin,
                        ]
                        .contains(&&program)
                        && !on_host
                    {
                        failures.push(format!(
                            "{variant}/{}: {program} is missing here (scripts/setup.sh \
                             installs etcd, pgBackRest and the Patroni venv)",
                            plan.host
                        ));
                    }
                    write_file(&under(&root, &program), "#!/bin/sh\nexit 0\n", 0o755);
                }
            }
            let names: Vec<String> = units
                .iter()
                .map(|u| u.path.rsplit('/').next().unwrap_or("").to_string())
                .collect();
            let o = run(Command::new("systemd-analyze")
                .args(["verify", "--man=no", "--generators=no"])
                .arg(format!("--root={}", root.display()))
                .args(&names));
            // Any message is a finding: verify prints warnings (unknown keys, bad quoting it
            // "corrects") and still exits 0.
            if !o.status.success() || !o.stdout.is_empty() || !o.stderr.is_empty() {
                failures.push(format!(
                    "{variant}/{}: systemd-analyze verify {names:?}:\n{}",
                    plan.host,
                    text(&o)
                ));
            }
            verified += names.len();
        }
    }
    println!("{report}verified {verified} unit(s)");
    assert!(verified >= 6, "only {verified} units verified");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn systemd_analyze_verify_catches_a_broken_unit() {
    // The check above is only worth something if verify reports what we would get wrong.
    let tmp = tempfile::tempdir().expect("tempdir");
    let unit = tmp.path().join("broken.service");
    write_file(
        &unit,
        "[Service]\nExecStart=/bin/true \"unbalanced\nFrobnicate=yes\n",
        0o644,
    );
    let o = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no", "--generators=no"])
        .arg(&unit));
    assert!(
        !o.status.success() || !o.stderr.is_empty(),
        "verify accepted a broken unit: {}",
        text(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// Environment files

/// systemd's `EnvironmentFile=` parser (src/basic/env-file.c, systemd 247 and later), ported as a
/// state machine so the test knows what systemd would pass to the service.
fn systemd_env_parse(input: &str) -> Vec<(String, String)> {
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        PreKey,
        Key,
        PreValue,
        Value,
        ValueEscape,
        Single,
        Double,
        DoubleEscape,
        Comment,
        CommentEscape,
    }
    const WS: &str = " \t\n\r";
    const NL: &str = "\n\r";
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |key: &str, value: &str| {
        let key = key.to_string();
        if let Some(slot) = out.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value.to_string();
        } else {
            out.push((key, value.to_string()));
        }
    };
    let mut state = S::PreKey;
    let mut key = String::new();
    let mut value = String::new();
    // Byte length of `key`/`value` where trailing whitespace starts, if any.
    let mut key_ws: Option<usize> = None;
    let mut value_ws: Option<usize> = None;
    let trimmed = |s: &str, ws: Option<usize>| -> String {
        match ws {
            Some(n) => s[..n].to_string(),
            None => s.to_string(),
        }
    };
    for c in input.chars() {
        match state {
            S::PreKey => {
                if c == '#' || c == ';' {
                    state = S::Comment;
                } else if !WS.contains(c) {
                    state = S::Key;
                    key_ws = None;
                    key.push(c);
                }
            }
            S::Key => {
                if NL.contains(c) {
                    state = S::PreKey;
                    key.clear();
                } else if c == '=' {
                    state = S::PreValue;
                    value_ws = None;
                } else {
                    if !WS.contains(c) {
                        key_ws = None;
                    } else if key_ws.is_none() {
                        key_ws = Some(key.len());
                    }
                    key.push(c);
                }
            }
            S::PreValue => {
                if NL.contains(c) {
                    state = S::PreKey;
                    push(&trimmed(&key, key_ws), &value);
                    key.clear();
                    value.clear();
                } else if c == '\'' {
                    state = S::Single;
                } else if c == '"' {
                    state = S::Double;
                } else if c == '\\' {
                    state = S::ValueEscape;
                } else if !WS.contains(c) {
                    state = S::Value;
                    value.push(c);
                }
            }
            S::Value => {
                if NL.contains(c) {
                    state = S::PreKey;
                    push(&trimmed(&key, key_ws), &trimmed(&value, value_ws));
                    key.clear();
                    value.clear();
                } else if c == '\\' {
                    state = S::ValueEscape;
                    value_ws = None;
                } else {
                    if !WS.contains(c) {
                        value_ws = None;
                    } else if value_ws.is_none() {
                        value_ws = Some(value.len());
                    }
                    value.push(c);
                }
            }
            S::ValueEscape => {
                state = S::Value;
                if !NL.contains(c) {
                    value.push(c);
                }
            }
            S::Single => {
                if c == '\'' {
                    state = S::PreValue;
                } else {
                    value.push(c);
                }
            }
            S::Double => {
                if c == '"' {
                    state = S::PreValue;
                } else if c == '\\' {
                    state = S::DoubleEscape;
                } else {
                    value.push(c);
                }
            }
            S::DoubleEscape => {
                state = S::Double;
                if "\"\\`$".contains(c) {
                    value.push(c);
                } else if c != '\n' {
                    value.push('\\');
                    value.push(c);
                }
            }
            S::Comment => {
                if c == '\\' {
                    state = S::CommentEscape;
                } else if NL.contains(c) {
                    state = S::PreKey;
                }
            }
            S::CommentEscape => {
                state = if NL.contains(c) {
                    S::PreKey
                } else {
                    S::Comment
                };
            }
        }
    }
    if matches!(
        state,
        S::PreValue | S::Value | S::ValueEscape | S::Single | S::Double | S::DoubleEscape
    ) {
        let v = if state == S::Value {
            trimmed(&value, value_ws)
        } else {
            value.clone()
        };
        push(&trimmed(&key, key_ws), &v);
    }
    out
}

fn bash_env(script: &str, file: Option<&Path>) -> BTreeMap<String, String> {
    let mut cmd = Command::new("env");
    cmd.args(["-i", "bash", "--noprofile", "--norc", "-c", script, "bash"]);
    if let Some(f) = file {
        cmd.arg(f);
    }
    let o = run(&mut cmd);
    assert!(o.status.success(), "bash: {}", text(&o));
    String::from_utf8(o.stdout)
        .expect("utf-8 environment")
        .split('\0')
        .filter(|e| !e.is_empty())
        .filter_map(|e| e.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .filter(|(k, _)| k != "_")
        .collect()
}

/// The variables that `set -a; . file` adds to (or changes in) a clean bash environment.
fn bash_sourced(file: &Path) -> BTreeMap<String, String> {
    let base = bash_env("env -0", None);
    let sourced = bash_env("set -a; . \"$1\" || exit 99; env -0", Some(file));
    sourced
        .into_iter()
        .filter(|(k, v)| base.get(k) != Some(v))
        .collect()
}

#[test]
fn systemd_env_parser_port_follows_systemd() {
    // Cases from systemd's own documentation and tests of env-file parsing.
    let parsed = systemd_env_parse(
        "# comment\n; comment\n  A = plain value  \nB=\"quoted  \" \nC='single \\ $x'\n\
         D=a\\\nb\nE=\"esc \\\" \\\\ \\$ \\` \\n\"\nF=\nnokey\nG=\"multi\nline\"\n",
    );
    let want: Vec<(String, String)> = [
        ("A", "plain value"),
        ("B", "quoted  "),
        ("C", "single \\ $x"),
        ("D", "ab"),
        ("E", "esc \" \\ $ ` \\n"),
        ("F", ""),
        ("G", "multi\nline"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(parsed, want);
}

#[test]
fn awkward_env_values_read_the_same_in_bash_and_systemd() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pairs: Vec<(String, String)> = [
        ("SPACES", "  a b  c  "),
        ("DQ", "say \"hi\""),
        ("SQ", "it's"),
        ("DOLLAR", "$HOME ${PATH} $(id) $"),
        ("BACKTICK", "`id`"),
        ("BACKSLASH", "C:\\path\\n\\"),
        ("MIXED", "\\\"$`'\\\\"),
        ("HASH", "# not a comment ; nor this"),
        ("BANG", "wow!"),
        ("PERCENT", "100% %h"),
        ("EMPTY", ""),
        ("NEWLINE", "line1\nline2"),
        ("UNICODE", "é ✓"),
        ("GLOB", "*.conf ?"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let file = tmp.path().join("awkward.env");
    write_file(
        &file,
        &pgha_config::systemd::env_file(&["header"], &pairs),
        0o600,
    );
    let content = fs::read_to_string(&file).expect("read");
    assert_eq!(
        systemd_env_parse(&content),
        pairs,
        "systemd reading:\n{content}"
    );
    let want: BTreeMap<String, String> = pairs.into_iter().collect();
    assert_eq!(bash_sourced(&file), want, "bash reading:\n{content}");
}

#[test]
fn every_env_file_reads_the_same_in_bash_and_systemd() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    for (variant, cluster) in variants() {
        for (i, plan) in plans(&cluster).iter().enumerate() {
            for f in plan.files.iter().filter(|f| f.kind == FileKind::EnvFile) {
                let file = tmp.path().join(format!("{variant}-{i}.env"));
                write_file(&file, &f.content, 0o600);
                let systemd: BTreeMap<String, String> =
                    systemd_env_parse(&f.content).into_iter().collect();
                let bash = bash_sourced(&file);
                assert_eq!(
                    bash, systemd,
                    "{variant}/{}: {} reads differently:\n{}",
                    plan.host, f.path, f.content
                );
                if f.path == cluster.layout().etcd_config {
                    let member = cluster
                        .etcd
                        .members
                        .iter()
                        .find(|m| m.name == plan.host)
                        .expect("etcd host is a member");
                    let intended: BTreeMap<String, String> =
                        environment(&cluster, member).into_iter().collect();
                    assert_eq!(bash, intended, "{variant}/{}: {}", plan.host, f.path);
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 6, "only {checked} env files checked");
}

// ---------------------------------------------------------------------------------------------
// cron.d

/// Checks one cron time field against crontab(5): `*`, numbers, ranges, steps, lists, and
/// (month, day of week) English abbreviations.
fn cron_field_ok(field: &str, min: u32, max: u32, names: &[&str]) -> bool {
    let value = |s: &str| -> Option<u32> {
        if let Ok(n) = s.parse::<u32>() {
            return (min..=max).contains(&n).then_some(n);
        }
        let lower = s.to_ascii_lowercase();
        names
            .iter()
            .position(|n| *n == lower)
            .map(|i| i as u32 + min)
    };
    field.split(',').all(|element| {
        let (range, step) = match element.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (element, None),
        };
        let step_ok = step.is_none_or(|s| s.parse::<u32>().is_ok_and(|n| n >= 1));
        let range_ok = if range == "*" {
            true
        } else if let Some((a, b)) = range.split_once('-') {
            matches!((value(a), value(b)), (Some(x), Some(y)) if x <= y)
        } else {
            value(range).is_some() && step.is_none()
        };
        !element.is_empty() && step_ok && range_ok
    })
}

/// Problems of a cron.d file: every line blank, a comment, `NAME=value`, or five time fields
/// (or an `@` keyword), a user and a command.
fn cron_d_problems(content: &str) -> Vec<String> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let mut problems = Vec::new();
    if !content.ends_with('\n') {
        problems.push("no newline at the end (cron ignores the last line)".to_string());
    }
    for (n, line) in content.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let first = l.split_whitespace().next().unwrap_or("");
        if first.contains('=') && !first.starts_with('@') {
            let name = first.split('=').next().unwrap_or("");
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                problems.push(format!("line {}: bad variable line: {line}", n + 1));
            }
            continue;
        }
        let words: Vec<&str> = l.split_whitespace().collect();
        let (time_ok, rest) = if first.starts_with('@') {
            let ok = [
                "@reboot",
                "@yearly",
                "@annually",
                "@monthly",
                "@weekly",
                "@daily",
                "@midnight",
                "@hourly",
            ]
            .contains(&first);
            (ok, &words[1..])
        } else if words.len() >= 5 {
            let ok = cron_field_ok(words[0], 0, 59, &[])
                && cron_field_ok(words[1], 0, 23, &[])
                && cron_field_ok(words[2], 1, 31, &[])
                && cron_field_ok(words[3], 1, 12, &MONTHS)
                && cron_field_ok(words[4], 0, 7, &DAYS);
            (ok, &words[5..])
        } else {
            (false, &words[words.len()..])
        };
        if !time_ok {
            problems.push(format!("line {}: bad time fields: {line}", n + 1));
        }
        let user_ok = rest.first().is_some_and(|u| {
            u.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        });
        if !user_ok {
            problems.push(format!("line {}: no user field: {line}", n + 1));
        }
        if rest.len() < 2 {
            problems.push(format!("line {}: no command: {line}", n + 1));
        }
        if line.contains('%') && !line.contains("\\%") {
            problems.push(format!(
                "line {}: unescaped % (cron turns it into a newline): {line}",
                n + 1
            ));
        }
    }
    problems
}

#[test]
fn cron_parser_rejects_what_cron_rejects() {
    assert!(cron_d_problems("8 0 * * * postgres /bin/true\n").is_empty());
    assert!(cron_d_problems("SHELL=/bin/bash\n0 1 * * 1-6 postgres /x diff\n").is_empty());
    assert!(cron_d_problems("*/15 0-23/2 1,15 jan-dec sun postgres /x\n").is_empty());
    // The tutorial's four-field line: the command's path is read as the day of week, `/x` as
    // the user, and nothing is left to run.
    let four = "8 0 * * /bin/find /x";
    assert_eq!(
        cron_d_problems(&format!("{four}\n")),
        [
            format!("line 1: bad time fields: {four}"),
            format!("line 1: no user field: {four}"),
            format!("line 1: no command: {four}"),
        ]
    );
    assert_eq!(
        cron_d_problems("0 24 * * * root /x\n"),
        ["line 1: bad time fields: 0 24 * * * root /x"]
    );
    assert_eq!(
        cron_d_problems("0 1 * * 8 root /x\n"),
        ["line 1: bad time fields: 0 1 * * 8 root /x"]
    );
    assert_eq!(
        cron_d_problems("0 1 * * * root\n"),
        ["line 1: no command: 0 1 * * * root"]
    );
    assert_eq!(
        cron_d_problems("0 1 * * * root date +%F\n"),
        ["line 1: unescaped % (cron turns it into a newline): 0 1 * * * root date +%F"]
    );
    assert_eq!(
        cron_d_problems("0 1 * * * root /x"),
        ["no newline at the end (cron ignores the last line)"]
    );
}

#[test]
fn every_cron_d_file_is_well_formed() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (variant, cluster) in variants() {
        for plan in plans(&cluster) {
            for f in plan.files.iter().filter(|f| f.kind == FileKind::CronD) {
                let name = f.path.rsplit('/').next().unwrap_or("");
                // cron (run-parts naming) silently skips files whose name has a dot.
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    failures.push(format!(
                        "{variant}/{}: cron ignores the file name {name:?}",
                        plan.host
                    ));
                }
                // cron ignores files writable by group or others, or not owned by root.
                if f.mode & 0o022 != 0 || f.owner != "root" {
                    failures.push(format!(
                        "{variant}/{}: {} is {} {}:{}; cron wants root-owned, not group/other-writable",
                        plan.host,
                        f.path,
                        f.mode_string(),
                        f.owner,
                        f.group
                    ));
                }
                for p in cron_d_problems(&f.content) {
                    failures.push(format!("{variant}/{}: {}: {p}", plan.host, f.path));
                }
                checked += 1;
            }
        }
    }
    // The seed schedules its jobs with cron: every database host has exactly one cron.d file.
    let db_hosts: usize = variants().iter().map(|(_, c)| c.nodes.len()).sum();
    assert_eq!(
        checked, db_hosts,
        "cron.d files checked, one per database host"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Shell scripts

#[test]
fn every_shell_script_passes_bash_n_and_shellcheck() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    let mut failures = Vec::new();
    for (variant, cluster) in variants() {
        for plan in plans(&cluster) {
            for f in plan.files.iter().filter(|f| f.kind == FileKind::Shell) {
                let file = tmp
                    .path()
                    .join(format!("{variant}-{}-{checked}.sh", plan.host));
                write_file(&file, &f.content, 0o700);
                if !f.content.starts_with("#!") {
                    failures.push(format!(
                        "{variant}/{}: {} has no #! line",
                        plan.host, f.path
                    ));
                }
                if f.mode & 0o100 == 0 {
                    failures.push(format!(
                        "{variant}/{}: {} is not executable ({})",
                        plan.host,
                        f.path,
                        f.mode_string()
                    ));
                }
                let o = run(Command::new("bash").arg("-n").arg(&file));
                if !o.status.success() || !o.stderr.is_empty() {
                    failures.push(format!(
                        "{variant}/{}: bash -n {}:\n{}",
                        plan.host,
                        f.path,
                        text(&o)
                    ));
                }
                let o = run(Command::new("shellcheck").arg(&file));
                if !o.status.success() {
                    failures.push(format!(
                        "{variant}/{}: shellcheck {}:\n{}",
                        plan.host,
                        f.path,
                        text(&o)
                    ));
                }
                checked += 1;
            }
        }
    }
    // Every database host has at least its backup, log clean-up, pgBackRest bootstrap and
    // post-bootstrap scripts.
    let db_hosts: usize = variants().iter().map(|(_, c)| c.nodes.len()).sum();
    assert!(
        checked >= 4 * db_hosts,
        "only {checked} shell scripts checked on {db_hosts} database hosts"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// etcd starts from its rendered environment file

/// Kills the started members when the test ends, passes or fails.
struct Members(Vec<(String, Child)>);

impl Drop for Members {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Ports free on every address: the defaults when nothing listens on them, else ephemeral
/// ports the kernel hands out (one pair per address).
fn choose_ports(addresses: &[&str]) -> Vec<(u16, u16)> {
    let defaults_free = addresses
        .iter()
        .all(|a| TcpListener::bind((*a, 2379)).is_ok() && TcpListener::bind((*a, 2380)).is_ok());
    if defaults_free {
        return vec![(2379, 2380); addresses.len()];
    }
    addresses
        .iter()
        .map(|a| {
            let c = TcpListener::bind((*a, 0)).expect("bind client port");
            let p = TcpListener::bind((*a, 0)).expect("bind peer port");
            (
                c.local_addr().expect("addr").port(),
                p.local_addr().expect("addr").port(),
            )
        })
        .collect()
}

fn tail(path: &Path, lines: usize) -> String {
    let t = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = t.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn etcd_starts_from_rendered_env_files_and_forms_the_cluster() {
    let etcd_bin = "/usr/bin/etcd";
    assert!(
        Path::new(etcd_bin).is_file() && Path::new("/usr/bin/etcdctl").is_file(),
        "etcd 3.4 is missing: scripts/setup.sh installs Debian's etcd-server and etcd-client"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let addresses = ["127.0.0.11", "127.0.0.12", "127.0.0.13"];
    let ports = choose_ports(&addresses);

    let mut cluster = debian_variant();
    cluster.name = format!("pgha-real-tools-{}", std::process::id());
    cluster.etcd.token = None;
    cluster.etcd.heartbeat_interval_ms = 100;
    cluster.etcd.election_timeout_ms = 1000;
    cluster.etcd.members = addresses
        .iter()
        .zip(&ports)
        .enumerate()
        .map(|(i, (a, (c, p)))| EtcdMember {
            name: format!("pg-etcd-0{}", i + 1),
            address: a.to_string(),
            client_port: *c,
            peer_port: *p,
            availability_domain: None,
        })
        .collect();
    println!("etcd members on {addresses:?}, ports (client, peer) {ports:?}");

    let mut members = Members(Vec::new());
    let mut logs = Vec::new();
    for (i, m) in cluster.etcd.members.clone().iter().enumerate() {
        // One "host" per member: its own root, as on separate machines.
        let mut host = cluster.clone();
        host.platform.root = Some(tmp.path().join(&m.name).display().to_string());
        let plan = host_plan(&host, i).expect("a host of the cluster");
        for d in &plan.directories {
            fs::create_dir_all(&d.path).expect("mkdir");
            fs::set_permissions(&d.path, fs::Permissions::from_mode(d.mode)).expect("chmod");
        }
        for f in &plan.files {
            write_file(Path::new(&f.path), &f.content, f.mode);
        }
        let service = &plan.services[0];
        let env_path = &service.environment_files[0];
        let env_text = fs::read_to_string(env_path).expect("read env file");
        // The environment exactly as systemd builds it from EnvironmentFile=, and bash agrees.
        let env = systemd_env_parse(&env_text);
        let bash = bash_sourced(Path::new(env_path));
        assert_eq!(env.iter().cloned().collect::<BTreeMap<_, _>>(), bash);
        assert_eq!(env, environment(&host, m));

        let log = tmp.path().join(format!("{}.log", m.name));
        let out = fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(&service.exec_start[0])
            .args(&service.exec_start[1..])
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .current_dir(&service.working_directory)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start etcd");
        members.0.push((m.name.clone(), child));
        logs.push(log);
    }

    let endpoints = cluster
        .etcd
        .members
        .iter()
        .map(|m| m.client_url(false))
        .collect::<Vec<_>>()
        .join(",");
    let etcdctl = |args: &[&str]| -> Output {
        run(Command::new("/usr/bin/etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoints}"))
            .arg("--dial-timeout=2s")
            .arg("--command-timeout=3s")
            .args(args))
    };
    let dump_logs = |logs: &[PathBuf]| -> String {
        logs.iter()
            .map(|l| format!("== {}\n{}", l.display(), tail(l, 25)))
            .collect::<Vec<_>>()
            .join("\n")
    };

    let start = Instant::now();
    let deadline = Duration::from_secs(60);
    loop {
        for (name, child) in &mut members.0 {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("etcd {name} exited with {status}\n{}", dump_logs(&logs));
            }
        }
        let o = etcdctl(&["endpoint", "health"]);
        let out =
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        let healthy = out.matches("is healthy").count();
        println!(
            "[{:>5.1}s] endpoint health: {healthy}/3 healthy",
            start.elapsed().as_secs_f64()
        );
        if o.status.success() && healthy == 3 {
            break;
        }
        if start.elapsed() > deadline {
            panic!(
                "etcd cluster not healthy after {deadline:?}:\n{out}\n{}",
                dump_logs(&logs)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    let o = etcdctl(&["member", "list", "-w", "json"]);
    assert!(o.status.success(), "member list: {}", text(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).expect("member list json");
    let mut listed: Vec<(String, Vec<String>)> = list["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            let urls = m["clientURLs"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|u| u.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            (m["name"].as_str().unwrap_or("").to_string(), urls)
        })
        .collect();
    listed.sort();
    let expected: Vec<(String, Vec<String>)> = cluster
        .etcd
        .members
        .iter()
        .map(|m| (m.name.clone(), vec![m.client_url(false)]))
        .collect();
    assert_eq!(listed, expected, "member list: {}", text(&o));

    // Data written through one member is read through another.
    let first = cluster.etcd.members[0].client_url(false);
    let last = cluster.etcd.members[2].client_url(false);
    let o = run(Command::new("/usr/bin/etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={first}"))
        .args(["put", "/pgha/real-tools", "written-on-01"]));
    assert!(o.status.success(), "put: {}", text(&o));
    let o = run(Command::new("/usr/bin/etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={last}"))
        .args(["get", "--print-value-only", "/pgha/real-tools"]));
    assert!(o.status.success(), "get: {}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "written-on-01");

    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "etcd cluster of {} members healthy after {:.1}s",
        listed.len(),
        start.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// Cron schedules and their systemd timers fire at the same times

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The first `n` times (`YYYY-MM-DD HH:MM`, UTC) cron runs `expr` from 2026-01-01 00:00 on, by
/// crontab(5)'s rule: when either day field starts with `*`, both must match; otherwise either.
fn cron_fires(expr: &str, n: usize) -> Vec<String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let [minute, hour, dom, month, dow] =
        pgha_config::schedule::parse_cron_expression(expr).expect("valid cron");
    let star = fields[2].starts_with('*') || fields[4].starts_with('*');
    let start = 20_454; // 2026-01-01
    let mut out = Vec::new();
    for day in start..start + 20 * 366 {
        let (y, m, d) = civil_from_days(day);
        let weekday = ((day + 4).rem_euclid(7)) as u32; // 1970-01-01 was a Thursday
        let (dom_ok, dow_ok) = (dom.contains(&d), dow.contains(&weekday));
        let day_ok = if star {
            dom_ok && dow_ok
        } else {
            dom_ok || dow_ok
        };
        if !month.contains(&m) || !day_ok {
            continue;
        }
        for h in &hour {
            for min in &minute {
                out.push(format!("{y:04}-{m:02}-{d:02} {h:02}:{min:02}"));
                if out.len() == n {
                    return out;
                }
            }
        }
    }
    out
}

/// The first `n` times systemd's calendar parser gives for `on_calendar` from the same start.
fn timer_fires(on_calendar: &str, n: usize) -> Vec<String> {
    let o = run(Command::new("systemd-analyze")
        .env("TZ", "UTC")
        .arg("calendar")
        .arg(format!("--iterations={n}"))
        .arg("--base-time=2025-12-31 23:59:59 UTC")
        .arg(on_calendar));
    assert!(
        o.status.success(),
        "systemd-analyze calendar {on_calendar:?}: {}",
        text(&o)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains("Next elapse:") || l.contains("Iter. #"))
        .filter_map(|l| {
            // "    Next elapse: Thu 2026-01-01 01:00:00 UTC"
            let w: Vec<&str> = l.split_whitespace().collect();
            let i = w
                .iter()
                .position(|x| x.len() == 10 && x.as_bytes()[4] == b'-')?;
            Some(format!("{} {}", w[i], w.get(i + 1)?.get(..5)?))
        })
        .collect()
}

/// Every combination of these day, month and weekday fields (cron's steps, ranges, lists and
/// names; the pairs cron combines with *or*, which no timer can mean, are refused instead), and
/// a few time fields: the rendered `OnCalendar=` fires on exactly the minutes cron would.
#[test]
fn timers_fire_when_cron_would() {
    let doms = ["*", "*/2", "*/10", "1-15", "5", "1,15", "*/7", "10-20/5"];
    let months = ["*", "*/2", "1-6", "mar", "nov-dec"];
    let dows = ["*", "1", "1-5", "*/2", "0,6", "7", "mon-fri", "*/3"];
    let mut cases = Vec::new();
    for dom in doms {
        for month in months {
            for dow in dows {
                cases.push(format!("0 1 {dom} {month} {dow}"));
            }
        }
    }
    cases.extend(["*/20 */6 * * *", "5,35 2-4 * * 1-5", "0 0-23/8 */3 * *"].map(String::from));
    let mut checked = 0;
    let mut failures = Vec::new();
    for expr in &cases {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let either = !fields[2].starts_with('*') && !fields[4].starts_with('*');
        match cron_to_on_calendar(expr) {
            None if either => continue,
            None => failures.push(format!("{expr}: no OnCalendar= rendered")),
            Some(_) if either => failures.push(format!(
                "{expr}: cron runs when either day field matches; no timer can say that"
            )),
            Some(cal) => {
                // Cron's side is counted over 20 years: a schedule that fires once a year has
                // fewer firings there, and only those are compared.
                let (want, mut got) = (cron_fires(expr, 24), timer_fires(&cal, 24));
                got.truncate(want.len());
                if want.len() < 5 || want != got {
                    failures.push(format!(
                        "{expr} -> {cal}:\n  cron:  {:?}\n  timer: {:?}",
                        &want[..want.len().min(6)],
                        &got[..got.len().min(6)]
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "only {checked} schedules compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! systemd units, rendered from a [`crate::host::Service`], and environment files that systemd's
//! `EnvironmentFile=` and a POSIX shell read the same way.
//!
//! Every value is escaped for the directive it lands in, following systemd.syntax(7),
//! systemd.service(5) ("Command lines") and systemd.exec(5):
//!
//! - **Specifiers.** systemd expands `%x` specifiers in almost every directive (Description,
//!   User, WorkingDirectory, EnvironmentFile, Environment, ExecStart, OnCalendar...), quoted or
//!   not, so a literal `%` is always written `%%`.
//! - **Command lines** (`ExecStart=`). The line is split on whitespace; a word in double quotes is
//!   one argument and C escapes (`\\`, `\"`, `\n`, `\xNN`) are decoded inside and outside quotes.
//!   `$NAME` and `${NAME}` are replaced by environment variables even inside quotes, so a literal
//!   `$` is `$$`. An unquoted lone `;` separates commands, a quoted one does not. An argument is
//!   written bare when it only has characters with no meaning to that parser, otherwise in double
//!   quotes with `\`, `"` and control characters escaped, `$` doubled and `%` doubled.
//! - **`Environment=`** takes `"NAME=value"` words with the same quoting and C escapes, but no
//!   `$` expansion (systemd.exec(5): "`$` has no special meaning"), so `$` stays single there.
//! - **Environment files** ([`env_file`]): `NAME="value"` with `\`, `"`, `` ` `` and `$`
//!   backslash-escaped, which is what a POSIX shell does inside double quotes. systemd 247 and
//!   later (PR #17027, "make sure our env file writer, parser and shell agree") parse exactly this
//!   way; systemd 239 and older (Oracle Linux 8) drop every backslash of an escape pair, which
//!   gives the same result for these four characters. systemd 240–246 (Ubuntu 20.04's 245) keep
//!   the backslash in front of everything but `"`, so values with `\`, `` ` `` or `$` differ
//!   there; plain values (names, URLs, paths, numbers) read the same everywhere.

use crate::host::Service;

/// Escapes `%` so specifier expansion leaves the text as it is.
pub fn escape_specifiers(text: &str) -> String {
    text.replace('%', "%%")
}

/// A single-line directive value: `%` escaped, and control characters (which would end the
/// line or be rejected) replaced by spaces. For free text such as `Description=`.
fn line_value(text: &str) -> String {
    escape_specifiers(
        &text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>(),
    )
}

/// Characters that can appear in a bare (unquoted) word of a systemd command line without being
/// interpreted: everything else forces double quotes.
fn is_bare_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/._-+=:,@^~[]{}!?#*&<>|()".contains(c) || !c.is_ascii()
}

/// Writes `c` C-escaped for the inside of a double-quoted systemd word.
fn push_c_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '"' => out.push_str("\\\""),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
        c => out.push(c),
    }
}

/// Quotes one argument of an `Exec*=` command line so systemd passes exactly `arg` to the
/// program: bare when safe, otherwise double-quoted with C escapes; `$` becomes `$$` and `%`
/// becomes `%%` in both forms. An empty argument is `""`.
pub fn exec_arg(arg: &str) -> String {
    let needs_quotes = arg.is_empty() || !arg.chars().all(is_bare_safe);
    let mut out = String::with_capacity(arg.len() + 2);
    if needs_quotes {
        out.push('"');
    }
    for c in arg.chars() {
        match c {
            '$' => out.push_str("$$"),
            '%' => out.push_str("%%"),
            c => push_c_escaped(&mut out, c),
        }
    }
    if needs_quotes {
        out.push('"');
    }
    out
}

/// A whole `Exec*=` command line: every argument through [`exec_arg`], space-separated.
pub fn exec_line(args: &[String]) -> String {
    args.iter()
        .map(|a| exec_arg(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One `Environment=` word, `"NAME=value"`: double-quoted with C escapes and `%` doubled; `$` is
/// literal in `Environment=`.
pub fn environment_assignment(name: &str, value: &str) -> String {
    let mut out = String::from("\"");
    for c in name
        .chars()
        .chain(std::iter::once('='))
        .chain(value.chars())
    {
        match c {
            '%' => out.push_str("%%"),
            c => push_c_escaped(&mut out, c),
        }
    }
    out.push('"');
    out
}

/// One line of an environment file, `NAME="value"`, read identically by systemd's
/// `EnvironmentFile=` (247 and later, and 239 and older) and by a POSIX shell (`. file`): inside
/// double quotes `\`, `"`, `` ` `` and `$` are backslash-escaped and nothing else is special. A
/// newline in `value` stays a literal newline inside the quotes, which both readers keep.
pub fn env_line(name: &str, value: &str) -> String {
    let mut out = String::with_capacity(name.len() + value.len() + 4);
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '`' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A whole environment file: an optional comment header (each line prefixed with `# `), then one
/// [`env_line`] per pair, in the given order, with a trailing newline.
pub fn env_file(header: &[&str], pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for line in header {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(&line.replace('\n', " "));
            out.push('\n');
        }
    }
    for (name, value) in pairs {
        out.push_str(&env_line(name, value));
        out.push('\n');
    }
    out
}

/// Renders the `[Unit]` and `[Service]` sections of `service`.
fn unit_and_service(out: &mut String, service: &Service) {
    out.push_str("[Unit]\n");
    out.push_str(&format!(
        "Description={}\n",
        line_value(&service.description)
    ));
    let mut after = vec!["network-online.target".to_string()];
    for a in &service.after {
        if !after.contains(a) {
            after.push(a.clone());
        }
    }
    out.push_str(&format!("After={}\n", line_value(&after.join(" "))));
    out.push_str("Wants=network-online.target\n");
    if !service.requires.is_empty() {
        out.push_str(&format!(
            "Requires={}\n",
            line_value(&service.requires.join(" "))
        ));
    }
    if !service.requires_mounts_for.is_empty() {
        // Paths with spaces would need systemd's quoting; the mount points we render have none.
        out.push_str(&format!(
            "RequiresMountsFor={}\n",
            line_value(&service.requires_mounts_for.join(" "))
        ));
    }
    out.push('\n');

    out.push_str("[Service]\n");
    out.push_str(&format!("Type={}\n", line_value(&service.service_type)));
    if service.remain_after_exit {
        out.push_str("RemainAfterExit=yes\n");
    }
    out.push_str(&format!("User={}\n", line_value(&service.user)));
    out.push_str(&format!("Group={}\n", line_value(&service.group)));
    if !service.working_directory.is_empty() {
        out.push_str(&format!(
            "WorkingDirectory={}\n",
            line_value(&service.working_directory)
        ));
    }
    for f in &service.environment_files {
        out.push_str(&format!("EnvironmentFile={}\n", line_value(f)));
    }
    for (name, value) in &service.environment {
        out.push_str(&format!(
            "Environment={}\n",
            environment_assignment(name, value)
        ));
    }
    out.push_str(&format!("ExecStart={}\n", exec_line(&service.exec_start)));
    if service.reload_with_sighup {
        out.push_str("ExecReload=/bin/kill -s HUP $MAINPID\n");
    }
    if service.kill_mode_process {
        out.push_str("KillMode=process\n");
    }
    if !service.restart.is_empty() {
        out.push_str(&format!("Restart={}\n", line_value(&service.restart)));
    }
    if let Some(n) = service.limit_nofile {
        out.push_str(&format!("LimitNOFILE={n}\n"));
    }
    if let Some(t) = service.timeout_sec {
        out.push_str(&format!("TimeoutSec={t}\n"));
    }
}

/// The `{name}.service` unit of a long-running service, enabled by `multi-user.target`.
///
/// `After=` always includes `network-online.target` (with a matching `Wants=`): every service we
/// run listens on the host's address, which must be configured first.
pub fn unit(service: &Service) -> String {
    let mut out = String::new();
    unit_and_service(&mut out, service);
    out.push('\n');
    out.push_str("[Install]\n");
    out.push_str("WantedBy=multi-user.target\n");
    out
}

/// A `Type=oneshot` service that runs `command` once as `user` (group `group`) with
/// `environment_files` loaded, for a timer to activate: it has no `[Install]` section (the timer
/// is what gets enabled).
pub fn oneshot_service(
    name: &str,
    description: &str,
    user: &str,
    group: &str,
    command: &[String],
    environment_files: &[String],
) -> Service {
    Service {
        name: name.to_string(),
        description: description.to_string(),
        user: user.to_string(),
        group: group.to_string(),
        exec_start: command.to_vec(),
        environment_files: environment_files.to_vec(),
        environment: Vec::new(),
        working_directory: String::new(),
        after: Vec::new(),
        requires: Vec::new(),
        requires_mounts_for: Vec::new(),
        remain_after_exit: false,
        service_type: "oneshot".to_string(),
        kill_mode_process: false,
        restart: String::new(),
        limit_nofile: None,
        timeout_sec: None,
        reload_with_sighup: false,
    }
}

/// The unit text of a timer-activated service such as one from [`oneshot_service`]: like
/// [`unit`] but without `[Install]`.
pub fn oneshot_unit(service: &Service) -> String {
    let mut out = String::new();
    unit_and_service(&mut out, service);
    out
}

/// `{name}.timer`: activates `{name}.service` at `on_calendar` (a systemd calendar expression,
/// systemd.time(7), such as `Sun *-*-* 01:00:00`). `Persistent=true` runs a start that was missed
/// while the host was down once it is back, so a weekly backup is not skipped by a reboot.
pub fn timer(name: &str, description: &str, on_calendar: &str) -> String {
    let mut out = String::new();
    out.push_str("[Unit]\n");
    out.push_str(&format!("Description={}\n", line_value(description)));
    out.push('\n');
    out.push_str("[Timer]\n");
    out.push_str(&format!("OnCalendar={}\n", line_value(on_calendar)));
    out.push_str("Persistent=true\n");
    out.push_str(&format!("Unit={}.service\n", line_value(name)));
    out.push('\n');
    out.push_str("[Install]\n");
    out.push_str("WantedBy=timers.target\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> Service {
        Service {
            name: "demo".to_string(),
            description: "Demo 100% service".to_string(),
            user: "demo".to_string(),
            group: "demo".to_string(),
            exec_start: vec![
                "/usr/bin/demo".to_string(),
                "--flag=a b".to_string(),
                "$HOME".to_string(),
            ],
            environment_files: vec!["-/etc/demo.env".to_string()],
            environment: vec![("A".to_string(), "x y \"q\" $z 5%".to_string())],
            working_directory: "/var/lib/demo".to_string(),
            after: vec!["etcd.service".to_string()],
            requires: Vec::new(),
            requires_mounts_for: Vec::new(),
            remain_after_exit: false,
            service_type: "simple".to_string(),
            kill_mode_process: true,
            restart: "on-failure".to_string(),
            limit_nofile: Some(1024),
            timeout_sec: Some(30),
            reload_with_sighup: false,
        }
    }

    #[test]
    fn requires_mounts_and_remain_after_exit_are_rendered() {
        let mut s = service();
        s.requires = vec!["pgha-resolve-secrets.service".to_string()];
        s.requires_mounts_for = vec!["/pgdata".to_string(), "/pgwal".to_string()];
        let u = unit(&s);
        assert!(
            u.contains("\nRequires=pgha-resolve-secrets.service\n"),
            "{u}"
        );
        assert!(u.contains("\nRequiresMountsFor=/pgdata /pgwal\n"), "{u}");
        assert!(!u.contains("RemainAfterExit"), "{u}");
        s.service_type = "oneshot".to_string();
        s.remain_after_exit = true;
        assert!(unit(&s).contains("Type=oneshot\nRemainAfterExit=yes\n"));
        // Nothing extra for a unit without them.
        let plain = unit(&service());
        assert!(!plain.contains("Requires"), "{plain}");
    }

    #[test]
    fn exec_arg_leaves_plain_words_bare() {
        assert_eq!(exec_arg("/usr/bin/etcd"), "/usr/bin/etcd");
        assert_eq!(
            exec_arg("--config=/etc/pgbackrest.conf"),
            "--config=/etc/pgbackrest.conf"
        );
    }

    #[test]
    fn exec_arg_escapes_systemd_metacharacters() {
        assert_eq!(exec_arg(""), "\"\"");
        assert_eq!(exec_arg("a b"), "\"a b\"");
        assert_eq!(exec_arg("$HOME"), "\"$$HOME\"");
        assert_eq!(exec_arg("100%"), "\"100%%\"");
        assert_eq!(exec_arg("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(exec_arg("back\\slash"), "\"back\\\\slash\"");
        assert_eq!(exec_arg(";"), "\";\"");
        assert_eq!(exec_arg("it's"), "\"it's\"");
        assert_eq!(exec_arg("a\nb\x01"), "\"a\\nb\\x01\"");
    }

    #[test]
    fn environment_assignment_quotes_without_dollar_escaping() {
        assert_eq!(
            environment_assignment("A", "x y \"q\" $z 5% \\"),
            "\"A=x y \\\"q\\\" $z 5%% \\\\\""
        );
    }

    #[test]
    fn env_line_escapes_shell_double_quote_specials_only() {
        assert_eq!(env_line("A", "plain"), "A=\"plain\"");
        assert_eq!(
            env_line("A", "q\"d$x`c`\\b 'single' 100%"),
            "A=\"q\\\"d\\$x\\`c\\`\\\\b 'single' 100%\""
        );
    }

    #[test]
    fn env_file_has_header_and_trailing_newline() {
        let text = env_file(&["generated", ""], &[("A".to_string(), "1".to_string())]);
        assert_eq!(text, "# generated\n#\nA=\"1\"\n");
    }

    #[test]
    fn unit_renders_every_field() {
        let text = unit(&service());
        let expected = "[Unit]\n\
Description=Demo 100%% service\n\
After=network-online.target etcd.service\n\
Wants=network-online.target\n\
\n\
[Service]\n\
Type=simple\n\
User=demo\n\
Group=demo\n\
WorkingDirectory=/var/lib/demo\n\
EnvironmentFile=-/etc/demo.env\n\
Environment=\"A=x y \\\"q\\\" $z 5%%\"\n\
ExecStart=/usr/bin/demo \"--flag=a b\" \"$$HOME\"\n\
KillMode=process\n\
Restart=on-failure\n\
LimitNOFILE=1024\n\
TimeoutSec=30\n\
\n\
[Install]\n\
WantedBy=multi-user.target\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn oneshot_and_timer() {
        let s = oneshot_service(
            "pgha-backup-full",
            "Full backup",
            "postgres",
            "postgres",
            &[
                "/usr/local/libexec/pgha/backup".to_string(),
                "full".to_string(),
            ],
            &["-/etc/pgha/secrets.env".to_string()],
        );
        let text = oneshot_unit(&s);
        assert!(text.contains("Type=oneshot\n"));
        assert!(text.contains("ExecStart=/usr/local/libexec/pgha/backup full\n"));
        assert!(!text.contains("[Install]"));
        assert!(!text.contains("Restart="));
        let t = timer(
            "pgha-backup-full",
            "Weekly full backup",
            "Sun *-*-* 01:00:00",
        );
        assert!(t.contains("OnCalendar=Sun *-*-* 01:00:00\n"));
        assert!(t.contains("Unit=pgha-backup-full.service\n"));
        assert!(t.ends_with("WantedBy=timers.target\n"));
    }
}

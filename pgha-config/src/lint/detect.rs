//! Recognising what a hand-written file is: first by its name (the conventional names and
//! extensions), then by sniffing its content.

use super::FileType;

/// The type of a file, from its name as the user gave it (a path or a bare name) and, when the name
/// does not tell, its content.
pub fn detect(name: &str, content: &str) -> FileType {
    by_name(name).unwrap_or_else(|| by_content(content))
}

fn by_name(name: &str) -> Option<FileType> {
    let normalized = name.replace('\\', "/");
    let base = normalized.rsplit('/').next().unwrap_or(&normalized);
    let lower = base.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if normalized.contains("/cron.d/") || lower == "crontab" && normalized.starts_with("/etc/") {
        return Some(FileType::CronD);
    }
    if lower == "crontab" || ext == "crontab" || ext == "cron" {
        return Some(FileType::Crontab);
    }
    if matches!(
        ext,
        "service" | "timer" | "socket" | "target" | "mount" | "path" | "slice"
    ) {
        return Some(FileType::SystemdUnit);
    }
    if ext == "sh" || ext == "bash" {
        return Some(FileType::Shell);
    }
    if lower.contains("pgbackrest") && (ext == "conf" || ext == "ini") {
        return Some(FileType::PgbackrestConf);
    }
    if lower.contains("etcd") && matches!(ext, "conf" | "env" | "") {
        return Some(FileType::EtcdEnv);
    }
    if lower.contains("patroni") && matches!(ext, "yml" | "yaml") {
        return Some(FileType::PatroniYaml);
    }
    None
}

fn by_content(content: &str) -> FileType {
    let lines: Vec<&str> = content
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let meaningful: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.starts_with('#'))
        .collect();
    if let Some(first) = lines.first() {
        if first.starts_with("#!") {
            return FileType::Shell;
        }
    }
    if meaningful.is_empty() {
        return FileType::Unknown;
    }
    let etcd = meaningful
        .iter()
        .filter(|l| l.starts_with("ETCD_") && l.contains('='))
        .count();
    if etcd * 2 >= meaningful.len() {
        return FileType::EtcdEnv;
    }
    let sections: Vec<&str> = meaningful
        .iter()
        .copied()
        .filter(|l| l.starts_with('[') && l.ends_with(']'))
        .collect();
    if sections.iter().any(|s| {
        matches!(
            *s,
            "[Unit]" | "[Service]" | "[Install]" | "[Timer]" | "[Socket]"
        )
    }) {
        return FileType::SystemdUnit;
    }
    if sections.iter().any(|s| s.starts_with("[global")) || {
        meaningful.iter().any(|l| {
            let k = l.split('=').next().unwrap_or("").trim();
            k.starts_with("repo1-") || k.starts_with("pg1-")
        })
    } {
        return FileType::PgbackrestConf;
    }
    let patroni_keys = [
        "scope",
        "restapi",
        "bootstrap",
        "postgresql",
        "etcd",
        "etcd3",
        "tags",
    ];
    let top_keys = content
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#'))
        .filter_map(|l| l.split(':').next())
        .filter(|k| patroni_keys.contains(&k.trim()))
        .count();
    if top_keys >= 2 {
        return FileType::PatroniYaml;
    }
    let cron_lines = meaningful.iter().filter(|l| looks_like_cron(l)).count();
    if cron_lines * 2 > meaningful.len() {
        let with_user = meaningful
            .iter()
            .filter(|l| looks_like_cron(l))
            .filter(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let user = if l.starts_with('@') {
                    f.get(1)
                } else {
                    f.get(5)
                };
                user.is_some_and(|u| KNOWN_USERS.contains(u))
            })
            .count();
        return if with_user * 2 > cron_lines {
            FileType::CronD
        } else {
            FileType::Crontab
        };
    }
    let shellish = meaningful
        .iter()
        .filter(|l| {
            let w = l.split_whitespace().next().unwrap_or("");
            w.starts_with('/')
                || matches!(
                    w,
                    "pgbackrest"
                        | "patronictl"
                        | "etcdctl"
                        | "sudo"
                        | "systemctl"
                        | "export"
                        | "cd"
                        | "echo"
                        | "if"
                        | "for"
                        | "while"
                        | "psql"
                )
        })
        .count();
    if shellish * 2 > meaningful.len() {
        return FileType::Shell;
    }
    FileType::Unknown
}

/// Accounts that commonly appear as the user field of system crontab lines.
pub(crate) const KNOWN_USERS: &[&str] = &["root", "postgres", "etcd"];

fn looks_like_cron(l: &str) -> bool {
    if l.starts_with('@') {
        return true;
    }
    let f: Vec<&str> = l.split_whitespace().collect();
    f.len() >= 5
        && f.iter().take(4).all(|x| {
            x.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '/' | ',' | '-'))
        })
        && f.first()
            .is_some_and(|x| x.chars().all(|c| c.is_ascii_digit() || "*/,-".contains(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decide_first() {
        assert_eq!(
            detect("/etc/patroni/patroni.yml", ""),
            FileType::PatroniYaml
        );
        assert_eq!(detect("etcd-02.conf", ""), FileType::EtcdEnv);
        assert_eq!(detect("/etc/etcd/etcd.conf", ""), FileType::EtcdEnv);
        assert_eq!(detect("etcd.service", ""), FileType::SystemdUnit);
        assert_eq!(detect("/etc/pgbackrest.conf", ""), FileType::PgbackrestConf);
        assert_eq!(detect("crontab", ""), FileType::Crontab);
        assert_eq!(detect("/etc/cron.d/pgha", ""), FileType::CronD);
        assert_eq!(detect("boot.sh", ""), FileType::Shell);
    }

    #[test]
    fn content_decides_otherwise() {
        assert_eq!(
            detect("x", "ETCD_NAME=a\nETCD_DATA_DIR=/d\n"),
            FileType::EtcdEnv
        );
        assert_eq!(
            detect("x", "[Unit]\nDescription=a\n"),
            FileType::SystemdUnit
        );
        assert_eq!(
            detect("x", "[global]\nrepo1-path=/r\n"),
            FileType::PgbackrestConf
        );
        assert_eq!(
            detect("x", "scope: a\nrestapi:\n  listen: x\n"),
            FileType::PatroniYaml
        );
        assert_eq!(detect("x", "#!/bin/sh\necho\n"), FileType::Shell);
        assert_eq!(
            detect("x", "0 1 * * 0 postgres pgbackrest backup\n"),
            FileType::CronD
        );
        assert_eq!(
            detect("x", "0 1 * * 0 pgbackrest backup\n"),
            FileType::Crontab
        );
        assert_eq!(detect("notes.txt", "hello world\n"), FileType::Unknown);
    }
}

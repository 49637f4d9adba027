//! The files our renderer produces for the seed example must lint clean: no errors, and only
//! warnings that are justified (listed here with the reason).

mod common;

use pgha_config::diagnostic::{Location, Severity};
use pgha_config::host::FileKind;
use pgha_config::lint::{detect, lint_files, FileType};

/// Warnings the rendered files may carry on purpose: (code, why).
const JUSTIFIED: &[(&str, &str)] = &[];

#[test]
fn rendered_seed_files_lint_clean() {
    let cluster = common::seed();
    let (hosts, _) = pgha_config::render_cluster(&cluster).expect("seed example renders");
    let mut linted = 0;
    let mut problems = Vec::new();
    for host in &hosts {
        let mut files = Vec::new();
        for f in &host.files {
            let expected = match f.kind {
                FileKind::PatroniYaml => FileType::PatroniYaml,
                FileKind::EnvFile if f.path.contains("etcd") => FileType::EtcdEnv,
                FileKind::PgbackrestConf => FileType::PgbackrestConf,
                FileKind::Shell => FileType::Shell,
                FileKind::SystemdUnit => FileType::SystemdUnit,
                FileKind::CronD => FileType::CronD,
                _ => continue,
            };
            let got = detect(&f.path, &f.content);
            if got != expected {
                problems.push(format!(
                    "{}: {}: detected as {got:?}, rendered as {:?}",
                    host.host, f.path, f.kind
                ));
            }
            files.push((f.path.clone(), f.content.clone()));
        }
        linted += files.len();
        for d in lint_files(&files) {
            let justified = JUSTIFIED.iter().any(|(c, _)| *c == d.code);
            let bad =
                d.severity == Severity::Error || (d.severity == Severity::Warning && !justified);
            if bad {
                let loc = match &d.location {
                    Location::File { .. } => d.location.to_string(),
                    other => other.to_string(),
                };
                problems.push(format!("{}: {loc}: {d}", host.host));
            }
        }
    }
    assert!(linted > 0, "the renderer produced no lintable files yet");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

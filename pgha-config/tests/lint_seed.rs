//! The tutorial's own files (extracted verbatim into tests/fixtures/seed/, see its README) are
//! linted together, and every defect found in them is asserted by code, file and line. Each
//! defect is also checked to disappear once the line is corrected, so that the finding is tied to
//! the defect and not to something else on the line.

mod common;

use common::fixture;
use pgha_config::diagnostic::{Location, Severity};
use pgha_config::lint::{detect, lint_file, lint_files, FileType};
use pgha_config::Diagnostic;

const FILES: &[&str] = &[
    "patroni.yml",
    "etcd-01.conf",
    "etcd-02.conf",
    "etcd-03.conf",
    "etcd.service",
    "pgbackrest.conf",
    "boot_pgbackrest.sh",
    "patroni.service",
    "crontab",
    "commands.sh",
];

fn all() -> Vec<Diagnostic> {
    let files: Vec<(String, String)> = FILES.iter().map(|n| (n.to_string(), fixture(n))).collect();
    lint_files(&files)
}

fn at(d: &Diagnostic) -> (String, usize, usize) {
    match &d.location {
        Location::File { file, line, column } => (file.clone(), *line, *column),
        other => panic!("lint diagnostics point into files, not {other}"),
    }
}

/// Every defect of the tutorial's files: (file, code, line). ShellCheck's own findings (L505) are
/// checked separately, as their exact set depends on the ShellCheck version.
const DEFECTS: &[(&str, &str, usize)] = &[
    // patroni.yml
    ("patroni.yml", "L102", 1),  // scope:pg-ha-cluster
    ("patroni.yml", "L102", 2),  // name:pg-db-01
    ("patroni.yml", "L102", 3),  // namespace:/opt/pgsql/patroni/
    ("patroni.yml", "L101", 5),  // the YAML parser's first error
    ("patroni.yml", "L104", 9),  // ` etcd:` between restapi and its entries
    ("patroni.yml", "L111", 21), // parameters under bootstrap.dcs
    ("patroni.yml", "L002", 22), // <stanza-name> in archive_command
    ("patroni.yml", "L901", 22),
    ("patroni.yml", "L111", 39), // create_replica_methods among the parameters
    ("patroni.yml", "L111", 41), // pgbackrest replica method among the parameters
    ("patroni.yml", "L002", 42),
    ("patroni.yml", "L901", 42),
    ("patroni.yml", "L111", 45), // recovery_conf under bootstrap.dcs
    ("patroni.yml", "L002", 47),
    ("patroni.yml", "L119", 47), // archive-get %f %P
    ("patroni.yml", "L901", 47),
    ("patroni.yml", "L104", 48), // `method` between dcs and its entries
    ("patroni.yml", "L002", 54),
    ("patroni.yml", "L119", 54),
    ("patroni.yml", "L901", 54),
    ("patroni.yml", "L115", 58), // bootstrap.pg_hba
    ("patroni.yml", "L123", 59), // md5 with scram-sha-256
    ("patroni.yml", "L123", 60),
    ("patroni.yml", "L123", 61),
    ("patroni.yml", "L123", 62),
    ("patroni.yml", "L003", 63), // x.x.x.0/0
    ("patroni.yml", "L122", 63),
    ("patroni.yml", "L123", 63),
    ("patroni.yml", "L116", 64), // bootstrap.users
    ("patroni.yml", "L121", 66), // password: admin
    ("patroni.yml", "L111", 72), // listen: outside the empty `postgresql:`
    ("patroni.yml", "L111", 73),
    ("patroni.yml", "L111", 74),
    ("patroni.yml", "L111", 75),
    ("patroni.yml", "L111", 76),
    ("patroni.yml", "L121", 79), // password: password
    ("patroni.yml", "L121", 82),
    ("patroni.yml", "L111", 86), // parameters outside `postgresql:`
    // etcd env files
    ("etcd-01.conf", "L209", 8),  // 127.0.0.1:7001 peer listener
    ("etcd-01.conf", "L208", 15), // ETCD_ENABLE_V2
    ("etcd-02.conf", "L203", 3),  // ETCD_NAME=" pg-etcd-02"
    ("etcd-02.conf", "L210", 6),  // existing: needs member add
    ("etcd-02.conf", "L209", 8),
    ("etcd-02.conf", "L208", 14),
    ("etcd-03.conf", "L210", 6),
    ("etcd-03.conf", "L209", 8),
    ("etcd-03.conf", "L208", 14),
    // etcd.service
    ("etcd.service", "L605", 13), // Type=notify through bash -c
    // pgbackrest.conf
    ("pgbackrest.conf", "L003", 6), // xxxxx0011
    ("pgbackrest.conf", "L304", 6), // https:// in the endpoint
    ("pgbackrest.conf", "L003", 7),
    ("pgbackrest.conf", "L309", 7), // key in the file
    ("pgbackrest.conf", "L003", 8),
    ("pgbackrest.conf", "L309", 8),
    ("pgbackrest.conf", "L305", 15), // [stanza-name]
    ("pgbackrest.conf", "L901", 15),
    ("pgbackrest.conf", "L306", 17), // pg1-user=Postgres
    // boot_pgbackrest.sh
    ("boot_pgbackrest.sh", "L501", 1), // #!/ usr / bin /env bash
    ("boot_pgbackrest.sh", "L503", 3), // ${ optchar }
    ("boot_pgbackrest.sh", "L503", 4),
    ("boot_pgbackrest.sh", "L502", 5), // bash -n: datadir =* )
    ("boot_pgbackrest.sh", "L503", 6),
    ("boot_pgbackrest.sh", "L504", 6), // DATA_DIR =...
    ("boot_pgbackrest.sh", "L503", 9),
    ("boot_pgbackrest.sh", "L504", 9),
    ("boot_pgbackrest.sh", "L901", 13), // --stanza=$SCOPE
    // patroni.service
    ("patroni.service", "L607", 3),  // After=syslog.target
    ("patroni.service", "L606", 38), // Restart=no
    // crontab
    ("crontab", "L403", 2), // postgres as a command
    ("crontab", "L405", 2), // &> under /bin/sh
    ("crontab", "L403", 4),
    ("crontab", "L405", 4),
    ("crontab", "L401", 6), // four time fields
    // commands.sh
    ("commands.sh", "L002", 1),
    ("commands.sh", "L507", 1),
    ("commands.sh", "L901", 1),
    ("commands.sh", "L010", 2), // --stanza= pgha
    ("commands.sh", "L901", 2),
];

#[test]
fn files_are_detected_by_name() {
    let expect = [
        ("patroni.yml", FileType::PatroniYaml),
        ("etcd-01.conf", FileType::EtcdEnv),
        ("etcd.service", FileType::SystemdUnit),
        ("pgbackrest.conf", FileType::PgbackrestConf),
        ("boot_pgbackrest.sh", FileType::Shell),
        ("patroni.service", FileType::SystemdUnit),
        ("crontab", FileType::Crontab),
        ("commands.sh", FileType::Shell),
    ];
    for (name, kind) in expect {
        assert_eq!(detect(name, &fixture(name)), kind, "{name}");
    }
    // And by content when the name says nothing.
    assert_eq!(detect("a", &fixture("etcd-02.conf")), FileType::EtcdEnv);
    assert_eq!(
        detect("a", &fixture("pgbackrest.conf")),
        FileType::PgbackrestConf
    );
    assert_eq!(
        detect("a", &fixture("patroni.service")),
        FileType::SystemdUnit
    );
    assert_eq!(detect("a", &fixture("boot_pgbackrest.sh")), FileType::Shell);
    assert_eq!(detect("a", &fixture("crontab")), FileType::CronD);
}

#[test]
fn every_defect_of_the_tutorial_is_reported() {
    let diags = all();
    let mut missing = Vec::new();
    for (file, code, line) in DEFECTS {
        let found = diags.iter().any(|d| {
            let (f, l, _) = at(d);
            d.code == *code && f == *file && l == *line
        });
        if !found {
            missing.push(format!("{file}:{line} {code}"));
        }
    }
    let shown: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert!(
        missing.is_empty(),
        "missing {missing:?}\nall:\n{}",
        shown.join("\n")
    );
    // Nothing else is reported, apart from ShellCheck's findings on the broken script.
    let unexpected: Vec<&String> = diags
        .iter()
        .zip(&shown)
        .filter(|(d, _)| {
            let (f, l, _) = at(d);
            d.code != "L505"
                && !DEFECTS
                    .iter()
                    .any(|(df, dc, dl)| *df == f && *dc == d.code && *dl == l)
        })
        .map(|(_, s)| s)
        .collect();
    assert!(unexpected.is_empty(), "unexpected: {unexpected:#?}");
    assert!(
        diags
            .iter()
            .any(|d| d.code == "L505" && at(d).0 == "boot_pgbackrest.sh"),
        "ShellCheck's findings are mapped (is shellcheck installed?)"
    );
}

#[test]
fn positions_point_at_the_defect() {
    let diags = all();
    let col = |file: &str, code: &str, line: usize| -> usize {
        diags
            .iter()
            .find(|d| d.code == code && at(d).0 == file && at(d).1 == line)
            .map(|d| at(d).2)
            .unwrap_or_else(|| panic!("{file}:{line} {code}"))
    };
    assert_eq!(
        col("patroni.yml", "L102", 1),
        7,
        "the missing space after `scope:`"
    );
    assert_eq!(col("patroni.yml", "L104", 9), 2, "the key ` etcd:`");
    assert_eq!(col("patroni.yml", "L119", 47), 85, "the `%P`");
    assert_eq!(col("patroni.yml", "L122", 63), 21, "x.x.x.0/0");
    assert_eq!(
        col("crontab", "L401", 6),
        10,
        "where the command starts: `find`"
    );
    assert_eq!(col("crontab", "L403", 2), 13, "`postgres`");
    assert_eq!(
        col("etcd-02.conf", "L203", 3),
        12,
        "the leading space of the name"
    );
    assert_eq!(col("commands.sh", "L010", 2), 25, "`--stanza=`");
    assert_eq!(col("boot_pgbackrest.sh", "L503", 3), 13, "`${{ optchar }}`");
    assert_eq!(col("pgbackrest.conf", "L304", 6), 19, "the endpoint value");
}

#[test]
fn the_stanza_hint_names_the_majority() {
    let diags = all();
    let l901: Vec<&Diagnostic> = diags.iter().filter(|d| d.code == "L901").collect();
    assert_eq!(l901.len(), 8, "every use that differs from the majority");
    for d in &l901 {
        let hint = d.hint.as_deref().unwrap_or("");
        assert!(hint.contains("`ash1-adeprod1-pgcluster`"), "{d}");
        assert!(
            hint.contains("`pg-ha-cluster`"),
            "the Patroni scope is offered too: {d}"
        );
        assert_eq!(d.severity, Severity::Error);
    }
    // `$SCOPE` is the Patroni scope passed to the bootstrap script.
    assert!(l901
        .iter()
        .any(|d| d.message.contains("`$SCOPE` (= `pg-ha-cluster`)")));
}

/// Lints one fixture after replacing `from` by `to` on line `line`, returning its diagnostics
/// (cross-file checks excluded by linting it alone).
fn fixed(file: &str, line: usize, from: &str, to: &str) -> Vec<Diagnostic> {
    let text = fixture(file);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let l = &mut lines[line - 1];
    assert!(
        l.contains(from),
        "{file}:{line} does not contain {from:?}: {l:?}"
    );
    *l = l.replacen(from, to, 1);
    lint_file(file, &(lines.join("\n") + "\n"))
}

fn has(diags: &[Diagnostic], code: &str, line: usize) -> bool {
    diags.iter().any(|d| d.code == code && at(d).1 == line)
}

#[test]
fn each_defect_disappears_when_its_line_is_corrected() {
    let cases: &[(&str, usize, &str, &str, &str)] = &[
        ("patroni.yml", 1, "scope:", "scope: ", "L102"),
        ("patroni.yml", 47, "%P", "%p", "L119"),
        ("patroni.yml", 63, "x.x.x.0/0", "192.0.2.0/24", "L122"),
        ("patroni.yml", 63, "x.x.x.0/0", "192.0.2.0/24", "L003"),
        ("patroni.yml", 59, "md5", "scram-sha-256", "L123"),
        ("patroni.yml", 66, "admin", "Zq8-vT3xLw9pR2", "L121"),
        ("patroni.yml", 22, "<stanza-name>", "pg-ha-cluster", "L002"),
        ("patroni.yml", 9, " etcd:", "etcd:", "L104"),
        ("patroni.yml", 48, "    method", "   method", "L104"),
        (
            "etcd-02.conf",
            3,
            "\" pg-etcd-02\"",
            "\"pg-etcd-02\"",
            "L203",
        ),
        ("etcd-02.conf", 6, "existing", "new", "L210"),
        ("etcd-02.conf", 8, ",http://127.0.0.1:7001", "", "L209"),
        ("etcd-01.conf", 15, "ETCD_ENABLE_V2=\"true\"", "", "L208"),
        (
            "etcd.service",
            13,
            "/bin/bash -c \"GOMAXPROCS=$(nproc) /usr/local/bin/etcd\"",
            "/usr/local/bin/etcd",
            "L605",
        ),
        (
            "pgbackrest.conf",
            6,
            "https://xxxxx0011",
            "examplenamespace",
            "L304",
        ),
        (
            "pgbackrest.conf",
            6,
            "https://xxxxx0011",
            "examplenamespace",
            "L003",
        ),
        (
            "pgbackrest.conf",
            15,
            "stanza-name",
            "pg-ha-cluster",
            "L305",
        ),
        ("pgbackrest.conf", 17, "Postgres", "postgres", "L306"),
        (
            "boot_pgbackrest.sh",
            1,
            "#!/ usr / bin /env bash",
            "#!/usr/bin/env bash",
            "L501",
        ),
        (
            "boot_pgbackrest.sh",
            3,
            "${ optchar }",
            "${optchar}",
            "L503",
        ),
        (
            "boot_pgbackrest.sh",
            5,
            "datadir =* )",
            "--datadir=*)",
            "L502",
        ),
        ("boot_pgbackrest.sh", 6, "DATA_DIR =", "DATA_DIR=", "L504"),
        ("patroni.service", 3, "syslog.target ", "", "L607"),
        (
            "patroni.service",
            38,
            "Restart=no",
            "Restart=on-failure",
            "L606",
        ),
        ("crontab", 2, " postgres ", " ", "L403"),
        ("crontab", 2, "&> /dev/null", ">/dev/null 2>&1", "L405"),
        ("crontab", 6, "08 * * *", "08 0 * * *", "L401"),
        ("commands.sh", 2, "--stanza= pgha", "--stanza=pgha", "L010"),
    ];
    for (file, line, from, to, code) in cases {
        let before = lint_file(file, &fixture(file));
        assert!(
            has(&before, code, *line),
            "{file}:{line} {code} before the fix"
        );
        let after = fixed(file, *line, from, to);
        assert!(
            !has(&after, code, *line),
            "{file}:{line} {code} after replacing {from:?} with {to:?}: {:#?}",
            after.iter().filter(|d| d.code == *code).collect::<Vec<_>>()
        );
    }
}

#[test]
fn patroni_yaml_once_spaces_are_fixed_fails_at_the_indentation() {
    // With `key: value` repaired, the YAML parser's first error moves to the shifted block.
    let text = fixture("patroni.yml")
        .replacen("scope:", "scope: ", 1)
        .replacen("name:", "name: ", 1)
        .replacen("namespace:", "namespace: ", 1);
    let d = lint_file("patroni.yml", &text);
    let l101: Vec<_> = d.iter().filter(|d| d.code == "L101").collect();
    assert_eq!(l101.len(), 1, "{d:#?}");
    assert!((9..=12).contains(&at(l101[0]).1), "{}", l101[0]);
    assert!(!d.iter().any(|d| d.code == "L102"));
}

#[test]
fn unknown_files_get_one_warning() {
    let d = lint_file("notes.txt", "just some words\n");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "L001");
    assert_eq!(d[0].severity, Severity::Warning);
    assert!(d[0].hint.as_deref().unwrap_or("").contains("patroni.yml"));
}

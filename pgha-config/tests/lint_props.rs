//! `lint_file` never panics, whatever it is given: arbitrary text, arbitrary bytes read as lossy
//! UTF-8, and the tutorial's files with characters deleted or with `:`, spaces, tabs, quotes
//! and other structural characters inserted, under every file name the linter recognises.

mod common;

use common::fixture;
use proptest::prelude::*;

const FIXTURES: &[&str] = &[
    "patroni.yml",
    "etcd-02.conf",
    "etcd.service",
    "pgbackrest.conf",
    "boot_pgbackrest.sh",
    "patroni.service",
    "crontab",
    "commands.sh",
];

/// Names that select each linter (shell scripts are checked separately: they run bash and
/// shellcheck, so fewer cases).
const NAMES: &[&str] = &[
    "patroni.yml",
    "etcd.conf",
    "pgbackrest.conf",
    "crontab",
    "/etc/cron.d/pgha",
    "x.service",
    "notes",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Insert(usize, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (
            any::<usize>(),
            prop::sample::select(vec![
                ':', ' ', '\t', '"', '\'', '\n', '-', '#', '[', ']', '{', '%', '=', '$', '\\', '<',
                '|', '\r', 'é'
            ])
        )
            .prop_map(|(p, c)| Edit::Insert(p, c)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        match *e {
            Edit::Delete(p) if !chars.is_empty() => {
                let i = p % chars.len();
                chars.remove(i);
            }
            Edit::Delete(_) => {}
            Edit::Insert(p, c) => {
                let i = p % (chars.len() + 1);
                chars.insert(i, c);
            }
        }
    }
    chars.into_iter().collect()
}

fn lint_under_every_name(text: &str, names: &[&str]) {
    for name in names {
        let diags = pgha_config::lint::lint_file(name, text);
        for d in &diags {
            assert!(d.code.starts_with('L'), "{d}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        lint_under_every_name(&text, NAMES);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        lint_under_every_name(&text, NAMES);
    }

    #[test]
    fn structured_noise_never_panics(lines in prop::collection::vec(
        "[ \t]{0,4}[-a-zA-Z_:#\"'\\[\\]%=<>$ {}0-9.*/]{0,30}", 0..30)) {
        lint_under_every_name(&lines.join("\n"), NAMES);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0..FIXTURES.len(),
        edits in prop::collection::vec(edit(), 1..12),
    ) {
        let text = apply(&fixture(FIXTURES[which]), &edits);
        lint_under_every_name(&text, NAMES);
        // And under its own name, which picks the matching linter.
        if !FIXTURES[which].ends_with(".sh") {
            lint_under_every_name(&text, &[FIXTURES[which]]);
        }
    }
}

proptest! {
    // The shell linter runs bash -n and shellcheck on every case.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn shell_linter_never_panics(
        which in 0..FIXTURES.len(),
        edits in prop::collection::vec(edit(), 0..12),
        noise in "\\PC{0,80}",
    ) {
        let text = apply(&fixture(FIXTURES[which]), &edits) + &noise;
        lint_under_every_name(&text, &["x.sh"]);
    }
}

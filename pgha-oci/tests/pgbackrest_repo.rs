//! Reads a repository that the installed pgBackRest (2.45) wrote for a real
//! PostgreSQL 15 cluster, through the posix reader and through the Object
//! Storage stand-in, and checks the result against
//! `pgbackrest info --output=json` and against pgBackRest's own checksum
//! verdict on tampered files.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    build_pgbackrest_repo, openssl_key, run, signer_for, tamper, Standin, StandinOptions,
};
use pgha_oci::pgbackrest::{info_checksum, parse_info};
use pgha_oci::{
    read_stanza, ObjectStorageClient, ObjectStorageError, ObjectStorageRepo, PosixRepo, RepoError,
    StanzaReport, StanzaStatus,
};
use serde_json::Value;

const STANZA: &str = "demo";
const NS: &str = "pghatestns";
const BUCKET: &str = "pg-backups";

struct Fixture {
    _dir: tempfile::TempDir,
    work: PathBuf,
    info: Value,
}

impl Fixture {
    fn repo(&self) -> PathBuf {
        self.work.join("repo")
    }

    /// `cp -a` of the repository (keeps postgres ownership for pgbackrest).
    fn copy_repo(&self, name: &str) -> PathBuf {
        let dest = self.work.join(name);
        run(Command::new("cp").arg("-a").arg(self.repo()).arg(&dest));
        dest
    }

    /// Runs `pgbackrest info` (text output) on another repository path.
    fn pgbackrest_info(&self, repo: &Path) -> String {
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--", "pgbackrest"])
            .arg(format!(
                "--config={}",
                self.work.join("pgbackrest.conf").display()
            ))
            .arg(format!("--repo1-path={}", repo.display()))
            .arg(format!("--stanza={STANZA}"))
            .arg("info")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }
}

fn build_repository() -> Fixture {
    let (dir, work, info) = build_pgbackrest_repo(STANZA);
    Fixture {
        _dir: dir,
        work,
        info,
    }
}

/// Field-by-field comparison with `pgbackrest info --output=json`.
fn assert_matches_pgbackrest(report: &StanzaReport, info: &Value) {
    let stanza = info
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == STANZA)
        .unwrap();
    assert_eq!(
        stanza["status"]["code"], 0,
        "pgbackrest reports the stanza ok"
    );
    assert_eq!(report.status, StanzaStatus::Ok);

    let expected = stanza["backup"].as_array().unwrap();
    assert_eq!(report.backups.len(), expected.len());
    assert_eq!(expected.len(), 3, "full, diff, incr");
    for (ours, theirs) in report.backups.iter().zip(expected) {
        let label = &ours.label;
        assert_eq!(theirs["label"], *label);
        assert_eq!(theirs["type"], ours.backup_type.as_str(), "{label}");
        assert_eq!(
            theirs["timestamp"]["start"], ours.timestamp_start,
            "{label}"
        );
        assert_eq!(theirs["timestamp"]["stop"], ours.timestamp_stop, "{label}");
        assert_eq!(theirs["info"]["size"], ours.database_size, "{label}");
        assert_eq!(theirs["info"]["delta"], ours.database_size_delta, "{label}");
        assert_eq!(
            theirs["info"]["repository"]["size"], ours.repo_size,
            "{label}"
        );
        assert_eq!(
            theirs["info"]["repository"]["delta"], ours.repo_size_delta,
            "{label}"
        );
        assert_eq!(
            theirs["archive"]["start"].as_str(),
            ours.wal_start.as_deref(),
            "{label}"
        );
        assert_eq!(
            theirs["archive"]["stop"].as_str(),
            ours.wal_stop.as_deref(),
            "{label}"
        );
        assert_eq!(
            theirs["lsn"]["start"].as_str(),
            ours.lsn_start.as_deref(),
            "{label}"
        );
        assert_eq!(
            theirs["lsn"]["stop"].as_str(),
            ours.lsn_stop.as_deref(),
            "{label}"
        );
        assert_eq!(theirs["prior"].as_str(), ours.prior.as_deref(), "{label}");
        let reference: Vec<&str> = theirs["reference"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
            .unwrap_or_default();
        assert_eq!(reference, ours.reference, "{label}");
        assert_eq!(theirs["database"]["id"], ours.db_id, "{label}");
        assert_eq!(theirs["error"].as_bool(), ours.error, "{label}");
        assert_eq!(
            theirs["backrest"]["version"].as_str(),
            ours.backrest_version.as_deref()
        );
    }
    let kinds: Vec<&str> = report
        .backups
        .iter()
        .map(|b| b.backup_type.as_str())
        .collect();
    assert_eq!(kinds, ["full", "diff", "incr"]);

    let archives = stanza["archive"].as_array().unwrap();
    assert_eq!(report.archive.len(), archives.len());
    for (ours, theirs) in report.archive.iter().zip(archives) {
        assert_eq!(theirs["id"], ours.archive_id.as_str());
        assert_eq!(theirs["database"]["id"], ours.db_id);
        assert_eq!(theirs["min"].as_str(), ours.min.as_deref());
        assert_eq!(theirs["max"].as_str(), ours.max.as_deref());
    }
    assert!(report.archive[0].segments >= 5, "{:?}", report.archive);

    let db = report.db.as_ref().unwrap();
    let their_db = &stanza["db"][0];
    assert_eq!(their_db["id"], db.id);
    assert_eq!(their_db["system-id"], db.system_id);
    assert_eq!(their_db["version"], db.version.as_str());
}

fn pgbackrest_actual_checksum(output: &str) -> String {
    let marker = "invalid checksum, actual '";
    let at = output
        .find(marker)
        .unwrap_or_else(|| panic!("pgbackrest did not report a checksum error:\n{output}"))
        + marker.len();
    output[at..at + 40].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn pgbackrest_repository_through_posix_and_object_storage() {
    let fx = build_repository();

    // 1. Checksums of the files pgBackRest 2.45 wrote verify.
    for f in ["backup/demo/backup.info", "archive/demo/archive.info"] {
        let bytes = std::fs::read(fx.repo().join(f)).unwrap();
        let parsed = parse_info(&bytes).unwrap();
        assert!(parsed.checksum_ok(), "{f}: {parsed:?}");
        assert_eq!(
            info_checksum(std::str::from_utf8(&bytes).unwrap()).unwrap(),
            parsed.checksum_expected.clone().unwrap()
        );
    }

    // 2. Posix reader against `pgbackrest info --output=json`.
    let posix = PosixRepo::new(fx.repo());
    let report = read_stanza(&posix, STANZA).await.unwrap();
    assert_matches_pgbackrest(&report, &fx.info);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    // 3. The same repository in a bucket, read through the signing stand-in.
    let key = openssl_key(2048);
    let standin_root = fx.work.join("standin");
    let bucket_dir = standin_root.join(NS).join(BUCKET);
    std::fs::create_dir_all(&bucket_dir).unwrap();
    run(Command::new("cp")
        .arg("-a")
        .arg(fx.repo())
        .arg(bucket_dir.join("pgbackrest")));
    let standin = Standin::start(&standin_root, &StandinOptions::new(NS, &key));
    let client = ObjectStorageClient::with_endpoint(signer_for(&key), &standin.base_url).unwrap();
    let remote = ObjectStorageRepo::new(client.clone(), NS, BUCKET, "/pgbackrest");
    let remote_report = read_stanza(&remote, STANZA).await.unwrap();
    assert_eq!(remote_report, report, "bucket and posix readers must agree");
    let archive_pages = standin
        .log()
        .await
        .into_iter()
        .filter(|(_, p, _)| p.contains("/o?") && p.contains("archive%2Fdemo%2F15-1"))
        .count();
    assert!(
        archive_pages >= 3,
        "archive listing must page (got {archive_pages} pages)"
    );

    // 4. A stanza that does not exist is a status, not an error.
    assert_eq!(
        read_stanza(&posix, "nosuch").await.unwrap().status,
        StanzaStatus::MissingStanza
    );
    assert_eq!(
        read_stanza(&remote, "nosuch").await.unwrap().status,
        StanzaStatus::MissingStanza
    );

    // 5. A missing bucket is an error that says so.
    let nobucket = ObjectStorageRepo::new(client.clone(), NS, "no-such-bucket", "/pgbackrest");
    match read_stanza(&nobucket, STANZA).await {
        Err(RepoError::ObjectStorage(e @ ObjectStorageError::BucketNotFound { .. })) => {
            assert!(e.to_string().contains("missing or not authorized"), "{e}")
        }
        other => panic!("expected BucketNotFound, got {other:?}"),
    }

    // 6. Damage to backup.info alone: pgBackRest falls back to the copy; so do we.
    let one_bad = fx.copy_repo("repo-one-bad");
    tamper(&one_bad.join("backup/demo/backup.info"));
    let r = read_stanza(&PosixRepo::new(&one_bad), STANZA)
        .await
        .unwrap();
    assert_eq!(r.status, StanzaStatus::Ok);
    assert_eq!(r.backups, report.backups);
    assert!(
        r.warnings.iter().any(|w| w.contains("backup.info.copy")),
        "{:?}",
        r.warnings
    );
    assert!(!fx.pgbackrest_info(&one_bad).contains("ChecksumError"));

    // 7. Damage to both: checksum mismatch, with the checksum pgBackRest computes.
    let both_bad = fx.copy_repo("repo-both-bad");
    for f in ["backup.info", "backup.info.copy"] {
        tamper(&both_bad.join("backup/demo").join(f));
    }
    let r = read_stanza(&PosixRepo::new(&both_bad), STANZA)
        .await
        .unwrap();
    let theirs = pgbackrest_actual_checksum(&fx.pgbackrest_info(&both_bad));
    match &r.status {
        StanzaStatus::ChecksumMismatch {
            file,
            expected,
            actual,
        } => {
            assert_eq!(file, "backup/demo/backup.info");
            assert_eq!(actual, &theirs, "same recomputed checksum as pgBackRest");
            let stored =
                parse_info(&std::fs::read(fx.repo().join("backup/demo/backup.info")).unwrap())
                    .unwrap()
                    .checksum_expected;
            assert_eq!(expected, &stored);
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    assert!(r.backups.is_empty());

    // ... and the same through Object Storage.
    for f in ["backup.info", "backup.info.copy"] {
        tamper(&bucket_dir.join("pgbackrest/backup/demo").join(f));
    }
    let r = read_stanza(&remote, STANZA).await.unwrap();
    assert!(
        matches!(&r.status, StanzaStatus::ChecksumMismatch { actual, .. } if *actual == theirs),
        "{:?}",
        r.status
    );

    // 8. Content that is not an info file at all.
    let garbage = fx.copy_repo("repo-garbage");
    for f in ["archive.info", "archive.info.copy"] {
        std::fs::write(garbage.join("archive/demo").join(f), b"\xff\xfe not text").unwrap();
    }
    let r = read_stanza(&PosixRepo::new(&garbage), STANZA)
        .await
        .unwrap();
    assert!(
        matches!(&r.status, StanzaStatus::Unreadable { file, .. } if file == "archive/demo/archive.info"),
        "{:?}",
        r.status
    );
}

//! `pgha_pgbackrest_backups` on a repository that pgBackRest 2.45 itself wrote for a real
//! PostgreSQL 15 cluster (full, diff and incr backups; pgha-oci's
//! `make-pgbackrest-repo.sh`), read through the real `terraform` binary from the signing
//! Object Storage stand-in and from the posix directory, and compared field by field with
//! `pgbackrest info --output=json`. Then: the same data source without Terraform (the
//! library entry point), damaged info files, a missing stanza.
//!
//! Needs root (PostgreSQL runs as `postgres` via `runuser`), `pgbackrest`, PostgreSQL 15 and
//! the stand-in's Python (`tests/oci-standin/setup.sh`).

#[path = "../../pgha-oci/tests/common/mod.rs"]
mod oci_common;
mod oci_helpers;
mod support;

use oci_common::{openssl_key, tamper};
use oci_helpers::{
    api_calls, coreutils_rfc3339, env_refs, hcl, isolated_env, provider_block, settings,
    start_standin, Repository, BUCKET, NAMESPACE,
};
use serde_json::{json, Value as Json};
use support::{state_attributes, PlanOutcome, Workspace};
use terraform_provider_pgha::data_sources::pgbackrest_backups::PgbackrestBackups;
use tfplugin::{DataSource, Diagnostics, Value};

const STANZA: &str = "demo";

fn data_sources(repo: &std::path::Path) -> String {
    format!(
        r#"data "pgha_pgbackrest_backups" "bucket" {{
  stanza = "{STANZA}"
  s3 {{
    namespace = {ns}
    bucket    = {bucket}
    path      = "/pgbackrest"
  }}
}}

data "pgha_pgbackrest_backups" "posix" {{
  stanza = "{STANZA}"
  posix {{
    path = {repo}
  }}
}}

data "pgha_pgbackrest_backups" "nostanza" {{
  stanza = "nosuch"
  s3 {{
    bucket = {bucket}
    path   = "pgbackrest"
  }}
}}

output "latest_full_label" {{
  value = try(data.pgha_pgbackrest_backups.bucket.latest_full.label, null)
}}
"#,
        ns = hcl(NAMESPACE),
        bucket = hcl(BUCKET),
        repo = hcl(&repo.display().to_string()),
    )
}

/// Field-by-field comparison of the data source's attributes with `pgbackrest info`.
fn assert_matches_pgbackrest(attrs: &Json, theirs: &Json) {
    assert_eq!(
        theirs["status"]["code"], 0,
        "pgbackrest says ok: {theirs:#}"
    );
    assert_eq!(attrs["status"], "ok");
    assert_eq!(attrs["status_detail"], "");
    assert_eq!(attrs["warnings"], json!([]));

    let ours = attrs["backups"].as_array().expect("backups is a list");
    let expected = theirs["backup"]
        .as_array()
        .expect("pgbackrest lists backups");
    assert_eq!(expected.len(), 3, "full, diff, incr");
    assert_eq!(ours.len(), expected.len());
    for (b, t) in ours.iter().zip(expected) {
        let label = t["label"].as_str().expect("label");
        assert_eq!(b["label"], label);
        assert_eq!(b["type"], t["type"], "{label}");
        let start = t["timestamp"]["start"].as_i64().expect("start");
        let stop = t["timestamp"]["stop"].as_i64().expect("stop");
        assert_eq!(b["start"], coreutils_rfc3339(start), "{label}");
        assert_eq!(b["stop"], coreutils_rfc3339(stop), "{label}");
        assert_eq!(b["database_size"], t["info"]["size"], "{label}");
        assert_eq!(b["database_size_delta"], t["info"]["delta"], "{label}");
        assert_eq!(b["repo_size"], t["info"]["repository"]["size"], "{label}");
        assert_eq!(
            b["repo_size_delta"], t["info"]["repository"]["delta"],
            "{label}"
        );
        assert_eq!(b["wal_start"], t["archive"]["start"], "{label}");
        assert_eq!(b["wal_stop"], t["archive"]["stop"], "{label}");
        assert_eq!(b["lsn_start"], t["lsn"]["start"], "{label}");
        assert_eq!(b["lsn_stop"], t["lsn"]["stop"], "{label}");
        assert_eq!(b["prior"], t["prior"], "{label}");
        let references = if t["reference"].is_null() {
            json!([])
        } else {
            t["reference"].clone()
        };
        assert_eq!(b["references"], references, "{label}");
        assert_eq!(b["error"], t["error"], "{label}");
    }
    let types: Vec<&str> = ours.iter().filter_map(|b| b["type"].as_str()).collect();
    assert_eq!(types, ["full", "diff", "incr"]);
    assert_eq!(attrs["latest_full"], ours[0]);

    let archives = theirs["archive"].as_array().expect("archive list");
    let ours = attrs["archive"].as_array().expect("archive is a list");
    assert_eq!(ours.len(), archives.len());
    for (a, t) in ours.iter().zip(archives) {
        assert_eq!(a["id"], t["id"]);
        assert_eq!(a["database_id"], t["database"]["id"]);
        assert_eq!(a["min"], t["min"]);
        assert_eq!(a["max"], t["max"]);
        assert!(a["segments"].as_u64().unwrap_or(0) >= 5, "{a}");
    }
    let db = &theirs["db"][0];
    assert_eq!(attrs["database"]["id"], db["id"]);
    // The system id is a string: it does not fit a Terraform number exactly.
    assert_eq!(
        attrs["database"]["system_id"],
        db["system-id"].as_u64().expect("system-id").to_string()
    );
    assert_eq!(attrs["database"]["version"], db["version"]);
}

#[test]
fn backups_from_object_storage_and_posix_match_pgbackrest_info() {
    let repo = Repository::build(STANZA);
    let theirs = repo.stanza_info(STANZA).clone();
    let tmp = tempfile::tempdir().expect("temporary directory");
    let env = isolated_env(tmp.path());
    let env = env_refs(&env);
    let key = openssl_key(2048);
    let standin_root = repo.standin_root("standin");
    let standin = start_standin(&standin_root, &key, 0);

    let ws = Workspace::new(&format!(
        "{}\n{}",
        provider_block(&key, &standin.base_url),
        data_sources(&repo.repo())
    ));

    // Data sources are read during plan: the stand-in sees the info files requested.
    let plan = ws
        .terraform_with_env(&["plan", "-no-color"], &env)
        .success();
    let calls = api_calls(&standin);
    for file in ["backup.info", "archive.info"] {
        assert!(
            calls
                .iter()
                .any(|(m, p, s)| m == "GET" && p.contains(&format!("demo%2F{file}")) && *s == 200),
            "{file} not read at plan: {calls:?}\n{}",
            plan.output()
        );
    }
    // The archive listing pages (the stand-in's page size is 3).
    assert!(
        calls
            .iter()
            .filter(|(_, p, _)| p.contains("/o?") && p.contains("start="))
            .count()
            >= 2,
        "{calls:?}"
    );

    ws.terraform_with_env(&["apply", "-auto-approve", "-no-color"], &env)
        .success();
    let state = ws.state_json();
    let bucket = state_attributes(&state, "data.pgha_pgbackrest_backups.bucket");
    let posix = state_attributes(&state, "data.pgha_pgbackrest_backups.posix");
    assert_matches_pgbackrest(bucket, &theirs);
    assert_matches_pgbackrest(posix, &theirs);
    assert_eq!(
        bucket["id"],
        format!("s3://{NAMESPACE}/{BUCKET}/pgbackrest#{STANZA}")
    );
    assert_eq!(
        posix["id"],
        format!("posix://{}#{STANZA}", repo.repo().display())
    );
    let output = ws.terraform_with_env(&["output", "-json"], &env).success();
    let outputs: Json = serde_json::from_str(&output.stdout).expect("output -json");
    assert_eq!(
        outputs["latest_full_label"]["value"],
        theirs["backup"][0]["label"]
    );

    // A stanza that does not exist (namespace looked up with GetNamespace).
    let none = state_attributes(&state, "data.pgha_pgbackrest_backups.nostanza");
    assert_eq!(none["status"], "missing_stanza");
    assert_eq!(none["backups"], json!([]));
    assert_eq!(none["archive"], json!([]));
    assert!(none["latest_full"].is_null() && none["database"].is_null());
    assert!(api_calls(&standin)
        .iter()
        .any(|(m, p, _)| m == "GET" && p == "/n/"));

    // Nothing changed: an empty plan.
    assert_eq!(
        plan_outcome(&ws, &env),
        PlanOutcome::NoChanges,
        "apply then plan must be empty"
    );

    // Both copies of backup.info damaged in the bucket: a status and a warning, not a crash.
    let bucket_repo = standin_root.join(NAMESPACE).join(BUCKET).join("pgbackrest");
    for f in ["backup.info", "backup.info.copy"] {
        tamper(&bucket_repo.join("backup").join(STANZA).join(f));
    }
    let run = ws
        .terraform_with_env(&["apply", "-auto-approve", "-no-color"], &env)
        .success();
    assert!(
        run.output()
            .contains("pgBackRest stanza \"demo\" is damaged"),
        "{}",
        run.output()
    );
    let state = ws.state_json();
    let bucket = state_attributes(&state, "data.pgha_pgbackrest_backups.bucket");
    assert_eq!(bucket["status"], "checksum_mismatch");
    let detail = bucket["status_detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("backup/demo/backup.info (and its .copy) fails checksum"),
        "{detail}"
    );
    assert_eq!(bucket["backups"], json!([]));
    assert!(bucket["latest_full"].is_null());
    // The posix copy is untouched.
    assert_matches_pgbackrest(
        state_attributes(&state, "data.pgha_pgbackrest_backups.posix"),
        &theirs,
    );
}

fn plan_outcome(ws: &Workspace, env: &[(&str, &str)]) -> PlanOutcome {
    let run = ws.terraform_with_env(&["plan", "-detailed-exitcode", "-no-color"], env);
    match run.code {
        Some(0) => PlanOutcome::NoChanges,
        Some(2) => PlanOutcome::Changes,
        _ => PlanOutcome::Error(run.output()),
    }
}

/// The data source called directly (as the server calls it), with explicit settings: the
/// value handed back to Terraform, before any wire encoding.
#[tokio::test(flavor = "multi_thread")]
async fn data_source_value_without_terraform() {
    let repo = Repository::build(STANZA);
    let theirs = repo.stanza_info(STANZA).clone();
    let key = openssl_key(2048);
    let standin = start_standin(&repo.standin_root("standin"), &key, 0);
    let source = PgbackrestBackups::with_settings(settings(&key, &standin.base_url));

    let config = |location: (&str, Value)| {
        let mut c = Value::object([("stanza", Value::from(STANZA))]);
        c.set("s3", Value::Null);
        c.set("posix", Value::Null);
        c.set(location.0, location.1);
        c
    };
    let s3 = config((
        "s3",
        Value::object([
            ("bucket", Value::from(BUCKET)),
            ("namespace", Value::from(NAMESPACE)),
            ("path", Value::from("/pgbackrest")),
            ("region", Value::Null),
        ]),
    ));
    let posix = config((
        "posix",
        Value::object([("path", Value::from(repo.repo().display().to_string()))]),
    ));
    for c in [s3, posix] {
        let mut diags = Diagnostics::default();
        let value = source.read(&c, &mut diags).await.expect("read");
        assert!(diags.0.is_empty(), "{diags:?}");
        assert_matches_pgbackrest(&to_json(&value), &theirs);
    }
}

fn to_json(v: &Value) -> Json {
    match v {
        Value::Null | Value::Unknown => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Number(n) if n.fract() == 0.0 => json!(*n as i64),
        Value::Number(n) => json!(n),
        Value::String(s) => json!(s),
        Value::List(l) => Json::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

//! `pgha_pgbackrest_stanza`'s opt-in `verify_bucket` through the real Terraform CLI, against
//! the signing Object Storage stand-in: nothing is contacted at plan or when the option is off;
//! apply (create and update) calls GetBucket once with the provider's OCI settings, and a
//! missing bucket or a rejected key fails the apply with a diagnostic at the bucket.

#[path = "../../pgha-oci/tests/common/mod.rs"]
mod oci_common;
mod oci_helpers;
mod support;

use oci_common::openssl_key;
use oci_helpers::{api_calls, env_refs, isolated_env, provider_block, start_standin, NAMESPACE};
use support::{PlanOutcome, Workspace};

const BUCKET: &str = "pg-backup";

fn stanza(bucket: &str, verify: Option<bool>, full: &str) -> String {
    let verify = verify
        .map(|v| format!("  verify_bucket = {v}\n"))
        .unwrap_or_default();
    format!(
        r#"resource "pgha_pgbackrest_stanza" "s" {{
  name = "pg-ha"
{verify}
  s3 {{
    bucket    = "{bucket}"
    region    = "us-ashburn-1"
    namespace = "{NAMESPACE}"
    access_key_ref {{
      env_file = "/etc/pgha/s3.env"
      variable = "S3_ACCESS_KEY"
    }}
    secret_key_ref {{
      env_file = "/etc/pgha/s3.env"
      variable = "S3_SECRET_KEY"
    }}
  }}

  schedule {{
    full = "{full}"
  }}
}}
"#
    )
}

#[test]
fn verify_bucket_runs_at_apply_only() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let env = isolated_env(tmp.path());
    let env = env_refs(&env);
    let key = openssl_key(2048);
    let root = tmp.path().join("standin");
    std::fs::create_dir_all(root.join(NAMESPACE).join(BUCKET)).expect("bucket directory");
    let standin = start_standin(&root, &key, 0);
    let provider = provider_block(&key, &standin.base_url);
    let get_bucket = format!("/n/{NAMESPACE}/b/{BUCKET}");

    let ws = Workspace::new(&format!(
        "{provider}\n{}",
        stanza(BUCKET, Some(true), "0 1 * * 0")
    ));
    let apply =
        |ws: &Workspace| ws.terraform_with_env(&["apply", "-auto-approve", "-no-color"], &env);
    let plan_outcome = |ws: &Workspace| {
        let run = ws.terraform_with_env(&["plan", "-detailed-exitcode", "-no-color"], &env);
        match run.code {
            Some(0) => PlanOutcome::NoChanges,
            Some(2) => PlanOutcome::Changes,
            _ => PlanOutcome::Error(run.output()),
        }
    };

    // Plan contacts nothing.
    assert_eq!(plan_outcome(&ws), PlanOutcome::Changes);
    assert!(api_calls(&standin).is_empty(), "{:?}", api_calls(&standin));

    // Create: one GetBucket.
    apply(&ws).success();
    assert_eq!(
        api_calls(&standin),
        [("GET".to_string(), get_bucket.clone(), 200)]
    );
    assert_eq!(plan_outcome(&ws), PlanOutcome::NoChanges);
    assert_eq!(
        api_calls(&standin).len(),
        1,
        "refresh and plan contact nothing"
    );

    // Update in place: verified again.
    ws.set_config(&format!(
        "{provider}\n{}",
        stanza(BUCKET, Some(true), "30 2 * * 0")
    ));
    apply(&ws).success();
    assert_eq!(api_calls(&standin).len(), 2);

    // Off (explicitly, or by default): another bucket that does not exist applies without a
    // call.
    for verify in [Some(false), None] {
        ws.set_config(&format!(
            "{provider}\n{}",
            stanza("nowhere", verify, "30 2 * * 0")
        ));
        apply(&ws).success();
        assert_eq!(api_calls(&standin).len(), 2);
    }

    // On, with a bucket that does not exist: the apply fails at the bucket.
    ws.set_config(&format!(
        "{provider}\n{}",
        stanza("no-such-bucket", Some(true), "30 2 * * 0")
    ));
    let run = apply(&ws).failure();
    let out = run.flat();
    assert!(
        out.contains("Object Storage bucket missing or not authorized"),
        "{out}"
    );
    assert!(out.contains("bucket = \"no-such-bucket\""), "{out}");

    // A key OCI does not know: the signature is rejected.
    let stranger = openssl_key(2048);
    ws.set_config(&format!(
        "{}\n{}",
        provider_block(&stranger, &standin.base_url),
        stanza(BUCKET, Some(true), "30 2 * * 0")
    ));
    let out = apply(&ws).failure().flat();
    assert!(out.contains("OCI rejected the request signature"), "{out}");
}

#[test]
fn verify_bucket_needs_an_s3_repository() {
    let ws = Workspace::new(
        r#"resource "pgha_pgbackrest_stanza" "s" {
  name          = "pg-ha"
  verify_bucket = true

  posix {
    path = "/backup"
  }
}
"#,
    );
    let tmp = tempfile::tempdir().expect("temporary directory");
    let env = isolated_env(tmp.path());
    let run = ws.terraform_with_env(&["validate", "-no-color"], &env_refs(&env));
    let out = run.failure().flat();
    assert!(
        out.contains("verify_bucket needs an s3 repository"),
        "{out}"
    );
}

//! The provider's OCI settings through the real `terraform` binary, against the Python Object
//! Storage stand-in (which verifies each request's signature, signed headers and date):
//!
//! - nothing configured, or settings that could never work: resources still plan and apply,
//!   and nothing is contacted (`ConfigureProvider` and resource plans stay offline);
//! - settings from attributes, from `OCI_*` variables (attributes win) and from an OCI config
//!   file profile (with `[DEFAULT]` inherited) all authenticate;
//! - the data source reads at plan; a missing stanza is a status;
//! - failures are errors that name their cause: no settings, rejected signature (key not
//!   uploaded), clock skew, missing bucket, wrong pass phrase, fingerprint of another key.
//!
//! The developer's own OCI config is hidden (`HOME`, `OCI_CONFIG_FILE` point into a temporary
//! directory).

#[path = "../../pgha-oci/tests/common/mod.rs"]
mod oci_common;
mod oci_helpers;
mod support;

use oci_common::{openssl_key, TENANCY, USER};
use oci_helpers::{
    api_calls, empty_bucket_root, encrypted_copy, env_refs, hcl, isolated_env, provider_block,
    start_standin, BUCKET, NAMESPACE, REGION,
};
use support::{state_attributes, Run, Workspace};

const DATA: &str = "data.pgha_pgbackrest_backups.repo";

/// A data source reading stanza `main` of `bucket`.
fn data_source(bucket: &str) -> String {
    format!(
        "data \"pgha_pgbackrest_backups\" \"repo\" {{\n  stanza = \"main\"\n  s3 {{\n    \
         namespace = {}\n    bucket    = {}\n    path      = \"/pgbackrest\"\n  }}\n}}\n\n\
         output \"status\" {{\n  value = data.pgha_pgbackrest_backups.repo.status\n}}\n",
        hcl(NAMESPACE),
        hcl(bucket)
    )
}

/// A resource whose election timeout is `timeout_ms`.
fn resource(timeout_ms: u32) -> String {
    format!(
        "resource \"pgha_etcd_member\" \"a\" {{\n  name                = \"e1\"\n  \
         address             = \"10.0.0.1\"\n  cluster_name        = \"pg\"\n  \
         election_timeout_ms = {timeout_ms}\n  \
         members             = {{ e1 = \"10.0.0.1\", e2 = \"10.0.0.2\", e3 = \"10.0.0.3\" }}\n}}\n"
    )
}

fn tf(ws: &Workspace, env: &[(String, String)], args: &[&str]) -> Run {
    ws.terraform_with_env(args, &env_refs(env))
}

fn plan(ws: &Workspace, env: &[(String, String)]) -> Run {
    tf(ws, env, &["plan", "-no-color", "-input=false"])
}

fn apply(ws: &Workspace, env: &[(String, String)]) -> Run {
    tf(
        ws,
        env,
        &["apply", "-auto-approve", "-no-color", "-input=false"],
    )
}

#[test]
fn resources_need_no_settings_and_contact_nothing() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let env = isolated_env(tmp.path());
    let key = openssl_key(2048);
    let standin = start_standin(&empty_bucket_root(tmp.path()), &key, 0);

    // No provider block at all.
    let ws = Workspace::new(&resource(1000));
    plan(&ws, &env).success();
    apply(&ws, &env).success();

    // Settings that would fail if anything resolved them (no such key file, an endpoint with
    // an unknown key): ConfigureProvider and resource plans must not touch them.
    let mut block = provider_block(&key, &standin.base_url);
    block = block.replace(
        &hcl(&key.private_pem.display().to_string()),
        &hcl("/nonexistent/key.pem"),
    );
    ws.set_config(&format!("{block}\n{}", resource(1000)));
    let run = plan(&ws, &env).success();
    assert!(run.stdout.contains("No changes"), "{}", run.output());
    ws.set_config(&format!("{block}\n{}", resource(1500)));
    apply(&ws, &env).success();
    assert!(api_calls(&standin).is_empty(), "{:?}", api_calls(&standin));

    // The same settings used by a data source: now they are resolved, and the missing key
    // file is the error.
    ws.set_config(&format!("{block}\n{}", data_source(BUCKET)));
    let run = plan(&ws, &env).failure();
    let out = run.flat();
    assert!(out.contains("Cannot read the OCI API private key"), "{out}");
    assert!(out.contains("/nonexistent/key.pem"), "{out}");
    assert!(api_calls(&standin).is_empty());
}

#[test]
fn settings_from_attributes_environment_and_config_profile() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let mut env = isolated_env(tmp.path());
    let key = openssl_key(2048);
    let standin = start_standin(&empty_bucket_root(tmp.path()), &key, 0);

    // 1. Attributes. The data source is read during plan, and a missing stanza is a status.
    let ws = Workspace::new(&format!(
        "{}\n{}",
        provider_block(&key, &standin.base_url),
        data_source(BUCKET)
    ));
    let run = plan(&ws, &env).success();
    let calls = api_calls(&standin);
    assert!(
        calls
            .iter()
            .any(|(m, p, s)| m == "GET" && p.contains("backup%2Fmain%2Fbackup.info") && *s == 404),
        "plan read the repository: {calls:?}\n{}",
        run.output()
    );
    apply(&ws, &env).success();
    let state = ws.state_json();
    let attrs = state_attributes(&state, DATA);
    assert_eq!(attrs["status"], "missing_stanza");
    assert_eq!(attrs["backups"], serde_json::json!([]));
    assert!(attrs["latest_full"].is_null());
    assert_eq!(
        attrs["id"],
        format!("s3://{NAMESPACE}/{BUCKET}/pgbackrest#main")
    );

    // 2. OCI_* variables, except the fingerprint attribute, which wins over a wrong
    //    OCI_FINGERPRINT.
    ws.set_config(&format!(
        "provider \"pgha\" {{\n  fingerprint             = {}\n  object_storage_endpoint = {}\n}}\n\n{}",
        hcl(&key.fingerprint),
        hcl(&standin.base_url),
        data_source(BUCKET)
    ));
    let mut with_vars = env.clone();
    with_vars.extend(
        [
            ("OCI_TENANCY_OCID", TENANCY.to_string()),
            ("OCI_USER_OCID", USER.to_string()),
            (
                "OCI_FINGERPRINT",
                "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff".to_string(),
            ),
            (
                "OCI_PRIVATE_KEY_PATH",
                key.private_pem.display().to_string(),
            ),
            ("OCI_REGION", REGION.to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let before = api_calls(&standin).len();
    plan(&ws, &with_vars).success();
    assert!(api_calls(&standin).len() > before);
    // Without the attribute, the wrong OCI_FINGERPRINT is used and caught locally.
    ws.set_config(&format!(
        "provider \"pgha\" {{\n  object_storage_endpoint = {}\n}}\n\n{}",
        hcl(&standin.base_url),
        data_source(BUCKET)
    ));
    let out = plan(&ws, &with_vars).failure().flat();
    assert!(
        out.contains("OCI API key fingerprint does not match the private key"),
        "{out}"
    );
    assert!(out.contains("00:11:22:33"), "{out}");

    // 3. An OCI config file profile; `[DEFAULT]` supplies the region and the key file, the
    //    profile the identity (the layout `oci setup config` writes, with a second profile).
    let config_file = tmp.path().join("oci-config");
    std::fs::write(
        &config_file,
        format!(
            "[DEFAULT]\nregion={REGION}\nkey_file={}\n\n[PGHA]\ntenancy={TENANCY}\nuser={USER}\nfingerprint={}\n",
            key.private_pem.display(),
            key.fingerprint
        ),
    )
    .expect("write the OCI config file");
    env.retain(|(k, _)| k != "OCI_CONFIG_FILE");
    env.push((
        "OCI_CONFIG_FILE".to_string(),
        config_file.display().to_string(),
    ));
    ws.set_config(&format!(
        "provider \"pgha\" {{\n  config_file_profile     = \"PGHA\"\n  object_storage_endpoint = {}\n}}\n\n{}",
        hcl(&standin.base_url),
        data_source(BUCKET)
    ));
    let before = api_calls(&standin).len();
    apply(&ws, &env).success();
    assert!(api_calls(&standin).len() > before);
    assert_eq!(
        state_attributes(&ws.state_json(), DATA)["status"],
        "missing_stanza"
    );
    // A profile that does not exist is named, with the ones that do.
    ws.set_config(&format!(
        "provider \"pgha\" {{\n  config_file_profile     = \"NOPE\"\n  object_storage_endpoint = {}\n}}\n\n{}",
        hcl(&standin.base_url),
        data_source(BUCKET)
    ));
    let out = plan(&ws, &env).failure().flat();
    assert!(out.contains("Unusable OCI config file"), "{out}");
    assert!(out.contains("profile [NOPE] not found"), "{out}");
    assert!(out.contains("DEFAULT, PGHA"), "{out}");
}

#[test]
fn failures_name_their_cause() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let env = isolated_env(tmp.path());
    let key = openssl_key(2048);
    let root = empty_bucket_root(tmp.path());
    let standin = start_standin(&root, &key, 0);

    // Nothing configured anywhere.
    let ws = Workspace::new(&data_source(BUCKET));
    let out = plan(&ws, &env).failure().flat();
    assert!(
        out.contains("Incomplete OCI authentication settings"),
        "{out}"
    );
    assert!(out.contains("missing tenancy_ocid"), "{out}");
    assert!(out.contains("OCI_TENANCY_OCID"), "{out}");

    // A key the service does not know (its fingerprint matches it, so only OCI can tell).
    let stranger = openssl_key(2048);
    ws.set_config(&format!(
        "{}\n{}",
        provider_block(&stranger, &standin.base_url),
        data_source(BUCKET)
    ));
    let out = plan(&ws, &env).failure().flat();
    assert!(
        out.contains("OCI rejected the request signature (authentication failed)"),
        "{out}"
    );
    assert!(out.contains("401 NotAuthenticated"), "{out}");
    assert!(out.contains("fingerprint: attribute"), "{out}");

    // Missing bucket.
    ws.set_config(&format!(
        "{}\n{}",
        provider_block(&key, &standin.base_url),
        data_source("no-such-bucket")
    ));
    let out = plan(&ws, &env).failure().flat();
    assert!(
        out.contains("Object Storage bucket missing or not authorized"),
        "{out}"
    );
    assert!(out.contains("bucket \"no-such-bucket\""), "{out}");

    // Wrong pass phrase of an encrypted key.
    let encrypted = encrypted_copy(&key, "correct horse");
    let block = provider_block(&key, &standin.base_url).replace(
        &hcl(&key.private_pem.display().to_string()),
        &format!(
            "{}\n  private_key_password    = \"wrong horse\"",
            hcl(&encrypted.display().to_string())
        ),
    );
    ws.set_config(&format!("{block}\n{}", data_source(BUCKET)));
    let run = plan(&ws, &env).failure();
    let out = run.flat();
    assert!(
        out.contains("Cannot decrypt the OCI API private key (pass phrase)"),
        "{out}"
    );
    assert!(out.contains("the pass phrase is wrong"), "{out}");
    assert!(!run.output().contains("wrong horse"), "secret echoed");
    // ... and the right one works.
    ws.set_config(&format!(
        "{}\n{}",
        block.replace("wrong horse", "correct horse"),
        data_source(BUCKET)
    ));
    plan(&ws, &env).success();

    // Clock skew: a service whose clock runs 15 minutes ahead.
    let skewed = start_standin(&root, &key, 900);
    ws.set_config(&format!(
        "{}\n{}",
        provider_block(&key, &skewed.base_url),
        data_source(BUCKET)
    ));
    let out = plan(&ws, &env).failure().flat();
    assert!(out.contains("authentication failed"), "{out}");
    assert!(out.contains("clock skew"), "{out}");
    assert!(out.contains("seconds away from the server time"), "{out}");
}

/// The Registry example of the data source validates, and plans against the stand-in when an
/// override file points the provider there (nothing in the example itself is changed).
#[test]
fn registry_example_plans() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let env = isolated_env(tmp.path());
    let key = openssl_key(2048);
    // The example's bucket, empty.
    let root = tmp.path().join("standin");
    std::fs::create_dir_all(root.join(NAMESPACE).join("pg-backup")).expect("bucket directory");
    let standin = start_standin(&root, &key, 0);
    let example = oci_common::workspace_root()
        .join("examples/data-sources/pgha_pgbackrest_backups/data-source.tf");
    let ws = Workspace::new(&std::fs::read_to_string(&example).expect("the example"));
    tf(&ws, &env, &["validate", "-no-color"]).success();

    ws.write(
        "test_override.tf",
        &format!(
            "provider \"pgha\" {{\n  object_storage_endpoint = {}\n}}\n",
            hcl(&standin.base_url)
        ),
    );
    let vars = [
        format!("-var=tenancy_ocid={TENANCY}"),
        format!("-var=user_ocid={USER}"),
        format!("-var=fingerprint={}", key.fingerprint),
        format!("-var=private_key_path={}", key.private_pem.display()),
        format!("-var=region={REGION}"),
    ];
    let mut args = vec!["plan", "-no-color"];
    args.extend(vars.iter().map(String::as_str));
    let run = tf(&ws, &env, &args).success();
    let out = run.flat();
    assert!(out.contains("backup_status = \"missing_stanza\""), "{out}");
    assert!(
        out.contains("No full backup of stanza pg-ha-cluster in the last 8 days"),
        "{out}"
    );
    assert!(api_calls(&standin).iter().any(|(_, p, _)| p == "/n/"));
}

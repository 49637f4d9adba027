//! `pgha_pgbackrest_stanza` through the real Terraform CLI: lifecycle, replacement on a new
//! repository location, JSON import, attribute-path errors, and inline secrets kept out of every
//! output Terraform prints (plan, `plan -json`, apply, and the plan of a changed secret).

mod support;

use serde_json::{json, Value as Json};
use support::{actions, has_error_at, line_of, resource_change, PlanOutcome, Workspace};

const ADDR: &str = "pgha_pgbackrest_stanza.s";

fn config(bucket: &str, full: &str, extra_s3: &str) -> String {
    format!(
        r#"resource "pgha_pgbackrest_stanza" "s" {{
  name = "pg-ha"

  s3 {{
    bucket    = "{bucket}"
    region    = "us-ashburn-1"
    namespace = "examplenamespace"
    access_key_ref {{
      env_file = "/etc/pgha/s3.env"
      variable = "S3_ACCESS_KEY"
    }}
{extra_s3}  }}

  schedule {{
    full = "{full}"
  }}
}}
"#
    )
}

const SECRET_REF: &str = "    secret_key_ref {\n      env_file = \"/etc/pgha/s3.env\"\n      variable = \"S3_SECRET_KEY\"\n    }\n";

fn cron(after: &Json) -> String {
    after["schedule_files"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn lifecycle_update_replace_import_destroy() {
    let ws = Workspace::new(&config("pg-backup", "0 1 * * 0", SECRET_REF));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["create"]);
    let after = &resource_change(&plan, ADDR)["change"]["after"];
    assert_eq!(
        after["archive_command"],
        "/usr/bin/pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=pg-ha archive-push %p"
    );
    assert!(
        cron(after).contains("0 1 * * 0 postgres"),
        "{}",
        cron(after)
    );
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // A new schedule updates the cron.d file in place.
    ws.set_config(&config("pg-backup", "30 2 * * 0", SECRET_REF));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["update"]);
    let change = &resource_change(&plan, ADDR)["change"];
    assert!(cron(&change["after"]).contains("30 2 * * 0 postgres"));
    assert!(!cron(&change["before"]).contains("30 2 * * 0"));
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // Another bucket is another repository: replacement, at the bucket.
    ws.set_config(&config("pg-backup-2", "30 2 * * 0", SECRET_REF));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["delete", "create"]);
    assert_eq!(
        resource_change(&plan, ADDR)["change"]["replace_paths"],
        json!([["s3", "bucket"]])
    );
    ws.apply();

    ws.state_rm(ADDR);
    let id = json!({
        "name": "pg-ha",
        "s3": {
            "bucket": "pg-backup-2", "region": "us-ashburn-1", "namespace": "examplenamespace",
            "access_key_ref": {"env_file": "/etc/pgha/s3.env", "variable": "S3_ACCESS_KEY"},
            "secret_key_ref": {"env_file": "/etc/pgha/s3.env", "variable": "S3_SECRET_KEY"}
        },
        "schedule": {"full": "30 2 * * 0"}
    })
    .to_string();
    ws.import(ADDR, &id).success();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);
    ws.destroy();
}

#[test]
fn invalid_configurations_fail_at_the_attribute() {
    let cases: Vec<(String, &str, &str)> = vec![
        (config("bad bucket", "0 1 * * 0", SECRET_REF), "bucket", "B"),
        (config("pg-backup", "0 1 * *", SECRET_REF), "full", "B"),
        // No secret key at all: the error points at the s3 block's secret key.
        (config("pg-backup", "0 1 * * 0", ""), "s3 {", "B"),
        (
            config("pg-backup", "0 1 * * 0", SECRET_REF).replace(
                "  name = \"pg-ha\"\n",
                "  name = \"pg-ha\"\n  retention_full = 0\n",
            ),
            "retention_full",
            "B",
        ),
    ];
    for (cfg, line, code) in &cases {
        let ws = Workspace::new(cfg);
        ws.terraform(&["plan", "-no-color"]).failure();
        let validate = ws.validate_json();
        let want = line_of(cfg, "", line);
        assert!(
            has_error_at(validate["diagnostics"].as_array().unwrap(), code, want),
            "no {code}… error on line {want} ({line}):\n{cfg}\n{validate:#}"
        );
    }

    // Both repository kinds.
    let cfg = config("pg-backup", "0 1 * * 0", SECRET_REF).replace(
        "  schedule {",
        "  posix {\n    path = \"/backup\"\n  }\n\n  schedule {",
    );
    let ws = Workspace::new(&cfg);
    let validate = ws.validate_json();
    assert_eq!(
        validate["diagnostics"][0]["summary"], "One repository",
        "{validate:#}"
    );
}

#[test]
fn inline_secrets_stay_out_of_plan_and_apply_output() {
    const SECRET: &str = "zQ8-very-secret-S3-key-4711";
    let inline = format!("    secret_key = \"{SECRET}\"\n");
    let mut cfg = config("pg-backup", "0 1 * * 0", &inline);
    cfg.push_str("\noutput \"cmd\" {\n  value = pgha_pgbackrest_stanza.s.archive_command\n}\n");
    let ws = Workspace::new(&cfg);
    let plan = ws.plan_text();
    assert!(!plan.output().contains(SECRET), "{}", plan.output());
    assert!(
        plan.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("+ spec ") && l.ends_with("= (sensitive value)")),
        "{}",
        plan.stdout
    );
    // The inline key is worth a warning, which never quotes it.
    assert!(plan.output().contains("Warning: S009"), "{}", plan.output());
    // Nor does the machine-readable UI stream of `plan -json`.
    let (run, messages) = ws.plan_stream();
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(!messages.is_empty());
    assert!(!run.output().contains(SECRET));
    let apply = ws.apply();
    assert!(!apply.output().contains(SECRET));
    let saved = ws.plan_json();
    let change = &resource_change(&saved, ADDR)["change"];
    assert_eq!(change["before_sensitive"]["spec"], true);
    assert_eq!(change["before_sensitive"]["pgbackrest_conf"], true);
    assert_eq!(change["before_sensitive"]["s3"]["secret_key"], true);

    // A new secret is a change Terraform shows without either value.
    const NEW_SECRET: &str = "zQ8-rotated-S3-key-9001";
    ws.set_config(&cfg.replace(SECRET, NEW_SECRET));
    let update = ws.plan_text();
    assert!(
        !update.output().contains(SECRET) && !update.output().contains(NEW_SECRET),
        "{}",
        update.output()
    );
    assert!(
        update.stdout.contains("(sensitive value)"),
        "{}",
        update.stdout
    );
    assert_eq!(actions(&ws.plan_json(), ADDR), ["update"]);
    let apply = ws.apply();
    assert!(!apply.output().contains(SECRET) && !apply.output().contains(NEW_SECRET));
}

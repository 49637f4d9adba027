//! Acceptance tests: the real Terraform CLI drives the provider binary through the whole
//! resource lifecycle. See `support` for the harness.

mod support;

use serde_json::{json, Value as Json};
use support::{actions, line_of, resource_change, state_attributes, PlanOutcome, Workspace};

const ADDR: &str = "pgha_example.a";

fn example(name: &str, items: &[(&str, &str)], secret: Option<&str>) -> String {
    let mut out = format!("resource \"pgha_example\" \"a\" {{\n  name = \"{name}\"\n");
    if let Some(secret) = secret {
        out.push_str(&format!("  sensitive = \"{secret}\"\n"));
    }
    for (k, v) in items {
        out.push_str(&format!(
            "  item {{\n    key   = \"{k}\"\n    value = \"{v}\"\n  }}\n"
        ));
    }
    out.push_str("}\n");
    out
}

#[test]
fn apply_then_empty_plan_update_in_place_replace_import_and_destroy() {
    let ws = Workspace::new(&example(
        "alpha",
        &[("k1", "v1"), ("k2", "v2")],
        Some("pw-123456"),
    ));

    // Create: the rendered value is known in the plan, before apply.
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["create"]);
    let after = &resource_change(&plan, ADDR)["change"]["after"];
    assert_eq!(after["rendered"], "# alpha\nk1=v1\nk2=v2\n");
    assert_eq!(after["id"], "alpha");
    ws.apply();

    let state = ws.state_json();
    let attrs = state_attributes(&state, ADDR);
    assert_eq!(attrs["rendered"], "# alpha\nk1=v1\nk2=v2\n");
    assert_eq!(
        attrs["item"],
        json!([{"key": "k1", "value": "v1"}, {"key": "k2", "value": "v2"}])
    );

    // Apply followed by plan is empty.
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // Changing one item's value is an in-place update with the new rendering in the plan.
    ws.set_config(&example(
        "alpha",
        &[("k1", "v1"), ("k2", "v3")],
        Some("pw-123456"),
    ));
    assert_eq!(ws.plan_outcome(), PlanOutcome::Changes);
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["update"]);
    assert_eq!(
        resource_change(&plan, ADDR)["change"]["after"]["rendered"],
        "# alpha\nk1=v1\nk2=v3\n"
    );
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // Changing the name forces replacement, reported at the `name` attribute.
    ws.set_config(&example(
        "beta",
        &[("k1", "v1"), ("k2", "v3")],
        Some("pw-123456"),
    ));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["delete", "create"]);
    assert_eq!(
        resource_change(&plan, ADDR)["change"]["replace_paths"],
        json!([["name"]])
    );

    // Import by ID: the name comes back; items and secret show up as an in-place update.
    ws.set_config(&example(
        "alpha",
        &[("k1", "v1"), ("k2", "v3")],
        Some("pw-123456"),
    ));
    ws.state_rm(ADDR);
    ws.import(ADDR, "alpha").success();
    let state = ws.state_json();
    let attrs = state_attributes(&state, ADDR);
    assert_eq!(attrs["id"], "alpha");
    assert_eq!(attrs["name"], "alpha");
    assert_eq!(attrs["rendered"], "# alpha\n");
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["update"]);
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // An invalid import ID is refused with a message saying what an ID is.
    ws.state_rm(ADDR);
    let refused = ws.import(ADDR, "Not A Name").failure();
    assert!(
        refused.output().contains("Invalid import ID"),
        "{}",
        refused.output()
    );
    ws.import(ADDR, "alpha").success();

    ws.destroy();
    let state = ws.state_json();
    assert!(state["values"].is_null() || state["values"]["root_module"]["resources"].is_null());
    assert_eq!(ws.plan_outcome(), PlanOutcome::Changes);
}

#[test]
fn invalid_config_fails_at_plan_with_attribute_paths() {
    let config = r#"resource "pgha_example" "bad" {
  name = "Bad Name"
  item {
    key   = "a"
    value = "1"
  }
  item {
    key   = "b"
    value = ""
  }
  item {
    key   = "a"
    value = "3"
  }
}
"#;
    let ws = Workspace::new(config);
    let plan = ws.terraform(&["plan", "-no-color"]).failure();
    let out = plan.output();
    assert!(out.contains("Error: Invalid name"), "{out}");
    assert!(out.contains("with pgha_example.bad"), "{out}");
    assert!(out.contains(r#"name = "Bad Name""#), "{out}");
    assert!(out.contains("Error: Duplicate item key"), "{out}");
    assert!(out.contains("Warning: Empty item value"), "{out}");
    assert!(
        !out.contains("tf_provider::"),
        "diagnostic carries a backtrace:\n{out}"
    );

    // The attribute paths locate the exact lines: Terraform maps item[2].key to the third
    // item's `key` line, not to the resource or the block.
    let validate = ws.validate_json();
    assert_eq!(validate["valid"], false);
    let diag = |summary: &str| -> Json {
        validate["diagnostics"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["summary"] == summary).cloned())
            .unwrap_or_else(|| panic!("no {summary:?} in {validate:#}"))
    };
    let name = diag("Invalid name");
    assert_eq!(name["severity"], "error");
    assert_eq!(
        name["range"]["start"]["line"],
        line_of(config, "", "name =")
    );
    let dup = diag("Duplicate item key");
    assert_eq!(dup["severity"], "error");
    assert_eq!(
        dup["range"]["start"]["line"],
        line_of(config, r#"value = """#, r#"key   = "a""#)
    );
    assert!(dup["detail"].as_str().is_some_and(|d| d.contains("item 0")));
    let empty = diag("Empty item value");
    assert_eq!(empty["severity"], "warning");
    assert_eq!(
        empty["range"]["start"]["line"],
        line_of(config, "", r#"value = """#)
    );
}

#[test]
fn sensitive_value_never_appears_in_plan_or_apply_output() {
    let secret = "pgha-secret-6f1c9e";
    let ws = Workspace::new(&example("alpha", &[("k", "v")], Some(secret)));

    let plan = ws.plan_text();
    assert!(
        plan.stdout.contains("sensitive = (sensitive value)"),
        "{}",
        plan.stdout
    );
    assert!(!plan.output().contains(secret), "{}", plan.output());

    let (run, messages) = ws.plan_stream();
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(!messages.is_empty());
    assert!(!run.output().contains(secret));

    // The saved plan's JSON carries the value (Terraform's design) but marks it sensitive.
    let json = ws.plan_json();
    let change = &resource_change(&json, ADDR)["change"];
    assert_eq!(change["after_sensitive"]["sensitive"], true);
    assert!(!change["after"]["rendered"]
        .as_str()
        .unwrap_or("")
        .contains(secret));

    let apply = ws.apply();
    assert!(!apply.output().contains(secret));
    ws.set_config(&example("alpha", &[("k", "v")], Some("pgha-secret-other")));
    let update = ws.plan_text();
    assert!(!update.output().contains(secret) && !update.output().contains("secret-other"));
    assert!(update.stdout.contains("(sensitive value)"));
}

#[test]
fn unknown_inputs_are_rendered_after_apply_not_guessed() {
    let config = r#"resource "terraform_data" "src" {
  input = "gamma"
}

resource "pgha_example" "a" {
  name = terraform_data.src.output
  item {
    key   = "from"
    value = terraform_data.src.id
  }
}
"#;
    let ws = Workspace::new(config);
    let plan = ws.plan_json();
    let change = &resource_change(&plan, ADDR)["change"];
    assert_eq!(change["after_unknown"]["rendered"], true, "{change:#}");
    assert_eq!(change["after_unknown"]["id"], true, "{change:#}");
    assert!(change["after"].get("rendered").is_none_or(Json::is_null));

    ws.apply();
    let state = ws.state_json();
    let attrs = state_attributes(&state, ADDR);
    let data_id = state_attributes(&state, "terraform_data.src")["id"]
        .as_str()
        .expect("terraform_data has an id")
        .to_owned();
    assert_eq!(attrs["rendered"], format!("# gamma\nfrom={data_id}\n"));
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);
}

#[test]
fn state_from_schema_version_0_is_upgraded() {
    let ws = Workspace::new(&example("alpha", &[("a", "1"), ("b", "2")], None));
    // Version 0 kept the items in a map attribute `items`.
    let state = json!({
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": 1,
        "lineage": "5f0c4a0e-1111-2222-3333-444455556666",
        "outputs": {},
        "resources": [{
            "mode": "managed",
            "type": "pgha_example",
            "name": "a",
            "provider": "provider[\"registry.terraform.io/pgha/pgha\"]",
            "instances": [{
                "schema_version": 0,
                "attributes": {
                    "id": "alpha",
                    "name": "alpha",
                    "items": {"b": "2", "a": "1"},
                    "sensitive": null,
                    "rendered": "written by version 0"
                },
                "sensitive_attributes": []
            }]
        }],
        "check_results": null
    });
    ws.write("terraform.tfstate", &state.to_string());

    // Upgraded state equals what the configuration plans: items in key order, new rendering.
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);
    ws.apply();
    let written: Json = serde_json::from_str(
        &std::fs::read_to_string(ws.path().join("terraform.tfstate")).expect("state file"),
    )
    .expect("state is JSON");
    let instance = &written["resources"][0]["instances"][0];
    assert_eq!(instance["schema_version"], 1, "{written:#}");
    assert_eq!(
        instance["attributes"]["item"],
        json!([{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    );
    assert_eq!(instance["attributes"]["rendered"], "# alpha\na=1\nb=2\n");
    assert!(instance["attributes"].get("items").is_none());
}

#[test]
fn provider_log_lines_reach_terraform_log_at_their_level() {
    let ws = Workspace::new(&example("alpha", &[], None));
    let log = ws.path().join("terraform.log");
    let log_str = log.display().to_string();
    ws.terraform_with_env(
        &["apply", "-auto-approve", "-no-color"],
        &[("TF_LOG", "INFO"), ("TF_LOG_PATH", &log_str)],
    )
    .success();
    let text = std::fs::read_to_string(&log).expect("Terraform wrote its log");
    let line = text
        .lines()
        .find(|l| l.contains("created pgha_example"))
        .unwrap_or_else(|| panic!("provider log line missing from:\n{text}"));
    assert!(line.contains("[INFO]"), "{line}");
    assert!(line.contains("provider.terraform-provider-pgha"), "{line}");
}

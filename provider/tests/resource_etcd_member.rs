//! `pgha_etcd_member` through the real Terraform CLI: apply, an empty plan, an in-place update
//! that shows the changed file, a replacement, import (JSON and by name), a state upgrade from
//! schema version 0, destroy; invalid configurations fail at the attribute's line.

mod support;

use serde_json::{json, Value as Json};
use support::{
    actions, has_error_at, line_of, resource_change, state_attributes, PlanOutcome, Workspace,
};

const ADDR: &str = "pgha_etcd_member.e";

fn config(address: &str, extra: &str) -> String {
    format!(
        r#"locals {{
  members = {{
    e1 = "{address}"
    e2 = "10.0.0.2"
    e3 = "10.0.0.3"
  }}
}}

resource "pgha_etcd_member" "e" {{
  name         = "e1"
  address      = "{address}"
  members      = local.members
  cluster_name = "pg"
{extra}}}
"#
    )
}

fn file<'a>(files: &'a Json, path: &str) -> &'a str {
    files
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["path"] == path))
        .and_then(|f| f["content"].as_str())
        .unwrap_or_else(|| panic!("no {path} in {files:#}"))
}

#[test]
fn lifecycle_apply_update_replace_import_upgrade_destroy() {
    let ws = Workspace::new(&config("10.0.0.1", ""));

    // The files are known in the plan.
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["create"]);
    let after = &resource_change(&plan, ADDR)["change"]["after"];
    assert!(file(&after["files"], "/etc/etcd/etcd.conf").contains("ETCD_NAME=\"e1\""));
    assert_eq!(after["client_endpoint"], "10.0.0.1:2379");
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // A timing change updates the environment file in place, and the plan shows the line.
    ws.set_config(&config("10.0.0.1", "  election_timeout_ms = 1500\n"));
    let text = ws.plan_text().stdout;
    assert!(text.contains("ETCD_ELECTION_TIMEOUT=\"1500\""), "{text}");
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["update"]);
    let after = &resource_change(&plan, ADDR)["change"]["after"];
    assert!(file(&after["files"], "/etc/etcd/etcd.conf").contains("ETCD_ELECTION_TIMEOUT=\"1500\""));
    assert!(after["env_file"]
        .as_str()
        .is_some_and(|e| e.contains("ETCD_ELECTION_TIMEOUT=\"1500\"")));
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // A new address needs a new host.
    ws.set_config(&config("10.0.0.9", "  election_timeout_ms = 1500\n"));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["delete", "create"]);
    assert_eq!(
        resource_change(&plan, ADDR)["change"]["replace_paths"],
        json!([["address"]])
    );
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // Import with the arguments as JSON: the next plan is empty.
    ws.state_rm(ADDR);
    let id = json!({
        "name": "e1", "address": "10.0.0.9", "cluster_name": "pg",
        "members": {"e1": "10.0.0.9", "e2": "10.0.0.2", "e3": "10.0.0.3"},
        "election_timeout_ms": 1500
    })
    .to_string();
    ws.import(ADDR, &id).success();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // Import by name: an in-place update fills in the rest, never a replacement.
    ws.state_rm(ADDR);
    ws.import(ADDR, "e1").success();
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["update"]);
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // A typo in a JSON import ID is refused.
    ws.state_rm(ADDR);
    let refused = ws.import(ADDR, r#"{"nmae": "e1"}"#).failure();
    assert!(refused.output().contains("nmae"), "{}", refused.output());
    ws.import(ADDR, "e1").success();
    ws.apply();

    // State written by schema version 0 (no `peer_url`) upgrades without a change.
    let state_path = ws.path().join("terraform.tfstate");
    let mut state: Json =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let instance = &mut state["resources"][0]["instances"][0];
    instance["schema_version"] = json!(0);
    instance["attributes"]
        .as_object_mut()
        .unwrap()
        .remove("peer_url");
    std::fs::write(&state_path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);
    ws.apply();
    let attrs = state_attributes(&ws.state_json(), ADDR).clone();
    assert_eq!(attrs["peer_url"], "http://10.0.0.9:2380");

    ws.destroy();
    let state = ws.state_json();
    assert!(state["values"].is_null() || state["values"]["root_module"]["resources"].is_null());
    // Gone from state, still in the configuration: the next plan creates it again.
    assert_eq!(actions(&ws.plan_json(), ADDR), ["create"]);
}

#[test]
fn invalid_configurations_fail_at_the_attribute() {
    let cases: &[(&str, &str, &str)] = &[
        // (extra arguments, the line the error must point at, summary prefix)
        (
            "  heartbeat_interval_ms = 1000\n  election_timeout_ms   = 900\n",
            "election_timeout_ms",
            "E",
        ),
        ("  peer_port = 2379\n", "peer_port", "C"),
        ("  token = \"<token>\"\n", "token", "E"),
    ];
    for (extra, line, code) in cases {
        let cfg = config("10.0.0.1", extra);
        let ws = Workspace::new(&cfg);
        let plan = ws.terraform(&["plan", "-no-color"]).failure();
        assert!(plan.output().contains("Error:"), "{}", plan.output());
        let validate = ws.validate_json();
        assert_eq!(validate["valid"], false, "{validate:#}");
        let want = line_of(&cfg, "resource", line);
        assert!(
            has_error_at(validate["diagnostics"].as_array().unwrap(), code, want),
            "no {code}… error on line {want} ({line}):\n{validate:#}"
        );
    }

    // This member missing from `members`, and a malformed peer port.
    let cfg = r#"resource "pgha_etcd_member" "e" {
  name         = "e1"
  address      = "10.0.0.1"
  members      = { e2 = "10.0.0.2:x" }
  cluster_name = "pg"
}
"#;
    let ws = Workspace::new(cfg);
    let validate = ws.validate_json();
    let d = &validate["diagnostics"][0];
    assert_eq!(
        d["summary"], "This member is not in `members`",
        "{validate:#}"
    );
    assert_eq!(d["range"]["start"]["line"], line_of(cfg, "", "members"));

    // A warning does not stop the plan.
    let ws = Workspace::new(&config("10.0.0.1", "  api = \"v2\"\n"));
    let run = ws.plan_text();
    assert!(run.output().contains("Warning: E"), "{}", run.output());
}

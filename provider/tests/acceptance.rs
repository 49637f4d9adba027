//! The plumbing between Terraform and the provider, through the real Terraform CLI, shown on
//! `pgha_etcd_member` (the resource with the fewest arguments); see `support` for the harness.
//! The resources' own lifecycles are in `resource_*.rs`. What is proven here:
//!
//! - diagnostics read like Terraform's own: the resource address, the offending source line,
//!   no backtrace, and an error inside a map literal points at the element, not the attribute;
//!   a warning points at its line too;
//! - unknown arguments leave the outputs unknown at plan, and apply renders them;
//! - a hand-written state of schema version 0 is upgraded and written back as version 1;
//! - the provider's log lines reach Terraform's log, each at its own level.

mod support;

use serde_json::{json, Value as Json};
use support::{line_of, resource_change, state_attributes, PlanOutcome, Workspace};

const ADDR: &str = "pgha_etcd_member.e";

/// A member `e1` at `address` in a literal `members` map where `e1` is at `listed`.
fn member(address: &str, listed: &str, extra: &str) -> String {
    format!(
        r#"resource "pgha_etcd_member" "e" {{
  name         = "e1"
  address      = "{address}"
  cluster_name = "pg"
{extra}  members = {{
    e1 = "{listed}"
    e2 = "10.0.0.2"
    e3 = "10.0.0.3"
  }}
}}
"#
    )
}

/// The diagnostic of `terraform validate -json` with this summary prefix.
fn diagnostic(validate: &Json, summary: &str) -> Json {
    validate["diagnostics"]
        .as_array()
        .and_then(|d| {
            d.iter()
                .find(|d| {
                    d["summary"]
                        .as_str()
                        .is_some_and(|s| s.starts_with(summary))
                })
                .cloned()
        })
        .unwrap_or_else(|| panic!("no {summary:?} diagnostic in {validate:#}"))
}

#[test]
fn diagnostics_name_the_resource_and_point_at_the_line() {
    // An error and a warning from the library's checks, on two attributes.
    let config = member(
        "10.0.0.1",
        "10.0.0.1",
        "  api                   = \"v2\"\n  heartbeat_interval_ms = 1000\n  election_timeout_ms   = 900\n",
    );
    let ws = Workspace::new(&config);
    let plan = ws.terraform(&["plan", "-no-color"]).failure();
    let out = plan.output();
    assert!(out.contains("Error: E"), "{out}");
    assert!(out.contains("Warning: E"), "{out}");
    assert!(out.contains(&format!("with {ADDR},")), "{out}");
    assert!(out.contains("election_timeout_ms   = 900"), "{out}");
    // The harness sets RUST_BACKTRACE=1: diagnostics must still be plain messages.
    for trace in [
        "stack backtrace",
        "tfplugin::",
        "terraform_provider_pgha::",
        ".rs:",
    ] {
        assert!(
            !out.contains(trace),
            "diagnostic carries a backtrace:\n{out}"
        );
    }

    let validate = ws.validate_json();
    assert_eq!(validate["valid"], false);
    let error = validate["diagnostics"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["severity"] == "error"))
        .unwrap_or_else(|| panic!("no error in {validate:#}"));
    assert_eq!(
        error["range"]["start"]["line"],
        line_of(&config, "", "election_timeout_ms"),
        "{validate:#}"
    );
    let warning = validate["diagnostics"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["severity"] == "warning"))
        .unwrap_or_else(|| panic!("no warning in {validate:#}"));
    assert_eq!(
        warning["range"]["start"]["line"],
        line_of(&config, "", "api "),
        "{validate:#}"
    );

    // An error at `members["e1"]` lands on that element's line inside the map literal.
    let config = member("10.0.0.1", "10.0.0.9", "");
    ws.set_config(&config);
    let validate = ws.validate_json();
    let d = diagnostic(&validate, "`members` disagrees with this member");
    assert_eq!(d["severity"], "error");
    assert_eq!(
        d["range"]["start"]["line"],
        line_of(&config, "members", "e1 = "),
        "{validate:#}"
    );
    assert_ne!(
        d["range"]["start"]["line"],
        line_of(&config, "", "members ="),
        "the element, not the attribute"
    );
}

#[test]
fn unknown_arguments_are_rendered_at_apply_not_guessed() {
    let config = r#"resource "terraform_data" "host" {
  input = "10.0.0.7"
}

locals {
  members = {
    e1 = terraform_data.host.output
    e2 = "10.0.0.2"
    e3 = "10.0.0.3"
  }
}

resource "pgha_etcd_member" "e" {
  name         = "e1"
  address      = terraform_data.host.output
  members      = local.members
  cluster_name = "pg"
}
"#;
    let ws = Workspace::new(config);
    let plan = ws.plan_json();
    let change = &resource_change(&plan, ADDR)["change"];
    for output in [
        "env_file",
        "unit",
        "files",
        "cloud_init",
        "client_url",
        "client_endpoint",
        "peer_url",
    ] {
        assert_eq!(
            change["after_unknown"][output], true,
            "{output}: {change:#}"
        );
        assert!(
            change["after"].get(output).is_none_or(Json::is_null),
            "{output}: {change:#}"
        );
    }
    // The name is known, so is the ID.
    assert_eq!(change["after"]["id"], "e1", "{change:#}");

    ws.apply();
    let state = ws.state_json();
    let attrs = state_attributes(&state, ADDR);
    assert_eq!(attrs["client_endpoint"], "10.0.0.7:2379");
    assert!(
        attrs["env_file"]
            .as_str()
            .is_some_and(|e| e.contains("e1=http://10.0.0.7:2380")),
        "{attrs:#}"
    );
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);
}

#[test]
fn hand_written_state_of_schema_version_0_is_upgraded() {
    let config = member("10.0.0.1", "10.0.0.1", "");
    let ws = Workspace::new(&config);
    // Written by hand, not by this provider: version 0 had no `peer_url`, and its outputs are
    // stale, so only a real upgrade (arguments kept, outputs rendered again) plans nothing.
    let state = json!({
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": 1,
        "lineage": "5f0c4a0e-1111-2222-3333-444455556666",
        "outputs": {},
        "resources": [{
            "mode": "managed",
            "type": "pgha_etcd_member",
            "name": "e",
            "provider": "provider[\"registry.terraform.io/pgha/pgha\"]",
            "instances": [{
                "schema_version": 0,
                "attributes": {
                    "id": "e1",
                    "name": "e1",
                    "address": "10.0.0.1",
                    "cluster_name": "pg",
                    "members": {"e1": "10.0.0.1", "e2": "10.0.0.2", "e3": "10.0.0.3"},
                    "env_file": "written by version 0",
                    "unit": "written by version 0",
                    "files": [],
                    "cloud_init": "written by version 0",
                    "client_url": "http://10.0.0.1:2379",
                    "client_endpoint": "10.0.0.1:2379"
                },
                "sensitive_attributes": []
            }]
        }],
        "check_results": null
    });
    ws.write("terraform.tfstate", &state.to_string());

    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);
    ws.apply();
    let written: Json = serde_json::from_str(
        &std::fs::read_to_string(ws.path().join("terraform.tfstate")).expect("state file"),
    )
    .expect("state is JSON");
    let instance = &written["resources"][0]["instances"][0];
    assert_eq!(instance["schema_version"], 1, "{written:#}");
    let attrs = &instance["attributes"];
    assert_eq!(attrs["peer_url"], "http://10.0.0.1:2380");
    assert!(
        attrs["env_file"]
            .as_str()
            .is_some_and(|e| e.contains("ETCD_NAME=\"e1\"")),
        "{attrs:#}"
    );
    assert!(attrs["files"].as_array().is_some_and(|f| !f.is_empty()));
}

#[test]
fn provider_log_lines_reach_terraform_log_at_their_level() {
    let ws = Workspace::new(&member("10.0.0.1", "10.0.0.1", ""));
    let log = ws.path().join("terraform.log");
    let log_str = log.display().to_string();
    ws.terraform_with_env(
        &["plan", "-no-color"],
        &[("TF_LOG", "TRACE"), ("TF_LOG_PATH", &log_str)],
    )
    .success();
    let text = std::fs::read_to_string(&log).expect("Terraform wrote its log");
    let line = |parts: &[&str]| {
        text.lines()
            .find(|l| {
                l.contains("provider.terraform-provider-pgha: ")
                    && parts.iter().all(|p| l.contains(p))
            })
            .unwrap_or_else(|| panic!("provider log line {parts:?} missing from:\n{text}"))
    };
    // The provider's own DEBUG event, and the server's TRACE one: plain stderr would all be
    // logged at DEBUG, so the TRACE tag shows that the level travelled with the line. Fields
    // (`@module=pgha`, `rpc=...`) come in no fixed order.
    let configured = line(&[": provider configured", "@module=pgha"]);
    assert!(configured.contains("[DEBUG]"), "{configured}");
    let request = line(&[": request:", "rpc=/tfplugin6.Provider/PlanResourceChange"]);
    assert!(request.contains("[TRACE]"), "{request}");
}

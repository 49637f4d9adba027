//! `pgha_patroni_node` through the real Terraform CLI, next to the stanza and the
//! `pgha_patroni_cluster` whose `spec` it takes: lifecycle (a local parameter change updates
//! patroni.yml in place, a new address or port or a new repository replaces the node), import,
//! attribute-path errors, and inline passwords kept out of the plan. The cluster-wide settings
//! and their checks are in `resource_patroni_cluster.rs`.

mod support;

use serde_json::Value as Json;
use support::{actions, has_error_at, line_of, resource_change, PlanOutcome, Workspace};

const ADDR: &str = "pgha_patroni_node.n";
const CLUSTER: &str = "pgha_patroni_cluster.c";

/// A stanza in `repo`, a cluster `pg` whose `members` list db1 at `address`, and the node db1
/// at `address`. Nothing answers on the cluster's endpoint (port 9 on loopback): the cluster is
/// created without contacting anything, and a refresh only warns.
fn config(address: &str, repo: &str, node_extra: &str) -> String {
    format!(
        r#"resource "pgha_pgbackrest_stanza" "s" {{
  name = "pg"
  posix {{
    path = "{repo}"
  }}
}}

locals {{
  nodes = {{
    db1 = "{address}"
    db2 = "10.0.0.22"
    db3 = "10.0.0.23"
  }}
}}

resource "pgha_patroni_cluster" "c" {{
  name      = "pg"
  members   = local.nodes
  endpoints = ["http://127.0.0.1:9"]
  dcs_hosts = ["10.0.0.11:2379", "10.0.0.12:2379", "10.0.0.13:2379"]
  stanza    = pgha_pgbackrest_stanza.s.spec

  parameters = {{
    max_connections = 200
  }}

  superuser_password_ref {{
    env_file = "/etc/pgha/db.env"
    variable = "SUPERUSER"
  }}
  replication_password_ref {{
    env_file = "/etc/pgha/db.env"
    variable = "REPLICATION"
  }}
  rewind_password_ref {{
    env_file = "/etc/pgha/db.env"
    variable = "REWIND"
  }}
  restapi_username = "patroni"
  restapi_password_ref {{
    env_file = "/etc/pgha/db.env"
    variable = "RESTAPI"
  }}

  timeouts {{
    read   = "1s"
    update = "5s"
  }}
}}

resource "pgha_patroni_node" "n" {{
  cluster = pgha_patroni_cluster.c.spec
  name    = "db1"
  address = "{address}"
{node_extra}}}
"#
    )
}

/// The diagnostics of a failing `terraform plan -json`.
fn plan_diagnostics(ws: &Workspace) -> Vec<Json> {
    let (run, messages) = ws.plan_stream();
    assert_ne!(run.code, Some(0), "plan succeeded:\n{}", run.output());
    messages
        .into_iter()
        .filter(|m| m["type"] == "diagnostic")
        .map(|m| m["diagnostic"].clone())
        .collect()
}

fn patroni_yml(files: &Json) -> String {
    files
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["path"] == "/etc/patroni/patroni.yml"))
        .and_then(|f| f["content"].as_str())
        .unwrap_or_else(|| panic!("no patroni.yml in {files:#}"))
        .to_string()
}

#[test]
fn lifecycle_update_replace_import_destroy() {
    let local = |v: &str| format!("  local_parameters = {{\n    work_mem = \"{v}\"\n  }}\n");
    let ws = Workspace::new(&config("10.0.0.21", "/backup", &local("16MB")));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["create"]);
    let after = &resource_change(&plan, ADDR)["change"]["after"];
    let yml = patroni_yml(&after["files"]);
    assert!(yml.contains("work_mem: '16MB'"), "{yml}");
    assert!(yml.contains("- '10.0.0.11:2379'"), "{yml}");
    // The cluster's settings are the bootstrap configuration of a new cluster.
    assert!(yml.contains("max_connections: 200"), "{yml}");
    assert!(
        yml.contains("host replication replicator 10.0.0.23/32 scram-sha-256"),
        "{yml}"
    );
    assert_eq!(after["sensitive_files"], serde_json::json!([]));
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // A parameter of this node only: update in place, patroni.yml shows it.
    ws.set_config(&config("10.0.0.21", "/backup", &local("32MB")));
    let text = ws.plan_text().stdout;
    assert!(text.contains("work_mem: '32MB'"), "{text}");
    assert!(text.contains("update in-place"), "{text}");
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["update"]);
    assert_eq!(actions(&plan, CLUSTER), ["no-op"]);
    assert!(
        patroni_yml(&resource_change(&plan, ADDR)["change"]["after"]["files"])
            .contains("work_mem: '32MB'")
    );
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // A new address needs a new host (and the cluster's members change live: an update, which
    // needs the running cluster, so this one is only planned).
    ws.set_config(&config("10.0.0.31", "/backup", &local("32MB")));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["delete", "create"]);
    assert_eq!(
        resource_change(&plan, ADDR)["change"]["replace_paths"],
        serde_json::json!([["address"]])
    );
    assert_eq!(actions(&plan, CLUSTER), ["update"]);

    // So does a new port, which is the node's alone.
    let port = format!("{}  pg_port = 5433\n", local("32MB"));
    ws.set_config(&config("10.0.0.21", "/backup", &port));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["delete", "create"]);
    assert_eq!(
        resource_change(&plan, ADDR)["change"]["replace_paths"],
        serde_json::json!([["pg_port"]])
    );
    assert_eq!(actions(&plan, CLUSTER), ["no-op"]);
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // A new repository replaces the stanza and, through the specs, the cluster and the node.
    ws.set_config(&config("10.0.0.21", "/backup2", &port));
    let plan = ws.plan_json();
    assert_eq!(
        actions(&plan, "pgha_pgbackrest_stanza.s"),
        ["delete", "create"]
    );
    assert_eq!(actions(&plan, CLUSTER), ["delete", "create"]);
    assert_eq!(actions(&plan, ADDR), ["delete", "create"]);
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // Import by name: an in-place update, then nothing.
    ws.state_rm(ADDR);
    ws.import(ADDR, "db1").success();
    assert_eq!(actions(&ws.plan_json(), ADDR), ["update"]);
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);
    ws.destroy();
}

#[test]
fn invalid_configurations_fail_at_the_attribute() {
    let cases: &[(&str, &str, &str)] = &[
        ("  listen_address = \"*\"\n", "listen_address", "C"),
        ("  pg_port = 70000\n", "pg_port", ""),
        (
            "  watchdog = \"sometimes\"\n",
            "watchdog",
            "Unknown watchdog mode",
        ),
        (
            "  local_parameters = {\n    wal_level = \"minimal\"\n  }\n",
            "wal_level",
            "P",
        ),
    ];
    // The node's checks need the cluster's spec, which is known at plan time (not during
    // `terraform validate`): read the diagnostics of `terraform plan -json`.
    for (extra, line, code) in cases {
        let cfg = config("10.0.0.21", "/backup", extra);
        let ws = Workspace::new(&cfg);
        let diagnostics = plan_diagnostics(&ws);
        let want = line_of(&cfg, "pgha_patroni_node", line);
        assert!(
            has_error_at(&diagnostics, code, want),
            "no {code}… error on line {want} ({line}):\n{diagnostics:#?}"
        );
    }

    let summaries = |cfg: &str| -> Vec<String> {
        plan_diagnostics(&Workspace::new(cfg))
            .iter()
            .filter_map(|d| d["summary"].as_str().map(String::from))
            .collect()
    };
    let cfg = config("10.0.0.21", "/backup", "").replace(
        "  cluster = pgha_patroni_cluster.c.spec\n",
        "  cluster = \"{}\"\n",
    );
    let found = summaries(&cfg);
    assert!(found.iter().any(|s| s == "Not a cluster spec"), "{found:?}");
}

#[test]
fn inline_passwords_go_to_sensitive_outputs_only() {
    const SECRET: &str = "Kx9-inline-superuser-pw-2718";
    let cfg = config("10.0.0.21", "/backup", "").replace(
        "  superuser_password_ref {\n    env_file = \"/etc/pgha/db.env\"\n    variable = \"SUPERUSER\"\n  }\n",
        &format!("  superuser_password = \"{SECRET}\"\n"),
    );
    assert!(cfg.contains(SECRET));
    let ws = Workspace::new(&cfg);
    let plan = ws.plan_text();
    assert!(!plan.output().contains(SECRET), "{}", plan.output());
    let apply = ws.apply();
    assert!(!apply.output().contains(SECRET));
    let saved = ws.plan_json();
    let change = &resource_change(&saved, ADDR)["change"];
    // patroni.yml holds the password: it is in `sensitive_files`, not in `files`.
    let before = &change["before"];
    assert!(before["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["path"] != "/etc/patroni/patroni.yml"));
    assert!(patroni_yml(&before["sensitive_files"]).contains(SECRET));
    assert_eq!(change["before_sensitive"]["sensitive_files"], true);
    assert_eq!(change["before_sensitive"]["cloud_init"], true);
    assert_eq!(change["before_sensitive"]["patroni_yml"], true);
    assert_eq!(change["before_sensitive"]["cluster"], true);
}

/// One stanza serves nodes whose platforms differ only in `root` (hosts sharing a machine), and
/// each node renders with its own root; a node on another layout than its stanza is refused at
/// `platform`.
#[test]
fn a_stanza_is_shared_across_roots_but_not_across_layouts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    let repo = repo.to_str().expect("utf-8 path");

    let rooted = "  platform {\n    root = \"/srv/hosts/db1\"\n  }\n";
    let ws = Workspace::new(&config("10.0.0.21", repo, rooted));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["create"]);
    let after = &resource_change(&plan, ADDR)["change"]["after"];
    let yml = after["files"]
        .as_array()
        .and_then(|fs| {
            fs.iter()
                .find(|f| f["path"] == "/srv/hosts/db1/etc/patroni/patroni.yml")
        })
        .and_then(|f| f["content"].as_str())
        .unwrap_or_else(|| panic!("no rooted patroni.yml in {:#}", after["files"]));
    assert!(
        yml.contains("data_dir: /srv/hosts/db1/var/lib/pgsql/17/data"),
        "{yml}"
    );

    let other_layout = "  platform {\n    preset = \"debian\"\n  }\n";
    ws.set_config(&config("10.0.0.21", repo, other_layout));
    let diags = plan_diagnostics(&ws);
    let d = diags
        .iter()
        .find(|d| d["summary"] == "The stanza was rendered for another platform")
        .unwrap_or_else(|| panic!("no platform diagnostic in {diags:#?}"));
    let text = std::fs::read_to_string(ws.path().join("main.tf")).expect("main.tf");
    assert_eq!(
        d["range"]["start"]["line"].as_u64(),
        Some(line_of(
            &text,
            "resource \"pgha_patroni_node\"",
            "preset = \"debian\""
        )),
        "{d:#}"
    );
}

/// A node stored by the provider before `pgha_patroni_cluster` existed (schema version 1, every
/// cluster-wide setting on the node) is upgraded to version 2: its arguments moved to the
/// cluster, so the next plan takes `cluster` from the configuration and updates the node in
/// place. It is not replaced: its host is the same host.
#[test]
fn state_of_schema_version_1_is_upgraded_in_place() {
    let ws = Workspace::new(&config("10.0.0.21", "/backup", ""));
    ws.apply();
    let path = ws.path().join("terraform.tfstate");
    let mut state: Json =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("state file")).expect("JSON");
    let resources = state["resources"].as_array_mut().expect("resources");
    let stanza_spec = resources
        .iter()
        .find(|r| r["type"] == "pgha_pgbackrest_stanza")
        .map(|r| r["instances"][0]["attributes"]["spec"].clone())
        .expect("the stanza in state");
    let node = resources
        .iter_mut()
        .find(|r| r["type"] == "pgha_patroni_node")
        .expect("the node in state");
    let instance = &mut node["instances"][0];
    instance["schema_version"] = 1.into();
    let attrs = instance["attributes"].as_object_mut().expect("attributes");
    let cloud_init = attrs["cloud_init"].clone();
    attrs.remove("cluster");
    let env_ref = |variable: &str| serde_json::json!([{"env_file": "/etc/pgha/db.env", "variable": variable}]);
    for (key, value) in [
        ("cluster_name", serde_json::json!("pg")),
        (
            "nodes",
            serde_json::json!({"db1": "10.0.0.21", "db2": "10.0.0.22", "db3": "10.0.0.23"}),
        ),
        (
            "dcs_hosts",
            serde_json::json!(["10.0.0.11:2379", "10.0.0.12:2379", "10.0.0.13:2379"]),
        ),
        ("stanza", stanza_spec),
        ("parameters", serde_json::json!({"max_connections": "200"})),
        ("superuser_password_ref", env_ref("SUPERUSER")),
        ("replication_password_ref", env_ref("REPLICATION")),
        ("rewind_password_ref", env_ref("REWIND")),
        ("restapi_username", serde_json::json!("patroni")),
        ("restapi_password_ref", env_ref("RESTAPI")),
    ] {
        attrs.insert(key.to_string(), value);
    }
    instance["sensitive_attributes"] = serde_json::json!([]);
    std::fs::write(&path, state.to_string()).expect("write the state");

    let plan = ws.plan_json();
    let change = &resource_change(&plan, ADDR)["change"];
    assert_eq!(
        actions(&plan, ADDR),
        ["update"],
        "replace_paths: {}",
        change["replace_paths"]
    );
    assert_eq!(change["after"]["cloud_init"], cloud_init);
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);
    let written: Json =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("state file")).expect("JSON");
    let node = written["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["type"] == "pgha_patroni_node"))
        .expect("the node in state");
    assert_eq!(node["instances"][0]["schema_version"], 2);
}

//! `pgha_patroni_node` through the real Terraform CLI, next to the stanza whose `spec` it
//! takes: lifecycle (a parameter change updates patroni.yml in place, a new address or a new
//! repository replaces the node), import, attribute-path errors, and inline passwords kept out
//! of the plan.

mod support;

use serde_json::Value as Json;
use support::{actions, has_error_at, line_of, resource_change, PlanOutcome, Workspace};

const ADDR: &str = "pgha_patroni_node.n";

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

resource "pgha_patroni_node" "n" {{
  cluster_name = "pg"
  name         = "db1"
  address      = "{address}"
  nodes        = local.nodes
  dcs_hosts    = ["10.0.0.11:2379", "10.0.0.12:2379", "10.0.0.13:2379"]
  stanza       = pgha_pgbackrest_stanza.s.spec

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
    let params = |n: u32| format!("  parameters = {{\n    max_connections = {n}\n  }}\n");
    let ws = Workspace::new(&config("10.0.0.21", "/backup", &params(200)));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["create"]);
    let after = &resource_change(&plan, ADDR)["change"]["after"];
    let yml = patroni_yml(&after["files"]);
    assert!(yml.contains("max_connections: 200"), "{yml}");
    assert!(yml.contains("- '10.0.0.11:2379'"), "{yml}");
    assert!(
        yml.contains("host replication replicator 10.0.0.23/32 scram-sha-256"),
        "{yml}"
    );
    assert_eq!(after["sensitive_files"], serde_json::json!([]));
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // A PostgreSQL parameter is applied live: update in place, patroni.yml shows it.
    ws.set_config(&config("10.0.0.21", "/backup", &params(300)));
    let text = ws.plan_text().stdout;
    assert!(text.contains("max_connections: 300"), "{text}");
    assert!(text.contains("update in-place"), "{text}");
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["update"]);
    assert!(
        patroni_yml(&resource_change(&plan, ADDR)["change"]["after"]["files"])
            .contains("max_connections: 300")
    );
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // A new address needs a new host.
    ws.set_config(&config("10.0.0.31", "/backup", &params(300)));
    let plan = ws.plan_json();
    assert_eq!(actions(&plan, ADDR), ["delete", "create"]);
    assert_eq!(
        resource_change(&plan, ADDR)["change"]["replace_paths"],
        serde_json::json!([["address"]])
    );
    ws.apply();

    // A new repository replaces the stanza and, through its spec, the node.
    ws.set_config(&config("10.0.0.31", "/backup2", &params(300)));
    let plan = ws.plan_json();
    assert_eq!(
        actions(&plan, "pgha_pgbackrest_stanza.s"),
        ["delete", "create"]
    );
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
        ("  ttl = 10\n  loop_wait = 10\n", "ttl", "P"),
        ("  client_cidrs = [\"10.0.0.0/33\"]\n", "client_cidrs", "P"),
        ("  postgres_version = 12\n", "postgres_version", "C"),
        ("  listen_address = \"*\"\n", "listen_address", "C"),
    ];
    // The node's checks need the stanza's spec, which is known at plan time (not during
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
    let cfg = config("10.0.0.21", "/backup", "")
        .replace("\"10.0.0.11:2379\", ", "\"etcd-without-port\", ");
    let found = summaries(&cfg);
    assert!(
        found.iter().any(|s| s == "Not an etcd client endpoint"),
        "{found:?}"
    );
    let cfg = config("10.0.0.21", "/backup", "").replace("    db1 = \"10.0.0.21\"\n", "");
    let found = summaries(&cfg);
    assert!(
        found.iter().any(|s| s == "This node is not in `nodes`"),
        "{found:?}"
    );
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

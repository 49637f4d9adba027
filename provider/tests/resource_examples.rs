//! The shipped examples, run with the real Terraform CLI and this provider alone:
//! examples/quickstart renders the seed topology byte for byte as the library renders
//! examples/seed/cluster.yaml (files and cloud-init of all six hosts), within OCI's user_data
//! limit; the pgha part of examples/oci validates and plans with OCI references replaced by
//! literals.

mod support;

use std::path::{Path, PathBuf};

use pgha_config::cloud_init::{sizes, OCI_USER_DATA_LIMIT};
use pgha_config::{render_cluster, Cluster};
use serde_json::Value as Json;
use support::{PlanOutcome, Workspace};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn resources(state: &Json) -> &Vec<Json> {
    state["values"]["root_module"]["resources"]
        .as_array()
        .expect("resources in state")
}

#[test]
fn quickstart_renders_the_seed_topology_byte_for_byte() {
    let ws = Workspace::new(&read("examples/quickstart/main.tf"));
    // The example declares its own required_providers; the harness's copy would repeat it.
    std::fs::remove_file(ws.path().join("providers.tf")).unwrap();
    ws.write("outputs.tf", &read("examples/quickstart/outputs.tf"));
    ws.apply();
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    let cluster = Cluster::from_yaml(&read("examples/seed/cluster.yaml")).unwrap();
    let (hosts, _) = render_cluster(&cluster).unwrap();
    let state = ws.state_json();
    let mut seen = 0;
    for r in resources(&state) {
        let Some(host) = r["index"].as_str() else {
            continue;
        };
        let plan = hosts
            .iter()
            .find(|h| h.host == host)
            .unwrap_or_else(|| panic!("{host} is not a seed host"));
        let got: Vec<(String, String, String, String, String)> = r["values"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let s = |k: &str| f[k].as_str().unwrap().to_string();
                (s("path"), s("content"), s("mode"), s("owner"), s("group"))
            })
            .collect();
        let want: Vec<_> = plan
            .files
            .iter()
            .map(|f| {
                (
                    f.path.clone(),
                    f.content.clone(),
                    f.mode_string(),
                    f.owner.clone(),
                    f.group.clone(),
                )
            })
            .collect();
        assert_eq!(got, want, "files of {host}");
        let cloud_init = r["values"]["cloud_init"].as_str().unwrap();
        assert_eq!(cloud_init, pgha_config::cloud_init::render(plan), "{host}");
        let (raw, b64) = sizes(cloud_init);
        eprintln!("{host}: cloud-init {raw} bytes, {b64} bytes as base64");
        assert!(
            b64 <= OCI_USER_DATA_LIMIT,
            "{host}: {b64} bytes of user_data"
        );
        seen += 1;
    }
    assert_eq!(seen, 6, "three etcd members and three nodes");
}

/// examples/oci/wiring.tf with literals instead of OCI data sources and resources.
const LITERAL_WIRING: &str = r#"locals {
  object_storage_namespace = "examplenamespace"
  backup_bucket            = "pg-backup"
  region                   = "us-ashburn-1"
  client_cidrs             = ["10.0.0.0/16"]
  vault_secret_ids = {
    superuser   = "ocid1.vaultsecret.oc1.iad.exampleexampleexampleexamplesuperuser"
    replication = "ocid1.vaultsecret.oc1.iad.exampleexampleexampleexamplereplication"
    rewind      = "ocid1.vaultsecret.oc1.iad.exampleexampleexampleexamplerewind"
    restapi     = "ocid1.vaultsecret.oc1.iad.exampleexampleexampleexamplerestapi"
  }
  s3_access_key_id        = "ocid1.credential.oc1..exampleexampleexampleexample"
  s3_secret_key_secret_id = "ocid1.vaultsecret.oc1.iad.exampleexampleexampleexamples3key"
}
"#;

#[test]
fn oci_example_pgha_part_validates_and_plans() {
    let wiring = read("examples/oci/wiring.tf");
    // Every value the pgha resources take from OCI comes through wiring.tf's locals.
    for name in [
        "object_storage_namespace",
        "backup_bucket",
        "region",
        "client_cidrs",
        "vault_secret_ids",
        "s3_access_key_id",
        "s3_secret_key_secret_id",
    ] {
        assert!(wiring.contains(name), "wiring.tf lost {name}");
    }
    let pgha = read("examples/oci/pgha.tf");
    assert!(
        ![
            "var.",
            "data.",
            "oci_core_",
            "oci_identity_",
            "oci_objectstorage_"
        ]
        .iter()
        .any(|r| pgha.contains(r)),
        "pgha.tf must take OCI values through wiring.tf only"
    );
    let ws = Workspace::new(&pgha);
    ws.write("wiring.tf", LITERAL_WIRING);
    let validate = ws.validate_json();
    assert_eq!(validate["valid"], true, "{validate:#}");
    let plan = ws.plan_json();
    let changes = plan["resource_changes"].as_array().unwrap();
    assert_eq!(
        changes.len(),
        8,
        "3 etcd members, 1 stanza, 1 cluster, 3 nodes"
    );
    for c in changes {
        let after = &c["change"]["after"];
        assert!(
            after["cloud_init"].as_str().is_some_and(|d| {
                let (_, b64) = sizes(d);
                eprintln!("{}: {b64} bytes of user_data", c["address"]);
                b64 <= OCI_USER_DATA_LIMIT
            }) || c["type"] == "pgha_pgbackrest_stanza"
                || c["type"] == "pgha_patroni_cluster",
            "{}: cloud_init unknown at plan or over the limit",
            c["address"]
        );
    }
}

/// The committed Registry pages of the resources are what `terraform-provider-pgha docs`
/// generates from the schema and examples/ today (`docs --check` covers the whole directory).
#[test]
fn resource_docs_are_current() {
    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(support::provider_binary())
        .args(["docs", "--out"])
        .arg(out.path())
        .arg("--examples")
        .arg(repo().join("examples"))
        .status()
        .expect("run docs");
    assert!(status.success());
    for page in [
        "etcd_member.md",
        "patroni_cluster.md",
        "patroni_node.md",
        "patroni_switchover.md",
        "pgbackrest_stanza.md",
    ] {
        let generated = std::fs::read_to_string(out.path().join("resources").join(page)).unwrap();
        let committed = read(&format!("docs/resources/{page}"));
        assert!(
            generated == committed,
            "docs/resources/{page} is stale: run `terraform-provider-pgha docs`"
        );
    }
}

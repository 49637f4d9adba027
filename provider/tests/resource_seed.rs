//! The resources, driven through the provider's `Resource` trait (no Terraform), render the seed
//! topology byte for byte as the library does from `examples/seed/cluster.yaml`: every file and
//! every cloud-init document of the three etcd members and the three database nodes, the nodes
//! taking everything cluster-wide from a `pgha_patroni_cluster`'s `spec`.

use std::sync::Arc;

use pgha_config::{render_cluster, Cluster, HostPlan};
use terraform_provider_pgha::resources;
use terraform_provider_pgha::tfplugin::{Diagnostics, PlanRequest, Resource, Value};

fn resource(name: &str) -> Arc<dyn Resource> {
    resources::all()
        .into_iter()
        .find(|r| r.type_name() == name)
        .unwrap_or_else(|| panic!("{name} is registered"))
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::object(pairs.iter().map(|(k, v)| (*k, v.clone())))
}

fn s(text: &str) -> Value {
    Value::from(text)
}

fn n(x: f64) -> Value {
    Value::Number(x)
}

fn strs(items: &[&str]) -> Value {
    Value::List(items.iter().map(|i| s(i)).collect())
}

fn vault(role: &str) -> Value {
    obj(&[(
        "oci_vault_secret_id",
        s(&format!(
            "ocid1.vaultsecret.oc1.iad.exampleexampleexampleexample{role}"
        )),
    )])
}

fn env_ref(variable: &str) -> Value {
    obj(&[
        ("env_file", s("/etc/pgha/s3.env")),
        ("variable", s(variable)),
    ])
}

fn tutorial_platform() -> Value {
    obj(&[("preset", s("tutorial"))])
}

/// Plans `config` as a create and returns the planned state, failing on any error.
async fn plan(resource: &dyn Resource, config: &Value) -> Value {
    let mut diags = Diagnostics::default();
    resource.validate(config, &mut diags).await;
    let planned = resource
        .plan(
            PlanRequest {
                prior: None,
                proposed: config,
                config,
            },
            &mut diags,
        )
        .await;
    assert!(!diags.has_errors(), "{diags:#?}");
    planned.expect("a plan").planned
}

fn files_of(state: &Value, key: &str) -> Vec<(String, String, String, String)> {
    state
        .get(key)
        .as_list()
        .unwrap_or(&[])
        .iter()
        .map(|f| {
            (
                f.get("path").as_str().unwrap().to_string(),
                f.get("content").as_str().unwrap().to_string(),
                f.get("mode").as_str().unwrap().to_string(),
                format!(
                    "{}:{}",
                    f.get("owner").as_str().unwrap(),
                    f.get("group").as_str().unwrap()
                ),
            )
        })
        .collect()
}

fn expected_files(plan: &HostPlan) -> Vec<(String, String, String, String)> {
    plan.files
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                f.content.clone(),
                f.mode_string(),
                format!("{}:{}", f.owner, f.group),
            )
        })
        .collect()
}

fn seed() -> (Cluster, Vec<HostPlan>) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/seed/cluster.yaml"
    ))
    .unwrap();
    let cluster = Cluster::from_yaml(&text).unwrap();
    let (hosts, _) = render_cluster(&cluster).unwrap();
    (cluster, hosts)
}

#[tokio::test]
async fn seed_topology_renders_byte_for_byte() {
    let (_, hosts) = seed();
    let etcd = resource("pgha_etcd_member");
    let members = obj(&[
        ("pg-etcd-01", s("192.0.2.4")),
        ("pg-etcd-02", s("192.0.2.5")),
        ("pg-etcd-03", s("192.0.2.6")),
    ]);
    let mut endpoints = Vec::new();
    for (i, (name, addr)) in [
        ("pg-etcd-01", "192.0.2.4"),
        ("pg-etcd-02", "192.0.2.5"),
        ("pg-etcd-03", "192.0.2.6"),
    ]
    .iter()
    .enumerate()
    {
        let config = obj(&[
            ("name", s(name)),
            ("address", s(addr)),
            ("availability_domain", s(&format!("AD{}", i + 1))),
            ("members", members.clone()),
            ("cluster_name", s("pg-ha-cluster")),
            ("token", s("etcd-cluster")),
            ("heartbeat_interval_ms", n(1000.0)),
            ("election_timeout_ms", n(5000.0)),
            ("platform", tutorial_platform()),
        ]);
        let state = plan(etcd.as_ref(), &config).await;
        let host = hosts.iter().find(|h| h.host == *name).unwrap();
        assert_eq!(files_of(&state, "files"), expected_files(host), "{name}");
        assert_eq!(
            state.get("cloud_init").as_str(),
            Some(pgha_config::cloud_init::render(host).as_str())
        );
        endpoints.push(state.get("client_endpoint").clone());
    }

    let stanza = resource("pgha_pgbackrest_stanza");
    let stanza_config = obj(&[
        ("name", s("pg-ha-cluster")),
        (
            "s3",
            obj(&[
                ("bucket", s("pg_backup")),
                ("region", s("us-ashburn-1")),
                ("namespace", s("examplenamespace")),
                ("path", s("/backup")),
                ("access_key_ref", env_ref("S3_ACCESS_KEY")),
                ("secret_key_ref", env_ref("S3_SECRET_KEY")),
            ]),
        ),
        ("retention_full", n(10.0)),
        ("process_max", n(10.0)),
        (
            "schedule",
            obj(&[("full", s("0 1 * * 0")), ("diff", s("0 1 * * 1-6"))]),
        ),
        (
            "log_cleanup",
            obj(&[("retention_days", n(15.0)), ("schedule", s("8 0 * * *"))]),
        ),
        ("platform", tutorial_platform()),
    ]);
    let stanza_state = plan(stanza.as_ref(), &stanza_config).await;
    let spec = stanza_state.get("spec").clone();
    assert!(spec.as_str().is_some());

    let cluster = resource("pgha_patroni_cluster");
    let members = obj(&[
        ("pg-db-01", s("192.0.2.1")),
        ("pg-db-02", s("192.0.2.2")),
        ("pg-db-03", s("192.0.2.3")),
    ]);
    let parameters = obj(&[
        ("archive_timeout", s("900s")),
        ("log_file_mode", s("0640")),
        ("log_filename", s("postgresql-%u.log")),
        ("log_rotation_age", s("1d")),
        ("log_truncate_on_rotation", s("true")),
        ("logging_collector", s("true")),
        ("max_connections", s("2000")),
        ("max_replication_slots", s("10")),
        ("max_wal_senders", s("10")),
        ("max_wal_size", s("5GB")),
        ("max_worker_processes", s("40")),
        ("min_wal_size", s("1GB")),
        ("password_encryption", s("scram-sha-256")),
        ("superuser_reserved_connections", s("200")),
    ]);
    let cluster_config = obj(&[
        ("name", s("pg-ha-cluster")),
        ("namespace", s("/service/")),
        ("members", members),
        ("dcs_hosts", Value::List(endpoints.clone())),
        ("stanza", spec.clone()),
        ("postgres_version", n(17.0)),
        ("ttl", n(120.0)),
        ("loop_wait", n(10.0)),
        ("retry_timeout", n(10.0)),
        ("maximum_lag_on_failover", n(1048576.0)),
        ("synchronous_mode", Value::Bool(false)),
        ("use_pg_rewind", Value::Bool(true)),
        ("use_slots", Value::Bool(true)),
        ("parameters", parameters),
        ("client_cidrs", strs(&["192.0.2.0/24"])),
        (
            "initdb",
            obj(&[
                ("encoding", s("UTF8")),
                ("data_checksums", Value::Bool(true)),
            ]),
        ),
        (
            "admin_user",
            obj(&[
                ("name", s("admin")),
                ("options", strs(&["createrole", "createdb"])),
                ("password_ref", vault("admin")),
            ]),
        ),
        ("superuser_password_ref", vault("superuser")),
        ("replication_password_ref", vault("replication")),
        ("rewind_password_ref", vault("rewind")),
        ("restapi_username", s("patroni")),
        ("restapi_password_ref", vault("restapi")),
    ]);
    let cluster_state = plan(cluster.as_ref(), &cluster_config).await;
    let cluster_spec = cluster_state.get("spec").clone();
    assert!(cluster_spec.as_str().is_some());
    // At create the cluster's dynamic configuration is the one its hosts bootstrap with.
    assert_eq!(
        cluster_state.get("dynamic_config"),
        cluster_state.get("bootstrap_dynamic_config")
    );

    let node = resource("pgha_patroni_node");
    for (i, (name, addr)) in [
        ("pg-db-01", "192.0.2.1"),
        ("pg-db-02", "192.0.2.2"),
        ("pg-db-03", "192.0.2.3"),
    ]
    .iter()
    .enumerate()
    {
        // The node's own entry of node_specs, as the examples wire it.
        let own_spec = cluster_state.get("node_specs").get(name).clone();
        assert!(own_spec.as_str().is_some(), "node_specs[{name}]");
        let config = obj(&[
            ("cluster", own_spec),
            ("name", s(name)),
            ("address", s(addr)),
            ("availability_domain", s(&format!("AD{}", i + 1))),
            ("platform", tutorial_platform()),
        ]);
        let state = plan(node.as_ref(), &config).await;
        let host = hosts.iter().find(|h| h.host == *name).unwrap();
        assert_eq!(files_of(&state, "files"), expected_files(host), "{name}");
        assert!(files_of(&state, "sensitive_files").is_empty());
        assert_eq!(
            state.get("cloud_init").as_str(),
            Some(pgha_config::cloud_init::render(host).as_str())
        );
    }
}

#[tokio::test]
async fn unknown_arguments_leave_every_output_unknown() {
    let etcd = resource("pgha_etcd_member");
    let config = obj(&[
        ("name", s("e1")),
        ("address", Value::Unknown),
        ("members", obj(&[("e1", s("10.0.0.1"))])),
        ("cluster_name", s("pg")),
    ]);
    let state = plan(etcd.as_ref(), &config).await;
    assert_eq!(state.get("id").as_str(), Some("e1"));
    for out in ["env_file", "files", "cloud_init", "client_endpoint"] {
        assert_eq!(state.get(out), &Value::Unknown, "{out}");
    }
}

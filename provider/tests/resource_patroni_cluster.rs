//! `pgha_patroni_cluster` through the real Terraform CLI, with two `pgha_patroni_node` taking
//! its `spec`. Mostly with no cluster running (the REST API endpoint is a loopback port nothing
//! listens on). What is proven here:
//!
//! - create contacts nothing that must answer (a new cluster: its hosts come after it), and the
//!   next plan is empty while refresh only warns that the cluster is not reachable;
//! - a change of a live setting (`parameters`) is an in-place update of the cluster that
//!   neither replaces a node nor changes its `cloud_init`: live settings never change a host's
//!   first-boot document; applying it without a reachable cluster fails within the update
//!   timeout and names the endpoints it tried;
//! - a new `name` (Patroni's scope) replaces the cluster and its nodes;
//! - `terraform import` by the cluster's name;
//! - invalid values fail at the attribute's line, on the cluster for cluster-wide settings and
//!   on the node for its membership;
//! - the passwords never appear in plan or apply output;
//! - against a stand-in for Patroni's REST API: apply sends `PATCH /config` with exactly the
//!   difference and the REST API credentials, and a change made outside Terraform is drift that
//!   apply puts back.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value as Json;
use support::{
    actions, has_error_at, line_of, resource_change, state_attributes, PlanOutcome, Run, Workspace,
};

const ADDR: &str = "pgha_patroni_cluster.c";
const NODES: [&str; 2] = [
    "pgha_patroni_node.n[\"db1\"]",
    "pgha_patroni_node.n[\"db2\"]",
];

/// Nothing listens on the discard port of loopback.
const ENDPOINT: &str = "http://127.0.0.1:9";

/// The inline passwords of [`config`]; none may ever be shown.
const SECRETS: &[&str] = &[
    "Sup3r-user-pw-cluster-6821",
    "Repl1cation-pw-cluster-4471",
    "Rew1nd-pw-cluster-9043",
    "Rest-api-pw-cluster-3317",
    "Adm1n-pw-cluster-5560",
];

/// A stanza, the cluster `name` with `cluster_extra` (inline passwords, `max_connections`) and
/// one node per member, then `extra` (more resources).
fn config(name: &str, max_connections: u32, cluster_extra: &str, extra: &str) -> String {
    let [superuser, replication, rewind, restapi, admin] = SECRETS else {
        unreachable!()
    };
    format!(
        r#"resource "pgha_pgbackrest_stanza" "s" {{
  name = "pg"
  posix {{
    path = "/backup"
  }}
}}

locals {{
  nodes = {{
    db1 = "10.0.0.21"
    db2 = "10.0.0.22"
  }}
}}

resource "pgha_patroni_cluster" "c" {{
  name      = "{name}"
  members   = local.nodes
  endpoints = ["{ENDPOINT}"]
  dcs_hosts = ["10.0.0.11:2379", "10.0.0.12:2379", "10.0.0.13:2379"]
  stanza    = pgha_pgbackrest_stanza.s.spec

  parameters = {{
    max_connections = {max_connections}
  }}
{cluster_extra}
  superuser_password   = "{superuser}"
  replication_password = "{replication}"
  rewind_password      = "{rewind}"
  restapi_username     = "patroni"
  restapi_password     = "{restapi}"

  admin_user {{
    name     = "app_admin"
    password = "{admin}"
  }}

  timeouts {{
    read   = "1s"
    update = "5s"
  }}
}}

resource "pgha_patroni_node" "n" {{
  for_each = local.nodes

  cluster = pgha_patroni_cluster.c.node_specs[each.key]
  name    = each.key
  address = each.value
}}
{extra}"#
    )
}

/// Panics if any of the passwords is in the command's output.
fn no_secrets(run: &Run) {
    let out = run.output();
    for s in SECRETS {
        assert!(!out.contains(s), "{} shows a password:\n{out}", run.command);
    }
}

/// `terraform plan -out` + `show -json` (whose JSON holds the sensitive values; only the plan's
/// own output is checked for passwords).
fn plan_json(ws: &Workspace) -> Json {
    let run = ws
        .terraform(&["plan", "-no-color", "-out=tfplan"])
        .success();
    no_secrets(&run);
    let show = ws.terraform(&["show", "-json", "tfplan"]).success();
    serde_json::from_str(&show.stdout).expect("show -json prints JSON")
}

fn apply(ws: &Workspace) -> Run {
    let run = ws.apply();
    no_secrets(&run);
    run
}

/// `plan -detailed-exitcode`: must be empty, and say that drift was not checked.
fn assert_empty_plan_with_unreachable_warning(ws: &Workspace) {
    let run = ws.terraform(&["plan", "-detailed-exitcode", "-no-color"]);
    no_secrets(&run);
    assert_eq!(run.code, Some(0), "plan not empty:\n{}", run.output());
    let flat = run.flat();
    assert!(flat.contains("Cluster not reachable"), "{flat}");
    assert!(flat.contains(ENDPOINT), "{flat}");
}

fn cloud_inits(state: &Json) -> Vec<String> {
    NODES
        .iter()
        .map(|n| {
            state_attributes(state, n)["cloud_init"]
                .as_str()
                .unwrap_or_else(|| panic!("{n} has no cloud_init"))
                .to_string()
        })
        .collect()
}

fn json_attr(values: &Json, key: &str) -> Json {
    serde_json::from_str(
        values[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: {values:#}")),
    )
    .unwrap_or_else(|e| panic!("{key} is not JSON: {e}"))
}

#[test]
fn lifecycle_live_update_replace_import_destroy() {
    let ws = Workspace::new(&config("pg", 200, "", ""));
    let plan = plan_json(&ws);
    assert_eq!(actions(&plan, ADDR), ["create"]);
    let after = &resource_change(&plan, ADDR)["change"]["after"];
    assert_eq!(after["id"], "pg");
    assert_eq!(after["restapi_urls"], serde_json::json!([ENDPOINT]));
    let dynamic = json_attr(after, "dynamic_config");
    assert_eq!(dynamic["postgresql"]["parameters"]["max_connections"], 200);
    assert_eq!(dynamic, json_attr(after, "bootstrap_dynamic_config"));
    assert_eq!(
        resource_change(&plan, ADDR)["change"]["after_sensitive"]["spec"],
        true
    );

    // Create: nothing answers and nothing has to (the hosts come after the cluster).
    let started = Instant::now();
    apply(&ws);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "create took {:?}",
        started.elapsed()
    );
    let state = ws.state_json();
    let c = state_attributes(&state, ADDR);
    assert_eq!(c["pending_restart"], serde_json::json!([]));
    let before_cloud_init = cloud_inits(&state);
    assert_empty_plan_with_unreachable_warning(&ws);

    // A live setting: the cluster is updated in place, the nodes and their first-boot
    // documents stay as they are.
    ws.set_config(&config("pg", 300, "", ""));
    let plan = plan_json(&ws);
    assert_eq!(actions(&plan, ADDR), ["update"]);
    let change = &resource_change(&plan, ADDR)["change"];
    assert_eq!(
        json_attr(&change["after"], "dynamic_config")["postgresql"]["parameters"]
            ["max_connections"],
        300
    );
    assert_eq!(
        change["after"]["bootstrap_dynamic_config"], change["before"]["bootstrap_dynamic_config"],
        "the bootstrap configuration is the one the cluster was created with"
    );
    assert_eq!(change["after"]["spec"], change["before"]["spec"]);
    for (node, before) in NODES.iter().zip(&before_cloud_init) {
        let node_change = &resource_change(&plan, node)["change"];
        assert_eq!(actions(&plan, node), ["no-op"], "{node}");
        assert_eq!(
            node_change["after"]["cloud_init"].as_str(),
            Some(before.as_str()),
            "{node}: a live setting changed the host's cloud-init"
        );
    }

    // Applying it needs the running cluster: without one, the apply fails within its update
    // timeout (5 s) and says which endpoints it tried.
    let started = Instant::now();
    let run = ws
        .terraform(&["apply", "-auto-approve", "-no-color"])
        .failure();
    let took = started.elapsed();
    no_secrets(&run);
    // 5 s of retries, plus a refresh of 1 s and Terraform itself.
    assert!(
        took < Duration::from_secs(30),
        "the failed apply took {took:?}"
    );
    let flat = run.flat();
    assert!(flat.contains(ENDPOINT), "{flat}");
    assert!(flat.contains("no Patroni REST API answered"), "{flat}");
    // Nothing was changed: the state keeps the applied settings and the plan still shows the
    // update; the nodes are untouched.
    let state = ws.state_json();
    assert_eq!(
        json_attr(state_attributes(&state, ADDR), "dynamic_config")["postgresql"]["parameters"]
            ["max_connections"],
        200
    );
    assert_eq!(cloud_inits(&state), before_cloud_init);
    assert_eq!(actions(&plan_json(&ws), ADDR), ["update"]);

    // Back to the applied settings: nothing to do.
    ws.set_config(&config("pg", 200, "", ""));
    assert_empty_plan_with_unreachable_warning(&ws);

    // A new scope is another cluster: the cluster and every node are replaced.
    ws.set_config(&config("pg2", 200, "", ""));
    let plan = plan_json(&ws);
    assert_eq!(actions(&plan, ADDR), ["delete", "create"]);
    assert_eq!(
        resource_change(&plan, ADDR)["change"]["replace_paths"],
        serde_json::json!([["name"]])
    );
    for node in NODES {
        assert_eq!(actions(&plan, node), ["delete", "create"], "{node}");
    }
    apply(&ws);
    let state = ws.state_json();
    assert_eq!(state_attributes(&state, ADDR)["id"], "pg2");
    let renamed_cloud_init = cloud_inits(&state);
    // patroni.yml travels in the host bundle, which the reconcile unit applies.
    let bundle = state_attributes(&state, NODES[0])["bundle"]
        .as_str()
        .map(pgha_config::bundle::decode)
        .and_then(Result::ok)
        .expect("the node has a bundle that decodes");
    let patroni_yml = bundle
        .files
        .iter()
        .find(|f| f.path.ends_with("/patroni.yml"))
        .expect("patroni.yml is in the bundle");
    assert!(patroni_yml.content.contains("scope: pg2"));
    assert_empty_plan_with_unreachable_warning(&ws);

    // Import by the cluster's name: the next apply fills in the arguments, the nodes keep
    // their documents, then the plan is empty.
    ws.state_rm(ADDR);
    let run = ws.import(ADDR, "pg2").success();
    no_secrets(&run);
    let plan = plan_json(&ws);
    assert_eq!(actions(&plan, ADDR), ["update"]);
    for node in NODES {
        assert_eq!(actions(&plan, node), ["no-op"], "{node}");
    }
    apply(&ws);
    assert_eq!(cloud_inits(&ws.state_json()), renamed_cloud_init);
    assert_empty_plan_with_unreachable_warning(&ws);

    let run = ws.destroy();
    no_secrets(&run);
    // Destroyed: the next plan creates everything again.
    assert_eq!(ws.plan_outcome(), PlanOutcome::Changes);
}

/// The diagnostics of a failing `terraform plan -json`.
fn plan_diagnostics(cfg: &str) -> Vec<Json> {
    let ws = Workspace::new(cfg);
    let (run, messages) = ws.plan_stream();
    assert_ne!(run.code, Some(0), "plan succeeded:\n{}", run.output());
    no_secrets(&run);
    messages
        .into_iter()
        .filter(|m| m["type"] == "diagnostic")
        .map(|m| m["diagnostic"].clone())
        .collect()
}

#[test]
fn invalid_values_fail_at_the_attribute() {
    // (extra cluster lines, where the error is: the first line after `pgha_patroni_cluster`
    // that contains it, summary prefix)
    let cases: &[(&str, &str, &str)] = &[
        ("  ttl = 5\n", "ttl = 5", "P"),
        ("  ttl = 20\n  loop_wait = 20\n", "ttl = 20", "P"),
        ("  client_cidrs = [\"10.0.0.0/33\"]\n", "client_cidrs", "P"),
        ("  postgres_version = 12\n", "postgres_version", "C"),
        (
            "  restart = \"sometimes\"\n",
            "restart",
            "Unknown restart policy",
        ),
    ];
    for (extra, at, code) in cases {
        let cfg = config("pg", 200, extra, "");
        let diagnostics = plan_diagnostics(&cfg);
        let want = line_of(&cfg, "resource \"pgha_patroni_cluster\"", at);
        assert!(
            has_error_at(&diagnostics, code, want),
            "no {code}… error on line {want} ({at}):\n{diagnostics:#?}"
        );
    }

    // The restart policy needs nothing known: `terraform validate` already refuses it.
    let cfg = config("pg", 200, "  restart = \"sometimes\"\n", "");
    let validate = Workspace::new(&cfg).validate_json();
    assert_eq!(validate["valid"], false, "{validate:#}");
    let diagnostics = validate["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let want = line_of(&cfg, "resource \"pgha_patroni_cluster\"", "restart");
    assert!(
        has_error_at(&diagnostics, "Unknown restart policy", want),
        "{validate:#}"
    );

    // An element of a list lands on its line.
    let cfg = config("pg", 200, "", "").replace(
        "  dcs_hosts = [\"10.0.0.11:2379\", \"10.0.0.12:2379\", \"10.0.0.13:2379\"]\n",
        "  dcs_hosts = [\n    \"10.0.0.11:2379\",\n    \"etcd-without-port\",\n  ]\n",
    );
    let diagnostics = plan_diagnostics(&cfg);
    let want = line_of(
        &cfg,
        "resource \"pgha_patroni_cluster\"",
        "etcd-without-port",
    );
    assert!(
        has_error_at(&diagnostics, "Not an etcd client endpoint", want),
        "{diagnostics:#?}"
    );

    // A node must be one of the cluster's members, at the address the cluster lists.
    let stray = "\nresource \"pgha_patroni_node\" \"stray\" {\n  cluster = pgha_patroni_cluster.c.spec\n  name    = \"db9\"\n  address = \"10.0.0.29\"\n}\n";
    let cfg = config("pg", 200, "", stray);
    let diagnostics = plan_diagnostics(&cfg);
    let want = line_of(&cfg, "\"stray\"", "name ");
    assert!(
        has_error_at(
            &diagnostics,
            "This node is not a member of its cluster",
            want
        ),
        "{diagnostics:#?}"
    );
    let moved = "\nresource \"pgha_patroni_node\" \"moved\" {\n  cluster = pgha_patroni_cluster.c.spec\n  name    = \"db1\"\n  address = \"10.0.0.31\"\n}\n";
    let cfg = config("pg", 200, "", moved);
    let diagnostics = plan_diagnostics(&cfg);
    let want = line_of(&cfg, "\"moved\"", "address ");
    assert!(
        has_error_at(
            &diagnostics,
            "The cluster lists this node at another address",
            want
        ),
        "{diagnostics:#?}"
    );
}

/// A permanent slot's bad name is reported on the slot's `name`, not on the resource.
#[test]
fn a_bad_slot_name_fails_at_the_slot_name() {
    let cfg = config("pg", 200, "  slot {\n    name = \"Bad-Slot\"\n  }\n", "");
    let diagnostics = plan_diagnostics(&cfg);
    let want = line_of(&cfg, "resource \"pgha_patroni_cluster\"", "Bad-Slot");
    assert!(
        has_error_at(&diagnostics, "P041", want),
        "no P041 error on line {want} (the slot's name):\n{diagnostics:#?}"
    );
}

/// A stand-in for Patroni's REST API on a loopback port: `GET /config`, `PATCH /config` (a
/// JSON merge patch, recorded with its `Authorization` header) and `GET /cluster` (a healthy
/// two-member cluster). While `down`, every request answers 503, as a member that is not up.
mod fake_patroni {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};

    use serde_json::Value as Json;

    #[derive(Default)]
    pub struct State {
        pub down: bool,
        pub config: Json,
        /// Each `PATCH /config`: (body, Authorization header).
        pub patches: Vec<(Json, Option<String>)>,
    }

    pub struct Server {
        pub url: String,
        pub state: Arc<Mutex<State>>,
    }

    impl Server {
        pub fn start() -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
            let url = format!("http://{}", listener.local_addr().expect("address"));
            let state = Arc::new(Mutex::new(State {
                down: true,
                ..State::default()
            }));
            let shared = Arc::clone(&state);
            let base = url.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let shared = Arc::clone(&shared);
                    let base = base.clone();
                    std::thread::spawn(move || {
                        let _ = serve(stream, &shared, &base);
                    });
                }
            });
            Server { url, state }
        }

        pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
            f(&mut self.state.lock().expect("fake Patroni state"))
        }
    }

    fn serve(stream: TcpStream, state: &Mutex<State>, base: &str) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let (mut length, mut auth) = (0usize, None);
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "authorization" => auth = Some(value.trim().to_string()),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let (status, answer) = {
            let mut s = state.lock().expect("fake Patroni state");
            if s.down {
                (503, serde_json::json!({"state": "starting"}))
            } else {
                match (method.as_str(), path.as_str()) {
                    ("GET", "/config") => (200, s.config.clone()),
                    ("PATCH", "/config") => {
                        let patch: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
                        merge(&mut s.config, &patch);
                        s.patches.push((patch, auth));
                        (200, s.config.clone())
                    }
                    ("GET", "/cluster") => (
                        200,
                        serde_json::json!({"members": [
                            {"name": "db1", "role": "leader", "state": "running",
                             "api_url": format!("{base}/patroni"), "timeline": 1},
                            {"name": "db2", "role": "sync_standby", "state": "streaming",
                             "api_url": format!("{base}/patroni"), "timeline": 1, "lag": 0},
                        ]}),
                    ),
                    _ => (404, Json::Null),
                }
            }
        };
        let text = answer.to_string();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{text}",
            text.len()
        )?;
        stream.flush()
    }

    /// RFC 7386.
    fn merge(target: &mut Json, patch: &Json) {
        let Json::Object(p) = patch else {
            *target = patch.clone();
            return;
        };
        if !target.is_object() {
            *target = Json::Object(Default::default());
        }
        let t = target.as_object_mut().expect("an object");
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Json::Null), v);
            }
        }
    }
}

/// Against a running cluster (a stand-in for Patroni's REST API): a live change is applied with
/// `PATCH /config` carrying exactly the difference and the REST API credentials, the nodes'
/// documents stay as they are, and a change made outside Terraform (`patronictl edit-config`)
/// shows as drift in the next plan and is put back by apply.
#[test]
fn live_changes_patch_the_running_cluster_and_drift_is_put_back() {
    let patroni = fake_patroni::Server::start();
    let cfg = |max_connections: u32| {
        config("pg", max_connections, "", "").replace(ENDPOINT, &patroni.url)
    };
    let ws = Workspace::new(&cfg(200));
    // Create while the members are not up yet (503): a new cluster, nothing is patched.
    apply(&ws);
    let state = ws.state_json();
    let bootstrap = json_attr(state_attributes(&state, ADDR), "bootstrap_dynamic_config");
    let before_cloud_init = cloud_inits(&state);
    assert!(patroni.with(|s| s.patches.is_empty()));

    // The hosts bootstrapped the DCS with their `bootstrap.dcs`: the plan is empty, with no
    // warning about reachability.
    patroni.with(|s| {
        s.config = bootstrap.clone();
        s.down = false;
    });
    let run = ws.terraform(&["plan", "-detailed-exitcode", "-no-color"]);
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(
        !run.flat().contains("Cluster not reachable"),
        "{}",
        run.output()
    );

    // A live change: exactly the difference, authenticated; the nodes are not touched.
    ws.set_config(&cfg(300));
    apply(&ws);
    let (patch, auth) = patroni.with(|s| s.patches.last().cloned().expect("a PATCH"));
    assert_eq!(
        patch,
        serde_json::json!({"postgresql": {"parameters": {"max_connections": 300}}})
    );
    let expected_auth = format!(
        "Basic {}",
        base64(format!("patroni:{}", SECRETS[3]).as_bytes())
    );
    assert_eq!(auth.as_deref(), Some(expected_auth.as_str()));
    let state = ws.state_json();
    assert_eq!(cloud_inits(&state), before_cloud_init);
    assert_eq!(
        json_attr(state_attributes(&state, ADDR), "bootstrap_dynamic_config"),
        bootstrap
    );
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);

    // Changed outside Terraform: drift in the plan, put back by apply.
    patroni.with(|s| s.config["ttl"] = 45.into());
    let plan = plan_json(&ws);
    assert_eq!(actions(&plan, ADDR), ["update"]);
    for node in NODES {
        assert_eq!(actions(&plan, node), ["no-op"], "{node}");
    }
    apply(&ws);
    let (patch, _) = patroni.with(|s| s.patches.last().cloned().expect("a PATCH"));
    assert_eq!(patch, serde_json::json!({"ttl": 20}));
    assert_eq!(ws.plan_outcome(), PlanOutcome::NoChanges);
    assert_eq!(patroni.with(|s| s.patches.len()), 2);
}

/// Standard base64 with padding (for the expected `Authorization` header).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

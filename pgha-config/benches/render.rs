//! Benchmark (not a test): validate and render the seed cluster and a 1,000-node cluster, side by
//! side in one run, and print per-node costs and their ratio.
//!
//! `cargo bench -p pgha-config --bench render`

use std::time::{Duration, Instant};

use pgha_config::patroni::{PatroniNode, PgValue};
use pgha_config::Cluster;

fn seed() -> Cluster {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed/cluster.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    Cluster::from_yaml(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

/// The seed cluster with `n` database nodes on 198.18.0.0/15 (the benchmarking range).
fn scaled(n: usize) -> Cluster {
    let mut c = seed();
    let template = c.nodes[0].clone();
    c.nodes = (0..n)
        .map(|i| PatroniNode {
            name: format!("pg-db-{i:04}"),
            address: format!("198.18.{}.{}", i / 250, i % 250 + 1),
            availability_domain: Some(format!("AD{}", i % 3 + 1)),
            ..template.clone()
        })
        .collect();
    // Every replica needs a WAL sender and a slot (rules P025/P026).
    for key in ["max_wal_senders", "max_replication_slots"] {
        c.patroni
            .parameters
            .insert(key.to_string(), PgValue::Int(n as i64 + 5));
    }
    c
}

/// Runs `f` until at least `min` has passed (and at least 3 times); returns the median time.
fn measure(min: Duration, mut f: impl FnMut()) -> Duration {
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 3 || start.elapsed() < min {
        let t = Instant::now();
        f();
        samples.push(t.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2]
}

fn bytes(hosts: &[pgha_config::HostPlan]) -> usize {
    hosts
        .iter()
        .flat_map(|h| h.files.iter())
        .map(|f| f.content.len())
        .sum()
}

fn main() {
    let budget = Duration::from_secs(2);
    println!(
        "{:<14} {:>6} {:>12} {:>12} {:>14} {:>12}",
        "cluster", "nodes", "validate", "render", "per node", "output"
    );
    let mut per_node = Vec::new();
    for (label, cluster) in [("seed", seed()), ("1000 nodes", scaled(1000))] {
        let n = cluster.nodes.len();
        let v = measure(budget, || {
            std::hint::black_box(pgha_config::validate(&cluster));
        });
        let mut out = 0;
        let r = measure(budget, || {
            let (hosts, _) =
                pgha_config::render_cluster(&cluster).unwrap_or_else(|e| panic!("{e}"));
            out = bytes(&hosts);
            std::hint::black_box(hosts);
        });
        let each = r / n as u32;
        per_node.push(each);
        println!(
            "{label:<14} {n:>6} {:>10.3}ms {:>10.3}ms {:>12.1}us {:>10.1}MB",
            v.as_secs_f64() * 1e3,
            r.as_secs_f64() * 1e3,
            each.as_secs_f64() * 1e6,
            out as f64 / 1e6
        );
    }
    if let [small, large] = per_node[..] {
        println!(
            "per-node render cost, 1000 nodes / seed: {:.2}x (1.0 = linear; every node's pg_hba lists every other node, so some growth is expected)",
            large.as_secs_f64() / small.as_secs_f64()
        );
    }
}

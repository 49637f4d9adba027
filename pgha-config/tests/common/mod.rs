//! Inputs shared by the integration tests: the seed example and the tutorial's files. Each test
//! binary uses only some of them.
#![allow(dead_code)]

use pgha_config::Cluster;

/// The text of `examples/seed/cluster.yaml`.
pub fn seed_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed/cluster.yaml");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The seed example as a model.
pub fn seed() -> Cluster {
    Cluster::from_yaml(&seed_text()).expect("seed example parses")
}

/// One of the tutorial's files from `tests/fixtures/seed/`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/seed/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

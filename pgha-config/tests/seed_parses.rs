//! The seed example reads into the model with the values it spells out.

mod common;

#[test]
fn seed_example_parses() {
    let c = common::seed();
    assert_eq!(c.name, "pg-ha-cluster");
    assert_eq!(c.nodes.len(), 3);
    assert_eq!(c.etcd.members[1].address, "192.0.2.5");
    assert_eq!(c.patroni.ttl, 120);
    assert_eq!(c.stanza_name(), "pg-ha-cluster");
}

#[test]
fn unknown_keys_are_reported_with_line_and_column() {
    let text = "name: x\nnodez: []\n";
    let err = pgha_config::Cluster::from_yaml(text).unwrap_err();
    assert_eq!(err.line_column(), Some((2, 1)));
    assert!(err.to_string().contains("nodez"), "{err}");
}

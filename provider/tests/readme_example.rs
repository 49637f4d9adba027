//! The configuration shown in the repository's README plans with this provider, so the README
//! cannot drift from the schema.

mod support;

use support::{actions, Workspace};

#[test]
fn the_readme_example_plans_eight_resources_and_applies_to_an_empty_plan() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("read README.md");
    let start = readme.find("```hcl\n").expect("README has an hcl block") + "```hcl\n".len();
    let len = readme[start..].find("```").expect("the hcl block ends");
    let ws = Workspace::new(&readme[start..start + len]);

    let plan = ws.plan_json();
    for address in [
        "pgha_etcd_member.etcd[\"pg-etcd-02\"]",
        "pgha_pgbackrest_stanza.main",
        "pgha_patroni_cluster.main",
        "pgha_patroni_node.db[\"pg-db-03\"]",
    ] {
        assert_eq!(actions(&plan, address), ["create"], "{address}");
    }
    let creates = plan["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .len();
    assert_eq!(creates, 8);

    ws.apply().success();
    assert_eq!(ws.plan_outcome(), support::PlanOutcome::NoChanges);
    ws.destroy().success();
}

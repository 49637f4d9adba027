//! Managed resources, one module per resource type.
//!
//! Each module exposes `TYPE_NAME`, a `schema()` function and a type implementing
//! [`tfplugin::Resource`] (whose `type_name` is the full name, `pgha_...`); register it in
//! [`all`].

use std::sync::Arc;

use tfplugin::Resource;

pub mod cluster_map;
pub mod etcd_member;
pub mod example;
pub mod patroni_node;
pub mod pgbackrest_stanza;
pub mod rendering;

/// Every resource the provider serves.
pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(example::ExampleResource),
        Arc::new(rendering::Rendered::<etcd_member::EtcdMemberResource>::new()),
        Arc::new(rendering::Rendered::<patroni_node::PatroniNodeResource>::new()),
        Arc::new(rendering::Rendered::<pgbackrest_stanza::StanzaResource>::new()),
    ]
}

/// Resource types that are internal scaffolding and get no committed Registry docs.
pub const UNDOCUMENTED: &[&str] = &[example::TYPE_NAME];

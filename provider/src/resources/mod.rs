//! Managed resources, one module per resource type.
//!
//! Each resource module exposes `TYPE_NAME` (the full name, `pgha_...`) and a `schema()`
//! function. Resources whose outputs are only rendered implement `rendering::Renderer` and are
//! served through `rendering::Rendered`; the ones that act on a running cluster
//! (`pgha_patroni_cluster`, `pgha_patroni_switchover`, and `pgha_etcd_member`, which renders
//! through `Rendered` and adds the membership calls) implement [`tfplugin::Resource`]
//! themselves. Register each in [`all`]. [`cluster_map`] holds what they share.

use std::sync::Arc;

use tfplugin::Resource;

pub mod cluster_map;
pub mod etcd_member;
pub mod patroni_cluster;
pub mod patroni_node;
pub mod patroni_switchover;
pub mod pgbackrest_stanza;
pub mod rendering;

/// Every resource the provider serves.
pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(etcd_member::EtcdMemberLive),
        Arc::new(patroni_cluster::PatroniClusterResource),
        Arc::new(rendering::Rendered::<patroni_node::PatroniNodeResource>::new()),
        Arc::new(patroni_switchover::PatroniSwitchoverResource),
        Arc::new(rendering::Rendered::<pgbackrest_stanza::StanzaResource>::new()),
    ]
}

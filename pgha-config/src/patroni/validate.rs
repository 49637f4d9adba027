//! Validation of the patroni settings.

use crate::cluster::Cluster;
use crate::diagnostic::Diagnostic;

/// Appends every problem of the patroni settings to `out`.
pub fn validate(cluster: &Cluster, out: &mut Vec<Diagnostic>) {
    let _ = (cluster, out);
}

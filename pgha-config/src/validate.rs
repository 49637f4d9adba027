//! Validation of a whole cluster: each component, then the rules that span components.

use crate::cluster::Cluster;
use crate::diagnostic::Diagnostic;

/// Every problem in the cluster, errors and warnings, in a stable order. Never panics, never stops
/// at the first finding.
pub fn validate(cluster: &Cluster) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    crate::etcd::validate::validate(cluster, &mut out);
    crate::patroni::validate::validate(cluster, &mut out);
    crate::pgbackrest::validate::validate(cluster, &mut out);
    out
}

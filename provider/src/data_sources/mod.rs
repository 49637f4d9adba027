//! Data sources, one module per data source, registered in [`all`] the same way as
//! [`crate::resources::all`].

use std::sync::Arc;

use tfplugin::DataSource;

pub mod patroni_cluster_status;
pub mod pgbackrest_backups;

/// Every data source the provider serves.
pub fn all() -> Vec<Arc<dyn DataSource>> {
    vec![
        Arc::new(patroni_cluster_status::PatroniClusterStatus),
        Arc::new(pgbackrest_backups::PgbackrestBackups::default()),
    ]
}

//! Data sources, one module per data source, registered in [`all`] the same way as
//! [`crate::resources::all`]: key without the `pgha_` prefix, value implementing
//! `tf_provider::DataSource`.

use std::collections::HashMap;

use tf_provider::DynamicDataSource;

/// Every data source the provider serves, keyed by type name without the `pgha_` prefix.
pub fn all() -> HashMap<String, Box<dyn DynamicDataSource>> {
    HashMap::new()
}

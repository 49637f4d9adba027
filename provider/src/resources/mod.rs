//! Managed resources, one module per resource type.
//!
//! Each module exposes `TYPE_NAME`, a `schema()` function and a type implementing
//! `tf_provider::Resource`; register it in [`all`]. tf-provider prefixes the provider name,
//! so the key here is the type name without `pgha_`.

use std::collections::HashMap;

use tf_provider::DynamicResource;

pub mod example;

/// Every resource the provider serves, keyed by type name without the `pgha_` prefix.
pub fn all() -> HashMap<String, Box<dyn DynamicResource>> {
    let mut resources: HashMap<String, Box<dyn DynamicResource>> = HashMap::new();
    resources.insert("example".into(), Box::new(example::ExampleResource));
    resources
}

/// Resource types that are internal scaffolding and get no committed Registry docs.
pub const UNDOCUMENTED: &[&str] = &[example::TYPE_NAME];

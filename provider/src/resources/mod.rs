//! Managed resources, one module per resource type.
//!
//! Each module exposes `TYPE_NAME`, a `schema()` function and a type implementing
//! [`tfplugin::Resource`] (whose `type_name` is the full name, `pgha_...`); register it in
//! [`all`].

use std::sync::Arc;

use tfplugin::Resource;

pub mod example;

/// Every resource the provider serves.
pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![Arc::new(example::ExampleResource)]
}

/// Resource types that are internal scaffolding and get no committed Registry docs.
pub const UNDOCUMENTED: &[&str] = &[example::TYPE_NAME];

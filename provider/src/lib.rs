//! The pgha Terraform provider: resources that model, validate and render the files of a
//! Patroni + etcd + pgBackRest PostgreSQL cluster, served over tfplugin6 by [`tfplugin`].
//!
//! Layout: every resource lives in its own module under [`resources`] (schema, the mapping of
//! its arguments onto the library's model, and where each finding lands, side by side, so a
//! reviewer reads one file per resource); the lifecycle they share is written once against the
//! [`tfplugin`] traits and values.

pub mod data_sources;
pub mod docs;
pub mod etcd_api;
pub mod logging;
pub mod oci;
pub mod patroni_api;
pub mod provider;
pub mod resources;

pub use tfplugin;

/// Provider name as Terraform sees it: resource types are `pgha_<name>`.
pub const PROVIDER_NAME: &str = "pgha";

/// Registry address used in `required_providers` and in dev overrides.
pub const PROVIDER_SOURCE: &str = "registry.terraform.io/pgha/pgha";

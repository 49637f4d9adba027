//! The pgha Terraform provider: resources that model, validate and render the files of a
//! Patroni + etcd + pgBackRest PostgreSQL cluster, served over tfplugin6.
//!
//! Layout: every resource lives in its own module under [`resources`] (schema, validation,
//! plan and apply side by side, so a reviewer reads one file per resource). The reusable
//! pieces those modules share are [`schema`] (concise schema builders), [`value`] (getting
//! known values out of Terraform values), [`planning`] (compute at plan time when inputs are
//! known), and [`diagnostic`] (errors and warnings at attribute paths).

pub mod data_sources;
pub mod diagnostic;
pub mod docs;
pub mod logging;
pub mod planning;
pub mod provider;
pub mod resources;
pub mod schema;
pub mod value;

/// Provider name as Terraform sees it: resource types are `pgha_<name>`.
pub const PROVIDER_NAME: &str = "pgha";

/// Registry address used in `required_providers` and in dev overrides.
pub const PROVIDER_SOURCE: &str = "registry.terraform.io/pgha/pgha";

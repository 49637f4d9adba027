//! `tfplugin` serves a Terraform provider over the plugin protocol version 6 (gRPC), so the
//! provider crate only describes schemas and implements plan/apply on plain values.
//!
//! Values are dynamic ([`Value`]) rather than generated structs: Terraform sends partially
//! unknown objects during validation and planning, and a dynamic tree keeps "unknown" a
//! first-class state that no code can silently turn into a guess.
#![warn(missing_docs)]

pub mod codec;
pub mod diagnostics;
pub mod logging;
pub mod resource;
pub mod schema;
pub mod server;
pub mod stop;
pub mod value;

mod proto;
mod transport;
mod wire;

pub use diagnostics::{AttributePath, Diagnostic, Diagnostics, PathStep, Severity};
pub use resource::{ApplyRequest, DataSource, PlanRequest, PlanResponse, Provider, Resource};
pub use schema::{Attribute, Block, NestedBlock, NestingMode, Schema, Type};
pub use server::{serve, started_by_terraform, ServeError};
pub use stop::{stop_requested, stopped};
pub use transport::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
pub use value::Value;

//! `pgha_config` models a highly available PostgreSQL cluster (Patroni + etcd + pgBackRest),
//! validates it, renders the exact files every host needs, and lints files written by hand.
//!
//! ```no_run
//! let text = std::fs::read_to_string("examples/seed/cluster.yaml").unwrap();
//! let cluster = pgha_config::Cluster::from_yaml(&text).unwrap();
//! for d in pgha_config::validate(&cluster) {
//!     eprintln!("{d}");
//! }
//! let (hosts, _warnings) = pgha_config::render_cluster(&cluster).unwrap();
//! for host in &hosts {
//!     println!("{}: {} files", host.host, host.files.len());
//! }
//! ```
#![warn(missing_docs)]

pub mod bundle;
pub mod cloud_init;
pub mod cluster;
pub mod defaults;
pub mod diagnostic;
pub mod etcd;
pub mod extensions;
pub mod firewall;
pub mod host;
pub mod lint;
pub mod packages;
pub mod patroni;
pub mod pg_hba;
pub mod pgbackrest;
pub mod platform;
pub mod reconcile;
pub mod schedule;
pub mod secret;
pub mod systemd;
pub mod validate;
pub mod volumes;

pub use cluster::{Cluster, LogCleanup, SpecError};
pub use diagnostic::{Diagnostic, Location, ModelPath, Severity};
pub use host::{render_cluster, HostPlan, RenderRefused, RenderedFile};
pub use validate::validate;

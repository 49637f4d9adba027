//! OCI building blocks for pgha: API request signing, authentication
//! settings as the OCI Terraform provider spells them, a read-only Object
//! Storage client, and a reader for pgBackRest repositories kept in Object
//! Storage or a local directory.
//!
//! The crate is async (tokio + reqwest with rustls); nothing blocks except
//! reading key and config files while resolving [`AuthSettings`].
//!
//! Typical use from the Terraform provider:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use pgha_oci::{AuthSettings, ObjectStorageClient, ObjectStorageRepo, read_stanza};
//!
//! let auth = AuthSettings {
//!     config_file_profile: Some("DEFAULT".into()),
//!     ..Default::default()
//! }
//! .resolve()?;
//! let region = auth.region.clone().unwrap_or_else(|| "ap-chuncheon-1".into());
//! let client = ObjectStorageClient::new(auth.signer()?, &region)?;
//! let namespace = client.get_namespace().await?;
//! let repo = ObjectStorageRepo::new(client, namespace, "pg-backups", "/pgbackrest");
//! let report = read_stanza(&repo, "main").await?;
//! println!("{:?}: {} backups", report.status, report.backups.len());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod auth;
pub mod key;
pub mod object_storage;
pub mod pgbackrest;
pub mod signer;

pub use auth::{AuthError, AuthSettings, ResolvedAuth};
pub use key::{ApiKey, KeyError};
pub use object_storage::{
    Bucket, ListObjectsPage, ListObjectsRequest, ObjectMetadata, ObjectStorageClient,
    ObjectStorageError, ObjectSummary, RetryPolicy, ServiceDetails,
};
pub use pgbackrest::{
    read_stanza, ArchiveRange, Backup, BackupType, ObjectStorageRepo, PosixRepo, RepoError,
    RepoStorage, StanzaReport, StanzaStatus,
};
pub use signer::{RequestSigner, SignError, SignedHeaders, SigningInput};

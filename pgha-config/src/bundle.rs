//! The host bundle: every file of a database host that may change while the host runs, as one
//! instance-metadata value that updates in place.
//!
//! cloud-init runs once, and a cloud replaces an instance whose `user_data` changes (OCI's
//! provider forces a new instance for `metadata.user_data`; every other metadata key updates in
//! place). So a host's files are split in two (DESIGN.md §6):
//!
//! - **first boot** (`cloud_init`): accounts, packages, directories, the units, the reconcile
//!   unit and the bundle as it was when the host was created;
//! - **the bundle** (this module): patroni.yml, pgbackrest.conf, the backup schedule, the backup
//!   and clean-up scripts, the secret resolver, and the passwords of the database roles. The
//!   reconcile unit on the host ([`crate::reconcile`]) reads it from the metadata service, writes
//!   what changed and reloads what needs it.
//!
//! What a file is allowed to be, and what a change of it triggers, is fixed at first boot in
//! the reconcile unit's configuration: a bundle only carries content, it cannot add a path or
//! choose an action. A bundle for another host, with a bad hash, a bad encoding or a path, owner
//! or mode the host does not expect is refused, and the host keeps its files.
//!
//! # Encoding
//!
//! `pgha-bundle-1:<sha256 of the payload, hex>:<base64 of the gzip-compressed payload>`, where
//! the payload is a JSON document (see [`Payload`]). The hash is over the uncompressed payload,
//! so it is the bundle's identity whatever the compressor does; it is readable without decoding
//! (Terraform shows it as `bundle_hash`, the host records it as the applied hash).

use std::io::{Read, Write};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::host::HostPlan;
use crate::secret::Secret;

/// The instance metadata key the bundle is stored under (`metadata.pgha_bundle` on OCI).
pub const METADATA_KEY: &str = "pgha_bundle";

/// OCI's limit on an instance's `metadata` and `extended_metadata` together, in bytes.
pub const OCI_METADATA_LIMIT: usize = 32_000;

/// The prefix of an encoded bundle, naming its format version.
pub const PREFIX: &str = "pgha-bundle-1";

/// What the host does after a bundle changed a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reload {
    /// Nothing: the file is read each time it is used (pgbackrest.conf, scripts) or the daemon
    /// rescans it (cron reads /etc/cron.d every minute).
    Nothing,
    /// `systemctl reload patroni` (SIGHUP): Patroni re-reads patroni.yml and applies what
    /// changed; a parameter that needs a restart shows as `pending_restart`.
    Patroni,
    /// Run the secret resolver again (`systemctl restart pgha-resolve-secrets`), then reload
    /// Patroni.
    Resolver,
    /// `systemctl daemon-reload`: a timer-activated service unit.
    DaemonReload,
    /// `systemctl daemon-reload`, then restart the timer so it takes the new schedule.
    RestartTimer,
}

/// A file of the bundle, as the host plan lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveFile {
    /// Absolute path on the host (a path of [`HostPlan::files`]).
    pub path: String,
    /// What a change of it triggers.
    pub reload: Reload,
}

/// A database role whose password the bundle carries, so the host can rotate it: the leader
/// changes the role once (`ALTER ROLE … PASSWORD` with a SCRAM verifier), every host takes the
/// new files once the change has reached its own catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolePassword {
    /// Role name.
    pub role: String,
    /// Its password; only inline passwords are carried (a reference is resolved on the host).
    pub password: Secret,
}

/// The decoded payload of a bundle.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Payload {
    /// Format name, `pgha-bundle/1`.
    pub format: String,
    /// The host it is for.
    pub host: String,
    /// The files, sorted by path.
    pub files: Vec<PayloadFile>,
    /// Role passwords to rotate.
    #[serde(default)]
    pub roles: Vec<PayloadRole>,
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payload")
            .field("format", &self.format)
            .field("host", &self.host)
            .field("files", &self.files)
            .field("roles", &self.roles)
            .finish()
    }
}

/// One file of a payload.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PayloadFile {
    /// Absolute path.
    pub path: String,
    /// Permission bits as four octal digits (`"0640"`).
    pub mode: String,
    /// Owning user.
    pub owner: String,
    /// Owning group.
    pub group: String,
    /// SHA-256 of `content`, hex.
    pub sha256: String,
    /// Exact content.
    pub content: String,
}

impl std::fmt::Debug for PayloadFile {
    /// The content may hold passwords: only its hash is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadFile")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .field("owner", &self.owner)
            .field("group", &self.group)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// One role of a payload.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PayloadRole {
    /// Role name.
    pub role: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for PayloadRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadRole")
            .field("role", &self.role)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// An encoded bundle and its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Bundle {
    /// SHA-256 of the payload, hex: the bundle's identity.
    pub hash: String,
    /// The metadata value (`pgha-bundle-1:<hash>:<base64>`).
    pub encoded: String,
}

impl std::fmt::Debug for Bundle {
    /// The encoded value holds the files (and passwords): only the hash and size are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("hash", &self.hash)
            .field("bytes", &self.encoded.len())
            .finish()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The payload of `plan`'s bundle; `None` for a host without one (an etcd member).
pub fn payload(plan: &HostPlan) -> Option<Payload> {
    if plan.live_files.is_empty() {
        return None;
    }
    let mut files: Vec<PayloadFile> = plan
        .live_files
        .iter()
        .filter_map(|live| plan.file(&live.path))
        .map(|f| PayloadFile {
            path: f.path.clone(),
            mode: f.mode_string(),
            owner: f.owner.clone(),
            group: f.group.clone(),
            sha256: sha256_hex(f.content.as_bytes()),
            content: f.content.clone(),
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let roles = plan
        .role_passwords
        .iter()
        .filter_map(|r| {
            r.password.inline().map(|p| PayloadRole {
                role: r.role.clone(),
                password: p.to_string(),
            })
        })
        .collect();
    Some(Payload {
        format: "pgha-bundle/1".to_string(),
        host: plan.host.clone(),
        files,
        roles,
    })
}

/// `plan`'s bundle, encoded for the metadata service; `None` for a host without one.
pub fn bundle(plan: &HostPlan) -> Option<Bundle> {
    payload(plan).map(|p| encode(&p))
}

/// Encodes a payload.
pub fn encode(payload: &Payload) -> Bundle {
    // Plain strings and lists: serialising cannot fail.
    let json = serde_json::to_vec(payload).unwrap_or_default();
    let hash = sha256_hex(&json);
    // Compressing into memory cannot fail either; the gzip header carries no time stamp, so the
    // same payload always encodes to the same value (a stable plan).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = gz.write_all(&json);
    let compressed = gz.finish().unwrap_or_default();
    let b64 = base64::engine::general_purpose::STANDARD.encode(compressed);
    Bundle {
        encoded: format!("{PREFIX}:{hash}:{b64}"),
        hash,
    }
}

/// Why a metadata value is not a bundle.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// It does not start with `pgha-bundle-1:<hash>:`.
    #[error("not a pgha bundle: it must start with `{PREFIX}:<sha256>:`")]
    NotABundle,
    /// The base64 text is broken.
    #[error("the bundle's base64 encoding is broken: {0}")]
    Base64(String),
    /// The gzip stream is broken.
    #[error("the bundle's compressed payload is broken: {0}")]
    Gzip(String),
    /// The payload's hash differs from the one in the value.
    #[error("the bundle's payload hash is {actual}, not the {expected} it names")]
    Hash {
        /// The hash the value names.
        expected: String,
        /// The payload's.
        actual: String,
    },
    /// The payload is not the JSON document of a bundle.
    #[error("the bundle's payload is not a bundle document: {0}")]
    Json(String),
    /// A file's content does not match its hash.
    #[error("{path}: content does not match its sha256")]
    FileHash {
        /// The file.
        path: String,
    },
}

/// Decodes and checks a metadata value (what the reconcile unit does on the host, here for
/// tests and tools). Decompression is bounded to 4 MiB.
pub fn decode(value: &str) -> Result<Payload, DecodeError> {
    let mut parts = value.trim().splitn(3, ':');
    let (Some(PREFIX), Some(expected), Some(b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(DecodeError::NotABundle);
    };
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| DecodeError::Base64(e.to_string()))?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .take(4 << 20)
        .read_to_end(&mut json)
        .map_err(|e| DecodeError::Gzip(e.to_string()))?;
    let actual = sha256_hex(&json);
    if actual != expected {
        return Err(DecodeError::Hash {
            expected: expected.to_string(),
            actual,
        });
    }
    let payload: Payload =
        serde_json::from_slice(&json).map_err(|e| DecodeError::Json(e.to_string()))?;
    if payload.format != "pgha-bundle/1" {
        return Err(DecodeError::Json(format!(
            "format {:?}, expected \"pgha-bundle/1\"",
            payload.format
        )));
    }
    for f in &payload.files {
        if sha256_hex(f.content.as_bytes()) != f.sha256 {
            return Err(DecodeError::FileHash {
                path: f.path.clone(),
            });
        }
    }
    Ok(payload)
}

/// What a host's instance metadata holds, in bytes, against [`OCI_METADATA_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetadataSize {
    /// `user_data`: the cloud-init document after base64.
    pub user_data: usize,
    /// The bundle value.
    pub bundle: usize,
}

impl MetadataSize {
    /// Both keys and values together (OCI counts the keys too).
    pub fn total(&self) -> usize {
        "user_data".len() + self.user_data + METADATA_KEY.len() + self.bundle
    }

    /// Whether it fits OCI's limit.
    pub fn fits(&self) -> bool {
        self.total() <= OCI_METADATA_LIMIT
    }
}

/// The metadata sizes of a host whose `cloud_init` document and bundle are given.
pub fn metadata_size(cloud_init: &str, bundle: Option<&Bundle>) -> MetadataSize {
    MetadataSize {
        user_data: cloud_init.len().div_ceil(3) * 4,
        bundle: bundle.map_or(0, |b| b.encoded.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Payload {
        let content = "a: 1\n".to_string();
        Payload {
            format: "pgha-bundle/1".to_string(),
            host: "n1".to_string(),
            files: vec![PayloadFile {
                path: "/etc/x".to_string(),
                mode: "0600".to_string(),
                owner: "postgres".to_string(),
                group: "postgres".to_string(),
                sha256: sha256_hex(content.as_bytes()),
                content,
            }],
            roles: vec![PayloadRole {
                role: "postgres".to_string(),
                password: "s3cret-pw".to_string(),
            }],
        }
    }

    #[test]
    fn encoding_round_trips_and_is_stable() {
        let p = payload();
        let a = encode(&p);
        assert_eq!(a, encode(&p), "the same payload encodes the same");
        assert!(a.encoded.starts_with(&format!("pgha-bundle-1:{}:", a.hash)));
        assert_eq!(decode(&a.encoded), Ok(p));
    }

    #[test]
    fn broken_values_are_refused_with_the_reason() {
        let good = encode(&payload()).encoded;
        assert_eq!(decode("hello"), Err(DecodeError::NotABundle));
        let (head, b64) = good.rsplit_once(':').unwrap();
        assert!(matches!(
            decode(&format!("{head}:!!!{b64}")),
            Err(DecodeError::Base64(_))
        ));
        assert!(matches!(
            decode(&format!("{head}:aGVsbG8=")),
            Err(DecodeError::Gzip(_))
        ));
        let other = format!("{PREFIX}:{}:{b64}", "0".repeat(64));
        assert!(matches!(decode(&other), Err(DecodeError::Hash { .. })));
        let mut tampered = payload();
        tampered.files[0].content = "a: 2\n".to_string();
        let t = encode(&tampered);
        assert_eq!(
            decode(&t.encoded),
            Err(DecodeError::FileHash {
                path: "/etc/x".to_string()
            })
        );
    }

    #[test]
    fn debug_shows_no_content_or_password() {
        let p = payload();
        let text = format!("{p:?} {:?}", encode(&p));
        assert!(!text.contains("s3cret-pw"), "{text}");
        assert!(!text.contains("a: 1"), "{text}");
    }
}

//! Secrets: passwords and keys, given inline or as a reference resolved on the host at boot.
//!
//! A reference keeps the secret out of the rendered files and out of Terraform state: the host
//! resolves it when it first boots and writes it to a root-only environment file that Patroni's
//! service (and the backup jobs) load. Patroni reads `PATRONI_*` and pgBackRest `PGBACKREST_*`
//! variables, so the secret never has to be written into their configuration files.

use serde::{Deserialize, Serialize};

/// Where a secret comes from. `Debug` never shows an inline value (references are shown: they
/// are where to look, not the secret).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SecretRepr", into = "SecretRepr")]
pub enum Secret {
    /// The value itself. It ends up in the rendered files (mode 0600/0640) and, with the
    /// provider, in Terraform state.
    Value(String),
    /// A variable in an environment file that already exists on the host (put there by an image,
    /// a configuration-management tool or an operator).
    EnvFile {
        /// Absolute path of the file on the host, in `NAME=value` lines.
        path: String,
        /// The variable to read.
        variable: String,
    },
    /// A secret in OCI Vault, fetched at boot with the instance's principal
    /// (`oci secrets secret-bundle get --auth instance_principal`).
    OciVault {
        /// The secret's OCID (`ocid1.vaultsecret.…`).
        secret_id: String,
    },
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Value(_) => f.write_str("Value(<redacted>)"),
            Secret::EnvFile { path, variable } => f
                .debug_struct("EnvFile")
                .field("path", path)
                .field("variable", variable)
                .finish(),
            Secret::OciVault { secret_id } => f
                .debug_struct("OciVault")
                .field("secret_id", secret_id)
                .finish(),
        }
    }
}

impl Secret {
    /// The inline value, if the secret is given inline.
    pub fn inline(&self) -> Option<&str> {
        match self {
            Secret::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the host resolves this secret at boot.
    pub fn is_reference(&self) -> bool {
        !matches!(self, Secret::Value(_))
    }
}

/// The written form of a [`Secret`]: a map with exactly one of `value`, `env_file`,
/// `oci_vault`. (A plain map rather than a YAML tag, so the same form works in YAML, JSON and
/// Terraform.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    env_file: Option<EnvFileRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oci_vault: Option<OciVaultRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvFileRef {
    path: String,
    variable: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OciVaultRef {
    secret_id: String,
}

impl TryFrom<SecretRepr> for Secret {
    type Error = String;

    fn try_from(r: SecretRepr) -> Result<Self, Self::Error> {
        match (r.value, r.env_file, r.oci_vault) {
            (Some(v), None, None) => Ok(Secret::Value(v)),
            (None, Some(e), None) => Ok(Secret::EnvFile {
                path: e.path,
                variable: e.variable,
            }),
            (None, None, Some(o)) => Ok(Secret::OciVault {
                secret_id: o.secret_id,
            }),
            _ => {
                Err("a secret needs exactly one of `value`, `env_file` or `oci_vault`".to_string())
            }
        }
    }
}

impl From<Secret> for SecretRepr {
    fn from(s: Secret) -> Self {
        match s {
            Secret::Value(v) => SecretRepr {
                value: Some(v),
                ..SecretRepr::default()
            },
            Secret::EnvFile { path, variable } => SecretRepr {
                env_file: Some(EnvFileRef { path, variable }),
                ..SecretRepr::default()
            },
            Secret::OciVault { secret_id } => SecretRepr {
                oci_vault: Some(OciVaultRef { secret_id }),
                ..SecretRepr::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_round_trips_and_two_forms_are_refused() {
        for s in [
            Secret::Value("x".into()),
            Secret::EnvFile {
                path: "/etc/a.env".into(),
                variable: "A".into(),
            },
            Secret::OciVault {
                secret_id: "ocid1.vaultsecret.x".into(),
            },
        ] {
            let y = serde_norway::to_string(&s).unwrap();
            assert_eq!(serde_norway::from_str::<Secret>(&y).unwrap(), s, "{y}");
        }
        let both = "value: a\noci_vault: { secret_id: b }\n";
        let err = serde_norway::from_str::<Secret>(both).unwrap_err();
        assert!(err.to_string().contains("exactly one"), "{err}");
    }

    #[test]
    fn debug_never_shows_an_inline_value() {
        let auth = RestApiAuth {
            username: "patroni".into(),
            password: Secret::Value("Hunter2-known-value".into()),
        };
        let text = format!(
            "{auth:?} {:#?}",
            Secret::Value("Hunter2-known-value".into())
        );
        assert!(!text.contains("Hunter2"), "{text}");
        assert!(
            text.contains("patroni") && text.contains("<redacted>"),
            "{text}"
        );
        let reference = format!(
            "{:?}",
            Secret::EnvFile {
                path: "/etc/pgha/db.env".into(),
                variable: "PW".into()
            }
        );
        assert!(reference.contains("/etc/pgha/db.env") && reference.contains("PW"));
    }
}

/// Basic-auth credentials for Patroni's REST API (required for its unsafe endpoints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestApiAuth {
    /// User name.
    pub username: String,
    /// Password.
    pub password: Secret,
}

/// Every secret the cluster needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    /// Password of the PostgreSQL superuser.
    pub superuser_password: Secret,
    /// Password of the replication role.
    pub replication_password: Secret,
    /// Password of the pg_rewind role (needed when `use_pg_rewind` is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewind_password: Option<Secret>,
    /// Password of the application admin role created after bootstrap, if one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<Secret>,
    /// Credentials protecting Patroni's REST API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restapi: Option<RestApiAuth>,
    /// S3 access key (OCI "customer secret key" ID) of the backup repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key: Option<Secret>,
    /// S3 secret key of the backup repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key_secret: Option<Secret>,
    /// Pass phrase for repository encryption (`repo1-cipher-pass`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_cipher_pass: Option<Secret>,
}

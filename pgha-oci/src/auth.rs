//! API-key authentication settings, spelled the way the OCI Terraform
//! provider spells them, so a `provider "pgha"` block can reuse the values of
//! a `provider "oci"` block (or the same environment) unchanged.
//!
//! Resolution order, per setting, mirrors the OCI provider:
//! 1. the attribute itself (`tenancy_ocid`, `user_ocid`, `fingerprint`,
//!    `private_key`, `private_key_path`, `private_key_password`, `region`,
//!    `config_file_profile`);
//! 2. the environment: `TF_VAR_<attribute>` first, then `OCI_<ATTRIBUTE>`
//!    (e.g. `OCI_TENANCY_OCID`, `OCI_PRIVATE_KEY_PATH`);
//! 3. the OCI config file (`$OCI_CONFIG_FILE`, else `~/.oci/config`), profile
//!    `config_file_profile` or `DEFAULT`; entries of `[DEFAULT]` are inherited
//!    by every other profile, as in the OCI SDKs and CLI.
//!
//! A profile that was asked for explicitly must exist; the implicit
//! `DEFAULT` profile and the config file itself are optional.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::key::{ApiKey, KeyError};
use crate::signer::RequestSigner;

/// Why authentication settings could not be turned into a signer.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A required setting is missing everywhere it may come from.
    #[error("missing {setting}: set the `{setting}` attribute, the {env} environment variable, or `{config_key}` in the OCI config file profile")]
    Missing {
        /// Attribute name (`tenancy_ocid`, ...).
        setting: &'static str,
        /// Environment variable that would supply it.
        env: String,
        /// Config-file key that would supply it.
        config_key: &'static str,
    },
    /// Neither `private_key`, `private_key_path` nor `key_file` is set.
    #[error("no private key configured: set `private_key` or `private_key_path` (or OCI_PRIVATE_KEY / OCI_PRIVATE_KEY_PATH), or `key_file` in the OCI config file profile")]
    NoPrivateKey,
    /// The config file exists but cannot be read.
    #[error("cannot read OCI config file {path}: {source}")]
    ConfigUnreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The config file has a syntax error.
    #[error("{path}:{line}: {message}")]
    ConfigSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An explicitly requested profile does not exist.
    #[error(
        "profile [{profile}] not found in OCI config file {path} (profiles present: {available})"
    )]
    ProfileNotFound {
        /// The requested profile.
        profile: String,
        /// The file searched.
        path: PathBuf,
        /// Comma-separated profile names.
        available: String,
    },
    /// An explicitly requested profile, but there is no config file.
    #[error(
        "config_file_profile \"{profile}\" was set but the OCI config file {path} does not exist"
    )]
    ConfigFileMissing {
        /// The requested profile.
        profile: String,
        /// The file that was expected.
        path: PathBuf,
    },
    /// The key could not be loaded, or does not match the fingerprint.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Authentication settings as given by the user; every field is optional
/// because each may be filled from the environment or the config file.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthSettings {
    /// OCID of the tenancy.
    pub tenancy_ocid: Option<String>,
    /// OCID of the user that owns the API key.
    pub user_ocid: Option<String>,
    /// Fingerprint of the API key, as shown in the console.
    pub fingerprint: Option<String>,
    /// PEM contents of the private key; wins over `private_key_path`.
    pub private_key: Option<String>,
    /// Path of the PEM private key file (`~/` is expanded).
    pub private_key_path: Option<String>,
    /// Pass phrase of an encrypted private key.
    pub private_key_password: Option<String>,
    /// Region identifier, e.g. `ap-chuncheon-1`.
    pub region: Option<String>,
    /// Profile of the OCI config file to read (default `DEFAULT`).
    pub config_file_profile: Option<String>,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of logs.
        f.debug_struct("AuthSettings")
            .field("tenancy_ocid", &self.tenancy_ocid)
            .field("user_ocid", &self.user_ocid)
            .field("fingerprint", &self.fingerprint)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "<redacted>"),
            )
            .field("private_key_path", &self.private_key_path)
            .field(
                "private_key_password",
                &self.private_key_password.as_ref().map(|_| "<redacted>"),
            )
            .field("region", &self.region)
            .field("config_file_profile", &self.config_file_profile)
            .finish()
    }
}

/// Fully resolved credentials: a checked key and the identifiers to sign with.
#[derive(Debug, Clone)]
pub struct ResolvedAuth {
    /// Tenancy OCID.
    pub tenancy_ocid: String,
    /// User OCID.
    pub user_ocid: String,
    /// Fingerprint (verified against `key`).
    pub fingerprint: String,
    /// The loaded key.
    pub key: ApiKey,
    /// Region, when configured anywhere.
    pub region: Option<String>,
    /// Where each value came from, for diagnostics (`tenancy_ocid` → `attribute`, ...).
    pub sources: BTreeMap<&'static str, String>,
}

impl ResolvedAuth {
    /// A request signer for these credentials.
    pub fn signer(&self) -> Result<RequestSigner, KeyError> {
        RequestSigner::new(
            &self.tenancy_ocid,
            &self.user_ocid,
            &self.fingerprint,
            &self.key,
        )
    }
}

/// The `OCI_*` variable that the OCI provider consults for an attribute.
pub fn oci_env_name(attribute: &str) -> String {
    format!("OCI_{}", attribute.to_ascii_uppercase())
}

/// The settings of [`AuthSettings`] by their Terraform attribute names (as in the OCI
/// provider), in field order. Each also falls back to `TF_VAR_<name>` and [`oci_env_name`].
pub const ATTRIBUTES: [&str; 8] = [
    "tenancy_ocid",
    "user_ocid",
    "fingerprint",
    "private_key",
    "private_key_path",
    "private_key_password",
    "region",
    "config_file_profile",
];

/// One profile of an OCI config file, with `[DEFAULT]` already merged in.
pub type ConfigProfile = BTreeMap<String, String>;

/// A parsed OCI config file: profile name → key → value.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Raw sections in file order of first appearance.
    pub profiles: BTreeMap<String, BTreeMap<String, String>>,
}

impl ConfigFile {
    /// Parses the INI dialect of `~/.oci/config`: `[PROFILE]` headers,
    /// `key=value` lines, `#`/`;` comments, blank lines.
    pub fn parse(path: &Path, text: &str) -> Result<Self, AuthError> {
        let mut profiles: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for (idx, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let name = rest
                    .strip_suffix(']')
                    .ok_or_else(|| AuthError::ConfigSyntax {
                        path: path.to_path_buf(),
                        line: idx + 1,
                        message: format!("profile header must end with ']': {line}"),
                    })?;
                let name = name.trim().to_string();
                profiles.entry(name.clone()).or_default();
                current = Some(name);
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| AuthError::ConfigSyntax {
                    path: path.to_path_buf(),
                    line: idx + 1,
                    message: format!("expected key=value: {line}"),
                })?;
            let profile = current.as_ref().ok_or_else(|| AuthError::ConfigSyntax {
                path: path.to_path_buf(),
                line: idx + 1,
                message: "key=value before the first [PROFILE] header".to_string(),
            })?;
            profiles
                .entry(profile.clone())
                .or_default()
                .insert(k.trim().to_string(), v.trim().to_string());
        }
        Ok(Self {
            path: path.to_path_buf(),
            profiles,
        })
    }

    /// Reads and parses a config file; `Ok(None)` if it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, AuthError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(AuthError::ConfigUnreadable {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The named profile with `[DEFAULT]` entries filled in, if it exists.
    pub fn profile(&self, name: &str) -> Option<ConfigProfile> {
        let own = self.profiles.get(name)?;
        let mut merged = self.profiles.get("DEFAULT").cloned().unwrap_or_default();
        merged.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        Some(merged)
    }
}

/// Expands a leading `~/` with `home`.
fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(h)) => h.join(rest),
        _ => PathBuf::from(path),
    }
}

/// Where settings come from besides the attributes: an environment lookup
/// and a home directory. Tests pass closures instead of touching the real
/// process environment.
pub struct Environment<'a> {
    /// Returns the value of an environment variable, if set and non-empty.
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// The user's home directory (for `~/.oci/config` and `~/` paths).
    pub home: Option<PathBuf>,
}

impl Environment<'static> {
    /// The real process environment and `$HOME`.
    pub fn process() -> Self {
        fn var(name: &str) -> Option<String> {
            std::env::var(name).ok().filter(|v| !v.is_empty())
        }
        Environment {
            var: &var,
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }
}

impl AuthSettings {
    /// Settings taken one by one from `value`, called with each name of [`ATTRIBUTES`] in
    /// order (as a provider reads them from its configuration).
    pub fn from_attributes(mut value: impl FnMut(&str) -> Option<String>) -> Self {
        Self {
            tenancy_ocid: value("tenancy_ocid"),
            user_ocid: value("user_ocid"),
            fingerprint: value("fingerprint"),
            private_key: value("private_key"),
            private_key_path: value("private_key_path"),
            private_key_password: value("private_key_password"),
            region: value("region"),
            config_file_profile: value("config_file_profile"),
        }
    }

    /// Resolves against the real process environment and config file.
    pub fn resolve(&self) -> Result<ResolvedAuth, AuthError> {
        self.resolve_with(&Environment::process())
    }

    /// Resolves against the given environment (see the module docs for the order).
    pub fn resolve_with(&self, env: &Environment<'_>) -> Result<ResolvedAuth, AuthError> {
        let mut sources: BTreeMap<&'static str, String> = BTreeMap::new();
        let mut values: BTreeMap<&'static str, String> = BTreeMap::new();
        for attr in ATTRIBUTES {
            let explicit = match attr {
                "tenancy_ocid" => &self.tenancy_ocid,
                "user_ocid" => &self.user_ocid,
                "fingerprint" => &self.fingerprint,
                "private_key" => &self.private_key,
                "private_key_path" => &self.private_key_path,
                "private_key_password" => &self.private_key_password,
                "region" => &self.region,
                _ => &self.config_file_profile,
            };
            if let Some(v) = explicit.as_ref().filter(|v| !v.is_empty()) {
                values.insert(attr, v.clone());
                sources.insert(attr, "attribute".to_string());
                continue;
            }
            for name in [format!("TF_VAR_{attr}"), oci_env_name(attr)] {
                if let Some(v) = (env.var)(&name) {
                    values.insert(attr, v);
                    sources.insert(attr, format!("environment variable {name}"));
                    break;
                }
            }
        }

        let config_path = (env.var)("OCI_CONFIG_FILE")
            .map(|p| expand_home(&p, env.home.as_deref()))
            .or_else(|| env.home.as_ref().map(|h| h.join(".oci").join("config")));
        let explicit_profile = values.get("config_file_profile").cloned();
        let profile_name = explicit_profile
            .clone()
            .unwrap_or_else(|| "DEFAULT".to_string());
        let mut profile: ConfigProfile = BTreeMap::new();
        if let Some(path) = &config_path {
            match ConfigFile::load(path)? {
                Some(file) => match file.profile(&profile_name) {
                    Some(p) => profile = p,
                    None if explicit_profile.is_some() => {
                        return Err(AuthError::ProfileNotFound {
                            profile: profile_name,
                            path: path.clone(),
                            available: file.profiles.keys().cloned().collect::<Vec<_>>().join(", "),
                        })
                    }
                    None => {}
                },
                None if explicit_profile.is_some() => {
                    return Err(AuthError::ConfigFileMissing {
                        profile: profile_name,
                        path: path.clone(),
                    })
                }
                None => {}
            }
        }
        let from_profile =
            |attr: &'static str,
             config_key: &str,
             values: &mut BTreeMap<&'static str, String>,
             sources: &mut BTreeMap<&'static str, String>| {
                if values.contains_key(attr) {
                    return;
                }
                if let Some(v) = profile.get(config_key).filter(|v| !v.is_empty()) {
                    values.insert(attr, v.clone());
                    sources.insert(
                        attr,
                        format!(
                            "{} [{}] {}",
                            config_path
                                .as_deref()
                                .map(|p| p.display().to_string())
                                .unwrap_or_default(),
                            profile_name,
                            config_key
                        ),
                    );
                }
            };
        from_profile("tenancy_ocid", "tenancy", &mut values, &mut sources);
        from_profile("user_ocid", "user", &mut values, &mut sources);
        from_profile("fingerprint", "fingerprint", &mut values, &mut sources);
        from_profile("region", "region", &mut values, &mut sources);
        from_profile(
            "private_key_password",
            "pass_phrase",
            &mut values,
            &mut sources,
        );
        if !values.contains_key("private_key") {
            from_profile("private_key_path", "key_file", &mut values, &mut sources);
        }

        let required = |attr: &'static str, config_key: &'static str| {
            values.get(attr).cloned().ok_or_else(|| AuthError::Missing {
                setting: attr,
                env: oci_env_name(attr),
                config_key,
            })
        };
        let tenancy_ocid = required("tenancy_ocid", "tenancy")?;
        let user_ocid = required("user_ocid", "user")?;
        let fingerprint = required("fingerprint", "fingerprint")?;
        let password = values.get("private_key_password").map(String::as_str);

        let (key, origin) = if let Some(pem) = values.get("private_key") {
            // Environment variables often carry the PEM with literal "\n";
            // base64 never contains a backslash, so unescaping is safe.
            let pem = pem.replace("\\n", "\n");
            (ApiKey::from_pem(&pem, password)?, None)
        } else if let Some(path) = values.get("private_key_path") {
            let path = expand_home(path, env.home.as_deref());
            (ApiKey::from_file(&path, password)?, Some(path))
        } else {
            return Err(AuthError::NoPrivateKey);
        };
        key.check_fingerprint(&fingerprint, origin.as_deref())?;

        Ok(ResolvedAuth {
            tenancy_ocid,
            user_ocid,
            fingerprint: fingerprint.trim().to_ascii_lowercase(),
            key,
            region: values.get("region").cloned(),
            sources,
        })
    }
}

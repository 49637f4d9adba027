//! OCI settings of the provider block and the Object Storage calls made with them.
//!
//! The provider block takes the API-key settings of the OCI Terraform provider, spelled the
//! same way (`tenancy_ocid`, `user_ocid`, `fingerprint`, `private_key` or `private_key_path`,
//! `private_key_password`, `region`, `config_file_profile`), so one set of variables feeds
//! both providers, plus `object_storage_endpoint` to point Object Storage calls elsewhere.
//!
//! `ConfigureProvider` only records what was written ([`configure`]): it reads no file,
//! contacts nothing and never fails because settings are missing, since most configurations
//! only render files and need no OCI access at all. The settings are resolved (attribute,
//! then `TF_VAR_<attribute>`, then `OCI_<ATTRIBUTE>`, then the OCI config file; see
//! [`pgha_oci::auth`]) the first time something needs them: the `pgha_pgbackrest_backups`
//! data source reading a bucket, or [`verify_bucket`] during an apply. Problems found then
//! (missing settings, an unreadable key, a wrong pass phrase, a fingerprint that belongs to
//! another key, a rejected signature, a missing bucket) become diagnostics that say what to
//! fix ([`report`]).

use std::sync::RwLock;

use pgha_oci::{
    AuthError, AuthSettings, Bucket, KeyError, ObjectStorageClient, ObjectStorageError, RepoError,
    ResolvedAuth,
};
use tfplugin::{Attribute, AttributePath, Diagnostics, Value};

/// Provider-block attribute that overrides the Object Storage endpoint.
pub const ENDPOINT_ATTRIBUTE: &str = "object_storage_endpoint";

/// The provider block's OCI settings, as written (nothing resolved yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OciSettings {
    /// API-key settings; empty fields fall back to the environment and the OCI config file.
    pub auth: AuthSettings,
    /// Base URL for Object Storage instead of `https://objectstorage.<region>.oraclecloud.com`.
    pub object_storage_endpoint: Option<String>,
    /// Provider attributes whose values were unknown when the provider was configured (they
    /// depend on resources not yet created).
    pub unknown: Vec<String>,
}

/// What can go wrong between the settings and an answer from Object Storage.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// Some provider attributes were not known when the provider was configured.
    #[error(
        "the provider attributes {} are not known yet (they depend on resources that do not \
         exist yet); OCI calls need them known, so create those resources first or pass \
         the values directly",
        .0.join(", ")
    )]
    SettingsUnknown(Vec<String>),
    /// The settings do not resolve to a usable key and identity.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Neither a region nor an endpoint is configured anywhere.
    #[error(
        "no OCI region: set `region` in the provider block (or OCI_REGION, or `region` in the \
         OCI config file profile){for_block}, or set `object_storage_endpoint`"
    )]
    NoRegion {
        /// Extra hint naming the block-level region attribute, if there is one.
        for_block: String,
    },
    /// The request signer could not be built from the key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Object Storage answered with an error, or could not be reached.
    #[error(transparent)]
    Storage(#[from] ObjectStorageError),
    /// A local repository directory could not be read.
    #[error("{0}")]
    Io(String),
}

impl From<RepoError> for OciError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::ObjectStorage(e) => OciError::Storage(e),
            other @ RepoError::Io { .. } => OciError::Io(other.to_string()),
        }
    }
}

/// Settings recorded by the last `ConfigureProvider`. Terraform starts one provider process per
/// provider configuration, so one slot per process is enough.
static PROVIDER_SETTINGS: RwLock<Option<OciSettings>> = RwLock::new(None);

/// The OCI attributes of the provider block, with their Registry descriptions.
pub fn provider_attributes() -> Vec<Attribute> {
    vec![
        Attribute::string("tenancy_ocid").describe(
            "OCID of the tenancy, as for the OCI provider. Falls back to `TF_VAR_tenancy_ocid`, \
             `OCI_TENANCY_OCID`, then `tenancy` in the OCI config file profile.",
        ),
        Attribute::string("user_ocid").describe(
            "OCID of the user that owns the API key. Falls back to `TF_VAR_user_ocid`, \
             `OCI_USER_OCID`, then `user` in the OCI config file profile.",
        ),
        Attribute::string("fingerprint").describe(
            "Fingerprint of the API key as the OCI console shows it (`aa:bb:...`). It is \
             checked against the private key before any request is sent. Falls back to \
             `TF_VAR_fingerprint`, `OCI_FINGERPRINT`, then `fingerprint` in the profile.",
        ),
        Attribute::string("private_key").sensitive().describe(
            "The API private key in PEM form (PKCS#1, PKCS#8, or encrypted PKCS#8); wins over \
             `private_key_path`. Literal `\\n` sequences are read as line breaks. Falls back \
             to `TF_VAR_private_key` and `OCI_PRIVATE_KEY`.",
        ),
        Attribute::string("private_key_path").describe(
            "Path of the API private key PEM file (`~/` is expanded). Falls back to \
             `TF_VAR_private_key_path`, `OCI_PRIVATE_KEY_PATH`, then `key_file` in the profile.",
        ),
        Attribute::string("private_key_password")
            .sensitive()
            .describe(
                "Pass phrase of an encrypted private key. Falls back to \
             `TF_VAR_private_key_password`, `OCI_PRIVATE_KEY_PASSWORD`, then `pass_phrase` in \
             the profile.",
            ),
        Attribute::string("region").describe(
            "Default region for Object Storage calls, e.g. `ap-chuncheon-1`; a data source's \
             own `region` wins. Falls back to `TF_VAR_region`, `OCI_REGION`, then `region` in \
             the profile.",
        ),
        Attribute::string("config_file_profile").describe(
            "Profile of the OCI config file (`$OCI_CONFIG_FILE`, else `~/.oci/config`) to \
             take missing settings from; default `DEFAULT`, whose entries other profiles \
             inherit. A profile named here must exist. Falls back to \
             `TF_VAR_config_file_profile` and `OCI_CONFIG_FILE_PROFILE`.",
        ),
        Attribute::string(ENDPOINT_ATTRIBUTE).describe(
            "Base URL of the Object Storage API, replacing \
             `https://objectstorage.<region>.oraclecloud.com` (for tests, or a dedicated \
             endpoint). No path or query.",
        ),
    ]
}

/// Reads the OCI attributes of a provider configuration. Null or empty attributes stay unset
/// (so the environment and the config file can fill them); unknown ones are listed in
/// [`OciSettings::unknown`]. Only the endpoint's form is checked: nothing is read or contacted.
pub fn settings_from_config(config: &Value, diags: &mut Diagnostics) -> OciSettings {
    let mut settings = OciSettings::default();
    let mut take = |name: &str| -> Option<String> {
        match config.get(name) {
            Value::Unknown => {
                settings.unknown.push(name.to_string());
                None
            }
            value => value.as_str().filter(|s| !s.is_empty()).map(str::to_string),
        }
    };
    let auth = AuthSettings::from_attributes(&mut take);
    let endpoint = take(ENDPOINT_ATTRIBUTE);
    settings.auth = auth;
    if let Some(url) = &endpoint {
        if let Err(problem) = check_endpoint(url) {
            diags.error_at(
                AttributePath::new(ENDPOINT_ATTRIBUTE),
                "Invalid Object Storage endpoint",
                format!("{url:?} {problem}"),
            );
        }
    }
    settings.object_storage_endpoint = endpoint;
    settings
}

/// Why `url` cannot be an endpoint: it must be `http(s)://host[:port]` without path or query.
fn check_endpoint(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must start with https:// (or http:// for a local test endpoint)")?;
    let host = rest.trim_end_matches('/');
    if host.is_empty() {
        return Err("has no host".to_string());
    }
    if host.contains(['/', '?', '#', ' ']) {
        return Err("must be scheme://host[:port] without a path, query or spaces".to_string());
    }
    Ok(())
}

/// `ConfigureProvider`: records the settings for later use. Contacts nothing, reads no file,
/// and adds no error when nothing is configured.
pub fn configure(config: &Value, diags: &mut Diagnostics) {
    let settings = settings_from_config(config, diags);
    tracing::debug!(
        explicit = ?settings.auth,
        endpoint = ?settings.object_storage_endpoint,
        unknown = ?settings.unknown,
        "OCI settings recorded; resolved only when an OCI call needs them"
    );
    let mut slot = PROVIDER_SETTINGS
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    *slot = Some(settings);
}

/// The settings recorded by `ConfigureProvider` (empty ones before it ran).
pub fn provider_settings() -> OciSettings {
    PROVIDER_SETTINGS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
        .unwrap_or_default()
}

/// An Object Storage client built from resolved settings, with the resolution's provenance.
#[derive(Debug, Clone)]
pub struct Session {
    /// The signed client.
    pub client: ObjectStorageClient,
    /// The region used to choose the endpoint, if one was.
    pub region: Option<String>,
    /// Where each setting came from (`tenancy_ocid` → `attribute`, ...), for error details.
    pub sources: Vec<(String, String)>,
}

impl OciSettings {
    /// Resolves the settings (environment and config file included) and checks the key.
    pub fn resolve(&self) -> Result<ResolvedAuth, OciError> {
        if !self.unknown.is_empty() {
            return Err(OciError::SettingsUnknown(self.unknown.clone()));
        }
        Ok(self.auth.resolve()?)
    }

    /// A signed Object Storage client. `region` (from a data source or resource block) wins
    /// over the resolved one; `object_storage_endpoint` wins over both.
    pub fn session(&self, region: Option<&str>) -> Result<Session, OciError> {
        let resolved = self.resolve()?;
        let region = region
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .or_else(|| resolved.region.clone());
        let signer = resolved.signer()?;
        let client = match (&self.object_storage_endpoint, &region) {
            (Some(endpoint), _) => ObjectStorageClient::with_endpoint(signer, endpoint)?,
            (None, Some(region)) => ObjectStorageClient::new(signer, region)?,
            (None, None) => {
                return Err(OciError::NoRegion {
                    for_block: String::new(),
                })
            }
        };
        tracing::info!(endpoint = client.endpoint(), "OCI settings resolved");
        Ok(Session {
            client,
            region,
            sources: resolved
                .sources
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        })
    }
}

/// A bucket to check, as a resource or data source names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketTarget {
    /// Object Storage namespace; `None` asks OCI for the tenancy's namespace (GetNamespace).
    pub namespace: Option<String>,
    /// Bucket name.
    pub bucket: String,
    /// Region; `None` uses the provider's.
    pub region: Option<String>,
}

/// GetBucket with the provider's settings; `Err` says why the bucket cannot be used.
pub async fn check_bucket(
    settings: &OciSettings,
    target: &BucketTarget,
) -> Result<Bucket, OciError> {
    let session = settings.session(target.region.as_deref())?;
    let namespace = match target.namespace.as_deref().filter(|n| !n.is_empty()) {
        Some(ns) => ns.to_string(),
        None => session.client.get_namespace().await?,
    };
    let bucket = session
        .client
        .get_bucket(&namespace, &target.bucket)
        .await?;
    tracing::info!(
        namespace = %bucket.namespace,
        bucket = %bucket.name,
        tier = ?bucket.storage_tier,
        "bucket verified"
    );
    Ok(bucket)
}

/// Opt-in bucket verification for resources: GetBucket through the provider's settings.
/// Meant for apply (create/update) only, never for plan. On failure it adds an error
/// diagnostic (at `at`, when given) that names the cause and returns `None`.
pub async fn verify_bucket(
    settings: &OciSettings,
    target: &BucketTarget,
    diags: &mut Diagnostics,
    at: Option<AttributePath>,
) -> Option<Bucket> {
    match check_bucket(settings, target).await {
        Ok(bucket) => Some(bucket),
        Err(e) => {
            report(&e, settings, diags, at);
            None
        }
    }
}

/// Turns an [`OciError`] into one error diagnostic with a summary naming the kind of failure
/// and a detail saying what to check.
pub fn report(
    error: &OciError,
    settings: &OciSettings,
    diags: &mut Diagnostics,
    at: Option<AttributePath>,
) {
    let (summary, hint): (&str, String) = match error {
        OciError::SettingsUnknown(_) => ("OCI settings not known yet", String::new()),
        OciError::Auth(AuthError::Key(key)) | OciError::Key(key) => {
            (key_summary(key), String::new())
        }
        OciError::Auth(
            AuthError::ConfigUnreadable { .. }
            | AuthError::ConfigSyntax { .. }
            | AuthError::ProfileNotFound { .. }
            | AuthError::ConfigFileMissing { .. },
        ) => ("Unusable OCI config file", String::new()),
        OciError::Auth(_) => (
            "Incomplete OCI authentication settings",
            "\n\nThe pgha provider reads the same settings as the OCI provider; see the \
             authentication guide."
                .to_string(),
        ),
        OciError::NoRegion { .. } => ("No OCI region configured", String::new()),
        OciError::Storage(storage) => storage_summary(storage, settings),
        OciError::Io(_) => ("Cannot read the pgBackRest repository", String::new()),
    };
    let detail = format!("{error}{hint}");
    match at {
        Some(path) => diags.error_at(path, summary, detail),
        None => diags.error(summary, detail),
    }
}

fn key_summary(key: &KeyError) -> &'static str {
    match key {
        KeyError::Unreadable { .. } => "Cannot read the OCI API private key",
        KeyError::PassphraseRequired { .. } | KeyError::WrongPassphrase { .. } => {
            "Cannot decrypt the OCI API private key (pass phrase)"
        }
        KeyError::FingerprintMismatch { .. } => {
            "OCI API key fingerprint does not match the private key"
        }
        _ => "Unusable OCI API private key",
    }
}

fn storage_summary(error: &ObjectStorageError, settings: &OciSettings) -> (&'static str, String) {
    let innermost = match error {
        ObjectStorageError::RetriesExhausted { last, .. } => last.as_ref(),
        other => other,
    };
    match innermost {
        ObjectStorageError::NotAuthenticated { .. } => (
            "OCI rejected the request signature (authentication failed)",
            provenance(settings),
        ),
        ObjectStorageError::BucketNotFound { .. } => (
            "Object Storage bucket missing or not authorized",
            String::new(),
        ),
        ObjectStorageError::Transport { .. } => ("Cannot reach OCI Object Storage", String::new()),
        ObjectStorageError::InvalidEndpoint { .. } => {
            ("Invalid Object Storage endpoint", String::new())
        }
        _ => ("OCI Object Storage request failed", String::new()),
    }
}

/// Where each setting came from, so a rejected signature can be traced to the value used.
fn provenance(settings: &OciSettings) -> String {
    match settings.auth.resolve() {
        Ok(resolved) if !resolved.sources.is_empty() => {
            let lines: Vec<String> = resolved
                .sources
                .iter()
                .map(|(k, v)| format!("  {k}: {v}"))
                .collect();
            format!("\n\nSettings used:\n{}", lines.join("\n"))
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgha_oci::auth::ATTRIBUTES as AUTH_ATTRIBUTES;

    fn config(entries: &[(&str, Value)]) -> Value {
        Value::object(entries.iter().cloned())
    }

    #[test]
    fn empty_configuration_records_nothing_and_reports_nothing() {
        let mut diags = Diagnostics::default();
        let s = settings_from_config(&Value::Null, &mut diags);
        assert!(diags.0.is_empty());
        assert_eq!(s, OciSettings::default());
    }

    #[test]
    fn attributes_map_onto_auth_settings_and_unknowns_are_listed() {
        let mut diags = Diagnostics::default();
        let s = settings_from_config(
            &config(&[
                ("tenancy_ocid", "ocid1.tenancy.oc1..t".into()),
                ("user_ocid", "ocid1.user.oc1..u".into()),
                ("fingerprint", "aa:bb".into()),
                ("private_key", Value::Unknown),
                ("private_key_path", "~/k.pem".into()),
                ("private_key_password", "".into()),
                ("region", "ap-chuncheon-1".into()),
                ("config_file_profile", "OTHER".into()),
                (ENDPOINT_ATTRIBUTE, "http://127.0.0.1:9".into()),
            ]),
            &mut diags,
        );
        assert!(diags.0.is_empty(), "{diags:?}");
        assert_eq!(s.auth.tenancy_ocid.as_deref(), Some("ocid1.tenancy.oc1..t"));
        assert_eq!(s.auth.user_ocid.as_deref(), Some("ocid1.user.oc1..u"));
        assert_eq!(s.auth.fingerprint.as_deref(), Some("aa:bb"));
        assert_eq!(s.auth.private_key, None);
        assert_eq!(s.auth.private_key_path.as_deref(), Some("~/k.pem"));
        assert_eq!(s.auth.private_key_password, None, "empty means unset");
        assert_eq!(s.auth.region.as_deref(), Some("ap-chuncheon-1"));
        assert_eq!(s.auth.config_file_profile.as_deref(), Some("OTHER"));
        assert_eq!(
            s.object_storage_endpoint.as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(s.unknown, ["private_key"]);
        assert!(matches!(s.resolve(), Err(OciError::SettingsUnknown(u)) if u == ["private_key"]));
    }

    #[test]
    fn endpoint_form_is_checked_without_connecting() {
        for bad in [
            "ftp://x",
            "https://",
            "https://host/path",
            "objectstorage.example",
        ] {
            let mut diags = Diagnostics::default();
            settings_from_config(&config(&[(ENDPOINT_ATTRIBUTE, bad.into())]), &mut diags);
            assert!(diags.has_errors(), "{bad} accepted");
            assert_eq!(
                diags.0[0].attribute,
                Some(AttributePath::new(ENDPOINT_ATTRIBUTE))
            );
        }
        for good in [
            "https://objectstorage.ap-chuncheon-1.oraclecloud.com",
            "http://127.0.0.41:8080/",
        ] {
            let mut diags = Diagnostics::default();
            settings_from_config(&config(&[(ENDPOINT_ATTRIBUTE, good.into())]), &mut diags);
            assert!(diags.0.is_empty(), "{good}: {diags:?}");
        }
    }

    #[test]
    fn schema_marks_secrets_sensitive_and_nothing_required() {
        let attrs = provider_attributes();
        assert_eq!(attrs.len(), AUTH_ATTRIBUTES.len() + 1);
        for a in &attrs {
            assert!(a.optional && !a.required && !a.computed, "{}", a.name);
            assert!(!a.description.is_empty(), "{}", a.name);
            assert_eq!(
                a.sensitive,
                matches!(a.name.as_str(), "private_key" | "private_key_password"),
                "{}",
                a.name
            );
        }
        let names: Vec<&str> = attrs.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(&names[..8], AUTH_ATTRIBUTES);
    }
}

//! Authentication settings: attributes, TF_VAR_/OCI_ environment fallbacks
//! and OCI config file profiles, resolved the way the OCI provider does.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{openssl_key, run, TestKey};
use pgha_oci::auth::Environment;
use pgha_oci::{AuthError, AuthSettings, KeyError};

const T: &str = "ocid1.tenancy.oc1..aaaaaaaatenancy";
const U: &str = "ocid1.user.oc1..aaaaaaaauser";

struct Env {
    vars: HashMap<String, String>,
    home: PathBuf,
}

impl Env {
    fn new(home: &Path) -> Self {
        Self {
            vars: HashMap::new(),
            home: home.to_path_buf(),
        }
    }
    fn set(mut self, k: &str, v: &str) -> Self {
        self.vars.insert(k.to_string(), v.to_string());
        self
    }
    fn resolve(&self, s: &AuthSettings) -> Result<pgha_oci::ResolvedAuth, AuthError> {
        let lookup = |name: &str| self.vars.get(name).cloned();
        s.resolve_with(&Environment {
            var: &lookup,
            home: Some(self.home.clone()),
        })
    }
}

fn encrypt(key: &TestKey, pass: &str) -> PathBuf {
    let out = key.dir.path().join("enc.pem");
    run(Command::new("openssl")
        .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout"])
        .arg(format!("pass:{pass}"))
        .arg("-in")
        .arg(&key.private_pem)
        .arg("-out")
        .arg(&out));
    out
}

/// A home directory with ~/.oci/config holding DEFAULT and PROD profiles.
fn home_with_config(
    default_key: &TestKey,
    prod_key: &TestKey,
    prod_pass: &str,
) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let oci = home.path().join(".oci");
    std::fs::create_dir_all(&oci).unwrap();
    std::fs::copy(&default_key.private_pem, oci.join("default.pem")).unwrap();
    std::fs::copy(encrypt(prod_key, prod_pass), oci.join("prod.pem")).unwrap();
    let config = format!(
        "# OCI CLI/SDK config\n\
         [DEFAULT]\n\
         user={U}\n\
         fingerprint={}\n\
         key_file=~/.oci/default.pem\n\
         tenancy={T}\n\
         region=ap-chuncheon-1\n\
         \n\
         [PROD]\n\
         user=ocid1.user.oc1..aaaaaaaaprod\n\
         fingerprint = {}\n\
         key_file = ~/.oci/prod.pem\n\
         pass_phrase = {prod_pass}\n\
         region=ap-seoul-1\n",
        default_key.fingerprint, prod_key.fingerprint
    );
    std::fs::write(oci.join("config"), config).unwrap();
    home
}

#[test]
fn default_profile_is_used_when_nothing_else_is_set() {
    let (k1, k2) = (openssl_key(2048), openssl_key(2048));
    let home = home_with_config(&k1, &k2, "prod pass");
    let r = Env::new(home.path())
        .resolve(&AuthSettings::default())
        .unwrap();
    assert_eq!(r.tenancy_ocid, T);
    assert_eq!(r.user_ocid, U);
    assert_eq!(r.fingerprint, k1.fingerprint);
    assert_eq!(r.region.as_deref(), Some("ap-chuncheon-1"));
    assert_eq!(r.key.fingerprint(), k1.fingerprint);
    assert!(
        r.sources["private_key_path"].contains("[DEFAULT] key_file"),
        "{:?}",
        r.sources
    );
    assert_eq!(
        r.signer().unwrap().key_id(),
        format!("{T}/{U}/{}", k1.fingerprint)
    );
}

#[test]
fn named_profile_inherits_default_and_uses_its_pass_phrase() {
    let (k1, k2) = (openssl_key(2048), openssl_key(2048));
    let home = home_with_config(&k1, &k2, "prod pass");
    let settings = AuthSettings {
        config_file_profile: Some("PROD".into()),
        ..Default::default()
    };
    let r = Env::new(home.path()).resolve(&settings).unwrap();
    assert_eq!(r.tenancy_ocid, T, "tenancy inherited from [DEFAULT]");
    assert_eq!(r.user_ocid, "ocid1.user.oc1..aaaaaaaaprod");
    assert_eq!(r.region.as_deref(), Some("ap-seoul-1"));
    assert_eq!(r.key.fingerprint(), k2.fingerprint);

    // The profile can also come from the environment.
    let r = Env::new(home.path())
        .set("OCI_CONFIG_FILE_PROFILE", "PROD")
        .resolve(&AuthSettings::default())
        .unwrap();
    assert_eq!(r.key.fingerprint(), k2.fingerprint);
}

#[test]
fn attributes_beat_environment_which_beats_the_profile() {
    let (k1, k2) = (openssl_key(2048), openssl_key(2048));
    let home = home_with_config(&k1, &k2, "p");
    let env = Env::new(home.path())
        .set("OCI_REGION", "eu-frankfurt-1")
        .set("TF_VAR_region", "us-ashburn-1")
        .set("OCI_USER_OCID", "ocid1.user.oc1..fromenv");
    let r = env.resolve(&AuthSettings::default()).unwrap();
    assert_eq!(
        r.region.as_deref(),
        Some("us-ashburn-1"),
        "TF_VAR_ wins over OCI_"
    );
    assert_eq!(r.sources["region"], "environment variable TF_VAR_region");
    assert_eq!(r.user_ocid, "ocid1.user.oc1..fromenv");

    let r = env
        .resolve(&AuthSettings {
            region: Some("ap-tokyo-1".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.region.as_deref(), Some("ap-tokyo-1"));
    assert_eq!(r.sources["region"], "attribute");
}

#[test]
fn private_key_content_wins_over_paths_and_accepts_escaped_newlines() {
    let (k1, k2) = (openssl_key(2048), openssl_key(2048));
    let home = home_with_config(&k1, &k2, "p");
    let pem = std::fs::read_to_string(&k2.private_pem).unwrap();
    let escaped = pem.replace('\n', "\\n");
    let r = Env::new(home.path())
        .set("OCI_PRIVATE_KEY", &escaped)
        .set("OCI_FINGERPRINT", &k2.fingerprint)
        .resolve(&AuthSettings::default())
        .unwrap();
    assert_eq!(r.key.fingerprint(), k2.fingerprint);
}

#[test]
fn from_attributes_asks_each_attribute_once_in_order() {
    let mut asked = Vec::new();
    let s = AuthSettings::from_attributes(|name| {
        asked.push(name.to_string());
        Some(format!("<{name}>"))
    });
    assert_eq!(asked, pgha_oci::auth::ATTRIBUTES);
    let fields = [
        &s.tenancy_ocid,
        &s.user_ocid,
        &s.fingerprint,
        &s.private_key,
        &s.private_key_path,
        &s.private_key_password,
        &s.region,
        &s.config_file_profile,
    ];
    for (field, name) in fields.into_iter().zip(pgha_oci::auth::ATTRIBUTES) {
        assert_eq!(field.as_deref(), Some(format!("<{name}>").as_str()));
    }
}

#[test]
fn everything_from_attributes_without_any_config_file() {
    let key = openssl_key(2048);
    let enc = encrypt(&key, "attr pass");
    let home = tempfile::tempdir().unwrap();
    let settings = AuthSettings {
        tenancy_ocid: Some(T.into()),
        user_ocid: Some(U.into()),
        fingerprint: Some(key.fingerprint.clone()),
        private_key_path: Some(enc.display().to_string()),
        private_key_password: Some("attr pass".into()),
        region: Some("ap-chuncheon-1".into()),
        ..Default::default()
    };
    let r = Env::new(home.path()).resolve(&settings).unwrap();
    assert_eq!(r.key.fingerprint(), key.fingerprint);
    // Secrets never show in Debug output.
    let dbg = format!("{settings:?}");
    assert!(!dbg.contains("attr pass"), "{dbg}");
}

#[test]
fn errors_name_what_to_set() {
    let (k1, k2) = (openssl_key(2048), openssl_key(2048));
    let empty_home = tempfile::tempdir().unwrap();

    let err = Env::new(empty_home.path())
        .resolve(&AuthSettings::default())
        .unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::Missing {
                setting: "tenancy_ocid",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("OCI_TENANCY_OCID"), "{err}");

    let err = Env::new(empty_home.path())
        .set("OCI_TENANCY_OCID", T)
        .set("OCI_USER_OCID", U)
        .set("OCI_FINGERPRINT", &k1.fingerprint)
        .resolve(&AuthSettings::default())
        .unwrap_err();
    assert!(matches!(err, AuthError::NoPrivateKey), "{err:?}");

    let err = Env::new(empty_home.path())
        .resolve(&AuthSettings {
            config_file_profile: Some("PROD".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        matches!(err, AuthError::ConfigFileMissing { .. }),
        "{err:?}"
    );

    let home = home_with_config(&k1, &k2, "right");
    let err = Env::new(home.path())
        .resolve(&AuthSettings {
            config_file_profile: Some("STAGING".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(err, AuthError::ProfileNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("DEFAULT, PROD"), "{err}");

    // Wrong pass phrase overriding the profile's.
    let err = Env::new(home.path())
        .set("OCI_PRIVATE_KEY_PASSWORD", "wrong")
        .resolve(&AuthSettings {
            config_file_profile: Some("PROD".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        matches!(err, AuthError::Key(KeyError::WrongPassphrase { .. })),
        "{err:?}"
    );

    // Configured fingerprint belongs to another key.
    let err = Env::new(home.path())
        .set("OCI_FINGERPRINT", &k2.fingerprint)
        .resolve(&AuthSettings::default())
        .unwrap_err();
    match &err {
        AuthError::Key(KeyError::FingerprintMismatch { origin, .. }) => {
            assert!(origin.as_ref().unwrap().ends_with(".oci/default.pem"))
        }
        other => panic!("expected FingerprintMismatch, got {other:?}"),
    }

    // Key file that does not exist.
    let err = Env::new(home.path())
        .set("OCI_PRIVATE_KEY_PATH", "~/.oci/gone.pem")
        .resolve(&AuthSettings::default())
        .unwrap_err();
    assert!(
        matches!(err, AuthError::Key(KeyError::Unreadable { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("gone.pem"), "{err}");
}

#[test]
fn config_file_location_and_syntax() {
    let (k1, k2) = (openssl_key(2048), openssl_key(2048));
    let home = home_with_config(&k1, &k2, "p");
    let elsewhere = tempfile::tempdir().unwrap();
    let alt = elsewhere.path().join("alt-config");
    std::fs::write(
        &alt,
        format!(
            "[DEFAULT]\ntenancy={T}\nuser=ocid1.user.oc1..alt\nfingerprint={}\nkey_file={}\n",
            k2.fingerprint,
            k2.private_pem.display()
        ),
    )
    .unwrap();
    let r = Env::new(home.path())
        .set("OCI_CONFIG_FILE", &alt.display().to_string())
        .resolve(&AuthSettings::default())
        .unwrap();
    assert_eq!(r.user_ocid, "ocid1.user.oc1..alt");

    std::fs::write(&alt, "[DEFAULT\nuser=x\n").unwrap();
    let err = Env::new(home.path())
        .set("OCI_CONFIG_FILE", &alt.display().to_string())
        .resolve(&AuthSettings::default())
        .unwrap_err();
    assert!(
        matches!(err, AuthError::ConfigSyntax { line: 1, .. }),
        "{err:?}"
    );

    std::fs::write(&alt, "user=x\n").unwrap();
    let err = Env::new(home.path())
        .set("OCI_CONFIG_FILE", &alt.display().to_string())
        .resolve(&AuthSettings::default())
        .unwrap_err();
    assert!(matches!(err, AuthError::ConfigSyntax { .. }), "{err:?}");
}

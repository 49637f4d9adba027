//! Loading OCI API signing keys and computing their fingerprints.
//!
//! OCI identifies an API key by the fingerprint of its public half, and the
//! console shows that fingerprint next to the uploaded key. Comparing the
//! configured fingerprint with the one computed from the private key is the
//! cheapest way to tell a user "you pointed us at the wrong key file" before
//! OCI answers every request with an opaque 401.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use md5::{Digest as _, Md5};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};

/// Why a private key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read (missing, permissions, ...).
    #[error("cannot read private key file {path}: {source}")]
    Unreadable {
        /// The path that was tried.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No `-----BEGIN ...-----` / `-----END ...-----` block was found.
    #[error("no PEM private key block found{}", location(.origin))]
    NoPemBlock {
        /// Where the key came from, if it was a file.
        origin: Option<PathBuf>,
    },
    /// The PEM block's label is not a private key this crate understands.
    #[error("unsupported PEM block \"{label}\"{}: expected RSA PRIVATE KEY, PRIVATE KEY or ENCRYPTED PRIVATE KEY", location(.origin))]
    UnsupportedLabel {
        /// The label found after `BEGIN`.
        label: String,
        /// Where the key came from, if it was a file.
        origin: Option<PathBuf>,
    },
    /// The base64 body of the PEM block is damaged.
    #[error("the PEM body is not valid base64{}: {detail}", location(.origin))]
    BadBase64 {
        /// Decoder message.
        detail: String,
        /// Where the key came from, if it was a file.
        origin: Option<PathBuf>,
    },
    /// The key is encrypted but no pass phrase was configured.
    #[error("the private key{} is encrypted but no pass phrase was given (set private_key_password, or pass_phrase in the OCI config profile)", location(.origin))]
    PassphraseRequired {
        /// Where the key came from, if it was a file.
        origin: Option<PathBuf>,
    },
    /// Decryption failed, which for PBES2 almost always means a wrong pass phrase.
    #[error("cannot decrypt the private key{}: the pass phrase is wrong (or the key file is damaged)", location(.origin))]
    WrongPassphrase {
        /// Where the key came from, if it was a file.
        origin: Option<PathBuf>,
    },
    /// Legacy OpenSSL encryption (`Proc-Type: 4,ENCRYPTED` headers) is not supported.
    #[error("the private key{} uses legacy OpenSSL PEM encryption (Proc-Type/DEK-Info headers), which is not supported; convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.pem -out new.pem`", location(.origin))]
    LegacyEncryption {
        /// Where the key came from, if it was a file.
        origin: Option<PathBuf>,
    },
    /// The DER structure is not an RSA private key.
    #[error("the private key{} is not a valid RSA key: {detail}", location(.origin))]
    InvalidKey {
        /// Parser message.
        detail: String,
        /// Where the key came from, if it was a file.
        origin: Option<PathBuf>,
    },
    /// The configured fingerprint belongs to a different key.
    #[error("the configured fingerprint {configured} does not match the private key{}, whose fingerprint is {actual}; check that fingerprint and key come from the same API key in the OCI console", location(.origin))]
    FingerprintMismatch {
        /// The fingerprint from the configuration.
        configured: String,
        /// The fingerprint computed from the key.
        actual: String,
        /// Where the key came from, if it was a file.
        origin: Option<PathBuf>,
    },
}

fn location(origin: &Option<PathBuf>) -> String {
    match origin {
        Some(p) => format!(" in {}", p.display()),
        None => String::new(),
    }
}

/// An RSA private key usable for OCI request signatures.
///
/// The key material never appears in `Debug` output; only the fingerprint does.
#[derive(Clone)]
pub struct ApiKey {
    key: rsa::PrivateKey,
    fingerprint: String,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

struct PemBlock {
    label: String,
    headers: Vec<String>,
    der: Vec<u8>,
}

/// Finds the first PEM block and decodes it. Anything before `BEGIN` or after
/// `END` is ignored, which is what lets keys downloaded from the OCI console
/// (they carry an `OCI_API_KEY` line after the END marker) load unchanged.
fn parse_pem(text: &str, origin: &Option<PathBuf>) -> Result<PemBlock, KeyError> {
    let mut lines = text.lines().map(str::trim);
    let label = loop {
        match lines.next() {
            None => {
                return Err(KeyError::NoPemBlock {
                    origin: origin.clone(),
                })
            }
            Some(line) => {
                if let Some(rest) = line.strip_prefix("-----BEGIN ") {
                    if let Some(label) = rest.strip_suffix("-----") {
                        break label.to_string();
                    }
                }
            }
        }
    };
    let end_marker = format!("-----END {label}-----");
    let mut headers = Vec::new();
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == end_marker {
            ended = true;
            break;
        }
        if line.contains(':') {
            headers.push(line.to_string());
        } else {
            body.push_str(line);
        }
    }
    if !ended {
        return Err(KeyError::NoPemBlock {
            origin: origin.clone(),
        });
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| KeyError::BadBase64 {
            detail: e.to_string(),
            origin: origin.clone(),
        })?;
    Ok(PemBlock {
        label,
        headers,
        der,
    })
}

impl ApiKey {
    /// Parses a PEM private key: PKCS#1 (`RSA PRIVATE KEY`), PKCS#8
    /// (`PRIVATE KEY`) or PBES2-encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`,
    /// which needs `passphrase`). A pass phrase given for an unencrypted key is
    /// ignored, as the OCI tools do.
    pub fn from_pem(pem: &str, passphrase: Option<&str>) -> Result<Self, KeyError> {
        Self::from_pem_with_origin(pem, passphrase, None)
    }

    /// Reads and parses a PEM key file; errors name the file.
    pub fn from_file(path: &Path, passphrase: Option<&str>) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_pem_with_origin(&text, passphrase, Some(path.to_path_buf()))
    }

    fn from_pem_with_origin(
        pem: &str,
        passphrase: Option<&str>,
        origin: Option<PathBuf>,
    ) -> Result<Self, KeyError> {
        let block = parse_pem(pem, &origin)?;
        let invalid = |detail: String| KeyError::InvalidKey {
            detail,
            origin: origin.clone(),
        };
        let key = match block.label.as_str() {
            "RSA PRIVATE KEY" => {
                if block
                    .headers
                    .iter()
                    .any(|h| h.starts_with("Proc-Type:") && h.contains("ENCRYPTED"))
                {
                    return Err(KeyError::LegacyEncryption { origin });
                }
                rsa::PrivateKey::from_pkcs1_der(&block.der).map_err(|e| invalid(e.to_string()))?
            }
            "PRIVATE KEY" => {
                rsa::PrivateKey::from_pkcs8_der(&block.der).map_err(|e| invalid(e.to_string()))?
            }
            "ENCRYPTED PRIVATE KEY" => {
                let pass = match passphrase {
                    Some(p) if !p.is_empty() => p,
                    _ => return Err(KeyError::PassphraseRequired { origin }),
                };
                rsa::PrivateKey::from_pkcs8_encrypted_der(&block.der, pass.as_bytes()).map_err(
                    |e| match e {
                        // A wrong pass phrase yields garbage plaintext, which
                        // shows up as a padding or ASN.1 error after decryption.
                        rsa::pkcs8::Error::EncryptedPrivateKey(_)
                        | rsa::pkcs8::Error::Asn1(_)
                        | rsa::pkcs8::Error::KeyMalformed(_) => KeyError::WrongPassphrase {
                            origin: origin.clone(),
                        },
                        other => invalid(other.to_string()),
                    },
                )?
            }
            other => {
                return Err(KeyError::UnsupportedLabel {
                    label: other.to_string(),
                    origin,
                })
            }
        };
        let fingerprint = fingerprint_of(&key).map_err(invalid)?;
        Ok(Self { key, fingerprint })
    }

    /// The OCI fingerprint of this key: MD5 of the DER `SubjectPublicKeyInfo`,
    /// as lowercase hex pairs separated by colons.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Fails with [`KeyError::FingerprintMismatch`] unless `configured`
    /// (compared case-insensitively, surrounding blanks ignored) is this key's
    /// fingerprint.
    pub fn check_fingerprint(
        &self,
        configured: &str,
        origin: Option<&Path>,
    ) -> Result<(), KeyError> {
        if configured.trim().eq_ignore_ascii_case(&self.fingerprint) {
            Ok(())
        } else {
            Err(KeyError::FingerprintMismatch {
                configured: configured.trim().to_string(),
                actual: self.fingerprint.clone(),
                origin: origin.map(Path::to_path_buf),
            })
        }
    }

    /// The PEM (`PUBLIC KEY`, SubjectPublicKeyInfo) form of the public half,
    /// the format the OCI console expects when uploading an API key.
    pub fn public_key_pem(&self) -> Result<String, KeyError> {
        let der =
            self.key
                .to_public_key()
                .to_public_key_der()
                .map_err(|e| KeyError::InvalidKey {
                    detail: e.to_string(),
                    origin: None,
                })?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
        let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END PUBLIC KEY-----\n");
        Ok(out)
    }

    pub(crate) fn rsa(&self) -> &rsa::PrivateKey {
        &self.key
    }
}

fn fingerprint_of(key: &rsa::PrivateKey) -> Result<String, String> {
    let der = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| e.to_string())?;
    let digest = Md5::digest(der.as_bytes());
    Ok(digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":"))
}

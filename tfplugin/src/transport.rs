//! go-plugin's side of the connection: the handshake line, a Unix socket in a private
//! directory, TLS with the client certificate Terraform generated (AutoMTLS), and shutdown.
//!
//! Terraform starts the plugin with `TF_PLUGIN_MAGIC_COOKIE` and `PLUGIN_CLIENT_CERT` (a PEM
//! certificate, ECDSA P-521, that Terraform will present) in the environment. The plugin
//! prints `1|6|unix|<socket>|grpc|<server certificate, base64 DER without padding>` on
//! stdout; Terraform connects, trusts exactly that certificate (for the name `localhost`), and
//! ends the plugin with `plugin.GRPCController/Shutdown`.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{
    alg_id, AlgorithmIdentifier, CertificateDer, InvalidSignature, PrivateKeyDer,
    PrivatePkcs8KeyDer, SignatureVerificationAlgorithm, UnixTime,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;

use crate::resource::Provider;
use crate::server::{Routes, Server};

/// go-plugin's handshake cookie for Terraform providers (the same for every provider).
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The value Terraform sets [`MAGIC_COOKIE_KEY`] to.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// go-plugin's core protocol version and Terraform's plugin protocol version.
const CORE_PROTOCOL: u32 = 1;
const APP_PROTOCOL: u32 = 6;

/// How long connections may linger after Terraform asked the plugin to shut down.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Started without Terraform's handshake cookie (by hand, most likely).
    #[error(
        "this binary is a plugin for Terraform and must be started by Terraform \
         ({MAGIC_COOKIE_KEY} is not set)"
    )]
    NotStartedByTerraform,
    /// The socket or its directory could not be set up.
    #[error("cannot listen on a Unix socket in {dir}: {source}")]
    Listen {
        /// The directory.
        dir: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// `PLUGIN_CLIENT_CERT` is not a PEM certificate.
    #[error("PLUGIN_CLIENT_CERT is not a PEM certificate: {0}")]
    ClientCertificate(String),
    /// The server certificate could not be made.
    #[error("cannot create the server certificate: {0}")]
    ServerCertificate(#[from] rcgen::Error),
    /// TLS could not be configured.
    #[error("cannot configure TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// The handshake line could not be written.
    #[error("cannot write the handshake to stdout: {0}")]
    Handshake(io::Error),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// Whether this process was started by Terraform (go-plugin's magic cookie is set).
pub fn started_by_terraform() -> bool {
    std::env::var(MAGIC_COOKIE_KEY).as_deref() == Ok(MAGIC_COOKIE_VALUE)
}

/// Serve `provider` to the Terraform process that started this one, until Terraform shuts
/// the plugin down (or the process gets SIGTERM). `StopProvider` does not end the server; it
/// fires [`crate::stop::stopped`].
pub async fn serve<P: Provider + 'static>(provider: P) -> Result<(), ServeError> {
    if !started_by_terraform() {
        return Err(ServeError::NotStartedByTerraform);
    }
    let shutdown = CancellationToken::new();
    let server = Arc::new(Server::new(Arc::new(provider), shutdown.clone()));

    let base = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let listen_err = |source| ServeError::Listen {
        dir: base.clone(),
        source,
    };
    // Created 0700: only this user can reach the socket. Removed when `dir` is dropped.
    let dir = tempfile::Builder::new()
        .prefix("tfplugin-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(&base)
        .map_err(listen_err)?;
    let socket = dir.path().join("plugin.sock");
    let listener = UnixListener::bind(&socket).map_err(listen_err)?;

    let client_pem = std::env::var("PLUGIN_CLIENT_CERT").unwrap_or_default();
    let (acceptor, server_cert) = if client_pem.trim().is_empty() {
        (None, Vec::new())
    } else {
        let (acceptor, cert) = tls_acceptor(&client_pem)?;
        (Some(acceptor), cert)
    };
    // Handlers first: Terraform (or a test) may send SIGTERM as soon as it reads the handshake,
    // and without a handler the default action would kill the process before the socket
    // directory is removed.
    watch_signals(shutdown.clone());
    write_handshake(&socket, &server_cert)?;

    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Conn>>(8);
    tokio::spawn(accept_loop(listener, acceptor, tx, shutdown.clone()));

    let serve = tonic::transport::Server::builder().serve_with_incoming_shutdown(
        Routes(server),
        ReceiverStream::new(rx),
        shutdown.clone().cancelled_owned(),
    );
    let result = tokio::select! {
        r = serve => r.map_err(ServeError::from),
        _ = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::debug!("connections still open after shutdown; exiting anyway");
            Ok(())
        }
    };
    drop(dir);
    result
}

fn write_handshake(socket: &Path, server_cert: &[u8]) -> Result<(), ServeError> {
    let line = format!(
        "{CORE_PROTOCOL}|{APP_PROTOCOL}|unix|{}|grpc|{}\n",
        socket.display(),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(server_cert)
    );
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(line.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(ServeError::Handshake)
}

/// SIGTERM ends the server; SIGINT is ignored, because a Ctrl-C in the terminal reaches the
/// whole process group and Terraform itself decides what to stop (with `StopProvider`).
fn watch_signals(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot watch signals");
        return;
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => {
                    tracing::info!("SIGTERM: shutting down");
                    shutdown.cancel();
                    return;
                }
                _ = int.recv() => tracing::debug!("SIGINT ignored; Terraform sends StopProvider"),
                _ = shutdown.cancelled() => return,
            }
        }
    });
}

async fn accept_loop(
    listener: UnixListener,
    acceptor: Option<TlsAcceptor>,
    tx: tokio::sync::mpsc::Sender<io::Result<Conn>>,
    shutdown: CancellationToken,
) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let conn = match acceptor {
                None => Conn::Plain(stream),
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => Conn::Tls(Box::new(tls)),
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::warn!("TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            let _ = tx.send(Ok(conn)).await;
        });
    }
}

/// A self-signed server certificate for `localhost` and a TLS 1.3 acceptor that requires
/// exactly the client certificate in `client_pem`.
fn tls_acceptor(client_pem: &str) -> Result<(TlsAcceptor, Vec<u8>), ServeError> {
    let client_cert = CertificateDer::from_pem_slice(client_pem.as_bytes())
        .map_err(|e| ServeError::ClientCertificate(e.to_string()))?;

    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "tfplugin");
    // Terraform adds this certificate to its roots, so it must be able to act as a CA.
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = params.self_signed(&key)?;
    let cert_der = cert.der().to_vec();
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedClientCert {
        expected: client_cert.into_owned(),
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![CertificateDer::from(cert_der.clone())], key_der)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(config)), cert_der))
}

/// Accepts exactly one client certificate: the one Terraform handed over in the environment.
///
/// go-plugin's certificate is self-signed, marked as a CA and uses ECDSA P-521, so neither a
/// WebPKI chain check (it refuses CA certificates as end entities) nor `ring` (no P-521) can
/// verify it; pinning the exact certificate is stricter than a chain check anyway, and P-521
/// signatures are verified with the RustCrypto `p521` crate.
#[derive(Debug)]
struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

static P521_ONLY: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[&EcdsaP521Sha512],
    mapping: &[(SignatureScheme::ECDSA_NISTP521_SHA512, &[&EcdsaP521Sha512])],
};

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The server only speaks TLS 1.3.
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tracing::debug!(scheme = ?dss.scheme, "verifying the client's TLS signature");
        let algorithms = if dss.scheme == SignatureScheme::ECDSA_NISTP521_SHA512 {
            &P521_ONLY
        } else {
            &self.algorithms
        };
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let mut schemes = vec![SignatureScheme::ECDSA_NISTP521_SHA512];
        schemes.extend(self.algorithms.supported_schemes());
        schemes
    }
}

/// ECDSA over P-521 with SHA-512, for certificate-verify signatures.
#[derive(Debug)]
struct EcdsaP521Sha512;

impl SignatureVerificationAlgorithm for EcdsaP521Sha512 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use p521::ecdsa::signature::Verifier as _;
        let key =
            p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature =
            p521::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA512
    }
}

/// An accepted connection, with or without TLS.
enum Conn {
    Plain(UnixStream),
    Tls(Box<tokio_rustls::server::TlsStream<UnixStream>>),
}

impl Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p521_signatures_verify_and_tampering_fails() {
        use p521::ecdsa::signature::Signer as _;
        let signing = p521::ecdsa::SigningKey::from_slice(&[0x01; 66]).expect("valid scalar");
        let public = p521::ecdsa::VerifyingKey::from(&signing)
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();
        let signature: p521::ecdsa::Signature = signing.sign(b"handshake transcript");
        let der = signature.to_der();
        let alg = EcdsaP521Sha512;
        assert!(alg
            .verify_signature(&public, b"handshake transcript", der.as_bytes())
            .is_ok());
        assert!(alg
            .verify_signature(&public, b"another transcript", der.as_bytes())
            .is_err());
        assert!(alg
            .verify_signature(&public[1..], b"handshake transcript", der.as_bytes())
            .is_err());
    }

    #[test]
    fn only_the_pinned_client_certificate_is_accepted() {
        let make = || {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
            rcgen::CertificateParams::new(vec!["localhost".to_owned()])
                .expect("params")
                .self_signed(&key)
                .expect("cert")
        };
        let (pinned, other) = (make(), make());
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::engine::general_purpose::STANDARD.encode(pinned.der())
        );
        let (_, server_cert) = tls_acceptor(&pem).expect("acceptor");
        assert!(!server_cert.is_empty());
        let verifier = PinnedClientCert {
            expected: pinned.der().clone(),
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        };
        let now = UnixTime::now();
        assert!(verifier.verify_client_cert(pinned.der(), &[], now).is_ok());
        assert!(verifier.verify_client_cert(other.der(), &[], now).is_err());
        assert!(verifier
            .supported_verify_schemes()
            .contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
        assert!(matches!(
            tls_acceptor("not a certificate"),
            Err(ServeError::ClientCertificate(_))
        ));
    }
}

//! TLS for both connections, decided in one place.
//!
//! The user's `sslmode` (and `sslrootcert`) become one [`TlsPolicy`] in
//! [`ConnInfo`](super::conninfo::ConnInfo). It holds the single rustls [`ClientConfig`] that both
//! the ordinary SQL connection (tokio-postgres, through `tokio-postgres-rustls`) and our own
//! replication connection ([`super::wire`], through `tokio-rustls`) use, so the two can never
//! disagree about whether and how the server is verified.
//!
//! The modes follow libpq:
//!
//! | sslmode       | TLS                                   | certificate checked            |
//! |---------------|---------------------------------------|--------------------------------|
//! | `disable`     | never                                 | -                              |
//! | `allow`, `prefer` (default) | if the server offers it | only when `sslrootcert` is set |
//! | `require`     | always                                | only when `sslrootcert` is set (then like `verify-ca`) |
//! | `verify-ca`   | always                                | chain to `sslrootcert` or the system roots |
//! | `verify-full` | always                                | chain, and the host name       |
//!
//! `sslrootcert=system` means the operating system's trust store, and (as in libpq 16) implies
//! `verify-full`. TLS is never used over a Unix-domain socket (libpq does the same: the socket is
//! as trustworthy as the file system).
//!
//! The system roots come from `rustls-native-certs` (the OS store, `/etc/ssl/certs` on Linux,
//! honouring `SSL_CERT_FILE`/`SSL_CERT_DIR`), not a compiled-in Mozilla list: that is the store
//! libpq's `sslrootcert=system` uses, and it includes an organisation's private CAs, which is
//! where database certificates usually come from.
//!
//! SCRAM channel binding (`tls-server-end-point`, RFC 5929) is computed from the server's
//! certificate by [`tls_server_end_point`] for our connection and by `tokio-postgres-rustls` for
//! the SQL connection, and is used the way tokio-postgres does (`channel_binding=prefer` by
//! default, `require` and `disable` honoured).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::SetupError;

/// The user's `sslmode`, as libpq spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    Allow,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(value: &str) -> Result<SslMode, SetupError> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(SetupError::new(format!(
                    "invalid sslmode {other:?} in the source URL: use disable, allow, prefer, \
                     require, verify-ca or verify-full"
                )))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// TLS or fail (as opposed to "TLS if the server offers it").
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }
}

/// Where the trusted root certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// `sslrootcert=system`, or verify-ca/verify-full without `sslrootcert`.
    System,
    /// `sslrootcert=<PEM file>`.
    File(PathBuf),
}

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Nothing (libpq's `require` and `prefer` without a root certificate). The handshake
    /// signature is still checked against the presented certificate, which is what makes SCRAM
    /// channel binding meaningful.
    None,
    /// The chain up to a trusted root, not the host name.
    Ca,
    /// The chain and the host name.
    Full,
}

/// What the user asked for, parsed once; both connections use it.
#[derive(Clone)]
pub struct TlsPolicy {
    pub mode: SslMode,
    pub root_cert: Option<RootCert>,
    pub verification: Verification,
    /// `sslnegotiation=direct`: start TLS at once (PostgreSQL 17+) instead of an SSLRequest.
    pub direct: bool,
    /// `None` when `sslmode=disable`.
    config: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for TlsPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsPolicy")
            .field("mode", &self.mode)
            .field("root_cert", &self.root_cert)
            .field("verification", &self.verification)
            .field("direct", &self.direct)
            .finish_non_exhaustive()
    }
}

impl TlsPolicy {
    /// Builds the policy, and the TLS client configuration with its trusted roots (so a missing
    /// or unreadable `sslrootcert` is reported before anything connects).
    ///
    /// `mode` is `None` when the URL has no `sslmode` (libpq's default is `prefer`, or
    /// `verify-full` with `sslrootcert=system`).
    pub fn new(
        mode: Option<SslMode>,
        root_cert: Option<&str>,
        direct: bool,
    ) -> Result<TlsPolicy, SetupError> {
        let root_cert = match root_cert {
            None | Some("") => None,
            Some("system") => Some(RootCert::System),
            Some(path) => Some(RootCert::File(PathBuf::from(path))),
        };
        let mode = match (mode, &root_cert) {
            (Some(mode), Some(RootCert::System)) if mode != SslMode::VerifyFull => {
                return Err(SetupError::new(format!(
                    "weak sslmode {:?} may not be used with sslrootcert=system: use \
                     sslmode=verify-full, or give sslrootcert a CA file",
                    mode.as_str()
                )))
            }
            (None, Some(RootCert::System)) => SslMode::VerifyFull,
            (mode, _) => mode.unwrap_or_default(),
        };
        if direct && !mode.requires_tls() && mode != SslMode::Disable {
            return Err(SetupError::new(format!(
                "weak sslmode {:?} may not be used with sslnegotiation=direct: use \
                 sslmode=require or stronger",
                mode.as_str()
            )));
        }
        let verification = match mode {
            SslMode::Disable => Verification::None,
            SslMode::VerifyFull => Verification::Full,
            SslMode::VerifyCa => Verification::Ca,
            // libpq: with a root certificate, allow/prefer/require check the chain too.
            SslMode::Allow | SslMode::Prefer | SslMode::Require if root_cert.is_some() => {
                Verification::Ca
            }
            SslMode::Allow | SslMode::Prefer | SslMode::Require => Verification::None,
        };
        let root_cert = match (verification, root_cert) {
            (Verification::None, _) => None,
            (_, None) => Some(RootCert::System),
            (_, Some(r)) => Some(r),
        };
        let config = match mode {
            SslMode::Disable => None,
            _ => Some(client_config(verification, root_cert.as_ref())?),
        };
        Ok(TlsPolicy {
            mode,
            root_cert,
            verification,
            direct: direct && mode != SslMode::Disable,
            config,
        })
    }

    /// The rustls configuration both connections use; `None` for `sslmode=disable`.
    pub fn client_config(&self) -> Option<&Arc<ClientConfig>> {
        self.config.as_ref()
    }

    /// The error for a server that answered our SSLRequest with "no".
    pub fn server_refused(&self, server: &dyn std::fmt::Display) -> SetupError {
        SetupError::new(format!(
            "the server at {server} does not support TLS but sslmode={}: enable TLS on the server \
             (ssl = on, with ssl_cert_file and ssl_key_file, in postgresql.conf) or use \
             sslmode=prefer or disable in the source URL",
            self.mode.as_str()
        ))
    }
}

/// The one place that builds a rustls client configuration: the ring provider, TLS 1.2 and 1.3,
/// the verifier `verification` asks for, no client certificate, ALPN `postgresql` (which
/// PostgreSQL 17 requires for direct TLS and older servers ignore).
pub fn client_config(
    verification: Verification,
    root_cert: Option<&RootCert>,
) -> Result<Arc<ClientConfig>, SetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError::new(format!("TLS setup failed: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match verification {
        Verification::None => Arc::new(NoCertificateCheck { provider }),
        Verification::Ca | Verification::Full => {
            let roots = load_roots(root_cert.unwrap_or(&RootCert::System))?;
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| SetupError::new(format!("TLS setup failed: {e}")))?;
            if verification == Verification::Full {
                webpki
            } else {
                Arc::new(ChainOnly { inner: webpki })
            }
        }
    };
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Arc::new(config))
}

fn load_roots(root_cert: &RootCert) -> Result<RootCertStore, SetupError> {
    let mut roots = RootCertStore::empty();
    match root_cert {
        RootCert::File(path) => {
            let certs = read_pem_certs(path)?;
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    SetupError::new(format!(
                        "sslrootcert file {} holds a certificate that cannot be used as a root \
                         ({e}): give sslrootcert the PEM file of the CA that signed the server's \
                         certificate",
                        path.display()
                    ))
                })?;
            }
        }
        RootCert::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                return Err(SetupError::new(format!(
                    "no system root certificates found{why} to verify the server with: set \
                     sslrootcert=<CA file> in the source URL, install the system CA bundle \
                     (ca-certificates), or use sslmode=require to skip verification"
                )));
            }
        }
    }
    Ok(roots)
}

fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, SetupError> {
    let bad = |why: String| {
        SetupError::new(format!(
            "cannot read sslrootcert file {}: {why}; give sslrootcert the path of a PEM file with \
             the CA certificate that signed the server's certificate",
            path.display()
        ))
    };
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::Io(io) => bad(io.to_string()),
        other => bad(other.to_string()),
    })?;
    let certs = iter
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("it holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// `sslmode=require` (and `prefer`) without a root certificate: any certificate is accepted, as
/// libpq does; the handshake signatures are still verified with the presented key.
#[derive(Debug)]
struct NoCertificateCheck {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for NoCertificateCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `verify-ca`: the WebPKI verifier, minus the host-name check. rustls checks the chain before
/// the name, so a name error means the chain was good.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A TLS stream over `S`, with the `tls-server-end-point` channel-binding data of the server's
/// certificate when it has one.
pub struct Established<S> {
    pub stream: tokio_rustls::client::TlsStream<S>,
    pub server_end_point: Option<Vec<u8>>,
}

/// Runs the TLS handshake on `stream` (after the server accepted our SSLRequest, or at once with
/// direct negotiation) for the server named `host`. Certificate problems become a one-line
/// [`SetupError`]; I/O failures stay I/O errors.
pub async fn handshake<S>(
    stream: S,
    host: &str,
    server: &dyn std::fmt::Display,
    policy: &TlsPolicy,
) -> Result<Established<S>, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(config) = policy.client_config() else {
        return Err(SetupError::new("TLS requested with sslmode=disable (a bug)").into());
    };
    let name = ServerName::try_from(host.to_string()).map_err(|e| {
        SetupError::new(format!(
            "cannot use host {host:?} as a TLS server name ({e}): use a DNS name or an IP address \
             as the host in the source URL"
        ))
    })?;
    let stream = tokio_rustls::TlsConnector::from(config.clone())
        .connect(name, stream)
        .await
        .map_err(|e| match describe_io(&e, policy, server) {
            Some(message) => HandshakeError::Setup(SetupError::new(message)),
            None => HandshakeError::Io(e),
        })?;
    let server_end_point = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(|cert| tls_server_end_point(cert));
    Ok(Established {
        stream,
        server_end_point,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("TLS handshake: {0}")]
    Io(#[from] std::io::Error),
}

/// The `tls-server-end-point` channel-binding data (RFC 5929 section 4.1): the certificate hashed
/// with the hash of its signature algorithm, SHA-256 for MD5 and SHA-1. `None` for algorithms
/// without a single hash (Ed25519, RSA-PSS), for which PostgreSQL cannot bind either.
pub fn tls_server_end_point(cert: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    use x509_cert::der::oid::db::rfc5912::{
        ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, MD_5_WITH_RSA_ENCRYPTION,
        SHA_1_WITH_RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
        SHA_512_WITH_RSA_ENCRYPTION,
    };
    use x509_cert::der::oid::ObjectIdentifier;
    use x509_cert::der::Decode;
    // ecdsa-with-SHA1 (RFC 5758 names only the SHA-2 ones).
    const ECDSA_WITH_SHA_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");

    let parsed = x509_cert::Certificate::from_der(cert).ok()?;
    let oid = parsed.signature_algorithm.oid;
    if [
        MD_5_WITH_RSA_ENCRYPTION,
        SHA_1_WITH_RSA_ENCRYPTION,
        ECDSA_WITH_SHA_1,
        SHA_256_WITH_RSA_ENCRYPTION,
        ECDSA_WITH_SHA_256,
    ]
    .contains(&oid)
    {
        Some(sha2::Sha256::digest(cert).to_vec())
    } else if [SHA_384_WITH_RSA_ENCRYPTION, ECDSA_WITH_SHA_384].contains(&oid) {
        Some(sha2::Sha384::digest(cert).to_vec())
    } else if [SHA_512_WITH_RSA_ENCRYPTION, ECDSA_WITH_SHA_512].contains(&oid) {
        Some(sha2::Sha512::digest(cert).to_vec())
    } else {
        None
    }
}

/// The error for `channel_binding=require` when the server did not bind (no TLS, or an
/// authentication method other than SCRAM-SHA-256-PLUS).
pub fn channel_binding_required(server: &dyn std::fmt::Display) -> SetupError {
    SetupError::new(format!(
        "the server at {server} did not use channel binding but the source URL says \
         channel_binding=require: connect over TLS (sslmode=require or stronger) to a server that \
         authenticates with scram-sha-256, or remove channel_binding=require"
    ))
}

/// Finds a rustls error behind `err` (tokio-postgres wraps it in an `io::Error` in a boxed error;
/// `io::Error::source` skips the boxed error itself, so look at `get_ref` too).
pub fn find_rustls_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut next: Option<&'a (dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(r) = find_rustls_error(inner) {
                    return Some(r);
                }
            }
        }
        next = e.source();
    }
    None
}

fn describe_io(
    err: &std::io::Error,
    policy: &TlsPolicy,
    server: &dyn std::fmt::Display,
) -> Option<String> {
    find_rustls_error(err).map(|e| describe(e, policy, server))
}

/// One line for a TLS failure, naming what is wrong and what to change.
pub fn describe(err: &rustls::Error, policy: &TlsPolicy, server: &dyn std::fmt::Display) -> String {
    let mode = policy.mode.as_str();
    let roots = match &policy.root_cert {
        Some(RootCert::File(p)) => format!("the CA in sslrootcert={}", p.display()),
        _ => "the system's root certificates".to_string(),
    };
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            // BadSignature: a root of the same name, but not the key that signed it.
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "TLS certificate verification failed for {server}: the server's certificate is \
                 not signed by {roots} (sslmode={mode}); set sslrootcert=<CA file> in the source \
                 URL to the CA that signed it, or use sslmode=require to encrypt without \
                 verifying"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                let presented = match cert {
                    CertificateError::NotValidForNameContext { presented, .. }
                        if !presented.is_empty() =>
                    {
                        format!(" (it names {})", presented.join(", "))
                    }
                    _ => String::new(),
                };
                format!(
                    "TLS certificate verification failed for {server}: the server's certificate \
                     is not valid for that host name{presented} (sslmode=verify-full checks it); \
                     connect using a host name the certificate names, or use sslmode=verify-ca"
                )
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => format!(
                "TLS certificate verification failed for {server}: the server's certificate is \
                 expired or not yet valid (sslmode={mode}); renew the server's certificate or \
                 check this machine's clock"
            ),
            other => format!(
                "TLS certificate verification failed for {server}: {other:?} (sslmode={mode}, \
                 roots: {roots}); fix the server's certificate or sslrootcert, or use \
                 sslmode=require to encrypt without verifying"
            ),
        },
        rustls::Error::AlertReceived(alert) => format!(
            "TLS handshake with {server} failed: the server sent alert {alert:?}; check the \
             server's ssl settings (ssl_min_protocol_version, ssl_ciphers) or use sslmode=disable"
        ),
        other => format!(
            "TLS handshake with {server} failed: {other}; check the server's ssl settings or \
             use sslmode=disable"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_verification() {
        let p = TlsPolicy::new(None, None, false).unwrap();
        assert_eq!(p.mode, SslMode::Prefer);
        assert_eq!(p.verification, Verification::None);
        assert!(p.client_config().is_some());

        let p = TlsPolicy::new(Some(SslMode::Disable), None, false).unwrap();
        assert!(p.client_config().is_none());
        assert!(!p.direct);

        let p = TlsPolicy::new(Some(SslMode::Require), None, false).unwrap();
        assert_eq!(p.verification, Verification::None);
        assert_eq!(p.root_cert, None);
        assert!(p.mode.requires_tls());
    }

    #[test]
    fn sslrootcert_system_means_verify_full() {
        // Building the config needs system roots; skip the build when the machine has none.
        match TlsPolicy::new(None, Some("system"), false) {
            Ok(p) => {
                assert_eq!(p.mode, SslMode::VerifyFull);
                assert_eq!(p.root_cert, Some(RootCert::System));
            }
            Err(e) => assert!(e.to_string().contains("no system root"), "{e}"),
        }
        let e = TlsPolicy::new(Some(SslMode::Require), Some("system"), false).unwrap_err();
        assert!(e.to_string().contains("sslrootcert=system"), "{e}");
    }

    #[test]
    fn missing_root_file_is_one_line() {
        let e = TlsPolicy::new(
            Some(SslMode::VerifyFull),
            Some("/nonexistent/root.crt"),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("sslrootcert") && e.contains("/nonexistent/root.crt"),
            "{e}"
        );
        assert!(!e.contains('\n'));
    }

    #[test]
    fn require_with_root_file_checks_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = TlsPolicy::new(Some(SslMode::Require), empty.to_str(), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
    }

    #[test]
    fn direct_needs_require() {
        let e = TlsPolicy::new(Some(SslMode::Prefer), None, true).unwrap_err();
        assert!(e.to_string().contains("sslnegotiation=direct"), "{e}");
        assert!(
            TlsPolicy::new(Some(SslMode::Require), None, true)
                .unwrap()
                .direct
        );
    }
}

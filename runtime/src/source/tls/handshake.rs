//! The TLS handshake of our replication connection, and the SCRAM channel-binding data it
//! yields.

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};

use super::errors::describe_io;
use super::policy::TlsPolicy;
use crate::error::SetupError;

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

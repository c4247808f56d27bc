//! The rustls client configuration: trusted roots, and the certificate verifiers for each
//! [`Verification`] level.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::policy::{RootCert, Verification};
use crate::error::SetupError;

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
        Verification::None => Arc::new(Relaxed {
            provider,
            chain: None,
        }),
        Verification::Ca | Verification::Full => {
            let roots = load_roots(root_cert.unwrap_or(&RootCert::System))?;
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| SetupError::new(format!("TLS setup failed: {e}")))?;
            if verification == Verification::Full {
                webpki
            } else {
                Arc::new(Relaxed {
                    provider,
                    chain: Some(webpki),
                })
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

/// The two relaxed verifiers. Without `chain` (`sslmode=require`, and `prefer`): any certificate
/// is accepted, as libpq does. With `chain` (`verify-ca`): the WebPKI verifier, minus the
/// host-name check; rustls checks the chain before the name, so a name error means the chain was
/// good. Either way the handshake signatures are still verified with the presented key, by the
/// provider's algorithms (the ones the WebPKI verifier was built with).
#[derive(Debug)]
struct Relaxed {
    provider: Arc<CryptoProvider>,
    chain: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
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

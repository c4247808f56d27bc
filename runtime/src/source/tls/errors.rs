//! TLS failures, on either connection, as one line that says what to change.

use rustls::CertificateError;

use super::policy::{RootCert, TlsPolicy};

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

pub(super) fn describe_io(
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

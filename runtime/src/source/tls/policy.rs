//! What the user asked for: `sslmode`, `sslrootcert` and `sslnegotiation`, parsed once into
//! the [`TlsPolicy`] both connections use.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ClientConfig;

use super::config::client_config;
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

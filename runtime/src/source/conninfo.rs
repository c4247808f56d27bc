//! What the user's connection URL says, in the form both our connections need.

use std::path::PathBuf;
use std::time::Duration;

use tokio_postgres::config::{Host, SslNegotiation};

use super::tls::{SslMode, TlsPolicy};
use crate::error::SetupError;

/// Where and how to connect, parsed once from the user's ordinary `postgres://` URL (or key=value
/// string). The same parse feeds tokio-postgres (ordinary SQL) and our replication transport, so
/// the two connections can never disagree about host, user or TLS.
#[derive(Clone)]
pub struct ConnInfo {
    /// For tokio-postgres. Its `sslmode` is set from [`ConnInfo::tls`]: `require` for
    /// `require`/`verify-ca`/`verify-full` (the verification is done by the TLS configuration),
    /// `disable` over a Unix-domain socket.
    pub config: tokio_postgres::Config,
    pub endpoint: Endpoint,
    pub user: String,
    pub password: Option<Vec<u8>>,
    pub dbname: String,
    /// `sslmode`, `sslrootcert` and the TLS client configuration, for both connections.
    pub tls: TlsPolicy,
    pub connect_timeout: Duration,
}

#[derive(Clone, Debug)]
pub enum Endpoint {
    Tcp { host: String, port: u16 },
    Unix { socket: PathBuf },
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
            Endpoint::Unix { socket } => write!(f, "{}", socket.display()),
        }
    }
}

impl std::fmt::Debug for ConnInfo {
    // Hand-written so that a password never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnInfo")
            .field("endpoint", &self.endpoint)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl ConnInfo {
    pub fn parse(url: &str) -> Result<ConnInfo, SetupError> {
        // tokio-postgres knows only disable/prefer/require and no sslrootcert: take the TLS
        // parameters out, decide TLS here, and tell tokio-postgres the outcome.
        if url.trim().is_empty() {
            return Err(SetupError::new(format!(
                "the source URL is empty: expected e.g. {EXAMPLE_URL}"
            )));
        }
        let (url, tls_params) = split_tls_params(url)?;
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| SetupError::new(describe_url_error(&url, &e)))?;
        if config.get_user().is_none() {
            let user = std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "postgres".to_string());
            config.user(&user);
        }
        let user = config.get_user().unwrap_or("postgres").to_string();
        let dbname = config.get_dbname().unwrap_or(&user).to_string();
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let endpoint = match config.get_hosts().first() {
            Some(Host::Tcp(host)) => Endpoint::Tcp {
                host: host.clone(),
                port,
            },
            Some(Host::Unix(dir)) => Endpoint::Unix {
                socket: dir.join(format!(".s.PGSQL.{port}")),
            },
            None => Endpoint::Tcp {
                host: "localhost".to_string(),
                port,
            },
        };
        if matches!(endpoint, Endpoint::Tcp { .. }) && config.get_hosts().is_empty() {
            config.host("localhost");
        }
        let mode = tls_params
            .sslmode
            .as_deref()
            .map(SslMode::parse)
            .transpose()?;
        let direct = config.get_ssl_negotiation() == SslNegotiation::Direct;
        let tls = TlsPolicy::new(mode, tls_params.sslrootcert.as_deref(), direct)?;
        // libpq never uses TLS over a Unix-domain socket, whatever sslmode says.
        let all_unix = config
            .get_hosts()
            .iter()
            .all(|h| !matches!(h, Host::Tcp(_)));
        config.ssl_mode(match tls.mode {
            _ if all_unix => tokio_postgres::config::SslMode::Disable,
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Allow | SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        Ok(ConnInfo {
            password: config.get_password().map(<[u8]>::to_vec),
            connect_timeout: config
                .get_connect_timeout()
                .copied()
                .unwrap_or(Duration::from_secs(10)),
            config,
            endpoint,
            user,
            dbname,
            tls,
        })
    }

    /// Whether connections to `endpoint` use TLS at all (never over a Unix-domain socket).
    pub fn tls_for(&self, endpoint: &Endpoint) -> Option<&TlsPolicy> {
        match endpoint {
            Endpoint::Tcp { .. } if self.tls.client_config().is_some() => Some(&self.tls),
            _ => None,
        }
    }
}

const EXAMPLE_URL: &str = "postgres://user:password@host:5432/dbname";

/// Why tokio-postgres could not parse the source, in one line that never repeats a password: what
/// is wrong (not a URL, another scheme, a bad port, a bad option) and what a good one looks like.
fn describe_url_error(url: &str, e: &tokio_postgres::Error) -> String {
    let url = url.trim();
    let is_postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !is_postgres {
        if let Some((scheme, _)) = url.split_once("://") {
            if !scheme.is_empty() && !scheme.contains(char::is_whitespace) && !scheme.contains('=')
            {
                return format!(
                    "invalid source URL: unknown scheme \"{scheme}://\"; use postgres:// or \
                     postgresql://, e.g. {EXAMPLE_URL}"
                );
            }
        }
        if !url.contains('=') {
            return format!(
                "invalid source URL: it is neither a postgres:// URL nor key=value settings; \
                 expected e.g. {EXAMPLE_URL}"
            );
        }
    }
    if let Some(port) = bad_port(url, is_postgres) {
        return format!(
            "invalid source URL: port {port:?} is not a number from 1 to 65535; expected e.g. \
             {EXAMPLE_URL}"
        );
    }
    // tokio-postgres says only "invalid connection string"; the reason is its source.
    let reason = std::error::Error::source(e)
        .map(|s| s.to_string())
        .unwrap_or_else(|| e.to_string());
    format!("invalid source URL: {reason}; expected e.g. {EXAMPLE_URL}")
}

/// The first port of the source that is not 1-65535: in the host part of a postgres:// URL, or a
/// `port` setting (in a URL's query or a key=value string).
fn bad_port(url: &str, is_postgres: bool) -> Option<String> {
    let bad = |p: &str| !matches!(p.parse::<u16>(), Ok(n) if n > 0);
    let settings = if is_postgres {
        let rest = &url[url.find("://")? + 3..];
        // Credentials end at the first '@' (as tokio-postgres reads them).
        let rest = rest.split_once('@').map(|(_, r)| r).unwrap_or(rest);
        let hosts = rest.split(['/', '?']).next().unwrap_or("");
        for chunk in hosts.split(',') {
            let port = match chunk.strip_prefix('[') {
                Some(v6) => v6.split_once("]:").map(|(_, p)| p),
                None => chunk.split_once(':').map(|(_, p)| p),
            };
            if let Some(port) = port.filter(|p| bad(p)) {
                return Some(port.to_string());
            }
        }
        rest.split_once('?').map(|(_, q)| q).unwrap_or("")
    } else {
        url
    };
    settings
        .split(['&', ' '])
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| k.trim() == "port")
        .flat_map(|(_, v)| v.trim_matches('\'').split(','))
        .find(|p| bad(p))
        .map(str::to_string)
}

/// The TLS parameters taken out of the user's URL before tokio-postgres parses it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TlsParams {
    /// `sslmode`, as written (the last one wins, as in libpq).
    pub sslmode: Option<String>,
    /// `sslrootcert`: a PEM file path, or `system`.
    pub sslrootcert: Option<String>,
}

/// libpq parameters we do not support, with what to do instead.
const UNSUPPORTED: &[&str] = &[
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcrl",
    "sslcrldir",
    "sslcertmode",
];

/// Removes `sslmode` and `sslrootcert` from a `postgres://` URL or a `key=value` string, and
/// returns the rest (for tokio-postgres) and what was removed. Everything else is kept
/// byte-for-byte; a string we cannot split is returned unchanged, for tokio-postgres to report.
pub fn split_tls_params(url: &str) -> Result<(String, TlsParams), SetupError> {
    let mut params = TlsParams::default();
    let mut take = |key: &str, value: String| -> Result<bool, SetupError> {
        match key {
            "sslmode" => params.sslmode = Some(value),
            "sslrootcert" => params.sslrootcert = Some(value),
            k if UNSUPPORTED.contains(&k) => {
                return Err(SetupError::new(format!(
                    "{k} in the source URL is not supported: client certificates and CRLs are \
                     not implemented; authenticate with a password (SCRAM) over \
                     sslmode=verify-full instead"
                )))
            }
            _ => return Ok(false),
        }
        Ok(true)
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // tokio-postgres reads the credentials up to the first '@', so a '?' in a password
        // does not start the query.
        let after_at = url.find('@').map(|i| i + 1).unwrap_or(0);
        let Some(q) = url[after_at..].find('?').map(|i| after_at + i) else {
            return Ok((url.to_string(), params));
        };
        let mut kept: Vec<&str> = Vec::new();
        for pair in url[q + 1..].split('&') {
            let Some((k, v)) = pair.split_once('=') else {
                kept.push(pair);
                continue;
            };
            let (Some(key), Some(value)) = (percent_decode(k), percent_decode(v)) else {
                kept.push(pair);
                continue;
            };
            if !take(&key, value)? {
                kept.push(pair);
            }
        }
        let mut out = url[..q].to_string();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
        return Ok((out, params));
    }
    let Some(pairs) = split_key_values(url) else {
        return Ok((url.to_string(), params));
    };
    let mut kept: Vec<&str> = Vec::new();
    for (key, value, raw) in pairs {
        if !take(key, value)? {
            kept.push(raw);
        }
    }
    Ok((kept.join(" "), params))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            match u8::from_str_radix(hex, 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            }
        } else {
            out.push(bytes[i]);
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Splits a libpq `key=value` string the way tokio-postgres reads it (whitespace-separated,
/// values optionally single-quoted, backslash escapes): `(key, value, raw text of the pair)`.
fn split_key_values(s: &str) -> Option<Vec<(&str, String, &str)>> {
    let mut out = Vec::new();
    let mut it = s.char_indices().peekable();
    loop {
        while it.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = it.peek() else {
            return Some(out);
        };
        let mut key_end = start;
        while let Some((i, c)) = it.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
            key_end = i + c.len_utf8();
        }
        if key_end == start {
            return None;
        }
        while it.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        it.next_if(|(_, c)| *c == '=')?;
        while it.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        let end;
        if it.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match it.next()? {
                    (i, '\'') => {
                        end = i + 1;
                        break;
                    }
                    (_, '\\') => value.push(it.next()?.1),
                    (_, c) => value.push(c),
                }
            }
        } else {
            let mut last = None;
            while let Some((i, c)) = it.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some((j, c2)) = it.next() {
                        value.push(c2);
                        last = Some(j + c2.len_utf8());
                    }
                } else {
                    value.push(c);
                    last = Some(i + c.len_utf8());
                }
            }
            end = last?;
        }
        out.push((&s[start..key_end], value, &s[start..end]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (String, TlsParams) {
        split_tls_params(url).unwrap()
    }

    fn params(sslmode: Option<&str>, sslrootcert: Option<&str>) -> TlsParams {
        TlsParams {
            sslmode: sslmode.map(str::to_string),
            sslrootcert: sslrootcert.map(str::to_string),
        }
    }

    #[test]
    fn url_without_tls_params_is_unchanged() {
        for url in [
            "postgres://u:p@h:5432/db",
            "postgres://u:p@h/db?connect_timeout=5&application_name=x",
            "postgresql://h/db?channel_binding=require",
        ] {
            assert_eq!(split(url), (url.to_string(), TlsParams::default()), "{url}");
        }
    }

    #[test]
    fn url_tls_params_are_taken_out() {
        assert_eq!(
            split("postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca%20x.pem"),
            (
                "postgres://u@h/db".to_string(),
                params(Some("verify-full"), Some("/tmp/ca x.pem"))
            )
        );
        assert_eq!(
            split("postgres://u@h/db?connect_timeout=5&sslmode=verify-ca&application_name=a%26b"),
            (
                "postgres://u@h/db?connect_timeout=5&application_name=a%26b".to_string(),
                params(Some("verify-ca"), None)
            )
        );
        // The last sslmode wins, as in libpq.
        assert_eq!(
            split("postgresql://h?sslmode=disable&sslmode=require").1,
            params(Some("require"), None)
        );
        // A '?' in the password is not the query.
        assert_eq!(
            split("postgres://u:pa?ss@h/db?sslmode=require"),
            (
                "postgres://u:pa?ss@h/db".to_string(),
                params(Some("require"), None)
            )
        );
    }

    #[test]
    fn key_value_tls_params_are_taken_out() {
        assert_eq!(
            split("host=h port=5 sslmode=verify-full sslrootcert='/tmp/my ca.pem' dbname=d"),
            (
                "host=h port=5 dbname=d".to_string(),
                params(Some("verify-full"), Some("/tmp/my ca.pem"))
            )
        );
        assert_eq!(
            split("host=h  sslmode = require   password='it\\'s' user=a\\ b"),
            (
                "host=h password='it\\'s' user=a\\ b".to_string(),
                params(Some("require"), None)
            )
        );
        assert_eq!(
            split("sslrootcert=/a\\ b.pem").1,
            params(None, Some("/a b.pem"))
        );
        // Something we cannot split goes to tokio-postgres as it is, to report.
        assert_eq!(split("host=h sslmode").0, "host=h sslmode");
    }

    #[test]
    fn client_certificates_are_refused_with_a_reason() {
        let e = split_tls_params("postgres://h/db?sslcert=/c.pem").unwrap_err();
        assert!(e.to_string().contains("sslcert"), "{e}");
        let e = split_tls_params("host=h sslkey=/k.pem").unwrap_err();
        assert!(e.to_string().contains("sslkey"), "{e}");
    }

    #[test]
    fn parse_sets_the_mode_for_tokio_postgres() {
        use tokio_postgres::config::SslMode as PgMode;
        let c = ConnInfo::parse("postgres://u@h/db").unwrap();
        assert_eq!(c.tls.mode, SslMode::Prefer);
        assert_eq!(c.config.get_ssl_mode(), PgMode::Prefer);

        let c = ConnInfo::parse("postgres://u@h/db?sslmode=disable").unwrap();
        assert_eq!(c.config.get_ssl_mode(), PgMode::Disable);
        assert!(c.tls_for(&c.endpoint).is_none());

        let c = ConnInfo::parse("postgres://u@h/db?sslmode=require").unwrap();
        assert_eq!(c.tls.mode, SslMode::Require);
        assert_eq!(c.config.get_ssl_mode(), PgMode::Require);
        assert!(c.tls_for(&c.endpoint).is_some());

        // Over a Unix-domain socket there is no TLS, as in libpq.
        let c = ConnInfo::parse("host=/tmp user=u sslmode=require").unwrap();
        assert_eq!(c.config.get_ssl_mode(), PgMode::Disable);
        assert!(c.tls_for(&c.endpoint).is_none());
    }

    #[test]
    fn parse_reports_bad_tls_params_in_one_line() {
        let e = ConnInfo::parse("postgres://u@h/db?sslmode=verify").unwrap_err();
        assert!(e.to_string().contains("invalid sslmode"), "{e}");
        let e = ConnInfo::parse("postgres://u@h/db?sslmode=verify-full&sslrootcert=/no/such.pem")
            .unwrap_err();
        assert!(e.to_string().contains("/no/such.pem"), "{e}");
        let e =
            ConnInfo::parse("postgres://u@h/db?sslmode=prefer&sslnegotiation=direct").unwrap_err();
        assert!(e.to_string().contains("sslnegotiation=direct"), "{e}");
    }

    #[test]
    fn parse_says_what_is_wrong_with_a_bad_url() {
        let msg = |url: &str| ConnInfo::parse(url).unwrap_err().to_string();
        assert!(msg("").contains("the source URL is empty"));
        assert!(msg("not a url").contains("neither a postgres:// URL nor key=value settings"));
        assert!(msg("mysql://u:secret@h/db").contains("unknown scheme \"mysql://\""));
        assert!(!msg("mysql://u:secret@h/db").contains("secret"));
        assert!(msg("postgres://u:p@h:99999/db").contains("port \"99999\" is not a number"));
        assert!(msg("postgres://u@[::1]:x/db").contains("port \"x\""));
        assert!(msg("host=h port=abc").contains("port \"abc\""));
        assert!(msg("postgres://u@h/db?connect_timeout=x")
            .contains("invalid value for option `connect_timeout`"));
    }
}

//! What the user's connection URL says, in the form both our connections need.

use std::path::PathBuf;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};

use crate::error::SetupError;

/// Where and how to connect, parsed once from the user's ordinary `postgres://` URL (or key=value
/// string). The same parse feeds tokio-postgres (ordinary SQL) and our replication transport, so
/// the two connections can never disagree about host, user or TLS.
#[derive(Clone)]
pub struct ConnInfo {
    pub config: tokio_postgres::Config,
    pub endpoint: Endpoint,
    pub user: String,
    pub password: Option<Vec<u8>>,
    pub dbname: String,
    pub ssl_mode: SslMode,
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
            .finish_non_exhaustive()
    }
}

impl ConnInfo {
    pub fn parse(url: &str) -> Result<ConnInfo, SetupError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            SetupError::new(format!(
                "invalid source URL: {e}; expected e.g. postgres://user:password@host:5432/dbname"
            ))
        })?;
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
        let ssl_mode = config.get_ssl_mode();
        if ssl_mode == SslMode::Require {
            return Err(SetupError::new(
                "sslmode=require is not supported yet: this build has no TLS; connect over a \
                 trusted network or a unix socket with sslmode=disable or prefer",
            ));
        }
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
            ssl_mode,
        })
    }
}

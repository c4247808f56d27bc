//! The ordinary SQL connection (tokio-postgres) used for catalog queries and setup, and its
//! refusals as one line that says what to change.

use rustls::ClientConfig;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::SetupError;
use crate::source::conninfo::ConnInfo;
use crate::source::tls;

/// Opens an ordinary SQL connection (tokio-postgres) for catalog queries and setup, with TLS as
/// the source URL's `sslmode` says (the same rustls configuration as the replication
/// connection; `info.config` already carries the matching tokio-postgres `sslmode`).
pub async fn connect_sql(info: &ConnInfo) -> Result<Client, SetupError> {
    let client = match info.tls.client_config() {
        None => {
            let (client, connection) = info
                .config
                .connect(NoTls)
                .await
                .map_err(|e| connect_error(info, &e))?;
            spawn_connection(connection);
            client
        }
        Some(tls) => {
            let (client, connection) = info
                .config
                .connect(MakeRustlsConnect::new(ClientConfig::clone(tls)))
                .await
                .map_err(|e| connect_error(info, &e))?;
            spawn_connection(connection);
            client
        }
    };
    Ok(client)
}

fn spawn_connection<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("SQL connection closed: {e}");
        }
    });
}

fn connect_error(info: &ConnInfo, e: &tokio_postgres::Error) -> SetupError {
    if let Some(rustls_error) = tls::find_rustls_error(e) {
        return SetupError::new(tls::describe(rustls_error, &info.tls, &info.endpoint));
    }
    let source = std::error::Error::source(e).map(|s| s.to_string());
    if source.as_deref() == Some("server does not support TLS") {
        return info.tls.server_refused(&info.endpoint);
    }
    if source.as_deref() == Some("server did not use channel binding") {
        return tls::channel_binding_required(&info.endpoint);
    }
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::INVALID_PASSWORD
            || *db.code() == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            return SetupError::new(format!(
                "authentication failed for user {:?} at {}: {}; check the user and password in \
                 the source URL and the server's pg_hba.conf",
                info.user,
                info.endpoint,
                db.message()
            ));
        }
        if *db.code() == SqlState::INVALID_CATALOG_NAME {
            return SetupError::new(format!(
                "database {:?} does not exist on {}: fix the database name in the source URL",
                info.dbname, info.endpoint
            ));
        }
        return SetupError::new(format!(
            "PostgreSQL at {} refused the connection: {}",
            info.endpoint,
            db.message()
        ));
    }
    let text = e.to_string();
    // tokio-postgres says "invalid configuration" with the reason as the source.
    if text.contains("password missing") || source.as_deref() == Some("password missing") {
        return SetupError::new(format!(
            "authentication failed for user {:?} at {}: the server asks for a password; put it in \
             the source URL (postgres://user:password@host/db)",
            info.user, info.endpoint
        ));
    }
    SetupError::new(format!(
        "could not connect to PostgreSQL at {}: {}; check that the server is running and the host \
         and port in the source URL are right",
        info.endpoint,
        std::error::Error::source(e)
            .map(|s| s.to_string())
            .unwrap_or(text)
    ))
}

pub(crate) fn sql_error(what: &str, e: tokio_postgres::Error) -> SetupError {
    let detail = e
        .as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| e.to_string());
    SetupError::new(format!("{what}: {detail}"))
}

//! Before streaming: check the server can do logical replication for us, and make sure the
//! publication and the slot exist. Every failure here is a one-line [`SetupError`] that says what
//! to change.

use rustls::ClientConfig;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::conninfo::ConnInfo;
use super::tls;
use crate::assemble::TypeRegistry;
use crate::checkpoint::{PositionStore, StreamId};
use crate::error::SetupError;
use crate::event::Lsn;

/// What to stream: names from the command line or the config file.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    pub slot: String,
    pub publication: String,
    /// Tables for a publication we create; empty means all tables.
    pub tables: Vec<String>,
}

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

fn sql_error(what: &str, e: tokio_postgres::Error) -> SetupError {
    let detail = e
        .as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| e.to_string());
    SetupError::new(format!("{what}: {detail}"))
}

/// Checks the server, the role and the tables, without changing anything.
pub async fn preflight(
    client: &Client,
    info: &ConnInfo,
    spec: &StreamSpec,
) -> Result<(), SetupError> {
    let wal_level: String = client
        .query_one("SHOW wal_level", &[])
        .await
        .map_err(|e| sql_error("reading wal_level", e))?
        .get(0);
    if wal_level != "logical" {
        return Err(SetupError::new(format!(
            "the server's wal_level is '{wal_level}' but logical replication needs 'logical': run \
             ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL"
        )));
    }
    let can_replicate: bool = client
        .query_one(
            "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .map_err(|e| sql_error("reading the role's attributes", e))?
        .get(0);
    if !can_replicate {
        return Err(SetupError::new(format!(
            "role {:?} lacks the REPLICATION attribute: run ALTER ROLE {} WITH REPLICATION; as a \
             superuser, or connect as a role that has it",
            info.user,
            quote_ident(&info.user)
        )));
    }
    for table in &spec.tables {
        let found: Option<u32> = client
            .query_one("SELECT to_regclass($1)::oid", &[table])
            .await
            .map_err(|_| unknown_table(table, info))?
            .get(0);
        if found.is_none() {
            return Err(unknown_table(table, info));
        }
    }
    Ok(())
}

/// Creates the publication and the slot when they are missing.
/// Creates what is missing, checks what exists. `checkpoint` is our own record of this stream:
/// a slot that is gone while we hold a position in it is an error, never a fresh start.
pub async fn ensure_publication_and_slot(
    client: &Client,
    spec: &StreamSpec,
    checkpoint: &dyn PositionStore,
) -> Result<(), SetupError> {
    ensure_publication(client, spec).await?;
    ensure_slot(client, spec, checkpoint).await
}

/// The identity of the stream `slot` names on this server, as the checkpoint records it (the
/// same values IDENTIFY_SYSTEM gives on the replication connection).
pub async fn stream_id(client: &Client, slot: &str) -> Result<StreamId, SetupError> {
    let row = client
        .query_one(
            "SELECT (system_identifier::numeric \
               + CASE WHEN system_identifier < 0 THEN 18446744073709551616 ELSE 0 END)::text, \
             current_database()::text FROM pg_control_system()",
            &[],
        )
        .await
        .map_err(|e| sql_error("reading the server's system identifier", e))?;
    Ok(StreamId {
        system_id: row.get(0),
        database: row.get(1),
        slot: slot.to_string(),
    })
}

/// The slot was dropped (or never existed here) while our checkpoint holds a position in it.
pub fn slot_gone(slot: &str, checkpoint: &dyn PositionStore, at: Lsn) -> SetupError {
    SetupError::new(format!(
        "replication slot {slot:?} does not exist, but {} says changes up to {at} were delivered \
         from it: it was dropped, so changes after {at} may be gone from the server. Creating a \
         new slot would skip them silently; to start afresh from now, accept that, delete {0} \
         and run again (a new slot is created)",
        checkpoint.location()
    ))
}

/// The server invalidated the slot: the WAL it needed was removed.
pub fn slot_lost(slot: &str) -> SetupError {
    SetupError::new(format!(
        "replication slot {slot:?} was invalidated by the server (wal_status = lost): it fell \
         further behind than max_slot_wal_keep_size allows and the WAL it needed was removed, so \
         changes are missing. Raise max_slot_wal_keep_size (or set it to -1), then drop the slot \
         with SELECT pg_drop_replication_slot('{slot}'), delete this stream's checkpoint file in \
         the state directory, and run again to start afresh (resynchronise the destination)"
    ))
}

fn unknown_table(table: &str, info: &ConnInfo) -> SetupError {
    SetupError::new(format!(
        "unknown table {table:?} in --tables: no such table in database {:?}; give existing tables \
         as name or schema.name",
        info.dbname
    ))
}

async fn ensure_publication(client: &Client, spec: &StreamSpec) -> Result<(), SetupError> {
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_publication WHERE pubname = $1",
            &[&spec.publication],
        )
        .await
        .map_err(|e| sql_error("looking up the publication", e))?
        .is_some();
    if exists {
        tracing::info!(publication = %spec.publication, "using existing publication");
        return Ok(());
    }
    let target = if spec.tables.is_empty() {
        "ALL TABLES".to_string()
    } else {
        let names: Vec<String> = spec.tables.iter().map(|t| quote_qualified(t)).collect();
        format!("TABLE {}", names.join(", "))
    };
    let sql = format!(
        "CREATE PUBLICATION {} FOR {target}",
        quote_ident(&spec.publication)
    );
    client.batch_execute(&sql).await.map_err(|e| {
        sql_error(
            &format!(
                "creating publication {:?} (FOR ALL TABLES needs a superuser; or create it \
                 yourself, or pass --tables)",
                spec.publication
            ),
            e,
        )
    })?;
    tracing::info!(publication = %spec.publication, "created publication FOR {target}");
    Ok(())
}

async fn ensure_slot(
    client: &Client,
    spec: &StreamSpec,
    checkpoint: &dyn PositionStore,
) -> Result<(), SetupError> {
    let row = client
        .query_opt(
            "SELECT plugin, active, active_pid, database = current_database(), \
             wal_status::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&spec.slot],
        )
        .await
        .map_err(|e| sql_error("looking up the replication slot", e))?;
    match row {
        Some(row) => {
            let plugin: Option<String> = row.get(0);
            let active: bool = row.get(1);
            let pid: Option<i32> = row.get(2);
            let same_db: Option<bool> = row.get(3);
            if plugin.as_deref() != Some("pgoutput") || same_db != Some(true) {
                return Err(SetupError::new(format!(
                    "replication slot {:?} exists but is not a pgoutput slot of this database: \
                     choose another --slot",
                    spec.slot
                )));
            }
            if active {
                return Err(slot_active(&spec.slot, pid));
            }
            let wal_status: Option<String> = row.get(4);
            if wal_status.as_deref() == Some("lost") {
                return Err(slot_lost(&spec.slot));
            }
            tracing::info!(slot = %spec.slot, "using existing replication slot");
        }
        None => {
            let stored = checkpoint
                .load()
                .map_err(|e| SetupError::new(format!("{e:#}")))?;
            if let Some(at) = stored.values().map(|p| p.lsn).filter(|l| l.0 > 0).max() {
                return Err(slot_gone(&spec.slot, checkpoint, at));
            }
            client
                .query_one(
                    "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')",
                    &[&spec.slot],
                )
                .await
                .map_err(|e| sql_error(&format!("creating replication slot {:?}", spec.slot), e))?;
            tracing::info!(slot = %spec.slot, "created replication slot");
        }
    }
    Ok(())
}

pub fn slot_active(slot: &str, pid: Option<i32>) -> SetupError {
    let pid = pid.map(|p| format!(" (PID {p})")).unwrap_or_default();
    SetupError::new(format!(
        "replication slot {slot:?} is already active in another process{pid}: stop the other \
         consumer, or give this one its own --slot"
    ))
}

/// Every type in the catalog, so columns of extension types, domains and enums get their names
/// and, where their base type is known, typed values.
pub async fn load_types(
    client: &Client,
    registry: &mut TypeRegistry,
    oids: Option<&[u32]>,
) -> Result<(), SetupError> {
    const SQL: &str = "SELECT oid, format_type(oid, NULL), typbasetype, \
                       CASE WHEN typcategory = 'A' THEN typelem ELSE 0::oid END FROM pg_type";
    let rows = match oids {
        None => client.query(SQL, &[]).await,
        Some(oids) => {
            let oids: Vec<u32> = oids.to_vec();
            client
                .query(&format!("{SQL} WHERE oid = ANY($1)"), &[&oids])
                .await
        }
    }
    .map_err(|e| sql_error("reading type names from pg_type", e))?;
    for row in rows {
        registry.learn(row.get(0), row.get(1), row.get(2), row.get(3));
    }
    Ok(())
}

/// The confirmed position of a slot, as the server reports it.
pub async fn slot_confirmed_lsn(
    client: &Client,
    slot: &str,
) -> Result<Option<crate::event::Lsn>, SetupError> {
    let row = client
        .query_opt(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(|e| sql_error("reading the slot's position", e))?;
    Ok(row
        .and_then(|r| r.get::<_, Option<String>>(0))
        .and_then(|s| s.parse().ok()))
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `schema.table` or `table` → each part quoted.
fn quote_qualified(name: &str) -> String {
    name.split('.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}

/// A string literal for replication commands.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

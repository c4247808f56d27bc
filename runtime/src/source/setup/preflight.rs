//! Checks that change nothing: the server can do logical replication for us, the role may, the
//! tables exist.

use tokio_postgres::Client;

use super::connect::sql_error;
use super::StreamSpec;
use crate::error::SetupError;
use crate::source::conninfo::ConnInfo;
use crate::source::quote::quote_ident;

/// Checks the server, the role and the tables (that they exist, and agree with an existing
/// publication), without changing anything; warns when an existing publication makes the
/// application's UPDATE or DELETE fail.
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
    super::agreement::check_tables_agree(client, spec).await?;
    super::publication::warn_if_hazardous(client, spec).await
}

fn unknown_table(table: &str, info: &ConnInfo) -> SetupError {
    SetupError::new(format!(
        "unknown table {table:?} in --tables: no such table in database {:?}; give existing tables \
         as name or schema.name",
        info.dbname
    ))
}

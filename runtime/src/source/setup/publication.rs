//! The publication: created when missing, used as it is when it exists.

use tokio_postgres::Client;

use super::connect::sql_error;
use super::StreamSpec;
use crate::error::SetupError;
use crate::source::quote::{quote_ident, quote_qualified};

pub(super) async fn ensure_publication(
    client: &Client,
    spec: &StreamSpec,
) -> Result<(), SetupError> {
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

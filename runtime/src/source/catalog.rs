//! Catalog queries: the tables a stream will carry, read before streaming starts, and the names
//! of types.

use std::sync::Arc;

use tokio_postgres::Client;

use crate::assemble::{RelationInfo, TypeRegistry};
use crate::error::SetupError;
use crate::source::setup::{publishable_cte, sql_error};

/// A table's oid, schema, name and `(column, type oid, is key)` rows, as they are read.
type TableRows = (u32, String, String, Vec<(String, u32, bool)>);

/// The tables of `publication` if it exists, else the tables the publication we create will hold
/// (those of `tables`, or every user table when that is empty, that have a replica identity: see
/// `setup::publication`), with their columns as pgoutput will describe them: the same names,
/// types and replica identity key flags. Lets grants be checked before the first change arrives.
pub async fn stream_tables(
    client: &Client,
    publication: &str,
    tables: &[String],
    types: &TypeRegistry,
) -> Result<Vec<Arc<RelationInfo>>, SetupError> {
    let sql = format!(
        "
        WITH RECURSIVE {},
        rels AS (
            SELECT c.oid FROM pg_class c
             WHERE c.relkind IN ('r', 'p')
               AND CASE
                   WHEN EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1) THEN
                       c.oid IN (SELECT (quote_ident(schemaname) || '.' || quote_ident(tablename))::regclass
                                   FROM pg_publication_tables WHERE pubname = $1)
                   ELSE c.oid IN (SELECT t.rel FROM tree t JOIN usable u ON u.root = t.root)
               END)
        SELECT c.oid, n.nspname, c.relname, a.attname, a.atttypid,
               c.relreplident = 'f' OR COALESCE(a.attnum = ANY(i.indkey), false) AS key
          FROM rels r
          JOIN pg_class c ON c.oid = r.oid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          LEFT JOIN pg_index i ON i.indrelid = c.oid AND
               CASE c.relreplident WHEN 'i' THEN i.indisreplident
                                   WHEN 'd' THEN i.indisprimary ELSE false END
         WHERE a.attgenerated = ''
         ORDER BY c.oid, a.attnum",
        publishable_cte("$2")
    );
    let rows = client
        .query(&sql, &[&publication, &tables])
        .await
        .map_err(|e| SetupError::new(format!("reading the published tables: {e}")))?;
    let mut out = Vec::new();
    let mut current: Option<TableRows> = None;
    for row in rows {
        let oid: u32 = row.get(0);
        if current.as_ref().is_some_and(|c| c.0 != oid) {
            let (oid, schema, name, cols) = current.take().expect("checked above");
            out.push(RelationInfo::from_catalog(
                oid, &schema, &name, &cols, types,
            ));
        }
        let entry = current.get_or_insert_with(|| (oid, row.get(1), row.get(2), Vec::new()));
        entry.3.push((row.get(3), row.get(4), row.get(5)));
    }
    if let Some((oid, schema, name, cols)) = current {
        out.push(RelationInfo::from_catalog(
            oid, &schema, &name, &cols, types,
        ));
    }
    Ok(out)
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

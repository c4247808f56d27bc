//! Catalog queries: the tables a stream will carry, read before streaming starts, and the names
//! of types.

use std::sync::Arc;

use tokio_postgres::Client;

use crate::assemble::{RelationInfo, TypeRegistry};
use crate::error::SetupError;
use crate::source::setup::{publishable_cte, sql_error, StreamSpec};

/// A table's oid, schema, name and `(column, type oid, is key)` rows, as they are read.
type TableRows = (u32, String, String, Vec<(String, u32, bool)>);

/// The tables of `spec.publication` if it exists, else the tables the publication we create will
/// hold (those of `spec.tables`, or every user table when that is empty, that have a replica
/// identity: see `setup::publication`), with their columns as pgoutput will describe them: the
/// same names, types and replica identity key flags. Lets grants be checked before the first
/// change arrives. The changes of a partition arrive under its root's name when the publication
/// publishes via the root, else under its own: the tables are the ones changes arrive under.
pub async fn stream_tables(
    client: &Client,
    spec: &StreamSpec,
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
                   ELSE c.oid IN (SELECT t.rel FROM tree t JOIN usable u ON u.root = t.root
                                    JOIN pg_class x ON x.oid = t.rel
                                   WHERE CASE WHEN $3 THEN NOT x.relispartition
                                              ELSE x.relkind <> 'p' END)
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
        .query(&sql, &[&spec.publication, &spec.tables, &spec.via_root])
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

/// Every partition's ancestors, nearest first, as `(schema, table)` names: a grant on a
/// partitioned table covers its partitions, whose changes arrive under their own names when the
/// publication does not publish via the root (see `route::TenantGrants::with_partitions`).
pub async fn partition_ancestors(client: &Client) -> Result<Partitions, SetupError> {
    let rows = client
        .query(
            "WITH RECURSIVE anc(rel, parent, depth) AS (
                 SELECT i.inhrelid, i.inhparent, 1 FROM pg_inherits i
                   JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relispartition
                 UNION ALL
                 SELECT a.rel, i.inhparent, a.depth + 1 FROM anc a
                   JOIN pg_inherits i ON i.inhrelid = a.parent
                   JOIN pg_class c ON c.oid = a.parent WHERE c.relispartition)
             SELECT n.nspname::text, c.relname::text, pn.nspname::text, p.relname::text
               FROM anc a
               JOIN pg_class c ON c.oid = a.rel JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_class p ON p.oid = a.parent JOIN pg_namespace pn ON pn.oid = p.relnamespace
              ORDER BY a.rel, a.depth",
            &[],
        )
        .await
        .map_err(|e| sql_error("reading the partitions' parents", e))?;
    let mut map = Partitions::new();
    for row in rows {
        map.entry((row.get(0), row.get(1)))
            .or_default()
            .push((row.get(2), row.get(3)));
    }
    Ok(map)
}

/// A partition's `(schema, table)` → its ancestors' names, nearest first.
pub type Partitions = std::collections::HashMap<(String, String), Vec<(String, String)>>;

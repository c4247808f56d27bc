//! The publication: created when missing, used as it is when it exists, and never one that makes
//! the application's statements fail.
//!
//! PostgreSQL refuses `UPDATE` and `DELETE` on a table that a publication publishes updates or
//! deletes of when the table has no replica identity (no primary key under `REPLICA IDENTITY
//! DEFAULT`, `NOTHING`, or `USING INDEX` of a dropped index): the application gets `cannot update
//! table "t" because it does not have a replica identity and publishes updates`. `INSERT` and
//! `TRUNCATE` are never refused. So the publication we create is `FOR TABLE` the tables that have
//! a replica identity (a primary key, `REPLICA IDENTITY USING INDEX` or `FULL`), not `FOR ALL
//! TABLES`, which would also publish the updates of every key-less table created later; key-less
//! tables are left out with a warning that names them and the fix. Publishing only their inserts
//! (a second publication with `publish = 'insert, truncate'`) was not chosen: the destination
//! would silently keep rows the source updated or deleted.
//!
//! The cost: a table created after the publication is not streamed until it is added with
//! `ALTER PUBLICATION … ADD TABLE`, and the warning at creation says so.

use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use super::connect::sql_error;
use super::StreamSpec;
use crate::error::SetupError;
use crate::source::quote::quote_ident;

/// SQL: true when the table `c` (a `pg_class` row) has a replica identity, so that publishing its
/// updates and deletes does not block them.
const HAS_IDENTITY: &str = "(c.relreplident = 'f' OR EXISTS (
        SELECT 1 FROM pg_index i
         WHERE i.indrelid = c.oid
           AND CASE c.relreplident WHEN 'd' THEN i.indisprimary
                                   WHEN 'i' THEN i.indisreplident
                                   ELSE false END))";

/// SQL: the `WITH RECURSIVE` items that say which tables a publication we create holds.
/// `cand(oid)`: the tables of `--tables` (the `text[]` parameter `tables`), or when it is empty
/// every table `FOR ALL TABLES` would publish, a partition through its root. `tree(root, rel)`:
/// each candidate with its partitions and inheritance children, which `FOR TABLE` publishes with
/// it. `usable(root)`: the candidates whose every table in the tree has a replica identity.
pub(crate) fn publishable_cte(tables: &str) -> String {
    format!(
        "cand AS (
            SELECT c.oid FROM pg_class c
             WHERE CASE WHEN cardinality({tables}::text[]) > 0
                        THEN c.oid IN (SELECT to_regclass(t) FROM unnest({tables}::text[]) t)
                        ELSE c.relkind IN ('r', 'p') AND NOT c.relispartition
                             AND c.relpersistence = 'p' AND c.oid >= 16384
                   END),
        tree(root, rel) AS (
            SELECT oid, oid FROM cand
            UNION
            SELECT t.root, i.inhrelid FROM tree t JOIN pg_inherits i ON i.inhparent = t.rel),
        usable(root) AS (
            SELECT t.root FROM tree t JOIN pg_class c ON c.oid = t.rel
             GROUP BY t.root
            HAVING bool_and(c.relkind <> 'r' OR {HAS_IDENTITY}))"
    )
}

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
    let sql = format!(
        "WITH RECURSIVE {}
         SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                c.oid IN (SELECT root FROM usable)
           FROM cand JOIN pg_class c ON c.oid = cand.oid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          ORDER BY 1",
        publishable_cte("$1")
    );
    let rows = client
        .query(&sql, &[&spec.tables])
        .await
        .map_err(|e| sql_error("reading the tables to publish", e))?;
    let (usable, keyless): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.get::<_, bool>(1));
    let usable: Vec<String> = usable.iter().map(|r| r.get(0)).collect();
    let keyless: Vec<String> = keyless.iter().map(|r| r.get(0)).collect();

    let publication = quote_ident(&spec.publication);
    let statement = create_statement(client, spec, &usable).await?;
    if let Err(e) = client.batch_execute(&statement).await {
        return Err(match e.as_db_error() {
            Some(db) if *db.code() == SqlState::INSUFFICIENT_PRIVILEGE => {
                cannot_create(client, spec, db.message(), &statement).await
            }
            _ => sql_error(
                &format!(
                    "creating publication {:?} (or create it yourself, or pass --tables)",
                    spec.publication
                ),
                e,
            ),
        });
    }
    let target = statement
        .strip_prefix(&format!("CREATE PUBLICATION {publication}"))
        .unwrap_or_default();
    tracing::info!(
        publication = %spec.publication,
        "created publication{}",
        if usable.is_empty() { " with no tables yet" } else { target }
    );
    if !keyless.is_empty() {
        tracing::warn!(
            publication = %spec.publication,
            "publication {publication} leaves out {} tables without a replica identity: {}; \
             publishing their updates and deletes would make the application's UPDATE and DELETE \
             on them fail, so they are not streamed. To stream one, give it a primary key (or \
             run ALTER TABLE <table> REPLICA IDENTITY FULL), then ALTER PUBLICATION \
             {publication} ADD TABLE <table>",
            keyless.len(),
            keyless.join(", ")
        );
    }
    if spec.tables.is_empty() {
        tracing::warn!(
            publication = %spec.publication,
            "publication {publication} holds the {} tables with a replica identity that exist \
             now; tables created later are not streamed until you add them with ALTER \
             PUBLICATION {publication} ADD TABLE <table> (after giving each a primary key or a \
             replica identity)",
            usable.len()
        );
    }
    Ok(())
}

/// The `CREATE PUBLICATION` statement for `spec`, `FOR TABLE` the `usable` tables (none: a
/// publication that publishes nothing until tables are added), with `publish_via_partition_root`
/// when `spec.via_root` and the server has it (PostgreSQL 13+).
async fn create_statement(
    client: &Client,
    spec: &StreamSpec,
    usable: &[String],
) -> Result<String, SetupError> {
    let mut statement = format!("CREATE PUBLICATION {}", quote_ident(&spec.publication));
    if !usable.is_empty() {
        statement += &format!(" FOR TABLE {}", usable.join(", "));
    }
    if spec.via_root {
        let version: String = client
            .query_one("SHOW server_version_num", &[])
            .await
            .map_err(|e| sql_error("reading the server's version", e))?
            .get(0);
        if version.parse::<u32>().is_ok_and(|v| v >= 130_000) {
            statement += " WITH (publish_via_partition_root = true)";
        }
    }
    Ok(statement)
}

/// The role may not create the publication (CREATE on the database and ownership of each table
/// are needed): one line with the statement a superuser can run. When the name was given, it
/// may be misspelt: the line says that it does not exist and which publications do.
async fn cannot_create(
    client: &Client,
    spec: &StreamSpec,
    reason: &str,
    statement: &str,
) -> SetupError {
    let role = client
        .query_one("SELECT current_user::text", &[])
        .await
        .map(|r| r.get::<_, String>(0))
        .unwrap_or_else(|_| "this role".into());
    if !spec.publication_given {
        return SetupError::new(format!(
            "role {role:?} may not create publication {:?} ({reason}): have a superuser run \
             {statement}; then run again, or pass --publication with an existing publication",
            spec.publication
        ));
    }
    let existing: Vec<String> = client
        .query("SELECT pubname::text FROM pg_publication ORDER BY 1", &[])
        .await
        .map(|rows| {
            rows.iter()
                .map(|r| format!("{:?}", r.get::<_, String>(0)))
                .collect()
        })
        .unwrap_or_default();
    let existing = match existing.is_empty() {
        true => "this database has none".to_string(),
        false => format!("this database has {}", existing.join(", ")),
    };
    SetupError::new(format!(
        "publication {:?} does not exist, and role {role:?} may not create it ({reason}): if the \
         name is misspelt, fix it ({existing}); otherwise have a superuser run {statement}; then \
         run again",
        spec.publication
    ))
}

/// Warns when the existing publication `spec.publication` publishes updates or deletes of tables
/// without a replica identity, which makes the application's UPDATE and DELETE on them fail.
/// Nothing is changed: the publication is the user's.
pub(super) async fn warn_if_hazardous(
    client: &Client,
    spec: &StreamSpec,
) -> Result<(), SetupError> {
    let Some(row) = client
        .query_opt(
            "SELECT puballtables, pubupdate, pubdelete FROM pg_publication WHERE pubname = $1",
            &[&spec.publication],
        )
        .await
        .map_err(|e| sql_error("looking up the publication", e))?
    else {
        return Ok(());
    };
    let (all_tables, update, delete): (bool, bool, bool) = (row.get(0), row.get(1), row.get(2));
    let publishes = match (update, delete) {
        (false, false) => return Ok(()),
        (true, true) => "updates and deletes",
        (true, false) => "updates",
        (false, true) => "deletes",
    };
    let sql = format!(
        "WITH RECURSIVE tree(rel) AS (
             SELECT (quote_ident(schemaname) || '.' || quote_ident(tablename))::regclass::oid
               FROM pg_publication_tables WHERE pubname = $1
             UNION
             SELECT i.inhrelid FROM tree t JOIN pg_inherits i ON i.inhparent = t.rel)
         SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
           FROM tree t JOIN pg_class c ON c.oid = t.rel
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND NOT {HAS_IDENTITY}
          ORDER BY 1"
    );
    let tables: Vec<String> = client
        .query(&sql, &[&spec.publication])
        .await
        .map_err(|e| sql_error("reading the publication's tables", e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let publication = quote_ident(&spec.publication);
    let later = match all_tables {
        true => format!(
            " {publication} is FOR ALL TABLES, so every key-less table created later is blocked \
             the same way."
        ),
        false => String::new(),
    };
    if tables.is_empty() {
        if all_tables {
            tracing::warn!(
                publication = %spec.publication,
                "publication {publication} is FOR ALL TABLES and publishes {publishes}: the \
                 application's UPDATE and DELETE will fail on any table created later without a \
                 primary key or a replica identity (give each one, or use a publication FOR \
                 TABLE the tables to stream)"
            );
        }
        return Ok(());
    }
    let remove = match all_tables {
        true => "or use a publication FOR TABLE the tables to stream".to_string(),
        false => format!("or take it out with ALTER PUBLICATION {publication} DROP TABLE <table>"),
    };
    tracing::warn!(
        publication = %spec.publication,
        "publication {publication} publishes {publishes} of tables without a replica identity, \
         so the application's UPDATE and DELETE on them fail (\"does not have a replica \
         identity\"): {}.{later} Give each a primary key or run ALTER TABLE <table> REPLICA \
         IDENTITY FULL, {remove}",
        tables.join(", ")
    );
    Ok(())
}

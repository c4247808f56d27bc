//! `--tables` against a publication that already exists.
//!
//! `--tables` chooses the tables of a publication that `run` creates; an existing publication is
//! the user's and is used as it is. When the two disagree, the run is refused rather than warned
//! about: a table in `--tables` that the publication leaves out would never be streamed, and a
//! table the publication holds beyond `--tables` would reach the sinks although the user meant to
//! leave it out (a destination may then hold rows it must not). Either way the user's intent and
//! what is streamed differ, and only they know which one is right.
//!
//! The comparison is by the tables whose rows change, so that a partitioned table and its
//! partitions, or a parent and its inheritance children, agree however the publication lists
//! them (`publish_via_partition_root` lists the root, otherwise the partitions). A table of
//! `--tables` without a replica identity is not required to be published: the publication `run`
//! creates leaves such tables out (see `publication`), and running the same command twice must
//! not fail; it is named in a warning instead.

use tokio_postgres::Client;

use super::connect::sql_error;
use super::publication::publishable_cte;
use super::StreamSpec;
use crate::error::SetupError;
use crate::source::quote::quote_ident;

/// Fails when `spec.tables` is given and disagrees with the existing publication
/// `spec.publication`. Does nothing when either is absent.
pub(super) async fn check_tables_agree(
    client: &Client,
    spec: &StreamSpec,
) -> Result<(), SetupError> {
    if spec.tables.is_empty() {
        return Ok(());
    }
    let Some(row) = client
        .query_opt(
            "SELECT puballtables FROM pg_publication WHERE pubname = $1",
            &[&spec.publication],
        )
        .await
        .map_err(|e| sql_error("looking up the publication", e))?
    else {
        return Ok(());
    };
    let all_tables: bool = row.get(0);
    // `missing`: tables of --tables (with a replica identity, or not: `usable`) with a changing
    // table the publication does not publish; `extra`: tables the publication lists with a
    // changing table that --tables does not cover.
    let sql = format!(
        "WITH RECURSIVE {},
         req(oid) AS (SELECT to_regclass(t)::oid FROM unnest($2::text[]) t),
         pub(oid) AS (
             SELECT (quote_ident(schemaname) || '.' || quote_ident(tablename))::regclass::oid
               FROM pg_publication_tables WHERE pubname = $1),
         req_tree(top, rel) AS (
             SELECT oid, oid FROM req
             UNION SELECT t.top, i.inhrelid FROM req_tree t JOIN pg_inherits i ON i.inhparent = t.rel),
         pub_tree(top, rel) AS (
             SELECT oid, oid FROM pub
             UNION SELECT t.top, i.inhrelid FROM pub_tree t JOIN pg_inherits i ON i.inhparent = t.rel),
         req_leaf AS (SELECT t.top, t.rel FROM req_tree t JOIN pg_class c ON c.oid = t.rel
                       WHERE c.relkind = 'r'),
         pub_leaf AS (SELECT t.top, t.rel FROM pub_tree t JOIN pg_class c ON c.oid = t.rel
                       WHERE c.relkind = 'r'),
         found(kind, oid) AS (
             SELECT CASE WHEN r.oid IN (SELECT root FROM usable) THEN 'missing' ELSE 'keyless' END,
                    r.oid
               FROM req r
              WHERE EXISTS (SELECT 1 FROM req_leaf l WHERE l.top = r.oid
                               AND l.rel NOT IN (SELECT rel FROM pub_leaf))
             UNION
             SELECT 'extra', p.oid
               FROM pub p
              WHERE EXISTS (SELECT 1 FROM pub_leaf l WHERE l.top = p.oid
                               AND l.rel NOT IN (SELECT rel FROM req_leaf)))
         SELECT f.kind, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
           FROM found f JOIN pg_class c ON c.oid = f.oid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          ORDER BY 1, 2",
        publishable_cte("$2")
    );
    let rows = client
        .query(&sql, &[&spec.publication, &spec.tables])
        .await
        .map_err(|e| sql_error("comparing --tables with the publication", e))?;
    let of = |kind: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r.get::<_, &str>(0) == kind)
            .map(|r| r.get(1))
            .collect()
    };
    let (missing, extra, keyless) = (of("missing"), of("extra"), of("keyless"));
    let publication = quote_ident(&spec.publication);
    if !keyless.is_empty() {
        tracing::warn!(
            publication = %spec.publication,
            "--tables names {}, which publication {publication} does not publish and which has \
             no replica identity: it is not streamed (give it a primary key or REPLICA IDENTITY \
             FULL, then ALTER PUBLICATION {publication} ADD TABLE it)",
            keyless.join(", ")
        );
    }
    if missing.is_empty() && extra.is_empty() {
        return Ok(());
    }
    let mut what = Vec::new();
    if !missing.is_empty() {
        what.push(format!("it does not publish {}", missing.join(", ")));
    }
    if all_tables {
        what.push("it is FOR ALL TABLES, so it publishes every table".into());
    } else if !extra.is_empty() {
        what.push(format!(
            "it publishes {}, which --tables leaves out",
            extra.join(", ")
        ));
    }
    let fix = match all_tables {
        true => format!(
            "leave --tables out to stream what {publication} publishes, or use another \
             --publication for these tables"
        ),
        false => {
            let mut alter = Vec::new();
            if !missing.is_empty() {
                alter.push(format!(
                    "ALTER PUBLICATION {publication} ADD TABLE {}",
                    missing.join(", ")
                ));
            }
            if !extra.is_empty() {
                alter.push(format!(
                    "ALTER PUBLICATION {publication} DROP TABLE {}",
                    extra.join(", ")
                ));
            }
            format!(
                "leave --tables out to stream what {publication} publishes, or make it agree: {}",
                alter.join("; ")
            )
        }
    };
    Err(SetupError::new(format!(
        "--tables disagrees with the existing publication {publication}: {}; --tables only \
         chooses the tables of a publication that run creates, so {fix}",
        what.join(", and ")
    )))
}

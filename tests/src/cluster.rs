//! PostgreSQL: a scratch cluster, SQL, replication slots.

use std::time::Duration;

use tokio_postgres::Client;

use crate::{eventually, streaming_deadline, Lsn, ScratchCluster, ScratchOptions};

/// Starts a scratch cluster, panicking with the reason when it cannot.
pub async fn start_cluster(opts: ScratchOptions) -> ScratchCluster {
    match ScratchCluster::start(opts).await {
        Ok(pg) => pg,
        Err(e) => panic!("could not start a scratch PostgreSQL: {e}"),
    }
}

/// Connects to `url` (a normal, non-replication connection).
pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {}", pg_error(&e)));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A PostgreSQL error with the server's message, which `Display` of tokio-postgres leaves out.
pub fn pg_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
        None => format!("{e:?}"),
    }
}

/// Runs one or more SQL statements (simple query protocol, like psql's `-c`).
pub async fn exec(client: &Client, sql: &str) {
    if let Err(e) = client.batch_execute(sql).await {
        panic!("SQL failed: {}\n{sql}", pg_error(&e));
    }
}

/// Runs statements and returns every value of every row, as text (NULL as `None`).
pub async fn query_text(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    let msgs = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("SQL failed: {}\n{sql}", pg_error(&e)));
    msgs.iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

/// The single value the statements return (the last row's first column).
pub async fn query_value(client: &Client, sql: &str) -> String {
    let rows = query_text(client, sql).await;
    rows.last()
        .and_then(|r| r.first().cloned().flatten())
        .unwrap_or_else(|| panic!("no value from: {sql}"))
}

/// The server's current WAL write position.
pub async fn current_lsn(client: &Client) -> Lsn {
    query_value(client, "SELECT pg_current_wal_lsn()::text")
        .await
        .parse()
        .expect("pg_current_wal_lsn")
}

/// Runs `statements` in one transaction and returns its (32-bit) transaction id.
pub async fn commit_returning_xid(client: &Client, statements: &str) -> u32 {
    let sql = format!(
        "BEGIN; {statements}; SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text; \
         COMMIT;"
    );
    query_value(client, &sql)
        .await
        .parse()
        .expect("xid is a number")
}

/// What `pg_replication_slots` says about a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    pub active: bool,
    pub plugin: Option<String>,
    pub confirmed_flush_lsn: Option<Lsn>,
    /// The walsender's state from `pg_stat_replication` (`startup`, `catchup`, `streaming`) when
    /// a walsender holds the slot.
    pub walsender_state: Option<String>,
}

pub async fn slot_info(client: &Client, slot: &str) -> Option<SlotInfo> {
    let rows = client
        .query(
            "SELECT s.active, s.plugin::text, s.confirmed_flush_lsn::text, r.state \
             FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid \
             WHERE s.slot_name = $1",
            &[&slot],
        )
        .await
        .unwrap_or_else(|e| panic!("reading pg_replication_slots: {}", pg_error(&e)));
    rows.first().map(|r| SlotInfo {
        active: r.get(0),
        plugin: r.get(1),
        confirmed_flush_lsn: r
            .get::<_, Option<String>>(2)
            .map(|s| s.parse().expect("confirmed_flush_lsn")),
        walsender_state: r.get(3),
    })
}

/// Waits (polling, with a deadline) until `cond` holds for the slot's state.
pub async fn wait_for_slot(
    client: &Client,
    slot: &str,
    what: &str,
    timeout: Duration,
    cond: impl Fn(Option<&SlotInfo>) -> bool,
) -> Option<SlotInfo> {
    eventually(&format!("slot {slot}: {what}"), timeout, async || {
        let info = slot_info(client, slot).await;
        if cond(info.as_ref()) {
            Ok(info)
        } else {
            Err(format!("{info:?}"))
        }
    })
    .await
}

/// A free loopback port with nothing listening on it (at the time of the call).
pub fn unused_port() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind port 0");
    l.local_addr().expect("local addr").port()
}

/// Waits until `slot` has confirmed everything written so far (a generous deadline: the runtime
/// may have a large backlog to deliver first).
pub async fn wait_all_confirmed(client: &Client, slot: &str) {
    let end = current_lsn(client).await;
    wait_for_slot(
        client,
        slot,
        "everything confirmed",
        streaming_deadline() * 3,
        |i| {
            i.and_then(|i| i.confirmed_flush_lsn)
                .is_some_and(|l| l >= end)
        },
    )
    .await;
}

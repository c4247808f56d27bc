//! The initial snapshot: rows that existed before the slot, consistent with the stream.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::config::SnapshotMode;
use crate::event::Operation;

/// Applies a sink's output in order (read/insert/update: upsert by the first column, an update
/// with an old key moves the row; delete: remove) and returns each table's rows by key.
fn apply(sink: &MemorySink) -> BTreeMap<String, BTreeMap<i64, Vec<Value>>> {
    let mut tables: BTreeMap<String, BTreeMap<i64, Vec<Value>>> = BTreeMap::new();
    for batch in sink.batches() {
        for c in &batch.changes {
            let table = batch.relations[c.relation as usize].name.clone();
            let rows = tables.entry(table).or_default();
            let key = |row: &[Value]| match row.first() {
                Some(Value::Int(k)) => *k,
                other => panic!("unexpected key {other:?}"),
            };
            match c.op {
                Operation::Delete => {
                    let old = c.old.as_ref().expect("old key");
                    rows.remove(&key(&old.values));
                }
                Operation::Truncate => rows.clear(),
                _ => {
                    // An update that changed the key carries the old key: the row moved.
                    if let Some(old) = &c.old {
                        rows.remove(&key(&old.values));
                    }
                    let new = c.new.clone().expect("new row");
                    rows.insert(key(&new), new);
                }
            }
        }
    }
    tables
}

/// `SELECT id, v FROM table` as the sink sees it.
async fn table_rows(h: &Harness, table: &str) -> BTreeMap<i64, Vec<Value>> {
    let rows = h
        .client
        .query(&format!("SELECT id, v FROM {table} ORDER BY id"), &[])
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let id: i32 = r.get(0);
            let v: Option<String> = r.get(1);
            let v = v.map_or(Value::Null, Value::Text);
            (i64::from(id), vec![Value::Int(id.into()), v])
        })
        .collect()
}

async fn two_tables(h: &Harness, rows: i32) {
    h.client
        .batch_execute(&format!(
            "CREATE TABLE a (id int PRIMARY KEY, v text);
             CREATE TABLE b (id int PRIMARY KEY, v text);
             INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, {rows}) g;
             INSERT INTO b SELECT g, NULL FROM generate_series(1, {rows} / 10) g;"
        ))
        .await
        .unwrap();
}

/// Rows written before the slot, then inserts, updates (key changes too) and deletes while the
/// snapshot is read and after: applying the sink's output gives each table exactly.
#[tokio::test]
async fn snapshot_and_stream_together_reproduce_every_table() {
    let h = Harness::start().await;
    two_tables(&h, 20_000).await;
    let sink = MemorySink::default();
    let spec = h.spec(vec![plan("t", sink.source("t"))], &Failpoints::default());
    let writer = h.cluster.connect().await.unwrap();
    let summary = with_pipeline(spec, async {
        h.wait_streaming_or_snapshot().await;
        for i in 0..200 {
            let sql = match i % 5 {
                0 => format!("INSERT INTO a VALUES ({}, 'new')", 100_000 + i),
                1 => format!("UPDATE a SET v = 'u{i}' WHERE id = {}", 1 + i * 97),
                2 => format!("DELETE FROM a WHERE id = {}", 2 + i * 89),
                3 => format!(
                    "UPDATE a SET id = {} WHERE id = {}",
                    200_000 + i,
                    3 + i * 83
                ),
                _ => format!("UPDATE b SET v = 'b{i}' WHERE id = {}", 1 + i),
            };
            writer.batch_execute(&sql).await.unwrap();
        }
        let end = h.wal_lsn().await;
        eventually(
            "the last write delivered",
            Duration::from_secs(60),
            || async { h.store.positions().get("t").is_some_and(|p| p.lsn >= end) },
        )
        .await;
    })
    .await
    .expect("the run");
    let seen = apply(&sink);
    for table in ["a", "b"] {
        let want = table_rows(&h, table).await;
        let got = seen.get(table).cloned().unwrap_or_default();
        assert_eq!(got.len(), want.len(), "{table}: row count");
        assert!(
            got == want,
            "{table}: the sink's rows differ from the table's"
        );
    }
    assert!(summary.transactions > 200, "{}", summary.transactions);
}

/// `initial-only`: the rows that exist, once each, then the run stops at the consistent point.
#[tokio::test]
async fn initial_only_delivers_the_existing_rows_and_stops() {
    let h = Harness::start().await;
    two_tables(&h, 1_000).await;
    let sink = MemorySink::default();
    let mut spec = h.spec(vec![plan("t", sink.source("t"))], &Failpoints::default());
    spec.snapshot = SnapshotMode::InitialOnly;
    with_pipeline(spec, std::future::pending())
        .await
        .expect("stops by itself");
    let changes = sink.changes();
    assert_eq!(changes.len(), 1_100);
    let seqs: Vec<u32> = changes.iter().map(|c| c.seq).collect();
    assert_eq!(
        seqs,
        (0..1_100).collect::<Vec<u32>>(),
        "numbered across the snapshot"
    );
    let cp = Lsn(changes[0].commit_lsn);
    assert!(changes
        .iter()
        .all(|c| c.commit_lsn == cp.0 && c.end_lsn == cp.0 && c.xid == 0));
    assert_eq!(
        h.store.positions()["t"].lsn,
        cp,
        "the position is the consistent point"
    );
    assert_eq!(h.slot_confirmed().await, Some(cp));
    let seen = apply(&sink);
    assert_eq!(seen["a"], table_rows(&h, "a").await);
}

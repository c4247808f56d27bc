//! Stopping: at `--stop-at` like `pg_recvlogical --endpos`, and on a signal when the server
//! does not act on our last status update.

use std::time::{Duration, Instant};

use super::*;
use crate::pipeline::failpoint::STATUS_LOST;

/// Creates the publication and the slot before any change, so that a test controls exactly
/// which changes the slot holds.
async fn slot_first(h: &Harness) {
    for sql in [
        "CREATE PUBLICATION p FOR ALL TABLES",
        "SELECT pg_create_logical_replication_slot('s', 'pgoutput')",
    ] {
        h.client.batch_execute(sql).await.unwrap();
    }
}

/// One row, the stop position, two more rows: only the first is delivered, and neither our
/// checkpoint nor the slot passes the stop position.
#[tokio::test]
async fn stop_at_delivers_and_confirms_nothing_past_it() {
    let h = Harness::start().await;
    slot_first(&h).await;
    let stop = h.insert(1, 1).await;
    let end = h.insert(2, 3).await;
    let sink = MemorySink::default();
    let mut spec = h.spec(vec![plan("a", sink.source("a"))], &Failpoints::default());
    spec.stop_at = Some(stop);
    let summary = with_pipeline(spec, std::future::pending())
        .await
        .expect("the run stops by itself");
    assert_eq!(
        ids(&sink),
        vec![1],
        "only the row committed before --stop-at"
    );
    assert!(
        summary.confirmed <= stop,
        "confirmed {} > {stop}",
        summary.confirmed
    );
    let slot = h.slot_confirmed().await.unwrap();
    assert!(slot <= stop, "slot at {slot}, past {stop}");
    assert!(h.store.positions()["a"].lsn <= stop);

    // The next run picks up exactly the rest.
    let rest = MemorySink::default();
    let mut spec = h.spec(vec![plan("a", rest.source("a"))], &Failpoints::default());
    spec.stop_at = Some(end);
    with_pipeline(spec, std::future::pending()).await.unwrap();
    assert_eq!(ids(&rest), vec![2, 3]);
}

/// The server never takes our status updates (its walsender busy, an update lost): at a stop
/// the slot is still moved to what we confirmed, promptly.
#[tokio::test]
async fn a_stop_moves_the_slot_when_the_server_did_not_take_our_position() {
    let h = Harness::start().await;
    slot_first(&h).await;
    let before = h.slot_confirmed().await.unwrap();
    let sink = MemorySink::default();
    let faults = Failpoints::default();
    faults.arm(STATUS_LOST, 0, u64::MAX);
    let spec = h.spec(vec![plan("a", sink.source("a"))], &faults);
    let mut stop_requested = None;
    let summary = with_pipeline(spec, async {
        h.insert(1, 3).await;
        eventually("3 changes", Duration::from_secs(30), || async {
            ids(&sink).len() >= 3
        })
        .await;
        eventually("the positions on disk", Duration::from_secs(30), || async {
            h.store.positions().get("a").is_some_and(|p| p.lsn > before)
        })
        .await;
        let slot = h.slot_confirmed().await.unwrap();
        assert_eq!(slot, before, "the failpoint keeps the server uninformed");
        stop_requested = Some(Instant::now());
    })
    .await
    .expect("a clean stop");
    let took = stop_requested.unwrap().elapsed();
    assert!(summary.confirmed > before);
    assert_eq!(
        summary.slot_confirmed,
        Some(summary.confirmed),
        "the slot was moved"
    );
    assert!(took < Duration::from_secs(8), "stopping took {took:?}");
}

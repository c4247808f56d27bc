//! Faults at chosen moments, in process: what `tests/tests/connection.rs`, `faults.rs` and
//! `crash.rs` provoke with killed walsenders, TCP proxies and SIGKILL.

use std::time::Duration;

use super::*;
use crate::pipeline::failpoint::{CHECKPOINT_WRITE, SOURCE_RECV};

const DEADLINE: Duration = Duration::from_secs(30);

/// The connection is cut in the middle of the stream (after a few messages): the pipeline
/// reconnects from the durable positions, and the sink sees every change once, in order.
#[tokio::test]
async fn a_cut_connection_loses_nothing_and_repeats_nothing() {
    let h = Harness::start().await;
    let sink = MemorySink::default();
    let faults = Failpoints::default();
    faults.arm(SOURCE_RECV, 8, 1);
    let spec = h.spec(vec![plan("a", sink.source("a"))], &faults);
    let summary = with_pipeline(spec, async {
        h.wait_streaming().await;
        h.insert(1, 20).await;
        eventually("20 changes", DEADLINE, || async { ids(&sink).len() >= 20 }).await;
    })
    .await
    .expect("the run survives a cut connection");
    assert_eq!(faults.pending(SOURCE_RECV), 0, "the failpoint fired");
    assert_eq!(
        ids(&sink),
        (1..=20).collect::<Vec<_>>(),
        "once each, in order"
    );
    assert_eq!(sink.connects(), 1, "the sink was not restarted");
    assert!(sink.closed());
    assert!(summary.confirmed >= h.store.positions()["a"].lsn);
}

/// A checkpoint write fails after the sink accepted (as a crash before the fsync would): the run
/// stops, the server is not told, and the next run delivers the changes again.
#[tokio::test]
async fn a_failed_checkpoint_write_tells_the_server_nothing_and_redelivers() {
    let h = Harness::start().await;
    // Slot and publication first, then the changes: the first thing the run accepts (and so
    // the first write) is a batch of them.
    for sql in [
        "CREATE PUBLICATION p FOR ALL TABLES",
        "SELECT pg_create_logical_replication_slot('s', 'pgoutput')",
    ] {
        h.client.batch_execute(sql).await.unwrap();
    }
    let end = h.insert(1, 5).await;
    let first = MemorySink::default();
    let faults = Failpoints::default();
    // The next write after the sink accepted fails (earlier ones may move an idle position).
    let armed = faults.clone();
    first.on_first_accept(move || armed.arm(CHECKPOINT_WRITE, 0, 1));
    let spec = h.spec(vec![plan("a", first.source("a"))], &faults);
    let result = with_pipeline(spec, std::future::pending()).await;
    let error = result.expect_err("a failed write stops the run");
    assert!(format!("{error:#}").contains("failpoint"), "{error:#}");
    assert!(
        !first.changes().is_empty(),
        "the sink accepted before the write"
    );
    let stored = h
        .store
        .positions()
        .get("a")
        .map(|p| p.lsn)
        .unwrap_or_default();
    let first_end = Lsn(first.changes()[0].end_lsn);
    assert!(stored < first_end, "{stored} covers what the sink accepted");
    let slot = h.slot_confirmed().await.expect("the slot exists");
    assert!(
        slot < end,
        "the server was told {slot}, past nothing durable"
    );

    let second = MemorySink::default();
    let mut spec = h.spec(vec![plan("a", second.source("a"))], &Failpoints::default());
    spec.stop_at = Some(end);
    with_pipeline(spec, std::future::pending())
        .await
        .expect("the second run");
    assert_eq!(
        ids(&second),
        (1..=5).collect::<Vec<_>>(),
        "every change again"
    );
    assert!(h.store.positions()["a"].lsn >= end);
}

/// One sink fails (retryably) and recovers, another fails for good: the first gets every change
/// once, the second is quarantined with the sink's own message and holds the slot back.
#[tokio::test]
async fn a_failing_sink_is_retried_and_a_broken_one_quarantined() {
    let h = Harness::start().await;
    let flaky = MemorySink::default();
    flaky.fail_next(3, true);
    let broken = MemorySink::default();
    broken.fail_next(1, false);
    let plans = vec![
        plan("flaky", flaky.source("flaky")),
        plan("broken", broken.source("broken")),
    ];
    let spec = h.spec(plans, &Failpoints::default());
    let summary = with_pipeline(spec, async {
        h.wait_streaming().await;
        h.insert(1, 5).await;
        eventually("5 changes at the flaky sink", DEADLINE, || async {
            ids(&flaky).len() >= 5
        })
        .await;
    })
    .await
    .expect("a quarantined tenant does not stop the run");
    assert_eq!(ids(&flaky), vec![1, 2, 3, 4, 5]);
    assert_eq!(flaky.publish_calls() as usize, flaky.batches().len() + 3);
    assert!(broken.changes().is_empty());
    let status = |id: &str| summary.tenants.iter().find(|t| t.id == id).unwrap().clone();
    assert_eq!(status("flaky").state, "active");
    assert_eq!(status("broken").state, "quarantined");
    let reason = status("broken").reason.unwrap_or_default();
    assert!(reason.contains("memory sink told to fail"), "{reason}");
    let positions = h.store.positions();
    assert!(
        positions["broken"].lsn < positions["flaky"].lsn,
        "{positions:?}"
    );
}

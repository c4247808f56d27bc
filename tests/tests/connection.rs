//! The replication connection over time: reconnecting when it drops, and acknowledging WAL that
//! carries nothing for us.

use conduit_e2e::*;

fn ids(lines: &[Value]) -> Vec<i64> {
    lines
        .iter()
        .map(|l| l["new"]["id"].as_i64().unwrap_or(-1))
        .collect()
}

#[tokio::test]
async fn reconnects_after_the_walsender_is_killed_without_loss_or_repeats() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    let mut c = f.start_conduit().await;
    f.exec("INSERT INTO t VALUES (1)").await;
    c.wait_for_lines(1, line_deadline()).await;
    let pid = f
        .query_value(&format!(
            "SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = '{}'",
            f.slot
        ))
        .await;
    f.exec(&format!("SELECT pg_terminate_backend({pid})")).await;
    // Written while we are (probably) disconnected: must arrive after the reconnect.
    f.exec("INSERT INTO t VALUES (2)").await;
    f.exec("INSERT INTO t VALUES (3)").await;
    c.wait_for_lines(3, streaming_deadline() + line_deadline())
        .await;
    assert!(c.is_running(), "the process survives a dropped connection");
    let now = f
        .query_value(&format!(
            "SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = '{}'",
            f.slot
        ))
        .await;
    assert_ne!(now, pid, "a new walsender serves the slot");
    let done = c.terminate_ok().await;
    assert_eq!(ids(&done.lines), [1, 2, 3], "nothing lost, nothing twice");
    assert!(
        done.stderr.to_lowercase().contains("reconnect"),
        "the drop is logged:\n{}",
        done.stderr
    );
}

#[tokio::test]
async fn wal_of_unpublished_tables_is_acknowledged_while_idle() {
    // Frequent keepalives, so the test need not wait for the default 30 s.
    let f = Fixture::with_options(
        conduit_wasm::scratch::ScratchOptions::default()
            .fsync_off()
            .conf("wal_sender_timeout", "2s"),
    )
    .await;
    f.exec("CREATE TABLE published (id int PRIMARY KEY); CREATE TABLE ignored (id int)")
        .await;
    let mut c = f.start(f.run_config().tables("published")).await;
    f.exec("INSERT INTO published VALUES (1)").await;
    c.wait_for_lines(1, line_deadline()).await;
    // Lots of WAL that the publication does not carry.
    f.exec("INSERT INTO ignored SELECT generate_series(1, 20000)")
        .await;
    let after = current_lsn(&f.client).await;
    let info = wait_for_slot(
        &f.client,
        &f.slot,
        "the slot to move past the unpublished writes",
        streaming_deadline() + line_deadline(),
        |i| i.is_some_and(|i| i.confirmed_flush_lsn.is_some_and(|l| l >= after)),
    )
    .await
    .expect("slot exists");
    assert!(info.confirmed_flush_lsn.unwrap() >= after);
    let done = c.terminate_ok().await;
    assert_eq!(
        done.lines.len(),
        1,
        "only the published change was delivered"
    );
}

//! How transactions are grouped into sink calls: `--batch-wait-ms`.

use conduit_e2e::*;

/// After a call, small transactions wait up to the batch wait for company, so a steady stream of
/// them costs one call per window instead of one per transaction; after a quiet spell a change
/// goes out at once. The recording (`--record`) holds one line per accepted call.
#[tokio::test]
async fn transactions_close_together_share_a_call() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE events (id int PRIMARY KEY)").await;
    let record = f.state.path().join("calls.jsonl");
    let cfg = f
        .run_config()
        .arg("--batch-wait-ms")
        .arg("5000")
        .arg("--record")
        .arg(&record);
    let mut c = f.start(cfg).await;
    f.exec("INSERT INTO events VALUES (0)").await;
    c.wait_for_lines(1, line_deadline()).await;
    // Ten transactions 0.1 s apart (the workload's pace, not a wait for an outcome): far enough
    // apart for each to be a call of its own without a batch wait, and well inside the 5 s
    // window the first call opened.
    for id in 1..=10 {
        f.exec(&format!("INSERT INTO events VALUES ({id})")).await;
        f.exec("SELECT pg_sleep(0.1)").await;
    }
    c.wait_for_lines(11, line_deadline()).await;
    let done = c.terminate_ok().await;
    assert_eq!(done.lines.len(), 11, "each change once: {:#?}", done.lines);

    let calls = conduit_wasm::record::read_events(&record).expect("reading the recording");
    let sizes: Vec<usize> = calls.iter().map(|b| b.changes.len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 11, "calls {sizes:?}");
    assert_eq!(
        sizes[0], 1,
        "the first change waited for nothing: calls {sizes:?}"
    );
    // One call for the ten, or two if the machine was slow enough for the window to close
    // in the middle of them; one per transaction would be eleven.
    assert!(
        sizes.len() <= 3,
        "ten transactions inside one 5 s window took {} calls: {sizes:?}",
        sizes.len()
    );
}

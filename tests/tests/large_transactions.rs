//! Large transactions: streamed by the server while they are written (pgoutput v2), held and
//! spilled to disk by us, delivered only on commit, dropped on abort.

use std::ffi::OsString;

use conduit_e2e::*;

const ROWS: i64 = 40_000;

#[tokio::test]
async fn streamed_transactions_are_delivered_on_commit_and_dropped_on_abort() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE big (id int PRIMARY KEY, pad text)")
        .await;
    let mut args = f.run_config().args();
    args.extend(["--stream-memory-mib", "1"].map(OsString::from));
    let mut c = Running::spawn(conduit_command(args));
    c.wait_streaming(&f.client, &f.slot).await;

    // Each is well over the 16 MB the server may decode before streaming.
    let pad = "repeat(md5(g::text), 12)";
    f.exec(&format!(
        "INSERT INTO big SELECT g, {pad} FROM generate_series(1, {ROWS}) g"
    ))
    .await;
    f.exec(&format!(
        "BEGIN;
         INSERT INTO big SELECT g, {pad} FROM generate_series(1000001, 1000000 + {ROWS}) g;
         ROLLBACK"
    ))
    .await;
    f.exec(&format!(
        "BEGIN;
         INSERT INTO big SELECT g, {pad} FROM generate_series(2000001, 2000000 + {ROWS}) g;
         SAVEPOINT s;
         INSERT INTO big SELECT g, {pad} FROM generate_series(3000001, 3000000 + {ROWS}) g;
         ROLLBACK TO s;
         INSERT INTO big VALUES (4000000, 'last');
         COMMIT"
    ))
    .await;
    let expected = (2 * ROWS + 1) as usize;
    c.wait_for_lines(expected, streaming_deadline() * 2).await;
    let streamed: i64 = f
        .query_value(&format!(
            "SELECT stream_txns FROM pg_stat_replication_slots WHERE slot_name = '{}'",
            f.slot
        ))
        .await
        .parse()
        .unwrap();
    let done = c.terminate_ok().await;
    assert!(
        streamed >= 2,
        "the server streamed the large transactions ({streamed})"
    );
    assert!(
        done.stderr
            .contains("spilling a large in-progress transaction"),
        "past --stream-memory-mib the transaction went to disk:\n{}",
        done.stderr.lines().take(30).collect::<Vec<_>>().join("\n")
    );
    assert_eq!(
        done.lines.len(),
        expected,
        "nothing more: the aborted work is not delivered"
    );

    let ids: Vec<i64> = done
        .lines
        .iter()
        .map(|l| l["new"]["id"].as_i64().unwrap())
        .collect();
    let first: Vec<i64> = (1..=ROWS).collect();
    let second: Vec<i64> = (2_000_001..=2_000_000 + ROWS).chain([4_000_000]).collect();
    assert_eq!(
        ids[..ROWS as usize],
        first[..],
        "first transaction complete and in order"
    );
    assert_eq!(
        ids[ROWS as usize..],
        second[..],
        "rolled-back subtransaction left out"
    );
    for txn in [&done.lines[..ROWS as usize], &done.lines[ROWS as usize..]] {
        let commit = lsn(&txn[0], "commit_lsn");
        let end = lsn(&txn[0], "end_lsn");
        for (i, line) in txn.iter().enumerate() {
            assert_eq!(seq(line), i as u64, "seq counts the delivered changes");
            assert_eq!(
                (lsn(line, "commit_lsn"), lsn(line, "end_lsn")),
                (commit, end)
            );
        }
    }
    let spill = f.state.path().join("spill");
    let left = std::fs::read_dir(&spill).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "no spill files left in {}", spill.display());
}

//! The initial snapshot through the real binary: rows that existed before the slot arrive
//! before the stream, at the slot's consistent point, and a run killed during the snapshot
//! loses nothing.

use conduit_e2e::*;

fn ids(lines: &[serde_json::Value]) -> Vec<i64> {
    lines.iter().filter_map(row_id).collect()
}

#[tokio::test]
async fn rows_that_existed_arrive_first_then_the_stream() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY, v text)").await;
    f.exec("INSERT INTO t SELECT g, 'old' FROM generate_series(1, 100) g")
        .await;
    let mut r = f.start(f.run_config().snapshot(None)).await;
    f.exec("INSERT INTO t SELECT g, 'new' FROM generate_series(101, 110) g")
        .await;
    let lines = r.wait_for_lines(110, line_deadline()).await.to_vec();
    r.terminate_ok().await;
    let mut first: Vec<i64> = ids(&lines[..100]);
    first.sort_unstable();
    assert_eq!(
        first,
        (1..=100).collect::<Vec<_>>(),
        "the existing rows first"
    );
    assert_eq!(ids(&lines[100..]), (101..=110).collect::<Vec<_>>());
    let cp = lsn(&lines[0], "commit_lsn");
    for (i, line) in lines[..100].iter().enumerate() {
        assert_eq!(
            lsn(line, "commit_lsn"),
            cp,
            "every snapshot row at the consistent point"
        );
        assert_eq!(seq(line), i as u64, "numbered across the snapshot");
        assert_eq!(op(line), "read", "{}", short(line));
    }
    assert!(lines[100..]
        .iter()
        .all(|l| lsn(l, "commit_lsn") > cp && op(l) == "insert"));
}

#[tokio::test]
async fn never_leaves_the_existing_rows_out() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    f.exec("INSERT INTO t SELECT generate_series(1, 50)").await;
    let mut r = f.start(f.run_config().snapshot(Some("never"))).await;
    f.exec("INSERT INTO t VALUES (51)").await;
    let lines = r.wait_for_lines(1, line_deadline()).await.to_vec();
    r.terminate_ok().await;
    assert_eq!(ids(&lines), vec![51]);
}

/// SIGKILL while the snapshot is being delivered: the next run keeps the slot and completes
/// the unfinished table by backfill while it streams, and every row arrives.
#[tokio::test]
async fn a_kill_during_the_snapshot_loses_nothing() {
    let f = Fixture::new().await;
    let rows = 200_000;
    f.exec("CREATE TABLE t (id int PRIMARY KEY, v text)").await;
    f.exec(&format!(
        "INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, {rows}) g"
    ))
    .await;
    let mut first = f.run_config().snapshot(None).spawn();
    first.wait_for_lines(1, line_deadline()).await;
    send_signal(first.pid(), "KILL");
    let killed = first.wait_exit(exit_deadline()).await;
    let seen_before = killed.lines.len();
    assert!(
        seen_before < rows,
        "killed after {seen_before} rows: too late to test anything"
    );

    f.exec(&format!("INSERT INTO t VALUES ({}, 'after')", rows + 1))
        .await;
    let second = f.run_config().snapshot(None).spawn();
    eventually("the backfill of t to finish", line_deadline(), async || {
        if second.stderr().contains("of public.t delivered to default") {
            Ok(())
        } else {
            Err(second.stderr())
        }
    })
    .await;
    let second = second.terminate_ok().await;
    assert!(
        second.stderr.contains("completed by backfill"),
        "says how the snapshot goes on: {}",
        second.stderr
    );
    assert!(
        second.lines.iter().all(|l| op(l) != "truncate"),
        "no reset: nothing is read twice that need not be"
    );
    let mut got = ids(&second.lines);
    got.sort_unstable();
    got.dedup();
    assert_eq!(
        got,
        (1..=rows as i64 + 1).collect::<Vec<_>>(),
        "every row, after the kill"
    );
}

/// A table large enough to be split: its block ranges are read side by side, and every row
/// arrives exactly once.
#[tokio::test]
async fn a_large_table_is_read_in_ranges_side_by_side() {
    let f = Fixture::new().await;
    let rows = 150_000;
    f.exec("CREATE TABLE big (id int PRIMARY KEY, v text)")
        .await;
    f.exec(&format!(
        "INSERT INTO big SELECT g, repeat('y', 80) FROM generate_series(1, {rows}) g"
    ))
    .await;
    let done = f
        .run_config()
        .snapshot(Some("initial-only"))
        .arg("--snapshot-workers")
        .arg("2")
        .run_to_exit()
        .await;
    assert!(done.status.success(), "{}", done.stderr);
    assert!(
        done.stderr.contains("1 tables in ") && !done.stderr.contains("1 tables in 1 parts"),
        "split into ranges: {}",
        done.stderr
    );
    let mut got = ids(&done.lines);
    got.sort_unstable();
    assert_eq!(got, (1..=rows as i64).collect::<Vec<_>>(), "each row once");
}

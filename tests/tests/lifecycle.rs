//! Stopping, restarting and starting without a source.

use conduit_e2e::*;

fn ids(lines: &[Value]) -> Vec<i64> {
    lines
        .iter()
        .map(|l| {
            l["new"]["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("no new.id: {}", short(l)))
        })
        .collect()
}

fn max_end_lsn(lines: &[Value]) -> Lsn {
    lines
        .iter()
        .map(|l| lsn(l, "end_lsn"))
        .max()
        .expect("some lines")
}

#[tokio::test]
async fn sigterm_exits_zero_and_acknowledges_what_was_delivered() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE events (id int PRIMARY KEY, v text)")
        .await;
    let mut c = f.start_conduit().await;
    f.exec("INSERT INTO events VALUES (1, 'one')").await;
    f.exec("INSERT INTO events VALUES (2, 'two'), (3, 'three')")
        .await;
    f.exec("UPDATE events SET v = 'uno' WHERE id = 1").await;
    c.wait_for_lines(4, line_deadline()).await;
    let last_end = max_end_lsn(&c.lines);

    let done = c.terminate_ok().await;
    assert_eq!(
        done.lines.len(),
        4,
        "no change delivered twice: {:#?}",
        done.lines
    );
    // Once the walsender has let go of the slot, its confirmed position covers everything the
    // sink accepted.
    let info = wait_for_slot(&f.client, &f.slot, "slot released", exit_deadline(), |i| {
        i.is_some_and(|i| !i.active)
    })
    .await
    .expect("slot still exists");
    let flushed = info.confirmed_flush_lsn.expect("confirmed_flush_lsn");
    assert!(
        flushed >= last_end,
        "confirmed_flush_lsn {flushed} < end_lsn {last_end} of the last delivered transaction"
    );
    let wal_end = current_lsn(&f.client).await;
    assert!(
        flushed <= wal_end,
        "confirmed {flushed} beyond WAL end {wal_end}"
    );
}

#[tokio::test]
async fn restart_resumes_without_loss_or_repeats() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE orders (id int PRIMARY KEY, item text)")
        .await;

    // Run 1: two transactions, then a clean stop.
    let mut c = f.start_conduit().await;
    f.exec("INSERT INTO orders VALUES (1, 'a')").await;
    f.exec("INSERT INTO orders VALUES (2, 'b'), (3, 'c')").await;
    c.wait_for_lines(3, line_deadline()).await;
    let run1 = c.terminate_ok().await.lines;
    assert_eq!(ids(&run1), [1, 2, 3]);
    let run1_end = max_end_lsn(&run1);

    // Written while nothing runs.
    f.exec("INSERT INTO orders VALUES (4, 'd')").await;
    f.exec("INSERT INTO orders VALUES (5, 'e'), (6, 'f')").await;

    // Run 2, same slot and state dir: exactly the new transactions, in order. Anything old would
    // come before them, so once id 6 is here we have seen all there is to see.
    let mut c = f.start_conduit().await;
    c.wait_for_line("id 6", line_deadline(), |l| l["new"]["id"] == 6)
        .await;
    assert_eq!(
        ids(&c.lines),
        [4, 5, 6],
        "run 2 must deliver exactly what run 1 did not: {:#?}",
        c.lines
    );
    for l in &c.lines {
        assert_well_formed(l);
        assert!(
            lsn(l, "commit_lsn") >= run1_end,
            "run 2 line from before run 1's end {run1_end}: {}",
            short(l)
        );
    }
    // And it goes on streaming live changes.
    f.exec("INSERT INTO orders VALUES (7, 'g')").await;
    c.wait_for_lines(4, line_deadline()).await;
    let run2 = c.terminate_ok().await.lines;
    assert_eq!(ids(&run2), [4, 5, 6, 7]);

    // Run 3: what run 2 delivered live is not delivered again either.
    let mut c = f.start_conduit().await;
    f.exec("INSERT INTO orders VALUES (8, 'h')").await;
    c.wait_for_line("id 8", line_deadline(), |l| l["new"]["id"] == 8)
        .await;
    assert_eq!(ids(&c.lines), [8], "{:#?}", c.lines);
    c.terminate_ok().await;
}

#[tokio::test]
async fn run_without_source_starts_a_scratch_cluster_with_demo_changes() {
    let state = tempfile::tempdir().unwrap();
    let mut c = RunConfig::new(stdout_json())
        .state_dir(state.path())
        .spawn();
    // Its own cluster has to be created first: allow twice the usual time.
    c.wait_for_lines(3, line_deadline() * 2).await;
    for l in &c.lines {
        assert_well_formed(l);
        assert!(!table(l).is_empty());
    }
    assert!(
        c.lines.iter().any(|l| op(l) == "insert"),
        "demo changes include inserts: {:#?}",
        c.lines
    );
    c.terminate_ok().await;
}

/// Ctrl-C in a terminal sends SIGINT to the whole foreground process group. The scratch
/// PostgreSQL must not get it (it would shut down under us); we stop it, in order, ourselves.
#[tokio::test]
async fn ctrl_c_to_the_process_group_stops_a_scratch_run_cleanly() {
    let state = tempfile::tempdir().unwrap();
    let mut cmd = conduit_command(RunConfig::new(stdout_json()).state_dir(state.path()).args());
    // Its own group, as a shell gives a foreground job: the signal must not reach the test runner.
    cmd.process_group(0);
    let mut c = Running::spawn(cmd);
    c.wait_for_lines(3, line_deadline() * 2).await;

    let group = format!("-{}", c.pid());
    let status = std::process::Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -INT -- {group} failed: {status}");

    let done = c.wait_exit(exit_deadline()).await;
    assert_eq!(
        done.status.code(),
        Some(0),
        "conduit-wasm should exit 0 after Ctrl-C ({})\nstderr:\n{}",
        done.status,
        done.stderr
    );
    // The server was still up for our orderly stop: it answered for the slot's position.
    let stop = done
        .stderr
        .lines()
        .find(|l| l.contains("stopped; confirmed"))
        .unwrap_or_else(|| panic!("no final stop line:\n{}", done.stderr));
    assert!(
        stop.contains("(slot reports 0/") && !done.stderr.contains("administrator command"),
        "the scratch server must not have been shut down by the terminal's SIGINT: {stop}\n{}",
        done.stderr
    );
}

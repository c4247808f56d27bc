//! SIGTERM at awkward moments: in the middle of a large transaction, while a sink call is being
//! retried, and while the server is away. Each time the process exits 0 within a bound, and the
//! next run delivers what is left: nothing lost, nothing twice.

use std::time::{Duration, Instant};

use conduit_e2e::redis::{unique_key, Redis};
use conduit_e2e::*;

/// How long a stop may take once SIGTERM is sent (the call in flight is short in these tests).
fn stop_bound() -> Duration {
    Duration::from_secs(3)
}

async fn terminate_within_bound(run: Running) -> Finished {
    let started = Instant::now();
    let pid = run.pid();
    send_sigterm(pid);
    let done = run.wait_exit(exit_deadline()).await;
    let took = started.elapsed();
    eprintln!("stopped {took:?} after SIGTERM");
    assert!(
        took < stop_bound(),
        "took {took:?} to stop:\n{}",
        done.stderr
    );
    assert!(done.status.success(), "SIGTERM exits 0:\n{}", done.stderr);
    done
}

fn ids(lines: &[Value]) -> Vec<i64> {
    lines.iter().filter_map(row_id).collect()
}

#[tokio::test]
async fn sigterm_in_the_middle_of_a_large_transaction() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    // Batches of 100 changes, each taking about 200 ms: the 2000-row transaction takes 20
    // slices and about 4 s, and SIGTERM comes after a few of them.
    let slow = Tenant::new("sink", sink("hostile"))
        .table("public.t")
        .config("mode", "slow")
        .config("n", "1")
        .config("spin_ms", "200")
        .limit("max_batch", 100);
    let file = f.tenants_file(vec![slow]);
    let mut run = f.start_tenants(&file, &[]).await;
    f.exec("INSERT INTO t SELECT g FROM generate_series(1, 2000) g")
        .await;
    let txn_end = current_lsn(&f.client).await;
    run.wait_for_tenant_changes("sink", 300, line_deadline())
        .await;
    let done = terminate_within_bound(run).await;
    let before = ids(&tenant_changes(&log_lines(&done.stderr), "sink"));
    assert!(
        before.len() < 2000,
        "stopped before the transaction was delivered ({} changes)",
        before.len()
    );
    let slot = f.slot_info().await.unwrap().confirmed_flush_lsn.unwrap();
    assert!(
        slot < txn_end,
        "the server is never told about part of a transaction: slot at {slot}, transaction ends \
         at {txn_end}"
    );

    let fast = Tenant::new("sink", stdout_json())
        .table("public.t")
        .limit("max_batch", 100);
    let file = f.tenants_file(vec![fast]);
    let mut run = f.start_tenants(&file, &[]).await;
    let after = run
        .wait_for_tenant_changes("sink", 2000 - before.len(), line_deadline())
        .await;
    let mut all = before.clone();
    all.extend(ids(&after));
    assert_eq!(
        all,
        (1..=2000).collect::<Vec<_>>(),
        "the rest of the transaction, after the {} changes accepted before the stop",
        before.len()
    );
    run.terminate_ok().await;
}

#[tokio::test]
async fn sigterm_while_a_sink_call_is_retried() {
    let redis = Redis::start(None);
    let key = unique_key("retry");
    let mut r = redis.client();
    // Every write refused: each `publish` fails with a retryable error.
    r.cmd(&["CONFIG", "SET", "min-replicas-to-write", "1"]);
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    let tenant = Tenant::new("sink", sink("redis-stream"))
        .config("addr", redis.addr.to_string())
        .config("stream", &key)
        .tcp(redis.addr.to_string())
        .table("public.t")
        .limit("max_failures", 1000);
    let file = f.tenants_file(vec![tenant]);
    let mut run = f.start_tenants(&file, &[]).await;
    f.exec("INSERT INTO t VALUES (1), (2), (3)").await;
    // Wait until the backoff has grown past the bound on stopping: the stop must not wait for it.
    run.wait_for_log("a retry with a long backoff", line_deadline(), |log| {
        log.iter()
            .any(|l| l.is_warning() && l.says_all(&["retrying in 6.4s"]))
    })
    .await;
    terminate_within_bound(run).await;
    assert_eq!(r.cmd(&["XLEN", &key]).int(), 0);

    r.cmd(&["CONFIG", "SET", "min-replicas-to-write", "0"]);
    let run = f.start_tenants(&file, &[]).await;
    eventually("the rows to arrive", line_deadline(), async || {
        match r.cmd(&["XLEN", &key]).int() {
            n if n >= 3 => Ok(()),
            n => Err(format!("{n} of 3 entries")),
        }
    })
    .await;
    run.terminate_ok().await;
    let seqs: Vec<String> = r
        .xrange(&key)
        .iter()
        .map(|(_, fields)| fields[4].1.clone())
        .map(|data| serde_json::from_str::<Value>(&data).unwrap()["new"]["id"].to_string())
        .collect();
    assert_eq!(seqs, ["1", "2", "3"], "each row once, in order");
}

// Multi-threaded: stopping the server blocks, and the child's output must still be read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_reconnecting_to_a_stopped_server() {
    let mut f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    let mut run = f.start_conduit().await;
    f.exec("INSERT INTO t VALUES (1), (2)").await;
    run.wait_for_lines(2, line_deadline()).await;

    tokio::task::block_in_place(|| f.pg.halt(ShutdownMode::Fast));
    run.wait_for_log("a reconnect attempt", line_deadline(), |log| {
        log.iter().filter(|l| l.says_all(&["reconnecting"])).count() >= 2
    })
    .await;
    terminate_within_bound(run).await;

    f.pg.start_again(streaming_deadline())
        .await
        .expect("restarting PostgreSQL");
    f.client = connect(&f.pg.url()).await;
    f.exec("INSERT INTO t VALUES (3)").await;
    let mut run = f.start_conduit().await;
    let lines = run.wait_for_lines(1, line_deadline()).await.to_vec();
    let done = run.terminate_ok().await;
    assert_eq!(ids(&done.lines), [3], "only the new row: {lines:?}");
}

//! Server faults: PostgreSQL restarted (fast and immediate shutdown), the walsender terminated,
//! the connection cut under the runtime; a `wal_sender_timeout` shorter than a sink call; a slot
//! dropped or invalidated. The runtime reconnects and loses nothing, or stops with a message that
//! says what happened; it never starts afresh silently.

use std::net::SocketAddr;

use conduit_e2e::chaos::{self, Rng, Workload};
use conduit_e2e::proxy::Proxy;
use conduit_e2e::redis::{unique_key, Redis};
use conduit_e2e::*;

#[derive(Debug, Clone, Copy)]
enum Fault {
    Restart(ShutdownMode),
    TerminateWalsender,
    CutConnection,
}

// Multi-threaded: stopping the server blocks (pg_ctl waits), and meanwhile the child's output
// must still be read, or a full pipe would stall it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restarts_and_lost_connections_lose_nothing() {
    use Fault::*;
    use ShutdownMode::*;
    let faults = [
        Restart(Fast),
        TerminateWalsender,
        CutConnection,
        Restart(Immediate),
        TerminateWalsender,
        Restart(Fast),
        CutConnection,
        Restart(Immediate),
        TerminateWalsender,
        CutConnection,
    ];
    let target = chaos::env_number("CONDUIT_FAULT_CHANGES", 100_000);
    let mut rng = Rng::from_env("server_restarts_and_lost_connections_lose_nothing");
    let redis = Redis::shared_or_new();
    let key = unique_key("faults");
    let mut r = redis.client();
    let mut f = Fixture::new().await;
    f.exec(chaos::SCHEMA).await;
    f.exec(chaos::MARKER_SCHEMA).await;
    chaos::create_oracle(&f.client).await;

    // The runtime reaches the server through a proxy whose connections the test can cut.
    let proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], f.pg.port()))).await;
    let tenant = Tenant::new("sink", sink("redis-stream"))
        .config("addr", redis.addr.to_string())
        .config("stream", &key)
        .tcp(redis.addr.to_string())
        .table("public.*");
    let mut file = f.tenants_file(vec![tenant]);
    file.source =
        f.pg.url()
            .replace(&format!(":{}/", f.pg.port()), &format!(":{}/", proxy.port));
    let config = f.state.path().join("conduit.toml");
    file.write(&config);
    let mut run = spawn_with_config(&config);
    run.wait_streaming(&f.client, &f.slot).await;

    let mut workload = Workload::new(f.pg.url(), rng.clone());
    for fault in faults {
        // Each fault hits a runtime that is streaming again after the previous one.
        run.wait_streaming(&f.client, &f.slot).await;
        workload.run(target / faults.len() as u64).await;
        // Mid-stream: the runtime is still delivering what was just committed.
        tokio::time::sleep(rng.millis(0, 400)).await;
        match fault {
            Restart(mode) => {
                tokio::task::block_in_place(|| f.pg.halt(mode));
                tokio::time::sleep(rng.millis(200, 1500)).await;
                f.pg.start_again(streaming_deadline())
                    .await
                    .expect("restarting PostgreSQL");
                f.client = connect(&f.pg.url()).await;
            }
            TerminateWalsender => {
                let ended = query_value(
                    &f.client,
                    &format!(
                        "SELECT count(pg_terminate_backend(active_pid))::text \
                         FROM pg_replication_slots WHERE slot_name = '{}' AND active",
                        f.slot
                    ),
                )
                .await;
                eprintln!("faults: terminated {ended} walsender(s)");
            }
            CutConnection => {
                let open = proxy.cut();
                eprintln!("faults: cut {open} connection(s)");
            }
        }
        assert!(
            run.is_running(),
            "conduit-wasm exited after {fault:?}:\n{}",
            run.stderr()
        );
    }
    run.wait_streaming(&f.client, &f.slot).await;
    wait_all_confirmed(&f.client, &f.slot).await;
    let done = run.terminate_ok().await;
    let reconnects = log_lines(&done.stderr)
        .iter()
        .filter(|l| l.is_warning() && l.says_all(&["reconnect"]))
        .count();

    let committed = chaos::committed_changes(&f.client).await;
    let delivered = chaos::delivered(&r.xrange(&key));
    // No stops: a change delivered twice fails the check.
    let verified = chaos::verify(&committed, &delivered, &[]);
    eprintln!(
        "faults: {} faults, {reconnects} reconnect warnings; {} transactions, {} row changes \
         committed and delivered once each",
        faults.len(),
        workload.report.transactions,
        verified.committed
    );
    assert!(
        reconnects >= faults.len() / 2,
        "the log says it reconnected ({reconnects} warnings)"
    );
    r.cmd(&["DEL", &key]);
}

#[tokio::test]
async fn a_sink_call_longer_than_wal_sender_timeout_does_not_cost_the_connection() {
    let f = Fixture::with_options(
        ScratchOptions::default()
            .fsync_off()
            .conf("wal_sender_timeout", "2s"),
    )
    .await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    // Row 2's batch takes about 6 s, three times the server's timeout.
    let slow = Tenant::new("slow", sink("hostile"))
        .table("public.t")
        .config("mode", "slow")
        .config("n", "2")
        .config("spin_ms", "6000")
        .limit("call_deadline_ms", 60_000);
    let file = f.tenants_file(vec![slow]);
    let mut run = f.start_tenants(&file, &[]).await;
    let walsender = || async {
        query_value(
            &f.client,
            &format!(
                "SELECT coalesce(active_pid, 0)::text FROM pg_replication_slots \
                 WHERE slot_name = '{}'",
                f.slot
            ),
        )
        .await
    };
    let before = walsender().await;
    for id in 1..=3 {
        f.exec(&format!("INSERT INTO t VALUES ({id})")).await;
    }
    let got = run
        .wait_for_tenant_changes("slow", 3, line_deadline())
        .await;
    assert_eq!(got.iter().filter_map(row_id).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(
        run.log()
            .iter()
            .any(|l| l.says_all(&["hostile slow: done spinning"])),
        "the slow call happened"
    );
    assert_eq!(
        walsender().await,
        before,
        "the same walsender serves the slot: the server did not drop us"
    );
    let done = run.terminate_ok().await;
    assert!(
        !log_lines(&done.stderr)
            .iter()
            .any(|l| l.says_all(&["reconnect"])),
        "no reconnect:\n{}",
        done.stderr
    );
}

/// Delivers one row, then stops: the checkpoint holds a position in the slot.
async fn deliver_one(f: &Fixture) {
    let mut run = f.start_conduit().await;
    f.exec("INSERT INTO t VALUES (1)").await;
    run.wait_for_lines(1, line_deadline()).await;
    run.terminate_ok().await;
}

fn last_line(stderr: &str) -> &str {
    stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

#[tokio::test]
async fn a_dropped_slot_stops_the_run_instead_of_starting_afresh() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    deliver_one(&f).await;

    // Dropped while stopped: the next start refuses to create a new slot.
    f.exec(&format!("SELECT pg_drop_replication_slot('{}')", f.slot))
        .await;
    f.exec("INSERT INTO t VALUES (2)").await;
    let done = f.run_config().spawn().wait_exit(exit_deadline()).await;
    assert!(!done.status.success(), "{}", done.stderr);
    let line = last_line(&done.stderr);
    assert!(
        line.contains("does not exist")
            && line.contains("skip them silently")
            && line.contains("checkpoints"),
        "{line}"
    );
    assert!(f.slot_info().await.is_none(), "no new slot was created");

    // Dropped while streaming (after its walsender is terminated): the run stops with the same
    // message when it reconnects.
    f.exec(&format!(
        "SELECT pg_create_logical_replication_slot('{}', 'pgoutput')",
        f.slot
    ))
    .await;
    let checkpoints = f.state.path().join("checkpoints");
    std::fs::remove_dir_all(&checkpoints).expect("removing the checkpoint, as the message says");
    let mut run = f.start_conduit().await;
    f.exec("INSERT INTO t VALUES (3)").await;
    run.wait_for_lines(1, line_deadline()).await;
    eventually("the slot to be dropped", line_deadline(), async || {
        f.client
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
                 WHERE slot_name = '{0}' AND active; \
                 SELECT pg_drop_replication_slot('{0}')",
                f.slot
            ))
            .await
            .map_err(|e| pg_error(&e))
    })
    .await;
    let done = run.wait_exit(exit_deadline()).await;
    assert!(!done.status.success(), "{}", done.stderr);
    let line = last_line(&done.stderr);
    assert!(line.contains("does not exist"), "{line}");
    assert!(f.slot_info().await.is_none(), "no new slot was created");
}

#[tokio::test]
async fn an_invalidated_slot_stops_the_run_and_says_why() {
    let f = Fixture::with_options(
        ScratchOptions::default()
            .fsync_off()
            .conf("max_slot_wal_keep_size", "1MB"),
    )
    .await;
    f.exec("CREATE TABLE t (id int PRIMARY KEY)").await;
    deliver_one(&f).await;
    // The server moves on by several WAL segments while nobody reads the slot; a checkpoint
    // removes the WAL the slot still needs.
    let mut id = 100;
    eventually("the slot to be invalidated", line_deadline(), async || {
        let status = query_value(
            &f.client,
            &format!(
                "SELECT coalesce(wal_status, 'none') FROM pg_replication_slots \
                 WHERE slot_name = '{}'",
                f.slot
            ),
        )
        .await;
        if status == "lost" {
            return Ok(());
        }
        id += 1;
        f.exec(&format!(
            "INSERT INTO t VALUES ({id}); SELECT pg_switch_wal(); CHECKPOINT"
        ))
        .await;
        Err(format!("wal_status {status}"))
    })
    .await;
    let done = f.run_config().spawn().wait_exit(exit_deadline()).await;
    assert!(!done.status.success(), "{}", done.stderr);
    let line = last_line(&done.stderr);
    assert!(
        line.contains("invalidated")
            && line.contains("max_slot_wal_keep_size")
            && line.contains("--on-slot-lost resnapshot"),
        "{line}"
    );

    // The opt-in: a new slot and a new snapshot, each table reset first.
    let rows: i64 = query_value(&f.client, "SELECT count(*) FROM t")
        .await
        .parse()
        .unwrap();
    let mut again = f
        .start(f.run_config().arg("--on-slot-lost").arg("resnapshot"))
        .await;
    let lines = again
        .wait_for_lines(1 + rows as usize, line_deadline())
        .await
        .to_vec();
    again.terminate_ok().await;
    assert_eq!(op(&lines[0]), "truncate", "{}", short(&lines[0]));
    let mut read: Vec<i64> = lines[1..]
        .iter()
        .filter(|l| op(l) == "read")
        .filter_map(row_id)
        .collect();
    read.sort_unstable();
    let mut want: Vec<i64> = f
        .client
        .query("SELECT id::int8 FROM t", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    want.sort_unstable();
    assert_eq!(read, want, "every row again, as reads");
    assert_eq!(
        f.slot_info().await.and_then(|s| s.plugin).as_deref(),
        Some("pgoutput"),
        "a new slot"
    );
}

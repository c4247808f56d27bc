//! Crash safety: `conduit-wasm` killed with SIGKILL at random moments while a mixed workload
//! runs, restarted each time, and the sink's Redis stream checked against PostgreSQL's own
//! record of what was committed (see `conduit_e2e::chaos`). Also: stopped with SIGTERM over and
//! over while its sink fails for a while and recovers, after which nothing is delivered twice.
//!
//! The CI version kills 20 times over 200k row changes. The long version:
//! `CONDUIT_CRASH_KILLS=60 CONDUIT_CRASH_CHANGES=1000000 cargo xtask test --test crash`.
//! A failing run prints `CONDUIT_CHAOS_SEED=...`; set it to replay the same schedule.

use conduit_e2e::chaos::{self, Rng, Stop};
use conduit_e2e::redis::{unique_key, Redis};
use conduit_e2e::*;

const TENANT: &str = "sink";

/// The configuration file of a run delivering everything to Redis stream `key`.
fn write_config(f: &Fixture, redis: &Redis, key: &str) -> (std::path::PathBuf, TenantsFile) {
    let tenant = Tenant::new(TENANT, sink("redis-stream"))
        .config("addr", redis.addr.to_string())
        .config("stream", key)
        .tcp(redis.addr.to_string())
        .table("public.*");
    let file = f.tenants_file(vec![tenant]);
    let path = f.state.path().join("conduit.toml");
    file.write(&path);
    (path, file)
}

/// Waits until the walsender of the killed process has let go of the slot, so that the next
/// process can take it (as a supervisor's restart delay would).
async fn wait_slot_released(f: &Fixture) {
    wait_for_slot(&f.client, &f.slot, "slot released", exit_deadline(), |i| {
        i.is_none_or(|i| !i.active)
    })
    .await;
}

/// Lets `run` go on until the slot has confirmed everything committed, then stops it.
async fn drain(f: &Fixture, mut run: Running) {
    run.wait_streaming(&f.client, &f.slot).await;
    wait_all_confirmed(&f.client, &f.slot).await;
    run.terminate_ok().await;
}

#[tokio::test]
async fn sigkill_at_random_moments_loses_nothing() {
    let kills = chaos::env_number("CONDUIT_CRASH_KILLS", 20) as usize;
    let target = chaos::env_number("CONDUIT_CRASH_CHANGES", 200_000);
    let mut rng = Rng::from_env("sigkill_at_random_moments_loses_nothing");
    let redis = Redis::shared_or_new();
    let key = unique_key("crash");
    let mut r = redis.client();
    let f = Fixture::new().await;
    f.exec(chaos::SCHEMA).await;
    f.exec(chaos::MARKER_SCHEMA).await;
    chaos::create_oracle(&f.client).await;
    let (config, file) = write_config(&f, &redis, &key);

    // The slot and publication exist before the workload, so nothing is missed at the start.
    let mut first = spawn_with_config(&config);
    first.wait_streaming(&f.client, &f.slot).await;
    let mut workload = chaos::Workload::new(f.pg.url(), rng.clone());
    let workload = tokio::spawn(async move { workload.run(target).await });
    let mut running = Some(first);
    let mut stops = Vec::new();
    for kill in 0..kills {
        let mut run = match running.take() {
            Some(run) => run,
            None => spawn_with_config(&config),
        };
        tokio::time::sleep(rng.millis(200, 1500)).await;
        if !run.is_running() {
            let done = run.wait_exit(exit_deadline()).await;
            panic!(
                "conduit-wasm exited on its own before kill {kill}:\n{}",
                done.stderr
            );
        }
        send_signal(run.pid(), "KILL");
        let done = run.wait_exit(exit_deadline()).await;
        assert!(!done.status.success(), "killed, it cannot have exited 0");
        stops.push(Stop {
            entries_before: r.cmd(&["XLEN", &key]).int() as usize,
            durable: chaos::read_checkpoint(&file.state_dir, TENANT),
        });
        wait_slot_released(&f).await;
    }
    let report = workload.await.expect("the workload task");
    drain(&f, spawn_with_config(&config)).await;

    let committed = chaos::committed_changes(&f.client).await;
    let delivered = chaos::delivered(&r.xrange(&key));
    let verified = chaos::verify(&committed, &delivered, &stops);
    eprintln!(
        "crash: {} kills; {} transactions, {} row changes committed; {} entries delivered, {} of \
         them again after a kill",
        stops.len(),
        report.transactions,
        verified.committed,
        verified.delivered,
        verified.duplicates
    );
    assert!(verified.committed as u64 >= target, "{verified:?}");
    r.cmd(&["DEL", &key]);
}

#[tokio::test]
async fn sigterm_while_the_sink_fails_and_recovers_delivers_nothing_twice() {
    let stops_wanted = chaos::env_number("CONDUIT_SIGTERM_STOPS", 8) as usize;
    let target = chaos::env_number("CONDUIT_SIGTERM_CHANGES", 50_000);
    let mut rng = Rng::from_env("sigterm_while_the_sink_fails_and_recovers_delivers_nothing_twice");
    // A private server: the test makes it refuse writes for a while.
    let redis = Redis::start(None);
    let key = unique_key("sigterm");
    let mut r = redis.client();
    let mut admin = redis.client();
    let f = Fixture::new().await;
    f.exec(chaos::SCHEMA).await;
    f.exec(chaos::MARKER_SCHEMA).await;
    chaos::create_oracle(&f.client).await;
    let (config, file) = write_config(&f, &redis, &key);

    let mut run = spawn_with_config(&config);
    run.wait_streaming(&f.client, &f.slot).await;
    let mut workload = chaos::Workload::new(f.pg.url(), rng.clone());
    let mut stops = Vec::new();
    for _ in 0..stops_wanted {
        // Every write refused (a replica requirement nobody meets) while a share of the workload
        // is written: each `publish` fails with a retryable error and is retried with backoff.
        // Then writes are accepted again, and the stop comes once the sink has been seen to
        // recover: a batch it had half written when writes were refused is finished by its retry
        // (a stop in the middle of a retry is the next test's subject).
        admin.cmd(&["CONFIG", "SET", "min-replicas-to-write", "1"]);
        workload.run(target / stops_wanted as u64).await;
        tokio::time::sleep(rng.millis(100, 800)).await;
        admin.cmd(&["CONFIG", "SET", "min-replicas-to-write", "0"]);
        let len = r.cmd(&["XLEN", &key]).int();
        eventually("the sink to recover", line_deadline(), async || {
            match r.cmd(&["XLEN", &key]).int() {
                now if now != len => Ok(()),
                _ => Err(format!("{len} entries still\n{}", run.stderr())),
            }
        })
        .await;
        // Stopped while it catches up.
        tokio::time::sleep(rng.millis(0, 300)).await;
        let done = run.terminate(exit_deadline()).await;
        assert!(done.status.success(), "SIGTERM exits 0:\n{}", done.stderr);
        stops.push(Stop {
            entries_before: r.cmd(&["XLEN", &key]).int() as usize,
            durable: chaos::read_checkpoint(&file.state_dir, TENANT),
        });
        wait_slot_released(&f).await;
        run = spawn_with_config(&config);
    }
    let report = workload.report;
    drain(&f, run).await;

    let committed = chaos::committed_changes(&f.client).await;
    let delivered = chaos::delivered(&r.xrange(&key));
    let verified = chaos::verify(&committed, &delivered, &stops);
    eprintln!(
        "sigterm: {} stops; {} transactions, {} row changes committed; {} entries delivered, {} \
         twice",
        stops.len(),
        report.transactions,
        verified.committed,
        verified.delivered,
        verified.duplicates
    );
    assert_eq!(
        verified.duplicates, 0,
        "after SIGTERM nothing is delivered twice"
    );
}

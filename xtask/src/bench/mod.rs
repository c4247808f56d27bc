//! `cargo xtask bench [--quick] [--repeat N] [--shapes A,B,C] [--drain-timeout SECS]
//! [--state-dir DIR] [--no-latency | --latency-only] [--record] [--no-build] [--debug]`:
//! conduit-wasm against `pg_recvlogical`, side by side, in one run (issue 5). See `USAGE` in
//! `options.rs` for the options. This file is the run's order of steps; each step lives in its
//! own file.
//!
//! 1. Builds the release runtime (`cargo build --release -p conduit-wasm`) and the sinks
//!    (`build-sinks`; the baseline sink is `test-sinks/noop`).
//! 2. Starts one scratch PostgreSQL through the hidden `conduit-wasm scratch-server` (the same
//!    `ScratchCluster` the tests use; fsync off, autovacuum off, room for many slots):
//!    `server.rs`.
//! 3. For each shape (A = 10 transactions × 100k rows, B = 200k single-row transactions, C = one
//!    transaction of 1M rows; `--quick` divides every count by 100): drops the previous shape's
//!    slots, truncates the table, creates one fresh `pgoutput` slot per consumer per repetition
//!    (all at the same position, before anything is written, so every consumer drains the
//!    identical WAL), writes the rows, and takes `pg_current_wal_lsn()` as the end position:
//!    `throughput.rs`.
//! 4. Drains each slot, one process at a time, repetitions interleaved: `pg_recvlogical --start
//!    --endpos -f /dev/null` (pgoutput, `proto_version=1`: the reference), then `conduit-wasm run
//!    --stop-at` with (a) the no-op sink, (b) `stdout-json` with its stdout on /dev/null, (c) the
//!    tenants axis (issue 13), on shapes A and B: for each N of `--tenants` (1, 100, 1,000), N
//!    no-op tenants from `--config`, each granted 1/N of the rows by a row predicate on the
//!    table's `tenant` column (`id % 1000`): tenant k of N gets the values v ≡ k (mod N), as
//!    `tenant = k` (N = 1,000), `tenant IN (k, k+N, ...)` (N = 100: ten values) or no predicate
//!    (N = 1), so that every grant is an equality the routing index looks up; shape C keeps one
//!    row of 100 such tenants; (d) on shape B, `--fan-out` (100) no-op tenants that all receive
//!    every row; on shape A also (e) `nats-jetstream` into a private `nats-server -js` (a fresh
//!    file-backed stream per drain, whose message count must equal the rows) and (f) `kafka`
//!    into a private `tansu` broker (in-memory, a fresh one-partition topic per drain), when
//!    those brokers are installed (`brokers.rs`). A drain is timed from spawn to exit (start-up included, for both); peak RSS and
//!    CPU seconds (user + system) come from the kernel's `rusage` of that one child (`wait4`,
//!    `measure.rs`); start-up is from spawn to the `streaming from` log line (every tenant's
//!    sink instantiated). conduit-wasm's exit summary must account for every row of the shape
//!    (times N with fan-out), or the run fails.
//! 5. The initial snapshot of a 1,000,000-row table into the no-op sink against `COPY` of the
//!    same table (`snapshot.rs`), with the shapes.
//! 6. Commit-to-publish latency (`latency.rs`): first `pg_recvlogical` (test_decoding with
//!    `include-timestamp=on`, the baseline), then `stdout-json`, each follows its own slot while
//!    its own `pgbench -R` run commits single-row transactions at a steady rate (10k/s; 2k/s with
//!    `--quick`); each line's commit time (`commit_time.rs`) is compared with the wall clock when
//!    this process reads the line. `--latency-only` skips steps 3 and 4.
//! 7. Prints a markdown report (machine, PostgreSQL version, date, load average, medians) and
//!    writes it to `target/bench/latest.md`; `--record` also puts it into BENCHMARKS.md
//!    (`machine.rs`, `report.rs`).
//!
//! Linux only (rusage through `wait4`, `/proc` for the machine's description). No thresholds are
//! asserted: the report says which of the targets the run met.

mod brokers;
mod commit_time;
mod latency;
mod machine;
mod measure;
mod options;
mod report;
mod server;
mod snapshot;
mod throughput;

use std::ffi::OsStr;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use super::{run, Result, Workspace};
use machine::{load_average, revision, Machine};
use measure::measure;
use options::Options;
use report::report;
use server::{log_file, tail, Server};

const TABLE: &str = "bench_rows";
const PUBLICATION: &str = "bench";
const LATENCY_TABLE: &str = "bench_lat";
const LATENCY_PUBLICATION: &str = "bench_lat";
/// The bench table's `tenant` column is `id % VALUES`: the tenants axis grants N tenants
/// `VALUES / N` values each, so N may be any divisor of it up to 1,000.
const VALUES: usize = 1000;

pub fn bench(ws: &Workspace, args: &[String]) -> Result<()> {
    let opts = Options::parse(args)?;
    if !cfg!(target_os = "linux") {
        return Err(
            "cargo xtask bench runs on Linux only (it reads /proc and wait4's rusage)".into(),
        );
    }
    super::ensure_postgres()?;
    let profile = if opts.debug { "debug" } else { "release" };
    if opts.build {
        let mut build = ws.cargo();
        build.args(["build", "-p", "conduit-wasm"]);
        if !opts.debug {
            build.arg("--release");
        }
        run(&mut build)?;
        ws.build_sinks()?;
    }
    let bin = ws.target_dir.join(profile).join("conduit-wasm");
    let sinks = ws.sinks_out_dir();
    let mut needed = vec![bin.clone(), sinks.join("stdout-json.wasm")];
    if !opts.shapes.is_empty() {
        needed.push(sinks.join("noop.wasm"));
    }
    if opts.shapes.contains(&options::Shape::A) {
        needed.push(sinks.join("nats-jetstream.wasm"));
        needed.push(sinks.join("kafka.wasm"));
    }
    for path in needed {
        if !path.is_file() {
            return Err(format!(
                "{} is missing: run without --no-build (or `cargo build [--release] -p \
                 conduit-wasm` and `cargo xtask build-sinks`)",
                path.display()
            ));
        }
    }
    let work = ws.target_dir.join("bench");
    let _ = fs::remove_dir_all(&work);
    for dir in ["state", "configs", "logs"] {
        fs::create_dir_all(work.join(dir))
            .map_err(|e| format!("creating {}: {e}", work.join(dir).display()))?;
    }
    let state = match &opts.state_dir {
        Some(dir) => {
            // Ours to clear: a directory made for this run.
            let dir = dir.join("conduit-wasm-bench-state");
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            dir
        }
        None => work.join("state"),
    };
    let load_before = load_average();
    let started = SystemTime::now();
    // The revision the binaries were built from (others may commit while the bench runs).
    let revision = revision();
    let server = Server::start(&bin, opts.repeat * opts.max_consumers() + 8)?;
    let (nats, tansu) = if opts.shapes.contains(&options::Shape::A) {
        (brokers::Nats::start(&work)?, brokers::Tansu::start()?)
    } else {
        (None, None)
    };
    let bench = Bench {
        opts: &opts,
        bin,
        noop: sinks.join("noop.wasm"),
        json: sinks.join("stdout-json.wasm"),
        nats_sink: sinks.join("nats-jetstream.wasm"),
        nats,
        kafka_sink: sinks.join("kafka.wasm"),
        tansu,
        work,
        state,
        server: &server,
    };
    bench.prepare()?;
    let mut results = Vec::new();
    let mut next_id = 0u64;
    for &shape in &opts.shapes {
        results.push(bench.shape(shape, &mut next_id)?);
    }
    // The snapshot against COPY, with the shapes (not with --latency-only).
    let snapshot = if opts.shapes.is_empty() {
        None
    } else {
        Some(bench.snapshot()?)
    };
    let latency = if opts.latency {
        bench.latency()?
    } else {
        Vec::new()
    };
    let mut machine = Machine::describe(&server, revision, load_before, load_average(), started);
    machine.state_dir = bench.state.display().to_string();
    let report = report(&opts, &machine, &results, &latency, snapshot.as_ref());
    println!("\n{report}");
    let latest = bench.work.join(if opts.quick {
        "latest-quick.md"
    } else {
        "latest.md"
    });
    fs::write(&latest, &report).map_err(|e| format!("writing {}: {e}", latest.display()))?;
    eprintln!("xtask: report written to {}", latest.display());
    if opts.state_dir.is_some() {
        let _ = fs::remove_dir_all(&bench.state);
    }
    if opts.record {
        report::record(&ws.root.join("BENCHMARKS.md"), &report)?;
    }
    Ok(())
}

/// What every step of one run shares: the options, the binaries, the scratch server and the
/// run's directories.
struct Bench<'a> {
    opts: &'a Options,
    bin: PathBuf,
    noop: PathBuf,
    json: PathBuf,
    nats_sink: PathBuf,
    /// The broker of the `nats-jetstream` drains (shape A), when `nats-server` is installed.
    nats: Option<brokers::Nats>,
    kafka_sink: PathBuf,
    /// The broker of the `kafka` drains (shape A), when `tansu` is installed.
    tansu: Option<brokers::Tansu>,
    work: PathBuf,
    /// conduit-wasm's `--state-dir` (checkpoints and the compiled-component cache).
    state: PathBuf,
    server: &'a Server,
}

impl Bench<'_> {
    /// The tables, publications and procedure of every step; then a warm compiled-component
    /// cache.
    fn prepare(&self) -> Result<()> {
        let s = self.server;
        s.psql(&[
            &format!(
                "CREATE TABLE {TABLE} (id bigint NOT NULL, tenant int NOT NULL, label text NOT NULL, \
                 amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL)"
            ),
            &format!("CREATE TABLE {LATENCY_TABLE} (LIKE {TABLE})"),
            &format!("CREATE PUBLICATION {PUBLICATION} FOR TABLE {TABLE}"),
            &format!("CREATE PUBLICATION {LATENCY_PUBLICATION} FOR TABLE {LATENCY_TABLE}"),
            &format!(
                "CREATE PROCEDURE bench_single_row_txns(n bigint, first bigint) LANGUAGE plpgsql AS $$ \
                 BEGIN FOR i IN first .. first + n - 1 LOOP \
                 INSERT INTO {TABLE} VALUES (i, i % {VALUES}, 'customer-' || i, (i % 100000) / 100.0, now()); \
                 COMMIT; END LOOP; END $$"
            ),
        ])?;
        // Warm the compiled-component cache, so that no measured drain pays for compiling a
        // sink: each sink the run uses once, on a slot that has nothing to send.
        s.psql(&["SELECT pg_create_logical_replication_slot('bench_warmup', 'pgoutput')"])?;
        let endpos = s.query("SELECT pg_current_wal_lsn()")?;
        let sinks = if self.opts.shapes.is_empty() {
            vec![&self.json]
        } else {
            vec![&self.noop, &self.json]
        };
        let mut sinks: Vec<(&PathBuf, &[&str])> = sinks.into_iter().map(|s| (s, &[][..])).collect();
        if self.nats.is_some() {
            // Its config is checked at start (an address), its broker reached only with changes.
            sinks.push((&self.nats_sink, &["--sink-config", "addr=127.0.0.1:4222"]));
        }
        if self.tansu.is_some() {
            sinks.push((
                &self.kafka_sink,
                &["--sink-config", "bootstrap=127.0.0.1:9092"],
            ));
        }
        for (sink, extra) in sinks {
            let mut cmd = self.conduit_single(sink, "bench_warmup", &endpos);
            cmd.args(extra);
            cmd.stdout(Stdio::null());
            let log = self.work.join("logs").join("warmup.log");
            cmd.stderr(log_file(&log)?);
            let m = measure(&mut cmd, Duration::from_secs(300))?;
            if !m.success {
                return Err(format!(
                    "warm-up run of {} failed ({}); its log:\n{}",
                    sink.display(),
                    m.status,
                    tail(&log, 20)
                ));
            }
        }
        s.psql(&["SELECT pg_drop_replication_slot('bench_warmup')"])?;
        Ok(())
    }

    /// `conduit-wasm run ARGS… --state-dir <state>` against the scratch server's slots, with the
    /// bench's log filter and none of the caller's `CONDUIT_*` settings; stdin is /dev/null.
    fn conduit_run<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("run")
            .args(args)
            .arg("--state-dir")
            .arg(&self.state)
            .env("RUST_LOG", "info,wasmtime=warn,cranelift=warn")
            .env_remove("CONDUIT_SOURCE")
            .env_remove("CONDUIT_STATE_DIR")
            .env_remove("CONDUIT_LOG_FORMAT")
            .stdin(Stdio::null());
        cmd
    }
}

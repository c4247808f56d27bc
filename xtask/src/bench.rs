//! `cargo xtask bench [--quick] [--repeat N] [--shapes A,B,C] [--drain-timeout SECS]
//! [--state-dir DIR] [--no-latency] [--record] [--no-build] [--debug]`: conduit-wasm against
//! `pg_recvlogical`, side by side, in one run (issue 5). See USAGE below for the options.
//!
//! 1. Builds the release runtime (`cargo build --release -p conduit-wasm`) and the sinks
//!    (`build-sinks`; the baseline sink is `test-sinks/noop`).
//! 2. Starts one scratch PostgreSQL through the hidden `conduit-wasm scratch-server` (the same
//!    `ScratchCluster` the tests use; fsync off, autovacuum off, room for many slots).
//! 3. For each shape (A = 10 transactions × 100k rows, B = 200k single-row transactions, C = one
//!    transaction of 1M rows; `--quick` divides every count by 100): drops the previous shape's
//!    slots, truncates the table, creates one fresh `pgoutput` slot per consumer per repetition
//!    (all at the same position, before anything is written, so every consumer drains the
//!    identical WAL), writes the rows, and takes `pg_current_wal_lsn()` as the end position.
//! 4. Drains each slot, one process at a time, repetitions interleaved: `pg_recvlogical --start
//!    --endpos -f /dev/null` (pgoutput, `proto_version=1`: the reference), then `conduit-wasm run
//!    --stop-at` with (a) the no-op sink, (b) `stdout-json` with its stdout on /dev/null, (c) 100
//!    no-op tenants from `--config`, each granted one `tenant` value (1 % of the rows) by a row
//!    predicate. A drain is timed from spawn to exit (start-up included, for both); peak RSS and
//!    CPU seconds (user + system) come from the kernel's `rusage` of that one child (`wait4`).
//!    conduit-wasm's exit summary must account for every row of the shape, or the run fails.
//! 5. Commit-to-publish latency: `stdout-json` follows a slot while `pgbench -R` commits
//!    single-row transactions at a steady rate (10k/s; 2k/s with `--quick`); every JSON line's
//!    `commit_time` is compared with the wall clock when this process reads the line.
//! 6. Prints a markdown report (machine, PostgreSQL version, date, load average, medians) and
//!    writes it to `target/bench/latest.md`; `--record` also puts it into BENCHMARKS.md.
//!
//! Linux only (rusage through `wait4`, `/proc` for the machine's description). No thresholds are
//! asserted: the report says which of the issue's targets the run met.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{run, Result, Workspace};

const USAGE: &str = "\
usage: cargo xtask bench [--quick] [--repeat N] [--shapes A,B,C] [--drain-timeout SECS]
                         [--state-dir DIR] [--no-latency] [--record] [--no-build] [--debug]

  --quick        every shape 100x smaller, one repetition unless --repeat (a smoke test)
  --repeat N     drains per consumer and shape; the report shows the median [default 3]
  --shapes LIST  which shapes to run, e.g. A,C [default A,B,C]
  --drain-timeout SECS
                 a drain still running after this is stopped and reported as slower than
                 the shape's rows / SECS (its later repetitions are skipped)
                 [default 120; 30 with --quick]
  --state-dir DIR
                 put conduit-wasm's state (checkpoints, fsynced per accepted batch) in a new
                 directory under DIR, e.g. /dev/shm to take the disk out of the measurement
                 [default target/bench/state]
  --no-latency   skip the commit-to-publish latency measurement
  --record       also write the report into BENCHMARKS.md (between its bench markers)
  --no-build     use the runtime and sinks already built
  --debug        use the debug runtime (cargo build -p conduit-wasm, as `cargo xtask test`
                 builds it) instead of the release one: a cheap smoke test with --quick,
                 meaningless numbers";

/// Marks the generated part of BENCHMARKS.md.
const BEGIN_MARK: &str = "<!-- bench:begin (written by `cargo xtask bench --record`) -->";
const END_MARK: &str = "<!-- bench:end -->";

const TABLE: &str = "bench_rows";
const PUBLICATION: &str = "bench";
const LATENCY_TABLE: &str = "bench_lat";
const LATENCY_PUBLICATION: &str = "bench_lat";
const TENANTS: usize = 100;

struct Options {
    quick: bool,
    repeat: usize,
    shapes: Vec<Shape>,
    latency: bool,
    record: bool,
    build: bool,
    debug: bool,
    drain_timeout: Duration,
    state_dir: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut quick = false;
        let mut repeat = None;
        let mut shapes = vec![Shape::A, Shape::B, Shape::C];
        let mut latency = true;
        let mut record = false;
        let mut build = true;
        let mut debug = false;
        let mut drain_timeout = None;
        let mut state_dir = None;
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f, Some(v.to_string())),
                None => (arg.as_str(), None),
            };
            let mut value = |name: &str| -> Result<String> {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
            };
            match flag {
                "--quick" => quick = true,
                "--repeat" => {
                    let v = value("--repeat")?;
                    repeat = Some(
                        v.parse::<usize>()
                            .ok()
                            .filter(|n| (1..=15).contains(n))
                            .ok_or_else(|| format!("--repeat {v}: give a number from 1 to 15"))?,
                    );
                }
                "--shapes" => {
                    shapes = value("--shapes")?
                        .split(',')
                        .map(|s| match s.trim() {
                            "A" | "a" => Ok(Shape::A),
                            "B" | "b" => Ok(Shape::B),
                            "C" | "c" => Ok(Shape::C),
                            other => Err(format!("unknown shape {other:?}: A, B or C")),
                        })
                        .collect::<Result<_>>()?;
                }
                "--drain-timeout" => {
                    let v = value("--drain-timeout")?;
                    drain_timeout =
                        Some(v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                            format!("--drain-timeout {v}: give a number of seconds")
                        })?);
                }
                "--state-dir" => state_dir = Some(PathBuf::from(value("--state-dir")?)),
                "--no-latency" => latency = false,
                "--record" => record = true,
                "--no-build" => build = false,
                "--debug" => debug = true,
                "-h" | "--help" => return Err(USAGE.to_string()),
                other => return Err(format!("unknown bench option `{other}`\n{USAGE}")),
            }
        }
        if record && (quick || debug) {
            return Err("--record keeps full release runs only: drop --quick and --debug".into());
        }
        Ok(Options {
            quick,
            repeat: repeat.unwrap_or(if quick { 1 } else { 3 }),
            shapes,
            latency,
            record,
            build,
            debug,
            state_dir,
            drain_timeout: Duration::from_secs(drain_timeout.unwrap_or(if quick {
                30
            } else {
                120
            })),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    A,
    B,
    C,
}

impl Shape {
    /// (transactions, rows per transaction) at full size.
    fn full_size(self) -> (u64, u64) {
        match self {
            Shape::A => (10, 100_000),
            Shape::B => (200_000, 1),
            Shape::C => (1, 1_000_000),
        }
    }

    fn size(self, quick: bool) -> (u64, u64) {
        let (txns, rows) = self.full_size();
        match (self, quick) {
            (_, false) => (txns, rows),
            (Shape::B, true) => (txns / 100, rows),
            (_, true) => (txns, rows / 100),
        }
    }

    fn letter(self) -> char {
        match self {
            Shape::A => 'a',
            Shape::B => 'b',
            Shape::C => 'c',
        }
    }

    fn label(self, quick: bool) -> String {
        let (txns, rows) = self.size(quick);
        let name = match self {
            Shape::A => "A",
            Shape::B => "B",
            Shape::C => "C",
        };
        format!("{name}: {} × {} rows", count(txns), count(rows))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Consumer {
    Recvlogical,
    Noop,
    StdoutJson,
    Tenants,
}

const CONSUMERS: [Consumer; 4] = [
    Consumer::Recvlogical,
    Consumer::Noop,
    Consumer::StdoutJson,
    Consumer::Tenants,
];

impl Consumer {
    fn key(self) -> &'static str {
        match self {
            Consumer::Recvlogical => "recv",
            Consumer::Noop => "noop",
            Consumer::StdoutJson => "json",
            Consumer::Tenants => "tenants",
        }
    }

    fn label(self) -> String {
        match self {
            Consumer::Recvlogical => "pg_recvlogical → /dev/null".into(),
            Consumer::Noop => "conduit-wasm, no-op sink".into(),
            Consumer::StdoutJson => "conduit-wasm, stdout-json → /dev/null".into(),
            Consumer::Tenants => format!("conduit-wasm, {TENANTS} no-op tenants × 1 %"),
        }
    }
}

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
    for path in [
        bin.clone(),
        sinks.join("noop.wasm"),
        sinks.join("stdout-json.wasm"),
    ] {
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
    let server = Server::start(&bin, opts.repeat * CONSUMERS.len() + 8)?;
    let bench = Bench {
        opts: &opts,
        bin,
        noop: sinks.join("noop.wasm"),
        json: sinks.join("stdout-json.wasm"),
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
    let latency = if opts.latency {
        Some(bench.latency()?)
    } else {
        None
    };
    let mut machine = Machine::describe(&server, revision, load_before, load_average(), started);
    machine.state_dir = bench.state.display().to_string();
    let report = report(&opts, &machine, &results, latency.as_ref());
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
        record(&ws.root.join("BENCHMARKS.md"), &report)?;
    }
    Ok(())
}

struct Bench<'a> {
    opts: &'a Options,
    bin: PathBuf,
    noop: PathBuf,
    json: PathBuf,
    work: PathBuf,
    /// conduit-wasm's `--state-dir` (checkpoints and the compiled-component cache).
    state: PathBuf,
    server: &'a Server,
}

/// One drain of one slot.
#[derive(Debug, Clone, Copy)]
struct Drain {
    wall: Duration,
    cpu: Duration,
    max_rss_kib: u64,
    /// Stopped at `--drain-timeout`: `wall` is a lower bound.
    timed_out: bool,
}

struct ShapeResult {
    shape: Shape,
    rows: u64,
    write_time: Duration,
    wal_bytes: u64,
    drains: Vec<(Consumer, Vec<Drain>)>,
}

impl Bench<'_> {
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
                 INSERT INTO {TABLE} VALUES (i, i % 100, 'customer-' || i, (i % 100000) / 100.0, now()); \
                 COMMIT; END LOOP; END $$"
            ),
        ])?;
        // Warm the compiled-component cache, so that no measured drain pays for compiling a
        // sink: each sink once, on a slot that has nothing to send.
        s.psql(&["SELECT pg_create_logical_replication_slot('bench_warmup', 'pgoutput')"])?;
        let endpos = s.query("SELECT pg_current_wal_lsn()")?;
        for sink in [&self.noop, &self.json] {
            let mut cmd = self.conduit_single(sink, "bench_warmup", &endpos);
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

    fn shape(&self, shape: Shape, next_id: &mut u64) -> Result<ShapeResult> {
        let s = self.server;
        let quick = self.opts.quick;
        let (txns, per_txn) = shape.size(quick);
        let rows = txns * per_txn;
        eprintln!("xtask: bench shape {}", shape.label(quick));
        s.psql(&[
            "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots \
             WHERE slot_name LIKE 'bench\\_%'",
            &format!("TRUNCATE {TABLE}"),
            "CHECKPOINT",
        ])?;
        let slot = |c: Consumer, rep: usize| format!("bench_{}_{}_{rep}", shape.letter(), c.key());
        let mut create = Vec::new();
        for rep in 0..self.opts.repeat {
            for c in CONSUMERS {
                create.push(format!(
                    "SELECT pg_create_logical_replication_slot('{}', 'pgoutput')",
                    slot(c, rep)
                ));
            }
        }
        s.psql(&create.iter().map(String::as_str).collect::<Vec<_>>())?;
        let start_lsn = s.query("SELECT pg_current_wal_lsn()")?;

        let write_started = Instant::now();
        let first = *next_id;
        match shape {
            Shape::B => {
                s.psql(&[&format!("CALL bench_single_row_txns({rows}, {first})")])?;
            }
            Shape::A | Shape::C => {
                let statements: Vec<String> = (0..txns)
                    .map(|t| {
                        let a = first + t * per_txn;
                        let b = a + per_txn - 1;
                        format!(
                            "INSERT INTO {TABLE} SELECT g, g % 100, 'customer-' || g, \
                             (g % 100000) / 100.0, now() FROM generate_series({a}::bigint, {b}) g"
                        )
                    })
                    .collect();
                s.psql(&statements.iter().map(String::as_str).collect::<Vec<_>>())?;
            }
        }
        *next_id += rows;
        let write_time = write_started.elapsed();
        let endpos = s.query("SELECT pg_current_wal_lsn()")?;
        let wal_bytes = s
            .query(&format!(
                "SELECT pg_wal_lsn_diff('{endpos}', '{start_lsn}')::bigint"
            ))?
            .parse::<u64>()
            .unwrap_or(0);
        eprintln!(
            "xtask:   wrote {} rows in {:.1}s ({:.1} MiB of WAL), end position {endpos}",
            count(rows),
            write_time.as_secs_f64(),
            wal_bytes as f64 / 1048576.0
        );

        let mut drains: Vec<(Consumer, Vec<Drain>)> =
            CONSUMERS.iter().map(|&c| (c, Vec::new())).collect();
        for rep in 0..self.opts.repeat {
            for (c, list) in drains.iter_mut() {
                if list.iter().any(|d| d.timed_out) {
                    continue; // it would time out again
                }
                let d = self.drain(*c, &slot(*c, rep), &endpos, rows)?;
                eprintln!(
                    "xtask:   {:<44} {}{:>8.2}s {:>12} rows/s {:>7.1} MiB {:>7.2} CPU s",
                    c.label(),
                    if d.timed_out { ">" } else { " " },
                    d.wall.as_secs_f64(),
                    count((rows as f64 / d.wall.as_secs_f64()) as u64),
                    d.max_rss_kib as f64 / 1024.0,
                    d.cpu.as_secs_f64()
                );
                list.push(d);
            }
        }
        s.psql(&[
            "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots \
             WHERE slot_name LIKE 'bench\\_%'",
        ])?;
        Ok(ShapeResult {
            shape,
            rows,
            write_time,
            wal_bytes,
            drains,
        })
    }

    fn conduit_single(&self, sink: &Path, slot: &str, endpos: &str) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("run")
            .arg(sink)
            .args(["--source", &self.server.url])
            .args(["--slot", slot, "--publication", PUBLICATION])
            .args(["--stop-at", endpos])
            .arg("--state-dir")
            .arg(&self.state)
            .env("RUST_LOG", "info,wasmtime=warn,cranelift=warn")
            .env_remove("CONDUIT_SOURCE")
            .env_remove("CONDUIT_STATE_DIR")
            .env_remove("CONDUIT_LOG_FORMAT")
            .stdin(Stdio::null());
        cmd
    }

    /// A `--config` file: `TENANTS` no-op tenants, tenant `n` granted the rows with `tenant = n`.
    fn tenants_config(&self, slot: &str) -> Result<PathBuf> {
        let mut text = format!(
            "# Written by `cargo xtask bench`.\nslot = \"{slot}\"\npublication = \"{PUBLICATION}\"\n"
        );
        let sink = self.noop.display().to_string().replace('\\', "\\\\");
        for n in 0..TENANTS {
            let _ = write!(
                text,
                "\n[[tenants]]\nid = \"t{n:02}\"\nsink = \"{sink}\"\n\n[[tenants.grants]]\n\
                 tables = [\"public.{TABLE}\"]\nwhere = \"tenant = {n}\"\n"
            );
        }
        let path = self.work.join("configs").join(format!("{slot}.toml"));
        fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(path)
    }

    fn drain(&self, consumer: Consumer, slot: &str, endpos: &str, rows: u64) -> Result<Drain> {
        let log = self.work.join("logs").join(format!("{slot}.log"));
        let mut cmd = match consumer {
            Consumer::Recvlogical => {
                let mut cmd = Command::new(self.server.bindir.join("pg_recvlogical"));
                cmd.args([
                    "-d",
                    &self.server.url,
                    "--slot",
                    slot,
                    "--start",
                    "--no-loop",
                ])
                .arg(format!("--endpos={endpos}"))
                .args(["-f", "/dev/null"])
                .args(["-o", "proto_version=1"])
                .args(["-o", &format!("publication_names={PUBLICATION}")])
                .stdin(Stdio::null());
                cmd
            }
            Consumer::Noop => self.conduit_single(&self.noop, slot, endpos),
            Consumer::StdoutJson => self.conduit_single(&self.json, slot, endpos),
            Consumer::Tenants => {
                let config = self.tenants_config(slot)?;
                let mut cmd = Command::new(&self.bin);
                cmd.arg("run")
                    .arg("--config")
                    .arg(config)
                    .args(["--source", &self.server.url])
                    .args(["--stop-at", endpos])
                    .arg("--state-dir")
                    .arg(&self.state)
                    .env("RUST_LOG", "info,wasmtime=warn,cranelift=warn")
                    .env_remove("CONDUIT_SOURCE")
                    .env_remove("CONDUIT_STATE_DIR")
                    .env_remove("CONDUIT_LOG_FORMAT")
                    .stdin(Stdio::null());
                cmd
            }
        };
        cmd.stdout(Stdio::null()).stderr(log_file(&log)?);
        let m = measure(&mut cmd, self.opts.drain_timeout)?;
        if m.timed_out {
            eprintln!(
                "xtask:   {} on slot {slot} was stopped after {:?} (--drain-timeout)",
                consumer.label(),
                self.opts.drain_timeout
            );
            return Ok(Drain {
                wall: m.wall,
                cpu: m.cpu,
                max_rss_kib: m.max_rss_kib,
                timed_out: true,
            });
        }
        if !m.success {
            return Err(format!(
                "{} on slot {slot} failed ({}); log {}:\n{}",
                consumer.label(),
                m.status,
                log.display(),
                tail(&log, 20)
            ));
        }
        if consumer != Consumer::Recvlogical {
            let text = fs::read_to_string(&log).unwrap_or_default();
            match delivered_changes(&text) {
                Some(n) if n == rows => {}
                Some(n) => {
                    return Err(format!(
                        "{} on slot {slot} delivered {n} changes, expected {rows}: it stopped \
                         early or repeated changes; log {}",
                        consumer.label(),
                        log.display()
                    ))
                }
                None => eprintln!(
                    "xtask:   warning: could not read the delivered count from {}",
                    log.display()
                ),
            }
        }
        Ok(Drain {
            wall: m.wall,
            cpu: m.cpu,
            max_rss_kib: m.max_rss_kib,
            timed_out: false,
        })
    }

    /// Commit-to-publish latency of `stdout-json` at a steady commit rate.
    fn latency(&self) -> Result<Latency> {
        let s = self.server;
        let (rate, seconds) = if self.opts.quick {
            (2_000, 3)
        } else {
            (10_000, 20)
        };
        eprintln!("xtask: bench latency at {rate} transactions/s for {seconds}s");
        let slot = "bench_latency";
        s.psql(&[&format!(
            "SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput')"
        )])?;
        let log = self.work.join("logs").join(format!("{slot}.log"));
        let mut cmd = Command::new(&self.bin);
        cmd.arg("run")
            .arg(&self.json)
            .args(["--source", &s.url])
            .args(["--slot", slot, "--publication", LATENCY_PUBLICATION])
            .arg("--state-dir")
            .arg(&self.state)
            .env("RUST_LOG", "info,wasmtime=warn,cranelift=warn")
            .env_remove("CONDUIT_SOURCE")
            .env_remove("CONDUIT_STATE_DIR")
            .env_remove("CONDUIT_LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file(&log)?);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.bin.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let seen = Arc::new(AtomicUsize::new(0));
        let reader = {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut unparsed = 0usize;
                let mut line = String::new();
                let mut input = BufReader::with_capacity(1 << 16, stdout);
                loop {
                    line.clear();
                    match input.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_micros() as i64)
                        .unwrap_or(0);
                    match commit_time_micros(&line) {
                        Some(t) => latencies.push(now - t),
                        None => unparsed += 1,
                    }
                    seen.fetch_add(1, Ordering::Relaxed);
                }
                (latencies, unparsed)
            })
        };
        let result = (|| -> Result<(f64, u64)> {
            // Streaming has started once the slot is in use.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let active = s.query(&format!(
                    "SELECT active FROM pg_replication_slots WHERE slot_name = '{slot}'"
                ))?;
                if active == "t" {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "conduit-wasm did not start streaming within 60s; log {}:\n{}",
                        log.display(),
                        tail(&log, 20)
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            std::thread::sleep(Duration::from_secs(1));
            let script = self.work.join("configs").join("latency.pgbench");
            fs::write(
                &script,
                format!(
                    "\\set id random(1, 1000000000)\nINSERT INTO {LATENCY_TABLE} VALUES \
                     (:id, :id % 100, 'customer-' || :id, (:id % 100000) / 100.0, now());\n"
                ),
            )
            .map_err(|e| format!("writing {}: {e}", script.display()))?;
            let out = Command::new(s.bindir.join("pgbench"))
                .args(["-n", "-c", "2", "-j", "2"])
                .args(["-R", &rate.to_string(), "-T", &seconds.to_string()])
                .arg("-f")
                .arg(&script)
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &s.port,
                    "-U",
                    "postgres",
                    "postgres",
                ])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("running pgbench: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if !out.status.success() {
                return Err(format!(
                    "pgbench failed ({}): {}{}",
                    out.status,
                    text,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let tps = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("tps = "))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0);
            let committed: u64 = s
                .query(&format!("SELECT count(*) FROM {LATENCY_TABLE}"))?
                .parse()
                .unwrap_or(0);
            let deadline = Instant::now() + Duration::from_secs(120);
            while (seen.load(Ordering::Relaxed) as u64) < committed {
                if Instant::now() > deadline {
                    return Err(format!(
                        "stdout-json printed {} of {committed} changes within 120s of the load's end",
                        seen.load(Ordering::Relaxed)
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok((tps, committed))
        })();
        // SIGTERM: the runtime finishes its call, acknowledges, and exits 0.
        unsafe {
            sys::kill(pid as i32, sys::SIGTERM);
        }
        let m = wait_measured(pid, Instant::now(), Duration::from_secs(60));
        drop(child);
        let (mut latencies, unparsed) = reader.join().map_err(|_| "latency reader panicked")?;
        let m = m?;
        let (tps, committed) = result?;
        if !m.success {
            return Err(format!(
                "conduit-wasm (latency run) failed on SIGTERM ({}); log {}:\n{}",
                m.status,
                log.display(),
                tail(&log, 20)
            ));
        }
        s.psql(&[&format!("SELECT pg_drop_replication_slot('{slot}')")])?;
        latencies.sort_unstable();
        Ok(Latency {
            rate,
            seconds,
            achieved_tps: tps,
            committed,
            unparsed,
            latencies_us: latencies,
            max_rss_kib: m.max_rss_kib,
        })
    }
}

struct Latency {
    rate: u32,
    seconds: u32,
    achieved_tps: f64,
    committed: u64,
    unparsed: usize,
    latencies_us: Vec<i64>,
    max_rss_kib: u64,
}

impl Latency {
    fn percentile(&self, p: f64) -> Option<f64> {
        let v = &self.latencies_us;
        if v.is_empty() {
            return None;
        }
        let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        Some(v[i.min(v.len() - 1)] as f64 / 1000.0)
    }
}

/// The sum of the `N changes in M batches` of conduit-wasm's exit summary (one line per tenant).
fn delivered_changes(log: &str) -> Option<u64> {
    let mut total = None;
    for line in log.lines() {
        let Some(at) = line.find(" changes in ") else {
            continue;
        };
        let n = line[..at]
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|d| d.parse::<u64>().ok())?;
        *total.get_or_insert(0) += n;
    }
    total
}

/// `"commit_time":"2026-11-24T01:13:23.417581Z"` of a JSON line, as microseconds since 1970.
fn commit_time_micros(line: &str) -> Option<i64> {
    const KEY: &str = "\"commit_time\":\"";
    let start = line.find(KEY)? + KEY.len();
    let text = &line[start..];
    let text = &text[..text.find('"')?];
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, mo, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    let digits = frac.len().min(6);
    let micros = frac[..digits].parse::<i64>().ok()? * 10i64.pow((6 - digits) as u32);
    let days = days_from_civil(y, mo, day);
    Some((((days * 24 + h) * 60 + mi) * 60 + s) * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        s / 3600,
        s / 60 % 60
    )
}

/// The scratch PostgreSQL, run by `conduit-wasm scratch-server` until its stdin closes.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    url: String,
    port: String,
    bindir: PathBuf,
    log: PathBuf,
}

impl Server {
    fn start(bin: &Path, slots: usize) -> Result<Server> {
        let mut cmd = Command::new(bin);
        cmd.arg("scratch-server")
            .arg("--fsync-off")
            .args([
                "--conf",
                &format!("max_replication_slots={}", slots.max(16)),
            ])
            .args(["--conf", "max_wal_senders=16"])
            .args(["--conf", "max_wal_size=8GB"])
            .args(["--conf", "checkpoint_timeout=1h"])
            .args(["--conf", "autovacuum=off"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        eprintln!("xtask: starting a scratch PostgreSQL (`conduit-wasm scratch-server`)");
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("starting {} scratch-server: {e}", bin.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut fields = std::collections::HashMap::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading scratch-server output: {e}"))?;
            if line == "ready" {
                break;
            }
            if let Some((k, v)) = line.split_once('=') {
                fields.insert(k.to_string(), v.to_string());
            }
        }
        let mut server = Server {
            child,
            stdin,
            url: String::new(),
            port: String::new(),
            bindir: PathBuf::new(),
            log: PathBuf::new(),
        };
        let (Some(url), Some(bindir)) = (fields.remove("url"), fields.remove("bindir")) else {
            return Err("conduit-wasm scratch-server stopped before it was ready".into());
        };
        server.port = url
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split('/').next())
            .unwrap_or("5432")
            .to_string();
        server.url = url;
        server.bindir = PathBuf::from(bindir);
        server.log = fields.remove("log").map(PathBuf::from).unwrap_or_default();
        Ok(server)
    }

    /// Runs each statement in its own transaction (one `-c` each); returns psql's output.
    fn psql(&self, statements: &[&str]) -> Result<String> {
        let mut cmd = Command::new(self.bindir.join("psql"));
        cmd.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &self.url,
        ]);
        for s in statements {
            cmd.args(["-c", s]);
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running psql: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "psql failed ({}): {}\nstatements: {}\nserver log tail:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                statements.join("; "),
                tail(&self.log, 10)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn query(&self, sql: &str) -> Result<String> {
        self.psql(&[sql])
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // End of file on its stdin stops the server and removes its directory.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_file(path: &Path) -> Result<fs::File> {
    fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The kernel's account of one child process.
struct Measured {
    wall: Duration,
    cpu: Duration,
    max_rss_kib: u64,
    success: bool,
    status: String,
    /// Killed by the watchdog.
    timed_out: bool,
}

/// Runs `cmd` to its end: wall time from spawn to exit, and its own `rusage` (user + system CPU,
/// peak RSS). Killed after `timeout`.
fn measure(cmd: &mut Command, timeout: Duration) -> Result<Measured> {
    let started = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", cmd.get_program().to_string_lossy()))?;
    let pid = child.id();
    // `child` is reaped by `wait_measured`, never by `Child::wait`.
    drop(child);
    wait_measured(pid, started, timeout)
}

/// Waits for child `pid` to exit (SIGKILL after `timeout`), then reaps it with its rusage.
fn wait_measured(pid: u32, started: Instant, timeout: Duration) -> Result<Measured> {
    // A watchdog kills the child if it outlives the timeout. It runs only while the child has
    // not been reaped (waitid WNOWAIT leaves it a zombie), so its pid cannot have been reused.
    let done = Arc::new((Mutex::new(false), Condvar::new()));
    let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        let killed = killed.clone();
        std::thread::spawn(move || {
            let (lock, cvar) = &*done;
            let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            let (guard, result) = cvar
                .wait_timeout_while(guard, timeout, |done| !*done)
                .unwrap_or_else(|e| e.into_inner());
            if result.timed_out() && !*guard {
                killed.store(true, Ordering::SeqCst);
                unsafe {
                    sys::kill(pid as i32, sys::SIGKILL);
                }
            }
        })
    };
    let mut info = sys::SigInfo([0; 128]);
    loop {
        let r = unsafe { sys::waitid(sys::P_PID, pid, &mut info, sys::WEXITED | sys::WNOWAIT) };
        if r == 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("waiting for process {pid}: {err}"));
        }
    }
    let wall = started.elapsed();
    {
        let (lock, cvar) = &*done;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
    }
    let _ = watchdog.join();
    let mut status = 0;
    let mut usage = sys::Rusage::default();
    let r = unsafe { sys::wait4(pid as i32, &mut status, 0, &mut usage) };
    if r != pid as i32 {
        return Err(format!(
            "reaping process {pid}: {}",
            std::io::Error::last_os_error()
        ));
    }
    let tv = |t: &sys::Timeval| Duration::from_micros((t.sec as u64) * 1_000_000 + t.usec as u64);
    let signal = status & 0x7f;
    let code = (status >> 8) & 0xff;
    Ok(Measured {
        wall,
        cpu: tv(&usage.utime) + tv(&usage.stime),
        max_rss_kib: usage.maxrss as u64,
        success: signal == 0 && code == 0,
        status: if signal != 0 {
            format!("killed by signal {signal}")
        } else {
            format!("exit status {code}")
        },
        timed_out: killed.load(Ordering::SeqCst),
    })
}

/// The few libc calls std does not expose (Linux, 64-bit layouts).
mod sys {
    use std::os::raw::{c_int, c_long, c_uint};

    #[repr(C)]
    #[derive(Default)]
    pub struct Timeval {
        pub sec: c_long,
        pub usec: c_long,
    }

    #[repr(C)]
    #[derive(Default)]
    pub struct Rusage {
        pub utime: Timeval,
        pub stime: Timeval,
        /// Peak resident set size, KiB.
        pub maxrss: c_long,
        pub rest: [c_long; 13],
    }

    /// `siginfo_t` is 128 bytes; we never read it.
    #[repr(C, align(8))]
    pub struct SigInfo(pub [u8; 128]);

    pub const P_PID: c_int = 1;
    pub const WEXITED: c_int = 4;
    pub const WNOWAIT: c_int = 0x0100_0000;
    pub const SIGKILL: c_int = 9;
    pub const SIGTERM: c_int = 15;

    extern "C" {
        pub fn waitid(idtype: c_int, id: c_uint, infop: *mut SigInfo, options: c_int) -> c_int;
        pub fn wait4(pid: c_int, status: *mut c_int, options: c_int, usage: *mut Rusage) -> c_int;
        pub fn kill(pid: c_int, sig: c_int) -> c_int;
    }
}

struct Machine {
    cpus: usize,
    model: String,
    mem: String,
    kernel: String,
    postgres: String,
    revision: String,
    date: String,
    load_before: String,
    load_after: String,
    /// Where conduit-wasm's checkpoints were fsynced.
    state_dir: String,
}

impl Machine {
    fn describe(
        server: &Server,
        revision: String,
        load_before: String,
        load_after: String,
        started: SystemTime,
    ) -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown CPU".into());
        let mem = fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map(|kib| format!("{:.1} GiB RAM", kib / 1048576.0))
            .unwrap_or_else(|| "unknown RAM".into());
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| format!("Linux {}", s.trim()))
            .unwrap_or_else(|_| "Linux".into());
        let postgres = server
            .query("SHOW server_version")
            .map(|v| format!("PostgreSQL {v}"))
            .unwrap_or_else(|_| "PostgreSQL (version unknown)".into());
        Machine {
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            model,
            mem,
            kernel,
            postgres,
            revision,
            date: utc(started),
            load_before,
            load_after,
            state_dir: String::new(),
        }
    }
}

/// `git rev-parse --short HEAD`, with " + local changes" when tracked files differ from it.
fn revision() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            format!("{rev}{}", if dirty { " + local changes" } else { "" })
        }
        None => "unknown revision".into(),
    }
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Medians of one consumer's drains of one shape.
struct Summary {
    /// Some drain hit `--drain-timeout`: rows/s is an upper bound.
    timed_out: bool,
    wall: f64,
    rows_per_s: f64,
    rss_mib: f64,
    cpu: f64,
    spread: f64,
}

fn summarize(rows: u64, drains: &[Drain]) -> Summary {
    let walls: Vec<f64> = drains.iter().map(|d| d.wall.as_secs_f64()).collect();
    let wall = median(walls.clone());
    let min = walls.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = walls.iter().cloned().fold(0.0, f64::max);
    Summary {
        timed_out: drains.iter().any(|d| d.timed_out),
        wall,
        rows_per_s: rows as f64 / wall,
        rss_mib: median(
            drains
                .iter()
                .map(|d| d.max_rss_kib as f64 / 1024.0)
                .collect(),
        ),
        cpu: median(drains.iter().map(|d| d.cpu.as_secs_f64()).collect()),
        spread: if drains.len() > 1 {
            (max - min) / wall
        } else {
            0.0
        },
    }
}

/// `1234567` → `1,234,567`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn report(
    opts: &Options,
    m: &Machine,
    results: &[ShapeResult],
    latency: Option<&Latency>,
) -> String {
    let mut r = String::new();
    let _ = writeln!(
        r,
        "### `cargo xtask bench{}{}` — {}\n",
        if opts.quick { " --quick" } else { "" },
        if opts.debug { " --debug" } else { "" },
        m.date
    );
    let _ = writeln!(
        r,
        "{} × {}, {}, {}; {} (scratch cluster on loopback TCP, fsync off); conduit-wasm {} \
         (state directory {}). Median of {} drain{} per row. Load average (1/5/15 min) {} at the \
         start, {} at the end.\n",
        m.cpus,
        m.model,
        m.mem,
        m.kernel,
        m.postgres,
        m.revision,
        m.state_dir,
        opts.repeat,
        if opts.repeat == 1 { "" } else { "s" },
        m.load_before,
        m.load_after,
    );
    let _ = writeln!(
        r,
        "| shape | consumer | rows/s | × pg_recvlogical | peak RSS MiB | CPU s | wall s | spread |"
    );
    let _ = writeln!(r, "|---|---|---:|---:|---:|---:|---:|---:|");
    let mut targets = Vec::new();
    for res in results {
        let get = |c: Consumer| {
            res.drains
                .iter()
                .find(|(k, _)| *k == c)
                .map(|(_, d)| summarize(res.rows, d))
        };
        let reference = get(Consumer::Recvlogical);
        let noop = get(Consumer::Noop);
        for c in CONSUMERS {
            let Some(s) = get(c) else { continue };
            let ratio = reference
                .as_ref()
                .map(|r| s.rows_per_s / r.rows_per_s)
                .unwrap_or(f64::NAN);
            let bound = if s.timed_out { "< " } else { "" };
            let mut ratio_text = format!("{bound}{ratio:.2}");
            if c == Consumer::Tenants {
                if let Some(n) = &noop {
                    let _ = write!(
                        ratio_text,
                        " ({bound}{:.2} × no-op)",
                        s.rows_per_s / n.rows_per_s
                    );
                }
            }
            let _ = writeln!(
                r,
                "| {} | {} | {bound}{} | {} | {:.1} | {:.2} | {}{:.2} | {} |",
                res.shape.label(opts.quick),
                c.label(),
                count(s.rows_per_s as u64),
                ratio_text,
                s.rss_mib,
                s.cpu,
                if s.timed_out { "> " } else { "" },
                s.wall,
                if s.timed_out {
                    "stopped".to_string()
                } else {
                    format!("±{:.0} %", s.spread * 50.0)
                },
            );
            // The issue's targets.
            let shape = res.shape;
            let check = |ok: bool| if ok { "met" } else { "NOT met" };
            match c {
                Consumer::Noop if shape != Shape::C => targets.push(format!(
                    "no-op sink ≥ 0.90 × pg_recvlogical on {shape:?}: {ratio:.2} — {}",
                    check(ratio >= 0.9)
                )),
                Consumer::StdoutJson if shape != Shape::C => targets.push(format!(
                    "stdout-json ≥ 0.75 × pg_recvlogical on {shape:?}: {ratio:.2} — {}",
                    check(ratio >= 0.75)
                )),
                Consumer::Tenants => {
                    if let Some(n) = &noop {
                        let x = s.rows_per_s / n.rows_per_s;
                        targets.push(format!(
                            "{TENANTS} tenants × 1 % ≥ 0.70 × one no-op tenant on {shape:?}: \
                             {x:.2} — {}",
                            check(x >= 0.7)
                        ));
                    }
                }
                _ => {}
            }
            if c == Consumer::Noop {
                let cap = if shape == Shape::C { 128.0 } else { 64.0 };
                targets.push(format!(
                    "peak RSS of one tenant ≤ {cap:.0} MiB on {shape:?}: {:.1} MiB — {}",
                    s.rss_mib,
                    check(s.rss_mib <= cap)
                ));
            }
        }
    }
    let _ = writeln!(
        r,
        "\nrows/s = the shape's rows ÷ the drain's wall time, process start to exit (start-up, \
         connection and slot checks included, for pg_recvlogical too). Peak RSS and CPU (user + \
         system) are the kernel's rusage of that one process; the walsender's own CPU is not \
         counted. spread = (slowest − fastest) ÷ 2 ÷ median. \"stopped\": the drain was still \
         running after --drain-timeout ({}s) and was killed, so its rows/s is an upper bound and \
         its other repetitions were skipped.",
        opts.drain_timeout.as_secs()
    );
    let _ = writeln!(r);
    for res in results {
        let _ = writeln!(
            r,
            "- {}: {} rows, {:.1} MiB of WAL, written in {:.1}s",
            res.shape.label(opts.quick),
            count(res.rows),
            res.wal_bytes as f64 / 1048576.0,
            res.write_time.as_secs_f64()
        );
    }
    if let Some(l) = latency {
        let ms = |p: f64| {
            l.percentile(p)
                .map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| "—".into())
        };
        let _ = writeln!(
            r,
            "\n**Commit-to-publish latency** (`stdout-json`, ms from the transaction's \
             `commit_time` to this process reading the JSON line; pgbench asked for {} single-row \
             transactions/s for {}s and reached {:.0}/s; {} committed, {} lines read{}; peak RSS \
             {:.1} MiB):\n",
            count(u64::from(l.rate)),
            l.seconds,
            l.achieved_tps,
            count(l.committed),
            count(l.latencies_us.len() as u64),
            if l.unparsed > 0 {
                format!(", {} without a commit_time", l.unparsed)
            } else {
                String::new()
            },
            l.max_rss_kib as f64 / 1024.0,
        );
        let _ = writeln!(r, "| p50 | p90 | p99 | p99.9 | max |");
        let _ = writeln!(r, "|---:|---:|---:|---:|---:|");
        let _ = writeln!(
            r,
            "| {} | {} | {} | {} | {} |",
            ms(50.0),
            ms(90.0),
            ms(99.0),
            ms(99.9),
            ms(100.0)
        );
        if !opts.quick {
            let p99 = l.percentile(99.0).unwrap_or(f64::INFINITY);
            targets.push(format!(
                "commit-to-publish p99 ≤ 5 ms at {}/s: {p99:.2} ms — {}",
                count(u64::from(l.rate)),
                if p99 <= 5.0 { "met" } else { "NOT met" }
            ));
        }
    }
    if opts.quick {
        let _ = writeln!(
            r,
            "\n(--quick: every shape 100× smaller, so start-up dominates; no targets apply.)"
        );
    }
    if opts.debug {
        let _ = writeln!(
            r,
            "\n(--debug: an unoptimised runtime; the numbers say nothing about performance.)"
        );
    } else if !opts.quick && !targets.is_empty() {
        let _ = writeln!(r, "\n**Targets of issue 5** (this run):\n");
        for t in targets {
            let _ = writeln!(r, "- {t}");
        }
    }
    r
}

/// Replaces the text between the bench markers of BENCHMARKS.md with `report`.
fn record(path: &Path, report: &str) -> Result<()> {
    let text = fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let (Some(b), Some(e)) = (text.find(BEGIN_MARK), text.find(END_MARK)) else {
        return Err(format!(
            "{} has no `{BEGIN_MARK}` … `{END_MARK}` section to write the report into",
            path.display()
        ));
    };
    if e < b {
        return Err(format!(
            "{}: the bench markers are out of order",
            path.display()
        ));
    }
    let mut out = String::with_capacity(text.len() + report.len());
    out.push_str(&text[..b + BEGIN_MARK.len()]);
    out.push_str("\n\n");
    out.push_str(report.trim_end());
    out.push_str("\n\n");
    out.push_str(&text[e..]);
    let mut f = fs::File::create(path).map_err(|e| format!("writing {}: {e}", path.display()))?;
    f.write_all(out.as_bytes())
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!("xtask: report recorded in {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commit_time() {
        let line = r#"{"op":"insert","commit_time":"2026-11-24T01:13:23.417581Z","seq":0}"#;
        let t = commit_time_micros(line).unwrap();
        // date -u -d 2026-11-24T01:13:23Z +%s
        assert_eq!(t, 1_795_482_803_417_581);
        assert_eq!(
            commit_time_micros(r#""commit_time":"1970-01-01T00:00:01.5Z""#),
            Some(1_500_000)
        );
        assert_eq!(commit_time_micros(r#"{"op":"insert"}"#), None);
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-1000, 0, 1, 59, 365, 10_957, 20_000, 20_781] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn sums_delivered_changes() {
        let log = "2026 INFO stopped; confirmed 0/1\n\
                   2026 INFO tenant=t00 running: 10 changes in 2 batches, position 0/1\n\
                   2026 INFO tenant=t01 running: 32 changes in 1 batches, position 0/1\n";
        assert_eq!(delivered_changes(log), Some(42));
        assert_eq!(delivered_changes("nothing"), None);
    }

    #[test]
    fn medians_and_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(Shape::B.size(true), (2_000, 1));
        assert_eq!(Shape::C.size(true), (1, 10_000));
    }

    #[test]
    fn parses_options() {
        let o = Options::parse(&["--quick".into()]).unwrap();
        assert_eq!(o.repeat, 1);
        let o = Options::parse(&["--repeat=5".into(), "--shapes".into(), "A,c".into()]).unwrap();
        assert_eq!((o.repeat, o.shapes), (5, vec![Shape::A, Shape::C]));
        assert!(Options::parse(&["--quick".into(), "--record".into()]).is_err());
        assert!(Options::parse(&["--debug".into(), "--record".into()]).is_err());
        assert!(
            Options::parse(&["--debug".into(), "--quick".into()])
                .unwrap()
                .debug
        );
        assert!(Options::parse(&["--repeat".into(), "0".into()]).is_err());
    }
}

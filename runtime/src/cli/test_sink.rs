//! `conduit-wasm test <sink.wasm> [--events FILE]`: a sink against recorded events, no database.
//!
//! Without `--events`, the built-in sample ([`SAMPLE_EVENTS`]) is replayed, so that a sink project
//! made by `conduit-wasm new` outside the repository can be tested before anything was recorded.
//!
//! Calls `connect` with the `--sink-config` pairs, `publish` once per recorded batch (or per slice
//! of at most `--batch N` changes), then `close`, exactly as `run` would, in a sandbox with the
//! same limits; the sink's standard output and error are the process's own. Any failure is printed
//! as one line naming the call, the batch and its line in the events file; the exit status is 0
//! only when every call succeeded.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use clap::Args;

use super::parse_key_value;
use crate::error::SetupError;
use crate::event::Batch;
use crate::record::{EventReader, SAMPLE_EVENTS};
use crate::sandbox::{
    inspect_file, CallError, Capabilities, SandboxEngine, SinkInstance, SinkLimits,
};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The sink component (.wasm).
    pub sink: PathBuf,
    /// Recorded events to publish (JSON Lines: `run --record`, or tests/events/*.jsonl).
    /// Without it, built-in sample events: 4 batches with 7 changes to public.customers and
    /// public.orders (2 snapshot reads, 2 inserts in one transaction, an update with an unchanged
    /// TOAST value, a delete, a truncate), with NULL, integer, text, boolean, numeric,
    /// timestamptz, date, jsonb, text[], double precision and uuid values (the repository's
    /// tests/events/sample.jsonl).
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Configuration passed to the sink's `connect`, as key=value (repeatable).
    #[arg(long = "sink-config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub sink_config: Vec<(String, String)>,
    /// At most N changes per publish call: recorded batches are cut into slices of N (the
    /// default publishes each recorded batch as it is).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: Option<u32>,
    /// Memory cap of the sink instance, in MiB [default: 256].
    #[arg(long)]
    pub memory_mib: Option<usize>,
    /// CPU deadline of one sink call, in milliseconds [default: 30000].
    #[arg(long)]
    pub call_deadline_ms: Option<u64>,
    /// Where the compiled-component cache lives (`<DIR>/cache`, shared with `run`).
    #[arg(long, env = "CONDUIT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

/// Runs the command. Guest calls are made on a thread of their own (no async runtime there),
/// as the run's sink worker does.
pub fn test(args: TestArgs) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("sink-test".into())
        .spawn(move || run_test(&args))
        .map_err(|e| anyhow!("starting the sink thread: {e}"))?
        .join()
        .map_err(|_| anyhow!("the sink thread panicked"))?
}

fn run_test(args: &TestArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(super::run::default_state_dir);
    let engine = SandboxEngine::new(Some(&state_dir.join("cache")))?;
    let (component, _description) = inspect_file(&engine, &args.sink)?;
    // Read the file's first batch before instantiating, so a bad events file is reported
    // without running the sink.
    let mut reader = events_reader(args)?;
    let events = reader.name().to_string();
    let mut next = reader
        .next_batch()
        .map_err(|e| SetupError::new(e.to_string()))?;

    let mut limits = SinkLimits::default();
    if let Some(mib) = args.memory_mib {
        limits.memory_bytes = mib << 20;
    }
    if let Some(ms) = args.call_deadline_ms {
        limits.call_deadline = Duration::from_millis(ms);
    }
    let mut sink = SinkInstance::new(
        &engine,
        &component,
        limits,
        Capabilities::single_sink(),
        args.sink_config.clone(),
    )?;
    let ready = started.elapsed();

    let call_started = Instant::now();
    sink.connect()
        .map_err(|e| call_failed("connect", None, &events, e))?;
    let connect_time = call_started.elapsed();

    let mut batches = 0usize;
    let mut calls = 0usize;
    let mut changes = 0usize;
    let mut publish_time = Duration::ZERO;
    while let Some((line, batch)) = next {
        for (slice, part) in slices(&batch, args.batch).into_iter().enumerate() {
            let at = Position {
                batch: batches,
                line,
                slice: args
                    .batch
                    .map(|n| (slice * n as usize, part.as_ref().changes.len())),
            };
            let call_started = Instant::now();
            let result = sink.publish(part.as_ref());
            publish_time += call_started.elapsed();
            if let Err(e) = result {
                let error = call_failed("publish", Some(&at), &events, e);
                // An orderly end after a refused batch, as `run` does when it stops.
                if let Err(close) = sink.close() {
                    eprintln!(
                        "conduit-wasm test: close after the failed publish also failed: {}",
                        one_line(&close.to_string())
                    );
                }
                return Err(error);
            }
            calls += 1;
            changes += part.as_ref().changes.len();
        }
        batches += 1;
        next = reader
            .next_batch()
            .map_err(|e| SetupError::new(e.to_string()))?;
    }

    sink.close()
        .map_err(|e| call_failed("close", None, &events, e))?;
    eprintln!(
        "conduit-wasm test: ok: connect, {calls} publish call(s) with {changes} change(s) from \
         {batches} batch(es), close ({:.1} ms to load, {:.1} ms in connect, {:.1} ms in publish, \
         {:.1} µs per change)",
        ready.as_secs_f64() * 1e3,
        connect_time.as_secs_f64() * 1e3,
        publish_time.as_secs_f64() * 1e3,
        if changes > 0 {
            publish_time.as_secs_f64() * 1e6 / changes as f64
        } else {
            0.0
        }
    );
    Ok(())
}

/// The `--events` file, or the built-in sample (errors then name "the built-in sample events" and
/// its line, which is a line of tests/events/sample.jsonl).
fn events_reader(args: &TestArgs) -> anyhow::Result<EventReader<Box<dyn BufRead>>> {
    match &args.events {
        Some(path) => {
            let reader = EventReader::open(path).map_err(|e| SetupError::new(e.to_string()))?;
            Ok(reader.boxed())
        }
        None => {
            eprintln!(
                "conduit-wasm test: no --events: publishing the built-in sample events \
                 (see `conduit-wasm test --help`)"
            );
            Ok(EventReader::new(
                "the built-in sample events",
                Box::new(SAMPLE_EVENTS.as_bytes()) as Box<dyn BufRead>,
            ))
        }
    }
}

/// Where in the events file a publish call's changes came from.
struct Position {
    /// 0-based index of the batch in the file.
    batch: usize,
    /// Line of its batch line.
    line: usize,
    /// With `--batch`: (index of the slice's first change in the batch, number of changes).
    slice: Option<(usize, usize)>,
}

/// A batch, or slices of it that keep its relations (change → relation indexes stay valid).
enum Part<'a> {
    Whole(&'a Batch),
    Slice(Batch),
}

impl AsRef<Batch> for Part<'_> {
    fn as_ref(&self) -> &Batch {
        match self {
            Part::Whole(b) => b,
            Part::Slice(b) => b,
        }
    }
}

fn slices(batch: &Batch, max: Option<u32>) -> Vec<Part<'_>> {
    match max {
        Some(n) if batch.changes.len() > n as usize => batch
            .changes
            .chunks(n as usize)
            .map(|chunk| {
                Part::Slice(Batch {
                    relations: batch.relations.clone(),
                    changes: chunk.to_vec(),
                })
            })
            .collect(),
        _ => vec![Part::Whole(batch)],
    }
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

/// The error line for a failed call; a trap's details (backtrace) go to stderr first.
fn call_failed(call: &str, at: Option<&Position>, events: &str, e: CallError) -> anyhow::Error {
    let place = match at {
        Some(p) => {
            let slice = match p.slice {
                Some((first, n)) => format!(
                    ", its changes {first} to {} sliced by --batch",
                    first + n.max(1) - 1
                ),
                None => String::new(),
            };
            format!(" of batch {} ({events} line {}{slice})", p.batch, p.line)
        }
        None => String::new(),
    };
    match e {
        CallError::Sink(err) => anyhow!(
            "{call}{place} failed: the sink returned a {} error: {}",
            if err.retryable { "retryable" } else { "fatal" },
            one_line(&err.message)
        ),
        CallError::Trap(text) => {
            let mut lines = text.lines();
            let first = lines.next().unwrap_or("").trim().to_string();
            let rest: Vec<&str> = lines.collect();
            if !rest.is_empty() {
                eprintln!("conduit-wasm test: the sink trapped; details:");
                for l in &rest {
                    eprintln!("  {l}");
                }
            }
            anyhow!(
                "{call}{place} failed: the sink trapped (it crashed; this is not an error it \
                 returned): {}",
                summarize_trap(&first, &text)
            )
        }
    }
}

/// The trap's first line, plus the wasm trap code when the first line does not say it, plus what
/// is known about the cause of a few traps.
fn summarize_trap(first: &str, all: &str) -> String {
    let code = all
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("wasm trap:") || l.contains("wasm `unreachable`"));
    let mut text = match code {
        Some(code) if !first.contains(code) => format!("{first}: {code}"),
        _ => first.to_string(),
    };
    if all.contains("cannot leave component instance") {
        text.push_str(
            " (the sink called out of the component, e.g. to WASI, while the runtime was still \
             copying the batch into it: Go's garbage collector does this when it runs inside \
             cabi_realloc, upstream componentize-go#77 and wasmtime#14318; smaller batches \
             (--batch, run --max-batch) only postpone it)",
        );
    }
    text
}

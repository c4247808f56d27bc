//! A sink that misbehaves on purpose, so that the end-to-end tests can prove the sandbox contains
//! it: the runtime must stay up, other tenants must get every change, and the misbehaviour must be
//! reported (or, for the harmless ones, made harmless).
//!
//! The sink config key `mode` chooses the misbehaviour:
//!
//! | mode | what `publish` does |
//! |---|---|
//! | `ok` | behaves like `stdout-json`: one JSON line per change on stdout (the control) |
//! | `loop` | spins forever (the CPU deadline must stop it) |
//! | `grow` | allocates and touches 1 MiB after 1 MiB without end (the memory cap must stop it) |
//! | `recurse` | recurses without end; a volatile load decides when to stop and a volatile store follows the recursive call, so the optimiser can turn it neither into a loop nor into nothing (the wasm stack limit must stop it) |
//! | `open-file` | tries `std::fs::File::open("/etc/passwd")`, lists `/` and reads the environment (through `wasi:filesystem` and `wasi:cli/environment` when built for `wasm32-unknown-unknown`, see `probe.rs`); prints the first line of the file to stdout if it opens (it must not), the error to stderr, and returns `Ok` |
//! | `connect` | tries `conduit_sink_sdk::net::TcpStream::connect(addr)` (std's on wasip2) (config `addr`), prints the outcome to stderr, returns `Ok` |
//! | `flood` | writes `bytes` bytes (default 8 MiB) to stdout in lines of `line` bytes (default 1024), then returns `Ok` |
//! | `panic-every` | like `ok`, but panics on a change whose row `id` (new row, else old key) is a multiple of `n` (default 7); a change without an integer `id` counts as `seq + 1` |
//! | `slow` | like `ok`, but when the batch holds a change whose row `id` is a multiple of `n` (default 10), first busy-waits about `spin_ms` milliseconds (default 10000) |
//!
//! `panic-every` and `slow` decide by the row, not by a counter, because a trap re-creates the
//! instance (its memory, and any counter in it, starts afresh): the same batch misbehaves the same
//! way on every retry, which is what a poison batch looks like. `slow` has no clock (clocks are a
//! capability tenants do not get by default), so its wait is a fixed number of loop iterations
//! calibrated to take at least about a millisecond per `SPIN_ITERS_PER_MS` on current hardware.
//!
//! Everything it reports starts with `hostile <mode>:` so that a test can find it in the logs. It
//! prints with the SDK's `println!`/`eprintln!`/`io::stdout()`, which reach the runtime however the
//! sink was built (std's discard output on `wasm32-unknown-unknown`).

mod probe;

use conduit_sink_sdk::net::TcpStream;
use conduit_sink_sdk::{eprintln, Batch, ChangeView, Config, Sink, SinkError, Value};
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::sync::atomic::AtomicU64;

#[derive(Debug, Clone)]
enum Mode {
    Ok,
    Loop,
    Grow,
    Recurse,
    OpenFile,
    Connect { addr: String },
    Flood { bytes: usize, line: usize },
    PanicEvery { n: i64 },
    Slow { n: i64, spin_ms: u64 },
}

struct Hostile {
    mode: Mode,
}

const MODES: &str = "ok, loop, grow, recurse, open-file, connect, flood, panic-every, slow";

/// Busy-loop iterations per millisecond of `slow`'s wait: at least a nanosecond each.
const SPIN_ITERS_PER_MS: u64 = 1_000_000;

fn positive(config: &Config, key: &str, default: i64) -> Result<i64, SinkError> {
    let n = config.parse::<i64>(key)?.unwrap_or(default);
    if n <= 0 {
        return Err(SinkError::fatal(format!(
            "sink config `{key}` must be positive"
        )));
    }
    Ok(n)
}

impl Sink for Hostile {
    fn connect(config: Config) -> Result<Self, SinkError> {
        let mode = match config.require("mode")? {
            "ok" => Mode::Ok,
            "loop" => Mode::Loop,
            "grow" => Mode::Grow,
            "recurse" => Mode::Recurse,
            "open-file" => Mode::OpenFile,
            "connect" => Mode::Connect {
                addr: config.require("addr")?.to_string(),
            },
            "flood" => Mode::Flood {
                bytes: config.parse("bytes")?.unwrap_or(8 << 20),
                line: positive(&config, "line", 1024)? as usize,
            },
            "panic-every" => Mode::PanicEvery {
                n: positive(&config, "n", 7)?,
            },
            "slow" => Mode::Slow {
                n: positive(&config, "n", 10)?,
                spin_ms: positive(&config, "spin_ms", 10_000)? as u64,
            },
            other => {
                return Err(SinkError::fatal(format!(
                    "unknown mode {other:?}: one of {MODES}"
                )))
            }
        };
        Ok(Hostile { mode })
    }

    fn publish(&mut self, batch: &Batch) -> Result<(), SinkError> {
        match &self.mode {
            Mode::Ok => print_changes(batch, |_| {}),
            Mode::Loop => spin_forever(),
            Mode::Grow => grow_forever(),
            Mode::Recurse => {
                let depth = recurse(0);
                // Not reached: the wasm stack runs out first.
                eprintln!("hostile recurse: returned from depth {depth}");
                Ok(())
            }
            Mode::OpenFile => {
                probe::probe_files_and_env();
                Ok(())
            }
            Mode::Connect { addr } => {
                match TcpStream::connect(addr) {
                    Ok(stream) => eprintln!(
                        "hostile connect: connected to {addr} (local {:?}): the host should have \
                         denied it",
                        stream.local_addr()
                    ),
                    Err(e) => eprintln!("hostile connect: connecting to {addr} failed: {e}"),
                }
                Ok(())
            }
            Mode::Flood { bytes, line } => flood(*bytes, *line),
            Mode::PanicEvery { n } => {
                let n = *n;
                print_changes(batch, |change| {
                    let id = row_id(change).unwrap_or(change.seq() as i64 + 1);
                    if id % n == 0 {
                        panic!("hostile panic-every: row id {id} is a multiple of {n}");
                    }
                })
            }
            Mode::Slow { n, spin_ms } => {
                if batch
                    .changes()
                    .any(|c| row_id(&c).is_some_and(|id| id % n == 0))
                {
                    eprintln!("hostile slow: spinning for about {spin_ms} ms");
                    spin(*spin_ms);
                    eprintln!("hostile slow: done spinning");
                }
                print_changes(batch, |_| {})
            }
        }
    }
}

/// Prints each change as a JSON line after `check` has seen it.
fn print_changes(batch: &Batch, check: impl Fn(&ChangeView<'_>)) -> Result<(), SinkError> {
    let mut out = BufWriter::with_capacity(64 * 1024, conduit_sink_sdk::io::stdout());
    for change in batch.changes() {
        check(&change);
        change
            .write_json_line(&mut out)
            .map_err(|e| SinkError::retryable(format!("writing to standard output: {e}")))?;
    }
    out.flush()
        .map_err(|e| SinkError::retryable(format!("writing to standard output: {e}")))
}

/// The integer `id` of the new row, else of the old row (key).
fn row_id(change: &ChangeView<'_>) -> Option<i64> {
    match change.new_value("id").or_else(|| change.old_value("id")) {
        Some(Value::Int(id)) => Some(*id),
        _ => None,
    }
}

fn spin_forever() -> ! {
    let mut x: u64 = 0;
    loop {
        x = black_box(x.wrapping_add(1));
    }
}

fn spin(ms: u64) {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..ms.saturating_mul(SPIN_ITERS_PER_MS) {
        x = black_box(x.rotate_left(5) ^ i);
    }
    black_box(x);
}

fn grow_forever() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Filled with a non-zero byte: every page is written, so the memory is really used.
        hoard.push(black_box(vec![0xA5u8; 1 << 20]));
        black_box(&hoard);
    }
}

/// Read with a volatile load (the optimiser cannot know it never changes): when to stop.
static RECURSION_LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);
/// Written with a volatile store after each recursive call, so no call is a tail call.
static RECURSION_SEEN: AtomicU64 = AtomicU64::new(0);

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    // SAFETY: plain loads and stores of statics' own storage; a sink instance is single-threaded.
    let limit = unsafe { std::ptr::read_volatile(RECURSION_LIMIT.as_ptr()) };
    if depth >= limit {
        return depth;
    }
    let reached = recurse(depth + 1);
    // SAFETY: as above.
    unsafe { std::ptr::write_volatile(RECURSION_SEEN.as_ptr(), reached) };
    reached
}

fn flood(bytes: usize, line: usize) -> Result<(), SinkError> {
    let mut text = vec![b'x'; line.max(1)];
    text[..line.min(6)].copy_from_slice(&b"flood "[..line.min(6)]);
    *text.last_mut().expect("not empty") = b'\n';
    let mut out = BufWriter::with_capacity(64 * 1024, conduit_sink_sdk::io::stdout());
    let mut left = bytes;
    while left > 0 {
        let n = left.min(text.len());
        out.write_all(&text[..n])
            .map_err(|e| SinkError::retryable(format!("hostile flood: {e}")))?;
        left -= n;
    }
    out.flush()
        .map_err(|e| SinkError::retryable(format!("hostile flood: {e}")))?;
    eprintln!("hostile flood: wrote {bytes} bytes");
    Ok(())
}

conduit_sink_sdk::export_sink!(Hostile);

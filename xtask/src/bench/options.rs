//! What a bench run is asked to do: the command line (`Options`, `USAGE`), the WAL shapes and the
//! throughput consumers. Kept apart so the run's choices can be read, and tested, without the
//! machinery that carries them out.

use std::path::PathBuf;
use std::time::Duration;

use super::report::count;
use super::TENANTS;
use crate::Result;

pub(super) const USAGE: &str = "\
usage: cargo xtask bench [--quick] [--repeat N] [--shapes A,B,C] [--drain-timeout SECS]
                         [--state-dir DIR] [--no-latency | --latency-only] [--record]
                         [--no-build] [--debug]

  --quick        every shape 100x smaller, one repetition unless --repeat (a smoke test)
  --repeat N     drains per consumer and shape, and latency runs per consumer; the report
                 shows the median [default 3]
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
  --latency-only skip every throughput shape: only the commit-to-publish latency of
                 pg_recvlogical and of conduit-wasm (still on a scratch server)
  --record       also write the report into BENCHMARKS.md (between its bench markers)
  --no-build     use the runtime and sinks already built
  --debug        use the debug runtime (cargo build -p conduit-wasm, as `cargo xtask test`
                 builds it) instead of the release one: a cheap smoke test with --quick,
                 meaningless numbers";

pub(super) struct Options {
    pub quick: bool,
    pub repeat: usize,
    /// Empty with `--latency-only`.
    pub shapes: Vec<Shape>,
    pub latency: bool,
    pub latency_only: bool,
    pub record: bool,
    pub build: bool,
    pub debug: bool,
    pub drain_timeout: Duration,
    pub state_dir: Option<PathBuf>,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut quick = false;
        let mut repeat = None;
        let mut shapes = None;
        let mut latency = true;
        let mut latency_only = false;
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
                    shapes = Some(
                        value("--shapes")?
                            .split(',')
                            .map(|s| match s.trim() {
                                "A" | "a" => Ok(Shape::A),
                                "B" | "b" => Ok(Shape::B),
                                "C" | "c" => Ok(Shape::C),
                                other => Err(format!("unknown shape {other:?}: A, B or C")),
                            })
                            .collect::<Result<Vec<_>>>()?,
                    );
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
                "--latency-only" => latency_only = true,
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
        if latency_only {
            if !latency {
                return Err("--latency-only and --no-latency exclude each other".into());
            }
            if shapes.is_some() {
                return Err("--latency-only runs no shape: drop --shapes".into());
            }
            if record {
                return Err("--record keeps full runs only: drop --latency-only".into());
            }
        }
        let shapes = match (latency_only, shapes) {
            (true, _) => Vec::new(),
            (false, Some(shapes)) => shapes,
            (false, None) => vec![Shape::A, Shape::B, Shape::C],
        };
        Ok(Options {
            quick,
            repeat: repeat.unwrap_or(if quick { 1 } else { 3 }),
            shapes,
            latency,
            latency_only,
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
pub(super) enum Shape {
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

    pub fn size(self, quick: bool) -> (u64, u64) {
        let (txns, rows) = self.full_size();
        match (self, quick) {
            (_, false) => (txns, rows),
            (Shape::B, true) => (txns / 100, rows),
            (_, true) => (txns, rows / 100),
        }
    }

    pub fn letter(self) -> char {
        match self {
            Shape::A => 'a',
            Shape::B => 'b',
            Shape::C => 'c',
        }
    }

    pub fn label(self, quick: bool) -> String {
        let (txns, rows) = self.size(quick);
        let name = match self {
            Shape::A => "A",
            Shape::B => "B",
            Shape::C => "C",
        };
        format!("{name}: {} × {} rows", count(txns), count(rows))
    }
}

/// The processes that drain each shape's slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Consumer {
    Recvlogical,
    Noop,
    StdoutJson,
    Tenants,
    /// `nats-jetstream` into a private `nats-server -js`: shape A only (`brokers.rs`).
    Nats,
    /// `kafka` into a private `tansu` broker: shape A only.
    Kafka,
}

pub(super) const CONSUMERS: [Consumer; 6] = [
    Consumer::Recvlogical,
    Consumer::Noop,
    Consumer::StdoutJson,
    Consumer::Tenants,
    Consumer::Nats,
    Consumer::Kafka,
];

impl Consumer {
    pub fn key(self) -> &'static str {
        match self {
            Consumer::Recvlogical => "recv",
            Consumer::Noop => "noop",
            Consumer::StdoutJson => "json",
            Consumer::Tenants => "tenants",
            Consumer::Nats => "nats",
            Consumer::Kafka => "kafka",
        }
    }

    pub fn label(self) -> String {
        match self {
            Consumer::Recvlogical => "pg_recvlogical → /dev/null".into(),
            Consumer::Noop => "conduit-wasm, no-op sink".into(),
            Consumer::StdoutJson => "conduit-wasm, stdout-json → /dev/null".into(),
            Consumer::Tenants => format!("conduit-wasm, {TENANTS} no-op tenants × 1 %"),
            Consumer::Nats => "conduit-wasm, nats-jetstream → nats-server".into(),
            Consumer::Kafka => "conduit-wasm, kafka → tansu (memory)".into(),
        }
    }

    /// Whether this consumer drains `shape`: a broker sink only A (the broker's storage, not the
    /// WAL's shape, is what it measures).
    pub fn drains(self, shape: Shape) -> bool {
        !matches!(self, Consumer::Nats | Consumer::Kafka) || shape == Shape::A
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_options() {
        let o = parse(&["--quick"]).unwrap();
        assert_eq!(o.repeat, 1);
        assert_eq!(o.shapes, vec![Shape::A, Shape::B, Shape::C]);
        assert!(o.latency && !o.latency_only);
        let o = parse(&["--repeat=5", "--shapes", "A,c"]).unwrap();
        assert_eq!((o.repeat, o.shapes), (5, vec![Shape::A, Shape::C]));
        assert!(parse(&["--quick", "--record"]).is_err());
        assert!(parse(&["--debug", "--record"]).is_err());
        assert!(parse(&["--debug", "--quick"]).unwrap().debug);
        assert!(parse(&["--repeat", "0"]).is_err());

        let o = parse(&["--quick", "--latency-only", "--debug", "--no-build"]).unwrap();
        assert!(o.shapes.is_empty());
        assert!(o.latency && o.latency_only && o.quick && o.debug && !o.build);
        assert!(parse(&["--latency-only", "--no-latency"]).is_err());
        assert!(parse(&["--latency-only", "--shapes", "A"]).is_err());
        assert!(parse(&["--latency-only", "--record"]).is_err());
    }

    #[test]
    fn shape_sizes() {
        assert_eq!(Shape::B.size(true), (2_000, 1));
        assert_eq!(Shape::C.size(true), (1, 10_000));
        assert_eq!(Shape::A.size(false), (10, 100_000));
        assert_eq!(Shape::C.label(false), "C: 1 × 1,000,000 rows");
    }
}

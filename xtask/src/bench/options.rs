//! What a bench run is asked to do: the command line (`Options`, `USAGE`), the WAL shapes and the
//! throughput consumers. Kept apart so the run's choices can be read, and tested, without the
//! machinery that carries them out.

use std::path::PathBuf;
use std::time::Duration;

use super::report::count;
use super::VALUES;
use crate::Result;

pub(super) const USAGE: &str = "\
usage: cargo xtask bench [--quick] [--repeat N] [--shapes A,B,C] [--drain-timeout SECS]
                         [--state-dir DIR] [--tenants LIST] [--fan-out N]
                         [--no-latency | --latency-only] [--record] [--no-build] [--debug]

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
  --tenants LIST the tenants axis on shapes A and B: for each N, N no-op tenants each
                 granted 1/N of the rows (N divides 1000) [default 1,100,1000; 1,100
                 with --quick]
  --fan-out N    on shape B, N no-op tenants that all receive every row (0: none)
                 [default 100; 10 with --quick]
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
    /// The tenants axis: for each N, N tenants each granted 1/N of the rows.
    pub tenants: Vec<usize>,
    /// Tenants that all receive every row (shape B only); 0: no such drain.
    pub fan_out: usize,
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
        let mut tenants = None;
        let mut fan_out = None;
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
                "--tenants" => {
                    let v = value("--tenants")?;
                    tenants = Some(
                        v.split(',')
                            .map(|n| {
                                n.trim()
                                    .parse::<usize>()
                                    .ok()
                                    .filter(|n| *n > 0 && VALUES.is_multiple_of(*n))
                                    .ok_or_else(|| {
                                        format!("--tenants {v}: give numbers that divide {VALUES}")
                                    })
                            })
                            .collect::<Result<Vec<_>>>()?,
                    );
                }
                "--fan-out" => {
                    let v = value("--fan-out")?;
                    fan_out = Some(
                        v.parse::<usize>()
                            .ok()
                            .filter(|n| *n <= 10_000)
                            .ok_or_else(|| {
                                format!("--fan-out {v}: give a number of tenants (0: none)")
                            })?,
                    );
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
            tenants: tenants.unwrap_or_else(|| {
                if quick {
                    vec![1, 100]
                } else {
                    vec![1, 100, 1000]
                }
            }),
            fan_out: fan_out.unwrap_or(if quick { 10 } else { 100 }),
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
    /// N no-op tenants from `--config`, each granted 1/N of the rows by `tenant` values.
    Split(usize),
    /// N no-op tenants from `--config`, each granted every row.
    FanOut(usize),
    /// `nats-jetstream` into a private `nats-server -js`: shape A only (`brokers.rs`).
    Nats,
    /// `kafka` into a private `tansu` broker: shape A only.
    Kafka,
}

impl Options {
    /// Who drains `shape`, in order: the reference, one sink, then the tenants axis (on A and
    /// B; C keeps its one row of 100 tenants, for the memory of their queues) and the fan-out
    /// (on B only: on A every tenant would queue a copy of each 100,000-row transaction).
    pub fn consumers(&self, shape: Shape) -> Vec<Consumer> {
        let mut out = vec![Consumer::Recvlogical, Consumer::Noop, Consumer::StdoutJson];
        match shape {
            Shape::C => out.push(Consumer::Split(100)),
            Shape::A | Shape::B => out.extend(self.tenants.iter().map(|&n| Consumer::Split(n))),
        }
        if shape == Shape::B && self.fan_out > 0 {
            out.push(Consumer::FanOut(self.fan_out));
        }
        // The broker sinks (when their brokers are installed: `throughput.rs` skips them else).
        if shape == Shape::A {
            out.extend([Consumer::Nats, Consumer::Kafka]);
        }
        out
    }

    /// The most consumers any shape has (slots per repetition).
    pub fn max_consumers(&self) -> usize {
        [Shape::A, Shape::B, Shape::C]
            .iter()
            .map(|&s| self.consumers(s).len())
            .max()
            .unwrap_or(0)
    }
}

impl Consumer {
    pub fn key(self) -> String {
        match self {
            Consumer::Recvlogical => "recv".into(),
            Consumer::Noop => "noop".into(),
            Consumer::StdoutJson => "json".into(),
            Consumer::Split(n) => format!("split{n}"),
            Consumer::FanOut(n) => format!("fan{n}"),
            Consumer::Nats => "nats".into(),
            Consumer::Kafka => "kafka".into(),
        }
    }

    pub fn label(self) -> String {
        match self {
            Consumer::Recvlogical => "pg_recvlogical → /dev/null".into(),
            Consumer::Noop => "conduit-wasm, no-op sink".into(),
            Consumer::StdoutJson => "conduit-wasm, stdout-json → /dev/null".into(),
            Consumer::Split(1) => "conduit-wasm, 1 no-op tenant × all rows".into(),
            Consumer::Split(n) => {
                format!("conduit-wasm, {} no-op tenants × 1/{n}", count(n as u64))
            }
            Consumer::FanOut(n) => {
                format!("conduit-wasm, {} no-op tenants × all rows", count(n as u64))
            }
            Consumer::Nats => "conduit-wasm, nats-jetstream → nats-server".into(),
            Consumer::Kafka => "conduit-wasm, kafka → tansu (memory)".into(),
        }
    }

    /// Tenants from a `--config` file (every tenant drain but the single-sink ones).
    pub fn tenants(self) -> Option<usize> {
        match self {
            Consumer::Split(n) | Consumer::FanOut(n) => Some(n),
            _ => None,
        }
    }

    /// How many changes its sinks must deliver in all for a shape of `rows` rows.
    pub fn deliveries(self, rows: u64) -> u64 {
        match self {
            Consumer::FanOut(n) => rows * n as u64,
            _ => rows,
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

        let o = parse(&["--tenants", "1,10,1000", "--fan-out=0"]).unwrap();
        assert_eq!((&o.tenants[..], o.fan_out), (&[1, 10, 1000][..], 0));
        assert_eq!(o.consumers(Shape::B).len(), 6, "no fan-out drain");
        assert!(
            parse(&["--tenants", "3"]).is_err(),
            "3 does not divide 1000"
        );
        assert!(parse(&["--tenants", "0"]).is_err());
        let o = parse(&["--quick"]).unwrap();
        assert_eq!((o.tenants, o.fan_out), (vec![1, 100], 10));
    }

    #[test]
    fn consumers_per_shape() {
        let o = parse(&[]).unwrap();
        let keys = |s| o.consumers(s).iter().map(|c| c.key()).collect::<Vec<_>>();
        assert_eq!(
            keys(Shape::A),
            [
                "recv",
                "noop",
                "json",
                "split1",
                "split100",
                "split1000",
                "nats",
                "kafka"
            ]
        );
        assert_eq!(
            keys(Shape::B),
            [
                "recv",
                "noop",
                "json",
                "split1",
                "split100",
                "split1000",
                "fan100"
            ]
        );
        assert_eq!(keys(Shape::C), ["recv", "noop", "json", "split100"]);
        assert_eq!(o.max_consumers(), 8);
        assert_eq!(Consumer::FanOut(100).deliveries(2_000), 200_000);
        assert_eq!(Consumer::Split(100).deliveries(2_000), 2_000);
        assert_eq!(
            Consumer::Split(1000).label(),
            "conduit-wasm, 1,000 no-op tenants × 1/1000"
        );
    }

    #[test]
    fn shape_sizes() {
        assert_eq!(Shape::B.size(true), (2_000, 1));
        assert_eq!(Shape::C.size(true), (1, 10_000));
        assert_eq!(Shape::A.size(false), (10, 100_000));
        assert_eq!(Shape::C.label(false), "C: 1 × 1,000,000 rows");
    }
}

//! Turning one run's measurements into the markdown report: the machine it ran on, the medians,
//! the latency table and which of issue 5's targets were met; and recording it in BENCHMARKS.md.
//! Numbers are only comparable within one run, so the report says everything needed to judge it.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::Path;

use super::latency::{Follower, Latency};
use super::machine::Machine;
use super::options::{Consumer, Options, Shape};
use super::snapshot::SnapshotResult;
use super::throughput::{Drain, ShapeResult};
use crate::Result;

/// Marks the generated part of BENCHMARKS.md.
const BEGIN_MARK: &str = "<!-- bench:begin (written by `cargo xtask bench --record`) -->";
const END_MARK: &str = "<!-- bench:end -->";

pub(super) fn median(mut v: Vec<f64>) -> f64 {
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
    /// Seconds from spawn to streaming.
    startup: Option<f64>,
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
        startup: {
            let s: Vec<f64> = drains
                .iter()
                .filter_map(|d| d.startup.map(|s| s.as_secs_f64()))
                .collect();
            (!s.is_empty()).then(|| median(s))
        },
        spread: if drains.len() > 1 {
            (max - min) / wall
        } else {
            0.0
        },
    }
}

/// `1234567` → `1,234,567`.
pub(super) fn count(n: u64) -> String {
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

pub(super) fn report(
    opts: &Options,
    m: &Machine,
    results: &[ShapeResult],
    latency: &[Latency],
    snapshot: Option<&SnapshotResult>,
) -> String {
    let mut r = String::new();
    let _ = writeln!(
        r,
        "### `cargo xtask bench{}{}{}` — {}\n",
        if opts.quick { " --quick" } else { "" },
        if opts.latency_only {
            " --latency-only"
        } else {
            ""
        },
        if opts.debug { " --debug" } else { "" },
        m.date
    );
    let medians = if results.is_empty() {
        String::new()
    } else {
        format!(
            " Median of {} drain{} per row.",
            opts.repeat,
            if opts.repeat == 1 { "" } else { "s" }
        )
    };
    let _ = writeln!(
        r,
        "{} × {}, {}, {}; {} (scratch cluster on loopback TCP, fsync off); conduit-wasm {} \
         (state directory {}).{medians} Load average (1/5/15 min) {} at the start, {} at the \
         end.\n",
        m.cpus,
        m.model,
        m.mem,
        m.kernel,
        m.postgres,
        m.revision,
        m.state_dir,
        m.load_before,
        m.load_after,
    );
    let mut targets = Vec::new();
    if !results.is_empty() {
        throughput_section(&mut r, &mut targets, opts, results);
    }
    if let Some(snapshot) = snapshot {
        super::snapshot::section(&mut r, &mut targets, snapshot);
    }
    if !latency.is_empty() {
        latency_section(&mut r, &mut targets, opts, latency);
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
        let _ = writeln!(r, "\n**Targets of issues 5 and 13** (this run):\n");
        for t in targets {
            let _ = writeln!(r, "- {t}");
        }
    }
    r
}

/// The drains' table, its notes and the throughput targets.
fn throughput_section(
    r: &mut String,
    targets: &mut Vec<String>,
    opts: &Options,
    results: &[ShapeResult],
) {
    let _ = writeln!(
        r,
        "| shape | consumer | rows/s | × pg_recvlogical | peak RSS MiB | CPU s | start-up s | wall s | spread |"
    );
    let _ = writeln!(r, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut notes = Vec::new();
    for res in results {
        let get = |c: Consumer| {
            res.drains
                .iter()
                .find(|(k, _)| *k == c)
                .map(|(_, d)| summarize(res.rows, d))
        };
        let reference = get(Consumer::Recvlogical);
        let one = get(Consumer::Split(1));
        let noop = get(Consumer::Noop);
        let shape = res.shape;
        for (c, _) in &res.drains {
            let c = *c;
            let Some(s) = get(c) else { continue };
            let ratio = reference
                .as_ref()
                .map(|r| s.rows_per_s / r.rows_per_s)
                .unwrap_or(f64::NAN);
            let bound = if s.timed_out { "< " } else { "" };
            let mut ratio_text = format!("{bound}{ratio:.2}");
            if let (Consumer::Nats | Consumer::Kafka, Some(n)) = (c, &noop) {
                let _ = write!(
                    ratio_text,
                    " ({bound}{:.2} × no-op)",
                    s.rows_per_s / n.rows_per_s
                );
            }
            let of_one = one.as_ref().map(|o| s.rows_per_s / o.rows_per_s);
            if let (Some(x), Some(n)) = (of_one, c.tenants().filter(|&n| n > 1)) {
                let _ = write!(ratio_text, " ({bound}{x:.2} × one tenant)");
                if let (Consumer::Split(_), Some(o)) = (c, &one) {
                    if shape != Shape::C && !s.timed_out {
                        notes.push(format!(
                            "{shape:?}: a tenant of {n} costs {:.0} KiB of peak RSS more than \
                             the one tenant's run ((RSS − RSS of one tenant) ÷ {}).",
                            (s.rss_mib - o.rss_mib) * 1024.0 / (n - 1) as f64,
                            n - 1
                        ));
                    }
                }
                if let (Consumer::FanOut(_), Some(o)) = (c, &one) {
                    notes.push(format!(
                        "{shape:?}: fan-out costs {:.2} µs of CPU per row per extra tenant \
                         ((CPU − CPU of one tenant) ÷ {} tenants ÷ {} rows), {:.2} µs of wall \
                         time.",
                        (s.cpu - o.cpu) * 1e6 / (n - 1) as f64 / res.rows as f64,
                        n - 1,
                        count(res.rows),
                        (s.wall - o.wall) * 1e6 / (n - 1) as f64 / res.rows as f64,
                    ));
                }
            }
            let _ = writeln!(
                r,
                "| {} | {} | {bound}{} | {} | {:.1} | {:.2} | {} | {}{:.2} | {} |",
                shape.label(opts.quick),
                c.label(),
                count(s.rows_per_s as u64),
                ratio_text,
                s.rss_mib,
                s.cpu,
                s.startup
                    .map(|v| format!("{v:.2}"))
                    .unwrap_or_else(|| "—".into()),
                if s.timed_out { "> " } else { "" },
                s.wall,
                if s.timed_out {
                    "stopped".to_string()
                } else {
                    format!("±{:.0} %", s.spread * 50.0)
                },
            );
            // The issues' targets.
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
                Consumer::Split(n) if shape != Shape::C && n >= 100 => {
                    let want = if n >= 1000 { 0.7 } else { 0.9 };
                    if let Some(x) = of_one {
                        targets.push(format!(
                            "{} tenants × 1/{n} ≥ {want:.2} × one tenant on {shape:?}: \
                             {bound}{x:.2} — {}",
                            count(n as u64),
                            check(x >= want && !s.timed_out)
                        ));
                    }
                    if n >= 1000 {
                        targets.push(format!(
                            "peak RSS of {} tenants ≤ 512 MiB on {shape:?}: {:.1} MiB — {}",
                            count(n as u64),
                            s.rss_mib,
                            check(s.rss_mib <= 512.0 && !s.timed_out)
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
         counted. start-up = spawn to the `streaming from` log line (configuration checked, \
         every tenant's sink compiled or loaded from the cache and instantiated). spread = \
         (slowest − fastest) ÷ 2 ÷ median. \"stopped\": the drain was still running after \
         --drain-timeout ({}s) and was killed, so its rows/s is an upper bound and its other \
         repetitions were skipped. Tenants: the table's `tenant` column is `id % 1000`; \"× 1/N\": \
         tenant k of N is granted the values ≡ k (mod N) (`tenant = k` for N = 1,000, `tenant \
         IN (…)` of 1000/N values otherwise, no predicate for N = 1), \"× one tenant\" is the \
         ratio to the 1-tenant run of the same shape; \"× all rows\": every tenant is granted \
         every row.",
        opts.drain_timeout.as_secs()
    );
    let _ = writeln!(r);
    for note in notes {
        let _ = writeln!(r, "- {note}");
    }
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
}

/// One row per latency consumer, the tail conduit-wasm adds, and the latency target.
fn latency_section(r: &mut String, targets: &mut Vec<String>, opts: &Options, latency: &[Latency]) {
    let first = &latency[0];
    let rounds = latency.iter().map(|l| l.round).max().unwrap_or(1);
    let _ = writeln!(
        r,
        "\n**Commit-to-publish latency** (ms from the transaction's commit time, the server's \
         clock, to this process reading the consumer's line for it; each consumer follows its \
         own slot while its own pgbench run asks for {} single-row transactions/s for {}s. \
         pg_recvlogical: `test_decoding` with `include-timestamp=on`, its `COMMIT` lines; \
         conduit-wasm: `stdout-json`, its JSON lines' `commit_time`):\n",
        count(u64::from(first.rate)),
        first.seconds,
    );
    let _ = writeln!(
        r,
        "| consumer | p50 | p90 | p99 | p99.9 | max | tps reached | committed | lines read | \
         peak RSS MiB | CPU s |"
    );
    let _ = writeln!(r, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let ms = |l: &Latency, p: f64| {
        l.percentile(p)
            .map(|v| format!("{v:.2}"))
            .unwrap_or_else(|| "—".into())
    };
    for l in latency {
        let _ = writeln!(
            r,
            "| {}{} | {} | {} | {} | {} | {} | {:.0} | {} | {}{} | {:.1} | {:.2} |",
            l.follower.label(),
            if rounds > 1 {
                format!(" (run {})", l.round)
            } else {
                String::new()
            },
            ms(l, 50.0),
            ms(l, 90.0),
            ms(l, 99.0),
            ms(l, 99.9),
            ms(l, 100.0),
            l.achieved_tps,
            count(l.committed),
            count(l.latencies_us.len() as u64),
            if l.unparsed > 0 {
                format!(" (+{} without a commit time)", l.unparsed)
            } else {
                String::new()
            },
            l.max_rss_kib as f64 / 1024.0,
            l.cpu.as_secs_f64(),
        );
    }
    // The median over the rounds of each follower's p99.
    let p99 = |f: Follower| {
        let runs: Vec<f64> = latency
            .iter()
            .filter(|l| l.follower == f)
            .filter_map(|l| l.percentile(99.0))
            .collect();
        (!runs.is_empty()).then(|| median(runs))
    };
    let (baseline, conduit) = (p99(Follower::Recvlogical), p99(Follower::StdoutJson));
    if let (Some(b), Some(c)) = (baseline, conduit) {
        let of = if rounds > 1 {
            format!("median p99 of {rounds} runs")
        } else {
            "p99".to_string()
        };
        let _ = writeln!(
            r,
            "\nconduit-wasm {of} − pg_recvlogical {of} = {c:.2} − {b:.2} = {:.2} ms",
            c - b
        );
    }
    if !opts.quick {
        if let Some(l) = latency.iter().find(|l| l.follower == Follower::StdoutJson) {
            let p99 = conduit.unwrap_or(f64::INFINITY);
            let mut line = format!(
                "commit-to-publish p99 ≤ 5 ms at {}/s: {p99:.2} ms — {}",
                count(u64::from(l.rate)),
                if p99 <= 5.0 { "met" } else { "NOT met" }
            );
            if rounds > 1 {
                let _ = write!(line, " (median of {rounds} runs)");
            }
            if let Some(b) = baseline {
                let _ = write!(line, " (baseline: pg_recvlogical p99 {b:.2} ms)");
            }
            targets.push(line);
        }
    }
}

/// Replaces the text between the bench markers of BENCHMARKS.md with `report`.
pub(super) fn record(path: &Path, report: &str) -> Result<()> {
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
    fn medians_and_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(12), "12");
    }

    #[test]
    fn reports_the_latency_of_both_consumers() {
        let opts = Options::parse(&["--latency-only".to_string()]).unwrap();
        let machine = Machine {
            cpus: 2,
            model: "CPU".into(),
            mem: "1 GiB RAM".into(),
            kernel: "Linux".into(),
            postgres: "PostgreSQL 15".into(),
            revision: "abc".into(),
            date: "2026-11-24 01:13 UTC".into(),
            load_before: "0".into(),
            load_after: "0".into(),
            state_dir: "state".into(),
        };
        let latency = |follower, ms: i64| Latency {
            follower,
            round: 1,
            rate: 10_000,
            seconds: 20,
            achieved_tps: 9_999.4,
            committed: 3,
            unparsed: 0,
            latencies_us: vec![ms * 1000; 3],
            max_rss_kib: 2048,
            cpu: std::time::Duration::from_millis(1500),
        };
        let text = report(
            &opts,
            &machine,
            &[],
            &[
                latency(Follower::Recvlogical, 1),
                latency(Follower::StdoutJson, 7),
            ],
            None,
        );
        assert!(text.starts_with("### `cargo xtask bench --latency-only` — 2026-11-24 01:13 UTC"));
        assert!(!text.contains("| shape |") && !text.contains("Median of"));
        assert!(text.contains(
            "| pg_recvlogical | 1.00 | 1.00 | 1.00 | 1.00 | 1.00 | 9999 | 3 | 3 | 2.0 |"
        ));
        assert!(text.contains("| conduit-wasm stdout-json | 7.00 |"));
        assert!(text.contains("conduit-wasm p99 − pg_recvlogical p99 = 7.00 − 1.00 = 6.00 ms"));
        assert!(text.contains(
            "- commit-to-publish p99 ≤ 5 ms at 10,000/s: 7.00 ms — NOT met \
             (baseline: pg_recvlogical p99 1.00 ms)"
        ));
    }
}

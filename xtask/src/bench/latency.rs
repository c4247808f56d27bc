//! Commit-to-publish latency at a steady commit rate, for conduit-wasm and for the reference it
//! is judged against: the same load, the same reader and the same percentiles for both, so that
//! what conduit-wasm adds over PostgreSQL's own walsender → client path shows on its own.
//!
//! One consumer at a time follows its own fresh slot of `bench_lat` while its own `pgbench -R`
//! run commits single-row transactions; a thread reads the consumer's stdout and subtracts each
//! line's commit time (the server's clock, `commit_time.rs`) from the wall clock when it reads
//! the line (same machine, same clock). `pg_recvlogical` runs first, then conduit-wasm.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::raw::c_int;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::commit_time::{self, CommitTime};
use super::measure::{send_signal, wait_measured, SIGINT, SIGTERM};
use super::server::{log_file, tail};
use super::{Bench, LATENCY_PUBLICATION, LATENCY_TABLE};
use crate::Result;

/// A consumer whose latency is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Follower {
    /// `pg_recvlogical` with `test_decoding`: the baseline.
    Recvlogical,
    /// `conduit-wasm run stdout-json.wasm`.
    StdoutJson,
}

/// In the order they run.
pub(super) const FOLLOWERS: [Follower; 2] = [Follower::Recvlogical, Follower::StdoutJson];

impl Follower {
    pub fn label(self) -> &'static str {
        match self {
            Follower::Recvlogical => "pg_recvlogical",
            Follower::StdoutJson => "conduit-wasm stdout-json",
        }
    }

    fn slot(self) -> &'static str {
        match self {
            Follower::Recvlogical => "bench_latency_recv",
            Follower::StdoutJson => "bench_latency",
        }
    }

    fn plugin(self) -> &'static str {
        match self {
            Follower::Recvlogical => "test_decoding",
            Follower::StdoutJson => "pgoutput",
        }
    }

    /// The signal it stops on cleanly (exit 0). conduit-wasm finishes its call, acknowledges
    /// and exits on SIGTERM; pg_recvlogical of PostgreSQL 15 dies of SIGTERM but exits 0 on
    /// SIGINT.
    fn stop_signal(self) -> (c_int, &'static str) {
        match self {
            Follower::Recvlogical => (SIGINT, "SIGINT"),
            Follower::StdoutJson => (SIGTERM, "SIGTERM"),
        }
    }

    /// How to read the commit time of one of its lines.
    fn commit_time(self) -> fn(&str) -> CommitTime {
        match self {
            Follower::Recvlogical => commit_time::test_decoding_line,
            Follower::StdoutJson => commit_time::json_line,
        }
    }
}

/// One consumer's latencies.
pub(super) struct Latency {
    pub follower: Follower,
    /// Which round of `--repeat` this is (from 1).
    pub round: usize,
    pub rate: u32,
    pub seconds: u32,
    pub achieved_tps: f64,
    /// Transactions the load committed.
    pub committed: u64,
    /// Lines that should have named a commit time but did not.
    pub unparsed: usize,
    /// Sorted, one per timed line.
    pub latencies_us: Vec<i64>,
    pub max_rss_kib: u64,
    /// User + system CPU of the consumer's process over the whole run.
    pub cpu: Duration,
}

impl Latency {
    /// Milliseconds.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let v = &self.latencies_us;
        if v.is_empty() {
            return None;
        }
        let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        Some(v[i.min(v.len() - 1)] as f64 / 1000.0)
    }
}

/// The steady commit load, the same for every follower.
struct Load {
    rate: u32,
    seconds: u32,
    script: PathBuf,
}

impl Bench<'_> {
    /// `--repeat` rounds of each of [`FOLLOWERS`] in turn, each under its own run of the same
    /// load.
    pub(super) fn latency(&self) -> Result<Vec<Latency>> {
        let (rate, seconds) = if self.opts.quick {
            (2_000, 3)
        } else {
            (10_000, 20)
        };
        let script = self.work.join("configs").join("latency.pgbench");
        fs::write(
            &script,
            format!(
                "\\set id random(1, 1000000000)\nINSERT INTO {LATENCY_TABLE} VALUES \
                 (:id, :id % 100, 'customer-' || :id, (:id % 100000) / 100.0, now());\n"
            ),
        )
        .map_err(|e| format!("writing {}: {e}", script.display()))?;
        let load = Load {
            rate,
            seconds,
            script,
        };
        // Rounds of both followers in turn, so that a noisy spell of the machine hits both.
        let rounds = self.opts.repeat;
        let mut runs = Vec::new();
        for round in 1..=rounds {
            for &f in &FOLLOWERS {
                eprintln!(
                    "xtask: bench latency of {} at {rate} transactions/s for {seconds}s \
                     ({round} of {rounds})",
                    f.label()
                );
                runs.push(Latency {
                    round,
                    ..self.follow(f, &load)?
                });
            }
        }
        Ok(runs)
    }

    /// The follower's process, reading its slot from now on; its stdout is the lines to time.
    fn follower_command(&self, follower: Follower, log: &Path) -> Result<Command> {
        let s = self.server;
        let slot = follower.slot();
        let mut cmd = match follower {
            Follower::Recvlogical => {
                let program = s.bindir.join("pg_recvlogical");
                let mut cmd = Command::new(&program);
                cmd.args(["-d", &s.url, "--slot", slot, "--start", "--no-loop"])
                    .args(["-f", "-"]);
                // Nothing to fsync on a pipe; 0 also stops it trying (if this version has it).
                if accepts(&program, "--fsync-interval") {
                    cmd.arg("--fsync-interval=0");
                }
                cmd.args(["-o", "include-timestamp=on", "-o", "skip-empty-xacts=on"])
                    .stdin(Stdio::null());
                cmd
            }
            Follower::StdoutJson => self.conduit_run([
                self.json.as_os_str(),
                "--source".as_ref(),
                s.url.as_ref(),
                "--slot".as_ref(),
                slot.as_ref(),
                "--publication".as_ref(),
                LATENCY_PUBLICATION.as_ref(),
            ]),
        };
        cmd.stdout(Stdio::piped()).stderr(log_file(log)?);
        Ok(cmd)
    }

    /// Runs `follower` on a fresh slot under `load`, timing every line it prints that names a
    /// commit time, until it has printed one per committed transaction; then stops it.
    fn follow(&self, follower: Follower, load: &Load) -> Result<Latency> {
        let s = self.server;
        let label = follower.label();
        let slot = follower.slot();
        s.psql(&[&format!(
            "SELECT pg_create_logical_replication_slot('{slot}', '{}')",
            follower.plugin()
        )])?;
        let log = self.work.join("logs").join(format!("{slot}.log"));
        let mut child = self
            .follower_command(follower, &log)?
            .spawn()
            .map_err(|e| format!("starting {label}: {e}"))?;
        let pid = child.id();
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        // Lines that name a commit (read or not): one per transaction.
        let seen = Arc::new(AtomicUsize::new(0));
        let reader = {
            let seen = seen.clone();
            let commit_time = follower.commit_time();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                // How many, and the first one's error.
                let mut unparsed = (0usize, None);
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
                    match commit_time(&line) {
                        None => continue,
                        Some(Ok(t)) => latencies.push(now - t),
                        Some(Err(e)) => {
                            unparsed.0 += 1;
                            unparsed.1.get_or_insert(e);
                        }
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
                        "{label} did not start streaming within 60s; log {}:\n{}",
                        log.display(),
                        tail(&log, 20)
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            std::thread::sleep(Duration::from_secs(1));
            let rows = || -> Result<u64> {
                Ok(s.query(&format!("SELECT count(*) FROM {LATENCY_TABLE}"))?
                    .parse()
                    .unwrap_or(0))
            };
            // The table keeps the rows of the followers before this one.
            let before = rows()?;
            let tps = self.pgbench(load)?;
            let committed = rows()?.saturating_sub(before);
            let deadline = Instant::now() + Duration::from_secs(120);
            while (seen.load(Ordering::Relaxed) as u64) < committed {
                if Instant::now() > deadline {
                    return Err(format!(
                        "{label} printed {} of {committed} commits within 120s of the load's end",
                        seen.load(Ordering::Relaxed)
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok((tps, committed))
        })();
        let (signal, signal_name) = follower.stop_signal();
        send_signal(pid, signal);
        let m = wait_measured(pid, Instant::now(), Duration::from_secs(60));
        drop(child);
        let (mut latencies, (unparsed, first_error)) = reader
            .join()
            .map_err(|_| format!("{label}: latency reader panicked"))?;
        let m = m?;
        let (tps, committed) = result?;
        if !m.success {
            return Err(format!(
                "{label} (latency run) failed on {signal_name} ({}); log {}:\n{}",
                m.status,
                log.display(),
                tail(&log, 20)
            ));
        }
        if let Some(e) = first_error {
            eprintln!(
                "xtask:   warning: {unparsed} lines of {label} named no readable commit time, \
                 e.g. {e}"
            );
        }
        s.psql(&[&format!("SELECT pg_drop_replication_slot('{slot}')")])?;
        latencies.sort_unstable();
        Ok(Latency {
            follower,
            round: 1,
            rate: load.rate,
            seconds: load.seconds,
            achieved_tps: tps,
            committed,
            unparsed,
            latencies_us: latencies,
            max_rss_kib: m.max_rss_kib,
            cpu: m.cpu,
        })
    }

    /// `pgbench -R rate -T seconds -c 2 -j 2` of the single-row insert; its `tps`.
    fn pgbench(&self, load: &Load) -> Result<f64> {
        let s = self.server;
        let out = Command::new(s.bindir.join("pgbench"))
            .args(["-n", "-c", "2", "-j", "2"])
            .args([
                "-R",
                &load.rate.to_string(),
                "-T",
                &load.seconds.to_string(),
            ])
            .arg("-f")
            .arg(&load.script)
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
        Ok(text
            .lines()
            .find_map(|l| l.trim().strip_prefix("tps = "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0))
    }
}

/// Whether `program --help` mentions `option`.
fn accepts(program: &Path, option: &str) -> bool {
    Command::new(program)
        .arg("--help")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(option))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_in_milliseconds() {
        let l = Latency {
            follower: Follower::Recvlogical,
            round: 1,
            rate: 1,
            seconds: 1,
            achieved_tps: 1.0,
            committed: 5,
            unparsed: 0,
            latencies_us: vec![1_000, 2_000, 3_000, 4_000, 5_000],
            max_rss_kib: 0,
            cpu: Duration::ZERO,
        };
        assert_eq!(l.percentile(50.0), Some(3.0));
        assert_eq!(l.percentile(100.0), Some(5.0));
        assert_eq!(l.percentile(0.0), Some(1.0));
        assert_eq!(
            Latency {
                latencies_us: Vec::new(),
                ..l
            }
            .percentile(99.0),
            None
        );
    }
}

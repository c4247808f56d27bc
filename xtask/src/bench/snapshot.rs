//! The initial snapshot against `COPY`: a table of 1,000,000 rows (10,000 with `--quick`) read
//! by `conduit-wasm run --snapshot initial-only` into the no-op sink, against `psql -c "COPY
//! (SELECT * FROM t) TO STDOUT"` of the same table to /dev/null, repetitions interleaved in the
//! same run. Both are timed from spawn to exit; conduit-wasm's peak RSS shows that a snapshot's
//! memory is bounded (chunks of 10,000 rows, two ahead of the sink), whatever the table's size.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::measure::{measure, Measured};
use super::report::{count, median};
use super::server::{log_file, tail};
use super::Bench;
use crate::Result;

const SNAP_TABLE: &str = "bench_snap";

pub(super) struct SnapshotResult {
    pub rows: u64,
    pub copy: Vec<Measured>,
    pub conduit: Vec<Measured>,
}

impl Bench<'_> {
    pub(super) fn snapshot(&self) -> Result<SnapshotResult> {
        let s = self.server;
        let rows: u64 = if self.opts.quick { 10_000 } else { 1_000_000 };
        eprintln!("xtask: bench snapshot of {} rows against COPY", count(rows));
        s.psql(&[
            &format!("DROP PUBLICATION IF EXISTS {SNAP_TABLE}"),
            &format!("DROP TABLE IF EXISTS {SNAP_TABLE}"),
            &format!(
                "CREATE TABLE {SNAP_TABLE} (id bigint PRIMARY KEY, tenant int NOT NULL, \
                 label text NOT NULL, amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL)"
            ),
            &format!(
                "INSERT INTO {SNAP_TABLE} SELECT i, i % 100, 'customer-' || i, \
                 (i % 100000) / 100.0, now() FROM generate_series(1, {rows}) i"
            ),
            &format!("VACUUM ANALYZE {SNAP_TABLE}"),
            &format!("CREATE PUBLICATION {SNAP_TABLE} FOR TABLE {SNAP_TABLE}"),
        ])?;
        let timeout = self.opts.drain_timeout.max(Duration::from_secs(60));
        let mut result = SnapshotResult {
            rows,
            copy: Vec::new(),
            conduit: Vec::new(),
        };
        for rep in 0..self.opts.repeat {
            let mut copy = Command::new(s.bindir.join("psql"));
            copy.args(["-X", "-q", "-d", &s.url, "-c"])
                .arg(format!("COPY (SELECT * FROM {SNAP_TABLE}) TO STDOUT"))
                .stdin(Stdio::null())
                .stdout(Stdio::null());
            let m = measure(&mut copy, timeout)?;
            if !m.success {
                return Err(format!("COPY of {SNAP_TABLE} failed ({})", m.status));
            }
            result.copy.push(m);

            let slot = format!("bench_snap_{rep}");
            let log = self.work.join("logs").join(format!("{slot}.log"));
            let mut cmd = self.conduit_run([
                self.noop.as_os_str(),
                "--source".as_ref(),
                s.url.as_ref(),
                "--slot".as_ref(),
                slot.as_ref(),
                "--publication".as_ref(),
                SNAP_TABLE.as_ref(),
                "--snapshot".as_ref(),
                "initial-only".as_ref(),
            ]);
            cmd.stdout(Stdio::null()).stderr(log_file(&log)?);
            let m = measure(&mut cmd, timeout)?;
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if !m.success || !text.contains(&format!("initial snapshot delivered: {rows} rows")) {
                return Err(format!(
                    "the snapshot run {slot} did not deliver {rows} rows ({}); its log:\n{}",
                    m.status,
                    tail(&log, 20)
                ));
            }
            result.conduit.push(m);
            s.psql(&[&format!("SELECT pg_drop_replication_slot('{slot}')")])?;
        }
        Ok(result)
    }
}

/// The report's snapshot table and its target (≥ 0.7 × COPY's rate).
pub(super) fn section(r: &mut String, targets: &mut Vec<String>, res: &SnapshotResult) {
    let wall = |m: &[Measured]| median(m.iter().map(|m| m.wall.as_secs_f64()).collect());
    let rss = |m: &[Measured]| median(m.iter().map(|m| m.max_rss_kib as f64 / 1024.0).collect());
    let cpu = |m: &[Measured]| median(m.iter().map(|m| m.cpu.as_secs_f64()).collect());
    let (copy, conduit) = (wall(&res.copy), wall(&res.conduit));
    let ratio = copy / conduit;
    let _ = writeln!(
        r,
        "\n**Initial snapshot** of {} rows (5 columns, primary key): `conduit-wasm run --snapshot \
         initial-only` into the no-op sink against `COPY (SELECT * FROM t) TO STDOUT` by psql \
         to /dev/null, same table, same run.\n",
        count(res.rows)
    );
    let _ = writeln!(
        r,
        "| reader | rows/s | × COPY | peak RSS MiB | CPU s | wall s |"
    );
    let _ = writeln!(r, "|---|---:|---:|---:|---:|---:|");
    for (name, m, w) in [
        ("COPY (psql)", &res.copy, copy),
        ("conduit-wasm snapshot", &res.conduit, conduit),
    ] {
        let _ = writeln!(
            r,
            "| {name} | {} | {:.2} | {:.1} | {:.2} | {w:.2} |",
            count((res.rows as f64 / w) as u64),
            copy / w,
            rss(m),
            cpu(m),
        );
    }
    targets.push(format!(
        "snapshot ≥ 0.70 × COPY's rate: {ratio:.2} — {}",
        if ratio >= 0.7 { "met" } else { "NOT met" }
    ));
}

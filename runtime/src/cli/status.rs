//! `conduit-wasm status`: what a run (running or finished) reports about its tenants.

use std::path::Path;

use crate::error::SetupError;
use crate::pipeline::status;

pub fn status(state_dir: &Path, slot: &str, json: bool) -> anyhow::Result<()> {
    let s = status::read(state_dir, slot).map_err(|e| {
        SetupError::new(format!(
            "no status for slot {slot:?} under {}: {e}; is --state-dir the one the run uses?",
            state_dir.display()
        ))
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    let age = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().saturating_sub(s.updated_at))
        .unwrap_or(0);
    // A run rewrites its status every second; one that stopped writing, or whose process is
    // gone, was killed (`kill -9`, a crash, an OOM kill) and never said it stopped.
    let gone = s.running && (age > STALE_SECS || !process_alive(s.pid));
    println!(
        "slot {} publication {}: {} (pid {}, updated {age}s ago); received {}, confirmed {}",
        s.slot,
        s.publication,
        match (s.running, gone) {
            (true, false) => "running",
            (true, true) => "NOT RUNNING (its process is gone)",
            (false, _) => "stopped",
        },
        s.pid,
        s.received_lsn,
        s.confirmed_lsn
    );
    if let Some(snap) = &s.snapshot {
        let eta = (snap.rows_estimated.saturating_sub(snap.rows_read))
            .checked_div(snap.rows_per_second)
            .map(|secs| format!(", about {secs}s left"))
            .unwrap_or_default();
        println!(
            "initial snapshot at {}: {} of about {} rows, {}/{} tables, {} rows/s{eta}",
            snap.consistent_lsn,
            snap.rows_read,
            snap.rows_estimated,
            snap.tables_done,
            snap.tables_total,
            snap.rows_per_second
        );
    }
    for b in &s.backfills {
        let eta = (b.rows_estimated.saturating_sub(b.rows_done))
            .checked_div(b.rows_per_second)
            .map(|secs| format!(", about {secs}s left"))
            .unwrap_or_default();
        println!(
            "backfill {} of {} for {} ({}): {} of about {} rows, {}{eta}",
            b.id,
            b.table,
            b.tenants.join(", "),
            b.reason,
            b.rows_done,
            b.rows_estimated.max(b.rows_done),
            if b.running {
                format!("{} rows/s", b.rows_per_second)
            } else {
                "waiting for a run".to_string()
            }
        );
    }
    println!(
        "{:<20} {:<12} {:>14} {:>10} {:>12} {:>10} {:>8}  reason",
        "tenant", "state", "position", "queued", "delivered", "lag MiB", "lag s"
    );
    for t in &s.tenants {
        println!(
            "{:<20} {:<12} {:>14} {:>10} {:>12} {:>10} {:>8.1}  {}",
            t.id,
            if t.stalled { "STALLED" } else { &t.state },
            t.position_lsn,
            t.queued_changes + t.in_flight_changes,
            t.delivered_changes,
            t.lag_bytes >> 20,
            t.lag_seconds,
            t.reason.as_deref().unwrap_or("")
        );
    }
    if gone {
        return Err(SetupError::new(format!(
            "the run of slot {slot:?} is not running: process {} is gone or stopped writing its \
             status {age}s ago without stopping cleanly; start it again (nothing is lost: it \
             resumes from its checkpoint)",
            s.pid
        ))
        .into());
    }
    Ok(())
}

/// A status older than this, from a run that says it is running, means the run is gone.
const STALE_SECS: u64 = 10;

/// Whether process `pid` exists (and is not a zombie).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses: `Z` is a zombie, `X` dead.
        Ok(stat) => stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

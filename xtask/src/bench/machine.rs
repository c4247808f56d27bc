//! The machine a run ran on, for the report's header: CPU, memory, kernel, PostgreSQL version,
//! revision, date and load average. Numbers are only comparable within one run, so the report
//! says everything needed to judge it.

use std::fs;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use super::server::Server;

pub(super) struct Machine {
    pub(super) cpus: usize,
    pub(super) model: String,
    pub(super) mem: String,
    pub(super) kernel: String,
    pub(super) postgres: String,
    pub(super) revision: String,
    pub(super) date: String,
    pub(super) load_before: String,
    pub(super) load_after: String,
    /// Where conduit-wasm's checkpoints were fsynced.
    pub(super) state_dir: String,
}

impl Machine {
    pub fn describe(
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

/// `2026-11-24 01:13 UTC`.
fn utc(t: SystemTime) -> String {
    let micros = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    // `2026-11-24T01:13:23.417581`
    let text = conduit_timefmt::timestamp(micros);
    let (date, clock) = text.split_once('T').unwrap_or((&text, "00:00"));
    format!("{date} {} UTC", &clock[..5])
}

/// `git rev-parse --short HEAD`, with " + local changes" when tracked files differ from it.
pub(super) fn revision() -> String {
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

pub(super) fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_the_date_in_utc() {
        // date -u -d @1795482803
        let t = UNIX_EPOCH + Duration::from_micros(1_795_482_803_417_581);
        assert_eq!(utc(t), "2026-11-24 01:13 UTC");
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01 00:00 UTC");
    }
}

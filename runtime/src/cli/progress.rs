//! A progress bar on standard error while a snapshot or a backfill runs, when standard error is
//! a terminal (and the log is text): drawn from the run's status file, so the pipeline only
//! reports numbers and the CLI does the printing.
//!
//! Log lines and the bar share the terminal: the log writer clears the bar's line before each
//! log line and draws the bar again after it, so neither garbles the other.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::pipeline::status::{self, RunStatus};

static ENABLED: AtomicBool = AtomicBool::new(false);
/// The bar as drawn now (`None`: no bar on the screen).
static BAR: Mutex<Option<String>> = Mutex::new(None);

/// Bars are drawn from now on (standard error is a terminal and the log is text).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Draws the bar of the run of `slot` under `state_dir` every half second until the process
/// ends.
pub fn spawn(state_dir: PathBuf, slot: String) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            let text = status::read(&state_dir, &slot)
                .ok()
                .filter(|s| s.running)
                .and_then(|s| bar_text(&s));
            draw(text);
        }
    });
}

/// Removes the bar (at the end of a run).
pub fn clear() {
    draw(None);
}

fn draw(text: Option<String>) {
    let mut bar = BAR.lock().unwrap_or_else(|e| e.into_inner());
    if *bar == text {
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K");
    if let Some(t) = &text {
        let _ = write!(err, "{t}");
    }
    let _ = err.flush();
    *bar = text;
}

/// `snapshot [=========>          ] 45% 450,000/1,000,000 rows, 2/5 tables, 120,000 rows/s,
/// about 4 s left`, or the same for the first running backfill; `None` when neither runs.
fn bar_text(s: &RunStatus) -> Option<String> {
    if let Some(snap) = &s.snapshot {
        let tables = format!(", {}/{} tables", snap.tables_done, snap.tables_total);
        return Some(line(
            "snapshot",
            snap.rows_read,
            snap.rows_estimated,
            snap.rows_per_second,
            &tables,
        ));
    }
    let b = s.backfills.iter().find(|b| b.running)?;
    Some(line(
        &format!("backfill {} {}", b.id, b.table),
        b.rows_done,
        b.rows_estimated,
        b.rows_per_second,
        "",
    ))
}

fn line(what: &str, done: u64, estimated: u64, rate: u64, extra: &str) -> String {
    const WIDTH: usize = 24;
    let total = estimated.max(done).max(1);
    let filled = (done as f64 / total as f64 * WIDTH as f64) as usize;
    let bar: String = (0..WIDTH)
        .map(|i| match i.cmp(&filled) {
            std::cmp::Ordering::Less => '=',
            std::cmp::Ordering::Equal => '>',
            std::cmp::Ordering::Greater => ' ',
        })
        .collect();
    let eta = total
        .saturating_sub(done)
        .checked_div(rate)
        .map(|s| format!(", about {s} s left"))
        .unwrap_or_default();
    format!(
        "{what} [{bar}] {}% {done}/{total} rows{extra}, {rate} rows/s{eta}",
        done * 100 / total
    )
}

/// The log's writer: clears the bar before a log line and draws it again after.
pub struct LogWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> LogWriter {
        LogWriter
    }
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = BAR.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        if bar.is_some() {
            write!(err, "\r\x1b[2K")?;
        }
        err.write_all(buf)?;
        if let (Some(b), true) = (&*bar, buf.ends_with(b"\n")) {
            write!(err, "{b}")?;
        }
        err.flush()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bar_says_how_far_and_how_long() {
        let text = super::line("snapshot", 450, 1000, 50, ", 1/2 tables");
        assert_eq!(
            text,
            "snapshot [==========>             ] 45% 450/1000 rows, 1/2 tables, 50 rows/s, \
             about 11 s left"
        );
        assert!(super::line("b", 5, 0, 0, "").contains("100% 5/5 rows"));
    }
}

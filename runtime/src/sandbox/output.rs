//! A sink's standard output and error, turned into log lines: the *log channel*.
//!
//! A tenant's sink must not write to the process's own stdout (other tenants, or the operator's
//! pipeline, own it), and must not be able to flood the log or the host's memory. Each complete
//! line becomes one log record tagged with the tenant; a line longer than [`MAX_LINE`] is cut,
//! and past a byte budget per call the rest of the call's output is counted and dropped. Writes
//! never fail: wasmtime-wasi's `MemoryOutputPipe` traps the guest once full, which would turn
//! chatty logging into a crash loop.
//!
//! Logs are not delivery. A tenant whose sink's stdout *is* its product (`stdout-json`) is granted
//! a file for it (`capabilities.stdout`, [`super::output_file`]); without one, the stdout is
//! logs, and a cut says so: the warning names the bytes dropped as *not delivered* and points to
//! the grant. Overflow does not fail the call: a sink whose delivery goes elsewhere (Redis, a
//! webhook) and logs verbosely would otherwise be retried and quarantined over its logs, and a
//! sink that wants its output delivered has the file for that. (Issue 14: `stdout-json` as two
//! tenants over 200,000 rows logged 37,222 and 24,568 lines while the slot moved past them all;
//! the warning then said only "bytes dropped".)
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Longest line logged; the rest of a longer line is dropped.
pub const MAX_LINE: usize = 4096;
/// Bytes of output logged per sink call (per stream); the rest is counted and dropped.
pub const CALL_BUDGET: usize = 64 * 1024;
/// Lines kept (each cut to [`RECENT_LINE`] characters) to explain a trap that follows them.
const RECENT_LINES: usize = 16;
const RECENT_LINE: usize = 200;
/// Longest explanation of a trap, in characters.
const MAX_WORDS: usize = 500;

/// One stream (stdout or stderr) of one sink, shared by the WASI context and the instance that
/// resets its budget around each call.
#[derive(Clone)]
pub struct GuestLog {
    state: Arc<Mutex<LogState>>,
}

struct LogState {
    tenant: Arc<str>,
    stream: &'static str,
    line: Vec<u8>,
    line_cut: bool,
    budget: usize,
    dropped: usize,
    /// The last lines logged in this call (cut), to explain a trap that follows them.
    recent: VecDeque<String>,
}

impl GuestLog {
    pub fn new(tenant: Arc<str>, stream: &'static str) -> GuestLog {
        GuestLog {
            state: Arc::new(Mutex::new(LogState {
                tenant,
                stream,
                line: Vec::new(),
                line_cut: false,
                budget: CALL_BUDGET,
                dropped: 0,
                recent: VecDeque::new(),
            })),
        }
    }

    /// Called after each sink call: logs a pending partial line and how much was dropped, and
    /// renews the budget for the next call.
    pub fn end_call(&self) {
        let mut s = self.lock();
        s.emit_line();
        if s.dropped > 0 {
            let hint = if s.stream == "stdout" {
                "; to deliver a sink's stdout in full, grant it a file: capabilities.stdout = \
                 \"<file>\""
            } else {
                ""
            };
            tracing::warn!(
                tenant = %s.tenant,
                stream = s.stream,
                "the sink's {} is a log channel: {} bytes past its {CALL_BUDGET} bytes per call \
                 were dropped and not delivered (the batch still counts as accepted){hint}",
                s.stream,
                s.dropped
            );
            s.dropped = 0;
        }
        s.budget = CALL_BUDGET;
    }

    /// What this stream said since the previous call that best explains a trap, if anything;
    /// taking it clears it. See [`last_words`].
    pub fn last_words(&self) -> Option<String> {
        let mut s = self.lock();
        s.emit_line();
        let mut recent = std::mem::take(&mut s.recent);
        last_words(recent.make_contiguous())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        // A poisoned lock only means a panic elsewhere while logging; the state is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write_bytes(&self, bytes: &[u8]) {
        let mut s = self.lock();
        let allowed = bytes.len().min(s.budget);
        s.budget -= allowed;
        s.dropped += bytes.len() - allowed;
        for &b in &bytes[..allowed] {
            if b == b'\n' {
                s.emit_line();
            } else if s.line.len() < MAX_LINE {
                s.line.push(b);
            } else {
                s.line_cut = true;
            }
        }
    }
}

impl LogState {
    fn emit_line(&mut self) {
        if self.line.is_empty() && !self.line_cut {
            return;
        }
        let text = String::from_utf8_lossy(&self.line);
        let cut = if self.line_cut { " [line cut]" } else { "" };
        tracing::info!(tenant = %self.tenant, stream = self.stream, "{text}{cut}");
        if self.recent.len() == RECENT_LINES {
            self.recent.pop_front();
        }
        self.recent
            .push_back(text.chars().take(RECENT_LINE).collect());
        self.line.clear();
        self.line_cut = false;
    }
}

/// The explanation of a trap in a stream's last lines. A Rust guest's panic prints
/// `thread '<unnamed>' panicked at src/lib.rs:12:9:` (newer toolchains add the thread's number:
/// `thread '<unnamed>' (1) panicked at`), then its message (one line or more), then
/// `note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace`, and traps: the
/// explanation is the message and where it was raised. Without a panic it is the last line that is
/// not such a note.
fn last_words(lines: &[String]) -> Option<String> {
    let is_note = |l: &str| l.starts_with("note: ") || l == "stack backtrace:";
    let panic = lines
        .iter()
        .rposition(|l| l.starts_with("thread '") && l.contains(" panicked at "));
    let words = match panic {
        Some(at) => {
            let (_, place) = lines[at].split_once(" panicked at ").unwrap_or_default();
            let message: Vec<&str> = lines[at + 1..]
                .iter()
                .map(|l| l.trim())
                .take_while(|l| !is_note(l))
                .filter(|l| !l.is_empty())
                .collect();
            if message.is_empty() {
                // Before Rust 1.73 the message was on the same line: `panicked at 'msg', file`.
                format!("panic at {place}")
            } else {
                let place = place.strip_suffix(':').unwrap_or(place);
                format!("panic message: {} (at {place})", message.join("; "))
            }
        }
        None => format!("last output: {}", lines.iter().rev().find(|l| !is_note(l))?),
    };
    Some(words.chars().take(MAX_WORDS).collect())
}

impl IsTerminal for GuestLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestLog {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for GuestLog {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(1 << 20)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestLog {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestLog {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_bounded_and_never_fails() {
        let log = GuestLog::new("t1".into(), "stdout");
        let mut stream = log.p2_stream();
        let big = Bytes::from(vec![b'x'; 10 * CALL_BUDGET]);
        assert!(stream.write(big).is_ok());
        assert!(stream.check_write().unwrap() > 0);
        {
            let s = log.lock();
            assert_eq!(s.budget, 0);
            assert_eq!(s.dropped, 9 * CALL_BUDGET);
            assert_eq!(s.line.len(), MAX_LINE);
            assert!(s.line_cut);
        }
        log.end_call();
        let s = log.lock();
        assert_eq!((s.budget, s.dropped, s.line.len()), (CALL_BUDGET, 0, 0));
    }

    fn written(log: &GuestLog, text: &str) {
        log.write_bytes(text.as_bytes());
    }

    #[test]
    fn a_panic_is_explained_by_its_message_not_the_backtrace_note() {
        let log = GuestLog::new("t1".into(), "stderr");
        written(&log, "starting\n");
        written(
            &log,
            "thread '<unnamed>' panicked at src/lib.rs:12:9:\nrow id 5 is a multiple of 5\nnote: \
             run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
        );
        let words = log.last_words().unwrap();
        assert!(words.contains("row id 5 is a multiple of 5"), "{words}");
        assert!(words.contains("src/lib.rs:12:9"), "{words}");
        assert!(!words.contains("RUST_BACKTRACE"), "{words}");
        assert_eq!(log.last_words(), None, "taking it clears it");
    }

    #[test]
    fn a_multi_line_panic_message_is_kept_whole() {
        let log = GuestLog::new("t1".into(), "stderr");
        written(
            &log,
            "thread '<unnamed>' (1) panicked at src/lib.rs:3:5:\nassertion `left == right` failed\n  \
             left: 1\n right: 2\nnote: run with `RUST_BACKTRACE=1` environment variable to \
             display a backtrace\n",
        );
        let words = log.last_words().unwrap();
        for part in ["assertion `left == right` failed", "left: 1", "right: 2"] {
            assert!(words.contains(part), "{words}");
        }
        assert!(!words.contains('\n'), "one line: {words}");
    }

    #[test]
    fn without_a_panic_the_last_line_explains() {
        let log = GuestLog::new("t1".into(), "stderr");
        written(&log, "one\ntwo\nthree");
        assert_eq!(log.last_words().as_deref(), Some("last output: three"));
    }
}

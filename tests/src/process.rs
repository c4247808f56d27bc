//! A running `conduit-wasm` ([`Running`]): its stdout lines, its stderr, waiting for lines, for
//! streaming and for exit; how it ended ([`Finished`]); signals.

use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};
use tokio_postgres::Client;

use crate::{conduit_bin, eventually, exit_deadline, slot_info, streaming_deadline, summarize};

/// A running `conduit-wasm`. Dropping it kills the process (SIGKILL).
pub struct Running {
    child: Child,
    pid: u32,
    rx: mpsc::UnboundedReceiver<String>,
    /// JSON lines received so far, in order.
    pub lines: Vec<Value>,
    /// Lines on stdout that were not JSON objects.
    pub non_json: Vec<String>,
    /// Standard output received so far, exactly as printed.
    stdout_raw: String,
    stderr: Arc<Mutex<String>>,
    stderr_task: JoinHandle<()>,
}

/// How a `conduit-wasm` process ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub lines: Vec<Value>,
    pub non_json: Vec<String>,
    /// The JSON lines (re-serialised), then the non-JSON ones: for messages.
    pub stdout_text: String,
    /// Standard output exactly as printed (line endings included), for byte-for-byte
    /// comparisons.
    pub stdout_raw: String,
    pub stderr: String,
}

impl Running {
    /// Starts `cmd` (which must pipe stdout and stderr, as [`crate::conduit_command`] does).
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", conduit_bin().display()));
        let pid = child.id().expect("child pid");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            // Each line with its line ending; reading stops at invalid UTF-8, as `lines()` does.
            let mut stdout = BufReader::new(stdout);
            loop {
                let mut buf = Vec::new();
                match stdout.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let Ok(line) = String::from_utf8(buf) else {
                    break;
                };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let stderr_task = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr_pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                // Shown with the test's output when it fails.
                eprintln!("[conduit-wasm {pid}] {line}");
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Running {
            child,
            pid,
            rx,
            lines: Vec::new(),
            non_json: Vec::new(),
            stdout_raw: String::new(),
            stderr,
            stderr_task,
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Bytes written to standard error so far.
    pub fn stderr_len(&self) -> usize {
        self.stderr.lock().unwrap().len()
    }

    /// Standard output received so far, exactly as printed.
    pub fn stdout_raw(&self) -> &str {
        &self.stdout_raw
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// One line of stdout, with its line ending.
    fn accept(&mut self, raw: String) {
        self.stdout_raw.push_str(&raw);
        let line = raw.strip_suffix('\n').unwrap_or(&raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v.is_object() => self.lines.push(v),
            _ => self.non_json.push(line.to_string()),
        }
    }

    /// Everything received so far: for the message of a failure that ends the wait at once.
    pub(crate) fn report(&self) -> String {
        let mut s = format!(
            "JSON lines received ({}):\n{}\n",
            self.lines.len(),
            summarize(&self.lines)
        );
        if !self.non_json.is_empty() {
            s.push_str(&format!("non-JSON stdout lines: {:?}\n", self.non_json));
        }
        s.push_str(&format!("stderr:\n{}", self.stderr()));
        s
    }

    /// What was received so far, in short (cheap enough to build at every poll): the state
    /// [`eventually`] names when a wait times out. The whole stderr is in the test's output
    /// anyway, line by line as it arrived.
    pub(crate) fn seen(&self) -> String {
        let last = self.lines.len().saturating_sub(3);
        let mut s = format!(
            "{} JSON lines received{}\n{}\n",
            self.lines.len(),
            if last > 0 { ", the last ones:" } else { ":" },
            summarize(&self.lines[last..])
        );
        if !self.non_json.is_empty() {
            s.push_str(&format!(
                "{} non-JSON stdout lines, the last: {:?}\n",
                self.non_json.len(),
                self.non_json.last().expect("not empty")
            ));
        }
        let stderr = self.stderr.lock().unwrap();
        let tail = stderr_tail(&stderr, 20);
        s.push_str(&format!("stderr (the last 20 lines):\n{tail}"));
        s
    }

    /// Takes the lines already received, one at a time, until `cond` holds for them (true) or
    /// none is left (false). Fails the test when stdout is closed first: the process is exiting.
    async fn take_until(&mut self, what: &str, cond: &impl Fn(&[Value]) -> bool) -> bool {
        loop {
            if cond(&self.lines) {
                return true;
            }
            match self.rx.try_recv() {
                Ok(line) => self.accept(line),
                Err(mpsc::error::TryRecvError::Empty) => return false,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    let status =
                        timeout_at(Instant::now() + Duration::from_secs(10), self.child.wait())
                            .await
                            .map(|r| r.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()))
                            .unwrap_or_else(|_| "still running with stdout closed".into());
                    self.stderr_task_settle().await;
                    panic!(
                        "conduit-wasm exited ({status}) before {what}\n{}",
                        self.report()
                    );
                }
            }
        }
    }

    /// Waits until `cond` holds for the lines received so far. Fails the test when the deadline
    /// passes or the process exits first.
    pub async fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&[Value]) -> bool,
    ) -> &[Value] {
        eventually(what, timeout, async || {
            if self.take_until(what, &cond).await {
                Ok(())
            } else {
                Err(self.seen())
            }
        })
        .await;
        &self.lines
    }

    /// Waits until at least `n` JSON lines have arrived in total; returns all of them.
    pub async fn wait_for_lines(&mut self, n: usize, timeout: Duration) -> &[Value] {
        self.wait_until(&format!("{n} JSON lines"), timeout, |l| l.len() >= n)
            .await
    }

    /// Waits until some line satisfies `pred`; returns its index.
    pub async fn wait_for_line(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> usize {
        self.wait_until(what, timeout, |l| l.iter().any(&pred))
            .await
            .iter()
            .position(pred)
            .expect("just seen")
    }

    /// Waits until the process streams from `slot`: a walsender holds it and has started
    /// replication (state `catchup` or `streaming`). Changes committed after this are delivered.
    pub async fn wait_streaming(&mut self, client: &Client, slot: &str) {
        let what = format!("conduit-wasm to stream from slot {slot}");
        eventually(&what, streaming_deadline(), async || {
            let info = slot_info(client, slot).await;
            if let Some(i) = &info {
                if i.active && matches!(i.walsender_state.as_deref(), Some("catchup" | "streaming"))
                {
                    return Ok(());
                }
            }
            if !self.is_running() {
                self.drain_for(Duration::from_secs(5)).await;
                panic!(
                    "conduit-wasm exited ({:?}) before streaming from slot {slot}\n{}",
                    self.child.try_wait().ok().flatten(),
                    self.report()
                );
            }
            Err(format!("slot: {info:?}\n{}", self.seen()))
        })
        .await
    }

    /// Collects whatever is still in the stdout pipe, until it closes or `timeout` passes.
    async fn drain_for(&mut self, timeout: Duration) {
        let until = Instant::now() + timeout;
        while let Ok(Some(line)) = timeout_at(until, self.rx.recv()).await {
            self.accept(line);
        }
    }

    /// Gives the stderr reader a moment to take in the last lines of an exited process.
    pub(crate) async fn stderr_task_settle(&mut self) {
        let _ = timeout_at(
            Instant::now() + Duration::from_secs(5),
            &mut self.stderr_task,
        )
        .await;
    }

    /// The exit status, when the process has exited.
    pub(crate) fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the process to exit by itself. (When the deadline passes, the test fails and
    /// the process is killed as `self` is dropped.)
    pub async fn wait_exit(mut self, timeout: Duration) -> Finished {
        let status = eventually("conduit-wasm to exit", timeout, async || {
            match self.child.try_wait() {
                Ok(Some(status)) => Ok(status),
                Ok(None) => {
                    // Take in what arrived meanwhile, for the state shown on a timeout.
                    while let Ok(line) = self.rx.try_recv() {
                        self.accept(line);
                    }
                    Err(self.seen())
                }
                Err(e) => panic!("waiting for conduit-wasm: {e}"),
            }
        })
        .await;
        self.drain_for(Duration::from_secs(5)).await;
        self.stderr_task_settle().await;
        let stdout_text = self
            .lines
            .iter()
            .map(|l| l.to_string())
            .chain(self.non_json.iter().cloned())
            .collect::<Vec<_>>()
            .join("\n");
        Finished {
            status,
            lines: std::mem::take(&mut self.lines),
            non_json: std::mem::take(&mut self.non_json),
            stdout_text,
            stdout_raw: std::mem::take(&mut self.stdout_raw),
            stderr: self.stderr(),
        }
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn terminate(self, timeout: Duration) -> Finished {
        send_sigterm(self.pid);
        self.wait_exit(timeout).await
    }

    /// Sends SIGTERM, waits, and checks the process exited with status 0.
    pub async fn terminate_ok(self) -> Finished {
        let f = self.terminate(exit_deadline()).await;
        assert_eq!(
            f.status.code(),
            Some(0),
            "conduit-wasm should exit 0 after SIGTERM ({})\nstderr:\n{}",
            f.status,
            f.stderr
        );
        f
    }

    /// Sends SIGTERM, waits, and checks the process exited with status 3: a `--config` run that
    /// ends with tenants quarantined says so with its exit code and its last line.
    pub async fn terminate_quarantined(self) -> Finished {
        let f = self.terminate(exit_deadline()).await;
        assert_eq!(
            f.status.code(),
            Some(3),
            "conduit-wasm should exit 3 (tenants quarantined) after SIGTERM ({})\nstderr:\n{}",
            f.status,
            f.stderr
        );
        let last = f.stderr.lines().rev().find(|l| !l.trim().is_empty());
        assert!(
            last.is_some_and(|l| l.contains("tenants ended quarantined")),
            "the last line should name the quarantined tenants: {last:?}"
        );
        f
    }
}

/// The last `n` (at least 1) lines of `text`.
fn stderr_tail(text: &str, n: usize) -> &str {
    let body = text.strip_suffix('\n').unwrap_or(text);
    match body.rmatch_indices('\n').nth(n - 1) {
        Some((i, _)) => &text[i + 1..],
        None => text,
    }
}

/// `kill -TERM <pid>`.
pub fn send_sigterm(pid: u32) {
    send_signal(pid, "TERM");
}

/// Sends signal `name` (`TERM`, `KILL`, `STOP`, ...) to process `pid`.
pub fn send_signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -{name} {pid} failed: {status}");
}

/// Resident memory of process `pid` in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

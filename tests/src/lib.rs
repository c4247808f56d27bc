//! Helpers for conduit-wasm's end-to-end tests.
//!
//! Every test starts its own PostgreSQL through [`conduit_wasm::scratch`] (the same code the
//! product uses), drives the real `conduit-wasm` binary as a child process and reads what the
//! `stdout-json` example sink prints. Nothing here sleeps to synchronise: every wait is for a
//! condition, with a deadline, and a missed deadline fails the test with what was seen so far
//! (lines received and the process's stderr).
//!
//! Where things are:
//! - the binary: `$CONDUIT_WASM_BIN`, else `<target>/debug/conduit-wasm`;
//! - the example sinks: `$CONDUIT_SINKS_DIR`, else `<target>/sinks`;
//!
//! where `<target>` is `$CARGO_TARGET_DIR` or the workspace's `target/`. `cargo xtask test`
//! builds both and sets the variables.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};

pub mod chaos;
pub mod proxy;
pub mod redis;

/// A WAL position: the runtime's own type (`X/X` when printed and parsed).
pub use conduit_wasm::event::Lsn;
pub use conduit_wasm::scratch::{ScratchAuth, ScratchCluster, ScratchOptions, ShutdownMode};
pub use serde_json::{json, Value};
pub use tokio_postgres::Client;

// ------------------------------------------------------------------------------------------------
// Deadlines

/// Scales every deadline below: `CONDUIT_E2E_TIMEOUT_SCALE=3` on a slow machine.
fn scale() -> f64 {
    std::env::var("CONDUIT_E2E_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0)
}

fn scaled(secs: u64) -> Duration {
    Duration::from_secs_f64(secs as f64 * scale())
}

/// How long changes may take to come out of the sink (includes the first start of the runtime,
/// which may compile the sink).
pub fn line_deadline() -> Duration {
    scaled(90)
}

/// How long `conduit-wasm` may take to exit after SIGTERM, or to fail on bad input.
pub fn exit_deadline() -> Duration {
    scaled(60)
}

/// How long the runtime may take to start streaming from its slot.
pub fn streaming_deadline() -> Duration {
    scaled(90)
}

// ------------------------------------------------------------------------------------------------
// Where the binary and the sinks are

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_dir().join(dir), // join keeps an absolute path as it is
        None => workspace_dir().join("target"),
    }
}

/// The `conduit-wasm` binary under test. Panics with instructions when it is missing.
pub fn conduit_bin() -> PathBuf {
    let path = std::env::var_os("CONDUIT_WASM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("debug").join("conduit-wasm"));
    assert!(
        path.is_file(),
        "conduit-wasm binary not found at {}: run the end-to-end tests with `cargo xtask test` \
         (or `cargo build -p conduit-wasm` first), or set CONDUIT_WASM_BIN",
        path.display()
    );
    path
}

/// The directory holding the example sinks (`stdout-json.wasm`, `filter-reshape.wasm`).
pub fn sinks_dir() -> PathBuf {
    std::env::var_os("CONDUIT_SINKS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("sinks"))
}

/// `<sinks dir>/<name>.wasm`. Panics with instructions when it is missing.
pub fn sink(name: &str) -> PathBuf {
    let path = sinks_dir().join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "example sink {} not found: run the end-to-end tests with `cargo xtask test` (which \
         builds the sinks into target/sinks), or set CONDUIT_SINKS_DIR",
        path.display()
    );
    path
}

/// The `stdout-json` example sink.
pub fn stdout_json() -> PathBuf {
    sink("stdout-json")
}

// ------------------------------------------------------------------------------------------------
// PostgreSQL

/// Starts a scratch cluster, panicking with the reason when it cannot.
pub async fn start_cluster(opts: ScratchOptions) -> ScratchCluster {
    match ScratchCluster::start(opts).await {
        Ok(pg) => pg,
        Err(e) => panic!("could not start a scratch PostgreSQL: {e}"),
    }
}

/// Connects to `url` (a normal, non-replication connection).
pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {}", pg_error(&e)));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A PostgreSQL error with the server's message, which `Display` of tokio-postgres leaves out.
pub fn pg_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
        None => format!("{e:?}"),
    }
}

/// Runs one or more SQL statements (simple query protocol, like psql's `-c`).
pub async fn exec(client: &Client, sql: &str) {
    if let Err(e) = client.batch_execute(sql).await {
        panic!("SQL failed: {}\n{sql}", pg_error(&e));
    }
}

/// Runs statements and returns every value of every row, as text (NULL as `None`).
pub async fn query_text(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    let msgs = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("SQL failed: {}\n{sql}", pg_error(&e)));
    msgs.iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

/// The single value the statements return (the last row's first column).
pub async fn query_value(client: &Client, sql: &str) -> String {
    let rows = query_text(client, sql).await;
    rows.last()
        .and_then(|r| r.first().cloned().flatten())
        .unwrap_or_else(|| panic!("no value from: {sql}"))
}

/// The server's current WAL write position.
pub async fn current_lsn(client: &Client) -> Lsn {
    query_value(client, "SELECT pg_current_wal_lsn()::text")
        .await
        .parse()
        .expect("pg_current_wal_lsn")
}

/// Runs `statements` in one transaction and returns its (32-bit) transaction id.
pub async fn commit_returning_xid(client: &Client, statements: &str) -> u32 {
    let sql = format!(
        "BEGIN; {statements}; SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text; \
         COMMIT;"
    );
    query_value(client, &sql)
        .await
        .parse()
        .expect("xid is a number")
}

/// What `pg_replication_slots` says about a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    pub active: bool,
    pub plugin: Option<String>,
    pub confirmed_flush_lsn: Option<Lsn>,
    /// The walsender's state from `pg_stat_replication` (`startup`, `catchup`, `streaming`) when
    /// a walsender holds the slot.
    pub walsender_state: Option<String>,
}

pub async fn slot_info(client: &Client, slot: &str) -> Option<SlotInfo> {
    let rows = client
        .query(
            "SELECT s.active, s.plugin::text, s.confirmed_flush_lsn::text, r.state \
             FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid \
             WHERE s.slot_name = $1",
            &[&slot],
        )
        .await
        .unwrap_or_else(|e| panic!("reading pg_replication_slots: {}", pg_error(&e)));
    rows.first().map(|r| SlotInfo {
        active: r.get(0),
        plugin: r.get(1),
        confirmed_flush_lsn: r
            .get::<_, Option<String>>(2)
            .map(|s| s.parse().expect("confirmed_flush_lsn")),
        walsender_state: r.get(3),
    })
}

/// Waits (polling, with a deadline) until `cond` holds for the slot's state.
pub async fn wait_for_slot(
    client: &Client,
    slot: &str,
    what: &str,
    timeout: Duration,
    cond: impl Fn(Option<&SlotInfo>) -> bool,
) -> Option<SlotInfo> {
    let until = Instant::now() + timeout;
    loop {
        let info = slot_info(client, slot).await;
        if cond(info.as_ref()) {
            return info;
        }
        if Instant::now() >= until {
            panic!("slot {slot}: {what} did not happen within {timeout:?}; last state {info:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A free loopback port with nothing listening on it (at the time of the call).
pub fn unused_port() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind port 0");
    l.local_addr().expect("local addr").port()
}

// ------------------------------------------------------------------------------------------------
// Reading the JSON lines

/// The fields every line of the `stdout-json` sink has.
pub const LINE_FIELDS: &[&str] = &[
    "op",
    "schema",
    "table",
    "xid",
    "commit_lsn",
    "end_lsn",
    "commit_time",
    "seq",
    "new",
    "old",
    "unchanged_toast",
];

fn field<'a>(line: &'a Value, key: &str) -> &'a Value {
    line.get(key)
        .unwrap_or_else(|| panic!("line has no {key:?}: {}", short(line)))
}

pub fn op(line: &Value) -> &str {
    field(line, "op")
        .as_str()
        .unwrap_or_else(|| panic!("op is not a string: {}", short(line)))
}

pub fn table(line: &Value) -> &str {
    field(line, "table")
        .as_str()
        .unwrap_or_else(|| panic!("table is not a string: {}", short(line)))
}

pub fn xid(line: &Value) -> u64 {
    field(line, "xid")
        .as_u64()
        .unwrap_or_else(|| panic!("xid is not a number: {}", short(line)))
}

pub fn seq(line: &Value) -> u64 {
    field(line, "seq")
        .as_u64()
        .unwrap_or_else(|| panic!("seq is not a number: {}", short(line)))
}

/// Parses the `"X/Y"` LSN in `key` (`commit_lsn` or `end_lsn`).
pub fn lsn(line: &Value, key: &str) -> Lsn {
    let s = field(line, key)
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string: {}", short(line)));
    s.parse()
        .unwrap_or_else(|e| panic!("{key}: {e}: {}", short(line)))
}

/// `new` as an object (panics when it is null or missing).
pub fn new_row(line: &Value) -> &serde_json::Map<String, Value> {
    field(line, "new")
        .as_object()
        .unwrap_or_else(|| panic!("new is not an object: {}", short(line)))
}

/// `old` as an object (panics when it is null or missing).
pub fn old_row(line: &Value) -> &serde_json::Map<String, Value> {
    field(line, "old")
        .as_object()
        .unwrap_or_else(|| panic!("old is not an object: {}", short(line)))
}

/// `unchanged_toast` as a list of column names.
pub fn unchanged_toast(line: &Value) -> Vec<String> {
    field(line, "unchanged_toast")
        .as_array()
        .unwrap_or_else(|| panic!("unchanged_toast is not an array: {}", short(line)))
        .iter()
        .map(|v| v.as_str().expect("unchanged_toast holds names").to_string())
        .collect()
}

/// Checks the shape every line must have: all fields present, LSNs parse, end_lsn > commit_lsn,
/// commit_time is RFC 3339 UTC with microseconds.
pub fn assert_well_formed(line: &Value) {
    let obj = line
        .as_object()
        .unwrap_or_else(|| panic!("line is not an object: {}", short(line)));
    for f in LINE_FIELDS {
        assert!(obj.contains_key(*f), "line has no {f:?}: {}", short(line));
    }
    assert!(
        matches!(op(line), "insert" | "update" | "delete" | "truncate"),
        "unknown op: {}",
        short(line)
    );
    assert!(field(line, "schema").is_string(), "{}", short(line));
    let (commit, end) = (lsn(line, "commit_lsn"), lsn(line, "end_lsn"));
    assert!(end > commit, "end_lsn {end} <= commit_lsn {commit}");
    let t = field(line, "commit_time")
        .as_str()
        .unwrap_or_else(|| panic!("commit_time is not a string: {}", short(line)));
    assert!(
        is_rfc3339_utc_micros(t),
        "commit_time {t:?} is not YYYY-MM-DDTHH:MM:SS.ffffffZ"
    );
    xid(line);
    seq(line);
    unchanged_toast(line);
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn is_rfc3339_utc_micros(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 27
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// A line, shortened for messages.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 400 {
        let mut cut = 400;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}… ({} bytes)", &s[..cut], s.len())
    } else {
        s
    }
}

fn summarize(lines: &[Value]) -> String {
    if lines.is_empty() {
        return "  (none)".into();
    }
    lines
        .iter()
        .map(|l| format!("  {}", short(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

// ------------------------------------------------------------------------------------------------
// Running conduit-wasm

/// The arguments of one `conduit-wasm run`.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub sink: PathBuf,
    pub source: Option<String>,
    pub slot: Option<String>,
    pub publication: Option<String>,
    pub tables: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub sink_config: Vec<String>,
    /// Environment variables to set for the child. `CONDUIT_SOURCE` and `CONDUIT_STATE_DIR` are
    /// removed from the child's environment unless set here.
    pub env: Vec<(String, String)>,
    /// More arguments, after the others.
    pub extra: Vec<OsString>,
}

impl RunConfig {
    pub fn new(sink: impl Into<PathBuf>) -> RunConfig {
        RunConfig {
            sink: sink.into(),
            source: None,
            slot: None,
            publication: None,
            tables: None,
            state_dir: None,
            sink_config: Vec::new(),
            env: Vec::new(),
            extra: Vec::new(),
        }
    }
    pub fn source(mut self, url: impl Into<String>) -> Self {
        self.source = Some(url.into());
        self
    }
    pub fn slot(mut self, name: impl Into<String>) -> Self {
        self.slot = Some(name.into());
        self
    }
    pub fn publication(mut self, name: impl Into<String>) -> Self {
        self.publication = Some(name.into());
        self
    }
    pub fn tables(mut self, tables: impl Into<String>) -> Self {
        self.tables = Some(tables.into());
        self
    }
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }
    pub fn sink_config(mut self, kv: impl Into<String>) -> Self {
        self.sink_config.push(kv.into());
        self
    }
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.extra.push(arg.into());
        self
    }

    /// `run <sink> [--source U] [--slot S] [--publication P] [--tables T] [--state-dir D]
    /// [--sink-config kv]... [extra]...`
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec!["run".into(), self.sink.clone().into()];
        let mut opt = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                a.push(name.into());
                a.push(v.into());
            }
        };
        opt("--source", &self.source);
        opt("--slot", &self.slot);
        opt("--publication", &self.publication);
        opt("--tables", &self.tables);
        if let Some(d) = &self.state_dir {
            a.push("--state-dir".into());
            a.push(d.clone().into());
        }
        for kv in &self.sink_config {
            a.push("--sink-config".into());
            a.push(kv.into());
        }
        a.extend(self.extra.iter().cloned());
        a
    }

    /// Starts `conduit-wasm run` with stdout and stderr piped.
    pub fn spawn(&self) -> Running {
        let mut cmd = conduit_command(self.args());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        Running::spawn(cmd)
    }

    /// Runs `conduit-wasm run`, expecting it to exit by itself within [`exit_deadline`].
    pub async fn run_to_exit(&self) -> Finished {
        self.spawn().wait_exit(exit_deadline()).await
    }
}

/// A `conduit-wasm` command with the test environment: `CONDUIT_SOURCE` and `CONDUIT_STATE_DIR`
/// removed (a developer's shell must not leak into the tests), stdin closed.
pub fn conduit_command(args: impl IntoIterator<Item = impl Into<OsString>>) -> Command {
    let mut cmd = Command::new(conduit_bin());
    cmd.args(args.into_iter().map(Into::into))
        .env_remove("CONDUIT_SOURCE")
        .env_remove("CONDUIT_STATE_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// `conduit-wasm check <sink>`, expected to exit within [`exit_deadline`].
pub async fn check(sink: &Path) -> Finished {
    Running::spawn(conduit_command([OsString::from("check"), sink.into()]))
        .wait_exit(exit_deadline())
        .await
}

/// A running `conduit-wasm`. Dropping it kills the process (SIGKILL).
pub struct Running {
    child: Child,
    pid: u32,
    rx: mpsc::UnboundedReceiver<String>,
    /// JSON lines received so far, in order.
    pub lines: Vec<Value>,
    /// Lines on stdout that were not JSON objects.
    pub non_json: Vec<String>,
    stderr: Arc<Mutex<String>>,
    stderr_task: JoinHandle<()>,
}

/// How a `conduit-wasm` process ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub lines: Vec<Value>,
    pub non_json: Vec<String>,
    pub stdout_text: String,
    pub stderr: String,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", conduit_bin().display()));
        let pid = child.id().expect("child pid");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
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

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn accept(&mut self, line: String) {
        match serde_json::from_str::<Value>(&line) {
            Ok(v) if v.is_object() => self.lines.push(v),
            _ => self.non_json.push(line),
        }
    }

    fn report(&self) -> String {
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

    /// Waits until `cond` holds for the lines received so far. Fails the test when the deadline
    /// passes or the process exits first.
    pub async fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&[Value]) -> bool,
    ) -> &[Value] {
        let until = Instant::now() + timeout;
        while !cond(&self.lines) {
            match timeout_at(until, self.rx.recv()).await {
                Ok(Some(line)) => self.accept(line),
                Ok(None) => {
                    // stdout closed: the process is exiting.
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
                Err(_) => panic!(
                    "timed out after {timeout:?} waiting for {what}\n{}",
                    self.report()
                ),
            }
        }
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
        let timeout = streaming_deadline();
        let until = Instant::now() + timeout;
        loop {
            let info = slot_info(client, slot).await;
            if let Some(i) = &info {
                if i.active && matches!(i.walsender_state.as_deref(), Some("catchup" | "streaming"))
                {
                    return;
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
            if Instant::now() >= until {
                panic!(
                    "conduit-wasm did not start streaming from slot {slot} within {timeout:?}; \
                     slot: {info:?}\n{}",
                    self.report()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Collects whatever is still in the stdout pipe, until it closes or `timeout` passes.
    async fn drain_for(&mut self, timeout: Duration) {
        let until = Instant::now() + timeout;
        while let Ok(Some(line)) = timeout_at(until, self.rx.recv()).await {
            self.accept(line);
        }
    }

    async fn stderr_task_settle(&mut self) {
        let _ = timeout_at(
            Instant::now() + Duration::from_secs(5),
            &mut self.stderr_task,
        )
        .await;
    }

    /// Waits for the process to exit by itself.
    pub async fn wait_exit(mut self, timeout: Duration) -> Finished {
        let until = Instant::now() + timeout;
        let status = match timeout_at(until, self.child.wait()).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => panic!("waiting for conduit-wasm: {e}"),
            Err(_) => {
                let _ = self.child.start_kill();
                panic!(
                    "conduit-wasm did not exit within {timeout:?}\n{}",
                    self.report()
                );
            }
        };
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
}

/// `kill -TERM <pid>`.
pub fn send_sigterm(pid: u32) {
    send_signal(pid, "TERM");
}

/// `conduit-wasm run --config FILE --log-format json`, without waiting for anything.
pub fn spawn_with_config(config: &Path) -> Running {
    Running::spawn(config_command(config, &[]))
}

/// The command of `conduit-wasm run --config FILE --log-format json`, with `env` added.
pub fn config_command(config: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = conduit_command([
        OsString::from("run"),
        "--config".into(),
        config.into(),
        "--log-format".into(),
        "json".into(),
    ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// The first line that differs between two outputs, for a readable failure.
pub fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        if e.get(i) != a.get(i) {
            return format!(
                "first difference at line {}:\n  expected: {}\n  actual:   {}\n({} expected lines, {} actual)",
                i + 1,
                e.get(i).unwrap_or(&"(none)"),
                a.get(i).unwrap_or(&"(none)"),
                e.len(),
                a.len()
            );
        }
    }
    "the lines are equal; the line endings differ".into()
}

/// What the host logs when it refuses a sink's connection.
pub const NET_DENIED: &str = "sink denied network access";

/// Asserts that the run's log has a warning that the host refused a connection to `port`, naming
/// tenant `tenant`: the operator is told, not only the guest.
pub fn assert_net_denial_logged(stderr: &str, port: &str, tenant: &str) {
    let log = log_lines(stderr);
    let denial = log
        .iter()
        .find(|l| l.is_warning() && l.says_all(&[NET_DENIED, port]))
        .unwrap_or_else(|| {
            panic!("the host should log a warning {NET_DENIED:?} naming port {port}:\n{stderr}")
        });
    assert!(
        denial.is_tenant(tenant),
        "the denial should name the tenant: {}",
        denial.raw
    );
}

/// Waits until `slot` has confirmed everything written so far (a generous deadline: the runtime
/// may have a large backlog to deliver first).
pub async fn wait_all_confirmed(client: &Client, slot: &str) {
    let end = current_lsn(client).await;
    wait_for_slot(
        client,
        slot,
        "everything confirmed",
        streaming_deadline() * 3,
        |i| {
            i.and_then(|i| i.confirmed_flush_lsn)
                .is_some_and(|l| l >= end)
        },
    )
    .await;
}

/// Sends signal `name` (`TERM`, `KILL`, `STOP`, ...) to process `pid`.
pub fn send_signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -{name} {pid} failed: {status}");
}

// ------------------------------------------------------------------------------------------------
// Expected error messages

/// What a failure's stderr must say: any one of `alternatives` matches when ALL of its
/// substrings appear, case-insensitively, on one line of stderr. (tests/tests/bad_input.rs
/// compares whole lines instead; see docs/errors.md.)
#[derive(Debug, Clone)]
pub struct Expect {
    pub problem: &'static str,
    pub alternatives: Vec<Vec<String>>,
}

impl Expect {
    /// Also accept a line containing `s`.
    pub fn or(mut self, s: impl Into<String>) -> Expect {
        self.alternatives.push(vec![s.into()]);
        self
    }

    /// The first stderr line that matches, if any.
    pub fn find<'a>(&self, stderr: &'a str) -> Option<&'a str> {
        stderr.lines().find(|line| {
            let l = line.to_lowercase();
            self.alternatives
                .iter()
                .any(|alt| alt.iter().all(|s| l.contains(&s.to_lowercase())))
        })
    }
}

impl Finished {
    /// Asserts the process failed (non-zero exit), did not panic, and said what `e` expects.
    pub fn assert_failed_with(&self, e: &Expect) {
        assert!(
            !self.status.success(),
            "expected conduit-wasm to fail ({}), but it exited {}\nstdout:\n{}\nstderr:\n{}",
            e.problem,
            self.status,
            self.stdout_text,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked at"),
            "conduit-wasm panicked instead of reporting {}:\n{}",
            e.problem,
            self.stderr
        );
        assert!(
            e.find(&self.stderr).is_some(),
            "stderr does not explain the problem ({}): expected a line containing {:?} \
             (case-insensitive)\nstderr:\n{}",
            e.problem,
            e.alternatives,
            self.stderr
        );
    }
}

// ------------------------------------------------------------------------------------------------
// A test's world: a cluster, a client, a state dir

/// One cluster, a superuser connection, and a state directory, with the slot and publication
/// names a test uses.
pub struct Fixture {
    pub client: Client,
    pub state: tempfile::TempDir,
    pub slot: String,
    pub publication: String,
    // Declared last: dropped after the client.
    pub pg: ScratchCluster,
}

impl Fixture {
    /// A trust-auth cluster with `wal_level=logical` and `track_commit_timestamp=on`.
    pub async fn new() -> Fixture {
        Fixture::with_options(
            ScratchOptions::default()
                .fsync_off()
                .conf("track_commit_timestamp", "on"),
        )
        .await
    }

    pub async fn with_options(opts: ScratchOptions) -> Fixture {
        let pg = start_cluster(opts).await;
        let client = connect(&pg.url()).await;
        Fixture {
            client,
            state: tempfile::Builder::new()
                .prefix("conduit-e2e-state-")
                .tempdir()
                .expect("state dir"),
            slot: "conduit_e2e".into(),
            publication: "conduit_e2e_pub".into(),
            pg,
        }
    }

    pub async fn exec(&self, sql: &str) {
        exec(&self.client, sql).await
    }

    pub async fn query_value(&self, sql: &str) -> String {
        query_value(&self.client, sql).await
    }

    /// `run stdout-json --source URL --slot S --publication P --state-dir D`.
    pub fn run_config(&self) -> RunConfig {
        RunConfig::new(stdout_json())
            .source(self.pg.url())
            .slot(&self.slot)
            .publication(&self.publication)
            .state_dir(self.state.path())
    }

    /// Starts `conduit-wasm run` with [`Fixture::run_config`] and waits until it streams.
    pub async fn start_conduit(&self) -> Running {
        self.start(self.run_config()).await
    }

    /// Starts `conduit-wasm` with `cfg` and waits until it streams from this fixture's slot.
    pub async fn start(&self, cfg: RunConfig) -> Running {
        let mut r = cfg.spawn();
        r.wait_streaming(&self.client, cfg.slot.as_deref().unwrap_or(&self.slot))
            .await;
        r
    }

    pub async fn slot_info(&self) -> Option<SlotInfo> {
        slot_info(&self.client, &self.slot).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_parse_and_print() {
        assert_eq!("16/B374D848".parse::<Lsn>(), Ok(Lsn(0x16_B374_D848)));
        assert_eq!("0/0".parse::<Lsn>(), Ok(Lsn(0)));
        assert_eq!("FFFFFFFF/FFFFFFFF".parse::<Lsn>(), Ok(Lsn(u64::MAX)));
        assert!("16B374D848".parse::<Lsn>().is_err());
        assert!("/1".parse::<Lsn>().is_err());
        assert!("1/".parse::<Lsn>().is_err());
        assert!("1/123456789".parse::<Lsn>().is_err());
        assert!("x/1".parse::<Lsn>().is_err());
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert!("0/1511B48".parse::<Lsn>().unwrap() < "1/0".parse::<Lsn>().unwrap());
    }

    #[test]
    fn rfc3339_micros() {
        assert!(is_rfc3339_utc_micros("2026-11-24T10:15:30.123456Z"));
        assert!(!is_rfc3339_utc_micros("2026-11-24T10:15:30.123Z"));
        assert!(!is_rfc3339_utc_micros("2026-11-24 10:15:30.123456Z"));
        assert!(!is_rfc3339_utc_micros("2026-11-24T10:15:30.123456+00:00"));
    }

    #[test]
    fn expectations_match_case_insensitively_on_one_line() {
        let e = Expect {
            problem: "wal_level is not logical",
            alternatives: vec![vec!["wal_level".into(), "logical".into()]],
        }
        .or("127.0.0.1:5999");
        assert!(e
            .find("info: starting\nerror: WAL_LEVEL must be LOGICAL: set it\n")
            .is_some());
        assert!(e.find("wal_level is replica\nneeds logical\n").is_none());
        assert!(e.find("error: 127.0.0.1:5999 refused").is_some());
        assert!(e.find("error: something else").is_none());
    }

    #[tokio::test]
    async fn fixture_cluster_and_slot_queries() {
        let f = Fixture::new().await;
        assert_eq!(f.query_value("SHOW track_commit_timestamp").await, "on");
        assert_eq!(f.slot_info().await, None);
        f.exec("SELECT pg_create_logical_replication_slot('conduit_e2e', 'pgoutput')")
            .await;
        let info = f.slot_info().await.expect("slot exists");
        assert!(!info.active);
        assert_eq!(info.plugin.as_deref(), Some("pgoutput"));
        let flush = info.confirmed_flush_lsn.expect("confirmed_flush_lsn");
        assert!(flush <= current_lsn(&f.client).await);
        f.exec("CREATE TABLE x (id int)").await;
        let a = commit_returning_xid(&f.client, "INSERT INTO x VALUES (1)").await;
        let b = commit_returning_xid(&f.client, "INSERT INTO x VALUES (2)").await;
        assert!(b > a, "{a} {b}");
    }
}

// ------------------------------------------------------------------------------------------------
// Multi-tenant runs: `conduit-wasm run --config FILE --log-format json`

/// One `[[tenants]]` section of a configuration file.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub sink: PathBuf,
    pub config: Vec<(String, String)>,
    /// Sink config key → environment variable.
    pub secrets: Vec<(String, String)>,
    /// One grant of these tables (none: the tenant sees nothing).
    pub tables: Vec<String>,
    /// The grant's row filter.
    pub filter: Option<String>,
    /// `limits` keys (`memory_mib`, `call_deadline_ms`, `max_batch`, `max_queue`,
    /// `max_failures`).
    pub limits: Vec<(String, u64)>,
    /// `capabilities.tcp`.
    pub tcp: Vec<String>,
    pub clocks: bool,
    pub random: bool,
}

impl Tenant {
    pub fn new(id: impl Into<String>, sink: impl Into<PathBuf>) -> Tenant {
        Tenant {
            id: id.into(),
            sink: sink.into(),
            config: Vec::new(),
            secrets: Vec::new(),
            tables: Vec::new(),
            filter: None,
            limits: Vec::new(),
            tcp: Vec::new(),
            clocks: false,
            random: false,
        }
    }
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.push((key.into(), value.into()));
        self
    }
    pub fn secret(mut self, key: impl Into<String>, env_var: impl Into<String>) -> Self {
        self.secrets.push((key.into(), env_var.into()));
        self
    }
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.tables.push(table.into());
        self
    }
    pub fn filter(mut self, predicate: impl Into<String>) -> Self {
        self.filter = Some(predicate.into());
        self
    }
    pub fn limit(mut self, key: impl Into<String>, value: u64) -> Self {
        self.limits.push((key.into(), value));
        self
    }
    pub fn tcp(mut self, addr: impl Into<String>) -> Self {
        self.tcp.push(addr.into());
        self
    }

    fn to_toml(&self) -> String {
        let inline = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_str(k), toml_str(v)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = String::from("[[tenants]]\n");
        s += &format!("id = {}\n", toml_str(&self.id));
        s += &format!("sink = {}\n", toml_str(&self.sink.to_string_lossy()));
        s += &format!("config = {{ {} }}\n", inline(&self.config));
        s += &format!("secrets = {{ {} }}\n", inline(&self.secrets));
        let limits = self
            .limits
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        s += &format!("limits = {{ {limits} }}\n");
        let tcp = self
            .tcp
            .iter()
            .map(|a| toml_str(a))
            .collect::<Vec<_>>()
            .join(", ");
        s += &format!(
            "capabilities = {{ tcp = [{tcp}], clocks = {}, random = {} }}\n",
            self.clocks, self.random
        );
        if !self.tables.is_empty() {
            let tables = self
                .tables
                .iter()
                .map(|t| toml_str(t))
                .collect::<Vec<_>>()
                .join(", ");
            s += &format!("\n[[tenants.grants]]\ntables = [{tables}]\n");
            if let Some(w) = &self.filter {
                s += &format!("where = {}\n", toml_str(w));
            }
        }
        s
    }
}

/// A TOML basic string (JSON's string escapes are valid TOML).
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// A multi-tenant configuration file.
#[derive(Debug, Clone)]
pub struct TenantsFile {
    pub source: String,
    pub slot: String,
    pub publication: String,
    pub state_dir: PathBuf,
    /// `max_wal_lag_mib` (the runtime's default when `None`).
    pub max_wal_lag_mib: Option<u64>,
    pub tenants: Vec<Tenant>,
}

impl TenantsFile {
    pub fn to_toml(&self) -> String {
        let mut s = format!(
            "source = {}\nslot = {}\npublication = {}\nstate_dir = {}\n\n",
            toml_str(&self.source),
            toml_str(&self.slot),
            toml_str(&self.publication),
            toml_str(&self.state_dir.to_string_lossy()),
        );
        if let Some(mib) = self.max_wal_lag_mib {
            s += &format!("max_wal_lag_mib = {mib}\n\n");
        }
        for t in &self.tenants {
            s += &t.to_toml();
            s.push('\n');
        }
        s
    }

    /// Writes the file to `path`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.to_toml())
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// The tenant called `id`.
    pub fn tenant(&self, id: &str) -> &Tenant {
        self.tenants
            .iter()
            .find(|t| t.id == id)
            .unwrap_or_else(|| panic!("no tenant {id:?} in the test's config"))
    }
}

impl Fixture {
    /// A configuration file for this fixture's cluster, slot and publication, with its state
    /// directory at `<fixture state>/state`.
    pub fn tenants_file(&self, tenants: Vec<Tenant>) -> TenantsFile {
        TenantsFile {
            source: self.pg.url(),
            slot: self.slot.clone(),
            publication: self.publication.clone(),
            state_dir: self.state.path().join("state"),
            max_wal_lag_mib: None,
            tenants,
        }
    }

    /// Writes `file` to `<fixture state>/conduit.toml`, starts `conduit-wasm run --config ...
    /// --log-format json` with `env` added, and waits until it streams.
    pub async fn start_tenants(&self, file: &TenantsFile, env: &[(&str, &str)]) -> Running {
        let path = self.state.path().join("conduit.toml");
        file.write(&path);
        let mut r = Running::spawn(config_command(&path, env));
        r.wait_streaming(&self.client, &file.slot).await;
        r
    }
}

/// One line of `--log-format json` standard error.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// `ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE`; empty for a line that is not JSON.
    pub level: String,
    /// `fields.message` (the whole line when it is not JSON).
    pub message: String,
    /// `fields.tenant`, else the innermost span's `tenant`.
    pub tenant: Option<String>,
    /// `fields.stream` (`stdout`/`stderr` of a sink).
    pub stream: Option<String>,
    pub raw: String,
}

impl LogLine {
    pub fn parse(line: &str) -> LogLine {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            return LogLine {
                level: String::new(),
                message: line.to_string(),
                tenant: None,
                stream: None,
                raw: line.to_string(),
            };
        };
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let fields = v.get("fields");
        let tenant = text(fields.and_then(|f| f.get("tenant")))
            .or_else(|| text(v.get("span").and_then(|s| s.get("tenant"))))
            .or_else(|| {
                v.get("spans")
                    .and_then(Value::as_array)
                    .and_then(|spans| spans.iter().rev().find_map(|s| text(s.get("tenant"))))
            });
        LogLine {
            level: text(v.get("level")).unwrap_or_default(),
            message: text(fields.and_then(|f| f.get("message"))).unwrap_or_default(),
            tenant,
            stream: text(fields.and_then(|f| f.get("stream"))),
            raw: line.to_string(),
        }
    }

    pub fn is_tenant(&self, id: &str) -> bool {
        self.tenant.as_deref() == Some(id)
    }

    /// A line the tenant's sink printed on `stream` (`stdout` or `stderr`).
    pub fn is_output_of(&self, id: &str, stream: &str) -> bool {
        self.is_tenant(id) && self.stream.as_deref() == Some(stream)
    }

    /// WARN or ERROR.
    pub fn is_warning(&self) -> bool {
        matches!(self.level.as_str(), "WARN" | "ERROR")
    }

    /// Whether the message contains every one of `subs`, case-insensitively.
    pub fn says_all(&self, subs: &[&str]) -> bool {
        let m = self.message.to_lowercase();
        subs.iter().all(|s| m.contains(&s.to_lowercase()))
    }
}

/// Every line of `stderr`, parsed.
pub fn log_lines(stderr: &str) -> Vec<LogLine> {
    stderr.lines().map(LogLine::parse).collect()
}

/// The JSON change lines tenant `id`'s sink printed on its stdout, in order.
pub fn tenant_changes(log: &[LogLine], id: &str) -> Vec<Value> {
    log.iter()
        .filter(|l| l.is_output_of(id, "stdout"))
        .filter_map(|l| serde_json::from_str::<Value>(&l.message).ok())
        .filter(Value::is_object)
        .collect()
}

/// The integer `new.id` (else `old.id`) of a change line.
pub fn row_id(line: &Value) -> Option<i64> {
    line.get("new")
        .and_then(|n| n.get("id"))
        .or_else(|| line.get("old").and_then(|o| o.get("id")))
        .and_then(Value::as_i64)
}

impl Running {
    /// Standard error so far, parsed as log lines.
    pub fn log(&self) -> Vec<LogLine> {
        log_lines(&self.stderr())
    }

    /// Bytes written to standard error so far.
    pub fn stderr_len(&self) -> usize {
        self.stderr.lock().unwrap().len()
    }

    /// Polls standard error (every 50 ms) until `cond` holds for its log lines; returns them.
    /// Fails the test when the deadline passes or the process exits first.
    pub async fn wait_for_log(
        &mut self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&[LogLine]) -> bool,
    ) -> Vec<LogLine> {
        let until = Instant::now() + timeout;
        loop {
            let log = self.log();
            if cond(&log) {
                return log;
            }
            if !self.is_running() {
                self.stderr_task_settle().await;
                let log = self.log();
                if cond(&log) {
                    return log;
                }
                panic!(
                    "conduit-wasm exited ({:?}) before {what}\n{}",
                    self.child.try_wait().ok().flatten(),
                    self.report()
                );
            }
            if Instant::now() >= until {
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n{}",
                    self.report()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until tenant `id` has printed at least `n` change lines; returns them.
    pub async fn wait_for_tenant_changes(
        &mut self,
        id: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<Value> {
        let log = self
            .wait_for_log(
                &format!("{n} change lines from tenant {id:?}"),
                timeout,
                |log| tenant_changes(log, id).len() >= n,
            )
            .await;
        tenant_changes(&log, id)
    }
}

/// The status file of a run (`<state_dir>/status-<slot>.json`, or `<state_dir>/status.json`), if
/// it exists and parses.
pub fn read_status_file(state_dir: &Path, slot: &str) -> Option<Value> {
    [
        conduit_wasm::pipeline::status::status_path(state_dir, slot),
        state_dir.join("status.json"),
    ]
    .iter()
    .find_map(|path| {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    })
}

/// The entry of tenant `id` in a status document.
pub fn tenant_status<'a>(status: &'a Value, id: &str) -> Option<&'a Value> {
    status
        .get("tenants")?
        .as_array()?
        .iter()
        .find(|t| t.get("id").and_then(Value::as_str) == Some(id))
}

/// Polls the status file (every 100 ms) until `cond` holds for it; returns it.
pub async fn wait_for_status(
    state_dir: &Path,
    slot: &str,
    timeout: Duration,
    cond: impl Fn(&Value) -> bool,
) -> Value {
    let until = Instant::now() + timeout;
    loop {
        let status = read_status_file(state_dir, slot);
        if let Some(s) = status.as_ref().filter(|s| cond(s)) {
            return s.clone();
        }
        if Instant::now() >= until {
            panic!(
                "the status file under {} did not reach the expected state within {timeout:?}; \
                 last status: {status:?}",
                state_dir.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls the status file until tenant `id` is in `state`; returns its entry.
pub async fn wait_for_tenant_state(
    state_dir: &Path,
    slot: &str,
    id: &str,
    state: &str,
    timeout: Duration,
) -> Value {
    let status = wait_for_status(state_dir, slot, timeout, |s| {
        tenant_status(s, id)
            .and_then(|t| t.get("state"))
            .and_then(Value::as_str)
            == Some(state)
    })
    .await;
    tenant_status(&status, id).cloned().expect("checked above")
}

/// `conduit-wasm status --state-dir DIR --slot SLOT [--json]`, expected to exit within
/// [`exit_deadline`].
pub async fn status_command(state_dir: &Path, slot: &str, json: bool) -> Finished {
    let mut args: Vec<OsString> = vec![
        "status".into(),
        "--state-dir".into(),
        state_dir.into(),
        "--slot".into(),
        slot.into(),
    ];
    if json {
        args.push("--json".into());
    }
    Running::spawn(conduit_command(args))
        .wait_exit(exit_deadline())
        .await
}

/// Resident memory of process `pid` in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

// ------------------------------------------------------------------------------------------------
// A configuration file given as text, for what the `Tenant` builder does not cover (e.g.
// `capabilities.http` in tests/tests/webhook.rs)

impl Fixture {
    /// Writes `toml` to `<fixture state>/conduit.toml`, starts `conduit-wasm run --config ...
    /// --log-format json` with `env` added, and waits until it streams from this fixture's slot.
    pub async fn start_config_text(&self, toml: &str, env: &[(&str, &str)]) -> Running {
        let path = self.state.path().join("conduit.toml");
        std::fs::write(&path, toml).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        let mut r = Running::spawn(config_command(&path, env));
        r.wait_streaming(&self.client, &self.slot).await;
        r
    }
}

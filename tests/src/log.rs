//! `--log-format json` standard error: parsed lines ([`LogLine`]), what tenants' sinks printed,
//! and waiting for log lines.

use std::time::Duration;

use serde_json::Value;

use crate::{eventually, Running};

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

impl Running {
    /// Standard error so far, parsed as log lines.
    pub fn log(&self) -> Vec<LogLine> {
        log_lines(&self.stderr())
    }

    /// Polls standard error until `cond` holds for its log lines; returns them. Fails the test
    /// when the deadline passes or the process exits first.
    pub async fn wait_for_log(
        &mut self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&[LogLine]) -> bool,
    ) -> Vec<LogLine> {
        eventually(what, timeout, async || {
            let log = self.log();
            if cond(&log) {
                return Ok(log);
            }
            if !self.is_running() {
                self.stderr_task_settle().await;
                let log = self.log();
                if cond(&log) {
                    return Ok(log);
                }
                panic!(
                    "conduit-wasm exited ({:?}) before {what}\n{}",
                    self.exit_status(),
                    self.report()
                );
            }
            Err(self.seen())
        })
        .await
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

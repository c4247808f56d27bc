//! The status file of a run, and `conduit-wasm status`.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::{conduit_command, eventually, exit_deadline, Finished, Running};

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

/// Polls the status file until `cond` holds for it (`what` says what is awaited); returns it.
pub async fn wait_for_status(
    what: &str,
    state_dir: &Path,
    slot: &str,
    timeout: Duration,
    cond: impl Fn(&Value) -> bool,
) -> Value {
    let what = format!("{what} (the status file under {})", state_dir.display());
    eventually(&what, timeout, async || {
        match read_status_file(state_dir, slot) {
            Some(status) if cond(&status) => Ok(status),
            status => Err(format!("{status:?}")),
        }
    })
    .await
}

/// Polls the status file until tenant `id` is in `state`; returns its entry.
pub async fn wait_for_tenant_state(
    state_dir: &Path,
    slot: &str,
    id: &str,
    state: &str,
    timeout: Duration,
) -> Value {
    let what = format!("tenant {id} to be {state}");
    let status = wait_for_status(&what, state_dir, slot, timeout, |s| {
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

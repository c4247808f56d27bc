//! The `conduit-wasm` command lines: `run` with arguments ([`RunConfig`]), `run --config`,
//! `check`, `test` ([`conduit_test_output`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::{conduit_bin, exit_deadline, Finished, Running};

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
    /// `--snapshot`: [`crate::Fixture::run_config`] sets `never`, so that a test sees exactly
    /// the changes it makes after the start; `tests/snapshot.rs` covers the default.
    pub snapshot: Option<String>,
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
            snapshot: None,
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
    /// `--snapshot MODE`; `None` leaves the runtime's default.
    pub fn snapshot(mut self, mode: Option<&str>) -> Self {
        self.snapshot = mode.map(str::to_string);
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
        opt("--snapshot", &self.snapshot);
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
    conduit_command_under(&[], args)
}

/// [`conduit_command`] run by another program, e.g. `prlimit --nofile=64:64 --` to give it a
/// limit (`prefix` empty: the binary itself).
pub fn conduit_command_under(
    prefix: &[&str],
    args: impl IntoIterator<Item = impl Into<OsString>>,
) -> Command {
    let mut cmd = match prefix.split_first() {
        Some((program, rest)) => {
            let mut cmd = Command::new(program);
            cmd.args(rest).arg(conduit_bin());
            cmd
        }
        None => Command::new(conduit_bin()),
    };
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

/// `conduit-wasm test <sink> --events <events> --state-dir <state_dir> <extra>`, run to the end
/// (without `RUST_LOG`).
pub fn conduit_test_output(
    sink: &Path,
    events: &Path,
    state_dir: &Path,
    extra: &[&str],
) -> std::process::Output {
    std::process::Command::new(conduit_bin())
        .arg("test")
        .arg(sink)
        .arg("--events")
        .arg(events)
        .arg("--state-dir")
        .arg(state_dir)
        .args(extra)
        .env_remove("RUST_LOG")
        .output()
        .expect("running conduit-wasm test")
}

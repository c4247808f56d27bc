//! The scratch PostgreSQL every bench run talks to, and the small file helpers its callers share:
//! the bench must never touch a real cluster, and each step needs only `psql` and the server's
//! bindir (`pg_recvlogical`, `pgbench`).

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;

/// The scratch PostgreSQL, run by `conduit-wasm scratch-server` until its stdin closes.
pub(super) struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    pub url: String,
    pub port: String,
    pub bindir: PathBuf,
    log: PathBuf,
}

impl Server {
    pub fn start(bin: &Path, slots: usize) -> Result<Server> {
        let mut cmd = Command::new(bin);
        cmd.arg("scratch-server")
            .arg("--fsync-off")
            .args([
                "--conf",
                &format!("max_replication_slots={}", slots.max(16)),
            ])
            .args(["--conf", "max_wal_senders=16"])
            .args(["--conf", "max_wal_size=8GB"])
            .args(["--conf", "checkpoint_timeout=1h"])
            .args(["--conf", "autovacuum=off"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        eprintln!("xtask: starting a scratch PostgreSQL (`conduit-wasm scratch-server`)");
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("starting {} scratch-server: {e}", bin.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut fields = std::collections::HashMap::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading scratch-server output: {e}"))?;
            if line == "ready" {
                break;
            }
            if let Some((k, v)) = line.split_once('=') {
                fields.insert(k.to_string(), v.to_string());
            }
        }
        let mut server = Server {
            child,
            stdin,
            url: String::new(),
            port: String::new(),
            bindir: PathBuf::new(),
            log: PathBuf::new(),
        };
        let (Some(url), Some(bindir)) = (fields.remove("url"), fields.remove("bindir")) else {
            return Err("conduit-wasm scratch-server stopped before it was ready".into());
        };
        server.port = url
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split('/').next())
            .unwrap_or("5432")
            .to_string();
        server.url = url;
        server.bindir = PathBuf::from(bindir);
        server.log = fields.remove("log").map(PathBuf::from).unwrap_or_default();
        Ok(server)
    }

    /// Runs each statement in its own transaction (one `-c` each); returns psql's output.
    pub fn psql(&self, statements: &[&str]) -> Result<String> {
        let mut cmd = Command::new(self.bindir.join("psql"));
        cmd.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &self.url,
        ]);
        for s in statements {
            cmd.args(["-c", s]);
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running psql: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "psql failed ({}): {}\nstatements: {}\nserver log tail:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                statements.join("; "),
                tail(&self.log, 10)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    pub fn query(&self, sql: &str) -> Result<String> {
        self.psql(&[sql])
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // End of file on its stdin stops the server and removes its directory.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn log_file(path: &Path) -> Result<fs::File> {
    fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))
}

/// The last `lines` lines of a log file, for error messages.
pub(super) fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

//! Starting the server process of a scratch cluster on a free port, waiting until it answers, and
//! stopping it (`pg_ctl stop`).

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::error::io_err;
use super::{ScratchCluster, ScratchError};

/// How [`ScratchCluster::halt`] stops the server (`pg_ctl stop -m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Disconnects clients, writes a checkpoint, exits cleanly.
    Fast,
    /// Exits at once, like a crash: the next start runs crash recovery, and replication slots
    /// may go back to their last checkpointed position.
    Immediate,
}

/// Attempts at finding a port nobody takes between our probe and the server's bind.
const PORT_ATTEMPTS: usize = 8;

impl ScratchCluster {
    /// Starts the postmaster on a free port and waits until it answers, retrying with another
    /// port when the one we picked was taken in the meantime.
    pub(super) async fn launch(
        &mut self,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(), ScratchError> {
        self.launch_on(None, deadline, timeout).await
    }

    /// `launch`, on `port` when given (a restart keeps its port: clients reconnect to it).
    pub(super) async fn launch_on(
        &mut self,
        port: Option<u16>,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(), ScratchError> {
        let canonical_data = fs::canonicalize(&self.data_dir).unwrap_or(self.data_dir.clone());
        let attempts = if port.is_some() { 1 } else { PORT_ATTEMPTS };
        for attempt in 1..=attempts {
            self.port = match port {
                Some(p) => p,
                None => free_port()?,
            };
            let log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log_path)
                .map_err(io_err("opening the server log"))?;
            let log2 = log.try_clone().map_err(io_err("opening the server log"))?;
            let mut cmd = Command::new(self.bins.postgres());
            cmd.arg("-D")
                .arg(&self.data_dir)
                .arg("-p")
                .arg(self.port.to_string())
                .current_dir(self.dir.path())
                .env_remove("PGDATA")
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log2);
            use std::os::unix::process::CommandExt;
            // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and
            // SIGINT is PostgreSQL's fast shutdown. The server must outlive our orderly stop
            // (which reads the slot's position from it) and is stopped by `shutdown`, in order.
            cmd.process_group(0);
            if let Some(ra) = self.run_as {
                cmd.uid(ra.uid).gid(ra.gid);
            }
            self.child = Some(cmd.spawn().map_err(io_err(format!(
                "running {}",
                self.bins.postgres().display()
            )))?);

            loop {
                if let Some(status) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    self.child = None;
                    let log = tail(&self.log_path, 30);
                    if attempt < attempts
                        && (log.contains("Address already in use")
                            || log.contains("could not create any TCP/IP sockets"))
                    {
                        break; // next port
                    }
                    return Err(ScratchError::Exited {
                        status: status.to_string(),
                        log,
                    });
                }
                if Instant::now() >= deadline {
                    self.shutdown();
                    return Err(ScratchError::StartTimeout {
                        timeout,
                        log: tail(&self.log_path, 30),
                    });
                }
                if let Ok(dir) = self.probe().await {
                    // Another server could own the port if ours failed to bind it: check it is ours.
                    let dir = PathBuf::from(dir);
                    if fs::canonicalize(&dir).unwrap_or(dir) == canonical_data {
                        return Ok(());
                    }
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Connects once and asks for the data directory.
    async fn probe(&self) -> Result<String, tokio_postgres::Error> {
        let mut config: tokio_postgres::Config = self.url().parse()?;
        config.connect_timeout(Duration::from_secs(2));
        let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
        let conn = tokio::spawn(conn);
        let row = client
            .query_one("SELECT current_setting('data_directory')", &[])
            .await;
        drop(client);
        let _ = conn.await;
        Ok(row?.get(0))
    }

    /// Stops the server now (immediate shutdown) and deletes its files. Same as dropping it.
    pub fn stop(self) {
        drop(self)
    }

    /// Stops the server and keeps its files, for tests of what clients do while it is away;
    /// [`ScratchCluster::start_again`] brings it back on the same port.
    pub fn halt(&mut self, mode: ShutdownMode) {
        self.shutdown_with(mode);
    }

    /// Starts a server stopped with [`ScratchCluster::halt`] again, on the same port, and waits
    /// until it answers (after crash recovery, for an immediate shutdown).
    pub async fn start_again(&mut self, timeout: Duration) -> Result<(), ScratchError> {
        if self.child.is_some() {
            return Ok(());
        }
        let port = self.port;
        self.launch_on(Some(port), Instant::now() + timeout, timeout)
            .await
    }

    pub(super) fn shutdown(&mut self) {
        self.shutdown_with(ShutdownMode::Immediate);
    }

    pub(super) fn shutdown_with(&mut self, mode: ShutdownMode) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(None) = child.try_wait() {
            let mut cmd = Command::new(self.bins.pg_ctl());
            let mode = match mode {
                ShutdownMode::Fast => "fast",
                ShutdownMode::Immediate => "immediate",
            };
            cmd.arg("stop")
                .arg("-D")
                .arg(&self.data_dir)
                .args(["-m", mode, "-w", "-t", "30"])
                .current_dir(self.dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(ra) = self.run_as {
                use std::os::unix::process::CommandExt;
                cmd.uid(ra.uid).gid(ra.gid);
            }
            let stopped = cmd.status().map(|s| s.success()).unwrap_or(false);
            if !stopped {
                let _ = child.kill();
            }
        }
        let _ = child.wait();
    }
}

/// The last `lines` lines of a file (at most the last 64 KiB of it), lossily decoded.
pub(super) fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A free TCP port on the loopback interface (free when we looked: the caller retries when the
/// server then cannot bind it).
fn free_port() -> Result<u16, ScratchError> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io_err("binding port 0"))?;
    Ok(l.local_addr()
        .map_err(io_err("reading a bound port"))?
        .port())
}

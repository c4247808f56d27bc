//! The brokers the broker sinks' drains write into, each on a free loopback port: a private
//! `nats-server -js` (file storage in the bench's directory) and `tansu` (Kafka protocol,
//! in-memory storage). A missing broker skips its drains with a note; it does not fail the run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;

pub(super) struct Nats {
    child: Child,
    pub addr: String,
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

impl Nats {
    /// `nats-server -js` with its store under `dir`, once it accepts connections; `None` when
    /// `nats-server` is not installed.
    pub fn start(dir: &Path) -> Result<Option<Nats>> {
        let port = free_port()?;
        let store = dir.join("nats");
        std::fs::create_dir_all(&store)
            .map_err(|e| format!("creating {}: {e}", store.display()))?;
        let child = match Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(&store)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("xtask: nats-server is not installed: the nats-jetstream drains are skipped (apt-get install nats-server)");
                return Ok(None);
            }
            Err(e) => return Err(format!("starting nats-server: {e}")),
        };
        let nats = Nats {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&nats.addr).is_err() {
            if Instant::now() > deadline {
                return Err(format!("nats-server did not listen on {}", nats.addr));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Some(nats))
    }

    /// A JetStream API request (`$JS.API.<api>` with `body`): the reply's JSON text.
    pub fn api(&self, api: &str, body: &str) -> Result<String> {
        let fail = |e: std::io::Error| format!("nats at {}: $JS.API.{api}: {e}", self.addr);
        let stream = TcpStream::connect(&self.addr).map_err(fail)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(fail)?;
        let mut r = BufReader::new(stream);
        let mut line = String::new();
        r.read_line(&mut line).map_err(fail)?; // INFO
        let msg = format!(
            "CONNECT {{\"verbose\":false}}\r\nSUB _INBOX.xtask 1\r\nPUB $JS.API.{api} _INBOX.xtask {}\r\n{body}\r\n",
            body.len()
        );
        r.get_mut().write_all(msg.as_bytes()).map_err(fail)?;
        loop {
            line.clear();
            if r.read_line(&mut line).map_err(fail)? == 0 {
                return Err(format!("nats at {}: connection closed", self.addr));
            }
            if line.starts_with("PING") {
                r.get_mut().write_all(b"PONG\r\n").map_err(fail)?;
            } else if line.starts_with("-ERR") {
                return Err(format!("nats at {}: {}", self.addr, line.trim()));
            } else if let Some(rest) = line.strip_prefix("MSG ") {
                let size: usize = rest
                    .split_whitespace()
                    .last()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("bad MSG line {line:?}"))?;
                let mut payload = vec![0; size + 2];
                r.read_exact(&mut payload).map_err(fail)?;
                payload.truncate(size);
                return String::from_utf8(payload).map_err(|e| e.to_string());
            }
        }
    }

    /// Creates stream `name` (file storage) capturing `subjects`.
    pub fn create_stream(&self, name: &str, subjects: &str) -> Result<()> {
        let reply = self.api(
            &format!("STREAM.CREATE.{name}"),
            &format!(r#"{{"name":"{name}","subjects":["{subjects}"],"storage":"file","duplicate_window":3600000000000}}"#),
        )?;
        if reply.contains("\"error\"") {
            return Err(format!("creating stream {name}: {reply}"));
        }
        Ok(())
    }

    /// How many messages stream `name` holds; then deletes it.
    pub fn count_and_delete(&self, name: &str) -> Result<u64> {
        let info = self.api(&format!("STREAM.INFO.{name}"), "")?;
        let v: serde_json::Value =
            serde_json::from_str(&info).map_err(|e| format!("stream info {info:?}: {e}"))?;
        let n = v["state"]["messages"]
            .as_u64()
            .ok_or_else(|| format!("stream info without a message count: {info}"))?;
        self.api(&format!("STREAM.DELETE.{name}"), "")?;
        Ok(n)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tansu broker` with in-memory storage.
pub(super) struct Tansu {
    child: Child,
    pub addr: String,
    bin: std::path::PathBuf,
}

/// Where `.ci/run` installs tansu, else `tansu` on PATH.
fn tansu_bin() -> std::path::PathBuf {
    if let Some(home) = std::env::var_os("HOME") {
        let p = std::path::PathBuf::from(home).join(".cache/conduit-wasm/tools/bin/tansu");
        if p.is_file() {
            return p;
        }
    }
    "tansu".into()
}

impl Tansu {
    pub fn start() -> Result<Option<Tansu>> {
        let port = free_port()?;
        let url = format!("tcp://127.0.0.1:{port}");
        let bin = tansu_bin();
        let child = match Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("xtask: tansu is not installed: the kafka drains are skipped (.ci/run installs it)");
                return Ok(None);
            }
            Err(e) => return Err(format!("starting tansu: {e}")),
        };
        let tansu = Tansu {
            child,
            addr: format!("127.0.0.1:{port}"),
            bin,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&tansu.addr).is_err() {
            if Instant::now() > deadline {
                return Err(format!("tansu did not listen on {}", tansu.addr));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Some(tansu))
    }

    /// `tansu topic create|delete NAME`.
    pub fn topic(&self, verb: &str, name: &str) -> Result<()> {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["topic", verb, name])
            .args(["--broker", &format!("tcp://{}", self.addr)]);
        if verb == "create" {
            cmd.args(["--partitions", "1"]);
        }
        let out = cmd
            .output()
            .map_err(|e| format!("tansu topic {verb} {name}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "tansu topic {verb} {name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! A private `nats-server -js` for the tests of the NATS JetStream sink: on a free loopback port,
//! its store in a temporary directory, killed on drop. Read its streams with `async-nats` (a
//! dev-dependency of the test files).

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{eventually_blocking, unused_port};

pub struct NatsServer {
    pub addr: SocketAddr,
    child: Child,
    _store: tempfile::TempDir,
}

impl NatsServer {
    /// `nats-server -js` with `extra` arguments (e.g. `--user u --pass p`), once it accepts
    /// connections.
    pub fn start(extra: &[&str]) -> NatsServer {
        let port = unused_port();
        let store = tempfile::tempdir().expect("a store directory");
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store.path())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting nats-server: {e} (install it: sudo apt-get install nats-server)")
            });
        let mut server = NatsServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            _store: store,
        };
        eventually_blocking(
            &format!("nats-server on port {port} to accept connections"),
            Duration::from_secs(20),
            || {
                if let Ok(Some(status)) = server.child.try_wait() {
                    panic!("nats-server on port {port} exited: {status}");
                }
                TcpStream::connect(server.addr).map_err(|e| e.to_string())
            },
        );
        server
    }

    /// `nats://127.0.0.1:PORT`, for `async_nats::connect`.
    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

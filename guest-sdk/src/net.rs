//! A TCP client stream that works whichever way the sink was built.
//!
//! On `wasm32-wasip2` (and natively, for tests) [`TcpStream`] is `std::net::TcpStream`, which goes
//! through `wasi:sockets`. On `wasm32-unknown-unknown` (the Debian `rustc-web` fallback of
//! `cargo xtask build-sinks`) std has no network at all, so the SDK calls `wasi:sockets` itself
//! (`wasi.rs`). Either way the runtime decides, per address, whether the connection is allowed: a
//! sink must be granted the address (`capabilities = { tcp = [...] }`).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

#[cfg(all(target_family = "wasm", target_os = "unknown"))]
#[path = "net/wasi.rs"]
mod imp;

#[cfg(not(all(target_family = "wasm", target_os = "unknown")))]
mod imp {
    pub use std::net::TcpStream;
}

/// A connected TCP stream: std's API for what a sink needs (connect, timeouts, read, write).
#[derive(Debug)]
pub struct TcpStream(imp::TcpStream);

impl TcpStream {
    /// Connects to `addr` (`ip:port`, or `host:port` where the runtime allows name lookups),
    /// trying each address it resolves to in turn.
    pub fn connect(addr: &str) -> io::Result<TcpStream> {
        imp::TcpStream::connect(addr).map(TcpStream)
    }

    /// Bounds each read; `None` waits for ever. A read that times out fails with `WouldBlock` or
    /// `TimedOut`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.set_read_timeout(timeout)
    }

    /// Bounds each write (and flush); `None` waits for ever.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.set_write_timeout(timeout)
    }

    /// Disables Nagle's algorithm where the platform lets a sink choose (`wasi:sockets` 0.2 does
    /// not: an `Unsupported` error there, which a sink may ignore).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.0.set_nodelay(nodelay)
    }

    /// The local end of the connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

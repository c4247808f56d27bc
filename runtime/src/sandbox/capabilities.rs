//! What a sink may reach beyond its own memory. Default: nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtxBuilder};

use super::http::{HttpOrigin, HttpState};
use super::output::GuestLog;
use super::output_file::OutputFile;

/// Where a sink's standard output and error go.
///
/// Two different things: *delivery* (`Inherit`'s stdout, `File`), where every byte counts and is
/// written before the call that wrote it is accepted, and *logs* (`Log`, and a tenant's stderr),
/// which are bounded to protect the host and whose overflow is dropped with a warning saying so.
/// A tenant's stdout is delivery only when it was granted a file.
#[derive(Debug, Clone)]
pub enum Output {
    /// The process's own stdout/stderr: for the single-sink CLI, where the operator chose the
    /// sink and its output (e.g. `stdout-json`) is the point. No cap: written in full, and the
    /// process's stdout is flushed after each call.
    Inherit,
    /// Log lines tagged with this tenant id, bounded (see [`super::output`]).
    Log(Arc<str>),
    /// A tenant whose stdout is appended to a file, in full and fsynced before each call is
    /// accepted (see [`super::output_file`]); its stderr is log lines as with `Log`.
    File {
        tenant: Arc<str>,
        stdout: OutputFile,
    },
}

impl Output {
    /// The tenant a multi-tenant sink's output belongs to; `None` for the single-sink CLI.
    pub fn tenant(&self) -> Option<&Arc<str>> {
        match self {
            Output::Inherit => None,
            Output::Log(tenant) | Output::File { tenant, .. } => Some(tenant),
        }
    }

    /// The tenant's stdout file, when it was granted one.
    pub fn file(&self) -> Option<&OutputFile> {
        match self {
            Output::File { stdout, .. } => Some(stdout),
            _ => None,
        }
    }
}

/// The capabilities a sink is granted. There are no preopened directories and no environment
/// variables in any case.
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// Addresses the sink may open TCP connections to.
    pub tcp_connect: Vec<SocketAddr>,
    /// Origins the sink may send HTTP requests to (`wasi:http`); a request to any other origin
    /// is refused with `HTTP-request-denied` and a warning. Empty: no HTTP at all.
    pub http_origins: Vec<HttpOrigin>,
    /// Real wall and monotonic clocks; otherwise both read as zero.
    pub clocks: bool,
    /// Real randomness; otherwise a fixed sequence.
    pub random: bool,
    pub output: Output,
}

impl Capabilities {
    /// What `conduit-wasm run` gives the one sink the operator runs: clocks, randomness and the
    /// process's stdout/stderr; still no files, environment or network (`--allow-http` adds
    /// origins).
    pub fn single_sink() -> Capabilities {
        Capabilities {
            tcp_connect: Vec::new(),
            http_origins: Vec::new(),
            clocks: true,
            random: true,
            output: Output::Inherit,
        }
    }

    /// A tenant's default: nothing but its own log lines.
    pub fn none(tenant: Arc<str>) -> Capabilities {
        Capabilities {
            tcp_connect: Vec::new(),
            http_origins: Vec::new(),
            clocks: false,
            random: false,
            output: Output::Log(tenant),
        }
    }

    /// The `wasi:http` state of one instance; `timeout` bounds each phase of a request.
    pub(crate) fn http(&self, timeout: Duration) -> HttpState {
        let tenant = self.output.tenant().cloned();
        HttpState::new(self.http_origins.as_slice().into(), tenant, timeout)
    }

    /// Builds the WASI context; returns the log streams whose per-call budget the instance
    /// renews.
    pub(crate) fn wasi(&self) -> (wasmtime_wasi::WasiCtx, Vec<GuestLog>) {
        let mut b = WasiCtxBuilder::new();
        let mut logs = Vec::new();
        match &self.output {
            Output::Inherit => {
                b.inherit_stdout().inherit_stderr();
            }
            Output::Log(tenant) => {
                let out = GuestLog::new(tenant.clone(), "stdout");
                let err = GuestLog::new(tenant.clone(), "stderr");
                b.stdout(out.clone()).stderr(err.clone());
                logs.push(out);
                logs.push(err);
            }
            Output::File { tenant, stdout } => {
                let err = GuestLog::new(tenant.clone(), "stderr");
                b.stdout(stdout.clone()).stderr(err.clone());
                logs.push(err);
            }
        }
        if !self.clocks {
            b.wall_clock(FrozenClock).monotonic_clock(FrozenClock);
        }
        if !self.random {
            b.secure_random(wasmtime_wasi::Deterministic::new(vec![4, 2]))
                .insecure_random(wasmtime_wasi::Deterministic::new(vec![4, 2]))
                .insecure_random_seed(0);
        }
        // Every address is checked, and a refusal is logged with the tenant, even for a sink
        // granted no TCP at all: an attempt is worth an operator's attention.
        let allowed: Arc<[SocketAddr]> = self.tcp_connect.clone().into();
        let tenant = match self.output.tenant() {
            Some(tenant) => tenant.clone(),
            None => Arc::from("default"),
        };
        b.allow_tcp(true).socket_addr_check(move |addr, use_| {
            let ok = match use_ {
                SocketAddrUse::TcpConnect => allowed.contains(&addr),
                // connect() binds implicitly to the wildcard address first.
                SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
                _ => false,
            };
            if !ok {
                tracing::warn!(tenant = %tenant, "sink denied network access: {use_:?} {addr}");
            }
            Box::pin(async move { ok })
        });
        (b.build(), logs)
    }
}

/// A clock that never moves: time is a capability, and without it a sink cannot tell time.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

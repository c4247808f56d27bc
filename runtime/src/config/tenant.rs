//! One tenant's section of the configuration.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::route::Grant;
use crate::sandbox::{Capabilities, HttpOrigin, Output, OutputFile, SinkLimits};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Names the tenant in logs, status and checkpoints: letters, digits, `-` and `_`.
    pub id: String,
    /// The sink component.
    pub sink: PathBuf,
    /// Passed to the sink's `connect`.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Sink config keys whose values come from environment variables (key → variable name), so
    /// that secrets are neither in the file nor in the logs.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// What the tenant may see. No grants: nothing.
    #[serde(default)]
    pub grants: Vec<Grant>,
    #[serde(default)]
    pub limits: TenantLimits,
    #[serde(default)]
    pub capabilities: TenantCapabilities,
}

/// The default of `batch_wait_ms` (and of `run --batch-wait-ms`): at most one call per
/// millisecond for a steady stream of small transactions, adding at most that to their latency.
pub const DEFAULT_BATCH_WAIT_MS: u64 = 1;

/// Per-tenant limits; every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantLimits {
    pub memory_mib: usize,
    pub call_deadline_ms: u64,
    /// Most changes per `publish` call.
    pub max_batch: usize,
    /// How long a call short of `max_batch` may wait for more changes, in milliseconds; 0 sends
    /// every transaction as soon as the sink is free.
    pub batch_wait_ms: u64,
    /// Most changes waiting for this tenant's sink.
    pub max_queue: usize,
    /// Consecutive failed attempts at one batch (traps, timeouts, retryable errors) after which
    /// the tenant is quarantined.
    pub max_failures: u32,
}

impl Default for TenantLimits {
    fn default() -> Self {
        TenantLimits {
            memory_mib: 64,
            call_deadline_ms: 5_000,
            max_batch: 1_000,
            batch_wait_ms: DEFAULT_BATCH_WAIT_MS,
            max_queue: 100_000,
            max_failures: 5,
        }
    }
}

/// Per-tenant capabilities; every one is off unless listed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantCapabilities {
    /// `host:port` pairs the sink may open TCP connections to.
    pub tcp: Vec<String>,
    /// Origins (`http://host:port`) the sink may send HTTP requests to.
    pub http: Vec<String>,
    pub clocks: bool,
    pub random: bool,
    /// A file the sink's stdout is appended to, in full and fsynced before each call is
    /// accepted (relative to the config file). Without it the sink's stdout is log lines,
    /// bounded per call: logs, not delivery.
    pub stdout: Option<PathBuf>,
}

impl TenantConfig {
    pub(super) fn check(&self) -> Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok {
            return Err(format!(
                "tenant id {:?} must be 1-64 letters, digits, '-' or '_'",
                self.id
            ));
        }
        let who = format!("tenant {:?}", self.id);
        if self.limits.memory_mib == 0
            || self.limits.call_deadline_ms == 0
            || self.limits.max_batch == 0
        {
            return Err(format!("{who}: limits must be positive"));
        }
        for key in self.secrets.keys() {
            if self.config.contains_key(key) {
                return Err(format!("{who}: {key:?} is both in config and in secrets"));
            }
        }
        for origin in &self.capabilities.http {
            HttpOrigin::parse(origin).map_err(|e| format!("{who}: capabilities.http: {e}"))?;
        }
        for addr in &self.capabilities.tcp {
            if addr
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .is_none()
            {
                return Err(format!(
                    "{who}: capabilities.tcp {addr:?} is not host:port (e.g. \"127.0.0.1:6379\")"
                ));
            }
        }
        Ok(())
    }

    /// The sink's configuration with secrets read from the environment.
    pub fn sink_config(&self) -> Result<Vec<(String, String)>, String> {
        let mut out: Vec<(String, String)> = self
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, var) in &self.secrets {
            let value = std::env::var(var).map_err(|_| {
                format!(
                    "tenant {:?}: secret {key:?} comes from the environment variable {var}, which \
                     is not set: export {var} before starting conduit-wasm",
                    self.id
                )
            })?;
            out.push((key.clone(), value));
        }
        Ok(out)
    }

    pub fn sink_limits(&self) -> SinkLimits {
        SinkLimits {
            memory_bytes: self.limits.memory_mib << 20,
            call_deadline: Duration::from_millis(self.limits.call_deadline_ms),
        }
    }

    /// The WASI capabilities, with `tcp` names resolved to addresses now: a sink is allowed the
    /// addresses its grant named at start, not whatever a name resolves to later.
    pub fn sink_capabilities(&self) -> Result<Capabilities, String> {
        let mut tcp = Vec::new();
        for entry in &self.capabilities.tcp {
            let addrs: Vec<SocketAddr> = entry
                .to_socket_addrs()
                .map_err(|e| format!("tenant {:?}: capabilities.tcp {entry:?}: {e}", self.id))?
                .collect();
            tcp.extend(addrs);
        }
        let http_origins = self
            .capabilities
            .http
            .iter()
            .map(|o| HttpOrigin::parse(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("tenant {:?}: capabilities.http: {e}", self.id))?;
        let tenant: Arc<str> = Arc::from(self.id.as_str());
        let output = match &self.capabilities.stdout {
            None => Output::Log(tenant),
            // Opened here, before anything touches the database, so that a path that cannot be
            // appended to is a one-line error at start rather than a quarantine later.
            Some(path) => Output::File {
                tenant,
                stdout: OutputFile::open(path).map_err(|e| {
                    format!(
                        "tenant {:?}: capabilities.stdout {}: cannot append to it: {e}; give a \
                         writable file in an existing directory",
                        self.id,
                        path.display()
                    )
                })?,
            },
        };
        Ok(Capabilities {
            tcp_connect: tcp,
            http_origins,
            clocks: self.capabilities.clocks,
            random: self.capabilities.random,
            output,
        })
    }
}

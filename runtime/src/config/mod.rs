//! The configuration file of `conduit-wasm run --config` and `validate`: one source, many
//! tenants, each with its own sink, grants, limits and capabilities.
//!
//! ```toml
//! source_env = "DATABASE_URL"        # or source = "postgres://…"
//! slot = "conduit"
//! publication = "conduit"
//! publish_via_partition_root = true   # a publication we create: partitions' changes as the root's
//! state_dir = "/var/lib/conduit-wasm"
//! max_wal_lag_mib = 1024              # warn when one tenant holds back more WAL than this
//! metrics_addr = "127.0.0.1:9977"     # Prometheus /metrics, /healthz, /readyz (off if unset)
//! heartbeat_interval = 10             # seconds between heartbeats into the WAL (off if unset)
//! stall_timeout = 60                  # seconds with work waiting and no successful call
//!
//! [[tenants]]
//! id = "acme"
//! sink = "sinks/redis-stream.wasm"   # relative to this file
//! config = { stream = "acme-orders" }
//! secrets = { password = "ACME_REDIS_PASSWORD" }   # sink config key → environment variable
//! limits = { memory_mib = 64, call_deadline_ms = 2000 }
//! capabilities = { tcp = ["127.0.0.1:6379"] }
//!
//! [[tenants]]
//! id = "audit"
//! sink = "sinks/stdout-json.wasm"
//! capabilities = { stdout = "out/audit.jsonl" }   # delivery: relative to this file
//!
//! [[tenants.grants]]
//! tables = ["public.orders"]
//! columns = ["id", "tenant_id", "amount"]
//! where = "tenant_id = 'acme'"
//! ```

mod tenant;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use tenant::{TenantCapabilities, TenantConfig, TenantLimits, DEFAULT_BATCH_WAIT_MS};

use crate::error::SetupError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// PostgreSQL URL. Prefer `source_env` so that a password is not written in the file.
    pub source: Option<String>,
    /// Name of an environment variable holding the PostgreSQL URL.
    pub source_env: Option<String>,
    #[serde(default = "default_name")]
    pub slot: String,
    /// `None`: the default name, `conduit` ([`FileConfig::publication_name`]).
    pub publication: Option<String>,
    /// Tables of a publication we create; when empty, every table with a replica identity.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Whether a publication we create publishes a partitioned table's changes under the
    /// root's name (`publish_via_partition_root`).
    #[serde(default = "default_true")]
    pub publish_via_partition_root: bool,
    pub state_dir: Option<PathBuf>,
    /// A tenant holding the slot back by more WAL than this is named in a warning.
    #[serde(default = "default_wal_lag")]
    pub max_wal_lag_mib: u64,
    /// Whether the rows that exist when the slot is created are delivered first (`initial`,
    /// `never`, `initial-only`); `--snapshot` overrides it.
    #[serde(default)]
    pub snapshot: Option<SnapshotMode>,
    /// Connections reading the initial snapshot's tables side by side; `--snapshot-workers`
    /// overrides it.
    #[serde(default)]
    pub snapshot_workers: Option<usize>,
    /// Tenants added to the configuration of a stream that is already running get the rows
    /// that exist of the tables they are granted, by backfill (default true).
    #[serde(default)]
    pub backfill_new_tenants: Option<bool>,
    /// What a run does when its slot was invalidated or dropped: `fail` (default) or
    /// `resnapshot`; `--on-slot-lost` overrides it.
    #[serde(default)]
    pub on_slot_lost: Option<OnSlotLost>,
    /// Where `/metrics`, `/healthz` and `/readyz` are served (`IP:PORT`); `--metrics-addr`
    /// overrides it.
    #[serde(default)]
    pub metrics_addr: Option<String>,
    /// Seconds between heartbeats written into the WAL (see `metrics::sampler`);
    /// `--heartbeat` overrides it.
    #[serde(default)]
    pub heartbeat_interval: Option<u64>,
    /// Seconds a tenant may have work waiting with no successful call before it counts as
    /// stalled (default 60); `--stall-timeout` overrides it.
    #[serde(default)]
    pub stall_timeout: Option<u64>,
    /// Threads calling into sinks, shared by all tenants (default: one per tenant up to 64).
    #[serde(default)]
    pub sink_threads: Option<usize>,
    /// Memory for all tenants' queued changes together, in MiB (default 64); past it, tenants
    /// queue on disk (their backlog files) until their sinks catch up.
    #[serde(default)]
    pub queue_memory_mib: Option<usize>,
    /// Missing and empty alike get the one-line "no [[tenants]]" message of `check`.
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
}

/// When the rows that already exist are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotMode {
    /// When the run creates the slot: read every published table in the slot's snapshot, then
    /// stream. The default: a new user expects the rows that are already there.
    #[default]
    Initial,
    /// Never: only changes made after the slot was created.
    Never,
    /// Create the slot, deliver the snapshot, and stop.
    InitialOnly,
}

/// What a run does when the server has lost its slot's WAL (or the slot is gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnSlotLost {
    /// Stop with an error that says what was lost and what to do. The default: changes are
    /// missing, and only an operator can say whether the destination may be rebuilt.
    #[default]
    Fail,
    /// Drop the slot, create a new one and deliver a new initial snapshot, each table preceded
    /// by a `truncate`: sinks see every row again, as reads.
    Resnapshot,
}

fn default_name() -> String {
    "conduit".into()
}

fn default_true() -> bool {
    true
}

fn default_wal_lag() -> u64 {
    1024
}

impl FileConfig {
    /// Reads and checks a configuration file. Relative sink and `capabilities.stdout` paths are
    /// resolved against the file's directory.
    pub fn load(path: &Path) -> Result<FileConfig, SetupError> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| SetupError::new(format!("cannot read config file {shown}: {e}")))?;
        let mut config: FileConfig = toml::from_str(&text)
            .map_err(|e| SetupError::new(format!("{shown}: {}", describe_toml_error(&text, &e))))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for tenant in &mut config.tenants {
            if tenant.sink.is_relative() {
                tenant.sink = base.join(&tenant.sink);
            }
            if let Some(out) = tenant
                .capabilities
                .stdout
                .as_mut()
                .filter(|p| p.is_relative())
            {
                *out = base.join(&*out);
            }
        }
        config
            .check()
            .map_err(|e| SetupError::new(format!("{shown}: {e}")))?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.tenants.is_empty() {
            return Err("no [[tenants]]: add at least one tenant with an id and a sink".into());
        }
        if self.source.is_some() && self.source_env.is_some() {
            return Err("give either source or source_env, not both".into());
        }
        if let Some(addr) = &self.metrics_addr {
            crate::metrics::server::parse_addr(addr).map_err(|e| format!("metrics_addr {e}"))?;
        }
        if self.heartbeat_interval == Some(0) || self.stall_timeout == Some(0) {
            return Err(
                "heartbeat_interval and stall_timeout are seconds, at least 1 (leave \
                        heartbeat_interval out to write no heartbeats)"
                    .into(),
            );
        }
        let mut seen = std::collections::HashSet::new();
        let mut outputs = std::collections::HashMap::new();
        for tenant in &self.tenants {
            tenant.check()?;
            if !seen.insert(tenant.id.as_str()) {
                return Err(format!(
                    "tenant id {:?} is used twice: ids must be unique",
                    tenant.id
                ));
            }
            // Two sinks appending to one file would interleave their output, and one's failed
            // call would cut the other's accepted output off.
            if let Some(path) = &tenant.capabilities.stdout {
                if let Some(other) = outputs.insert(path.clone(), tenant.id.as_str()) {
                    return Err(format!(
                        "tenants {other:?} and {:?} have the same capabilities.stdout {}: give \
                         each tenant its own file",
                        tenant.id,
                        path.display()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The publication's name: `publication`, else `conduit`.
    pub fn publication_name(&self) -> String {
        self.publication.clone().unwrap_or_else(default_name)
    }

    /// The source URL: `source`, else the variable `source_env` names, else `None` (a scratch
    /// PostgreSQL).
    pub fn source_url(&self) -> Result<Option<String>, SetupError> {
        if let Some(url) = &self.source {
            return Ok(Some(url.clone()));
        }
        match &self.source_env {
            Some(var) => std::env::var(var).map(Some).map_err(|_| {
                SetupError::new(format!(
                    "source_env names the environment variable {var}, which is not set: export \
                     it with the PostgreSQL URL"
                ))
            }),
            None => Ok(None),
        }
    }
}

/// toml's errors span several lines with a source excerpt; ours are one line with the position.
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            format!("line {line}, column {column}: {}", message.trim())
        }
        None => message.trim().to_string(),
    }
}

#[cfg(test)]
mod tests;

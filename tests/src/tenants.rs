//! Multi-tenant runs: the configuration file of `conduit-wasm run --config FILE` ([`Tenant`],
//! [`TenantsFile`]).

use std::path::{Path, PathBuf};

/// One `[[tenants]]` section of a configuration file.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub sink: PathBuf,
    pub config: Vec<(String, String)>,
    /// Sink config key → environment variable.
    pub secrets: Vec<(String, String)>,
    /// One grant of these tables (none: the tenant sees nothing).
    pub tables: Vec<String>,
    /// The grant's row filter.
    pub filter: Option<String>,
    /// `limits` keys (`memory_mib`, `call_deadline_ms`, `max_batch`, `max_queue`,
    /// `max_failures`).
    pub limits: Vec<(String, u64)>,
    /// `capabilities.tcp`.
    pub tcp: Vec<String>,
    pub clocks: bool,
    pub random: bool,
    /// `capabilities.stdout`: the sink's output goes to this file (delivery, not logging).
    pub stdout: Option<PathBuf>,
}

impl Tenant {
    pub fn new(id: impl Into<String>, sink: impl Into<PathBuf>) -> Tenant {
        Tenant {
            id: id.into(),
            sink: sink.into(),
            config: Vec::new(),
            secrets: Vec::new(),
            tables: Vec::new(),
            filter: None,
            limits: Vec::new(),
            tcp: Vec::new(),
            clocks: false,
            random: false,
            stdout: None,
        }
    }
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.push((key.into(), value.into()));
        self
    }
    pub fn secret(mut self, key: impl Into<String>, env_var: impl Into<String>) -> Self {
        self.secrets.push((key.into(), env_var.into()));
        self
    }
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.tables.push(table.into());
        self
    }
    pub fn filter(mut self, predicate: impl Into<String>) -> Self {
        self.filter = Some(predicate.into());
        self
    }
    pub fn limit(mut self, key: impl Into<String>, value: u64) -> Self {
        self.limits.push((key.into(), value));
        self
    }
    pub fn stdout(mut self, path: impl Into<PathBuf>) -> Self {
        self.stdout = Some(path.into());
        self
    }
    pub fn tcp(mut self, addr: impl Into<String>) -> Self {
        self.tcp.push(addr.into());
        self
    }

    fn to_toml(&self) -> String {
        let inline = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_str(k), toml_str(v)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = String::from("[[tenants]]\n");
        s += &format!("id = {}\n", toml_str(&self.id));
        s += &format!("sink = {}\n", toml_str(&self.sink.to_string_lossy()));
        s += &format!("config = {{ {} }}\n", inline(&self.config));
        s += &format!("secrets = {{ {} }}\n", inline(&self.secrets));
        let limits = self
            .limits
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        s += &format!("limits = {{ {limits} }}\n");
        let tcp = self
            .tcp
            .iter()
            .map(|a| toml_str(a))
            .collect::<Vec<_>>()
            .join(", ");
        let stdout = self
            .stdout
            .as_ref()
            .map(|p| format!(", stdout = {}", toml_str(&p.to_string_lossy())))
            .unwrap_or_default();
        s += &format!(
            "capabilities = {{ tcp = [{tcp}], clocks = {}, random = {}{stdout} }}\n",
            self.clocks, self.random
        );
        if !self.tables.is_empty() {
            let tables = self
                .tables
                .iter()
                .map(|t| toml_str(t))
                .collect::<Vec<_>>()
                .join(", ");
            s += &format!("\n[[tenants.grants]]\ntables = [{tables}]\n");
            if let Some(w) = &self.filter {
                s += &format!("where = {}\n", toml_str(w));
            }
        }
        s
    }
}

/// A TOML basic string (JSON's string escapes are valid TOML).
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// A multi-tenant configuration file.
#[derive(Debug, Clone)]
pub struct TenantsFile {
    pub source: String,
    pub slot: String,
    pub publication: String,
    pub state_dir: PathBuf,
    /// `max_wal_lag_mib` (the runtime's default when `None`).
    pub max_wal_lag_mib: Option<u64>,
    /// `snapshot` (the runtime's default when `None`; [`crate::Fixture::tenants_file`] sets
    /// `never`, as its `run_config` does).
    pub snapshot: Option<String>,
    /// Top-level lines written as they are, before the tenants (e.g. `metrics_addr = "…"`).
    pub extra: String,
    pub tenants: Vec<Tenant>,
}

impl TenantsFile {
    pub fn to_toml(&self) -> String {
        let mut s = format!(
            "source = {}\nslot = {}\npublication = {}\nstate_dir = {}\n\n",
            toml_str(&self.source),
            toml_str(&self.slot),
            toml_str(&self.publication),
            toml_str(&self.state_dir.to_string_lossy()),
        );
        if let Some(mib) = self.max_wal_lag_mib {
            s += &format!("max_wal_lag_mib = {mib}\n\n");
        }
        if let Some(mode) = &self.snapshot {
            s += &format!("snapshot = {}\n\n", toml_str(mode));
        }
        if !self.extra.is_empty() {
            s += &format!("{}\n\n", self.extra);
        }
        for t in &self.tenants {
            s += &t.to_toml();
            s.push('\n');
        }
        s
    }

    /// Writes the file to `path`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.to_toml())
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// The tenant called `id`.
    pub fn tenant(&self, id: &str) -> &Tenant {
        self.tenants
            .iter()
            .find(|t| t.id == id)
            .unwrap_or_else(|| panic!("no tenant {id:?} in the test's config"))
    }

    /// Waits (up to [`crate::line_deadline`]) for this file's status to show tenant `id` in
    /// `state`; returns the tenant's status.
    pub async fn wait_for_tenant_state(&self, id: &str, state: &str) -> serde_json::Value {
        crate::wait_for_tenant_state(
            &self.state_dir,
            &self.slot,
            id,
            state,
            crate::line_deadline(),
        )
        .await
    }
}

//! A test's world: a cluster, a client, a state directory ([`Fixture`]), and starting
//! `conduit-wasm` against it.

use tokio_postgres::Client;

use crate::{
    config_command, connect, exec, query_value, slot_info, start_cluster, stdout_json, RunConfig,
    Running, ScratchCluster, ScratchOptions, SlotInfo, Tenant, TenantsFile,
};

/// One cluster, a superuser connection, and a state directory, with the slot and publication
/// names a test uses.
pub struct Fixture {
    pub client: Client,
    pub state: tempfile::TempDir,
    pub slot: String,
    pub publication: String,
    // Declared last: dropped after the client.
    pub pg: ScratchCluster,
}

impl Fixture {
    /// A trust-auth cluster with `wal_level=logical` and `track_commit_timestamp=on`.
    pub async fn new() -> Fixture {
        Fixture::with_options(
            ScratchOptions::default()
                .fsync_off()
                .conf("track_commit_timestamp", "on"),
        )
        .await
    }

    pub async fn with_options(opts: ScratchOptions) -> Fixture {
        let pg = start_cluster(opts).await;
        let client = connect(&pg.url()).await;
        Fixture {
            client,
            state: tempfile::Builder::new()
                .prefix("conduit-e2e-state-")
                .tempdir()
                .expect("state dir"),
            slot: "conduit_e2e".into(),
            publication: "conduit_e2e_pub".into(),
            pg,
        }
    }

    pub async fn exec(&self, sql: &str) {
        exec(&self.client, sql).await
    }

    pub async fn query_value(&self, sql: &str) -> String {
        query_value(&self.client, sql).await
    }

    /// `run stdout-json --source URL --slot S --publication P --state-dir D`.
    pub fn run_config(&self) -> RunConfig {
        RunConfig::new(stdout_json())
            .source(self.pg.url())
            .slot(&self.slot)
            .publication(&self.publication)
            .state_dir(self.state.path())
            .snapshot(Some("never"))
    }

    /// Starts `conduit-wasm run` with [`Fixture::run_config`] and waits until it streams.
    pub async fn start_conduit(&self) -> Running {
        self.start(self.run_config()).await
    }

    /// Starts `conduit-wasm` with `cfg` and waits until it streams from this fixture's slot.
    pub async fn start(&self, cfg: RunConfig) -> Running {
        let mut r = cfg.spawn();
        r.wait_streaming(&self.client, cfg.slot.as_deref().unwrap_or(&self.slot))
            .await;
        r
    }

    pub async fn slot_info(&self) -> Option<SlotInfo> {
        slot_info(&self.client, &self.slot).await
    }

    // Multi-tenant runs: `conduit-wasm run --config FILE --log-format json`.

    /// A configuration file for this fixture's cluster, slot and publication, with its state
    /// directory at `<fixture state>/state`.
    pub fn tenants_file(&self, tenants: Vec<Tenant>) -> TenantsFile {
        TenantsFile {
            source: self.pg.url(),
            slot: self.slot.clone(),
            publication: self.publication.clone(),
            state_dir: self.state.path().join("state"),
            max_wal_lag_mib: None,
            snapshot: Some("never".into()),
            extra: String::new(),
            tenants,
        }
    }

    /// Writes `file` to `<fixture state>/conduit.toml`, starts `conduit-wasm run --config ...
    /// --log-format json` with `env` added, and waits until it streams.
    pub async fn start_tenants(&self, file: &TenantsFile, env: &[(&str, &str)]) -> Running {
        let path = self.state.path().join("conduit.toml");
        file.write(&path);
        let mut r = Running::spawn(config_command(&path, env));
        r.wait_streaming(&self.client, &file.slot).await;
        r
    }

    /// A configuration file given as text, for what the [`Tenant`] builder does not cover (e.g.
    /// `capabilities.http` in tests/tests/webhook.rs).
    ///
    /// Writes `toml` to `<fixture state>/conduit.toml`, starts `conduit-wasm run --config ...
    /// --log-format json` with `env` added, and waits until it streams from this fixture's slot.
    pub async fn start_config_text(&self, toml: &str, env: &[(&str, &str)]) -> Running {
        let path = self.state.path().join("conduit.toml");
        std::fs::write(&path, toml).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        let mut r = Running::spawn(config_command(&path, env));
        r.wait_streaming(&self.client, &self.slot).await;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{commit_returning_xid, current_lsn};

    #[tokio::test]
    async fn fixture_cluster_and_slot_queries() {
        let f = Fixture::new().await;
        assert_eq!(f.query_value("SHOW track_commit_timestamp").await, "on");
        assert_eq!(f.slot_info().await, None);
        f.exec("SELECT pg_create_logical_replication_slot('conduit_e2e', 'pgoutput')")
            .await;
        let info = f.slot_info().await.expect("slot exists");
        assert!(!info.active);
        assert_eq!(info.plugin.as_deref(), Some("pgoutput"));
        let flush = info.confirmed_flush_lsn.expect("confirmed_flush_lsn");
        assert!(flush <= current_lsn(&f.client).await);
        f.exec("CREATE TABLE x (id int)").await;
        let a = commit_returning_xid(&f.client, "INSERT INTO x VALUES (1)").await;
        let b = commit_returning_xid(&f.client, "INSERT INTO x VALUES (2)").await;
        assert!(b > a, "{a} {b}");
    }
}

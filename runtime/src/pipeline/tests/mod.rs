//! In-process tests of a whole pipeline through the library entry point ([`crate::launch::run`]):
//! a real scratch PostgreSQL, in-memory sinks and positions, and failpoints instead of killed
//! processes and TCP proxies. Each is the in-process counterpart of an end-to-end fault test in
//! `tests/` and runs in about a second, most of it initdb.

mod faults;
mod snapshot;
mod stop;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use tokio_postgres::Client;

use crate::checkpoint::{MemoryStore, PositionStore};
use crate::event::{Lsn, Value};
use crate::launch::{self, RunSpec, SinkSource, TenantPlan};
use crate::pipeline::failpoint::Failpoints;
use crate::pipeline::worker::RetryPolicy;
use crate::pipeline::Summary;
use crate::sandbox::{Capabilities, SinkLimits};
use crate::scratch::{ScratchCluster, ScratchOptions};
use crate::source::setup::StreamSpec;
use crate::test_utils::MemorySink;

/// A scratch server with table `t (id int primary key)`, a state directory and a position store
/// that outlives runs.
struct Harness {
    cluster: ScratchCluster,
    client: Client,
    state: tempfile::TempDir,
    store: MemoryStore,
}

impl Harness {
    async fn start() -> Harness {
        let cluster = ScratchCluster::start(ScratchOptions::default().fsync_off())
            .await
            .expect("scratch PostgreSQL");
        let client = cluster.connect().await.expect("connect");
        client
            .batch_execute("CREATE TABLE t (id int PRIMARY KEY)")
            .await
            .unwrap();
        Harness {
            cluster,
            client,
            state: tempfile::tempdir().unwrap(),
            store: MemoryStore::default(),
        }
    }

    /// A run of `plans` keeping positions in this harness's store.
    fn spec(&self, plans: Vec<TenantPlan>, failpoints: &Failpoints) -> RunSpec {
        let store = self.store.clone();
        RunSpec {
            open_store: Arc::new(move |_, _| Arc::new(store.clone()) as Arc<dyn PositionStore>),
            failpoints: failpoints.clone(),
            multi_tenant: plans.len() > 1,
            ..RunSpec::new(
                Some(self.cluster.url()),
                StreamSpec {
                    slot: "s".into(),
                    publication: "p".into(),
                    publication_given: true,
                    tables: Vec::new(),
                    via_root: true,
                },
                self.state.path().to_path_buf(),
                plans,
            )
        }
    }

    /// Inserts ids `from..=to`, one transaction each; returns the WAL position after them.
    async fn insert(&self, from: i32, to: i32) -> Lsn {
        for id in from..=to {
            self.client
                .execute("INSERT INTO t VALUES ($1)", &[&id])
                .await
                .unwrap();
        }
        self.wal_lsn().await
    }

    async fn wal_lsn(&self) -> Lsn {
        let row = self
            .client
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .await
            .unwrap();
        row.get::<_, String>(0).parse().unwrap()
    }

    /// The slot's `confirmed_flush_lsn` (`None` before it exists).
    async fn slot_confirmed(&self) -> Option<Lsn> {
        let row = self
            .client
            .query_opt(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 's'",
                &[],
            )
            .await
            .unwrap()?;
        row.get::<_, Option<String>>(0).map(|s| s.parse().unwrap())
    }

    /// Waits until the slot exists (the pipeline may be reading its snapshot, not streaming).
    async fn wait_streaming_or_snapshot(&self) {
        eventually("the slot to exist", Duration::from_secs(30), || async {
            self.slot_confirmed().await.is_some()
        })
        .await;
    }

    /// Waits until the pipeline is streaming from the slot.
    async fn wait_streaming(&self) {
        eventually("the slot to be active", Duration::from_secs(30), || async {
            self.client
                .query_opt(
                    "SELECT 1 FROM pg_replication_slots WHERE slot_name = 's' AND active",
                    &[],
                )
                .await
                .unwrap()
                .is_some()
        })
        .await;
    }
}

/// One tenant with a sink that sees everything and retries quickly.
fn plan(id: &str, sink: SinkSource) -> TenantPlan {
    TenantPlan {
        id: Arc::from(id),
        sink,
        config: Vec::new(),
        limits: SinkLimits::default(),
        capabilities: Capabilities::single_sink(),
        grants: None,
        max_batch: 1000,
        batch_wait: Duration::from_millis(1),
        max_queue: 100_000,
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        },
    }
}

/// Runs a pipeline while `script` acts on the database, then stops it and returns how it ended.
/// A run that ends by itself first (an error, `stop_at`) cuts the script short.
async fn with_pipeline(spec: RunSpec, script: impl Future<Output = ()>) -> anyhow::Result<Summary> {
    let (stop, shutdown) = watch::channel(false);
    let run = launch::run(spec, shutdown);
    tokio::pin!(run);
    tokio::select! {
        result = &mut run => return result,
        () = script => {}
    }
    let _ = stop.send(true);
    run.await
}

/// The `id` of each change a sink accepted, in order.
fn ids(sink: &MemorySink) -> Vec<i64> {
    sink.changes()
        .iter()
        .map(|c| match c.new.as_deref() {
            Some([Value::Int(id)]) => *id,
            other => panic!("unexpected row {other:?}"),
        })
        .collect()
}

/// Polls `condition` until it holds, failing the test with `what` after `deadline`.
async fn eventually<F, Fut>(what: &str, deadline: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let until = Instant::now() + deadline;
    while !condition().await {
        assert!(
            Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

//! Prometheus metrics and health endpoints (`--metrics-addr`, `metrics_addr`).
//!
//! Off unless an address is given: then [`install`] creates the one process-wide set of
//! metrics and [`server`] serves `/metrics`, `/healthz` and `/readyz` on it. Most values are
//! *derived* from the [`RunStatus`] the pipeline computes once a second anyway ([`publish`]):
//! the tenants' queues, positions, lag, stalls, delivered counts and the source's counts, so the
//! path of a change carries no metrics code at all. Only what the status does not know is
//! counted where it happens: each sink call's duration, failures and retries ([`calls`], on the
//! sink's thread), and the slot's lag as the server sees it ([`sampler`], on a connection of its
//! own). With metrics off each of those hooks is one atomic load.
//!
//! Counters derived from the status advance by the difference to the last status, so they are
//! at most one status interval (1 s) behind what the sinks accepted.
//!
//! Cost, measured with 1,000 tenants (`a_thousand_tenants_cost`, debug build, on this 2-core
//! machine under a load of 7): publishing takes 6–13 ms each second on the loop's thread; a
//! scrape is 1.4 MiB of text (most of it the 10 histogram buckets per tenant), encoded in
//! 7–12 ms; the per-call hook of a sink thread 0.4–1 µs.

pub mod calls;
pub mod sampler;
pub mod server;
pub mod top;

use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::event::Lsn;
use crate::pipeline::status::RunStatus;

/// The label of every per-tenant metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabel {
    pub tenant: String,
}

type Float = Gauge<f64, AtomicU64>;

/// Everything exposed on `/metrics` (names without the `conduit_` prefix; counters get
/// `_total`). README's "Operations" section lists them with their meaning and unit.
pub struct Metrics {
    registry: Registry,
    received_bytes: Counter,
    received_messages: Counter,
    transactions: Counter,
    reconnects: Counter,
    spilled_bytes: Counter,
    streaming: Gauge,
    received_lsn: Gauge,
    confirmed_lsn: Gauge,
    /// Set by [`sampler`]: `pg_current_wal_lsn() - confirmed_flush_lsn` of our slot.
    pub(crate) slot_lag_bytes: Gauge,
    snapshot_running: Gauge,
    snapshot_rows_read: Gauge,
    snapshot_rows_estimated: Gauge,
    snapshot_tables_done: Gauge,
    snapshot_tables_total: Gauge,
    backfills_running: Gauge,
    backfill_rows_done: Gauge,
    backfill_rows_estimated: Gauge,
    delivered_changes: Family<TenantLabel, Counter>,
    delivered_batches: Family<TenantLabel, Counter>,
    pub(crate) call_failures: Family<TenantLabel, Counter>,
    pub(crate) call_retries: Family<TenantLabel, Counter>,
    pub(crate) publish_seconds: Family<TenantLabel, Histogram, fn() -> Histogram>,
    quarantined: Family<TenantLabel, Gauge>,
    stalled: Family<TenantLabel, Gauge>,
    queued_changes: Family<TenantLabel, Gauge>,
    in_flight_changes: Family<TenantLabel, Gauge>,
    backlog_bytes: Family<TenantLabel, Gauge>,
    position_lsn: Family<TenantLabel, Gauge>,
    lag_bytes: Family<TenantLabel, Gauge>,
    lag_seconds: Family<TenantLabel, Float>,
    /// The last status published, for the health endpoints.
    last: Mutex<Option<(Instant, Health)>>,
}

/// What the health endpoints need of the last status.
#[derive(Debug, Clone)]
struct Health {
    streaming: bool,
    snapshot: bool,
    stalled: Vec<String>,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The metrics, if `--metrics-addr` installed them.
pub fn get() -> Option<&'static Metrics> {
    METRICS.get()
}

/// Creates the process's metrics (once; later calls return the same).
pub fn install() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

/// Derives the metrics from the status the pipeline just wrote (nothing without metrics).
pub fn publish(status: &RunStatus) {
    if let Some(m) = get() {
        m.publish(status);
    }
}

/// Publish-call durations: 1 ms to ~65 s in powers of 4 (a no-op sink answers in ~0.1 ms, a
/// webhook in tens of ms, a retried destination in seconds).
fn publish_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 4.0, 9,
    ))
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("conduit");
        macro_rules! metric {
            ($name:literal, $help:literal, $m:expr) => {{
                let m = $m;
                registry.register($name, $help, m.clone());
                m
            }};
        }
        Metrics {
            received_bytes: metric!("source_received_bytes", "Bytes of pgoutput messages received on the replication connection", Counter::default()),
            received_messages: metric!("source_received_messages", "pgoutput messages received on the replication connection", Counter::default()),
            transactions: metric!("source_transactions", "Committed transactions decoded and handed to the tenants", Counter::default()),
            reconnects: metric!("source_reconnects", "Replication sessions lost and started again", Counter::default()),
            spilled_bytes: metric!("source_spilled_bytes", "Bytes of large in-progress transactions written to spill files", Counter::default()),
            streaming: metric!("source_streaming", "1 while a replication session is under way, 0 while connecting or reconnecting", Gauge::default()),
            received_lsn: metric!("source_received_lsn", "Highest WAL position the server said it sent, as a number", Gauge::default()),
            confirmed_lsn: metric!("slot_confirmed_lsn", "WAL position last confirmed to the slot (least tenant position), as a number", Gauge::default()),
            slot_lag_bytes: metric!("slot_lag_bytes", "pg_current_wal_lsn() - confirmed_flush_lsn of the slot, sampled every 5 s: WAL written since the slot's confirmed position", Gauge::default()),
            snapshot_running: metric!(
                "snapshot_running",
                "1 while the initial snapshot is being delivered",
                Gauge::default()
            ),
            snapshot_rows_read: metric!("snapshot_rows_read", "Rows read by the initial snapshot", Gauge::default()),
            snapshot_rows_estimated: metric!("snapshot_rows_estimated", "Rows the initial snapshot expects, from the catalog's statistics", Gauge::default()),
            snapshot_tables_done: metric!("snapshot_tables_done", "Tables the initial snapshot has delivered", Gauge::default()),
            snapshot_tables_total: metric!("snapshot_tables_total", "Tables the initial snapshot reads", Gauge::default()),
            backfills_running: metric!(
                "backfills_running",
                "Backfills running now (each one's table and progress: conduit-wasm status)",
                Gauge::default()
            ),
            backfill_rows_done: metric!(
                "backfill_rows_done",
                "Rows the running backfills have delivered durably, summed",
                Gauge::default()
            ),
            backfill_rows_estimated: metric!(
                "backfill_rows_estimated",
                "Rows the running backfills expect (catalog statistics), summed",
                Gauge::default()
            ),
            delivered_changes: metric!("tenant_delivered_changes", "Changes the tenant's sink accepted", Family::default()),
            delivered_batches: metric!("tenant_delivered_batches", "Publish calls the tenant's sink accepted", Family::default()),
            call_failures: metric!("tenant_call_failures", "Sink calls that failed (error, trap or deadline), retried or not", Family::default()),
            call_retries: metric!("tenant_call_retries", "Sink calls retried after a failure", Family::default()),
            publish_seconds: metric!("tenant_publish_duration_seconds", "Duration of one publish call to the sink (each attempt)", Family::new_with_constructor(publish_histogram as fn() -> Histogram)),
            quarantined: metric!("tenant_quarantined", "1 when the tenant is quarantined (stopped after failing; it holds the slot)", Family::default()),
            stalled: metric!("tenant_stalled", "1 when the tenant has work waiting and no call succeeded for the stall timeout", Family::default()),
            queued_changes: metric!("tenant_queued_changes", "Changes waiting for the tenant's sink (memory and backlog file)", Family::default()),
            in_flight_changes: metric!("tenant_in_flight_changes", "Changes in the call to the sink under way", Family::default()),
            backlog_bytes: metric!("tenant_backlog_bytes", "Size of the tenant's backlog file (its queue's part on disk)", Family::default()),
            position_lsn: metric!("tenant_position_lsn", "The tenant's durable position (WAL position), as a number", Family::default()),
            lag_bytes: metric!("tenant_lag_bytes", "Bytes of WAL between the tenant's position and what the server sent", Family::default()),
            lag_seconds: metric!("tenant_lag_seconds", "Age of the oldest committed change the tenant has not accepted; 0 when caught up (with --heartbeat: age of the newest heartbeat)", Family::default()),
            last: Mutex::new(None),
            registry,
        }
    }

    fn publish(&self, s: &RunStatus) {
        let lsn = |text: &str| text.parse::<Lsn>().map_or(0, |l| l.0 as i64);
        catch_up(&self.received_bytes, s.source.received_bytes);
        catch_up(&self.received_messages, s.source.received_messages);
        catch_up(&self.transactions, s.source.transactions);
        catch_up(&self.reconnects, s.source.reconnects);
        catch_up(&self.spilled_bytes, s.source.spilled_bytes);
        self.streaming.set(i64::from(s.streaming));
        self.received_lsn.set(lsn(&s.received_lsn));
        self.confirmed_lsn.set(lsn(&s.confirmed_lsn));
        // After the snapshot its figures stay, with every table done.
        if s.snapshot.is_none() && self.snapshot_running.set(0) == 1 {
            self.snapshot_tables_done
                .set(self.snapshot_tables_total.get());
        }
        if let Some(snap) = &s.snapshot {
            self.snapshot_running.set(1);
            self.snapshot_rows_read.set(snap.rows_read as i64);
            self.snapshot_rows_estimated.set(snap.rows_estimated as i64);
            self.snapshot_tables_done.set(snap.tables_done as i64);
            self.snapshot_tables_total.set(snap.tables_total as i64);
        }
        // Summed: a dashboard wants "how far are the backfills"; per table, `status` says.
        let running = s.backfills.iter().filter(|b| b.running);
        let (n, done, estimated) = running.fold((0, 0, 0), |(n, d, e), b| {
            (n + 1, d + b.rows_done, e + b.rows_estimated)
        });
        self.backfills_running.set(n);
        self.backfill_rows_done.set(done as i64);
        self.backfill_rows_estimated.set(estimated as i64);
        for t in &s.tenants {
            let l = TenantLabel {
                tenant: t.id.clone(),
            };
            catch_up(
                &self.delivered_changes.get_or_create(&l),
                t.delivered_changes,
            );
            catch_up(
                &self.delivered_batches.get_or_create(&l),
                t.delivered_batches,
            );
            let set = |family: &Family<TenantLabel, Gauge>, v: i64| {
                family.get_or_create(&l).set(v);
            };
            set(&self.quarantined, i64::from(t.state == "quarantined"));
            set(&self.stalled, i64::from(t.stalled));
            set(&self.queued_changes, t.queued_changes as i64);
            set(&self.in_flight_changes, t.in_flight_changes as i64);
            set(&self.backlog_bytes, t.backlog_bytes as i64);
            set(&self.position_lsn, lsn(&t.position_lsn));
            set(&self.lag_bytes, t.lag_bytes as i64);
            self.lag_seconds.get_or_create(&l).set(t.lag_seconds);
            // Created at 0, so that a tenant that never failed still has the series.
            drop(self.call_failures.get_or_create(&l));
            drop(self.call_retries.get_or_create(&l));
            drop(self.publish_seconds.get_or_create(&l));
        }
        let health = Health {
            streaming: s.streaming,
            snapshot: s.snapshot.is_some(),
            stalled: (s.tenants.iter().filter(|t| t.stalled))
                .map(|t| t.id.clone())
                .collect(),
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), health));
    }

    /// The Prometheus text format (0.0.4) of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }

    /// `/healthz`: the process answers and, once it streams, its loop reports at least once a
    /// minute (a loop stuck in a call that never returns stops reporting).
    pub fn live(&self) -> Result<(), String> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match last {
            Some((at, h)) if h.streaming && at.elapsed().as_secs() >= LIVENESS_SECS => {
                Err(format!(
                    "the replication loop has not reported for {} s",
                    at.elapsed().as_secs()
                ))
            }
            _ => Ok(()),
        }
    }

    /// `/readyz`: streaming (or delivering the initial snapshot), reported within the last
    /// few seconds, and no tenant stalled.
    pub fn ready(&self) -> Result<(), String> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some((at, h)) = last else {
            return Err("starting: not streaming yet".into());
        };
        if at.elapsed().as_secs() >= READINESS_SECS {
            return Err(format!(
                "no status for {} s (connecting or reconnecting)",
                at.elapsed().as_secs()
            ));
        }
        if !h.streaming && !h.snapshot {
            return Err("not streaming (connecting or reconnecting)".into());
        }
        if !h.stalled.is_empty() {
            return Err(format!("stalled tenants: {}", h.stalled.join(", ")));
        }
        Ok(())
    }
}

/// A loop that reports once a second and has not for this long is stuck.
const LIVENESS_SECS: u64 = 60;
/// A status older than this means the loop is not streaming (it reports every second).
const READINESS_SECS: u64 = 5;

/// Advances a counter to `total` (a running total kept by the pipeline).
fn catch_up(counter: &Counter, total: u64) {
    counter.inc_by(total.saturating_sub(counter.get()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::status::TenantStatus;

    fn status(tenants: usize, delivered: u64) -> RunStatus {
        RunStatus {
            pid: 1,
            updated_at: 0,
            running: true,
            slot: "s".into(),
            publication: "p".into(),
            received_lsn: "0/100".into(),
            confirmed_lsn: "0/80".into(),
            snapshot: None,
            backfills: Vec::new(),
            queue_memory: None,
            tenants: (0..tenants)
                .map(|i| TenantStatus {
                    id: format!("t{i}"),
                    state: if i == 1 { "quarantined" } else { "active" }.into(),
                    position_lsn: "0/80".into(),
                    delivered_changes: delivered,
                    lag_bytes: 128,
                    lag_seconds: 1.5,
                    stalled: i == 2,
                    ..Default::default()
                })
                .collect(),
            streaming: true,
            source: Default::default(),
        }
    }

    #[test]
    fn counters_follow_the_status_and_health_reads_it() {
        let m = Metrics::new();
        assert!(m.ready().is_err(), "nothing published yet");
        m.publish(&status(3, 5));
        m.publish(&status(3, 7));
        let text = m.encode();
        for line in [
            "conduit_tenant_delivered_changes_total{tenant=\"t0\"} 7",
            "conduit_tenant_quarantined{tenant=\"t1\"} 1",
            "conduit_tenant_stalled{tenant=\"t2\"} 1",
            "conduit_tenant_lag_seconds{tenant=\"t0\"} 1.5",
            "conduit_tenant_position_lsn{tenant=\"t0\"} 128",
            "conduit_source_streaming 1",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
        assert_eq!(m.ready(), Err("stalled tenants: t2".into()));
        assert_eq!(m.live(), Ok(()));
    }

    /// What publishing and a scrape cost with a thousand tenants (printed with --nocapture;
    /// the figures in the module docs come from here).
    #[test]
    fn a_thousand_tenants_cost() {
        let m = Metrics::new();
        let s = status(1000, 1);
        m.publish(&s);
        let at = Instant::now();
        for _ in 0..10 {
            m.publish(&s);
        }
        let publish = at.elapsed() / 10;
        let at = Instant::now();
        let text = m.encode();
        let encode = at.elapsed();
        // What a sink thread adds per call (`calls::publish_took`).
        let at = Instant::now();
        for i in 0..100_000 {
            let l = TenantLabel {
                tenant: format!("t{}", i % 1000),
            };
            m.publish_seconds.get_or_create(&l).observe(0.001);
        }
        println!(
            "1000 tenants: publish {publish:?}, encode {encode:?} for {} KiB, a call's \
             histogram update {:?}",
            text.len() >> 10,
            at.elapsed() / 100_000
        );
    }
}

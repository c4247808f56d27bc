//! What the crash and fault tests share: a mixed workload, an independent record of what
//! PostgreSQL committed, and the check that every committed change was delivered.
//!
//! The record of truth is a second logical slot with the `test_decoding` plugin, created before
//! the workload and read at the end with `pg_logical_slot_peek_changes`: PostgreSQL's own account
//! of every committed change, in commit order, which shares no code with ours. What the sink
//! delivered is read back from Redis, where `redis-stream` appends one entry per change.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio_postgres::Client;

use crate::{eventually, pg_error, query_text, Lsn};

/// A small deterministic generator (xorshift64*), so that a failing run can be repeated from the
/// seed it prints.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from `CONDUIT_CHAOS_SEED` when set, else from the clock; prints the seed.
    pub fn from_env(test: &str) -> Rng {
        let seed = std::env::var("CONDUIT_CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("{test}: CONDUIT_CHAOS_SEED={seed}");
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo).max(1)
    }

    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.range(lo, hi))
    }
}

/// A number from the environment, for the long versions of the tests.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The workload's tables: `a` takes multi-row inserts and updates, `b` single-row inserts and
/// deletes.
pub const SCHEMA: &str = "CREATE TABLE a (id int PRIMARY KEY, v int NOT NULL, pad text);
     CREATE TABLE b (id int PRIMARY KEY, v int NOT NULL)";

/// Creates the `test_decoding` slot that records what PostgreSQL commits (before any change).
pub async fn create_oracle(client: &Client) {
    query_text(
        client,
        "SELECT pg_create_logical_replication_slot('oracle', 'test_decoding')",
    )
    .await;
}

/// What the workload did.
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkloadReport {
    pub transactions: u64,
    pub changes: u64,
}

/// A writer of transactions of mixed shapes: multi-row inserts (some larger than a batch, so
/// that they are delivered in slices), single-row inserts, updates of ranges, deletes, and
/// transactions that mix them. A transaction whose commit fails because the server went away is
/// retried on a new connection only if it did not commit (checked through a marker row), so the
/// record of truth stays exact.
pub struct Workload {
    url: String,
    client: Option<Client>,
    rng: Rng,
    next_a: i64,
    next_b: i64,
    first_b: i64,
    pub report: WorkloadReport,
}

impl Workload {
    pub fn new(url: String, rng: Rng) -> Workload {
        Workload {
            url,
            client: None,
            rng,
            next_a: 1,
            next_b: 1,
            first_b: 1,
            report: WorkloadReport::default(),
        }
    }

    /// Commits transactions until at least `more` further row changes are committed.
    pub async fn run(&mut self, more: u64) -> WorkloadReport {
        let target = self.report.changes + more;
        while self.report.changes < target {
            let statements = self.next_transaction();
            let marker = self.report.transactions + 1;
            loop {
                let client = match self.client.take() {
                    Some(c) => c,
                    None => connect_retrying(&self.url).await,
                };
                match commit(&client, &statements, marker).await {
                    Ok(()) => {
                        self.client = Some(client);
                        break;
                    }
                    Err(e) => {
                        eprintln!("workload: transaction {marker} failed ({e}); reconnecting");
                        let client = connect_retrying(&self.url).await;
                        let committed = client
                            .query_opt(
                                "SELECT 1 FROM workload_marker WHERE id = $1",
                                &[&(marker as i64)],
                            )
                            .await
                            .unwrap_or_else(|e| {
                                panic!("checking marker {marker}: {}", pg_error(&e))
                            })
                            .is_some();
                        self.client = Some(client);
                        if committed {
                            break;
                        }
                    }
                }
            }
            self.report.transactions += 1;
            self.report.changes += statements.iter().map(|(_, n)| n).sum::<u64>() + 1;
        }
        self.report
    }

    /// One statement inserting `n` new rows into `a`, each with `payload`.
    fn insert_into_a(&mut self, n: i64, payload: &str) -> Vec<(String, u64)> {
        let first = self.next_a;
        self.next_a += n;
        vec![(
            format!(
                "INSERT INTO a SELECT g, 0, {payload} FROM generate_series({first}, {}) g",
                first + n - 1
            ),
            n as u64,
        )]
    }

    /// The statements of the next transaction and how many rows each changes.
    fn next_transaction(&mut self) -> Vec<(String, u64)> {
        let rng = &mut self.rng;
        let (next_a, next_b) = (self.next_a, self.next_b);
        match rng.range(0, 100) {
            0..=29 => {
                let n = rng.range(20, 400) as i64;
                self.insert_into_a(n, "repeat('p', 100)")
            }
            30..=34 => {
                // Larger than the default batch of 1000: delivered in slices.
                let n = rng.range(1500, 3000) as i64;
                self.insert_into_a(n, "NULL")
            }
            35..=59 => {
                self.next_b += 1;
                vec![(format!("INSERT INTO b VALUES ({next_b}, 1)"), 1)]
            }
            60..=79 if next_a > 60 => {
                let from = rng.range(1, next_a as u64 - 50) as i64;
                vec![(
                    format!(
                        "UPDATE a SET v = v + 1 WHERE id BETWEEN {from} AND {}",
                        from + 49
                    ),
                    50,
                )]
            }
            80..=89 if next_b > self.first_b => {
                let id = self.first_b;
                self.first_b += 1;
                vec![(format!("DELETE FROM b WHERE id = {id}"), 1)]
            }
            _ => {
                self.next_b += 1;
                let mut v = vec![(format!("INSERT INTO b VALUES ({next_b}, 2)"), 1)];
                if next_a > 2 {
                    let id = rng.range(1, next_a as u64 - 1);
                    v.push((format!("UPDATE a SET v = v + 10 WHERE id = {id}"), 1));
                }
                v.push((format!("UPDATE b SET v = v + 1 WHERE id = {next_b}"), 1));
                v
            }
        }
    }
}

/// One row per committed workload transaction, so that a commit whose outcome the client never
/// heard (the server crashed) can be checked. An ordinary table: its changes are delivered and
/// verified like the others.
pub const MARKER_SCHEMA: &str = "CREATE TABLE workload_marker (id bigint PRIMARY KEY)";

async fn commit(
    client: &Client,
    statements: &[(String, u64)],
    marker: u64,
) -> Result<(), tokio_postgres::Error> {
    let mut sql = String::from("BEGIN;\n");
    for (statement, _) in statements {
        sql += statement;
        sql += ";\n";
    }
    sql += &format!("INSERT INTO workload_marker VALUES ({marker});\nCOMMIT;");
    client.batch_execute(&sql).await
}

async fn connect_retrying(url: &str) -> Client {
    // A closure that borrows nothing, returning an owned future: the workload runs in a spawned
    // task, and rustc cannot yet prove such a task `Send` when an async closure holds a
    // reference (rust-lang/rust#139475).
    let what = format!("workload: connecting to {url}");
    let url = url.to_string();
    eventually(&what, Duration::from_secs(120), move || {
        let url = url.clone();
        async move {
            match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                Ok((client, conn)) => {
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    Ok(client)
                }
                Err(e) => {
                    eprintln!("workload: connecting failed ({}); retrying", pg_error(&e));
                    Err(pg_error(&e))
                }
            }
        }
    })
    .await
}

/// One committed row change, as `test_decoding` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub xid: u64,
    /// Position within its transaction (what the runtime calls `seq`).
    pub seq: u64,
    pub table: String,
    pub op: String,
    pub id: i64,
}

/// Every change the oracle slot recorded, in commit order.
pub async fn committed_changes(client: &Client) -> Vec<Committed> {
    let rows = client
        .query(
            "SELECT data FROM pg_logical_slot_peek_changes('oracle', NULL, NULL)",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("reading the oracle slot: {}", pg_error(&e)));
    let mut out = Vec::new();
    let (mut xid, mut seq) = (0u64, 0u64);
    for row in rows {
        let data: String = row.get(0);
        if let Some(x) = data.strip_prefix("BEGIN ") {
            xid = x.parse().expect("BEGIN xid");
            seq = 0;
        } else if let Some(rest) = data.strip_prefix("table ") {
            // `table public.a: INSERT: id[integer]:1 v[integer]:0 ...`
            let (table, rest) = rest.split_once(": ").expect("table name");
            let (op, cols) = rest.split_once(": ").unwrap_or((rest, ""));
            // The first column is `id` in every table of the workload.
            let id = cols
                .strip_prefix("id[")
                .and_then(|c| c.split_once("]:"))
                .and_then(|(_, c)| c.split(' ').next())
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("no id in oracle line {data:?}"));
            out.push(Committed {
                xid,
                seq,
                table: table.to_string(),
                op: op.to_lowercase(),
                id,
            });
            seq += 1;
        }
    }
    out
}

/// One entry the sink appended to Redis.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub xid: u64,
    pub seq: u64,
    pub table: String,
    pub op: String,
    pub id: i64,
    pub commit_lsn: Lsn,
    pub end_lsn: Lsn,
}

/// Parses `redis-stream` entries (fields op, table, lsn, seq, data).
pub fn delivered(entries: &[(String, Vec<(String, String)>)]) -> Vec<Delivered> {
    entries
        .iter()
        .map(|(id, fields)| {
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or_else(|| panic!("entry {id} has no {name}: {fields:?}"))
            };
            let data: Value = serde_json::from_str(field("data")).expect("data is JSON");
            let row = if data["new"].is_object() {
                &data["new"]
            } else {
                &data["old"]
            };
            Delivered {
                xid: data["xid"].as_u64().expect("xid"),
                seq: field("seq").parse().expect("seq"),
                table: field("table").to_string(),
                op: field("op").to_string(),
                id: row["id"].as_i64().expect("row id"),
                commit_lsn: field("lsn").parse().expect("lsn"),
                end_lsn: data["end_lsn"]
                    .as_str()
                    .expect("end_lsn")
                    .parse()
                    .expect("end_lsn"),
            }
        })
        .collect()
}

/// A tenant's durable position, as the checkpoint file says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Durable {
    pub lsn: Lsn,
    /// The transaction delivered in part (its end LSN) and its last change accepted.
    pub partial: Option<(Lsn, u64)>,
}

impl Durable {
    pub fn covers(&self, d: &Delivered) -> bool {
        d.end_lsn <= self.lsn
            || self
                .partial
                .is_some_and(|(end, seq)| d.end_lsn == end && d.seq <= seq)
    }
}

/// Reads tenant `tenant`'s position from the (only) checkpoint file under `state_dir`.
pub fn read_checkpoint(state_dir: &Path, tenant: &str) -> Durable {
    let dir = state_dir.join("checkpoints");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Durable::default();
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("reading the checkpoint");
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("checkpoint {} is not JSON ({e}): {text}", path.display()));
        return match &v["positions"][tenant] {
            Value::String(s) => Durable {
                lsn: s.parse().expect("lsn"),
                partial: None,
            },
            Value::Object(o) => Durable {
                lsn: o["lsn"].as_str().expect("lsn").parse().expect("lsn"),
                partial: Some((
                    o["partial_end_lsn"]
                        .as_str()
                        .expect("end")
                        .parse()
                        .expect("end"),
                    o["partial_seq"].as_u64().expect("seq"),
                )),
            },
            _ => Durable::default(),
        };
    }
    Durable::default()
}

/// A stop of the runtime: how many entries had been delivered when it stopped, and what was
/// durable then.
#[derive(Debug, Clone, Copy)]
pub struct Stop {
    pub entries_before: usize,
    pub durable: Durable,
}

/// What [`verify`] counted.
#[derive(Debug, Clone, Copy)]
pub struct Verified {
    pub committed: usize,
    pub delivered: usize,
    pub duplicates: usize,
}

/// Checks the delivery guarantees against the record of truth; panics naming the first change
/// that breaks one:
/// 1. every committed change was delivered at least once, with the right table, operation, row;
/// 2. per table, first deliveries come in commit order;
/// 3. a change delivered again after a stop was not covered by what was durable at that stop
///    (it was in flight), so nothing the sink had accepted was sent twice.
pub fn verify(committed: &[Committed], delivered: &[Delivered], stops: &[Stop]) -> Verified {
    let order: HashMap<(u64, u64), usize> = committed
        .iter()
        .enumerate()
        .map(|(i, c)| ((c.xid, c.seq), i))
        .collect();
    let mut first_seen: HashMap<(u64, u64), usize> = HashMap::new();
    let mut last_per_table: BTreeMap<&str, usize> = BTreeMap::new();
    let mut duplicates = 0;
    for (at, d) in delivered.iter().enumerate() {
        let key = (d.xid, d.seq);
        let Some(&rank) = order.get(&key) else {
            panic!("delivered a change PostgreSQL did not commit: {d:?}");
        };
        let c = &committed[rank];
        assert!(
            c.table == d.table && c.op == d.op && c.id == d.id,
            "entry {at}: delivered {d:?}, but PostgreSQL committed {c:?} at that position"
        );
        if let Some(&first) = first_seen.get(&key) {
            duplicates += 1;
            // The stop between the first delivery and this one.
            let stop = stops
                .iter()
                .rev()
                .find(|s| s.entries_before > first && s.entries_before <= at)
                .unwrap_or_else(|| {
                    panic!("entry {at}: {d:?} delivered twice without a stop in between")
                });
            assert!(
                !stop.durable.covers(d),
                "entry {at}: {d:?} delivered again although the position made durable before \
                 the stop ({:?}) covers it",
                stop.durable
            );
            continue;
        }
        first_seen.insert(key, at);
        if let Some(&prev) = last_per_table.get(d.table.as_str()) {
            assert!(
                rank > prev,
                "table {}: {d:?} first delivered after a change committed later ({:?})",
                d.table,
                committed[prev]
            );
        }
        last_per_table.insert(&committed[rank].table, rank);
    }
    if let Some(missing) = committed
        .iter()
        .find(|c| !first_seen.contains_key(&(c.xid, c.seq)))
    {
        let total = committed.len() - first_seen.len();
        panic!("{total} committed changes never delivered; the first: {missing:?}");
    }
    Verified {
        committed: committed.len(),
        delivered: delivered.len(),
        duplicates,
    }
}

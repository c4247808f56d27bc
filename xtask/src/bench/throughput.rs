//! The throughput half of the bench: writes one shape of WAL, then drains identical slots with
//! each consumer in turn and checks that conduit-wasm delivered every row. What a drain costs is
//! measured by `measure.rs`; what the numbers mean is `report.rs`'s business.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::measure::measure;
use super::options::{Consumer, Shape};
use super::report::count;
use super::server::{log_file, tail};
use super::{Bench, PUBLICATION, TABLE, VALUES};
use crate::Result;

/// One drain of one slot.
#[derive(Debug, Clone, Copy)]
pub(super) struct Drain {
    pub wall: Duration,
    pub cpu: Duration,
    pub max_rss_kib: u64,
    /// From spawn to conduit-wasm's `streaming from` log line (every sink instantiated); `None`
    /// for pg_recvlogical, or when the line is missing.
    pub startup: Option<Duration>,
    /// Stopped at `--drain-timeout`: `wall` is a lower bound.
    pub timed_out: bool,
}

pub(super) struct ShapeResult {
    pub shape: Shape,
    pub rows: u64,
    pub write_time: Duration,
    pub wal_bytes: u64,
    pub drains: Vec<(Consumer, Vec<Drain>)>,
}

impl Bench<'_> {
    pub(super) fn shape(&self, shape: Shape, next_id: &mut u64) -> Result<ShapeResult> {
        let s = self.server;
        let quick = self.opts.quick;
        let (txns, per_txn) = shape.size(quick);
        let rows = txns * per_txn;
        eprintln!("xtask: bench shape {}", shape.label(quick));
        s.psql(&[
            "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots \
             WHERE slot_name LIKE 'bench\\_%'",
            &format!("TRUNCATE {TABLE}"),
            "CHECKPOINT",
        ])?;
        let slot = |c: Consumer, rep: usize| format!("bench_{}_{}_{rep}", shape.letter(), c.key());
        let consumers = self.opts.consumers(shape);
        let mut create = Vec::new();
        for rep in 0..self.opts.repeat {
            for &c in &consumers {
                create.push(format!(
                    "SELECT pg_create_logical_replication_slot('{}', 'pgoutput')",
                    slot(c, rep)
                ));
            }
        }
        s.psql(&create.iter().map(String::as_str).collect::<Vec<_>>())?;
        let start_lsn = s.query("SELECT pg_current_wal_lsn()")?;

        let write_started = Instant::now();
        let first = *next_id;
        match shape {
            Shape::B => {
                s.psql(&[&format!("CALL bench_single_row_txns({rows}, {first})")])?;
            }
            Shape::A | Shape::C => {
                let statements: Vec<String> = (0..txns)
                    .map(|t| {
                        let a = first + t * per_txn;
                        let b = a + per_txn - 1;
                        format!(
                            "INSERT INTO {TABLE} SELECT g, g % {VALUES}, 'customer-' || g, \
                             (g % 100000) / 100.0, now() FROM generate_series({a}::bigint, {b}) g"
                        )
                    })
                    .collect();
                s.psql(&statements.iter().map(String::as_str).collect::<Vec<_>>())?;
            }
        }
        *next_id += rows;
        let write_time = write_started.elapsed();
        let endpos = s.query("SELECT pg_current_wal_lsn()")?;
        let wal_bytes = s
            .query(&format!(
                "SELECT pg_wal_lsn_diff('{endpos}', '{start_lsn}')::bigint"
            ))?
            .parse::<u64>()
            .unwrap_or(0);
        eprintln!(
            "xtask:   wrote {} rows in {:.1}s ({:.1} MiB of WAL), end position {endpos}",
            count(rows),
            write_time.as_secs_f64(),
            wal_bytes as f64 / 1048576.0
        );

        let mut drains: Vec<(Consumer, Vec<Drain>)> =
            consumers.iter().map(|&c| (c, Vec::new())).collect();
        for rep in 0..self.opts.repeat {
            for (c, list) in drains.iter_mut() {
                let missing = match c {
                    Consumer::Nats => self.nats.is_none(),
                    Consumer::Kafka => self.tansu.is_none(),
                    _ => false,
                };
                if !c.drains(shape) || missing {
                    continue;
                }
                if list.iter().any(|d| d.timed_out) {
                    continue; // it would time out again
                }
                let d = self.drain(*c, &slot(*c, rep), &endpos, rows)?;
                eprintln!(
                    "xtask:   {:<50} {}{:>8.2}s {:>12} rows/s {:>7.1} MiB {:>7.2} CPU s{}",
                    c.label(),
                    if d.timed_out { ">" } else { " " },
                    d.wall.as_secs_f64(),
                    count((rows as f64 / d.wall.as_secs_f64()) as u64),
                    d.max_rss_kib as f64 / 1024.0,
                    d.cpu.as_secs_f64(),
                    d.startup
                        .map(|s| format!(", streaming after {:.2}s", s.as_secs_f64()))
                        .unwrap_or_default()
                );
                list.push(d);
            }
        }
        s.psql(&[
            "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots \
             WHERE slot_name LIKE 'bench\\_%'",
        ])?;
        Ok(ShapeResult {
            shape,
            rows,
            write_time,
            wal_bytes,
            drains,
        })
    }

    /// One sink on one slot of the bench table, to `endpos`.
    pub(super) fn conduit_single(&self, sink: &Path, slot: &str, endpos: &str) -> Command {
        self.conduit_run([
            sink.as_os_str(),
            "--source".as_ref(),
            self.server.url.as_ref(),
            "--slot".as_ref(),
            slot.as_ref(),
            "--publication".as_ref(),
            PUBLICATION.as_ref(),
            "--stop-at".as_ref(),
            endpos.as_ref(),
        ])
    }

    /// A `--config` file of no-op tenants (see [`tenants_config_text`]).
    fn tenants_config(&self, slot: &str, consumer: Consumer) -> Result<PathBuf> {
        let text = tenants_config_text(slot, &self.noop.display().to_string(), consumer)?;
        let path = self.work.join("configs").join(format!("{slot}.toml"));
        fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(path)
    }

    fn drain(&self, consumer: Consumer, slot: &str, endpos: &str, rows: u64) -> Result<Drain> {
        let log = self.work.join("logs").join(format!("{slot}.log"));
        let mut cmd = match consumer {
            Consumer::Recvlogical => {
                let mut cmd = Command::new(self.server.bindir.join("pg_recvlogical"));
                cmd.args([
                    "-d",
                    &self.server.url,
                    "--slot",
                    slot,
                    "--start",
                    "--no-loop",
                ])
                .arg(format!("--endpos={endpos}"))
                .args(["-f", "/dev/null"])
                .args(["-o", "proto_version=1"])
                .args(["-o", &format!("publication_names={PUBLICATION}")])
                .stdin(Stdio::null());
                cmd
            }
            Consumer::Noop => self.conduit_single(&self.noop, slot, endpos),
            Consumer::StdoutJson => self.conduit_single(&self.json, slot, endpos),
            Consumer::Nats => {
                let nats = self.nats.as_ref().ok_or("no nats-server")?;
                let stream = nats_stream(slot);
                nats.create_stream(&stream, &format!("bench.{slot}.>"))?;
                let text =
                    nats_config_text(slot, &self.nats_sink.display().to_string(), &nats.addr)?;
                let config = self.work.join("configs").join(format!("{slot}.toml"));
                fs::write(&config, text)
                    .map_err(|e| format!("writing {}: {e}", config.display()))?;
                self.conduit_run([
                    "--config".as_ref(),
                    config.as_os_str(),
                    "--source".as_ref(),
                    self.server.url.as_ref(),
                    "--stop-at".as_ref(),
                    endpos.as_ref(),
                ])
            }
            Consumer::Kafka => {
                let tansu = self.tansu.as_ref().ok_or("no tansu")?;
                tansu.topic("create", slot)?;
                let mut config = toml::Table::new();
                config.insert("bootstrap".into(), tansu.addr.clone().into());
                config.insert("topic".into(), slot.into());
                let text = broker_config_text(
                    slot,
                    &self.kafka_sink.display().to_string(),
                    &tansu.addr,
                    config,
                )?;
                let path = self.work.join("configs").join(format!("{slot}.toml"));
                fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
                self.conduit_run([
                    "--config".as_ref(),
                    path.as_os_str(),
                    "--source".as_ref(),
                    self.server.url.as_ref(),
                    "--stop-at".as_ref(),
                    endpos.as_ref(),
                ])
            }
            Consumer::Split(_) | Consumer::FanOut(_) => {
                let config = self.tenants_config(slot, consumer)?;
                self.conduit_run([
                    "--config".as_ref(),
                    config.as_os_str(),
                    "--source".as_ref(),
                    self.server.url.as_ref(),
                    "--stop-at".as_ref(),
                    endpos.as_ref(),
                ])
            }
        };
        cmd.stdout(Stdio::null()).stderr(log_file(&log)?);
        let spawned = SystemTime::now();
        let m = measure(&mut cmd, self.opts.drain_timeout)?;
        if let (Consumer::Kafka, Some(tansu)) = (consumer, &self.tansu) {
            // Frees the broker's memory for the next drain.
            tansu.topic("delete", slot)?;
        }
        if let (Consumer::Nats, Some(nats)) = (consumer, &self.nats) {
            let stored = nats.count_and_delete(&nats_stream(slot))?;
            if !m.timed_out && m.success && stored != rows {
                return Err(format!(
                    "{} on slot {slot}: the stream holds {stored} messages, expected {rows}; log {}",
                    consumer.label(),
                    log.display()
                ));
            }
        }
        let startup = match consumer {
            Consumer::Recvlogical => None,
            _ => fs::read_to_string(&log)
                .ok()
                .and_then(|text| streaming_after(&text, spawned)),
        };
        if m.timed_out {
            eprintln!(
                "xtask:   {} on slot {slot} was stopped after {:?} (--drain-timeout)",
                consumer.label(),
                self.opts.drain_timeout
            );
            return Ok(Drain {
                wall: m.wall,
                cpu: m.cpu,
                max_rss_kib: m.max_rss_kib,
                startup,
                timed_out: true,
            });
        }
        if !m.success {
            return Err(format!(
                "{} on slot {slot} failed ({}); log {}:\n{}{}",
                consumer.label(),
                m.status,
                log.display(),
                tail(&log, 20),
                skip_hint(consumer)
            ));
        }
        if consumer != Consumer::Recvlogical {
            // A drain counts only if it delivered every row once: a run whose count cannot be
            // read proves nothing, so it fails too.
            let text =
                fs::read_to_string(&log).map_err(|e| format!("reading {}: {e}", log.display()))?;
            let n = delivered_changes(&text).map_err(|e| {
                format!(
                    "{} on slot {slot}: {e} in its exit summary; log {}",
                    consumer.label(),
                    log.display()
                )
            })?;
            let expected = consumer.deliveries(rows);
            if n != expected {
                return Err(format!(
                    "{} on slot {slot} delivered {n} changes, expected {expected}: it stopped \
                     early or repeated changes; log {}{}",
                    consumer.label(),
                    log.display(),
                    skip_hint(consumer)
                ));
            }
        }
        Ok(Drain {
            wall: m.wall,
            cpu: m.cpu,
            max_rss_kib: m.max_rss_kib,
            startup,
            timed_out: false,
        })
    }
}

/// The changes conduit-wasm's exit summary accounts for: its `T tenants: N changes delivered in
/// all` line (runs of more than 20 tenants), else the sum of its `N changes in M batches` lines
/// (one per tenant).
fn delivered_changes(log: &str) -> Result<u64, String> {
    const ALL: &str = " changes delivered in all";
    if let Some(line) = log.lines().rev().find(|l| l.contains(ALL)) {
        let head = &line[..line.find(ALL).unwrap_or(0)];
        return head
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or_else(|| format!("no count before {ALL:?} in {line:?}"));
    }
    let mut total = None;
    for line in log.lines() {
        let Some(at) = line.find(" changes in ") else {
            continue;
        };
        let n = line[..at]
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or_else(|| format!("no count before \"changes in\" in {line:?}"))?;
        *total.get_or_insert(0) += n;
    }
    total.ok_or_else(|| "no \"N changes in M batches\" line".to_string())
}

/// The JetStream stream of one `nats-jetstream` drain.
fn nats_stream(slot: &str) -> String {
    format!("BENCH_{slot}")
}

/// The `--config` of a `nats-jetstream` drain: one tenant, all rows, into
/// `bench.<slot>.<table>` of its own stream.
fn nats_config_text(slot: &str, sink: &str, addr: &str) -> Result<String> {
    let mut config = toml::Table::new();
    config.insert("addr".into(), addr.into());
    config.insert("subject".into(), format!("bench.{slot}.{{table}}").into());
    config.insert("stream".into(), nats_stream(slot).into());
    broker_config_text(slot, sink, addr, config)
}

/// The `--config` of a broker sink's drain: one tenant running `sink` with `config`, all rows,
/// granted TCP to `addr`.
fn broker_config_text(slot: &str, sink: &str, addr: &str, config: toml::Table) -> Result<String> {
    let mut grant = toml::Table::new();
    grant.insert("tables".into(), vec![format!("public.{TABLE}")].into());
    let mut capabilities = toml::Table::new();
    capabilities.insert("tcp".into(), vec![addr.to_string()].into());
    let mut tenant = toml::Table::new();
    tenant.insert("id".into(), "broker".into());
    tenant.insert("sink".into(), sink.into());
    tenant.insert("config".into(), config.into());
    tenant.insert("capabilities".into(), capabilities.into());
    tenant.insert("grants".into(), vec![grant].into());
    let mut file = toml::Table::new();
    file.insert("slot".into(), slot.into());
    file.insert("publication".into(), PUBLICATION.into());
    file.insert("tenants".into(), vec![toml::Value::Table(tenant)].into());
    let text = toml::to_string(&file).map_err(|e| format!("writing a config: {e}"))?;
    Ok(format!("# Written by `cargo xtask bench`.\n{text}"))
}

/// How to run the rest of the bench without a tenants drain that fails (e.g. 1,000 tenants on a
/// runtime that cannot start that many).
fn skip_hint(consumer: Consumer) -> String {
    match consumer {
        Consumer::Split(n) => format!(" (leave N = {n} out of --tenants to skip this drain)"),
        Consumer::FanOut(_) => " (--fan-out 0 skips this drain)".into(),
        _ => String::new(),
    }
}

/// From `spawned` to the time stamp of the first `streaming from` line of a conduit-wasm log
/// (tracing's default format: `2026-12-05T11:43:00.123456Z  INFO ...`).
fn streaming_after(log: &str, spawned: SystemTime) -> Option<Duration> {
    let line = log.lines().find(|l| l.contains("streaming from "))?;
    let stamp = line.split_whitespace().next()?;
    let micros = conduit_timefmt::parse_timestamptz(stamp).ok()?;
    let spawned = i64::try_from(spawned.duration_since(UNIX_EPOCH).ok()?.as_micros()).ok()?;
    u64::try_from(micros - spawned)
        .ok()
        .map(Duration::from_micros)
}

/// The `tenant` values tenant `k` of `n` is granted when the rows are split: those congruent
/// to `k` modulo `n`, as a predicate the routing index looks up (`None`: every row).
fn split_predicate(k: usize, n: usize) -> Option<String> {
    match n {
        1 => None,
        n if n == VALUES => Some(format!("tenant = {k}")),
        n => {
            let values: Vec<String> = (k..VALUES).step_by(n).map(|v| v.to_string()).collect();
            Some(format!("tenant IN ({})", values.join(", ")))
        }
    }
}

/// The text of [`Bench::tenants_config`]'s file: the consumer's tenants running `sink`, each
/// granted its share of the bench table (all of it with fan-out).
fn tenants_config_text(slot: &str, sink: &str, consumer: Consumer) -> Result<String> {
    let (n, split) = match consumer {
        Consumer::Split(n) => (n, true),
        Consumer::FanOut(n) => (n, false),
        other => return Err(format!("{} has no tenants", other.label())),
    };
    let tenants: Vec<toml::Value> = (0..n)
        .map(|k| {
            let mut grant = toml::Table::new();
            grant.insert("tables".into(), vec![format!("public.{TABLE}")].into());
            if let Some(w) = split.then(|| split_predicate(k, n)).flatten() {
                grant.insert("where".into(), w.into());
            }
            let mut tenant = toml::Table::new();
            tenant.insert("id".into(), format!("t{k:04}").into());
            tenant.insert("sink".into(), sink.into());
            tenant.insert("grants".into(), vec![grant].into());
            tenant.into()
        })
        .collect();
    let mut config = toml::Table::new();
    config.insert("slot".into(), slot.into());
    config.insert("publication".into(), PUBLICATION.into());
    config.insert("tenants".into(), tenants.into());
    let text = toml::to_string(&config).map_err(|e| format!("writing a config: {e}"))?;
    Ok(format!("# Written by `cargo xtask bench`.\n{text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_delivered_changes() {
        let log = "2026 INFO stopped; confirmed 0/1\n\
                   2026 INFO tenant=t00 running: 10 changes in 2 batches, position 0/1\n\
                   2026 INFO tenant=t01 running: 32 changes in 1 batches, position 0/1\n";
        assert_eq!(delivered_changes(log), Ok(42));
        assert!(delivered_changes("nothing").is_err());
        assert!(delivered_changes("tenant: x changes in 2 batches").is_err());
        // More than 20 tenants: one line for all of them.
        let log = "2026-12-05T12:09:55Z  INFO 1000 tenants: 100000 changes delivered in all\n";
        assert_eq!(delivered_changes(log), Ok(100_000));
    }

    #[test]
    fn writes_the_tenants_config() {
        let text =
            tenants_config_text("s1", r#"C:\sinks\"noop".wasm"#, Consumer::Split(100)).unwrap();
        assert!(
            text.starts_with("# Written by `cargo xtask bench`.\n"),
            "{text}"
        );
        assert!(text.contains("\n[[tenants]]\n"), "{text}");
        assert!(text.contains("\n[[tenants.grants]]\n"), "{text}");
        let config: toml::Table = text.parse().unwrap();
        assert_eq!(config["slot"].as_str(), Some("s1"));
        assert_eq!(config["publication"].as_str(), Some(PUBLICATION));
        let tenants = config["tenants"].as_array().unwrap();
        assert_eq!(tenants.len(), 100);
        let last = &tenants[99];
        assert_eq!(last["id"].as_str(), Some("t0099"));
        assert_eq!(last["sink"].as_str(), Some(r#"C:\sinks\"noop".wasm"#));
        let grant = &last["grants"].as_array().unwrap()[0];
        assert_eq!(
            grant["where"].as_str(),
            Some("tenant IN (99, 199, 299, 399, 499, 599, 699, 799, 899, 999)")
        );
        assert_eq!(
            grant["tables"][0].as_str(),
            Some(format!("public.{TABLE}").as_str())
        );
        let fan: toml::Table = tenants_config_text("s", "n.wasm", Consumer::FanOut(3))
            .unwrap()
            .parse()
            .unwrap();
        let fan = fan["tenants"].as_array().unwrap();
        assert_eq!(fan.len(), 3);
        assert!(fan[2]["grants"][0].get("where").is_none(), "every row");
        assert!(tenants_config_text("s", "n.wasm", Consumer::Noop).is_err());
    }

    #[test]
    fn splits_the_tenant_values_evenly() {
        assert_eq!(split_predicate(0, 1), None);
        assert_eq!(split_predicate(7, 1000).as_deref(), Some("tenant = 7"));
        assert_eq!(
            split_predicate(3, 250).as_deref(),
            Some("tenant IN (3, 253, 503, 753)")
        );
        // Every value goes to exactly one tenant.
        for n in [1, 2, 100, 1000] {
            let mut seen = vec![0; VALUES];
            for k in 0..n {
                for v in (k..VALUES).step_by(n) {
                    seen[v] += 1;
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "{n}");
        }
    }

    #[test]
    fn reads_when_streaming_began() {
        let spawned = UNIX_EPOCH + Duration::from_secs(1_764_935_000);
        let log = "2025-12-05T11:43:20.500000Z  INFO positions\n\
                   2025-12-05T11:43:21.250000Z  INFO streaming from 0/16B3748\n";
        assert_eq!(
            streaming_after(log, spawned),
            Some(Duration::from_millis(1_250))
        );
        assert_eq!(streaming_after("no such line", spawned), None);
    }
}

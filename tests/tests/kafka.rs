//! The `kafka` example sink against a real Kafka-protocol broker (`tansu`, in-memory storage,
//! started by each test on a free port): every change is a record keyed by the row's key, with
//! the documented value and headers; per key, in order; no duplicates, also when the broker
//! connection is cut in the middle of a batch and the batch retried. The topic is read back with
//! the tests' own consumer (`conduit_e2e::kafka`).

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;

use conduit_e2e::kafka::{Consumed, Tansu};
use conduit_e2e::proxy::Proxy;
use conduit_e2e::*;

const PARTITIONS: u32 = 3;

/// Reads every partition of `topic` until they hold `n` records together (fails on more, on the
/// deadline, or if conduit-wasm exits).
async fn wait_for_records(r: &mut Running, tansu: &Tansu, topic: &str, n: usize) -> Vec<Consumed> {
    eventually(
        &format!("{n} records in topic {topic}"),
        line_deadline(),
        async || {
            let mut consumer = tansu.consumer();
            let mut all = Vec::new();
            for p in 0..PARTITIONS as i32 {
                all.extend(consumer.partition(topic, p).0);
            }
            assert!(
                all.len() <= n,
                "topic {topic} has {} records, expected {n}",
                all.len()
            );
            if all.len() == n {
                return Ok(all);
            }
            assert!(
                r.is_running(),
                "conduit-wasm exited with {}/{n} records:\n{}",
                all.len(),
                r.stderr()
            );
            Err(format!("{} records", all.len()))
        },
    )
    .await
}

/// Each record's headers agree with its value; keys are the row's id; (lsn, seq) identify a
/// change once; within a partition, (lsn, seq) increase. Returns the values by key, in order.
fn check_records(records: &[Consumed]) -> BTreeMap<i64, Vec<Value>> {
    let mut seen = HashSet::new();
    let mut last: BTreeMap<i32, (Lsn, u64)> = BTreeMap::new();
    let mut by_key: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    let mut sorted: Vec<&Consumed> = records.iter().collect();
    sorted.sort_by_key(|c| (c.partition, c.offset));
    for c in sorted {
        let data: Value = serde_json::from_str(&c.value).expect("the value is JSON");
        assert_well_formed(&data);
        let lsn_: Lsn = c.header("lsn").parse().expect("lsn header");
        let seq_: u64 = c.header("seq").parse().expect("seq header");
        assert_eq!(c.header("op"), op(&data));
        assert_eq!(c.header("table"), "public.orders");
        assert_eq!(lsn_, lsn(&data, "commit_lsn"));
        assert_eq!(seq_, seq(&data));
        assert!(seen.insert((lsn_, seq_)), "{lsn_}/{seq_} stored twice");
        if let Some(prev) = last.insert(c.partition, (lsn_, seq_)) {
            assert!(
                prev < (lsn_, seq_),
                "partition {}: {prev:?} then {lsn_}/{seq_}",
                c.partition
            );
        }
        let id = row_id(&data).expect("a row id");
        assert_eq!(c.key.as_deref(), Some(format!(r#"{{"id":{id}}}"#).as_str()));
        by_key.entry(id).or_default().push(data);
    }
    by_key
}

fn kafka_tenant(addr: SocketAddr, topic: &str) -> Tenant {
    Tenant::new("acme", sink("kafka"))
        .config("bootstrap", addr.to_string())
        .config("topic", topic)
        .tcp(addr.to_string())
        .table("public.orders")
}

async fn orders_fixture() -> Fixture {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE orders (id int PRIMARY KEY, note text, amount numeric(10,2))")
        .await;
    f
}

#[tokio::test]
async fn every_change_is_a_keyed_record_in_order_per_key() {
    let tansu = Tansu::start();
    tansu.create_topic("cdc.public.orders", PARTITIONS);
    let f = orders_fixture().await;
    let file = f.tenants_file(vec![kafka_tenant(tansu.addr, "cdc.{schema}.{table}")]);
    let mut r = f.start_tenants(&file, &[]).await;

    f.exec("INSERT INTO orders SELECT i, 'order ' || i, i FROM generate_series(1, 20) i")
        .await;
    f.exec("BEGIN; UPDATE orders SET note = 'changed' WHERE id = 3; DELETE FROM orders WHERE id = 4; COMMIT")
        .await;
    f.exec("UPDATE orders SET note = 'again' WHERE id = 3")
        .await;
    let records = wait_for_records(&mut r, &tansu, "cdc.public.orders", 23).await;
    let by_key = check_records(&records);
    assert_eq!(by_key.len(), 20);
    let ops = |id: i64| {
        by_key[&id]
            .iter()
            .map(|d| op(d).to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ops(3), ["insert", "update", "update"]);
    assert_eq!(by_key[&3][2]["new"]["note"], "again");
    assert_eq!(ops(4), ["insert", "delete"]);
    let partitions: HashSet<i32> = records.iter().map(|c| c.partition).collect();
    assert!(
        partitions.len() > 1,
        "20 keys should spread over partitions"
    );
    file.wait_for_tenant_state("acme", "active").await;
    r.terminate_ok().await;
}

#[tokio::test]
async fn a_batch_cut_midway_is_retried_without_duplicates() {
    // The broker advertises the proxy's address, so that every connection of the sink (to
    // bootstrap and to the partitions' leader) goes through it.
    let port = unused_port();
    let proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], port))).await;
    let through = SocketAddr::from(([127, 0, 0, 1], proxy.port));
    let tansu = Tansu::start_on(port, Some(through));
    tansu.create_topic("cut", PARTITIONS);
    let f = orders_fixture().await;
    // Whole transactions in one call, and small record batches, so that a cut lands inside a
    // call with part of it acknowledged.
    let tenant = kafka_tenant(through, "cut")
        .config("max_records", "100")
        .limit("max_batch", 100_000);
    let file = f.tenants_file(vec![tenant]);
    let mut r = f.start_tenants(&file, &[]).await;

    const ROWS: usize = 5_000;
    let mut total = 0;
    let mut cut_at = None;
    for round in 0..5 {
        f.exec(&format!(
            "INSERT INTO orders SELECT i, 'order ' || i, i FROM generate_series({}, {}) i",
            total + 1,
            total + ROWS
        ))
        .await;
        let before = total;
        total += ROWS;
        let stored = eventually(
            &format!("round {round}: part of the transaction stored"),
            line_deadline(),
            async || {
                let mut consumer = tansu.consumer();
                let n: i64 = (0..PARTITIONS as i32)
                    .map(|p| consumer.partition("cut", p).1)
                    .sum();
                if n as usize > before {
                    Ok(n as usize)
                } else {
                    Err(format!("{n} records"))
                }
            },
        )
        .await;
        let open = proxy.cut();
        if stored < total && open > 0 {
            cut_at = Some((round, stored, open));
            break;
        }
        wait_for_records(&mut r, &tansu, "cut", total).await;
    }
    let (round, stored, open) = cut_at.expect("no cut landed inside a transaction in 5 rounds");
    eprintln!("round {round}: cut {open} connection(s) with {stored}/{total} records stored");
    let records = wait_for_records(&mut r, &tansu, "cut", total).await;
    let by_key = check_records(&records);
    assert_eq!(by_key.len(), total);
    file.wait_for_tenant_state("acme", "active").await;
    r.terminate_ok().await;
    drop(proxy);
}

/// A broker that accepts the connection and never answers: each call gives up after
/// `timeout_ms` (the tenant has no `clocks` capability; the socket's timeout is real time) and
/// the tenant is quarantined with the reason; the process stays up.
#[tokio::test]
async fn a_hung_broker_times_out_and_quarantines_the_tenant() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a listener");
    let addr = listener.local_addr().unwrap();
    let f = orders_fixture().await;
    let tenant = kafka_tenant(addr, "cdc.{table}")
        .config("timeout_ms", "500")
        .limit("max_failures", 2);
    let file = f.tenants_file(vec![tenant]);
    let mut r = f.start_tenants(&file, &[]).await;
    f.exec("INSERT INTO orders VALUES (1, 'a', 1)").await;
    let quarantined = |l: &LogLine| l.is_tenant("acme") && l.says_all(&["quarantined"]);
    let log = r
        .wait_for_log("the hung broker's quarantine", line_deadline(), |log| {
            log.iter().any(quarantined)
        })
        .await;
    let line = log.iter().find(|l| quarantined(l)).expect("just seen");
    assert!(
        line.says_all(&[&addr.to_string(), "no response within timeout_ms"]),
        "{}",
        line.raw
    );
    assert!(r.is_running(), "conduit-wasm must stay up:\n{}", r.stderr());
    r.terminate(exit_deadline()).await;
    drop(listener);
}

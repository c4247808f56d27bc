//! The `redis-stream` example sink against a real Redis: every change lands in the stream, in
//! order, with the documented fields; a password comes from `secrets`; an address outside the
//! tenant's `capabilities.tcp` is never reached.
//!
//! Redis: the server on 127.0.0.1:6379 when it answers PING, else a `redis-server` started on a
//! free port for the test (the password test always starts its own). Each test uses its own
//! stream key and deletes it at the end.

use conduit_e2e::redis::{unique_key, Redis, Resp};
use conduit_e2e::*;

/// What the runtime and the sink say, in one place.
mod says {
    pub const QUARANTINED: &str = "quarantined";
    /// The sink's error when it cannot connect.
    pub const CONNECT_FAILED: &str = "connecting to redis at";
}

/// Polls XLEN until the stream has `n` entries (fails on more, on a deadline, or if conduit-wasm
/// exits); returns XRANGE - + as (id, fields).
async fn wait_for_entries(
    r: &mut Running,
    redis: &mut Resp,
    key: &str,
    n: usize,
) -> Vec<(String, Vec<(String, String)>)> {
    eventually(
        &format!("{n} entries in stream {key}"),
        line_deadline(),
        async || {
            let len = redis.cmd(&["XLEN", key]).int() as usize;
            assert!(
                len <= n,
                "stream {key} has {len} entries, expected {n}\n{}",
                r.stderr()
            );
            if len == n {
                return Ok(());
            }
            assert!(
                r.is_running(),
                "conduit-wasm exited with {len}/{n} entries in the stream:\n{}",
                r.stderr()
            );
            Err(format!("{len} entries"))
        },
    )
    .await;
    redis.xrange(key)
}

/// The fields of one entry, checked to be exactly op, table, lsn, seq, data (in that order), and
/// the parsed `data`.
fn entry_fields(fields: &[(String, String)]) -> (String, String, Lsn, u64, Value) {
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["op", "table", "lsn", "seq", "data"], "{fields:?}");
    let data: Value = serde_json::from_str(&fields[4].1)
        .unwrap_or_else(|e| panic!("data is not JSON ({e}): {}", fields[4].1));
    (
        fields[0].1.clone(),
        fields[1].1.clone(),
        fields[2].1.parse().expect("lsn"),
        fields[3].1.parse().expect("seq"),
        data,
    )
}

fn redis_tenant(id: &str, redis: &Redis, key: &str) -> Tenant {
    Tenant::new(id, sink("redis-stream"))
        .config("addr", redis.addr.to_string())
        .config("stream", key)
        .tcp(redis.addr.to_string())
        .table("public.orders")
}

async fn orders_fixture() -> Fixture {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE orders (id int PRIMARY KEY, note text, amount numeric(10,2))")
        .await;
    f
}

#[tokio::test]
async fn every_change_lands_in_the_stream_in_order() {
    let redis = Redis::shared_or_new();
    let key = unique_key("changes");
    let f = orders_fixture().await;
    let file = f.tenants_file(vec![redis_tenant("acme", &redis, &key)]);
    let mut r = f.start_tenants(&file, &[]).await;

    for t in 0..4 {
        let (lo, hi) = (t * 5 + 1, t * 5 + 5);
        f.exec(&format!(
            "INSERT INTO orders SELECT i, 'order ' || i, i * 1.25 FROM generate_series({lo}, {hi}) i"
        ))
        .await;
    }
    f.exec("BEGIN; UPDATE orders SET note = 'changed' WHERE id = 3; DELETE FROM orders WHERE id = 4; COMMIT")
        .await;
    let expected: Vec<(&str, i64)> = (1..=20)
        .map(|id| ("insert", id))
        .chain([("update", 3), ("delete", 4)])
        .collect();

    let mut client = redis.client();
    let entries = wait_for_entries(&mut r, &mut client, &key, expected.len()).await;
    let mut last: Option<(Lsn, u64)> = None;
    for ((id, fields), (want_op, want_id)) in entries.iter().zip(&expected) {
        let (op_, table_, lsn_, seq_, data) = entry_fields(fields);
        assert_eq!(op_, *want_op, "entry {id}: {fields:?}");
        assert_eq!(table_, "public.orders", "entry {id}");
        assert_well_formed(&data);
        assert_eq!(op(&data), *want_op, "entry {id}: data {}", short(&data));
        assert_eq!(
            row_id(&data),
            Some(*want_id),
            "entry {id}: {}",
            short(&data)
        );
        assert_eq!(table(&data), "orders");
        assert_eq!(lsn(&data, "commit_lsn"), lsn_, "entry {id}: lsn field");
        assert_eq!(seq(&data), seq_, "entry {id}: seq field");
        if let Some(prev) = last {
            assert!(
                prev < (lsn_, seq_),
                "(lsn, seq) must increase: {prev:?} then {lsn_}/{seq_}"
            );
        }
        last = Some((lsn_, seq_));
    }
    let first = entry_fields(&entries[0].1).4;
    assert_eq!(
        first["new"],
        json!({"id": 1, "note": "order 1", "amount": "1.25"})
    );
    let update = entry_fields(&entries[20].1).4;
    assert_eq!(update["new"]["note"], "changed");

    let log = r.log();
    assert!(
        !log.iter().any(|l| l.says_all(&[NET_DENIED])),
        "nothing should be denied:\n{}",
        r.stderr()
    );
    file.wait_for_tenant_state("acme", "active").await;
    r.terminate_ok().await;
    client.cmd(&["DEL", &key]);
}

#[tokio::test]
async fn password_comes_from_secrets() {
    let password = format!("pw-{}", unique_key("secret"));
    let redis = Redis::start(Some(&password));
    let key = unique_key("auth");
    let f = orders_fixture().await;
    let tenant =
        redis_tenant("acme", &redis, &key).secret("password", "CONDUIT_E2E_REDIS_PASSWORD");
    let file = f.tenants_file(vec![tenant]);
    let mut r = f
        .start_tenants(&file, &[("CONDUIT_E2E_REDIS_PASSWORD", password.as_str())])
        .await;
    f.exec("INSERT INTO orders VALUES (1, 'a', 1), (2, 'b', 2)")
        .await;
    let mut client = redis.client();
    let entries = wait_for_entries(&mut r, &mut client, &key, 2).await;
    let ids: Vec<Option<i64>> = entries
        .iter()
        .map(|(_, fields)| row_id(&entry_fields(fields).4))
        .collect();
    assert_eq!(ids, [Some(1), Some(2)]);
    let done = r.terminate_ok().await;
    assert!(
        !done.stderr.contains(&password),
        "the password must not appear in the log"
    );
}

#[tokio::test]
async fn address_outside_the_grant_is_never_reached() {
    let redis = Redis::shared_or_new();
    let key = unique_key("granted");
    let stray_key = unique_key("stray");
    // Something listening where the stray tenant is told to go: it must never get a connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a listener");
    listener.set_nonblocking(true).expect("nonblocking");
    let target = listener.local_addr().expect("listener address");

    let f = orders_fixture().await;
    let stray = Tenant::new("stray", sink("redis-stream"))
        .config("addr", target.to_string())
        .config("stream", &stray_key)
        .tcp(redis.addr.to_string())
        .table("public.orders")
        .limit("max_failures", 3);
    let file = f.tenants_file(vec![redis_tenant("acme", &redis, &key), stray]);
    let mut r = f.start_tenants(&file, &[]).await;
    f.exec("INSERT INTO orders VALUES (1, 'a', 1)").await;

    // The tenant allowed there still delivers.
    let mut client = redis.client();
    wait_for_entries(&mut r, &mut client, &key, 1).await;

    let port = target.port().to_string();
    let log = r
        .wait_for_log("stray's quarantine", line_deadline(), |log| {
            log.iter()
                .any(|l| l.is_tenant("stray") && l.is_warning() && l.says_all(&[says::QUARANTINED]))
        })
        .await;
    let quarantine = log
        .iter()
        .find(|l| l.is_tenant("stray") && l.is_warning() && l.says_all(&[says::QUARANTINED]))
        .expect("just seen");
    assert!(
        quarantine.says_all(&[says::CONNECT_FAILED, &port]),
        "the quarantine should carry the sink's error: {}",
        quarantine.raw
    );
    let status = file.wait_for_tenant_state("stray", "quarantined").await;
    eprintln!("stray: {status}");
    file.wait_for_tenant_state("acme", "active").await;
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the address outside the grant got a connection: {other:?}"),
    }
    assert_eq!(client.cmd(&["EXISTS", &stray_key]).int(), 0);
    assert!(r.is_running(), "conduit-wasm must stay up:\n{}", r.stderr());
    let done = r.terminate_quarantined().await;
    client.cmd(&["DEL", &key]);

    // Last, so that everything else has been checked when it fails: the operator is told.
    assert_net_denial_logged(&done.stderr, &port, "stray");
}

//! The `nats-jetstream` example sink against a real `nats-server -js` (started by each test on a
//! free port): every change is stored once, in order, with the documented subject, headers and
//! payload; also when the connection is cut in the middle of a batch and the batch is retried.
//! The stream is read back with `async-nats`.

use std::collections::HashSet;
use std::net::SocketAddr;

use async_nats::jetstream::{self, stream::StorageType};
use conduit_e2e::nats::NatsServer;
use conduit_e2e::proxy::Proxy;
use conduit_e2e::*;

/// One stored message, as read back.
struct Stored {
    subject: String,
    msg_id: String,
    op: String,
    lsn: Lsn,
    seq: u64,
    data: Value,
}

async fn jetstream(server: &NatsServer) -> jetstream::Context {
    let client = async_nats::connect(server.url())
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", server.url()));
    jetstream::new(client)
}

async fn create_stream(js: &jetstream::Context, name: &str, subjects: &str) {
    js.create_stream(jetstream::stream::Config {
        name: name.into(),
        subjects: vec![subjects.into()],
        storage: StorageType::Memory,
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("creating stream {name}: {e}"));
}

async fn stream_len(js: &jetstream::Context, name: &str) -> u64 {
    let mut stream = js.get_stream(name).await.expect("the stream");
    stream.info().await.expect("stream info").state.messages
}

/// Waits until stream `name` holds `n` messages (fails on more, on the deadline, or if
/// conduit-wasm exits), then reads all of them in stream order.
async fn wait_for_messages(
    r: &mut Running,
    js: &jetstream::Context,
    name: &str,
    n: u64,
) -> Vec<Stored> {
    eventually(
        &format!("{n} messages in stream {name}"),
        line_deadline(),
        async || {
            let len = stream_len(js, name).await;
            assert!(len <= n, "stream {name} has {len} messages, expected {n}");
            if len == n {
                return Ok(());
            }
            assert!(
                r.is_running(),
                "conduit-wasm exited with {len}/{n} messages stored:\n{}",
                r.stderr()
            );
            Err(format!("{len} messages"))
        },
    )
    .await;
    let stream = js.get_stream(name).await.expect("the stream");
    let mut out = Vec::with_capacity(n as usize);
    for seq in 1..=n {
        let m = stream
            .get_raw_message(seq)
            .await
            .unwrap_or_else(|e| panic!("message {seq} of {name}: {e}"));
        let header = |k: &str| {
            m.headers
                .get(k)
                .unwrap_or_else(|| panic!("message {seq} has no {k} header: {:?}", m.headers))
                .to_string()
        };
        out.push(Stored {
            subject: m.subject.to_string(),
            // A standard name: looked up by its constant (a string makes a custom name).
            msg_id: m
                .headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .unwrap_or_else(|| panic!("message {seq} has no Nats-Msg-Id: {:?}", m.headers))
                .to_string(),
            op: header("Conduit-Op"),
            lsn: header("Conduit-Lsn").parse().expect("Conduit-Lsn"),
            seq: header("Conduit-Seq").parse().expect("Conduit-Seq"),
            data: serde_json::from_slice(&m.payload).expect("the payload is JSON"),
        });
    }
    out
}

/// Every message once, in commit order: (lsn, seq) strictly increasing, ids unique and equal to
/// `<lsn>-<seq>`, headers matching the payload.
fn assert_once_in_order(messages: &[Stored]) {
    let mut ids = HashSet::new();
    let mut last: Option<(Lsn, u64)> = None;
    for (i, m) in messages.iter().enumerate() {
        assert_well_formed(&m.data);
        assert_eq!(m.op, op(&m.data), "message {i}");
        assert_eq!(m.lsn, lsn(&m.data, "commit_lsn"), "message {i}");
        assert_eq!(m.seq, seq(&m.data), "message {i}");
        assert_eq!(m.msg_id, format!("{}-{}", m.lsn, m.seq), "message {i}");
        assert!(
            ids.insert(m.msg_id.clone()),
            "message {i}: {} twice",
            m.msg_id
        );
        if let Some(prev) = last {
            assert!(
                prev < (m.lsn, m.seq),
                "message {i}: (lsn, seq) must increase: {prev:?} then {}/{}",
                m.lsn,
                m.seq
            );
        }
        last = Some((m.lsn, m.seq));
    }
}

fn nats_tenant(id: &str, addr: SocketAddr, subject: &str) -> Tenant {
    Tenant::new(id, sink("nats-jetstream"))
        .config("addr", addr.to_string())
        .config("subject", subject)
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
async fn every_change_is_stored_once_in_order() {
    let server = NatsServer::start(&["--user", "cdc", "--pass", "s3cret-pw"]);
    let client =
        async_nats::ConnectOptions::with_user_and_password("cdc".into(), "s3cret-pw".into())
            .connect(server.url())
            .await
            .expect("connecting with the password");
    let js = jetstream::new(client);
    create_stream(&js, "CDC", "cdc.>").await;
    let f = orders_fixture().await;
    let tenant = nats_tenant("acme", server.addr, "cdc.{schema}.{table}")
        .config("user", "cdc")
        .config("stream", "CDC")
        .secret("password", "CONDUIT_E2E_NATS_PASSWORD");
    let file = f.tenants_file(vec![tenant]);
    let mut r = f
        .start_tenants(&file, &[("CONDUIT_E2E_NATS_PASSWORD", "s3cret-pw")])
        .await;

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

    let messages = wait_for_messages(&mut r, &js, "CDC", expected.len() as u64).await;
    assert_once_in_order(&messages);
    for (m, (want_op, want_id)) in messages.iter().zip(&expected) {
        assert_eq!(m.subject, "cdc.public.orders");
        assert_eq!(m.op, *want_op);
        assert_eq!(row_id(&m.data), Some(*want_id), "{}", short(&m.data));
        assert_eq!(table(&m.data), "orders");
    }
    assert_eq!(
        messages[0].data["new"],
        json!({"id": 1, "note": "order 1", "amount": "1.25"})
    );
    file.wait_for_tenant_state("acme", "active").await;
    let done = r.terminate_ok().await;
    assert!(
        !done.stderr.contains("s3cret-pw"),
        "the password must not appear in the log"
    );
}

#[tokio::test]
async fn a_batch_cut_midway_is_retried_without_duplicates_or_reordering() {
    let server = NatsServer::start(&[]);
    let js = jetstream(&server).await;
    create_stream(&js, "CUT", "cut.>").await;
    let proxy = Proxy::start(server.addr).await;
    let through = SocketAddr::from(([127, 0, 0, 1], proxy.port));
    let f = orders_fixture().await;
    // Whole transactions in one call, so that a cut lands inside a batch.
    let tenant = nats_tenant("acme", through, "cut.{table}").limit("max_batch", 100_000);
    let file = f.tenants_file(vec![tenant]);
    let mut r = f.start_tenants(&file, &[]).await;

    // Transactions of ROWS rows until one of them is cut with part of it stored (one is
    // usually enough; the sink may be fast enough to store a whole one between two polls).
    const ROWS: u64 = 20_000;
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
            async || match stream_len(&js, "CUT").await {
                n if n > before => Ok(n),
                n => Err(format!("{n} messages")),
            },
        )
        .await;
        let open = proxy.cut();
        if stored < total && open > 0 {
            cut_at = Some((round, stored, open));
            break;
        }
        wait_for_messages(&mut r, &js, "CUT", total).await;
    }
    let (round, stored, open) = cut_at.expect("no cut landed inside a transaction in 5 rounds");
    eprintln!("round {round}: cut {open} connection(s) with {stored}/{total} messages stored");

    let messages = wait_for_messages(&mut r, &js, "CUT", total).await;
    assert_once_in_order(&messages);
    let ids: Vec<i64> = messages.iter().filter_map(|m| row_id(&m.data)).collect();
    assert_eq!(ids, (1..=total as i64).collect::<Vec<_>>());
    assert!(
        r.stderr().contains("nats at"),
        "the cut should have failed a call, retried:\n{}",
        r.stderr()
    );
    file.wait_for_tenant_state("acme", "active").await;
    // Nothing more arrives (a late duplicate would show here).
    f.exec("INSERT INTO orders VALUES (0, 'last', 0)").await;
    let messages = wait_for_messages(&mut r, &js, "CUT", total + 1).await;
    assert_once_in_order(&messages);
    r.terminate_ok().await;
    drop(proxy);
}

/// A server that accepts the connection and never says anything (a hung broker): each call
/// gives up after `timeout_ms`, even for a tenant without the `clocks` capability (its clock
/// reads zero, the socket's timeout is real time), and the tenant is quarantined with the
/// reason; the process stays up.
#[tokio::test]
async fn a_hung_server_times_out_and_quarantines_the_tenant() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a listener");
    let addr = listener.local_addr().unwrap();
    let f = orders_fixture().await;
    let tenant = nats_tenant("acme", addr, "cdc.{table}")
        .config("timeout_ms", "500")
        .limit("max_failures", 2);
    let file = f.tenants_file(vec![tenant]);
    let mut r = f.start_tenants(&file, &[]).await;
    f.exec("INSERT INTO orders VALUES (1, 'a', 1)").await;
    let quarantined = |l: &LogLine| l.is_tenant("acme") && l.says_all(&["quarantined"]);
    let log = r
        .wait_for_log("the hung server's quarantine", line_deadline(), |log| {
            log.iter().any(quarantined)
        })
        .await;
    let line = log.iter().find(|l| quarantined(l)).expect("just seen");
    assert!(
        line.says_all(&[&format!("nats at {addr}"), "reading INFO"]),
        "{}",
        line.raw
    );
    assert!(r.is_running(), "conduit-wasm must stay up:\n{}", r.stderr());
    r.terminate(exit_deadline()).await;
    drop(listener);
}

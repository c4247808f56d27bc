//! The `webhook` example sink and the runtime's outbound HTTP (`wasi:http`) with its origin check.
//!
//! A tiny HTTP/1.1 server on a thread (std only) records what it receives. The first tests drive
//! the sink through the library (`conduit_wasm::sandbox`) with hand-built batches; the last two
//! run `conduit-wasm run --config` against a scratch PostgreSQL.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conduit_e2e::*;
use conduit_wasm::event::{Batch, Change, Column, Operation, Relation, Value as Col};
use conduit_wasm::sandbox::{
    inspect_file, CallError, Capabilities, HttpOrigin, SandboxEngine, SinkInstance, SinkLimits,
};

// ------------------------------------------------------------------------------------------------
// A recording HTTP server

#[derive(Debug, Clone)]
struct Received {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "request body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `changes` array of a webhook body.
    fn changes(&self) -> Vec<Value> {
        let body = self.json();
        let obj = body.as_object().expect("the body is a JSON object");
        assert_eq!(
            obj.keys().collect::<Vec<_>>(),
            vec!["changes"],
            "the body has one key, changes: {body}"
        );
        obj["changes"]
            .as_array()
            .expect("changes is an array")
            .clone()
    }
}

#[derive(Default)]
struct ServerState {
    received: Mutex<Vec<Received>>,
    connections: AtomicUsize,
    /// Scripted responses (status, body), used in order; then 200.
    responses: Mutex<VecDeque<(u16, String)>>,
    stop: AtomicBool,
}

/// Listens on 127.0.0.1:0, answers each request with the next scripted response (else 200) and
/// records it. Stops when dropped.
struct HookServer {
    port: u16,
    state: Arc<ServerState>,
}

impl HookServer {
    fn start() -> HookServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(ServerState::default());
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                st.connections.fetch_add(1, Ordering::SeqCst);
                let st = st.clone();
                std::thread::spawn(move || serve(conn, &st));
            }
        });
        HookServer { port, state }
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    fn respond(&self, status: u16, body: &str) {
        self.state
            .responses
            .lock()
            .unwrap()
            .push_back((status, body.to_string()));
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Every change of every request received so far, in order.
    fn changes(&self) -> Vec<Value> {
        self.received().iter().flat_map(Received::changes).collect()
    }
}

impl Drop for HookServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One request per connection: read it, record it, answer, close.
fn serve(conn: TcpStream, state: &ServerState) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        if reader.read_exact(&mut body).is_err() {
            return;
        }
    } else if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                return;
            }
            let size =
                usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2]; // the chunk and its CRLF
            if reader.read_exact(&mut chunk).is_err() {
                return;
            }
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    state.received.lock().unwrap().push(Received {
        method,
        target,
        headers,
        body,
    });
    let (status, text) = state
        .responses
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((200, "ok".into()));
    let mut conn = reader.into_inner();
    let _ = write!(
        conn,
        "HTTP/1.1 {status} Scripted\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = conn.flush();
}

// ------------------------------------------------------------------------------------------------
// The sink through the library API

/// Makes webhook sink instances: `(granted origins, sink config)` → a linked, unconnected
/// instance for tenant "hooks".
fn webhook_sinks() -> impl Fn(&[String], &[(&str, &str)]) -> SinkInstance {
    let engine = SandboxEngine::new(None).expect("engine");
    let (component, description) =
        inspect_file(&engine, &sink("webhook")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        description
            .imports
            .iter()
            .any(|i| i.starts_with("wasi:http/outgoing-handler")),
        "the webhook sink should import wasi:http/outgoing-handler: {:?}",
        description.imports
    );
    move |origins, config| {
        let mut caps = Capabilities::none("hooks".into());
        caps.http_origins = origins
            .iter()
            .map(|o| HttpOrigin::parse(o).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let limits = SinkLimits {
            memory_bytes: 64 << 20,
            call_deadline: Duration::from_secs(10),
        };
        let config = config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SinkInstance::new(&engine, &component, limits, caps, config)
            .unwrap_or_else(|e| panic!("linking the webhook sink: {e:#}"))
    }
}

/// `n` inserts into public.orders (id, item), ids from `first`.
fn batch(first: i64, n: usize) -> Batch {
    let column = |name: &str, type_name: &str, type_oid: u32, key: bool| Column {
        name: name.into(),
        type_name: type_name.into(),
        type_oid,
        key,
    };
    Batch {
        relations: vec![Relation {
            oid: 16384,
            schema: "public".into(),
            name: "orders".into(),
            columns: vec![
                column("id", "integer", 23, true),
                column("item", "text", 25, false),
            ],
        }],
        changes: (0..n)
            .map(|i| Change {
                op: Operation::Insert,
                relation: 0,
                new: Some(vec![
                    Col::Int(first + i as i64),
                    Col::Text(format!("item \"{}\"", first + i as i64)),
                ]),
                old: None,
                xid: 700,
                commit_lsn: 0x1000,
                end_lsn: 0x1100,
                commit_time: 1_790_000_000_000_000,
                seq: i as u32,
            })
            .collect(),
    }
}

fn ids(changes: &[Value]) -> Vec<i64> {
    changes
        .iter()
        .map(|c| row_id(c).unwrap_or_else(|| panic!("no id in {c}")))
        .collect()
}

fn sink_error(result: Result<(), CallError>) -> (bool, String) {
    match result {
        Err(CallError::Sink(e)) => (e.retryable, e.message),
        other => panic!("expected an error returned by the sink, got {other:?}"),
    }
}

#[test]
fn webhook_posts_each_batch_as_one_json_document() {
    let instance = webhook_sinks();
    let server = HookServer::start();
    let url = server.url("/hooks/cdc?team=a");
    let mut sink = instance(
        &[server.origin()],
        &[("url", &url), ("authorization", "Bearer s3cret")],
    );
    sink.connect().unwrap_or_else(|e| panic!("connect: {e}"));

    sink.publish(&batch(1, 3))
        .unwrap_or_else(|e| panic!("publish: {e}"));
    sink.publish(&batch(4, 2))
        .unwrap_or_else(|e| panic!("publish: {e}"));
    let got = server.received();
    assert_eq!(got.len(), 2, "one request per batch");
    for r in &got {
        assert_eq!(r.method, "POST");
        assert_eq!(r.target, "/hooks/cdc?team=a");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("authorization"), Some("Bearer s3cret"));
        assert_eq!(
            r.header("host"),
            Some(format!("127.0.0.1:{}", server.port).as_str())
        );
    }
    let first = got[0].changes();
    assert_eq!(ids(&first), vec![1, 2, 3]);
    // Each change is ChangeView::to_json: the stdout-json line format.
    for (i, c) in first.iter().enumerate() {
        assert_well_formed(c);
        assert_eq!((op(c), table(c), seq(c)), ("insert", "orders", i as u64));
    }
    assert_eq!(
        first[1]["new"],
        json!({"id": 2, "item": "item \"2\""}),
        "{}",
        first[1]
    );
    assert_eq!(ids(&got[1].changes()), vec![4, 5]);

    // 5xx and 429 are worth retrying; another 4xx is not, and says why.
    server.respond(503, "try later");
    let (retryable, message) = sink_error(sink.publish(&batch(6, 1)));
    assert!(retryable && message.contains("503"), "{message}");
    server.respond(429, "slow down");
    let (retryable, message) = sink_error(sink.publish(&batch(6, 1)));
    assert!(retryable && message.contains("429"), "{message}");
    server.respond(422, "{\"error\": \"field\nitem is not allowed\"}");
    let (retryable, message) = sink_error(sink.publish(&batch(6, 1)));
    assert!(!retryable, "a 422 is fatal: {message}");
    assert!(
        message.contains("422") && message.contains("item is not allowed"),
        "the message names the status and quotes the body: {message}"
    );
    assert!(
        !message.contains('\n') && !message.contains("s3cret") && !message.contains("team=a"),
        "one line, no secret, no query: {message}"
    );
    // The same instance carries on afterwards.
    sink.publish(&batch(6, 1))
        .unwrap_or_else(|e| panic!("publish after errors: {e}"));
    assert_eq!(server.received().len(), 6);
    assert_eq!(ids(&server.received()[5].changes()), vec![6]);
    sink.close().unwrap_or_else(|e| panic!("close: {e}"));
}

#[test]
fn requests_to_origins_not_granted_are_refused_before_any_connection() {
    let instance = webhook_sinks();
    let granted = HookServer::start();
    let forbidden = HookServer::start();
    let config = [("url", forbidden.url("/hook"))];
    let config: Vec<(&str, &str)> = config.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // Granted another origin on the same host: the port is part of the origin.
    let mut sink = instance(&[granted.origin()], &config);
    sink.connect().unwrap_or_else(|e| panic!("connect: {e}"));
    let (retryable, message) = sink_error(sink.publish(&batch(1, 2)));
    assert!(
        !retryable,
        "a refused origin is not worth retrying: {message}"
    );
    assert!(
        message.contains("refused") && message.contains(&forbidden.origin()),
        "the sink says which origin to grant: {message}"
    );

    // No grant at all: a component importing wasi:http still instantiates and connects.
    let mut sink = instance(&[], &config);
    sink.connect()
        .unwrap_or_else(|e| panic!("connect without grants: {e}"));
    let (retryable, _) = sink_error(sink.publish(&batch(1, 2)));
    assert!(!retryable);

    // http and https are different origins too.
    let https = forbidden.origin().replace("http://", "https://");
    let mut sink = instance(&[https], &config);
    sink.connect().unwrap_or_else(|e| panic!("connect: {e}"));
    let (retryable, _) = sink_error(sink.publish(&batch(1, 2)));
    assert!(!retryable);

    assert_eq!(
        forbidden.connections(),
        0,
        "the refused origin got a connection"
    );
    assert_eq!(granted.connections(), 0);
}

#[test]
fn an_unreachable_granted_origin_is_a_retryable_error() {
    let instance = webhook_sinks();
    let closed_port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let origin = format!("http://127.0.0.1:{closed_port}");
    let url = format!("{origin}/hook");
    let mut sink = instance(&[origin], &[("url", &url)]);
    sink.connect().unwrap_or_else(|e| panic!("connect: {e}"));
    let (retryable, message) = sink_error(sink.publish(&batch(1, 1)));
    assert!(retryable, "a network error is retryable: {message}");
    assert!(message.contains(&url), "{message}");
}

#[test]
fn bad_configuration_fails_connect() {
    let instance = webhook_sinks();
    for (config, says) in [
        (vec![], "url"),
        (vec![("url", "ftp://example.com/x")], "http or https"),
        (vec![("url", "example.com/x")], "url"),
        (
            vec![("url", "http://127.0.0.1:1/"), ("timeout_ms", "soon")],
            "timeout_ms",
        ),
    ] {
        let mut sink = instance(&[], &config);
        let (retryable, message) = sink_error(sink.connect());
        assert!(
            !retryable && message.contains(says),
            "{config:?}: {message}"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// `conduit-wasm run --config`

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A `[[tenants]]` section for the webhook sink.
fn webhook_tenant(id: &str, url: &str, granted: &[String], extra: &str) -> String {
    let origins: Vec<String> = granted.iter().map(|o| toml_str(o)).collect();
    format!(
        "[[tenants]]\nid = {}\nsink = {}\nconfig = {{ url = {} }}\n\
         secrets = {{ authorization = \"WEBHOOK_E2E_AUTH\" }}\n\
         capabilities = {{ http = [{}] }}\n{extra}\n\
         [[tenants.grants]]\ntables = [\"public.orders\"]\n\n",
        toml_str(id),
        toml_str(&sink("webhook").to_string_lossy()),
        toml_str(url),
        origins.join(", "),
    )
}

fn config_file(f: &Fixture, tenants: &[String]) -> String {
    format!(
        "source = {}\nslot = {}\npublication = {}\nstate_dir = {}\n\n{}",
        toml_str(&f.pg.url()),
        toml_str(&f.slot),
        toml_str(&f.publication),
        toml_str(&f.state.path().join("state").to_string_lossy()),
        tenants.concat()
    )
}

/// Polls until `server` has received at least `n` changes; returns them all.
async fn wait_for_changes(server: &HookServer, n: usize, r: &Running) -> Vec<Value> {
    eventually(
        &format!("the webhook server to receive {n} changes"),
        line_deadline(),
        async || {
            let changes = server.changes();
            if changes.len() >= n {
                Ok(changes)
            } else {
                Err(format!(
                    "{} of {n} changes: {:?}\nstderr:\n{}",
                    changes.len(),
                    ids(&changes),
                    r.stderr()
                ))
            }
        },
    )
    .await
}

async fn insert_rows(f: &Fixture, transactions: usize, per: usize) {
    for t in 0..transactions {
        let values: Vec<String> = (0..per)
            .map(|i| {
                let id = t * per + i + 1;
                format!("({id}, 'item {id}')")
            })
            .collect();
        f.exec(&format!("INSERT INTO orders VALUES {}", values.join(", ")))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_tenant_receives_every_row_in_order() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE orders (id int PRIMARY KEY, item text)")
        .await;
    let server = HookServer::start();
    let toml = config_file(
        &f,
        &[webhook_tenant(
            "hooks",
            &server.url("/cdc"),
            &[server.origin()],
            "",
        )],
    );
    let r = f
        .start_config_text(&toml, &[("WEBHOOK_E2E_AUTH", "Bearer e2e-secret")])
        .await;

    insert_rows(&f, 4, 25).await;
    f.exec("UPDATE orders SET item = 'changed' WHERE id = 7")
        .await;
    let changes = wait_for_changes(&server, 101, &r).await;
    let mut expected: Vec<i64> = (1..=100).collect();
    expected.push(7);
    assert_eq!(ids(&changes), expected, "every row, in commit order, once");
    assert_eq!(op(&changes[100]), "update");
    assert_eq!(changes[100]["new"]["item"], "changed");
    for c in &changes {
        assert_well_formed(c);
    }
    for req in server.received() {
        assert_eq!(req.method, "POST");
        assert_eq!(req.target, "/cdc");
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(req.header("authorization"), Some("Bearer e2e-secret"));
    }
    let finished = r.terminate_ok().await;
    assert!(
        !finished.stderr.contains("e2e-secret"),
        "the secret must not appear in the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_posting_to_an_origin_not_granted_is_quarantined_and_others_go_on() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE orders (id int PRIMARY KEY, item text)")
        .await;
    let good = HookServer::start();
    let forbidden = HookServer::start();
    let toml = config_file(
        &f,
        &[
            webhook_tenant("good", &good.url("/in"), &[good.origin()], ""),
            // Granted an origin, but its url points at another one.
            webhook_tenant(
                "sneaky",
                &forbidden.url("/out"),
                &[good.origin()],
                "limits = { max_failures = 2 }",
            ),
        ],
    );
    let mut r = f
        .start_config_text(&toml, &[("WEBHOOK_E2E_AUTH", "Bearer e2e")])
        .await;

    insert_rows(&f, 3, 10).await;
    let changes = wait_for_changes(&good, 30, &r).await;
    assert_eq!(ids(&changes), (1..=30).collect::<Vec<_>>());

    let denied = forbidden.origin();
    let log = r
        .wait_for_log(
            "a warning that the sneaky tenant's request was denied",
            line_deadline(),
            |log| {
                log.iter().any(|l| {
                    l.is_warning()
                        && l.is_tenant("sneaky")
                        && l.says_all(&["sink denied HTTP request to", &denied])
                })
            },
        )
        .await;
    assert!(
        !log.iter()
            .any(|l| l.is_tenant("good") && l.says_all(&["denied"])),
        "the good tenant was never refused"
    );
    let state_dir = f.state.path().join("state");
    let status = wait_for_tenant_state(
        &state_dir,
        &f.slot,
        "sneaky",
        "quarantined",
        line_deadline(),
    )
    .await;
    assert_eq!(
        forbidden.connections(),
        0,
        "the origin not granted got a connection"
    );

    // The good tenant keeps receiving changes while the other is quarantined.
    f.exec("INSERT INTO orders VALUES (31, 'late')").await;
    let changes = wait_for_changes(&good, 31, &r).await;
    assert_eq!(ids(&changes).last(), Some(&31));
    assert_eq!(forbidden.connections(), 0);
    let finished = r.terminate_quarantined().await;
    assert!(
        !finished.stderr.contains("panicked at"),
        "status of the quarantined tenant: {status}\n{}",
        finished.stderr
    );
}

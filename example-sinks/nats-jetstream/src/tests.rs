//! The encoding, and the delivery rules against a real `nats-server -js` (started on a free port;
//! the end-to-end tests in `tests/tests/nats.rs` run the component inside conduit-wasm).

use super::*;
use conduit_sink_sdk::{serde_json, Column, Operation, Relation, Value};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn config(pairs: &[(&str, &str)]) -> Config {
    pairs.iter().copied().collect()
}

/// A batch of one transaction (commit LSN 0x16_B374_D848) with `notes.len()` inserts.
fn batch(notes: &[&str]) -> Batch {
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
                column("note", "text", 25, false),
            ],
        }],
        changes: notes
            .iter()
            .enumerate()
            .map(|(i, note)| conduit_sink_sdk::Change {
                op: Operation::Insert,
                relation: 0,
                new: Some(vec![Value::Int(i as i64), Value::Text(note.to_string())]),
                old: None,
                xid: 740,
                commit_lsn: 0x16_B374_D848,
                end_lsn: 0x16_B374_D878,
                commit_time: 0,
                seq: i as u32,
            })
            .collect(),
    }
}

#[test]
fn hpub_has_the_documented_headers() {
    let batch = batch(&["a\r\nb"]);
    let change = batch.change(0).unwrap();
    let settings = Settings::from_config(&config(&[("addr", "h:1"), ("stream", "CDC")])).unwrap();
    let mut out = Vec::new();
    let id = encode_change(
        &mut out,
        &settings,
        &change,
        "_INBOX.x.0",
        Some("16/B374D848-0"),
    );
    assert_eq!(id, "16/B374D848-0");
    let text = String::from_utf8(out).unwrap();
    let (line, rest) = text.split_once("\r\n").unwrap();
    assert!(
        line.starts_with("HPUB cdc.public.orders _INBOX.x.0 "),
        "{line}"
    );
    let (headers, payload) = rest.split_once("\r\n\r\n").unwrap();
    assert_eq!(
        headers.split("\r\n").collect::<Vec<_>>(),
        [
            "NATS/1.0",
            "Nats-Msg-Id: 16/B374D848-0",
            "Nats-Expected-Stream: CDC",
            "Nats-Expected-Last-Msg-Id: 16/B374D848-0",
            "Conduit-Op: insert",
            "Conduit-Table: public.orders",
            "Conduit-Lsn: 16/B374D848",
            "Conduit-Seq: 0",
        ]
    );
    assert_eq!(payload, format!("{}\r\n", change.json_line()));
    assert!(
        payload.contains(r#""new":{"id":0,"note":"a\r\nb"}"#),
        "{payload}"
    );
}

/// A private `nats-server -js` on a free port, killed on drop.
struct Server {
    addr: String,
    child: Child,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("nats-sink-test-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(&dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is not installed (Debian: apt-get install nats-server; .ci/run installs it)");
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {addr}"
            );
            std::thread::yield_now();
        }
        Server {
            addr,
            child,
            _dir: TempDir(dir),
        }
    }

    fn settings(&self, pairs: &[(&str, &str)]) -> Settings {
        let mut all = vec![("addr", self.addr.as_str())];
        all.extend_from_slice(pairs);
        Settings::from_config(&config(&all)).unwrap()
    }

    /// A JetStream API request (`$JS.API.<api>`) through a connection of the sink's own.
    fn api(&self, api: &str, body: &str) -> serde_json::Value {
        let mut conn = open(&self.settings(&[])).unwrap();
        let reply = format!("{}.api", conn.inbox);
        let msg = format!("PUB $JS.API.{api} {reply} {}\r\n{body}\r\n", body.len());
        conn.io.get_mut().write_all(msg.as_bytes()).unwrap();
        loop {
            if let ServerOp::Msg { payload, .. } = read_op(&mut conn.io).unwrap() {
                return serde_json::from_slice(&payload).unwrap();
            }
        }
    }

    fn create_stream(&self, name: &str, subjects: &str, extra: &str) {
        let reply = self.api(
            &format!("STREAM.CREATE.{name}"),
            &format!(r#"{{"name":"{name}","subjects":["{subjects}"],"storage":"memory"{extra}}}"#),
        );
        assert!(reply.get("error").is_none(), "{reply}");
    }

    /// The payload notes of every message in the stream, in stream order.
    fn notes(&self, stream: &str) -> Vec<String> {
        let info = self.api(&format!("STREAM.INFO.{stream}"), "");
        let last = info["state"]["last_seq"].as_u64().unwrap();
        let first = info["state"]["first_seq"].as_u64().unwrap().max(1);
        (first..=last)
            .filter_map(|seq| {
                let m = self.api(
                    &format!("STREAM.MSG.GET.{stream}"),
                    &format!(r#"{{"seq":{seq}}}"#),
                );
                let data = m["message"]["data"].as_str()?;
                let line = base64_decode(data);
                let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
                Some(v["new"]["note"].as_str().unwrap().to_string())
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|&c| c != b'=') {
        bits = (bits << 6) | ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

fn sink(settings: Settings) -> NatsJetStream {
    NatsJetStream {
        settings,
        conn: None,
        stored: None,
    }
}

#[test]
fn a_retried_batch_is_stored_once_in_order() {
    let server = Server::start(&[]);
    server.create_stream("CDC", "cdc.>", "");
    let notes: Vec<String> = (0..600).map(|i| format!("n{i}")).collect();
    let refs: Vec<&str> = notes.iter().map(String::as_str).collect();
    let full = batch(&refs);
    // A first attempt that got through part of the batch (two sends: 256 + 44).
    let mut first = sink(server.settings(&[]));
    first.publish(&batch(&refs[..300])).unwrap();
    // The retry, by an instance that knows nothing of it (a re-instantiated sink): the stored
    // head comes back as duplicates, the chain goes on from the last of them.
    let mut retry = sink(server.settings(&[]));
    retry.publish(&full).unwrap();
    retry.publish(&full).unwrap();
    assert_eq!(server.notes("CDC"), notes);
}

#[test]
fn a_refused_message_is_never_followed_by_a_stored_one() {
    let server = Server::start(&[]);
    // Messages over 600 bytes are refused; the next, small one must not be stored before it.
    server.create_stream("CDC", "cdc.>", r#","max_msg_size":600"#);
    let big = "x".repeat(700);
    let b = batch(&["a", "b", &big, "c", "d"]);
    let mut s = sink(server.settings(&[]));
    let e = s.publish(&b).unwrap_err();
    assert!(e.retryable, "{}", e.message);
    assert!(e.message.contains("16/B374D848/2"), "{}", e.message);
    assert_eq!(server.notes("CDC"), ["a", "b"]);
    // Retried: the acknowledged head is not sent again, the refusal stays where it was.
    let e = s.publish(&b).unwrap_err();
    assert!(e.message.contains("exceeds maximum"), "{}", e.message);
    assert_eq!(server.notes("CDC"), ["a", "b"]);

    // Why the chain: without it (`ordered=false`) JetStream stores what follows the refusal,
    // and the retry of the refused message would land after it.
    server.create_stream("LOOSE", "loose.>", r#","max_msg_size":600"#);
    let mut s = sink(server.settings(&[("ordered", "false"), ("subject", "loose.{table}")]));
    assert!(s.publish(&b).is_err());
    assert_eq!(server.notes("LOOSE"), ["a", "b", "c", "d"]);
}

#[test]
fn no_stream_and_wrong_credentials_say_what_to_do() {
    let server = Server::start(&["--user", "cdc", "--pass", "s3cret"]);
    let mut s = sink(server.settings(&[("user", "cdc"), ("password", "s3cret")]));
    let e = s.publish(&batch(&["a"])).unwrap_err();
    assert!(e.retryable);
    assert!(
        e.message
            .contains("no JetStream stream captures subject cdc.public.orders"),
        "{}",
        e.message
    );

    let mut s = sink(server.settings(&[("user", "cdc"), ("password", "wrong")]));
    let e = s.publish(&batch(&["a"])).unwrap_err();
    assert!(!e.retryable, "{}", e.message);
    assert!(
        e.message.contains("rejected the credentials"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("wrong"), "{}", e.message);

    let mut s = sink(server.settings(&[]));
    let e = s.publish(&batch(&["a"])).unwrap_err();
    assert!(
        e.message.contains("requires authentication"),
        "{}",
        e.message
    );
}

#[test]
fn token_auth() {
    let server = Server::start(&["--auth", "t0ken"]);
    let mut s = sink(server.settings(&[("token", "t0ken")]));
    let e = s.publish(&batch(&["a"])).unwrap_err();
    // Authenticated: the refusal is JetStream's (no stream yet), not the server's.
    assert!(e.message.contains("no JetStream stream"), "{}", e.message);
}

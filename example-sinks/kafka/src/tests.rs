//! The idempotent producer against a real broker (`tansu`, in-memory, started on a free port):
//! a batch sent again with the same sequence numbers, as after a connection lost before the
//! acknowledgement, is not stored twice. The end-to-end tests are in `tests/tests/kafka.rs`.

use super::*;
use conduit_sink_sdk::{Column, Operation, Relation, Value};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::FetchRequest;
use kafka_protocol::records::RecordBatchDecoder;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn batch(ids: std::ops::Range<i64>) -> Batch {
    Batch {
        relations: vec![Relation {
            oid: 16384,
            schema: "public".into(),
            name: "orders".into(),
            columns: vec![Column {
                name: "id".into(),
                type_name: "bigint".into(),
                type_oid: 20,
                key: true,
            }],
        }],
        changes: ids
            .map(|id| conduit_sink_sdk::Change {
                op: Operation::Insert,
                relation: 0,
                new: Some(vec![Value::Int(id)]),
                old: None,
                xid: 740,
                commit_lsn: 0x16_B374_D848,
                end_lsn: 0x16_B374_D878,
                commit_time: 0,
                seq: id as u32,
            })
            .collect(),
    }
}

struct Broker {
    child: Child,
    addr: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tansu() -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    let installed = format!("{home}/.cache/conduit-wasm/tools/bin/tansu");
    if std::path::Path::new(&installed).is_file() {
        installed
    } else {
        "tansu".into()
    }
}

fn start() -> Broker {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(tansu())
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tansu is not installed (.ci/run installs it into ~/.cache/conduit-wasm/tools)");
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "tansu did not listen on {addr}");
        std::thread::yield_now();
    }
    let out = Command::new(tansu())
        .args([
            "topic",
            "create",
            "orders",
            "--partitions",
            "3",
            "--broker",
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Broker { child, addr }
}

/// How many records partition `p` of `orders` holds.
fn count(addr: &str, p: i32) -> usize {
    let mut conn = Conn::open(addr, Duration::from_secs(10), "test", None).unwrap();
    let request = FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(10)
        .with_max_bytes(1 << 24)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("orders")))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(p)
                .with_partition_max_bytes(1 << 24)])]);
    let response = conn.send(request, 4).unwrap();
    let mut records = response.responses[0].partitions[0]
        .records
        .clone()
        .unwrap_or_default();
    RecordBatchDecoder::decode_all(&mut records)
        .unwrap()
        .iter()
        .map(|set| set.records.len())
        .sum()
}

#[test]
fn a_batch_sent_again_with_its_sequence_numbers_is_not_stored_twice() {
    let broker = start();
    let config: Config = [("bootstrap", broker.addr.as_str()), ("topic", "orders")]
        .into_iter()
        .collect();
    let mut sink = Kafka::connect(config).unwrap();
    let b = batch(0..30);
    sink.publish(&b).unwrap();
    let total = |addr: &str| (0..3).map(|p| count(addr, p)).sum::<usize>();
    assert_eq!(total(&broker.addr), 30);
    // The acknowledgements lost: the same records, the same sequence numbers.
    for state in sink.partitions.values_mut() {
        state.acked = None;
        state.next_seq = 0;
    }
    sink.publish(&b).unwrap();
    assert_eq!(total(&broker.addr), 30, "the repeat was stored again");
    // And the producer goes on where it was.
    sink.publish(&batch(30..40)).unwrap();
    assert_eq!(total(&broker.addr), 40);
}

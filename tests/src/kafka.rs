//! A private Kafka-protocol broker (`tansu`, in-memory storage) and a minimal consumer that reads
//! a topic back, for the tests of the Kafka sink. The consumer speaks the protocol through the
//! `kafka-protocol` crate (`Fetch`, records v2), blocking, one partition at a time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{FetchRequest, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::records::RecordBatchDecoder;

use crate::{eventually_blocking, unused_port};

/// The `tansu` binary: `$CONDUIT_TANSU`, else where `.ci/run` installs it
/// (`~/.cache/conduit-wasm/tools/bin/tansu`), else `tansu` on PATH.
pub fn tansu_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CONDUIT_TANSU") {
        return p.into();
    }
    if let Some(home) = std::env::var_os("HOME") {
        let p = PathBuf::from(home).join(".cache/conduit-wasm/tools/bin/tansu");
        if p.is_file() {
            return p;
        }
    }
    "tansu".into()
}

pub struct Tansu {
    pub addr: SocketAddr,
    child: Child,
}

impl Tansu {
    /// `tansu broker` with in-memory storage on a free loopback port, once it accepts
    /// connections.
    pub fn start() -> Tansu {
        Tansu::start_on(unused_port(), None)
    }

    /// On `port`, telling clients (in metadata) to reach it at `advertised` (e.g. a proxy in
    /// front of it) instead of its own address.
    pub fn start_on(port: u16, advertised: Option<SocketAddr>) -> Tansu {
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised = advertised.map_or_else(|| url.clone(), |a| format!("tcp://{a}"));
        let child = Command::new(tansu_bin())
            .args(["broker", "--listener-url", &url])
            .args(["--advertised-listener-url", &advertised])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {}: {e} (install it: cargo install tansu --version 0.6.0 --locked \
                     --features dynostore --root ~/.cache/conduit-wasm/tools; .ci/run does)",
                    tansu_bin().display()
                )
            });
        let mut tansu = Tansu {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
        };
        eventually_blocking(
            &format!("tansu on port {port} to accept connections"),
            Duration::from_secs(30),
            || {
                if let Ok(Some(status)) = tansu.child.try_wait() {
                    panic!("tansu on port {port} exited: {status}");
                }
                TcpStream::connect(tansu.addr).map_err(|e| e.to_string())
            },
        );
        tansu
    }

    /// `tansu topic create NAME --partitions N`.
    pub fn create_topic(&self, name: &str, partitions: u32) {
        let out = Command::new(tansu_bin())
            .args(["topic", "create", name])
            .args(["--broker", &format!("tcp://{}", self.addr)])
            .args(["--partitions", &partitions.to_string()])
            .output()
            .expect("running tansu topic create");
        assert!(
            out.status.success(),
            "tansu topic create {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn consumer(&self) -> Consumer {
        let stream = TcpStream::connect(self.addr).expect("connecting to tansu");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Consumer {
            stream,
            correlation: 0,
        }
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One record read back.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: String,
    pub headers: Vec<(String, String)>,
}

impl Consumed {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("record at {} has no header {name}", self.offset))
    }
}

pub struct Consumer {
    stream: TcpStream,
    correlation: i32,
}

/// The Fetch version the consumer speaks (records v2, not yet flexible).
const FETCH_VERSION: i16 = 4;

impl Consumer {
    fn send<R: Request>(&mut self, request: R, version: i16) -> R::Response {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("conduit-e2e")));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header.encode(&mut buf, R::header_version(version)).unwrap();
        request.encode(&mut buf, version).unwrap();
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        self.stream.write_all(&buf).expect("sending to tansu");
        let mut size = [0u8; 4];
        self.stream
            .read_exact(&mut size)
            .expect("reading from tansu");
        let mut body = vec![0; i32::from_be_bytes(size) as usize];
        self.stream
            .read_exact(&mut body)
            .expect("reading from tansu");
        let mut body = Bytes::from(body);
        let h = ResponseHeader::decode(&mut body, R::Response::header_version(version)).unwrap();
        assert_eq!(h.correlation_id, self.correlation);
        R::Response::decode(&mut body, version).expect("decoding a response")
    }

    /// Every record of `topic`'s partition `partition`, from offset 0 to the high watermark,
    /// and the high watermark.
    pub fn partition(&mut self, topic: &str, partition: i32) -> (Vec<Consumed>, i64) {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let request = FetchRequest::default()
                .with_replica_id((-1).into())
                .with_max_wait_ms(100)
                .with_min_bytes(1)
                .with_max_bytes(16 * 1024 * 1024)
                .with_topics(vec![FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(topic.into())))
                    .with_partitions(vec![FetchPartition::default()
                        .with_partition(partition)
                        .with_fetch_offset(offset)
                        .with_partition_max_bytes(8 * 1024 * 1024)])]);
            let response = self.send(request, FETCH_VERSION);
            let data = &response.responses[0].partitions[0];
            assert_eq!(
                data.error_code, 0,
                "fetching {topic}/{partition} at {offset}"
            );
            let high = data.high_watermark;
            let mut records = data.records.clone().unwrap_or_default();
            let before = offset;
            if !records.is_empty() {
                for set in RecordBatchDecoder::decode_all(&mut records).expect("record batches") {
                    for r in set.records {
                        if r.offset < offset {
                            continue;
                        }
                        let text = |b: &Bytes| String::from_utf8(b.to_vec()).expect("UTF-8");
                        out.push(Consumed {
                            partition,
                            offset: r.offset,
                            key: r.key.as_ref().map(text),
                            value: r.value.as_ref().map(text).unwrap_or_default(),
                            headers: r
                                .headers
                                .iter()
                                .map(|(k, v)| {
                                    (k.to_string(), v.as_ref().map(text).unwrap_or_default())
                                })
                                .collect(),
                        });
                        offset = r.offset + 1;
                    }
                }
            }
            if offset >= high || offset == before {
                return (out, high);
            }
        }
    }
}

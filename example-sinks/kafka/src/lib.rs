//! Produces every row change to Kafka as a record, over plain TCP, with the `kafka-protocol`
//! crate's codecs (it builds for `wasm32-wasip2` without its compression features).
//!
//! One record per change: topic from a template (`cdc.{schema}.{table}` by default), key = the
//! row's key columns as JSON (`{"id":7}`; one row's changes stay in one partition, in order),
//! value = the change's JSON line, headers `op`, `table`, `lsn`, `seq`. The producer is
//! idempotent: `InitProducerId` gives a producer id, and every partition's batches carry
//! sequence numbers, so a batch sent again after a broken connection is recognised by the
//! broker as a duplicate. `acks = -1` (all in-sync replicas); `publish` returns `Ok` only once
//! every record is acknowledged. Config and delivery: README.md.

pub mod records;
pub mod settings;
pub mod wire;

use std::collections::HashMap;

use bytes::BytesMut;
use conduit_sink_sdk::{format, Batch, Config, Sink, SinkError};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{InitProducerIdRequest, MetadataRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, RecordBatchEncoder, RecordEncodeOptions};

use records::Pending;
pub use settings::Settings;
use wire::{Conn, WireError};

/// The versions of each API this sink is written for (the broker's highest within is used).
const METADATA: (i16, i16) = (1, 12);
const INIT_PRODUCER_ID: (i16, i16) = (0, 4);
const PRODUCE: (i16, i16) = (3, 9);

/// A partition of a topic.
type Partition = (String, i32);

#[derive(Default, Clone, Copy)]
struct PartitionState {
    /// The sequence number of the partition's next record.
    next_seq: i32,
    /// The last change the broker acknowledged in this partition, so that a retried batch does
    /// not send it again.
    acked: Option<(u64, u32)>,
}

struct Kafka {
    settings: Settings,
    /// Broker node id → `host:port`, from metadata.
    brokers: HashMap<i32, String>,
    /// Open connections by node id (`-1`: a bootstrap broker).
    conns: HashMap<i32, Conn>,
    /// Topic → leader node id of each partition, by index.
    topics: HashMap<String, Vec<i32>>,
    /// Producer id and epoch.
    producer: Option<(i64, i16)>,
    partitions: HashMap<Partition, PartitionState>,
}

/// Kafka error codes this sink tells apart.
mod code {
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const LEADER_NOT_AVAILABLE: i16 = 5;
    pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    pub const MESSAGE_TOO_LARGE: i16 = 10;
    pub const RECORD_LIST_TOO_LARGE: i16 = 18;
    pub const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
    pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
    pub const DUPLICATE_SEQUENCE_NUMBER: i16 = 46;
    pub const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub const UNKNOWN_PRODUCER_ID: i16 = 59;
}

fn sink_error(e: WireError, what: &str) -> SinkError {
    match e {
        WireError::Io(e) => SinkError::retryable(format!("kafka: {what}: {e}")),
        WireError::Refused(e) => SinkError::fatal(format!("kafka: {what}: {e}")),
    }
}

impl Kafka {
    fn open(&self, addr: &str) -> Result<Conn, WireError> {
        let sasl = self
            .settings
            .sasl
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()));
        Conn::open(addr, self.settings.timeout, &self.settings.client_id, sasl)
    }

    /// A connection to any broker: an open one, else the first bootstrap broker that answers.
    fn any_conn(&mut self) -> Result<&mut Conn, SinkError> {
        if self.conns.is_empty() {
            let mut last = None;
            for addr in self.settings.bootstrap.clone() {
                match self.open(&addr) {
                    Ok(conn) => {
                        self.conns.insert(-1, conn);
                        break;
                    }
                    Err(e @ WireError::Refused(_)) => return Err(sink_error(e, &addr)),
                    Err(e) => last = Some(sink_error(e, &addr)),
                }
            }
            if let Some(e) = last.filter(|_| self.conns.is_empty()) {
                return Err(e);
            }
        }
        Ok(self.conns.values_mut().next().expect("one is open"))
    }

    fn conn(&mut self, node: i32) -> Result<&mut Conn, SinkError> {
        if !self.conns.contains_key(&node) {
            let addr = self.brokers.get(&node).cloned().ok_or_else(|| {
                SinkError::retryable(format!("kafka: broker {node} is not in the metadata"))
            })?;
            let conn = self
                .open(&addr)
                .map_err(|e| sink_error(e, &format!("broker {node} at {addr}")))?;
            self.conns.insert(node, conn);
        }
        Ok(self.conns.get_mut(&node).expect("just opened"))
    }

    /// Fetches the partitions and leaders of `topics` (and every broker's address).
    fn metadata(&mut self, topics: &[String]) -> Result<(), SinkError> {
        let conn = self.any_conn()?;
        let v = conn
            .version::<MetadataRequest>(METADATA)
            .map_err(|e| sink_error(e, "Metadata"))?;
        let request = MetadataRequest::default()
            .with_topics(Some(
                topics
                    .iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                    })
                    .collect(),
            ))
            .with_allow_auto_topic_creation(true);
        let response = match conn.send(request, v) {
            Ok(r) => r,
            Err(e) => {
                self.conns.clear();
                return Err(sink_error(e, "Metadata"));
            }
        };
        for b in &response.brokers {
            self.brokers
                .insert(b.node_id.0, format!("{}:{}", b.host.as_str(), b.port));
        }
        for t in &response.topics {
            let name = t.name.as_ref().map(|n| n.0.as_str()).unwrap_or("");
            if t.error_code != 0 {
                return Err(SinkError::retryable(format!(
                    "kafka: topic {name:?} is not available (error code {}): create it, or let the broker create topics",
                    t.error_code
                )));
            }
            let mut leaders = vec![-1; t.partitions.len()];
            for p in &t.partitions {
                let i = p.partition_index as usize;
                if i >= leaders.len() || p.leader_id.0 < 0 {
                    return Err(SinkError::retryable(format!(
                        "kafka: partition {} of topic {name:?} has no leader (error code {})",
                        p.partition_index, p.error_code
                    )));
                }
                leaders[i] = p.leader_id.0;
            }
            if leaders.is_empty() {
                return Err(SinkError::retryable(format!(
                    "kafka: topic {name:?} has no partitions"
                )));
            }
            self.topics.insert(name.to_string(), leaders);
        }
        Ok(())
    }

    /// A producer id and epoch for idempotent produce.
    fn producer(&mut self) -> Result<(i64, i16), SinkError> {
        if let Some(p) = self.producer {
            return Ok(p);
        }
        let conn = self.any_conn()?;
        let v = conn
            .version::<InitProducerIdRequest>(INIT_PRODUCER_ID)
            .map_err(|e| sink_error(e, "InitProducerId"))?;
        let request = InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(60_000)
            .with_producer_id((-1).into())
            .with_producer_epoch(-1);
        let response = match conn.send(request, v) {
            Ok(r) => r,
            Err(e) => {
                self.conns.clear();
                return Err(sink_error(e, "InitProducerId"));
            }
        };
        if response.error_code != 0 {
            return Err(SinkError::retryable(format!(
                "kafka: InitProducerId failed with error code {} (an idempotent producer needs it: Kafka 0.11 or later)",
                response.error_code
            )));
        }
        let p = (response.producer_id.0, response.producer_epoch);
        self.producer = Some(p);
        // A new producer's sequences start at 0 in every partition.
        for state in self.partitions.values_mut() {
            state.next_seq = 0;
        }
        Ok(p)
    }

    /// Sends one round: up to `max_records` of each partition's queue, one request per leader.
    /// Acknowledged records leave their queues.
    fn round(
        &mut self,
        queues: &mut [(Partition, Vec<&Pending>)],
        producer: (i64, i16),
    ) -> Result<(), SinkError> {
        let max = self.settings.max_records;
        let timeout_ms = self.settings.timeout.as_millis() as i32;
        let mut by_leader: HashMap<i32, Vec<usize>> = HashMap::new();
        for (i, ((topic, partition), queue)) in queues.iter().enumerate() {
            if !queue.is_empty() {
                let leader = self.topics[topic][*partition as usize];
                by_leader.entry(leader).or_default().push(i);
            }
        }
        let mut first_error: Option<SinkError> = None;
        for (leader, members) in by_leader {
            let mut topic_data: Vec<TopicProduceData> = Vec::new();
            for &i in &members {
                let ((topic, partition), queue) = &queues[i];
                let state = self
                    .partitions
                    .entry((topic.clone(), *partition))
                    .or_default();
                let records: Vec<_> = queue
                    .iter()
                    .take(max)
                    .enumerate()
                    .map(|(n, p)| p.record(producer, n as i64, seq_add(state.next_seq, n as i32)))
                    .collect();
                let mut buf = BytesMut::with_capacity(records.len() * 600);
                let options = RecordEncodeOptions {
                    version: 2,
                    compression: Compression::None,
                };
                RecordBatchEncoder::encode(&mut buf, records.iter(), &options).map_err(|e| {
                    SinkError::fatal(format!("kafka: encoding a record batch: {e}"))
                })?;
                let data = PartitionProduceData::default()
                    .with_index(*partition)
                    .with_records(Some(buf.freeze()));
                match topic_data.iter_mut().find(|t| t.name.0.as_str() == topic) {
                    Some(t) => t.partition_data.push(data),
                    None => topic_data.push(
                        TopicProduceData::default()
                            .with_name(TopicName(StrBytes::from_string(topic.clone())))
                            .with_partition_data(vec![data]),
                    ),
                }
            }
            let request = ProduceRequest::default()
                .with_transactional_id(None)
                .with_acks(-1)
                .with_timeout_ms(timeout_ms)
                .with_topic_data(topic_data);
            let sent = self.conn(leader).and_then(|conn| {
                let v = conn
                    .version::<ProduceRequest>(PRODUCE)
                    .map_err(|e| sink_error(e, "Produce"))?;
                conn.send(request, v)
                    .map_err(|e| sink_error(e, &format!("Produce to broker {leader}")))
            });
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    self.conns.remove(&leader);
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            for t in &response.responses {
                for p in &t.partition_responses {
                    let Some(i) = members.iter().copied().find(|&i| {
                        queues[i].0 .0 == t.name.0.as_str() && queues[i].0 .1 == p.index
                    }) else {
                        continue;
                    };
                    let (key, queue) = &mut queues[i];
                    let sent = queue.len().min(max);
                    match p.error_code {
                        0 | code::DUPLICATE_SEQUENCE_NUMBER => {
                            let state = self.partitions.entry(key.clone()).or_default();
                            state.next_seq = seq_add(state.next_seq, sent as i32);
                            state.acked = Some(queue[sent - 1].position);
                            queue.drain(..sent);
                        }
                        error => {
                            let e = self.produce_error(key, error, queue[0]);
                            first_error.get_or_insert(e);
                        }
                    }
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// What to do about a partition's error code; returns the error for the runtime.
    fn produce_error(
        &mut self,
        (topic, partition): &Partition,
        error: i16,
        first: &Pending,
    ) -> SinkError {
        let at = format!(
            "kafka: producing change {}/{} to {topic} partition {partition}: error code {error}",
            format::lsn(first.position.0),
            first.position.1
        );
        match error {
            code::UNKNOWN_TOPIC_OR_PARTITION
            | code::LEADER_NOT_AVAILABLE
            | code::NOT_LEADER_OR_FOLLOWER => {
                self.topics.clear();
                SinkError::retryable(format!("{at} (leadership moved: metadata refreshed)"))
            }
            code::OUT_OF_ORDER_SEQUENCE_NUMBER
            | code::INVALID_PRODUCER_EPOCH
            | code::UNKNOWN_PRODUCER_ID => {
                self.producer = None;
                SinkError::retryable(format!(
                    "{at} (the broker lost this producer's state: a new producer id is taken; records it had stored may be written again)"
                ))
            }
            code::MESSAGE_TOO_LARGE | code::RECORD_LIST_TOO_LARGE => SinkError::fatal(format!(
                "{at}: the batch is larger than the topic accepts: lower the sink's `max_records` or raise the topic's max.message.bytes"
            )),
            code::TOPIC_AUTHORIZATION_FAILED | code::CLUSTER_AUTHORIZATION_FAILED => {
                SinkError::fatal(format!("{at}: not authorized: grant the sink's user WRITE and IDEMPOTENT_WRITE"))
            }
            _ => SinkError::retryable(at),
        }
    }
}

/// Kafka's sequence numbers wrap from `i32::MAX` to 0.
fn seq_add(seq: i32, n: i32) -> i32 {
    ((seq as i64 + n as i64) % (i32::MAX as i64 + 1)) as i32
}

impl Sink for Kafka {
    fn connect(config: Config) -> Result<Self, SinkError> {
        Ok(Kafka {
            settings: Settings::from_config(&config)?,
            brokers: HashMap::new(),
            conns: HashMap::new(),
            topics: HashMap::new(),
            producer: None,
            partitions: HashMap::new(),
        })
    }

    fn publish(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let pending: Vec<Pending> = batch
            .changes()
            .map(|c| Pending::new(&self.settings, &c))
            .collect();
        let mut missing: Vec<String> = pending
            .iter()
            .filter(|p| !self.topics.contains_key(&p.topic))
            .map(|p| p.topic.clone())
            .collect();
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            self.metadata(&missing)?;
        }
        let producer = self.producer()?;
        // Each partition's changes in delivery order, without those already acknowledged.
        let mut queues: Vec<(Partition, Vec<&Pending>)> = Vec::new();
        let mut index: HashMap<Partition, usize> = HashMap::new();
        for p in &pending {
            let Some(leaders) = self.topics.get(&p.topic) else {
                return Err(SinkError::retryable(format!(
                    "kafka: the metadata does not name topic {:?}: create it",
                    p.topic
                )));
            };
            let key = (p.topic.clone(), p.partition(leaders.len()));
            let acked = self.partitions.get(&key).and_then(|s| s.acked);
            if acked.is_some_and(|a| p.position <= a) {
                continue;
            }
            let i = *index.entry(key.clone()).or_insert_with(|| {
                queues.push((key, Vec::new()));
                queues.len() - 1
            });
            queues[i].1.push(p);
        }
        while queues.iter().any(|(_, q)| !q.is_empty()) {
            self.round(&mut queues, producer)?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), SinkError> {
        self.conns.clear();
        Ok(())
    }
}

conduit_sink_sdk::export_sink!(Kafka);

#[cfg(test)]
mod tests;

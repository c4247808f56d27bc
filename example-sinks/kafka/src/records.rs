//! What one change becomes: a record's topic, key, value and headers, and its partition.

use bytes::Bytes;
use conduit_sink_sdk::{format, serde_json, ChangeView};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Record, TimestampType};

use crate::settings::Settings;

/// One change, ready to be put in a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub position: (u64, u32),
    pub topic: String,
    /// The row's key as a JSON object of the key columns, e.g. `{"id":7}`; `None` for a change
    /// without a row (`truncate`) or a table without key columns.
    pub key: Option<Bytes>,
    pub value: Bytes,
    pub headers: Vec<(&'static str, String)>,
    /// Commit time, milliseconds since 1970.
    pub timestamp: i64,
}

impl Pending {
    pub fn new(settings: &Settings, change: &ChangeView<'_>) -> Pending {
        let mut key = serde_json::Map::new();
        for (column, value) in change.key_values() {
            key.insert(column.name.clone(), value.to_json());
        }
        let key =
            (!key.is_empty()).then(|| Bytes::from(serde_json::Value::Object(key).to_string()));
        Pending {
            position: change.position(),
            topic: settings.topic.render(change.schema(), change.table()),
            key,
            value: Bytes::from(change.json_line()),
            headers: vec![
                ("op", change.op().as_str().to_string()),
                ("table", change.qualified_table()),
                ("lsn", format::lsn(change.commit_lsn())),
                ("seq", change.seq().to_string()),
            ],
            timestamp: change.commit_time().div_euclid(1000),
        }
    }

    /// The partition of `partitions`: the Java client's default for a keyed record
    /// (murmur2 of the key, positive, modulo the count), so that one row's changes stay in one
    /// partition and other Kafka producers agree; a record without a key goes where its topic's
    /// name hashes to (one partition per topic, in order).
    pub fn partition(&self, partitions: usize) -> i32 {
        let hash = match &self.key {
            Some(key) => murmur2(key),
            None => murmur2(self.topic.as_bytes()),
        };
        ((hash & 0x7fff_ffff) as usize % partitions.max(1)) as i32
    }

    /// The record, `index`-th of its batch, with sequence number `sequence`.
    pub fn record(&self, producer: (i64, i16), index: i64, sequence: i32) -> Record {
        let mut headers = IndexMap::new();
        for (name, value) in &self.headers {
            headers.insert(
                StrBytes::from_static_str(name),
                Some(Bytes::from(value.clone())),
            );
        }
        Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: producer.0,
            producer_epoch: producer.1,
            timestamp_type: TimestampType::Creation,
            offset: index,
            sequence,
            timestamp: self.timestamp,
            key: self.key.clone(),
            value: Some(self.value.clone()),
            headers,
        }
    }
}

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), as its default partitioner
/// uses it.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ len as u32;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    match tail.len() {
        3 => {
            h ^= (tail[2] as u32) << 16;
            h ^= (tail[1] as u32) << 8;
            h ^= tail[0] as u32;
            h = h.wrapping_mul(M);
        }
        2 => {
            h ^= (tail[1] as u32) << 8;
            h ^= tail[0] as u32;
            h = h.wrapping_mul(M);
        }
        1 => {
            h ^= tail[0] as u32;
            h = h.wrapping_mul(M);
        }
        _ => {}
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        let cases: [(&[u8], i32); 5] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), want, "{}", String::from_utf8_lossy(data));
        }
    }
}

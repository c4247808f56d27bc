//! What a change costs in memory, for the budget that bounds all tenants' queues together.

use std::mem::size_of;

use super::{Change, Datum, Value};

/// Bytes a queued change holds: its struct, its row images' value slots, and the heap behind
/// text, bytes and arrays. An estimate (allocator rounding and `Vec` spare capacity are not
/// counted), cheap enough to take for every queued change: one pass over the values, no
/// allocation.
pub fn change_bytes(change: &Change) -> usize {
    let mut bytes = size_of::<Change>();
    if let Some(new) = &change.new {
        bytes += values_bytes(new);
    }
    if let Some(old) = &change.old {
        bytes += values_bytes(&old.values);
    }
    bytes
}

fn values_bytes(values: &[Value]) -> usize {
    std::mem::size_of_val(values) + values.iter().map(value_heap).sum::<usize>()
}

fn value_heap(value: &Value) -> usize {
    match value {
        Value::Numeric(s) | Value::Text(s) | Value::Json(s) | Value::Uuid(s) | Value::Other(s) => {
            s.len()
        }
        Value::Bytes(b) => b.len(),
        Value::Array(items) => {
            std::mem::size_of_val(items.as_slice()) + items.iter().map(datum_heap).sum::<usize>()
        }
        _ => 0,
    }
}

fn datum_heap(datum: &Datum) -> usize {
    match datum {
        Datum::Numeric(s) | Datum::Text(s) | Datum::Json(s) | Datum::Uuid(s) | Datum::Other(s) => {
            s.len()
        }
        Datum::Bytes(b) => b.len(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Operation;

    fn insert(values: Vec<Value>) -> Change {
        Change {
            op: Operation::Insert,
            relation: 0,
            new: Some(values),
            old: None,
            xid: 1,
            commit_lsn: 1,
            end_lsn: 2,
            seq: 0,
            commit_time: 0,
        }
    }

    #[test]
    fn text_and_bytes_count_their_heap() {
        let small = change_bytes(&insert(vec![Value::Int(1)]));
        let big = change_bytes(&insert(vec![Value::Text("x".repeat(10_000))]));
        assert_eq!(big - small, 10_000);
        let bytes = change_bytes(&insert(vec![Value::Bytes(vec![0; 4096])]));
        assert_eq!(bytes - small, 4096);
    }

    #[test]
    fn arrays_count_their_elements() {
        let one = change_bytes(&insert(vec![Value::Array(vec![Datum::Int(1)])]));
        let two = change_bytes(&insert(vec![Value::Array(vec![
            Datum::Int(1),
            Datum::Text("abc".into()),
        ])]));
        assert_eq!(two - one, size_of::<Datum>() + 3);
    }
}

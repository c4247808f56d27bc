//! Table descriptions and rows for the tests of this module.

use std::sync::Arc;

use crate::assemble::types::TypeRegistry;
use crate::assemble::RelationInfo;
use crate::event::{Change, Column, OldRow, Operation, Relation, Value};

pub const BOOL: u32 = 16;
pub const BYTEA: u32 = 17;
pub const INT8: u32 = 20;
pub const INT4: u32 = 23;
pub const TEXT: u32 = 25;
pub const FLOAT8: u32 = 701;
pub const BPCHAR: u32 = 1042;
pub const DATE: u32 = 1082;
pub const TIME: u32 = 1083;
pub const TS: u32 = 1114;
pub const TSTZ: u32 = 1184;
pub const NUMERIC: u32 = 1700;
pub const UUID: u32 = 2950;
pub const JSONB: u32 = 3802;
pub const INT4_ARRAY: u32 = 1007;
/// Not a built-in type: an enum, say, carried as text.
pub const ENUM: u32 = 90_001;

/// A table `schema.name` with columns `(name, type oid, part of the replica identity)`, typed
/// as the assembler would type them.
pub fn table(oid: u32, qualified: &str, cols: &[(&str, u32, bool)]) -> Arc<RelationInfo> {
    let (schema, name) = qualified.split_once('.').expect("schema.table");
    let types = TypeRegistry::default();
    let mut columns = Vec::new();
    let mut kinds = Vec::new();
    for &(col, type_oid, key) in cols {
        let info = types.info(type_oid);
        kinds.push(info.kind);
        columns.push(Column {
            name: col.to_string(),
            type_name: info.name,
            type_oid,
            key,
        });
    }
    Arc::new(RelationInfo {
        relation: Relation {
            oid,
            schema: schema.to_string(),
            name: name.to_string(),
            columns,
        },
        kinds,
    })
}

pub fn change(op: Operation, new: Option<Vec<Value>>, old: Option<OldRow>) -> Change {
    Change {
        op,
        relation: 0,
        new,
        old,
        xid: 7,
        commit_lsn: 100,
        end_lsn: 108,
        commit_time: 1_700_000_000_000_000,
        seq: 3,
    }
}

pub fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

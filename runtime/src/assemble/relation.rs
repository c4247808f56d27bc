//! A table's description, built once per Relation message.

use std::sync::Arc;

use super::types::{Kind, TypeRegistry};
use crate::decode;
use crate::event::{Column, Relation};

/// What the assembler knows about a table: the description a sink receives, and how to parse each
/// column's text form.
#[derive(Debug)]
pub struct RelationInfo {
    pub relation: Relation,
    pub kinds: Vec<Kind>,
}

impl RelationInfo {
    pub fn new(msg: &decode::Relation<'_>, types: &TypeRegistry) -> Arc<RelationInfo> {
        let mut columns = Vec::with_capacity(msg.columns.len());
        let mut kinds = Vec::with_capacity(msg.columns.len());
        for c in &msg.columns {
            let info = types.info(c.type_oid);
            kinds.push(info.kind);
            columns.push(Column {
                name: c.name.to_string(),
                type_name: info.name,
                type_oid: c.type_oid,
                key: c.is_key(),
            });
        }
        Arc::new(RelationInfo {
            relation: Relation {
                oid: msg.oid,
                schema: schema_name(msg.namespace).to_string(),
                name: msg.name.to_string(),
                columns,
            },
            kinds,
        })
    }

    /// A table as the catalog describes it, before any change of it has been streamed: used to
    /// check grants against the live schema at start. Columns are `(name, type oid, is key)`.
    pub fn from_catalog(
        oid: u32,
        schema: &str,
        name: &str,
        columns: &[(String, u32, bool)],
        types: &TypeRegistry,
    ) -> Arc<RelationInfo> {
        let mut cols = Vec::with_capacity(columns.len());
        let mut kinds = Vec::with_capacity(columns.len());
        for (col, type_oid, key) in columns {
            let info = types.info(*type_oid);
            kinds.push(info.kind);
            cols.push(Column {
                name: col.clone(),
                type_name: info.name,
                type_oid: *type_oid,
                key: *key,
            });
        }
        Arc::new(RelationInfo {
            relation: Relation {
                oid,
                schema: schema.to_string(),
                name: name.to_string(),
                columns: cols,
            },
            kinds,
        })
    }

    /// `schema.table`, for messages.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.relation.schema, self.relation.name)
    }
}

/// The schema a Relation message names. pgoutput writes an empty namespace for `pg_catalog`
/// (`logicalrep_write_namespace` in PostgreSQL's `proto.c`), and a schema name cannot be empty.
fn schema_name(namespace: &str) -> &str {
    if namespace.is_empty() {
        "pg_catalog"
    } else {
        namespace
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{DecodeContext, Message};

    /// A Relation message as pgoutput writes it: 'R', oid, namespace, name, replica identity,
    /// then one `id integer` key column.
    fn relation_bytes(namespace: &str, name: &str) -> Vec<u8> {
        let mut b = vec![b'R'];
        b.extend_from_slice(&16_384u32.to_be_bytes());
        for s in [namespace, name] {
            b.extend_from_slice(s.as_bytes());
            b.push(0);
        }
        b.push(b'd');
        b.extend_from_slice(&1u16.to_be_bytes());
        b.push(1);
        b.extend_from_slice(b"id\0");
        b.extend_from_slice(&23u32.to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b
    }

    fn schema_of(bytes: &[u8]) -> (String, String) {
        let ctx = DecodeContext {
            in_stream: false,
            protocol_version: 1,
        };
        let Message::Relation(msg) = crate::decode::decode(bytes, &ctx).unwrap() else {
            panic!("not a Relation message");
        };
        let info = RelationInfo::new(&msg, &TypeRegistry::default());
        (info.relation.schema.clone(), info.qualified_name())
    }

    #[test]
    fn an_empty_namespace_is_pg_catalog() {
        // logicalrep_write_namespace (proto.c) writes "" for PG_CATALOG_NAMESPACE.
        let (schema, qualified) = schema_of(&relation_bytes("", "cdc_probe"));
        assert_eq!(schema, "pg_catalog");
        assert_eq!(qualified, "pg_catalog.cdc_probe");
    }

    #[test]
    fn other_namespaces_are_kept() {
        let (schema, _) = schema_of(&relation_bytes("public", "items"));
        assert_eq!(schema, "public");
        let (schema, _) = schema_of(&relation_bytes("Sales Dept", "t"));
        assert_eq!(schema, "Sales Dept");
    }
}

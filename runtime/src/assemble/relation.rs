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
                schema: msg.namespace.to_string(),
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

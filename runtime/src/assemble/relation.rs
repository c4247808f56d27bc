//! A table's description, built once per Relation message.

use std::sync::Arc;

use super::types::{Kind, TypeRegistry};
use crate::decode;
use crate::sandbox::bindings::{Column, Relation};

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

    /// `schema.table`, for messages.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.relation.schema, self.relation.name)
    }
}

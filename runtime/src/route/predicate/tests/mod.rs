//! Tests of the predicate language, by subject; the table they type-check against is here.

mod binding;
mod decimals;
mod evaluation;
mod parsing;

use std::sync::Arc;

use super::*;
use crate::assemble::RelationInfo;
use crate::route::fixtures::*;

fn orders() -> Arc<RelationInfo> {
    table(
        1,
        "public.orders",
        &[
            ("id", INT8, true),
            ("tenant_id", TEXT, false),
            ("amount", NUMERIC, false),
            ("score", FLOAT8, false),
            ("active", BOOL, false),
            ("code", BPCHAR, false),
            ("ref", UUID, false),
            ("day", DATE, false),
            ("at", TS, false),
            ("at_tz", TSTZ, false),
            ("clock", TIME, false),
            ("doc", JSONB, false),
            ("blob", BYTEA, false),
            ("tags", INT4_ARRAY, false),
            ("mood", ENUM, false),
            ("Region", TEXT, false),
            ("qty", INT4, false),
        ],
    )
}

fn compile(src: &str) -> Result<CompiledPredicate, BindError> {
    let rel = orders();
    CompiledPredicate::compile(&parse(src).unwrap(), &rel.relation, &rel.kinds)
}

//! Tests of grants, plans and the router, by subject; the fixtures they share are here.

mod checking;
mod configuration;
mod index;
mod router;
mod routing;

use std::sync::Arc;

use super::fixtures::*;
use super::*;
use crate::assemble::RelationInfo;
use crate::event::{OldRow, Value};

fn grant(tables: &[&str]) -> Grant {
    Grant {
        tables: tables.iter().map(|t| t.to_string()).collect(),
        ..Grant::default()
    }
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|t| t.to_string()).collect())
}

fn tenant(grants: &[Grant]) -> TenantGrants {
    TenantGrants::new("acme", grants).unwrap()
}

fn new_error(grants: &[Grant]) -> String {
    TenantGrants::new("acme", grants).unwrap_err().to_string()
}

/// public.orders with REPLICA IDENTITY DEFAULT: only `id` is in the key.
fn orders() -> Arc<RelationInfo> {
    table(
        10,
        "public.orders",
        &[
            ("id", INT8, true),
            ("tenant_id", TEXT, false),
            ("amount", NUMERIC, false),
            ("ssn", TEXT, false),
            ("region", TEXT, false),
        ],
    )
}

/// The same table with REPLICA IDENTITY FULL: PostgreSQL marks every column as key.
fn orders_full() -> Arc<RelationInfo> {
    table(
        10,
        "public.orders",
        &[
            ("id", INT8, true),
            ("tenant_id", TEXT, true),
            ("amount", NUMERIC, true),
            ("ssn", TEXT, true),
            ("region", TEXT, true),
        ],
    )
}

fn order(id: i64, tenant: &str, amount: &str) -> Vec<Value> {
    vec![
        Value::Int(id),
        text(tenant),
        Value::Numeric(amount.into()),
        text("123-45-6789"),
        text("eu"),
    ]
}

/// The key-only old image PostgreSQL sends for REPLICA IDENTITY DEFAULT.
fn old_key(id: i64) -> OldRow {
    OldRow {
        key_only: true,
        values: vec![
            Value::Int(id),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ],
    }
}

fn old_full(values: Vec<Value>) -> OldRow {
    OldRow {
        key_only: false,
        values,
    }
}

fn acme_grant() -> Grant {
    Grant {
        columns: strings(&["amount", "id", "tenant_id"]),
        where_clause: Some("tenant_id = 'acme'".into()),
        ..grant(&["public.orders"])
    }
}

fn plan_of(grants: &[Grant], rel: &Arc<RelationInfo>) -> TablePlan {
    tenant(grants).plan(rel).unwrap().expect("granted")
}

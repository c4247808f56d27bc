//! Snapshot reads (`Operation::Read`) through grants: their own operation, filtered like inserts.

use std::sync::Arc;

use super::fixtures::*;
use super::*;
use crate::assemble::RelationInfo;
use crate::event::{Operation, Value};

fn orders() -> Arc<RelationInfo> {
    table(
        10,
        "public.orders",
        &[("id", INT8, true), ("tenant_id", TEXT, false)],
    )
}

fn row(id: i64, tenant: &str) -> Vec<Value> {
    vec![Value::Int(id), text(tenant)]
}

fn plan(grant: Grant) -> TablePlan {
    TenantGrants::new("acme", &[grant])
        .unwrap()
        .plan(&orders())
        .unwrap()
        .expect("granted")
}

fn orders_grant() -> Grant {
    Grant {
        tables: vec!["public.orders".into()],
        ..Grant::default()
    }
}

#[test]
fn read_is_a_grant_operation_of_its_own() {
    let json = r#"[{"tables": ["orders"], "operations": ["read", "insert"]}]"#;
    let grants: Vec<Grant> = serde_json::from_str(json).unwrap();
    assert_eq!(
        grants[0].operations,
        Some(vec![GrantOp::Read, GrantOp::Insert])
    );
    assert_eq!(Operation::from(GrantOp::Read), Operation::Read);
    assert!(OpSet::ALL.contains(Operation::Read));
    let only_read: OpSet = [Operation::Read].into_iter().collect();
    assert!(only_read.contains(Operation::Read));
    assert!(!only_read.contains(Operation::Insert));
}

#[test]
fn reads_are_delivered_by_default_and_keep_their_operation() {
    let p = plan(orders_grant());
    let read = change(Operation::Read, Some(row(1, "acme")), None);
    let out = p.route_change(&read).expect("delivered");
    assert_eq!(out, read);
}

#[test]
fn an_operations_list_without_read_gets_no_reads() {
    let p = plan(Grant {
        operations: Some(vec![GrantOp::Insert, GrantOp::Update, GrantOp::Delete]),
        ..orders_grant()
    });
    assert!(p
        .route_change(&change(Operation::Read, Some(row(1, "acme")), None))
        .is_none());
    assert!(p
        .route_change(&change(Operation::Insert, Some(row(1, "acme")), None))
        .is_some());

    let reads_only = plan(Grant {
        operations: Some(vec![GrantOp::Read]),
        ..orders_grant()
    });
    assert!(reads_only
        .route_change(&change(Operation::Read, Some(row(1, "acme")), None))
        .is_some());
    assert!(reads_only
        .route_change(&change(Operation::Insert, Some(row(1, "acme")), None))
        .is_none());
}

#[test]
fn reads_are_filtered_and_projected_like_inserts() {
    let p = plan(Grant {
        columns: Some(vec!["id".into()]),
        where_clause: Some("tenant_id = 'acme'".into()),
        ..orders_grant()
    });
    let out = p
        .route_change(&change(Operation::Read, Some(row(1, "acme")), None))
        .expect("acme's row");
    assert_eq!(out.op, Operation::Read);
    assert_eq!(out.new, Some(vec![Value::Int(1)]));
    assert_eq!(out.old, None);
    assert!(p
        .route_change(&change(Operation::Read, Some(row(2, "other")), None))
        .is_none());
}

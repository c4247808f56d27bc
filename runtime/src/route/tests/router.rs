//! The router: plans cached per table description, run-time errors, batching.

use std::sync::Arc;

use super::*;
use crate::assemble::{RelationInfo, RowChange, Transaction};
use crate::event::{Change, Operation, Value};
use crate::pipeline::Batcher;

fn row_change(rel: &Arc<RelationInfo>, c: Change) -> RowChange {
    RowChange {
        relation: rel.clone(),
        change: Change {
            relation: rel.relation.oid,
            ..c
        },
    }
}

#[test]
fn the_router_caches_plans_per_table_description() {
    let rel = orders();
    let mut router = TenantRouter::new(tenant(&[acme_grant()]));
    assert_eq!(router.tenant(), "acme");
    let a = router
        .route(&row_change(
            &rel,
            change(Operation::Insert, Some(order(1, "acme", "1")), None),
        ))
        .unwrap()
        .unwrap();
    let b = router
        .route(&row_change(
            &rel,
            change(Operation::Insert, Some(order(2, "acme", "2")), None),
        ))
        .unwrap()
        .unwrap();
    // One projected description for every change of the table.
    assert!(Arc::ptr_eq(&a.relation, &b.relation));
    assert_eq!(a.relation.relation.columns.len(), 3);
    assert!(router
        .route(&row_change(
            &rel,
            change(Operation::Insert, Some(order(3, "beta", "2")), None),
        ))
        .unwrap()
        .is_none());

    // ALTER TABLE: a new description of the same OID is compiled afresh.
    let altered = table(
        10,
        "public.orders",
        &[
            ("id", INT8, true),
            ("tenant_id", TEXT, false),
            ("amount", NUMERIC, false),
            ("note", TEXT, false),
        ],
    );
    let c = router
        .route(&row_change(
            &altered,
            change(
                Operation::Insert,
                Some(vec![
                    Value::Int(4),
                    text("acme"),
                    Value::Numeric("1".into()),
                    text("hi"),
                ]),
                None,
            ),
        ))
        .unwrap()
        .unwrap();
    assert!(!Arc::ptr_eq(&a.relation, &c.relation));
    assert_eq!(c.change.new.unwrap().len(), 3);

    // A table no grant matches.
    let other = table(11, "public.other", &[("id", INT4, true)]);
    assert!(router
        .route(&row_change(
            &other,
            change(Operation::Insert, Some(vec![Value::Int(1)]), None),
        ))
        .unwrap()
        .is_none());
}

#[test]
fn a_grant_that_stops_fitting_at_run_time_is_an_error_for_that_table() {
    let mut router = TenantRouter::new(tenant(&[Grant {
        where_clause: Some("tenant_id = 'acme'".into()),
        ..grant(&["sales.*"])
    }]));
    let fits = table(
        20,
        "sales.a",
        &[("id", INT4, true), ("tenant_id", TEXT, false)],
    );
    let lacks = table(21, "sales.b", &[("id", INT4, true)]);
    let insert = |rel: &Arc<RelationInfo>, values: Vec<Value>| {
        row_change(rel, change(Operation::Insert, Some(values), None))
    };
    assert!(router
        .route(&insert(&fits, vec![Value::Int(1), text("acme")]))
        .unwrap()
        .is_some());
    let expected = "tenant \"acme\": table sales.b has no column \"tenant_id\" (grant 1 where-clause at offset 0)";
    for _ in 0..2 {
        let err = router
            .route(&insert(&lacks, vec![Value::Int(1)]))
            .unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
    // Other tables are unaffected.
    assert!(router
        .route(&insert(&fits, vec![Value::Int(2), text("acme")]))
        .unwrap()
        .is_some());
}

#[test]
fn routed_changes_batch_with_one_projected_description() {
    let rel = orders();
    let mut router = TenantRouter::new(tenant(&[acme_grant()]));
    let changes: Vec<RowChange> = [("acme", 1), ("beta", 2), ("acme", 3)]
        .iter()
        .map(|&(t, id)| {
            row_change(
                &rel,
                change(Operation::Insert, Some(order(id, t, "1")), None),
            )
        })
        .filter_map(|rc| router.route(&rc).unwrap())
        .collect();
    let mut batcher = Batcher::new(100);
    batcher.push(Transaction {
        xid: 7,
        commit_lsn: 100,
        end_lsn: 108,
        commit_time: 0,
        changes,
    });
    let batch = batcher.next_batch().unwrap().batch;
    assert_eq!(batch.relations.len(), 1);
    let names: Vec<_> = batch.relations[0]
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["id", "tenant_id", "amount"]);
    assert_eq!(batch.changes.len(), 2);
    assert!(batch
        .changes
        .iter()
        .all(|c| c.relation == 0 && c.new.as_ref().is_some_and(|n| n.len() == 3)));
}

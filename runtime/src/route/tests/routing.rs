//! Routing one change through a plan: filtering and projection per operation.

use super::*;
use crate::event::Operation;

#[test]
fn inserts_are_filtered_and_projected() {
    let p = plan_of(&[acme_grant()], &orders());
    let c = change(Operation::Insert, Some(order(1, "acme", "10.50")), None);
    let out = p.route_change(&c).unwrap();
    assert_eq!(out.op, Operation::Insert);
    assert_eq!(
        out.new,
        Some(vec![
            Value::Int(1),
            text("acme"),
            Value::Numeric("10.50".into())
        ])
    );
    assert_eq!(out.old, None);
    // Everything but the row images is passed through.
    assert_eq!(
        (
            out.relation,
            out.xid,
            out.commit_lsn,
            out.end_lsn,
            out.commit_time,
            out.seq
        ),
        (
            c.relation,
            c.xid,
            c.commit_lsn,
            c.end_lsn,
            c.commit_time,
            c.seq
        )
    );
    let other = change(Operation::Insert, Some(order(2, "beta", "1")), None);
    assert!(p.route_change(&other).is_none());
    let mut null_tenant = order(3, "", "1");
    null_tenant[1] = Value::Null;
    assert!(p
        .route_change(&change(Operation::Insert, Some(null_tenant), None))
        .is_none());
}

#[test]
fn updates_with_full_old_rows() {
    let p = plan_of(&[acme_grant()], &orders_full());
    let update = |old_tenant: &str, new_tenant: &str| {
        p.route_change(&change(
            Operation::Update,
            Some(order(1, new_tenant, "2")),
            Some(old_full(order(1, old_tenant, "1"))),
        ))
    };
    // Inside before and after: the old row comes along, projected like the new one.
    let out = update("acme", "acme").unwrap();
    assert_eq!(out.op, Operation::Update);
    assert_eq!(
        out.old,
        Some(OldRow {
            key_only: false,
            values: vec![Value::Int(1), text("acme"), Value::Numeric("1".into())],
        })
    );
    assert_eq!(out.new.as_ref().map(Vec::len), Some(3));
    // Moved in: the old version belonged to someone else and is dropped.
    let out = update("beta", "acme").unwrap();
    assert_eq!(out.op, Operation::Update);
    assert_eq!(out.old, None);
    assert_eq!(out.new.unwrap()[1], text("acme"));
    // Moved out: delivered as a delete of the old row, without the new one.
    let out = update("acme", "beta").unwrap();
    assert_eq!(out.op, Operation::Delete);
    assert_eq!(out.new, None);
    assert_eq!(out.old.unwrap().values[1], text("acme"));
    // Never inside.
    assert!(update("beta", "gamma").is_none());

    // Without the delete operation, a move-out is not delivered at all.
    let no_delete = plan_of(
        &[Grant {
            operations: Some(vec![GrantOp::Insert, GrantOp::Update]),
            ..acme_grant()
        }],
        &orders_full(),
    );
    let moved_out = change(
        Operation::Update,
        Some(order(1, "beta", "2")),
        Some(old_full(order(1, "acme", "1"))),
    );
    assert!(no_delete.route_change(&moved_out).is_none());
}

#[test]
fn updates_with_key_only_old_rows() {
    // REPLICA IDENTITY DEFAULT, key changed from 1 to 2: the old image has only `id`.
    let c = change(
        Operation::Update,
        Some(order(2, "acme", "1")),
        Some(old_key(1)),
    );
    // A predicate on a non-key column cannot be shown to hold for the old version: the update is
    // delivered (its new row matches) but the old key is dropped.
    let p = plan_of(&[acme_grant()], &orders());
    let out = p.route_change(&c).unwrap();
    assert_eq!(out.op, Operation::Update);
    assert_eq!(out.old, None);
    // A predicate on the key: the old key is checked and delivered, projected.
    let by_key = plan_of(
        &[Grant {
            columns: strings(&["id", "amount"]),
            where_clause: Some("id > 0".into()),
            ..grant(&["orders"])
        }],
        &orders(),
    );
    let out = by_key.route_change(&c).unwrap();
    assert_eq!(
        out.old,
        Some(OldRow {
            key_only: true,
            values: vec![Value::Int(1), Value::Null],
        })
    );
    // IS NULL on a column a key-only image does not carry is unknown, not true.
    let is_null = plan_of(
        &[Grant {
            where_clause: Some("ssn IS NULL".into()),
            ..grant(&["orders"])
        }],
        &orders(),
    );
    assert!(is_null
        .route_change(&change(Operation::Delete, None, Some(old_key(1))))
        .is_none());
    // Without a predicate the old key is projected with the column grant.
    let plain = plan_of(
        &[Grant {
            deny_columns: strings(&["ssn", "amount"]),
            ..grant(&["orders"])
        }],
        &orders(),
    );
    let out = plain.route_change(&c).unwrap();
    assert_eq!(
        out.old,
        Some(OldRow {
            key_only: true,
            values: vec![Value::Int(1), Value::Null, Value::Null],
        })
    );
    assert_eq!(out.new, Some(vec![Value::Int(2), text("acme"), text("eu")]));
}

#[test]
fn unchanged_toast_in_the_new_row_takes_the_old_value() {
    let p = plan_of(&[acme_grant()], &orders_full());
    let mut new = order(1, "", "2");
    new[1] = Value::UnchangedToast;
    let with_old = change(
        Operation::Update,
        Some(new.clone()),
        Some(old_full(order(1, "acme", "1"))),
    );
    let out = p.route_change(&with_old).unwrap();
    // The value itself is delivered as PostgreSQL sent it.
    assert_eq!(out.new.unwrap()[1], Value::UnchangedToast);
    let with_old_beta = change(
        Operation::Update,
        Some(new.clone()),
        Some(old_full(order(1, "beta", "1"))),
    );
    assert!(p.route_change(&with_old_beta).is_none());
    // Without an old row the predicate is unknown: not delivered.
    let without_old = change(Operation::Update, Some(new), None);
    assert!(p.route_change(&without_old).is_none());
}

#[test]
fn deletes_are_decided_on_the_old_row() {
    let acme = plan_of(&[acme_grant()], &orders());
    // Key-only old row, predicate on a non-key column: cannot be decided, not delivered.
    assert!(acme
        .route_change(&change(Operation::Delete, None, Some(old_key(1))))
        .is_none());
    // REPLICA IDENTITY FULL: decided on the old row.
    let full = plan_of(&[acme_grant()], &orders_full());
    let out = full
        .route_change(&change(
            Operation::Delete,
            None,
            Some(old_full(order(1, "acme", "1"))),
        ))
        .unwrap();
    assert_eq!(out.op, Operation::Delete);
    assert_eq!(
        out.old.unwrap().values,
        vec![Value::Int(1), text("acme"), Value::Numeric("1".into())]
    );
    assert!(full
        .route_change(&change(
            Operation::Delete,
            None,
            Some(old_full(order(1, "beta", "1"))),
        ))
        .is_none());
    // Predicate on the key: key-only old rows are enough.
    let by_key = plan_of(
        &[Grant {
            where_clause: Some("id < 100".into()),
            ..grant(&["orders"])
        }],
        &orders(),
    );
    assert!(by_key
        .route_change(&change(Operation::Delete, None, Some(old_key(1))))
        .is_some());
    assert!(by_key
        .route_change(&change(Operation::Delete, None, Some(old_key(100))))
        .is_none());
}

#[test]
fn operations_are_filtered() {
    let p = plan_of(
        &[Grant {
            operations: Some(vec![GrantOp::Insert]),
            ..grant(&["orders"])
        }],
        &orders(),
    );
    assert_eq!(p.ops(), [Operation::Insert].into_iter().collect::<OpSet>());
    assert!(p
        .route_change(&change(Operation::Insert, Some(order(1, "a", "1")), None))
        .is_some());
    assert!(p
        .route_change(&change(
            Operation::Update,
            Some(order(1, "a", "1")),
            Some(old_key(1))
        ))
        .is_none());
    assert!(p
        .route_change(&change(Operation::Delete, None, Some(old_key(1))))
        .is_none());
    assert!(p
        .route_change(&change(Operation::Truncate, None, None))
        .is_none());
}

#[test]
fn truncate_ignores_the_predicate() {
    let p = plan_of(&[acme_grant()], &orders());
    let out = p
        .route_change(&change(Operation::Truncate, None, None))
        .unwrap();
    assert_eq!(
        (out.op, out.new, out.old),
        (Operation::Truncate, None, None)
    );
    let no_truncate = plan_of(
        &[Grant {
            operations: Some(vec![GrantOp::Insert, GrantOp::Delete]),
            ..acme_grant()
        }],
        &orders(),
    );
    assert!(no_truncate
        .route_change(&change(Operation::Truncate, None, None))
        .is_none());
}

#[test]
fn rows_of_the_wrong_width_are_not_delivered() {
    let p = plan_of(&[grant(&["orders"])], &orders());
    let short = change(Operation::Insert, Some(vec![Value::Int(1)]), None);
    assert!(p.route_change(&short).is_none());
    let mut long = order(1, "a", "1");
    long.push(Value::Null);
    assert!(p
        .route_change(&change(Operation::Insert, Some(long), None))
        .is_none());
}

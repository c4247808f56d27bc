use std::sync::Arc;

use super::fixtures::*;
use super::*;
use crate::assemble::types::{Kind, ScalarKind};
use crate::assemble::{RelationInfo, RowChange, Transaction};
use crate::event::{Change, OldRow, Operation, Value};
use crate::pipeline::Batcher;

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

// ---- configuration ----

#[test]
fn grants_deserialize_from_the_documented_shape() {
    let json = r#"[
        {"tables": ["public.orders", "sales.*"], "columns": ["id", "tenant_id"],
         "where": "tenant_id = 'acme'", "operations": ["insert", "update", "delete"]},
        {"tables": ["audit"], "deny_columns": ["ssn"]}
    ]"#;
    let grants: Vec<Grant> = serde_json::from_str(json).unwrap();
    assert_eq!(
        grants[0],
        Grant {
            tables: vec!["public.orders".into(), "sales.*".into()],
            columns: strings(&["id", "tenant_id"]),
            deny_columns: None,
            where_clause: Some("tenant_id = 'acme'".into()),
            operations: Some(vec![GrantOp::Insert, GrantOp::Update, GrantOp::Delete]),
        }
    );
    assert_eq!(grants[1].deny_columns, strings(&["ssn"]));
    assert_eq!(grants[1].operations, None);
    // A misspelt key must not silently grant everything.
    let typo = r#"{"tables": ["orders"], "deny_colums": ["ssn"]}"#;
    assert!(serde_json::from_str::<Grant>(typo)
        .unwrap_err()
        .to_string()
        .contains("unknown field `deny_colums`"));
    let bad_op = r#"{"tables": ["orders"], "operations": ["upsert"]}"#;
    assert!(serde_json::from_str::<Grant>(bad_op).is_err());
}

#[test]
fn table_patterns() {
    let m =
        |p: &str, schema: &str, table: &str| TablePattern::parse(p).unwrap().matches(schema, table);
    assert!(m("public.orders", "public", "orders"));
    assert!(!m("public.orders", "public", "Orders"));
    assert!(m("orders", "public", "orders"));
    assert!(!m("orders", "sales", "orders"));
    assert!(m("sales.*", "sales", "anything"));
    assert!(!m("sales.*", "public", "anything"));
    assert!(m("*.orders", "sales", "orders"));
    assert!(!m("*.orders", "sales", "items"));
    assert!(m("*.*", "x", "y"));
    assert!(m("*", "public", "y"));
    assert!(!m("*", "sales", "y"));
    assert!(m(r#""my.schema"."Or""ders""#, "my.schema", "Or\"ders"));
    assert!(m(r#"sales."*""#, "sales", "*"));
    assert!(!m(r#"sales."*""#, "sales", "orders"));
    assert!(TablePattern::parse("public.orders").unwrap().is_exact());
    assert!(!TablePattern::parse("sales.*").unwrap().is_exact());
    assert_eq!(
        TablePattern::parse("orders").unwrap().to_string(),
        "public.orders"
    );
    assert_eq!(
        TablePattern::parse(r#""a.b".*"#).unwrap().to_string(),
        r#""a.b".*"#
    );
    for bad in [
        "a.b.c",
        "ord*",
        "",
        "a.",
        ".a",
        "\"unterminated",
        "\"x\"y",
        "a\"b",
        "\"\".t",
    ] {
        assert!(TablePattern::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn grant_entries_are_checked_without_the_database() {
    assert_eq!(
        new_error(&[acme_grant(), grant(&[])]),
        "tenant \"acme\": grant 2: tables is empty"
    );
    assert_eq!(
        new_error(&[Grant {
            columns: strings(&["id"]),
            deny_columns: strings(&["ssn"]),
            ..grant(&["orders"])
        }]),
        "tenant \"acme\": grant 1: give either columns (an allow-list) or deny_columns, not both"
    );
    assert_eq!(
        new_error(&[Grant {
            operations: Some(vec![]),
            ..grant(&["orders"])
        }]),
        "tenant \"acme\": grant 1: operations is empty (leave it out to allow all operations)"
    );
    assert_eq!(
        new_error(&[grant(&["orders", "a.b.c"])]),
        "tenant \"acme\": grant 1: table pattern \"a.b.c\": expected schema.table"
    );
    assert_eq!(
        new_error(&[
            acme_grant(),
            Grant {
                where_clause: Some("tenant_id = ".into()),
                ..grant(&["sales.*"])
            }
        ]),
        "tenant \"acme\": grant 2 where-clause at offset 12: expected a value after '=', found end of input"
    );
}

#[test]
fn the_first_matching_grant_applies() {
    let t = tenant(&[
        grant(&["sales.orders"]),
        grant(&["sales.*", "public.items"]),
        grant(&["*.*"]),
    ]);
    assert_eq!(t.grant_for("sales", "orders"), Some(0));
    assert_eq!(t.grant_for("sales", "items"), Some(1));
    assert_eq!(t.grant_for("public", "items"), Some(1));
    assert_eq!(t.grant_for("public", "orders"), Some(2));
    let narrow = tenant(&[grant(&["sales.*"])]);
    assert_eq!(narrow.grant_for("public", "orders"), None);
    assert!(narrow.plan(&orders()).unwrap().is_none());
}

// ---- plans ----

#[test]
fn column_grants_keep_table_order() {
    let rel = orders();
    let allow = plan_of(&[acme_grant()], &rel);
    assert_eq!(allow.keep(), &[0, 1, 2]);
    let names: Vec<_> = allow
        .relation()
        .relation
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["id", "tenant_id", "amount"]);
    assert_eq!(
        allow.relation().kinds,
        [
            Kind::Scalar(ScalarKind::Int),
            Kind::Scalar(ScalarKind::Text),
            Kind::Scalar(ScalarKind::Numeric)
        ]
    );
    assert_eq!(allow.relation().relation.oid, 10);
    assert!(!Arc::ptr_eq(allow.relation(), &rel));

    let deny = plan_of(
        &[Grant {
            deny_columns: strings(&["ssn"]),
            ..grant(&["orders"])
        }],
        &rel,
    );
    assert_eq!(deny.keep(), &[0, 1, 2, 4]);
    assert_eq!(deny.relation().relation.columns[3].name, "region");

    // All columns: the tenant gets the very same description, nothing copied.
    let all = plan_of(&[grant(&["orders"])], &rel);
    assert_eq!(all.keep(), &[0, 1, 2, 3, 4]);
    assert!(Arc::ptr_eq(all.relation(), &rel));
    assert_eq!(all.ops(), OpSet::ALL);
    assert!(all.predicate().is_none());
}

#[test]
fn schema_errors_name_tenant_table_and_spot() {
    let rel = orders();
    let plan_err = |g: Grant| tenant(&[g]).plan(&rel).unwrap_err().to_string();
    assert_eq!(
        plan_err(Grant {
            columns: strings(&["id", "regoin"]),
            ..grant(&["orders"])
        }),
        "tenant \"acme\": table public.orders has no column \"regoin\" (grant 1 columns)"
    );
    assert_eq!(
        plan_err(Grant {
            deny_columns: strings(&["SSN"]),
            ..grant(&["orders"])
        }),
        "tenant \"acme\": table public.orders has no column \"SSN\" (grant 1 deny_columns)"
    );
    assert_eq!(
        plan_err(Grant {
            where_clause: Some("tenant_id = 'acme' AND regoin IN ('eu','us')".into()),
            ..grant(&["orders"])
        }),
        "tenant \"acme\": table public.orders has no column \"regoin\" (grant 1 where-clause at offset 23)"
    );
    assert_eq!(
        plan_err(Grant {
            where_clause: Some("amount > 'lots'".into()),
            ..grant(&["orders"])
        }),
        "tenant \"acme\": grant 1 where-clause at offset 9 (table public.orders): cannot compare column \"amount\" (numeric) with 'lots': expected a number (without quotes)"
    );
}

#[test]
fn a_predicate_may_read_columns_the_tenant_cannot_see() {
    let rel = orders();
    let p = plan_of(
        &[Grant {
            columns: strings(&["id", "amount"]),
            where_clause: Some("tenant_id = 'acme'".into()),
            ..grant(&["orders"])
        }],
        &rel,
    );
    let out = p
        .route_change(&change(
            Operation::Insert,
            Some(order(1, "acme", "5")),
            None,
        ))
        .unwrap();
    assert_eq!(
        out.new,
        Some(vec![Value::Int(1), Value::Numeric("5".into())])
    );
    assert!(p
        .route_change(&change(
            Operation::Insert,
            Some(order(1, "beta", "5")),
            None
        ))
        .is_none());
}

// ---- routing ----

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

// ---- the router ----

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

// ---- checking at start ----

#[test]
fn check_reports_unknown_tables_and_warns() {
    let tables = vec![orders(), table(30, "sales.items", &[("id", INT4, true)])];
    let err = tenant(&[acme_grant(), grant(&["public.ordrs"])])
        .check(&tables)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "tenant \"acme\": grant 2: table public.ordrs does not exist or is not in the publication"
    );
    let err = tenant(&[Grant {
        columns: strings(&["id", "nope"]),
        ..grant(&["sales.*"])
    }])
    .check(&tables)
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "tenant \"acme\": table sales.items has no column \"nope\" (grant 1 columns)"
    );

    // `*.*` applies a column list that sales.items lacks.
    let err = tenant(&[Grant {
        columns: strings(&["tenant_id", "amount"]),
        ..grant(&["*.*"])
    }])
    .check(&tables)
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "tenant \"acme\": table sales.items has no column \"tenant_id\" (grant 1 columns)"
    );

    let warnings = tenant(&[
        Grant {
            columns: strings(&["tenant_id", "amount"]),
            where_clause: Some("tenant_id = 'acme' AND region IN ('eu','us')".into()),
            ..grant(&["public.*"])
        },
        grant(&["public.orders", "empty.*", "sales.*"]),
    ])
    .check(&tables)
    .unwrap();
    assert_eq!(
        warnings,
        [
            "tenant \"acme\": grant 2: no table matches empty.*",
            "tenant \"acme\": grant 2 names public.orders, but grant 1 also matches it and comes first, so grant 1 applies",
            "tenant \"acme\": table public.orders: the where-clause reads \"tenant_id\", \"region\", not in the replica identity; deletes (and rows leaving the tenant's rows, and old keys of updates) are not delivered unless the table has REPLICA IDENTITY FULL",
            "tenant \"acme\": table public.orders: key column(s) \"id\" are not granted, so the tenant cannot tell which row an update or delete is about",
        ]
    );

    // REPLICA IDENTITY FULL, insert-only, or a predicate on the key: nothing to warn about.
    for (g, rel) in [
        (acme_grant(), orders_full()),
        (
            Grant {
                operations: Some(vec![GrantOp::Insert]),
                ..acme_grant()
            },
            orders(),
        ),
        (
            Grant {
                where_clause: Some("id > 5".into()),
                ..grant(&["orders"])
            },
            orders(),
        ),
    ] {
        assert_eq!(tenant(&[g]).check(&[rel]).unwrap(), Vec::<String>::new());
    }
}

#[test]
fn predicate_columns_outside_the_key() {
    let t = tenant(&[Grant {
        where_clause: Some(
            "region = 'eu' OR (id > 3 AND tenant_id = 'acme') OR region = 'us'".into(),
        ),
        ..grant(&["orders"])
    }]);
    assert_eq!(
        t.predicate_columns_outside_key(&orders()),
        ["tenant_id", "region"]
    );
    assert!(t.predicate_columns_outside_key(&orders_full()).is_empty());
    let other = table(11, "public.other", &[("id", INT4, false)]);
    assert!(t.predicate_columns_outside_key(&other).is_empty());
}

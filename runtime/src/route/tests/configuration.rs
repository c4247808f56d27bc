//! Grant configuration (parsing, table patterns, entry checks) and the plans compiled from it.

use std::sync::Arc;

use super::*;
use crate::assemble::types::{Kind, ScalarKind};
use crate::event::Operation;

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

#[test]
fn a_grant_on_a_partitioned_table_covers_its_partitions() {
    let name = |s: &str, t: &str| (s.to_string(), t.to_string());
    let partitions: crate::route::Partitions = [
        (name("sales", "orders_eu"), vec![name("sales", "orders")]),
        (
            name("sales", "orders_eu_2026"),
            vec![name("sales", "orders_eu"), name("sales", "orders")],
        ),
    ]
    .into_iter()
    .collect();
    let t = tenant(&[grant(&["sales.orders_eu_2026"]), grant(&["sales.orders"])])
        .with_partitions(std::sync::Arc::new(partitions));
    // A pattern naming the partition itself comes first; the root's grant covers the rest, at
    // any depth.
    assert_eq!(t.grant_for("sales", "orders_eu_2026"), Some(0));
    assert_eq!(t.grant_for("sales", "orders_eu"), Some(1));
    assert_eq!(t.grant_for("sales", "orders"), Some(1));
    // Not a partition of sales.orders.
    assert_eq!(t.grant_for("sales", "orders_archive"), None);
    // Without the catalog's partitions, only the names match.
    let bare = tenant(&[grant(&["sales.orders"])]);
    assert_eq!(bare.grant_for("sales", "orders_eu"), None);
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

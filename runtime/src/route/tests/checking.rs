//! Checking grants against the live schema at start.

use super::*;

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

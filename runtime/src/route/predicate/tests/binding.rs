//! Type checking a parsed predicate against the table's columns.

use super::*;

fn mismatch(src: &str) -> (usize, String) {
    match compile(src) {
        Err(BindError::Mismatch { offset, message }) => (offset, message),
        other => panic!("{src}: {other:?}"),
    }
}

#[test]
fn unknown_columns_are_reported_with_their_offset() {
    assert_eq!(
        compile("tenant_id = 'acme' AND regoin IN ('eu')"),
        Err(BindError::UnknownColumn {
            name: "regoin".into(),
            offset: 23
        })
    );
    // Unquoted names fold to lower case; the column is "Region".
    assert_eq!(
        compile("Region = 'eu'"),
        Err(BindError::UnknownColumn {
            name: "region".into(),
            offset: 0
        })
    );
    assert!(compile(r#""Region" = 'eu'"#).is_ok());
}

#[test]
fn literal_types_must_fit_the_column() {
    assert_eq!(
        mismatch("amount = 'abc'"),
        (
            9,
            "cannot compare column \"amount\" (numeric) with 'abc': expected a number (without quotes)"
                .into()
        )
    );
    assert_eq!(
        mismatch("tenant_id = 5"),
        (
            12,
            "cannot compare column \"tenant_id\" (text) with 5: expected a string literal '...'"
                .into()
        )
    );
    let cases = [
        ("id = '5'", "\"id\" (bigint)"),
        ("score = TRUE", "\"score\" (double precision)"),
        ("active = 1", "\"active\" (boolean)"),
        ("active = 'maybe'", "\"active\" (boolean)"),
        ("day = '2026-13-01'", "\"day\" (date)"),
        ("day = 20260101", "\"day\" (date)"),
        (
            "at = '2026-01-01 10:00:00+02'",
            "\"at\" (timestamp without time zone)",
        ),
        (
            "at_tz = 'yesterday'",
            "\"at_tz\" (timestamp with time zone)",
        ),
        ("clock = '25:00'", "\"clock\" (time without time zone)"),
        ("ref = 'not-a-uuid'", "\"ref\" (uuid)"),
        (
            "ref IN ('0e37df36-f698-11e6-8dd4-cb9ced3df97')",
            "\"ref\" (uuid)",
        ),
        ("mood = 1", "\"mood\" (oid 90001)"),
    ];
    for (src, named) in cases {
        let (_, msg) = mismatch(src);
        assert!(msg.contains(named), "{src}: {msg}");
        assert!(msg.starts_with("cannot compare column"), "{src}: {msg}");
    }
}

#[test]
fn some_types_only_allow_is_null_or_equality() {
    for (src, col) in [
        ("doc = '{}'", "\"doc\" (jsonb)"),
        ("blob = 'x'", "\"blob\" (bytea)"),
        ("tags IN ('{1}')", "\"tags\" (integer[])"),
    ] {
        let (_, msg) = mismatch(src);
        assert_eq!(
            msg,
            format!("column {col} can only be tested with IS NULL or IS NOT NULL")
        );
    }
    assert!(compile("doc IS NOT NULL AND blob IS NULL AND tags IS NULL").is_ok());
    assert_eq!(
        mismatch("mood < 'sad'").1,
        "column \"mood\" (oid 90001) is compared by its text form: only =, <>, IN and NOT IN work on it"
    );
    assert!(compile("mood = 'happy' AND mood NOT IN ('sad')").is_ok());
}

#[test]
fn literals_that_fit() {
    let ok = [
        "id = 1",
        "id > 2.5",
        "id < 99999999999999999999999",
        "qty = -3",
        "amount = 10.5",
        "score >= .25",
        "active = TRUE",
        "active = 'yes'",
        "tenant_id < 'b'",
        "code = 'ab'",
        "ref = '{0E37DF36F69811E68DD4CB9CED3DF976}'",
        "day >= '2026-01-01' AND day < 'infinity'",
        "at >= '2026-01-01' AND at < '2026-01-01T10:00:00.5'",
        "at_tz >= '2026-01-01 00:00:00Z' AND at_tz < '2026-01-01 00:00:00+02:00'",
        "clock < '12:30' AND clock > '01:02:03.000004'",
    ];
    for src in ok {
        assert!(compile(src).is_ok(), "{src}: {:?}", compile(src));
    }
}

#[test]
fn compiled_predicates_list_the_columns_they_read() {
    let p = compile("amount > 1 OR (id = 2 AND amount < 5) OR tenant_id IS NULL").unwrap();
    assert_eq!(p.columns(), &[0, 1, 2]);
}

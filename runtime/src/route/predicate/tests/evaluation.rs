//! Evaluating compiled predicates on rows: three-valued logic and comparisons per type.

use super::*;
use crate::assemble::datetime::{parse_date, parse_timestamp};
use crate::event::Value;

/// Column positions in `orders()`.
const ID: usize = 0;
const TENANT: usize = 1;
const AMOUNT: usize = 2;
const SCORE: usize = 3;
const ACTIVE: usize = 4;
const CODE: usize = 5;
const REF: usize = 6;
const DAY: usize = 7;
const AT: usize = 8;
const AT_TZ: usize = 9;
const CLOCK: usize = 10;
const MOOD: usize = 14;
const QTY: usize = 16;

/// A row of `orders()` with every column NULL except `set`.
fn row(set: &[(usize, Value)]) -> Vec<Value> {
    let mut r = vec![Value::Null; orders().relation.columns.len()];
    for (i, v) in set {
        r[*i] = v.clone();
    }
    r
}

fn truth(src: &str, set: &[(usize, Value)]) -> Truth {
    let p = compile(src).unwrap();
    let r = row(set);
    p.eval(|i| r.get(i))
}

#[test]
fn three_valued_logic() {
    let null_tenant = [(ID, Value::Int(1))];
    assert_eq!(truth("tenant_id = 'acme'", &null_tenant), Truth::Unknown);
    assert_eq!(truth("tenant_id <> 'acme'", &null_tenant), Truth::Unknown);
    assert_eq!(
        truth("NOT tenant_id = 'acme'", &null_tenant),
        Truth::Unknown
    );
    assert_eq!(
        truth("tenant_id = 'acme' OR id = 1", &null_tenant),
        Truth::True
    );
    assert_eq!(
        truth("tenant_id = 'acme' OR id = 2", &null_tenant),
        Truth::Unknown
    );
    assert_eq!(
        truth("tenant_id = 'acme' AND id = 2", &null_tenant),
        Truth::False
    );
    assert_eq!(
        truth("tenant_id = 'acme' AND id = 1", &null_tenant),
        Truth::Unknown
    );
    assert_eq!(
        truth("NOT (tenant_id = 'acme' AND id = 2)", &null_tenant),
        Truth::True
    );
    assert_eq!(truth("tenant_id IS NULL", &null_tenant), Truth::True);
    assert_eq!(truth("tenant_id IS NOT NULL", &null_tenant), Truth::False);
    assert_eq!(truth("id IS NOT NULL", &null_tenant), Truth::True);
    // `matches` is true only for TRUE.
    let p = compile("tenant_id <> 'acme'").unwrap();
    assert!(!p.matches(&row(&null_tenant)));
    assert!(p.matches(&row(&[(TENANT, text("other"))])));
    assert!(!p.matches(&row(&[(TENANT, text("acme"))])));
}

#[test]
fn unchanged_toast_and_missing_values_are_unknown() {
    let toast = [(TENANT, Value::UnchangedToast)];
    assert_eq!(truth("tenant_id = 'acme'", &toast), Truth::Unknown);
    assert_eq!(truth("tenant_id IS NULL", &toast), Truth::Unknown);
    assert_eq!(truth("tenant_id IS NOT NULL", &toast), Truth::Unknown);
    assert!(!compile("tenant_id IS NULL").unwrap().matches(&row(&toast)));
    // A value the accessor does not have (e.g. past the end of a short row).
    let p = compile("qty IS NULL").unwrap();
    assert_eq!(p.eval(|_| None), Truth::Unknown);
    assert!(!p.matches(&[]));
}

#[test]
fn in_lists_and_nulls() {
    let src = "tenant_id IN ('acme', 'beta')";
    assert_eq!(truth(src, &[(TENANT, text("beta"))]), Truth::True);
    assert_eq!(truth(src, &[(TENANT, text("gamma"))]), Truth::False);
    assert_eq!(truth(src, &[]), Truth::Unknown);
    let src = "tenant_id NOT IN ('acme', 'beta')";
    assert_eq!(truth(src, &[(TENANT, text("beta"))]), Truth::False);
    assert_eq!(truth(src, &[(TENANT, text("gamma"))]), Truth::True);
    assert_eq!(truth(src, &[]), Truth::Unknown);
    // A value that is not of the column's form (it failed to parse) is unknown, not unequal.
    assert_eq!(
        truth("id NOT IN (1, 2)", &[(ID, Value::Other("garbage".into()))]),
        Truth::Unknown
    );
    assert_eq!(truth("id IN (1, 2)", &[(ID, Value::Int(2))]), Truth::True);
}

#[test]
fn numeric_compares_exactly() {
    let amount = |s: &str| [(AMOUNT, Value::Numeric(s.into()))];
    assert_eq!(truth("amount = 10.5", &amount("10.50")), Truth::True);
    assert_eq!(truth("amount = 10.50000", &amount("10.5")), Truth::True);
    assert_eq!(
        truth("amount = 10.5", &amount("10.5000000001")),
        Truth::False
    );
    assert_eq!(
        truth("amount > 10.49999999999999999999", &amount("10.50")),
        Truth::True
    );
    assert_eq!(
        truth(
            "amount > 123456789012345678901234567890",
            &amount("123456789012345678901234567890.000001")
        ),
        Truth::True
    );
    assert_eq!(truth("amount = 0", &amount("-0.00")), Truth::True);
    assert_eq!(truth("amount < -1.5", &amount("-2")), Truth::True);
    assert_eq!(truth("amount < -1.5", &amount("-1.25")), Truth::False);
    assert_eq!(truth("amount >= 100", &amount("99.999")), Truth::False);
    assert_eq!(truth("amount > 9", &amount("10")), Truth::True);
    // NaN sorts above everything, infinities where they belong.
    assert_eq!(
        truth("amount > 99999999999999999999", &amount("NaN")),
        Truth::True
    );
    assert_eq!(truth("amount = 1", &amount("NaN")), Truth::False);
    assert_eq!(truth("amount <> 1", &amount("NaN")), Truth::True);
    assert_eq!(truth("amount > 1", &amount("Infinity")), Truth::True);
    assert_eq!(truth("amount < -1", &amount("-Infinity")), Truth::True);
    assert_eq!(truth("amount = 1", &amount("not a number")), Truth::Unknown);
}

#[test]
fn integers_compare_exactly_with_decimals_and_large_literals() {
    let id = |v: i64| [(ID, Value::Int(v))];
    assert_eq!(truth("id > 2.5", &id(3)), Truth::True);
    assert_eq!(truth("id > 2.5", &id(2)), Truth::False);
    assert_eq!(truth("id = 3.0", &id(3)), Truth::True);
    assert_eq!(truth("id = 3.000001", &id(3)), Truth::False);
    assert_eq!(truth("id > -5", &id(-3)), Truth::True);
    assert_eq!(truth("id < -2.5", &id(-3)), Truth::True);
    assert_eq!(truth("id = -3", &id(-3)), Truth::True);
    assert_eq!(
        truth("id < 99999999999999999999", &id(i64::MAX)),
        Truth::True
    );
    assert_eq!(
        truth("id > -99999999999999999999", &id(i64::MIN)),
        Truth::True
    );
    assert_eq!(
        truth("id = -9223372036854775808", &id(i64::MIN)),
        Truth::True
    );
    assert_eq!(truth("qty >= 0", &[(QTY, Value::Int(0))]), Truth::True);
}

#[test]
fn floats_follow_postgresql_order() {
    let score = |v: f64| [(SCORE, Value::Float(v))];
    assert_eq!(truth("score = 0.5", &score(0.5)), Truth::True);
    assert_eq!(truth("score < -1", &score(-1.5)), Truth::True);
    assert_eq!(truth("score > 1000", &score(f64::NAN)), Truth::True);
    assert_eq!(truth("score = 1", &score(f64::NAN)), Truth::False);
    assert_eq!(truth("score > 1000", &score(f64::INFINITY)), Truth::True);
    assert_eq!(truth("score = 0", &score(-0.0)), Truth::True);
}

#[test]
fn dates_times_and_timestamps() {
    let day = |s: &str| [(DAY, Value::Date(parse_date(s).unwrap() as i32))];
    assert_eq!(
        truth("day >= '2026-01-01'", &day("2026-03-01")),
        Truth::True
    );
    assert_eq!(
        truth("day >= '2026-01-01'", &day("2025-12-31")),
        Truth::False
    );
    assert_eq!(truth("day = '1969-12-31'", &day("1969-12-31")), Truth::True);
    let inf = [(DAY, Value::Other("infinity".into()))];
    assert_eq!(truth("day > '2026-01-01'", &inf), Truth::True);
    assert_eq!(truth("day = 'infinity'", &inf), Truth::True);
    let minus_inf = [(DAY, Value::Other("-infinity".into()))];
    assert_eq!(truth("day < '0001-01-01'", &minus_inf), Truth::True);

    let midnight_utc = parse_timestamp("2026-01-01 00:00:00").unwrap();
    let at_tz = [(AT_TZ, Value::Timestamptz(midnight_utc))];
    assert_eq!(
        truth("at_tz = '2026-01-01 02:00:00+02'", &at_tz),
        Truth::True
    );
    assert_eq!(truth("at_tz = '2026-01-01T00:00:00Z'", &at_tz), Truth::True);
    assert_eq!(truth("at_tz = '2026-01-01'", &at_tz), Truth::True);
    assert_eq!(
        truth("at_tz < '2026-01-01 00:00:00.000001'", &at_tz),
        Truth::True
    );
    let at = [(AT, Value::Timestamp(midnight_utc + 1))];
    assert_eq!(
        truth("at > '2026-01-01' AND at < '2026-01-01 00:00:01'", &at),
        Truth::True
    );
    let clock = [(CLOCK, Value::Time(12 * 3_600_000_000))];
    assert_eq!(truth("clock = '12:00'", &clock), Truth::True);
    assert_eq!(truth("clock < '11:59:59.999999'", &clock), Truth::False);
}

#[test]
fn text_like_types() {
    assert_eq!(
        truth("tenant_id < 'b'", &[(TENANT, text("a"))]),
        Truth::True
    );
    // Byte order: upper case sorts before lower case.
    assert_eq!(
        truth("tenant_id < 'a'", &[(TENANT, text("B"))]),
        Truth::True
    );
    assert_eq!(
        truth("tenant_id = 'acme'", &[(TENANT, text("Acme"))]),
        Truth::False
    );
    // character(n) ignores trailing blanks on both sides.
    assert_eq!(
        truth("code = 'ab  '", &[(CODE, text("ab    "))]),
        Truth::True
    );
    assert_eq!(truth("code = 'ab'", &[(CODE, text("ab "))]), Truth::True);
    // uuid literals in any accepted form match the canonical value.
    let uuid = [(
        REF,
        Value::Uuid("0e37df36-f698-11e6-8dd4-cb9ced3df976".into()),
    )];
    assert_eq!(
        truth("ref = '{0E37DF36-F698-11E6-8DD4-CB9CED3DF976}'", &uuid),
        Truth::True
    );
    assert_eq!(
        truth("ref = '0e37df36f69811e68dd4cb9ced3df976'", &uuid),
        Truth::True
    );
    assert_eq!(
        truth("ref = '0e37df36-f698-11e6-8dd4-cb9ced3df977'", &uuid),
        Truth::False
    );
    // Types carried as text compare by their text.
    let mood = [(MOOD, Value::Other("happy".into()))];
    assert_eq!(truth("mood = 'happy'", &mood), Truth::True);
    assert_eq!(truth("mood IN ('sad', 'ok')", &mood), Truth::False);
    // Booleans.
    let active = [(ACTIVE, Value::Boolean(true))];
    assert_eq!(truth("active = TRUE", &active), Truth::True);
    assert_eq!(truth("active = 'f'", &active), Truth::False);
    assert_eq!(truth("active > FALSE", &active), Truth::True);
}

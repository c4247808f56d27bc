use std::sync::Arc;

use super::*;
use crate::assemble::datetime::{parse_date, parse_timestamp};
use crate::assemble::RelationInfo;
use crate::event::Value;
use crate::route::fixtures::*;

fn shown(src: &str) -> String {
    match parse(src) {
        Ok(e) => e.to_string(),
        Err(e) => panic!("{src:?}: {e}"),
    }
}

fn err(src: &str) -> (usize, String) {
    match parse(src) {
        Ok(e) => panic!("{src:?} parsed as {e}"),
        Err(e) => (e.offset, e.message),
    }
}

// ---- parser ----

#[test]
fn and_binds_tighter_than_or_and_not_tighter_than_and() {
    assert_eq!(
        shown("a = 1 OR b = 2 AND c = 3"),
        r#"("a" = 1 OR ("b" = 2 AND "c" = 3))"#
    );
    assert_eq!(
        shown("a = 1 AND b = 2 OR c = 3"),
        r#"(("a" = 1 AND "b" = 2) OR "c" = 3)"#
    );
    assert_eq!(shown("NOT a = 1 AND b = 2"), r#"(NOT "a" = 1 AND "b" = 2)"#);
    assert_eq!(shown("NOT NOT a = 1"), r#"NOT NOT "a" = 1"#);
}

#[test]
fn parentheses_override_precedence() {
    assert_eq!(
        shown("(a = 1 OR b = 2) AND c = 3"),
        r#"(("a" = 1 OR "b" = 2) AND "c" = 3)"#
    );
    assert_eq!(shown("NOT (a = 1 OR b = 2)"), r#"NOT ("a" = 1 OR "b" = 2)"#);
    assert_eq!(shown("((a = 1))"), r#""a" = 1"#);
}

#[test]
fn chains_stay_flat() {
    let Expr::Or(items) = parse("a=1 OR b=2 OR c=3 OR d=4").unwrap() else {
        panic!("not an OR")
    };
    assert_eq!(items.len(), 4);
    let Expr::And(items) = parse("a=1 AND b=2 AND c=3").unwrap() else {
        panic!("not an AND")
    };
    assert_eq!(items.len(), 3);
}

#[test]
fn keywords_are_case_insensitive() {
    assert_eq!(
        shown("a in (1, 2) and not b is null oR c Is NoT nUlL AND d not IN ('x') AND e = tRuE"),
        r#"(("a" IN (1, 2) AND NOT "b" IS NULL) OR ("c" IS NOT NULL AND "d" NOT IN ('x') AND "e" = tRuE))"#
    );
}

#[test]
fn identifiers_fold_unless_quoted() {
    let Expr::And(items) =
        parse(r#"TenantId = 'x' AND "TenantId" = 'y' AND "we""ird" = 'z'"#).unwrap()
    else {
        panic!("not an AND")
    };
    let names: Vec<_> = items
        .iter()
        .map(|e| match e {
            Expr::Compare { column, .. } => column.name.clone(),
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(names, ["tenantid", "TenantId", "we\"ird"]);
}

#[test]
fn literals() {
    let lits = |src: &str| match parse(src).unwrap() {
        Expr::In { values, .. } => values.into_iter().map(|v| v.kind).collect::<Vec<_>>(),
        other => panic!("{other}"),
    };
    assert_eq!(
        lits("x IN ('it''s', '', -10.50, .5, +3, 42, TRUE, false, 'Ünïcode')"),
        vec![
            LiteralKind::Str("it's".into()),
            LiteralKind::Str("".into()),
            LiteralKind::Num("-10.50".into()),
            LiteralKind::Num(".5".into()),
            LiteralKind::Num("+3".into()),
            LiteralKind::Num("42".into()),
            LiteralKind::Bool(true),
            LiteralKind::Bool(false),
            LiteralKind::Str("Ünïcode".into()),
        ]
    );
    // No space needed around operators or before a sign.
    assert_eq!(shown("x>-5"), r#""x" > -5"#);
    assert_eq!(shown("x<>-5"), r#""x" <> -5"#);
    assert_eq!(shown("x!=5"), r#""x" <> 5"#);
}

#[test]
fn a_value_on_the_left_is_flipped() {
    assert_eq!(shown("5 < x"), r#""x" > 5"#);
    assert_eq!(shown("'acme' = tenant"), r#""tenant" = 'acme'"#);
    assert_eq!(shown("0 >= x"), r#""x" <= 0"#);
}

#[test]
fn syntax_errors_say_where_and_what_was_expected() {
    assert_eq!(
        err("tenant_id = "),
        (12, "expected a value after '=', found end of input".into())
    );
    assert_eq!(
        err("tenant_id = AND x = 1"),
        (12, "expected a value after '=', found AND".into())
    );
    assert_eq!(
        err("tenant_id = 'acme' AND region IN ('eu',)"),
        (
            39,
            "expected a value after ',' in the IN list, found )".into()
        )
    );
    assert_eq!(
        err("region IN ('eu' 'us')"),
        (16, "expected ',' or ')' in the IN list, found 'us'".into())
    );
    assert_eq!(
        err("region IN 'eu'"),
        (10, "expected '(' after IN, found 'eu'".into())
    );
    assert_eq!(
        err("a = 'x"),
        (4, "unterminated string literal (missing ')".into())
    );
    assert_eq!(err("a IS 5"), (5, "expected NULL after IS, found 5".into()));
    assert_eq!(
        err("a IS NOT TRUE"),
        (9, "expected NULL after IS NOT, found TRUE".into())
    );
    assert_eq!(
        err("(a = 1"),
        (
            6,
            "expected ')' to close the '(' at offset 0, found end of input".into()
        )
    );
    assert_eq!(err("a = 1)"), (5, "unmatched ')'".into()));
    assert_eq!(
        err("a = 1 b = 2"),
        (
            6,
            "expected AND, OR or the end of the where-clause, found column b".into()
        )
    );
    assert_eq!(err("a # 1"), (2, "unexpected character '#'".into()));
    assert_eq!(err("   "), (0, "the where-clause is empty".into()));
    assert_eq!(
        err("a = 1 AND"),
        (
            9,
            "expected a condition (a column, NOT or '('), found end of input".into()
        )
    );
    assert_eq!(
        err("a"),
        (
            1,
            "expected an operator (=, <>, <, <=, >, >=, IN, NOT IN, IS) after column \"a\", found end of input"
                .into()
        )
    );
    assert_eq!(
        err("a NOT = 1"),
        (6, "expected IN after NOT, found =".into())
    );
    assert_eq!(
        err("5 = 6"),
        (4, "expected a column after '=', found 6".into())
    );
    assert_eq!(err(r#""" = 1"#), (0, "empty quoted identifier \"\"".into()));
    assert_eq!(err("a = -"), (4, "expected digits after '-'".into()));
    assert!(err("a = 1.2.3").1.starts_with("malformed number"));
    assert!(err("a = 12abc").1.starts_with("malformed number"));
}

#[test]
fn null_is_only_allowed_in_is_null() {
    for src in ["a = NULL", "a IN ('x', NULL)", "a <> null"] {
        let (_, msg) = err(src);
        assert!(
            msg.starts_with("NULL is only allowed in IS NULL"),
            "{src}: {msg}"
        );
    }
    assert_eq!(err("a IN ('x', NULL)").0, 11);
    assert_eq!(err("NULL IS NULL").0, 0);
}

#[test]
fn display_of_an_error_puts_the_offset_last() {
    let e = parse("tenant_id = ").unwrap_err();
    assert_eq!(
        e.to_string(),
        "expected a value after '=', found end of input at offset 12"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let src = format!("{}a = 1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(err(&src).1.starts_with("nested more than"));
    let src = format!("{}a = 1", "NOT ".repeat(10_000));
    assert!(err(&src).1.starts_with("nested more than"));
    // Moderate nesting is fine.
    let src = format!("{}a = 1{}", "(".repeat(30), ")".repeat(30));
    assert_eq!(shown(&src), r#""a" = 1"#);
}

// ---- type checking ----

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

// ---- evaluation ----

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

// ---- decimals ----

#[test]
fn decimal_parsing_and_order() {
    use std::cmp::Ordering::*;
    let c = |a: &str, b: &str| decimal::cmp(decimal::parse(a).unwrap(), decimal::parse(b).unwrap());
    assert_eq!(c("007.500", "7.5"), Equal);
    assert_eq!(c(".5", "0.50"), Equal);
    assert_eq!(c("1.", "1"), Equal);
    assert_eq!(c("-0", "0.000"), Equal);
    assert_eq!(c("-1", "0"), Less);
    assert_eq!(c("-2", "-1"), Less);
    assert_eq!(c("-1.01", "-1.1"), Greater);
    assert_eq!(c("0.5", "0.51"), Less);
    assert_eq!(c("0.6", "0.51"), Greater);
    assert_eq!(c("100", "99.999"), Greater);
    assert_eq!(c("+3", "3"), Equal);
    for bad in ["", "-", ".", "1e5", "1.2.3", "--1", " 1", "NaN"] {
        assert_eq!(decimal::parse(bad), None, "{bad:?}");
    }
    let mut buf = [0u8; 20];
    let min = decimal::from_i64(i64::MIN, &mut buf);
    assert_eq!(
        decimal::cmp(min, decimal::parse("-9223372036854775808").unwrap()),
        Equal
    );
    let mut buf = [0u8; 20];
    assert_eq!(decimal::from_i64(0, &mut buf), decimal::parse("0").unwrap());
}

//! The parser: precedence, identifiers, literals and syntax errors.

use super::*;

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

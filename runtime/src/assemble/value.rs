//! A column's text form → a typed `value`.

use super::datetime;
use super::types::{Kind, ScalarKind};
use crate::event::{Datum, Value};

/// Converts one column of a pgoutput tuple. Anything that does not parse as its declared type is
/// kept as `other` with the text PostgreSQL sent: a value is never dropped or invented.
pub fn parse_value(kind: Kind, text: &str) -> Value {
    match kind {
        Kind::Scalar(k) => scalar_value(k, text),
        Kind::Array(k) => match parse_array(text) {
            Some(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| match item {
                        None => Datum::Null,
                        Some(s) => scalar_datum(k, &s),
                    })
                    .collect(),
            ),
            None => Value::Other(text.to_string()),
        },
    }
}

fn scalar_value(kind: ScalarKind, text: &str) -> Value {
    match scalar_datum(kind, text) {
        Datum::Null => Value::Null,
        Datum::Int(v) => Value::Int(v),
        Datum::Float(v) => Value::Float(v),
        Datum::Boolean(v) => Value::Boolean(v),
        Datum::Numeric(v) => Value::Numeric(v),
        Datum::Text(v) => Value::Text(v),
        Datum::Bytes(v) => Value::Bytes(v),
        Datum::Json(v) => Value::Json(v),
        Datum::Timestamptz(v) => Value::Timestamptz(v),
        Datum::Timestamp(v) => Value::Timestamp(v),
        Datum::Date(v) => Value::Date(v),
        Datum::Time(v) => Value::Time(v),
        Datum::Uuid(v) => Value::Uuid(v),
        Datum::Other(v) => Value::Other(v),
    }
}

fn scalar_datum(kind: ScalarKind, text: &str) -> Datum {
    let parsed = match kind {
        ScalarKind::Int => text.parse().ok().map(Datum::Int),
        ScalarKind::Float => text.parse().ok().map(Datum::Float),
        ScalarKind::Bool => match text {
            "t" => Some(Datum::Boolean(true)),
            "f" => Some(Datum::Boolean(false)),
            _ => None,
        },
        ScalarKind::Numeric => Some(Datum::Numeric(text.to_string())),
        ScalarKind::Text => Some(Datum::Text(text.to_string())),
        ScalarKind::Bytea => parse_bytea_hex(text).map(Datum::Bytes),
        ScalarKind::Json => Some(Datum::Json(text.to_string())),
        ScalarKind::Timestamptz => datetime::parse_timestamptz(text).map(Datum::Timestamptz),
        ScalarKind::Timestamp => datetime::parse_timestamp(text).map(Datum::Timestamp),
        ScalarKind::Date => datetime::parse_date(text)
            .and_then(|d| i32::try_from(d).ok())
            .map(Datum::Date),
        ScalarKind::Time => datetime::parse_time(text).map(Datum::Time),
        ScalarKind::Uuid => Some(Datum::Uuid(text.to_string())),
        ScalarKind::Other => None,
    };
    parsed.unwrap_or_else(|| Datum::Other(text.to_string()))
}

/// bytea's hex output form `\x0aff…` (the connection sets `bytea_output=hex`).
fn parse_bytea_hex(text: &str) -> Option<Vec<u8>> {
    let hex = text.strip_prefix("\\x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    hex.as_bytes()
        .chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

/// Parses a one-dimensional array literal `{a,"b c",NULL}` into its elements (`None` = NULL).
/// Returns `None` for anything else (more dimensions, explicit bounds `[0:1]={…}`), which the
/// caller keeps as text.
pub fn parse_array(text: &str) -> Option<Vec<Option<String>>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    if inner.is_empty() {
        return Some(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        let item = if chars.peek() == Some(&'"') {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next()? {
                    '\\' => s.push(chars.next()?),
                    '"' => break,
                    c => s.push(c),
                }
            }
            Some(s)
        } else {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '{' || c == '"' || c == '\\' {
                    return None;
                }
                s.push(c);
                chars.next();
            }
            if s.is_empty() {
                return None;
            }
            if s == "NULL" {
                None
            } else {
                Some(s)
            }
        };
        items.push(item);
        match chars.next() {
            None => return Some(items),
            Some(',') => continue,
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_parse_to_their_kinds() {
        use ScalarKind::*;
        assert_eq!(
            parse_value(Kind::Scalar(Int), "9007199254740993"),
            Value::Int(9_007_199_254_740_993)
        );
        assert!(matches!(parse_value(Kind::Scalar(Float), "NaN"), Value::Float(f) if f.is_nan()));
        assert_eq!(
            parse_value(Kind::Scalar(Float), "-Infinity"),
            Value::Float(f64::NEG_INFINITY)
        );
        assert_eq!(
            parse_value(Kind::Scalar(Numeric), "12345.678900"),
            Value::Numeric("12345.678900".into())
        );
        assert_eq!(parse_value(Kind::Scalar(Bool), "t"), Value::Boolean(true));
        assert_eq!(
            parse_value(Kind::Scalar(Bytea), "\\x00ff10"),
            Value::Bytes(vec![0, 255, 16])
        );
        assert_eq!(
            parse_value(Kind::Scalar(Date), "1970-01-02"),
            Value::Date(1)
        );
        assert_eq!(
            parse_value(Kind::Scalar(Date), "infinity"),
            Value::Other("infinity".into())
        );
        assert_eq!(
            parse_value(Kind::Scalar(Int), "not a number"),
            Value::Other("not a number".into())
        );
    }

    #[test]
    fn one_dimensional_arrays() {
        assert_eq!(
            parse_value(Kind::Array(ScalarKind::Int), "{1,NULL,-3}"),
            Value::Array(vec![Datum::Int(1), Datum::Null, Datum::Int(-3)])
        );
        assert_eq!(
            parse_value(
                Kind::Array(ScalarKind::Text),
                r#"{"a b","q\"uote",NULL,"NULL",x}"#
            ),
            Value::Array(vec![
                Datum::Text("a b".into()),
                Datum::Text("q\"uote".into()),
                Datum::Null,
                Datum::Text("NULL".into()),
                Datum::Text("x".into()),
            ])
        );
        assert_eq!(
            parse_value(Kind::Array(ScalarKind::Int), "{}"),
            Value::Array(vec![])
        );
        assert_eq!(
            parse_value(Kind::Array(ScalarKind::Int), "{{1,2},{3,4}}"),
            Value::Other("{{1,2},{3,4}}".into())
        );
        assert_eq!(
            parse_value(Kind::Array(ScalarKind::Int), "[0:1]={1,2}"),
            Value::Other("[0:1]={1,2}".into())
        );
    }

    /// Finite BC values are typed like any other (astronomical years: 44 BC is -43), alone and
    /// inside arrays, where `array_out` quotes them because of the space before `BC`.
    #[test]
    fn bc_dates_and_timestamps_are_typed() {
        use super::datetime::days_from_civil;
        let ides = days_from_civil(-43, 3, 15);
        let ides_i32 = i32::try_from(ides).unwrap();
        let day = 86_400_000_000;
        assert_eq!(
            parse_value(Kind::Scalar(ScalarKind::Date), "0044-03-15 BC"),
            Value::Date(ides_i32)
        );
        assert_eq!(
            parse_value(Kind::Scalar(ScalarKind::Date), "4714-11-24 BC"),
            Value::Date(-2_440_588)
        );
        assert_eq!(
            parse_value(
                Kind::Scalar(ScalarKind::Timestamp),
                "0044-03-15 12:30:00 BC"
            ),
            Value::Timestamp(ides * day + 45_000_000_000)
        );
        assert_eq!(
            parse_value(
                Kind::Scalar(ScalarKind::Timestamptz),
                "4714-11-24 00:00:00+00 BC"
            ),
            Value::Timestamptz(-2_440_588 * day)
        );
        assert_eq!(
            parse_value(
                Kind::Array(ScalarKind::Date),
                r#"{"0044-03-15 BC",2026-11-24,NULL}"#
            ),
            Value::Array(vec![
                Datum::Date(ides_i32),
                Datum::Date(20_781),
                Datum::Null
            ])
        );
        assert_eq!(
            parse_value(
                Kind::Array(ScalarKind::Timestamptz),
                r#"{"0044-03-15 12:30:00+00 BC","4714-11-24 00:00:00+00 BC"}"#
            ),
            Value::Array(vec![
                Datum::Timestamptz(ides * day + 45_000_000_000),
                Datum::Timestamptz(-2_440_588 * day)
            ])
        );
    }

    /// Property tests over the same surface as the `value_text` fuzz target in `fuzz/`.
    mod props {
        use super::*;
        use proptest::prelude::*;

        fn check_every_kind(text: &str) {
            for &scalar in ScalarKind::ALL {
                for kind in [Kind::Scalar(scalar), Kind::Array(scalar)] {
                    match parse_value(kind, text) {
                        Value::Other(kept) => assert_eq!(kept, text, "{kind:?}"),
                        Value::Array(items) => {
                            assert!(matches!(kind, Kind::Array(_)), "{kind:?}");
                            assert_eq!(Some(items.len()), parse_array(text).map(|a| a.len()));
                        }
                        _ => assert!(matches!(kind, Kind::Scalar(_)), "{kind:?}"),
                    }
                }
            }
        }

        /// How `array_out` writes an element: quoted when empty, `NULL`-like, or containing
        /// whitespace or `{}",\`; `"` and `\` escaped inside quotes.
        fn array_literal(items: &[Option<String>]) -> String {
            let elements: Vec<String> = items
                .iter()
                .map(|item| match item {
                    None => "NULL".to_string(),
                    Some(s)
                        if s.is_empty()
                            || s.eq_ignore_ascii_case("NULL")
                            || s.chars().any(|c| {
                                matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace()
                            }) =>
                    {
                        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
                    }
                    Some(s) => s.clone(),
                })
                .collect();
            format!("{{{}}}", elements.join(","))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn arbitrary_text_never_panics(text in any::<String>()) {
                check_every_kind(&text);
            }

            /// Text made of the characters these parsers branch on, so that most cases get
            /// past the first check.
            #[test]
            fn value_like_text_never_panics(text in r#"[-+0-9:. {}",\\NULLtfxTZBCa-f]{0,40}"#) {
                check_every_kind(&text);
            }

            #[test]
            fn numbers_and_bytes_round_trip(i in any::<i64>(), f in any::<f64>(), b in any::<Vec<u8>>()) {
                prop_assert_eq!(parse_value(Kind::Scalar(ScalarKind::Int), &i.to_string()), Value::Int(i));
                let v = parse_value(Kind::Scalar(ScalarKind::Float), &f.to_string());
                prop_assert!(
                    matches!(v, Value::Float(g) if g == f || (g.is_nan() && f.is_nan())),
                    "{f} gave {v:?}"
                );
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                prop_assert_eq!(parse_value(Kind::Scalar(ScalarKind::Bytea), &format!("\\x{hex}")), Value::Bytes(b));
            }

            #[test]
            fn arrays_round_trip(items in prop::collection::vec(prop::option::of(any::<String>()), 0..6)) {
                let literal = array_literal(&items);
                prop_assert_eq!(parse_array(&literal), Some(items.clone()), "{}", literal);
                let expected: Vec<Datum> = items
                    .into_iter()
                    .map(|i| i.map_or(Datum::Null, Datum::Text))
                    .collect();
                prop_assert_eq!(parse_value(Kind::Array(ScalarKind::Text), &literal), Value::Array(expected));
            }
        }
    }
}

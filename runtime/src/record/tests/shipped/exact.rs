//! `exact-values.jsonl`: values that only survive when they are never converted, in the text
//! PostgreSQL 15 sends for them (checked with `psql`): `json` with duplicate keys and a number
//! beyond an f64, `jsonb` numbers with more digits than an f64 holds, JSON's `null` next to SQL
//! NULL, and finite BC dates and timestamps.

use std::path::Path;

use super::*;
use Value as V;

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// 0044-03-15 BC (astronomical year -43) and 4714-11-24 BC (-4713), days since 1970-01-01.
const IDES: i64 = -735_160;
const JULIAN_DAY_0: i64 = -2_440_588;

/// Writes `exact-values.jsonl`.
pub fn exact_values(dir: &Path) {
    let docs = rel(
        16_430,
        "public",
        "exact",
        &[
            ("id", "integer", 23, true),
            ("j", "json", 114, false),
            ("jb", "jsonb", 3802, false),
            ("jbs", "jsonb[]", 3807, false),
        ],
    );
    let days = rel(
        16_431,
        "public",
        "bc",
        &[
            ("id", "integer", 23, true),
            ("d", "date", 1082, false),
            ("ts", "timestamp without time zone", 1114, false),
            ("tstz", "timestamp with time zone", 1184, false),
            ("ds", "date[]", 1182, false),
        ],
    );
    let tiny = format!("0.{}1", "0".repeat(399)); // 1e-400::jsonb
    let huge = format!("{{\"e\": 1{}}}", "0".repeat(400)); // '{"e":1e400}'::jsonb
    let mut a = Tx::new(770, 0x3_0000_0000, T0 + 30);
    let mut changes = vec![
        a.ins(
            0,
            vec![
                V::Int(1),
                j(r#"{"a":1,"a":2}"#),
                j("123456789012345678901234567890"),
                V::Null,
            ],
        ),
        a.ins(
            0,
            vec![
                V::Int(2),
                j(r#"{"e":1e400}"#),
                j("-12345678901234567890"),
                V::Null,
            ],
        ),
        a.ins(
            0,
            vec![
                V::Int(3),
                j("[1e-400, 0.1000000000000000000001]"),
                j("0.1000000000000000000001"),
                V::Null,
            ],
        ),
        a.ins(0, vec![V::Int(4), j("1e-400"), j(&tiny), V::Null]),
        a.ins(0, vec![V::Int(5), V::Null, j(&huge), V::Null]),
        a.ins(
            0,
            vec![
                V::Int(6),
                j(r#"{"b": "\u00e9", "c" : [ 1 , 2.50 ]}"#),
                j(r#"[1, null, {"x": 2.50}]"#),
                V::Array(vec![Datum::Json("null".into()), Datum::Null]),
            ],
        ),
        // SQL NULL and JSON's null, in the new row and in a full old row.
        a.ins(0, vec![V::Int(7), V::Null, j("null"), V::Null]),
        a.change(
            Operation::Update,
            0,
            Some(vec![V::Int(7), j("null"), V::Null, V::Null]),
            Some((false, vec![V::Int(7), V::Null, j("null"), V::Null])),
        ),
        a.ins(0, vec![V::Int(8), j(r#""null""#), j(" null "), V::Null]),
    ];
    let ides_at = IDES * MICROS_PER_DAY + 45_000_500_000; // 12:30:00.5
    changes.push(a.ins(
        1,
        vec![
            V::Int(1),
            V::Date(IDES as i32),
            V::Timestamp(ides_at),
            V::Timestamptz(JULIAN_DAY_0 * MICROS_PER_DAY),
            V::Array(vec![
                Datum::Date(IDES as i32),
                Datum::Date(JULIAN_DAY_0 as i32),
                Datum::Null,
            ]),
        ],
    ));
    let file = File {
        batches: vec![(
            Some(
                "json and jsonb exactly as PostgreSQL sends them; JSON null vs SQL NULL; BC dates",
            ),
            Batch {
                relations: vec![docs, days],
                changes,
            },
        )],
    };
    std::fs::write(dir.join("exact-values.jsonl"), file.text()).unwrap();
}

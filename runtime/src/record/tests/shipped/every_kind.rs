//! `every-kind.jsonl`: every value kind, its typical and edge values.

use std::path::Path;

use super::*;
use Value as V;

/// Writes `every-kind.jsonl`.
pub fn every_kind(dir: &Path) {
    let kinds = rel(
        16_401,
        "public",
        "kinds",
        &[
            ("id", "bigint", 20, true),
            ("i2", "smallint", 21, false),
            ("f8", "double precision", 701, false),
            ("f4", "real", 700, false),
            ("ok", "boolean", 16, false),
            ("amount", "numeric(30,10)", 1700, false),
            ("name", "text", 25, false),
            ("code", "character(3)", 1042, false),
            ("raw", "bytea", 17, false),
            ("doc", "jsonb", 3802, false),
            ("at", "timestamp with time zone", 1184, false),
            ("local", "timestamp without time zone", 1114, false),
            ("day", "date", 1082, false),
            ("clock", "time without time zone", 1083, false),
            ("uid", "uuid", 2950, false),
            ("span", "interval", 1186, false),
            ("tags", "text[]", 1009, false),
        ],
    );
    let mut tx = Tx::new(740, 0x16_B374_D848, T0);
    let typical = vec![
        V::Int(1),
        V::Int(-32768),
        f(3.25),
        f(0.1),
        V::Boolean(true),
        V::Numeric("12345.6700000000".into()),
        t("plain text"),
        t("ab "),
        V::Bytes(b"\x00\x01binary\xff".to_vec()),
        j(r#"{"gift": true, "items": [1, 2.50, "x"], "n": null}"#),
        V::Timestamptz(T0),
        V::Timestamp(T0),
        V::Date(20_781),
        V::Time(36_930_123_456),
        V::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
        V::Other("1 day 02:00:00".into()),
        V::Array(vec![
            Datum::Text("a".into()),
            Datum::Null,
            Datum::Text("c".into()),
        ]),
    ];
    let nulls = {
        let mut v = vec![V::Int(2)];
        v.extend(std::iter::repeat_n(V::Null, 16));
        v
    };
    let edges = vec![
        V::Int(i64::MIN),
        V::Int(i64::MAX),
        f(f64::NAN),
        f(f64::INFINITY),
        V::Boolean(false),
        V::Numeric("-0.0000000001".into()),
        t(""),
        t("   "),
        V::Bytes(vec![]),
        j("null"),
        V::Timestamptz(i64::MIN),
        V::Timestamp(i64::MAX),
        V::Date(i32::MIN),
        V::Time(86_400_000_000),
        V::Uuid("00000000-0000-0000-0000-000000000000".into()),
        V::Other("infinity".into()),
        V::Array(vec![]),
    ];
    let mut b0 = vec![tx.ins(0, typical), tx.ins(0, nulls), tx.ins(0, edges)];
    // numerics keep every digit
    let num = rel(
        16_402,
        "public",
        "numerics",
        &[("id", "integer", 23, true), ("n", "numeric", 1700, false)],
    );
    let mut tx1 = Tx::new(741, 0x16_B374_E000, T0 + 1);
    let mut b1 = Vec::new();
    for (i, n) in [
        "0",
        "-0",
        "1.10",
        "12345678901234567890.123456789012345678901234567890",
        "-9999999999999999999999999999.99",
        "NaN",
        "Infinity",
        "-Infinity",
        "1E+3",
        "0.000000000000000000000000000001",
    ]
    .iter()
    .enumerate()
    {
        b1.push(tx1.ins(0, vec![V::Int(i as i64), V::Numeric((*n).into())]));
    }
    // floats: formatting of the shortest round-trip form, and the non-finite strings
    let flt = rel(
        16_403,
        "public",
        "floats",
        &[
            ("id", "integer", 23, true),
            ("x", "double precision", 701, false),
        ],
    );
    let mut tx2 = Tx::new(742, 0x16_B374_F000, T0 + 2);
    let mut b2 = Vec::new();
    let floats = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        1.5,
        -0.25,
        0.1,
        0.2,
        0.30000000000000004,
        1.0 / 3.0,
        2.0 / 3.0,
        100.0,
        123456789.0,
        1e15,
        1e16,
        1.5e16,
        123456789012345.6,
        1234567890123456.8,
        9007199254740992.0,
        9007199254740994.0,
        1e21,
        1e22,
        1e23,
        1e100,
        1e300,
        1.7976931348623157e308,
        1e-4,
        1e-5,
        1.5e-5,
        1e-6,
        1e-7,
        2.5e-5,
        0.000123456,
        1.23e-20,
        2.2250738585072014e-308,
        2.225073858507201e-308,
        5e-324,
        -5e-324,
        std::f64::consts::PI,
        std::f64::consts::E,
        6.02214076e23,
        6.62607015e-34,
        299792458.0,
        0.5,
        0.05,
        0.005,
        0.0005,
        5e-5,
        5e-6,
        999999999999999.9,
        9999999999999998.0,
        0.999999999999999,
        1.0000000000000002,
        4.35,
        0.07,
        1.1,
        33.33,
        1e-300,
        1.7e308,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f32::MAX as f64,
        f32::MIN_POSITIVE as f64,
        0.1f32 as f64,
        16777217.0,
        4503599627370496.5,
    ];
    for (i, x) in floats.iter().enumerate() {
        b2.push(tx2.ins(0, vec![V::Int(i as i64), f(*x)]));
    }
    // json and jsonb: the document itself, or the text when it is not JSON serde_json accepts
    let js = rel(
        16_404,
        "public",
        "docs",
        &[("id", "integer", 23, true), ("doc", "json", 114, false)],
    );
    let mut tx3 = Tx::new(743, 0x16_B375_0000, T0 + 3);
    let mut b3 = Vec::new();
    let deep_ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
    let deep_bad = format!("{}{}", "[".repeat(128), "]".repeat(128));
    let docs: Vec<String> = [
        r#"{"b": 1, "a": [true, false, null, "x"]}"#,
        "3",
        "-7",
        r#""s""#,
        "null",
        "true",
        "[]",
        "{}",
        r#"{"b":1,"a":2,"b":3}"#,
        r#"{"nested": {"deeper": {"deepest": [[1], [2, [3]]]}}}"#,
        "  {\"ws\" :\t[ 1 ,\n2 ]\r}  ",
        "1.0",
        "2.50",
        "-0",
        "-0.0",
        "1e2",
        "1E+2",
        "123.456e-2",
        "0.1e1",
        "12345678901234567890",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "123456789012345678901234567890",
        "3.14159265358979323846264338327950288",
        "1.7976931348623157e308",
        "4.9e-324",
        "1e-400",
        "-1e-400",
        "100000000000000000000000",
        "0.1234567890123456789",
        "-9007199254740993.0",
        "17976931348623157e292",
        "0e999999999999",
        "1e-99999999999",
        r#""\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\""#,
        r#"{"k\u0000":"\u001f\u007f\u2028"}"#,
        r#"{"ünï":"😀","":""}"#,
        &deep_ok,
        // not accepted: the text as a string
        "{oops",
        "1e999",
        "-1e999",
        "1797693134862315799999e287",
        r#""\ud800""#,
        r#""\udc00""#,
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        ".5",
        "+1",
        "NaN",
        "Infinity",
        "\"a\tb\"",
        "1 2",
        "",
        "\u{c}1",
        "nul",
        r#""\x""#,
        &deep_bad,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (i, d) in docs.iter().enumerate() {
        b3.push(tx3.ins(0, vec![V::Int(i as i64), j(d)]));
    }
    // dates and times, across the calendar and the i64 range
    let dt = rel(
        16_405,
        "public",
        "times",
        &[
            ("id", "integer", 23, true),
            ("tz", "timestamp with time zone", 1184, false),
            ("ts", "timestamp without time zone", 1114, false),
            ("d", "date", 1082, false),
            ("t", "time without time zone", 1083, false),
        ],
    );
    let mut tx4 = Tx::new(744, 0x16_B375_1000, 0);
    let mut b4 = Vec::new();
    let instants: [i64; 12] = [
        0,
        -1,
        1,
        T0,
        951_782_400_000_000,
        -62_135_596_800_000_000,
        -62_167_219_200_000_001,
        253_402_300_799_999_999,
        253_402_300_800_000_000,
        -86_400_000_000 + 3_723_000_004,
        i64::MIN,
        i64::MAX,
    ];
    let days: [i32; 12] = [
        0,
        -1,
        20_781,
        11_016,
        19_782,
        -25_509,
        -25_508,
        -719_162,
        -719_163,
        -719_163 - 366,
        2_932_896,
        2_932_897,
    ];
    let times: [i64; 12] = [
        0,
        1,
        5,
        36_930_123_456,
        86_399_999_999,
        86_400_000_000,
        999_999,
        60_000_000,
        3_600_000_000,
        43_200_000_001,
        -1,
        90_000_000_000,
    ];
    for i in 0..12 {
        b4.push(tx4.ins(
            0,
            vec![
                V::Int(i as i64),
                V::Timestamptz(instants[i]),
                V::Timestamp(instants[11 - i]),
                V::Date(days[i]),
                V::Time(times[i]),
            ],
        ));
    }
    b4.push(tx4.ins(
        0,
        vec![
            V::Int(12),
            V::Null,
            V::Null,
            V::Date(i32::MAX),
            V::Time(i64::MAX),
        ],
    ));
    b4.push(tx4.ins(
        0,
        vec![
            V::Int(13),
            V::Other("infinity".into()),
            V::Other("-infinity".into()),
            V::Other("infinity".into()),
            V::Null,
        ],
    ));
    // bytea: every padding case of base64, every byte value
    let by = rel(
        16_406,
        "public",
        "blobs",
        &[("id", "integer", 23, true), ("b", "bytea", 17, false)],
    );
    let mut tx5 = Tx::new(745, 0x16_B375_2000, T0 + 5);
    let mut b5 = Vec::new();
    for n in 0..7usize {
        b5.push(tx5.ins(
            0,
            vec![
                V::Int(n as i64),
                V::Bytes((0..n as u8).map(|x| 0xfb + x % 5).collect()),
            ],
        ));
    }
    b5.push(tx5.ins(0, vec![V::Int(7), V::Bytes((0..=255).collect())]));
    // arrays: NULL elements, every element kind
    let ar = rel(
        16_407,
        "public",
        "arrays",
        &[("id", "integer", 23, true), ("a", "integer[]", 1007, false)],
    );
    let mut tx6 = Tx::new(746, 0x16_B375_3000, T0 + 6);
    let b6 = vec![
        tx6.ins(
            0,
            vec![
                V::Int(0),
                V::Array(vec![Datum::Int(1), Datum::Null, Datum::Int(-3)]),
            ],
        ),
        tx6.ins(0, vec![V::Int(1), V::Array(vec![Datum::Null])]),
        tx6.ins(0, vec![V::Int(2), V::Array(vec![])]),
        tx6.ins(
            0,
            vec![
                V::Int(3),
                V::Array(vec![
                    Datum::Null,
                    Datum::Int(i64::MIN),
                    Datum::Float(f64::NAN),
                    Datum::Float(-2.5e-7),
                    Datum::Float(f64::NEG_INFINITY),
                    Datum::Boolean(false),
                    Datum::Numeric("1.10".into()),
                    Datum::Text("ü \"q\"".into()),
                    Datum::Bytes(vec![1, 2, 3]),
                    Datum::Json(r#"{"k":[1, 2.0]}"#.into()),
                    Datum::Json("{bad".into()),
                    Datum::Timestamptz(-1),
                    Datum::Timestamp(0),
                    Datum::Date(-1),
                    Datum::Time(1_000_000),
                    Datum::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
                    Datum::Other("(1,2)".into()),
                ]),
            ],
        ),
        tx6.ins(0, vec![V::Int(4), V::Other("{{1,2},{3,4}}".into())]),
        tx6.ins(0, vec![V::Int(5), V::Null]),
    ];
    let every_kind = File {
        batches: vec![
            (Some("one row of every value kind, one of NULLs, one of edge values"), Batch { relations: vec![kinds], changes: std::mem::take(&mut b0) }),
            (Some("numeric keeps its exact digits"), Batch { relations: vec![num], changes: b1 }),
            (Some("double precision: shortest round-trip form; NaN and the infinities as strings"), Batch { relations: vec![flt], changes: b2 }),
            (Some("json/jsonb: the document as serde_json reads it, or its text when serde_json does not accept it"), Batch { relations: vec![js], changes: b3 }),
            (Some("dates and times across the calendar and the range of i64"), Batch { relations: vec![dt], changes: b4 }),
            (Some("bytea as padded standard base64"), Batch { relations: vec![by], changes: b5 }),
            (Some("one-dimensional arrays with NULL elements and every element kind"), Batch { relations: vec![ar], changes: b6 }),
        ],
    };
    std::fs::write(dir.join("every-kind.jsonl"), every_kind.text()).unwrap();
}

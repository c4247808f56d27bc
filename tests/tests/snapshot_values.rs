//! The initial snapshot gives every value exactly as the stream does: the end-to-end type list,
//! TOASTed values, a table without a primary key and a partitioned table, each read in the
//! slot's snapshot and compared with the same row inserted afterwards and streamed.

use conduit_e2e::*;

/// The columns of the end-to-end type list (tests/changes.rs), without `id`.
const VALUES: &str = r#"32767, -2147483648, 9007199254740993, 4294967295,
            1.5, 1234.5678901234567, -0.25,
            'NaN', 'Infinity', '-Infinity',
            '12345.678900', 'NaN', '-0.000000000000000000001234567890123456789',
            true, false,
            E'h\u00e9llo "w\u00f6rld"\nsecond line\ttab \u2713', 'abc', 'ab', 'a_name',
            '{"a": [1, 2, {"b": null}]}', '{"k": "v", "n": 1.5, "arr": [true, null]}',
            '"just a string"',
            '2026-11-24 05:15:30.123456', '2026-11-24 10:15:30.123456', '2026-11-24',
            '10:15:30.123456',
            'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '\xdeadbeef00ff',
            '{1,2,3}', ARRAY['a', NULL, 'c "q"', ''], '{1.50,-2}',
            '1 day 02:03:04', '192.168.0.1/24', '{{1,2},{3,4}}', 'infinity',
            NULL"#;

#[tokio::test]
async fn snapshot_values_are_the_streams_values() {
    let f = Fixture::new().await;
    f.exec(
        "CREATE TABLE all_types (
            id int PRIMARY KEY,
            c_smallint smallint, c_int integer, c_bigint bigint, c_oid oid,
            c_real real, c_double double precision, c_double_neg double precision,
            c_nan double precision, c_inf double precision, c_ninf real,
            c_numeric numeric, c_numeric_nan numeric, c_numeric_tiny numeric,
            c_bool_t boolean, c_bool_f boolean,
            c_text text, c_varchar varchar(10), c_char char(5), c_name name,
            c_json json, c_jsonb jsonb, c_jsonb_str jsonb,
            c_tstz timestamptz, c_ts timestamp, c_date date, c_time time,
            c_uuid uuid, c_bytea bytea,
            c_int_arr int[], c_text_arr text[], c_num_arr numeric[],
            c_interval interval, c_inet inet, c_int_arr2 int[], c_tstz_inf timestamptz,
            c_null text
        )",
    )
    .await;
    f.exec(&format!("INSERT INTO all_types VALUES (1, {VALUES})"))
        .await;
    f.exec("INSERT INTO all_types (id) VALUES (2)").await;
    // TOASTed (out of line, incompressible) and a table without a key, and a partitioned one.
    f.exec(
        "CREATE TABLE docs (id int PRIMARY KEY, body text);
         INSERT INTO docs SELECT 1, string_agg(md5(g::text), '') FROM generate_series(1, 5000) g;
         CREATE TABLE nopk (a int, b text);
         ALTER TABLE nopk REPLICA IDENTITY FULL;
         INSERT INTO nopk VALUES (1, 'x'), (1, 'x'), (2, NULL);
         CREATE TABLE parts (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
         CREATE TABLE parts_low PARTITION OF parts FOR VALUES FROM (0) TO (100);
         CREATE TABLE parts_high PARTITION OF parts FOR VALUES FROM (100) TO (1000);
         INSERT INTO parts SELECT g, 'p' || g FROM generate_series(1, 200) g;",
    )
    .await;
    let mut r = f.start(f.run_config().snapshot(None)).await;
    f.exec(&format!("INSERT INTO all_types VALUES (101, {VALUES})"))
        .await;
    f.exec(
        "INSERT INTO docs SELECT 101, body FROM docs WHERE id = 1;
         INSERT INTO nopk VALUES (3, 'y');",
    )
    .await;
    let lines = r
        .wait_until("the reads and the 3 inserts", line_deadline(), |l| {
            l.iter().filter(|l| op(l) == "insert").count() >= 3
        })
        .await
        .to_vec();
    r.terminate_ok().await;
    let find = |table_name: &str, id: i64, operation: &str| {
        lines
            .iter()
            .find(|l| table(l) == table_name && row_id(l) == Some(id) && op(l) == operation)
            .unwrap_or_else(|| panic!("no {operation} of {table_name} {id}"))
    };
    let without_id = |l: &Value| {
        let mut row = new_row(l).clone();
        row.remove("id");
        row
    };
    let read = without_id(find("all_types", 1, "read"));
    let streamed = without_id(find("all_types", 101, "insert"));
    let differ: Vec<String> = read
        .iter()
        .filter(|(k, v)| streamed.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}: read {v}, streamed {:?}", streamed.get(k)))
        .collect();
    assert!(differ.is_empty(), "{differ:#?}");
    assert_eq!(read.len(), streamed.len());
    assert!(
        new_row(find("all_types", 2, "read"))
            .iter()
            .all(|(k, v)| k == "id" || v.is_null()),
        "NULLs are NULLs"
    );
    let body = f.query_value("SELECT body FROM docs WHERE id = 1").await;
    assert_eq!(body.len(), 160_000);
    assert_eq!(
        new_row(find("docs", 1, "read"))["body"],
        json!(body),
        "the whole TOASTed value"
    );
    assert_eq!(
        without_id(find("docs", 1, "read")),
        without_id(find("docs", 101, "insert"))
    );
    let nopk: Vec<String> = lines
        .iter()
        .filter(|l| table(l) == "nopk" && op(l) == "read")
        .map(|l| Value::Object(new_row(l).clone()).to_string())
        .collect();
    assert_eq!(
        nopk.len(),
        3,
        "a table without a key, duplicate rows included: {nopk:?}"
    );
    let mut part_ids: Vec<i64> = lines
        .iter()
        .filter(|l| table(l).starts_with("parts") && op(l) == "read")
        .filter_map(row_id)
        .collect();
    part_ids.sort_unstable();
    assert_eq!(
        part_ids,
        (1..=200).collect::<Vec<_>>(),
        "each row of a partitioned table once"
    );
}

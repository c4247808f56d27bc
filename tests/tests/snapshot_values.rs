//! The initial snapshot gives every value exactly as the stream does: the end-to-end type list
//! (`conduit_e2e::types`),
//! TOASTed values, a table without a primary key and a partitioned table, each read in the
//! slot's snapshot and compared with the same row inserted afterwards and streamed.

use conduit_e2e::*;

#[tokio::test]
async fn snapshot_values_are_the_streams_values() {
    let f = Fixture::new().await;
    f.exec(ALL_TYPES_DDL).await;
    f.exec(&format!(
        "INSERT INTO all_types VALUES (1, {ALL_TYPES_VALUES})"
    ))
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
    f.exec(&format!(
        "INSERT INTO all_types VALUES (101, {ALL_TYPES_VALUES})"
    ))
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

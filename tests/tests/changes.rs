//! What the `stdout-json` sink prints for each kind of change, against a real PostgreSQL.
// The type list's `json!` literal has more columns than the default limit lets the macro expand.
#![recursion_limit = "256"]

use conduit_e2e::*;

/// Non-key columns of a key-only old image must be absent or null: PostgreSQL did not send them.
fn assert_key_only(old: &serde_json::Map<String, Value>, key: &str, key_value: Value) {
    assert_eq!(old.get(key), Some(&key_value), "old key: {old:?}");
    for (col, v) in old {
        if col != key {
            assert!(
                v.is_null(),
                "old non-key column {col} should not be sent: {old:?}"
            );
        }
    }
}

/// The commit time PostgreSQL recorded for `xid`, formatted like the sink's `commit_time`.
async fn commit_time_of(f: &Fixture, xid: u32) -> String {
    f.query_value(&format!(
        "SELECT to_char(pg_xact_commit_timestamp('{xid}'::xid) AT TIME ZONE 'UTC', \
         'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    ))
    .await
}

#[tokio::test]
async fn insert_update_delete() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE items (id int PRIMARY KEY, name text, qty int)")
        .await;
    let mut c = f.start_conduit().await;

    let mut txns = Vec::new(); // (xid, lsn before, lsn after)
    for stmt in [
        "INSERT INTO items VALUES (1, 'apple', 3)",
        "UPDATE items SET qty = 5 WHERE id = 1",
        "UPDATE items SET id = 2 WHERE id = 1",
        "DELETE FROM items WHERE id = 2",
    ] {
        let before = current_lsn(&f.client).await;
        let xid = commit_returning_xid(&f.client, stmt).await;
        let after = current_lsn(&f.client).await;
        txns.push((xid, before, after));
    }
    let lines = c.wait_for_lines(4, line_deadline()).await.to_vec();
    assert_eq!(lines.len(), 4, "exactly one line per change: {lines:#?}");
    for l in &lines {
        assert_well_formed(l);
        assert_eq!(l["schema"], "public");
        assert_eq!(table(l), "items");
        assert_eq!(seq(l), 0, "one change per transaction: {}", short(l));
        assert_eq!(unchanged_toast(l), Vec::<String>::new());
    }

    // insert
    let ins = &lines[0];
    assert_eq!(op(ins), "insert");
    assert_eq!(ins["new"], json!({"id": 1, "name": "apple", "qty": 3}));
    assert!(ins["old"].is_null(), "{}", short(ins));
    // update of a non-key column: full new row, no old image (replica identity default)
    let upd = &lines[1];
    assert_eq!(op(upd), "update");
    assert_eq!(upd["new"], json!({"id": 1, "name": "apple", "qty": 5}));
    assert!(
        upd["old"].is_null(),
        "key unchanged, no old image: {}",
        short(upd)
    );
    // update of the key: old has the old key only
    let rekey = &lines[2];
    assert_eq!(op(rekey), "update");
    assert_eq!(rekey["new"], json!({"id": 2, "name": "apple", "qty": 5}));
    assert_key_only(old_row(rekey), "id", json!(1));
    // delete: old key only, no new
    let del = &lines[3];
    assert_eq!(op(del), "delete");
    assert!(del["new"].is_null(), "{}", short(del));
    assert_key_only(old_row(del), "id", json!(2));

    // Positions: each transaction's commit lies between the WAL positions around it, and they
    // increase from one transaction to the next.
    let mut prev_end = Lsn(0);
    for (l, (xid_expected, before, after)) in lines.iter().zip(&txns) {
        let (commit, end) = (lsn(l, "commit_lsn"), lsn(l, "end_lsn"));
        assert_eq!(xid(l), *xid_expected as u64, "xid of {}", short(l));
        assert!(*before < commit, "commit_lsn {commit} not after {before}");
        assert!(end <= *after, "end_lsn {end} beyond WAL position {after}");
        assert!(
            commit >= prev_end,
            "commit_lsn {commit} before previous end {prev_end}"
        );
        prev_end = end;
        assert_eq!(
            l["commit_time"],
            json!(commit_time_of(&f, *xid_expected).await),
            "commit_time is the transaction's commit timestamp in UTC"
        );
    }
    let xids: Vec<u64> = lines.iter().map(xid).collect();
    assert!(
        xids.windows(2).all(|w| w[0] < w[1]),
        "xids increase: {xids:?}"
    );
    assert!(
        c.non_json.is_empty(),
        "stdout has only JSON: {:?}",
        c.non_json
    );
    c.terminate_ok().await;
}

#[tokio::test]
async fn truncate_gives_one_line_per_table() {
    let f = Fixture::new().await;
    f.exec(
        "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);
         INSERT INTO a VALUES (1); INSERT INTO b VALUES (1);",
    )
    .await;
    let mut c = f.start_conduit().await;
    let xid_ab = commit_returning_xid(&f.client, "TRUNCATE a, b").await;
    let xid_a = commit_returning_xid(&f.client, "INSERT INTO a VALUES (2); TRUNCATE a").await;
    let lines = c.wait_for_lines(4, line_deadline()).await.to_vec();
    for l in &lines {
        assert_well_formed(l);
    }
    let (first, second) = lines.split_at(2);
    let mut tables: Vec<&str> = first.iter().map(table).collect();
    tables.sort();
    assert_eq!(tables, ["a", "b"]);
    for (i, l) in first.iter().enumerate() {
        assert_eq!(op(l), "truncate", "{}", short(l));
        assert!(l["new"].is_null() && l["old"].is_null(), "{}", short(l));
        assert_eq!(xid(l), xid_ab as u64);
        assert_eq!(seq(l), i as u64);
        assert_eq!(l["commit_lsn"], first[0]["commit_lsn"]);
    }
    assert_eq!(op(&second[0]), "insert");
    assert_eq!(second[0]["new"], json!({"id": 2}));
    assert_eq!(op(&second[1]), "truncate");
    assert_eq!(table(&second[1]), "a");
    assert_eq!(
        second.iter().map(seq).collect::<Vec<_>>(),
        [0, 1],
        "seq within the second transaction"
    );
    assert!(second.iter().all(|l| xid(l) == xid_a as u64));
    assert!(lsn(&second[0], "commit_lsn") > lsn(&first[0], "commit_lsn"));
    c.terminate_ok().await;
}

#[tokio::test]
async fn every_type_maps_to_the_documented_json() {
    // The server itself runs in a non-UTC zone, and the writing session in another one: the
    // timestamptz must still come out as the same instant in UTC.
    let f = Fixture::with_options(
        ScratchOptions::default()
            .fsync_off()
            .conf("timezone", "Asia/Kolkata"),
    )
    .await;
    f.exec(ALL_TYPES_DDL).await;
    let mut c = f.start_conduit().await;
    f.exec(&format!(
        "SET TimeZone = 'America/New_York';
             INSERT INTO all_types VALUES (1, {ALL_TYPES_VALUES});
             INSERT INTO all_types (id) VALUES (2);"
    ))
    .await;
    let lines = c.wait_for_lines(2, line_deadline()).await.to_vec();
    for l in &lines {
        assert_well_formed(l);
        assert_eq!(op(l), "insert");
    }
    let expected = json!({
        "id": 1,
        "c_smallint": 32767,
        "c_int": -2147483648i64,
        "c_bigint": 9007199254740993i64,
        "c_oid": 4294967295u64,
        "c_real": 1.5,
        "c_double": 1234.5678901234567,
        "c_double_neg": -0.25,
        "c_nan": "NaN",
        "c_inf": "Infinity",
        "c_ninf": "-Infinity",
        "c_numeric": "12345.678900",
        "c_numeric_nan": "NaN",
        "c_numeric_tiny": "-0.000000000000000000001234567890123456789",
        "c_bool_t": true,
        "c_bool_f": false,
        "c_text": "h\u{e9}llo \"w\u{f6}rld\"\nsecond line\ttab \u{2713}",
        "c_varchar": "abc",
        "c_char": "ab   ",
        "c_name": "a_name",
        "c_json": {"a": [1, 2, {"b": null}]},
        "c_jsonb": {"k": "v", "n": 1.5, "arr": [true, null]},
        "c_jsonb_str": "just a string",
        "c_tstz": "2026-11-24T10:15:30.123456Z",
        "c_ts": "2026-11-24T10:15:30.123456",
        "c_date": "2026-11-24",
        "c_time": "10:15:30.123456",
        "c_uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "c_bytea": "3q2+7wD/",
        "c_int_arr": [1, 2, 3],
        "c_text_arr": ["a", null, "c \"q\"", ""],
        "c_num_arr": ["1.50", "-2"],
        "c_interval": "1 day 02:03:04",
        "c_inet": "192.168.0.1/24",
        // More than one dimension: PostgreSQL's text form (wit: `other`).
        "c_int_arr2": "{{1,2},{3,4}}",
        // Infinite timestamps have no instant: PostgreSQL's text form (wit: `other`).
        "c_tstz_inf": "infinity",
        // BC: astronomical years (1 BC is 0000, 44 BC is -0043), as dates and instants.
        "c_date_bc": "-0043-03-15",
        "c_ts_bc": "-0043-03-15T12:30:00.500000",
        "c_tstz_bc": "-4713-11-24T00:00:00.000000Z",
        "c_date_bc_arr": ["-0043-03-15", "-4713-11-24", null, "2026-11-24"],
        "c_null": null,
    });
    let got = new_row(&lines[0]);
    let want = expected.as_object().unwrap();
    let mut wrong = Vec::new();
    for (col, v) in want {
        match got.get(col) {
            Some(g) if g == v => {}
            Some(g) => wrong.push(format!("{col}: expected {v}, got {g}")),
            None => wrong.push(format!("{col}: expected {v}, missing")),
        }
    }
    for col in got.keys() {
        if !want.contains_key(col) {
            wrong.push(format!("{col}: unexpected column"));
        }
    }
    assert!(
        wrong.is_empty(),
        "type mapping mismatches:\n  {}",
        wrong.join("\n  ")
    );
    // The big integers are JSON numbers, exact (no float rounding, not strings).
    assert!(got["c_bigint"].is_i64() && got["c_oid"].is_u64());

    // Row 2: NULL in every column but the key, whatever the type.
    let nulls = new_row(&lines[1]);
    assert_eq!(nulls.len(), want.len(), "{}", short(&lines[1]));
    for (col, v) in nulls {
        if col == "id" {
            assert_eq!(v, &json!(2));
        } else {
            assert!(v.is_null(), "{col} should be null, got {v}");
        }
    }
    c.terminate_ok().await;
}

#[tokio::test]
async fn unchanged_toast_column_is_absent_and_listed() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE docs (id int PRIMARY KEY, title text, body text)")
        .await;
    let mut c = f.start_conduit().await;
    // ~200 kB of hex digits (md5 of 1..6400): far past the TOAST threshold, stored out of line.
    f.exec(
        "INSERT INTO docs SELECT 1, 'first', string_agg(md5(i::text), '' ORDER BY i)
         FROM generate_series(1, 6400) AS i",
    )
    .await;
    let stored: i64 = f
        .query_value("SELECT pg_column_size(body) FROM docs WHERE id = 1")
        .await
        .parse()
        .unwrap();
    assert!(
        stored > 8192,
        "body is TOASTed out of line ({stored} bytes)"
    );
    f.exec("UPDATE docs SET title = 'second' WHERE id = 1")
        .await;
    f.exec("UPDATE docs SET body = body || 'x' WHERE id = 1")
        .await;
    let lines = c.wait_for_lines(3, line_deadline()).await.to_vec();
    for l in &lines {
        assert_well_formed(l);
    }

    let ins = new_row(&lines[0]);
    let body = ins["body"].as_str().expect("body is text");
    assert_eq!(body.len(), 6400 * 32);
    assert!(
        body.starts_with("c4ca4238a0b923820dcc509a6f75849b"),
        "md5('1') first"
    );
    assert!(unchanged_toast(&lines[0]).is_empty());

    let upd = &lines[1];
    assert_eq!(op(upd), "update");
    assert_eq!(
        upd["new"],
        json!({"id": 1, "title": "second"}),
        "body absent from new"
    );
    assert_eq!(unchanged_toast(upd), ["body"]);

    let upd_body = &lines[2];
    let new = new_row(upd_body);
    assert_eq!(new["title"], "second");
    let body2 = new["body"].as_str().expect("changed body is sent");
    assert_eq!(body2.len(), 6400 * 32 + 1);
    assert!(body2.ends_with('x'));
    assert!(unchanged_toast(upd_body).is_empty());
    c.terminate_ok().await;
}

#[tokio::test]
async fn replica_identity_full_sends_whole_old_rows() {
    let f = Fixture::new().await;
    f.exec(
        "CREATE TABLE people (id int PRIMARY KEY, name text, age int);
         ALTER TABLE people REPLICA IDENTITY FULL;",
    )
    .await;
    let mut c = f.start_conduit().await;
    f.exec("INSERT INTO people VALUES (1, 'ann', 30)").await;
    f.exec("UPDATE people SET age = 31 WHERE id = 1").await;
    f.exec("DELETE FROM people WHERE id = 1").await;
    let lines = c.wait_for_lines(3, line_deadline()).await.to_vec();
    for l in &lines {
        assert_well_formed(l);
    }
    assert_eq!(op(&lines[0]), "insert");
    assert!(lines[0]["old"].is_null());

    assert_eq!(op(&lines[1]), "update");
    assert_eq!(lines[1]["old"], json!({"id": 1, "name": "ann", "age": 30}));
    assert_eq!(lines[1]["new"], json!({"id": 1, "name": "ann", "age": 31}));

    assert_eq!(op(&lines[2]), "delete");
    assert_eq!(lines[2]["old"], json!({"id": 1, "name": "ann", "age": 31}));
    assert!(lines[2]["new"].is_null());
    c.terminate_ok().await;
}

#[tokio::test]
async fn multi_statement_transaction_shares_position() {
    let f = Fixture::new().await;
    f.exec(
        "CREATE TABLE t1 (id int PRIMARY KEY, v text);
         CREATE TABLE t2 (id int PRIMARY KEY, v text);",
    )
    .await;
    let mut c = f.start_conduit().await;
    let big_xid = commit_returning_xid(
        &f.client,
        "INSERT INTO t1 VALUES (1, 'a');
         INSERT INTO t2 VALUES (1, 'b');
         UPDATE t1 SET v = 'a2' WHERE id = 1;
         DELETE FROM t2 WHERE id = 1;
         INSERT INTO t1 VALUES (2, 'c')",
    )
    .await;
    // Rolled back: never delivered.
    f.exec("BEGIN; INSERT INTO t1 VALUES (99, 'rolled back'); ROLLBACK;")
        .await;
    // A subtransaction rolled back inside a committed transaction: only its survivors arrive.
    f.exec(
        "BEGIN;
         INSERT INTO t1 VALUES (4, 'kept');
         SAVEPOINT s; INSERT INTO t1 VALUES (5, 'rolled back'); ROLLBACK TO SAVEPOINT s;
         INSERT INTO t1 VALUES (6, 'kept too');
         COMMIT;",
    )
    .await;
    f.exec("INSERT INTO t1 VALUES (3, 'after')").await;

    let idx = c
        .wait_for_line("the row inserted last (id 3)", line_deadline(), |l| {
            l["new"]["id"] == 3
        })
        .await;
    let lines = c.lines.clone();
    assert_eq!(idx, lines.len() - 1, "nothing after the last insert");
    assert_eq!(lines.len(), 8, "5 + 2 + 1 changes: {lines:#?}");
    for l in &lines {
        assert_well_formed(l);
        let id = &l["new"]["id"];
        assert!(
            id != 99 && id != 5,
            "rolled-back change delivered: {}",
            short(l)
        );
    }

    let big = &lines[..5];
    let shape: Vec<(&str, &str)> = big.iter().map(|l| (op(l), table(l))).collect();
    assert_eq!(
        shape,
        [
            ("insert", "t1"),
            ("insert", "t2"),
            ("update", "t1"),
            ("delete", "t2"),
            ("insert", "t1")
        ]
    );
    assert_eq!(big.iter().map(seq).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    for l in big {
        assert_eq!(xid(l), big_xid as u64);
        for k in ["commit_lsn", "end_lsn", "commit_time"] {
            assert_eq!(l[k], big[0][k], "{k} is the transaction's");
        }
    }
    assert_eq!(big[2]["new"], json!({"id": 1, "v": "a2"}));
    assert_eq!(big[3]["old"]["id"], 1);

    let sub = &lines[5..7];
    assert_eq!(
        sub.iter()
            .map(|l| l["new"]["id"].clone())
            .collect::<Vec<_>>(),
        [json!(4), json!(6)]
    );
    assert_eq!(sub.iter().map(seq).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(sub[0]["commit_lsn"], sub[1]["commit_lsn"]);
    assert_ne!(xid(&sub[0]), big_xid as u64);

    let last = &lines[7];
    assert_eq!(seq(last), 0);
    let commits: Vec<Lsn> = [&big[0], &sub[0], last]
        .iter()
        .map(|l| lsn(l, "commit_lsn"))
        .collect();
    assert!(
        commits.windows(2).all(|w| w[0] < w[1]),
        "commit_lsn increases across transactions: {commits:?}"
    );
    c.terminate_ok().await;
}

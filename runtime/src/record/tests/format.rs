//! Writing and reading batches: exact round trips, readable lines, hand-written shortcuts,
//! errors that name the line.

use super::*;

#[test]
fn every_value_kind_round_trips_exactly() {
    let batches = sample();
    let text = to_text(&batches);
    let back = parse(&text).unwrap();
    assert!(same(&batches, &back), "{text}");
    assert_eq!(to_text(&back), text);
    // One line per change plus one per batch plus the header.
    assert_eq!(text.lines().count(), 1 + 3 + 4);
}

#[test]
fn lines_are_readable() {
    let text = to_text(&sample());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], r#"{"format":"conduit-wasm-events","version":1}"#);
    assert!(lines[1].starts_with(
        r#"{"batch":0,"relations":[{"oid":16384,"schema":"public","name":"ütf \"tbl\"","columns":[{"name":"id","type":"bigint","oid":20,"key":true},"#
    ));
    assert!(lines[2].starts_with(
        r#"{"op":"insert","rel":0,"table":"public.ütf \"tbl\"","xid":4294967295,"commit_lsn":"16/B374D848","end_lsn":"FFFFFFFF/FFFFFFFF","commit_time":"-290308-12-21T19:59:05.224192Z","seq":0,"new":[{"int":-9223372036854775808},null,"unchanged-toast",{"float":"0.1"},{"float":"-0.0"},{"float":"1e300"},{"float":"Infinity"},{"float":"-Infinity"},{"float":"5e-324"},{"boolean":false},{"numeric":"-0.000100"},{"text":"ünï \"q\" \\ \n\t\u0001 😀"},{"bytes":"00ff10"},{"json":"{\"a\": [1, 2.50, null]}"},"#
    ), "{}", lines[2]);
    assert!(lines[3].contains(
        r#""new":[{"int":2},"unchanged-toast"],"old":{"key_only":true,"values":[{"int":1},null]}}"#
    ));
    assert!(lines[5].starts_with(r#"{"op":"truncate","rel":1,"table":"s.k""#));
    assert!(!lines[5].contains("\"new\"") && !lines[5].contains("\"old\""));
    assert_eq!(lines[7], r#"{"batch":2,"relations":[]}"#);
}

#[test]
fn hand_written_shortcuts_are_accepted() {
    let text = r#"
{"batch":7,"note":"no header, integers for instants","relations":[{"oid":1,"schema":"a","name":"b","columns":[{"name":"x","type":"float8","oid":701,"key":false}]}]}
{"op":"insert","rel":0,"xid":1,"commit_lsn":1,"end_lsn":"0/2","commit_time":5,"seq":0,"new":[{"float":1.5}]}
{"op":"insert","rel":0,"xid":1,"commit_lsn":1,"end_lsn":2,"commit_time":"1970-01-01T00:00:00Z","seq":1,"new":null,"old":null}

"#;
    let b = parse(text).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].changes[0].new, Some(vec![Value::Float(1.5)]));
    assert_eq!(b[0].changes[0].commit_time, 5);
    assert_eq!(b[0].changes[0].end_lsn, 2);
    assert_eq!(b[0].changes[1].new, None);
}

#[test]
fn errors_name_the_line() {
    let rel = r#"{"batch":0,"relations":[{"oid":1,"schema":"a","name":"b","columns":[{"name":"x","type":"int","oid":23,"key":true}]}]}"#;
    let change = |rest: &str| {
        format!(
            r#"{{"op":"insert","rel":0,"xid":1,"commit_lsn":"0/1","end_lsn":"0/2","commit_time":"1970-01-01T00:00:00.000000Z","seq":0{rest}}}"#
        )
    };
    let cases: Vec<(String, &str)> = vec![
        (format!("{rel}\n{}\n{{oops\n", change("")), "events.jsonl line 3: not a JSON object"),
        (change(""), "events.jsonl line 1: a change before the first batch line"),
        (format!("{rel}\n{}", change(r#","new":[1]"#)), "line 2: new.x: 1 is not a value"),
        (format!("{rel}\n{}", change(r#","new":[]"#)), "line 2: \"new\" has 0 value(s) but a.b has 1 column(s)"),
        (format!("{rel}\n{}", change(r#","new":[{"int":"1"}]"#)), "line 2: new.x: \"int\" must be an integer"),
        (format!("{rel}\n{}", change(r#","new":[{"integer":1}]"#)), "line 2: new.x: unknown value kind \"integer\""),
        (format!("{rel}\n{}", change(r#","new":[{"array":[{"array":[]}]}]"#)), "line 2: new.x: element 0: arrays do not nest"),
        (format!("{rel}\n{}", change(r#","neww":[]"#)), "line 2: unknown key \"neww\" in a change line"),
        (format!("{rel}\n{}", change(r#","table":"a.c""#)), "line 2: \"table\" is \"a.c\" but relation 0 is \"a.b\""),
        (format!("{rel}\n\n{}", change("").replace("\"rel\":0", "\"rel\":1")), "line 3: \"rel\" 1 but this batch has 1 relation(s)"),
        (format!("{rel}\n{}", change("").replace("0/1", "0/G")), "line 2: \"commit_lsn\" \"0/G\" is not an LSN"),
        (format!("{rel}\n{}", change("").replace(".000000Z", "")), "line 2: commit_time: "),
        (format!("{rel}\n{}", change(r#","new":[{"date":"2026-02-30"}]"#)), "line 2: new.x: \"2026-02-30\" is not a day of the calendar"),
        (format!("{rel}\n{}", change(r#","new":[{"float":"1,5"}]"#)), "line 2: new.x: \"float\" \"1,5\" is not a number"),
        (format!("{rel}\n{}", change(r#","new":[{"bytes":"0"}]"#)), "line 2: new.x: \"bytes\" must be hex"),
        (format!("{{\"format\":\"conduit-wasm-events\",\"version\":2}}\n{rel}"), "line 1: events format version 2"),
        (format!("{rel}\n{HEADER}"), "line 2: a format header after the first line"),
        (format!("{rel}\n{}", &change("")[..40]), "line 2: not a JSON object: EOF while parsing a string at line 1 column 40 (the last line is cut short"),
    ];
    for (text, expected) in cases {
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "{err:?} does not contain {expected:?}"
        );
        assert!(!err.contains('\n'), "{err:?}");
    }
}

#[test]
fn missing_file_is_one_line() {
    let err = read_events("/nonexistent/x.jsonl").unwrap_err().to_string();
    assert!(err.starts_with("/nonexistent/x.jsonl: not found"), "{err}");
}

#[test]
fn snapshot_reads_round_trip() {
    let text = concat!(
        r#"{"format":"conduit-wasm-events","version":1}"#,
        "\n",
        r#"{"batch":0,"relations":[{"oid":1,"schema":"a","name":"b","columns":[{"name":"x","type":"integer","oid":23,"key":true}]}]}"#,
        "\n",
        r#"{"op":"read","rel":0,"table":"a.b","xid":0,"commit_lsn":"0/16B3748","end_lsn":"0/16B3748","commit_time":"2026-11-24T10:15:30.123456Z","seq":0,"new":[{"int":1}]}"#,
        "\n",
        r#"{"op":"read","rel":0,"table":"a.b","xid":0,"commit_lsn":"0/16B3748","end_lsn":"0/16B3748","commit_time":"2026-11-24T10:15:30.123456Z","seq":1,"new":[{"int":2}]}"#,
        "\n",
    );
    let b = parse(text).unwrap();
    let ops: Vec<Operation> = b[0].changes.iter().map(|c| c.op).collect();
    assert_eq!(ops, [Operation::Read, Operation::Read]);
    assert_eq!(b[0].changes[1].seq, 1);
    assert_eq!(to_text(&b), text);
    let err = parse(&text.replace("\"read\"", "\"snapshot\"")).unwrap_err();
    assert!(
        err.to_string()
            .contains("\"op\" \"snapshot\" is not insert, update, delete, truncate or read"),
        "{err}"
    );
}

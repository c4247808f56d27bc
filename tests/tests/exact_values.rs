//! `json` and `jsonb` values reach the `stdout-json` line exactly as PostgreSQL has them, from a
//! real server: a `json` column's duplicate keys, every digit of a `jsonb` number (also past an
//! f64, both ways), a number no f64 holds still a JSON number, and JSON's `null` told from SQL
//! NULL by `json_null`. Checked on the raw output: `serde_json::Value` itself cannot read some of
//! these lines (`1e400`), which is the point.

use conduit_e2e::*;

#[tokio::test]
async fn json_and_jsonb_values_are_printed_as_postgresql_has_them() {
    let f = Fixture::new().await;
    f.exec("CREATE TABLE docs (id int PRIMARY KEY, j json, jb jsonb)")
        .await;
    let mut c = f.start_conduit().await;
    f.exec(
        r#"INSERT INTO docs VALUES
            (1, '{"a":1,"a":2}', '123456789012345678901234567890'),
            (2, '{"e":1e400}', '-12345678901234567890'),
            (3, '[1e-400, 2.50]', '0.1000000000000000000001'),
            (4, NULL, 'null'),
            (5, 'null', NULL),
            (6, '{"e" : 1e400}', '{"e":1e400}'),
            (7, '"null"', '1e-400'),
            (8, '{}', '{}');"#,
    )
    .await;
    c.wait_for_line("the last row", line_deadline(), |l| row_id(l) == Some(8))
        .await;
    let raw = c.stdout_raw().to_string();
    c.terminate_ok().await;
    let rest = r#"},"old":null,"unchanged_toast":[]}"#;
    let tiny = format!("0.{}1", "0".repeat(399));
    let huge = format!("{{\"e\":1{}}}", "0".repeat(400));
    for expected in [
        format!(r#""new":{{"id":1,"j":{{"a":1,"a":2}},"jb":123456789012345678901234567890{rest}"#),
        format!(r#""new":{{"id":2,"j":{{"e":1e400}},"jb":-12345678901234567890{rest}"#),
        format!(r#""new":{{"id":3,"j":[1e-400,2.50],"jb":0.1000000000000000000001{rest}"#),
        r#""new":{"id":4,"j":null,"jb":null},"old":null,"unchanged_toast":[],"json_null":{"new":["jb"],"old":[]}}"#.to_string(),
        r#""new":{"id":5,"j":null,"jb":null},"old":null,"unchanged_toast":[],"json_null":{"new":["j"],"old":[]}}"#.to_string(),
        format!(r#""new":{{"id":6,"j":{{"e":1e400}},"jb":{huge}{rest}"#),
        format!(r#""new":{{"id":7,"j":"null","jb":{tiny}{rest}"#),
    ] {
        assert!(
            raw.lines().any(|l| l.ends_with(&expected)),
            "no line ends with {expected}\nstdout:\n{raw}"
        );
    }
}

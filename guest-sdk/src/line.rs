//! The JSON line of a change, written by hand so that `json`/`jsonb` values are PostgreSQL's own
//! text: a `serde_json::Value` would keep only the last of duplicate keys and round every number
//! through an f64 (`123456789012345678901234567890` → `1.2345678901234568e+29`, `1e-400` → `0.0`),
//! and could not hold a number outside the f64 range at all. The C, Python and JavaScript ports
//! (`sinks-other/*/stdout-json`) implement [`compact_json`] the same way, byte for byte.

use crate::json::value_to_json;
use crate::view::ChangeView;
use crate::{format, Datum, Operation, Value};
use std::collections::hash_map::{Entry, HashMap};

/// `text` without the whitespace between its tokens, when it is one JSON text (RFC 8259); `None`
/// otherwise. Strings, numbers and keys are copied exactly as written, escapes included: nothing
/// is decoded, so nothing can change. Iterative, so no document is too deep.
pub(crate) fn compact_json(text: &str) -> Option<String> {
    let s = text.as_bytes();
    let mut out = Vec::with_capacity(s.len());
    // The open containers, innermost last: b'{' or b'['.
    let mut open: Vec<u8> = Vec::new();
    let mut i = skip_ws(s, 0);
    loop {
        // A value starts at `i`.
        match *s.get(i)? {
            b'{' | b'[' => {
                let close = if s[i] == b'{' { b'}' } else { b']' };
                out.push(s[i]);
                open.push(s[i]);
                i = skip_ws(s, i + 1);
                if s.get(i) == Some(&close) {
                    out.push(close);
                    open.pop();
                    i += 1;
                } else {
                    if close == b'}' {
                        i = member_key(s, i, &mut out)?;
                    }
                    continue;
                }
            }
            b'"' => i = string(s, i, &mut out)?,
            b'-' | b'0'..=b'9' => i = number(s, i, &mut out)?,
            _ => {
                let word: &[u8] = [&b"true"[..], b"false", b"null"]
                    .into_iter()
                    .find(|w| s[i..].starts_with(w))?;
                out.extend_from_slice(word);
                i += word.len();
            }
        }
        // After a value: a separator, the end of containers, or the end of the text.
        loop {
            i = skip_ws(s, i);
            let Some(&container) = open.last() else {
                // Only whitespace may follow the document.
                return (i == s.len()).then(|| String::from_utf8(out).ok())?;
            };
            let close = if container == b'{' { b'}' } else { b']' };
            match *s.get(i)? {
                b',' => {
                    out.push(b',');
                    i = skip_ws(s, i + 1);
                    if container == b'{' {
                        i = member_key(s, i, &mut out)?;
                    }
                    break;
                }
                c if c == close => {
                    out.push(c);
                    open.pop();
                    i += 1;
                }
                _ => return None,
            }
        }
    }
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while matches!(s.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// `"key"` and `:` of an object member at `i`; returns where its value starts.
fn member_key(s: &[u8], i: usize, out: &mut Vec<u8>) -> Option<usize> {
    if s.get(i) != Some(&b'"') {
        return None;
    }
    let i = skip_ws(s, string(s, i, out)?);
    if s.get(i) != Some(&b':') {
        return None;
    }
    out.push(b':');
    Some(skip_ws(s, i + 1))
}

/// A string at `i` (its opening quote), copied as written; returns the index past its end.
fn string(s: &[u8], i: usize, out: &mut Vec<u8>) -> Option<usize> {
    let mut j = i + 1;
    loop {
        match *s.get(j)? {
            b'"' => break,
            b'\\' => match *s.get(j + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                b'u' if s.get(j + 2..j + 6)?.iter().all(u8::is_ascii_hexdigit) => j += 6,
                _ => return None,
            },
            c if c < 0x20 => return None,
            _ => j += 1,
        }
    }
    out.extend_from_slice(&s[i..=j]);
    Some(j + 1)
}

/// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?` at `i`, copied as written.
fn number(s: &[u8], i: usize, out: &mut Vec<u8>) -> Option<usize> {
    let digits = |mut j: usize| -> Option<usize> {
        let start = j;
        while s.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        (j > start).then_some(j)
    };
    let mut j = if s[i] == b'-' { i + 1 } else { i };
    j = if s.get(j) == Some(&b'0') {
        j + 1
    } else {
        digits(j)?
    };
    if s.get(j) == Some(&b'.') {
        j = digits(j + 1)?;
    }
    if matches!(s.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        j = digits(j)?;
    }
    out.extend_from_slice(&s[i..j]);
    Some(j)
}

/// Whether a column's value prints as `null` while it is not SQL NULL: a `json`/`jsonb` document
/// that is JSON's `null`. The line lists such columns under `json_null`.
pub(crate) fn is_json_null(value: &Value) -> bool {
    matches!(value, Value::Json(text) if compact_json(text).as_deref() == Some("null"))
}

fn push_str(out: &mut String, s: &str) {
    // serde_json's escaping, which the ports copy.
    out.push_str(&serde_json::to_string(s).expect("a string always serializes"));
}

fn push_json_text(out: &mut String, text: &str) {
    match compact_json(text) {
        Some(compact) => out.push_str(&compact),
        // Not JSON (only a hand-made value can be): its text as a string.
        None => push_str(out, text),
    }
}

fn push_value(out: &mut String, value: &Value) {
    match value {
        Value::Json(text) => push_json_text(out, text),
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                match item {
                    Datum::Json(text) => push_json_text(out, text),
                    other => out.push_str(&other.to_json().to_string()),
                }
            }
            out.push(']');
        }
        other => out.push_str(&value_to_json(other).to_string()),
    }
}

/// A row image as an object, unchanged TOAST columns left out. A column name given twice (only a
/// hand-made batch can) keeps its first place and takes the last value, as a JSON object built
/// from a map would, and as the ports do. The columns printed as JSON's `null` go to `json_null`.
fn push_row<'a>(
    out: &mut String,
    values: impl Iterator<Item = (&'a crate::Column, &'a Value)>,
    json_null: &mut Vec<&'a str>,
) {
    let mut members: Vec<(&'a str, &'a Value)> = Vec::new();
    let mut at: HashMap<&'a str, usize> = HashMap::new();
    for (column, value) in values.filter(|(_, v)| !v.is_unchanged_toast()) {
        match at.entry(&column.name) {
            Entry::Occupied(i) => members[*i.get()].1 = value,
            Entry::Vacant(slot) => {
                slot.insert(members.len());
                members.push((&column.name, value));
            }
        }
    }
    out.push('{');
    for (n, (name, value)) in members.into_iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        push_str(out, name);
        out.push(':');
        push_value(out, value);
        if is_json_null(value) {
            json_null.push(name);
        }
    }
    out.push('}');
}

fn push_names(out: &mut String, names: &[&str]) {
    out.push('[');
    for (n, name) in names.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        push_str(out, name);
    }
    out.push(']');
}

/// The line of `view`, without its newline.
pub(crate) fn change_line(view: &ChangeView<'_>) -> String {
    let truncate = view.op() == Operation::Truncate;
    let mut out = String::with_capacity(256);
    out.push_str("{\"op\":\"");
    out.push_str(view.op().as_str());
    out.push_str("\",\"schema\":");
    push_str(&mut out, view.schema());
    out.push_str(",\"table\":");
    push_str(&mut out, view.table());
    out.push_str(&format!(
        ",\"xid\":{},\"commit_lsn\":\"{}\",\"end_lsn\":\"{}\",\"commit_time\":\"{}\",\"seq\":{}",
        view.xid(),
        format::lsn(view.commit_lsn()),
        format::lsn(view.end_lsn()),
        format::timestamptz(view.commit_time()),
        view.seq()
    ));
    let (mut new_nulls, mut old_nulls) = (Vec::new(), Vec::new());
    out.push_str(",\"new\":");
    match view.new_row() {
        Some(_) if !truncate => push_row(&mut out, view.new_values(), &mut new_nulls),
        _ => out.push_str("null"),
    }
    out.push_str(",\"old\":");
    match view.old_row() {
        Some(_) if !truncate => push_row(&mut out, view.old_values(), &mut old_nulls),
        _ => out.push_str("null"),
    }
    out.push_str(",\"unchanged_toast\":");
    let toast: Vec<&str> = if truncate {
        Vec::new()
    } else {
        view.unchanged_toast().collect()
    };
    push_names(&mut out, &toast);
    // Only on the lines that need it, so that every other line keeps its shape.
    if !new_nulls.is_empty() || !old_nulls.is_empty() {
        out.push_str(",\"json_null\":{\"new\":");
        push_names(&mut out, &new_nulls);
        out.push_str(",\"old\":");
        push_names(&mut out, &old_nulls);
        out.push('}');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::compact_json;
    use crate::{Batch, Change, Column, Datum, OldRow, Operation, Relation, Value};

    fn line(columns: &[&str], new: Vec<Value>, old: Option<Vec<Value>>) -> String {
        let batch = Batch {
            relations: vec![Relation {
                oid: 1,
                schema: "public".into(),
                name: "docs".into(),
                columns: columns
                    .iter()
                    .map(|name| Column {
                        name: (*name).into(),
                        type_name: "jsonb".into(),
                        type_oid: 3802,
                        key: false,
                    })
                    .collect(),
            }],
            changes: vec![Change {
                op: Operation::Update,
                relation: 0,
                new: Some(new),
                old: old.map(|values| OldRow {
                    key_only: false,
                    values,
                }),
                xid: 1,
                commit_lsn: 16,
                end_lsn: 32,
                commit_time: 0,
                seq: 0,
            }],
        };
        let view = batch.change(0).unwrap();
        assert_eq!(view.to_json().get(), view.json_line());
        view.json_line()
    }

    fn rows(line: &str) -> &str {
        &line[line.find(r#""new":"#).unwrap()..]
    }

    /// PostgreSQL's text, whitespace between tokens aside: duplicate keys, every digit, numbers
    /// beyond an f64 and escapes as written.
    #[test]
    fn json_text_is_kept_exactly() {
        for (text, out) in [
            (r#"{"a":1,"a":2}"#, r#"{"a":1,"a":2}"#),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("-12345678901234567890", "-12345678901234567890"),
            ("0.1000000000000000000001", "0.1000000000000000000001"),
            ("1e-400", "1e-400"),
            (r#"{"e": 1e400}"#, r#"{"e":1e400}"#),
            ("  {\"ws\" :\t[ 1 ,\n2.50 ]\r}", r#"{"ws":[1,2.50]}"#),
            (
                r#"["\u00e9 \"x\" \/", "a b"]"#,
                r#"["\u00e9 \"x\" \/","a b"]"#,
            ),
            ("[[],{},[{}]]", "[[],{},[{}]]"),
        ] {
            assert_eq!(compact_json(text).as_deref(), Some(out), "{text}");
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(compact_json(&deep).as_deref(), Some(&deep[..]));
        for bad in [
            "",
            " ",
            "{oops",
            "01",
            "1.",
            "-",
            "1e",
            ".5",
            "[1,]",
            "{\"a\"}",
            "[1 2]",
            "\"\t\"",
            "\"\\x\"",
            "\"\\u12\"",
            "nul",
            "{} {}",
            "[",
            "{\"a\":1,}",
            "'a'",
            "NaN",
        ] {
            assert_eq!(compact_json(bad), None, "{bad:?}");
        }
        assert_eq!(
            rows(&line(
                &["j", "n"],
                vec![
                    Value::Json(r#"{"a": 1, "a": 2, "e": 1e400}"#.into()),
                    Value::Array(vec![
                        Datum::Json("-12345678901234567890".into()),
                        Datum::Null
                    ]),
                ],
                None
            )),
            r#""new":{"j":{"a":1,"a":2,"e":1e400},"n":[-12345678901234567890,null]},"old":null,"unchanged_toast":[]}"#
        );
        // Not JSON (a hand-made value): the text as a string.
        assert_eq!(
            rows(&line(&["j"], vec![Value::Json("{oops".into())], None)),
            r#""new":{"j":"{oops"},"old":null,"unchanged_toast":[]}"#
        );
    }

    /// SQL NULL and JSON's `null` both print `null`; `json_null` names the columns holding the
    /// latter, in `new` and `old`, and is absent when there are none.
    #[test]
    fn json_null_is_told_from_sql_null() {
        assert_eq!(
            rows(&line(
                &["a", "b", "c", "d"],
                vec![
                    Value::Json(" null ".into()),
                    Value::Null,
                    Value::Json(r#""null""#.into()),
                    Value::UnchangedToast,
                ],
                Some(vec![
                    Value::Null,
                    Value::Json("null".into()),
                    Value::Json("null".into()),
                    Value::Json("null".into()),
                ]),
            )),
            r#""new":{"a":null,"b":null,"c":"null"},"old":{"a":null,"b":null,"c":null,"d":null},"unchanged_toast":["d"],"json_null":{"new":["a"],"old":["b","c","d"]}}"#
        );
        assert!(!line(&["a"], vec![Value::Null], None).contains("json_null"));
    }
}

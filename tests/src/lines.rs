//! Reading the JSON lines the `stdout-json` sink prints (one per change).

use serde_json::Value;

use crate::Lsn;

/// The fields every line of the `stdout-json` sink has.
pub const LINE_FIELDS: &[&str] = &[
    "op",
    "schema",
    "table",
    "xid",
    "commit_lsn",
    "end_lsn",
    "commit_time",
    "seq",
    "new",
    "old",
    "unchanged_toast",
];

/// The key a line has after [`LINE_FIELDS`] when a json/jsonb column holds JSON's `null`.
pub const JSON_NULL_FIELD: &str = "json_null";

/// The top-level keys of a line, in order, without reading its values: a `json` value may hold
/// a number no f64 holds (`1e400`), which `serde_json::Value` refuses, or be deeper than its
/// recursion limit.
pub fn line_keys(line: &str) -> Result<Vec<String>, serde_json::Error> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(key) = map.next_key::<String>()? {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            d.deserialize_map(Visit)
        }
    }
    serde_json::from_str::<Keys>(line).map(|k| k.0)
}

/// The position and table of a line, read without its rows (see [`line_keys`]).
#[derive(serde::Deserialize)]
pub struct LineHead {
    pub schema: String,
    pub table: String,
    pub commit_lsn: String,
    pub seq: u32,
}

pub fn line_head(line: &str) -> Result<LineHead, serde_json::Error> {
    serde_json::from_str(line)
}

fn field<'a>(line: &'a Value, key: &str) -> &'a Value {
    line.get(key)
        .unwrap_or_else(|| panic!("line has no {key:?}: {}", short(line)))
}

pub fn op(line: &Value) -> &str {
    field(line, "op")
        .as_str()
        .unwrap_or_else(|| panic!("op is not a string: {}", short(line)))
}

pub fn table(line: &Value) -> &str {
    field(line, "table")
        .as_str()
        .unwrap_or_else(|| panic!("table is not a string: {}", short(line)))
}

pub fn xid(line: &Value) -> u64 {
    field(line, "xid")
        .as_u64()
        .unwrap_or_else(|| panic!("xid is not a number: {}", short(line)))
}

pub fn seq(line: &Value) -> u64 {
    field(line, "seq")
        .as_u64()
        .unwrap_or_else(|| panic!("seq is not a number: {}", short(line)))
}

/// Parses the `"X/Y"` LSN in `key` (`commit_lsn` or `end_lsn`).
pub fn lsn(line: &Value, key: &str) -> Lsn {
    let s = field(line, key)
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string: {}", short(line)));
    s.parse()
        .unwrap_or_else(|e| panic!("{key}: {e}: {}", short(line)))
}

/// `new` as an object (panics when it is null or missing).
pub fn new_row(line: &Value) -> &serde_json::Map<String, Value> {
    field(line, "new")
        .as_object()
        .unwrap_or_else(|| panic!("new is not an object: {}", short(line)))
}

/// `old` as an object (panics when it is null or missing).
pub fn old_row(line: &Value) -> &serde_json::Map<String, Value> {
    field(line, "old")
        .as_object()
        .unwrap_or_else(|| panic!("old is not an object: {}", short(line)))
}

/// `unchanged_toast` as a list of column names.
pub fn unchanged_toast(line: &Value) -> Vec<String> {
    field(line, "unchanged_toast")
        .as_array()
        .unwrap_or_else(|| panic!("unchanged_toast is not an array: {}", short(line)))
        .iter()
        .map(|v| v.as_str().expect("unchanged_toast holds names").to_string())
        .collect()
}

/// Checks the shape every line must have: all fields present, LSNs parse, end_lsn > commit_lsn,
/// commit_time is RFC 3339 UTC with microseconds.
pub fn assert_well_formed(line: &Value) {
    let obj = line
        .as_object()
        .unwrap_or_else(|| panic!("line is not an object: {}", short(line)));
    for f in LINE_FIELDS {
        assert!(obj.contains_key(*f), "line has no {f:?}: {}", short(line));
    }
    assert!(
        matches!(
            op(line),
            "read" | "insert" | "update" | "delete" | "truncate"
        ),
        "unknown op: {}",
        short(line)
    );
    assert!(field(line, "schema").is_string(), "{}", short(line));
    let (commit, end) = (lsn(line, "commit_lsn"), lsn(line, "end_lsn"));
    // A snapshot row (xid 0) sits at the slot's consistent point: commit_lsn = end_lsn.
    if xid(line) == 0 {
        assert!(
            end == commit,
            "snapshot row: end_lsn {end} != commit_lsn {commit}"
        );
    } else {
        assert!(end > commit, "end_lsn {end} <= commit_lsn {commit}");
    }
    let t = field(line, "commit_time")
        .as_str()
        .unwrap_or_else(|| panic!("commit_time is not a string: {}", short(line)));
    assert!(
        is_rfc3339_utc_micros(t),
        "commit_time {t:?} is not YYYY-MM-DDTHH:MM:SS.ffffffZ"
    );
    xid(line);
    seq(line);
    unchanged_toast(line);
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn is_rfc3339_utc_micros(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 27
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// A line, shortened for messages.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 400 {
        let mut cut = 400;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}… ({} bytes)", &s[..cut], s.len())
    } else {
        s
    }
}

pub(crate) fn summarize(lines: &[Value]) -> String {
    if lines.is_empty() {
        return "  (none)".into();
    }
    lines
        .iter()
        .map(|l| format!("  {}", short(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The integer `new.id` (else `old.id`) of a change line.
pub fn row_id(line: &Value) -> Option<i64> {
    line.get("new")
        .and_then(|n| n.get("id"))
        .or_else(|| line.get("old").and_then(|o| o.get("id")))
        .and_then(Value::as_i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_micros() {
        assert!(is_rfc3339_utc_micros("2026-11-24T10:15:30.123456Z"));
        assert!(!is_rfc3339_utc_micros("2026-11-24T10:15:30.123Z"));
        assert!(!is_rfc3339_utc_micros("2026-11-24 10:15:30.123456Z"));
        assert!(!is_rfc3339_utc_micros("2026-11-24T10:15:30.123456+00:00"));
    }
}

//! `COPY … TO STDOUT` text format: rows as lines, columns separated by tabs, `\N` for NULL and
//! backslash escapes for what would break a line. A value, once unescaped, is the column's
//! output function's text, the same text pgoutput sends, so the stream's parser types it.

use std::borrow::Cow;

/// Splits one row (without its newline) into its columns, `None` for NULL. Columns without a
/// backslash (nearly all) are borrowed, not copied.
pub fn split_row(line: &[u8]) -> Result<Vec<Option<Cow<'_, str>>>, String> {
    line.split(|&b| b == b'\t').map(column).collect()
}

fn column(raw: &[u8]) -> Result<Option<Cow<'_, str>>, String> {
    if raw == b"\\N" {
        return Ok(None);
    }
    if !raw.contains(&b'\\') {
        return std::str::from_utf8(raw)
            .map(|s| Some(Cow::Borrowed(s)))
            .map_err(|e| format!("a COPY value is not UTF-8: {e}"));
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&e) = raw.get(i) else {
            return Err("a COPY value ends with a lone backslash".into());
        };
        i += 1;
        match e {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                // One to three octal digits.
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            b'x' => {
                // One or two hex digits.
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 {
                    match raw.get(i).and_then(|&d| (d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            i += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                if n == 0 {
                    out.push(b'x');
                } else {
                    out.push(v as u8);
                }
            }
            // `\\`, and any other character stands for itself.
            other => out.push(other),
        }
    }
    String::from_utf8(out)
        .map(|s| Some(Cow::Owned(s)))
        .map_err(|e| format!("a COPY value is not UTF-8: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(line: &str) -> Vec<Option<String>> {
        split_row(line.as_bytes())
            .unwrap()
            .into_iter()
            .map(|c| c.map(Cow::into_owned))
            .collect()
    }

    #[test]
    fn columns_nulls_and_empty_strings() {
        assert_eq!(
            cols("1\t\\N\t\tabc"),
            [
                Some("1".into()),
                None,
                Some(String::new()),
                Some("abc".into())
            ]
        );
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(
            cols("a\\tb\\nc\\\\d\\re\\bf\\fg\\vh"),
            [Some("a\tb\nc\\d\re\u{8}f\u{c}g\u{b}h".into())]
        );
        assert_eq!(cols("\\101\\x42\\7"), [Some("AB\u{7}".into())]);
        // `\N` only as a whole column is NULL.
        assert_eq!(cols("x\\N"), [Some("xN".into())]);
    }

    #[test]
    fn multibyte_text_passes_through() {
        assert_eq!(cols("zoë\t日本"), [Some("zoë".into()), Some("日本".into())]);
    }

    #[test]
    fn a_lone_trailing_backslash_is_an_error() {
        assert!(split_row(b"abc\\").is_err());
    }
}

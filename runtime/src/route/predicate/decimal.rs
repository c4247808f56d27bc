//! Exact comparison of decimal numbers in text form, without allocating and without rounding.

use std::cmp::Ordering;

/// A finite decimal split into its parts: `int` without leading zeros, `frac` without trailing
/// zeros, so that equal numbers have equal parts (`-0.0` is `0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dec<'a> {
    pub negative: bool,
    pub int: &'a [u8],
    pub frac: &'a [u8],
}

/// Parses `[+-]digits[.digits]` (either side of the point may be empty, not both).
pub fn parse(s: &str) -> Option<Dec<'_>> {
    let b = s.as_bytes();
    let (negative, rest) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let (int, frac) = match rest.iter().position(|&c| c == b'.') {
        Some(p) => (&rest[..p], &rest[p + 1..]),
        None => (rest, &rest[rest.len()..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    let int = &int[int.iter().position(|&c| c != b'0').unwrap_or(int.len())..];
    let frac = &frac[..frac.iter().rposition(|&c| c != b'0').map_or(0, |p| p + 1)];
    let negative = negative && !(int.is_empty() && frac.is_empty());
    Some(Dec {
        negative,
        int,
        frac,
    })
}

/// `v` as a `Dec` whose digits live in `buf`.
pub fn from_i64(v: i64, buf: &mut [u8; 20]) -> Dec<'_> {
    let mut n = v.unsigned_abs();
    let mut at = buf.len();
    while n > 0 {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    Dec {
        negative: v < 0,
        int: &buf[at..],
        frac: &[],
    }
}

pub fn cmp(a: Dec<'_>, b: Dec<'_>) -> Ordering {
    match (a.negative, b.negative) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => cmp_magnitude(a, b),
        (true, true) => cmp_magnitude(b, a),
    }
}

fn cmp_magnitude(a: Dec<'_>, b: Dec<'_>) -> Ordering {
    // Without leading zeros, a longer integer part is a larger number; with equal lengths, digit
    // order is numeric order. Fractions without trailing zeros compare as digit strings.
    a.int
        .len()
        .cmp(&b.int.len())
        .then_with(|| a.int.cmp(b.int))
        .then_with(|| a.frac.cmp(b.frac))
}

/// Compares a `numeric` value as PostgreSQL prints it (`"12.50"`, `"NaN"`, `"Infinity"`,
/// `"-Infinity"`) with a finite literal. PostgreSQL sorts NaN above every other value, infinity
/// included. `None` when the text is not a number.
pub fn cmp_numeric_text(value: &str, literal: Dec<'_>) -> Option<Ordering> {
    if value.eq_ignore_ascii_case("nan")
        || value.eq_ignore_ascii_case("infinity")
        || value.eq_ignore_ascii_case("+infinity")
    {
        return Some(Ordering::Greater);
    }
    if value.eq_ignore_ascii_case("-infinity") {
        return Some(Ordering::Less);
    }
    Some(cmp(parse(value)?, literal))
}

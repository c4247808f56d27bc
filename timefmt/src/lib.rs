//! Text forms of WAL positions, dates, times and instants, and their exact inverses: one
//! definition for the guest SDK's JSON line format and the runtime's event files, which must
//! print the same text for the same value.
//!
//! `YYYY-MM-DD`, `HH:MM:SS.ffffff`, years outside 0–9999 as `+10000` / `-0001` (astronomical
//! numbering: `-0001` is 2 BC, `0000` is 1 BC). Calendar arithmetic is Howard Hinnant's
//! `civil_from_days` (proleptic Gregorian), exact for every day an `i64` count of microseconds
//! can reach, without a date/time library. Parsing accepts exactly what printing produces (plus
//! fewer fraction digits), so every `i64` count of microseconds and every `i32` count of days
//! survives a round trip. LSNs are parsed a little more loosely (see [`parse_lsn`]).

use std::fmt::Write as _;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// A WAL position in PostgreSQL's `X/X` form: upper-case hex of the high and the low 32 bits, no
/// zero padding. `0x16_B374_D848` is `"16/B374D848"`, `0` is `"0/0"`.
pub fn lsn(lsn: u64) -> String {
    let mut out = String::with_capacity(17);
    let _ = write_lsn(&mut out, lsn);
    out
}

/// [`lsn`], written into `out` without allocating (for `Display` implementations).
pub fn write_lsn(out: &mut impl std::fmt::Write, lsn: u64) -> std::fmt::Result {
    write!(out, "{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// The inverse of [`lsn`]: `X/X`, each half hex (either case) that fits 32 bits; `None` for
/// anything else. Callers say what was wrong in their own words.
///
/// Looser than PostgreSQL's `pg_lsn` input (one to eight hex digits per half) in two ways that
/// Rust's integer parsing has always let through the runtime's `--stop-at` and checkpoint files,
/// and which therefore stay accepted: a `+` before either half, and leading zeros beyond eight
/// digits. Nothing that prints differently from [`lsn`] is produced by this crate.
pub fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.split_once('/')?;
    let hi = u32::from_str_radix(hi, 16).ok()?;
    let lo = u32::from_str_radix(lo, 16).ok()?;
    Some((u64::from(hi) << 32) | u64::from(lo))
}

/// The civil date (year, month 1–12, day 1–31) of a count of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn month_len(year: i64, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub fn date(days: i32) -> String {
    let mut out = String::with_capacity(10);
    push_date(&mut out, i64::from(days));
    out
}

pub fn time(micros: i64) -> String {
    let mut out = String::with_capacity(15);
    if micros < 0 {
        out.push('-');
    }
    push_clock(&mut out, micros.unsigned_abs());
    out
}

pub fn timestamp(micros: i64) -> String {
    let mut out = String::with_capacity(26);
    push_timestamp(&mut out, micros);
    out
}

pub fn timestamptz(micros: i64) -> String {
    let mut out = String::with_capacity(27);
    push_timestamp(&mut out, micros);
    out.push('Z');
    out
}

fn push_timestamp(out: &mut String, micros: i64) {
    push_date(out, micros.div_euclid(MICROS_PER_DAY));
    out.push('T');
    push_clock(out, micros.rem_euclid(MICROS_PER_DAY) as u64);
}

fn push_date(out: &mut String, days: i64) {
    let (year, month, day) = civil_from_days(days);
    let _ = match year {
        0..=9999 => write!(out, "{year:04}-{month:02}-{day:02}"),
        10_000.. => write!(out, "+{year}-{month:02}-{day:02}"),
        _ => write!(out, "-{:04}-{month:02}-{day:02}", year.unsigned_abs()),
    };
}

fn push_clock(out: &mut String, micros: u64) {
    let seconds = micros / 1_000_000;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{:06}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        micros % 1_000_000
    );
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `YYYY-MM-DD`, `+YYYYY-MM-DD` or `-YYYY-MM-DD` → days since 1970-01-01.
fn parse_days(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a date like 2026-11-24");
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => (0, s),
    };
    let mut parts = rest.splitn(3, '-');
    let (y, m, d) = match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) => (y, m, d),
        _ => return Err(bad()),
    };
    if !all_digits(y) || y.len() < 4 || y.len() > 12 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    if !all_digits(m) || !all_digits(d) {
        return Err(bad());
    }
    let year: i64 = y.parse().map_err(|_| bad())?;
    let year = if sign < 0 { -year } else { year };
    let (month, day): (u32, u32) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&month) || day < 1 || day > month_len(year, month) {
        return Err(format!("{s:?} is not a day of the calendar"));
    }
    Ok(days_from_civil(year, month, day))
}

/// `H…H:MM:SS[.f…]` → microseconds; `max_hours` bounds the hours.
fn parse_clock(s: &str, max_hours: u64) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a time like 10:15:30.123456");
    let (hms, frac) = match s.split_once('.') {
        Some((hms, frac)) => (hms, frac),
        None => (s, ""),
    };
    let mut parts = hms.split(':');
    let (h, m, sec) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(m), Some(sec), None) => (h, m, sec),
        _ => return Err(bad()),
    };
    if !all_digits(h) || h.len() < 2 || m.len() != 2 || sec.len() != 2 {
        return Err(bad());
    }
    if !all_digits(m) || !all_digits(sec) || frac.len() > 6 {
        return Err(bad());
    }
    if !frac.is_empty() && !all_digits(frac) {
        return Err(bad());
    }
    let hours: u64 = h.parse().map_err(|_| bad())?;
    let (minutes, seconds): (u64, u64) = (
        m.parse().map_err(|_| bad())?,
        sec.parse().map_err(|_| bad())?,
    );
    if hours > max_hours || minutes > 59 || seconds > 59 {
        return Err(bad());
    }
    let fraction: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().map_err(|_| bad())? * 10u64.pow(6 - frac.len() as u32)
    };
    hours
        .checked_mul(3600)
        .and_then(|s| s.checked_add(minutes * 60 + seconds))
        .and_then(|s| s.checked_mul(1_000_000))
        .and_then(|us| us.checked_add(fraction))
        .ok_or_else(bad)
}

pub fn parse_date(s: &str) -> Result<i32, String> {
    let days = parse_days(s)?;
    i32::try_from(days).map_err(|_| format!("date {s:?} is out of range"))
}

pub fn parse_time(s: &str) -> Result<i64, String> {
    let (negative, clock) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let micros = parse_clock(clock, u64::MAX)?;
    let micros = i128::from(micros);
    let micros = if negative { -micros } else { micros };
    i64::try_from(micros).map_err(|_| format!("time {s:?} is out of range"))
}

fn parse_instant(s: &str, zulu: bool) -> Result<i64, String> {
    let what = if zulu {
        "a timestamptz like 2026-11-24T10:15:30.123456Z"
    } else {
        "a timestamp like 2026-11-24T10:15:30.123456"
    };
    let body = if zulu {
        s.strip_suffix('Z')
            .ok_or_else(|| format!("{s:?} is not {what}"))?
    } else {
        s
    };
    // The date part may start with a sign, so split at the 'T'.
    let (date, clock) = body
        .split_once('T')
        .ok_or_else(|| format!("{s:?} is not {what}"))?;
    let days = parse_days(date)?;
    let of_day = parse_clock(clock, 23)?;
    let micros = i128::from(days) * i128::from(MICROS_PER_DAY) + i128::from(of_day);
    i64::try_from(micros).map_err(|_| format!("{s:?} is out of range"))
}

pub fn parse_timestamp(s: &str) -> Result<i64, String> {
    parse_instant(s, false)
}

pub fn parse_timestamptz(s: &str) -> Result<i64, String> {
    parse_instant(s, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_as_the_json_line_format() {
        assert_eq!(date(20_781), "2026-11-24");
        assert_eq!(date(-719_163 - 366), "-0001-12-31");
        assert_eq!(date(2_932_897), "+10000-01-01");
        assert_eq!(time(5), "00:00:00.000005");
        assert_eq!(time(86_400_000_000), "24:00:00.000000");
        assert_eq!(timestamptz(-1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(timestamptz(i64::MIN), "-290308-12-21T19:59:05.224192Z");
        assert_eq!(timestamptz(i64::MAX), "+294247-01-10T04:00:54.775807Z");
        assert_eq!(
            timestamp(1_795_515_330_123_456),
            "2026-11-24T10:15:30.123456"
        );
    }

    #[test]
    fn every_edge_round_trips() {
        let mut micros = vec![
            i64::MIN,
            i64::MIN + 1,
            i64::MAX,
            i64::MAX - 1,
            0,
            -1,
            1,
            MICROS_PER_DAY,
            -MICROS_PER_DAY,
            1_795_515_330_123_456,
            -62_135_596_800_000_000,
        ];
        // A deterministic spread over the whole range.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            micros.push(x as i64);
            micros.push((x as i64) >> (x % 40));
        }
        for &m in &micros {
            assert_eq!(parse_timestamptz(&timestamptz(m)), Ok(m), "{m}");
            assert_eq!(parse_timestamp(&timestamp(m)), Ok(m), "{m}");
            assert_eq!(parse_time(&time(m)), Ok(m), "{m}");
            let d = (m >> 20) as i32;
            assert_eq!(parse_date(&date(d)), Ok(d), "{d}");
        }
        for d in [i32::MIN, i32::MAX, 0, -1, -719_163, 2_932_897] {
            assert_eq!(parse_date(&date(d)), Ok(d), "{d}");
        }
    }

    #[test]
    fn rejects_what_it_does_not_print() {
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("2026-2-3").is_err());
        assert!(parse_date("26-02-03").is_err());
        assert!(parse_timestamptz("2026-11-24T10:15:30.123456").is_err());
        assert!(parse_timestamp("2026-11-24 10:15:30").is_err());
        assert!(parse_timestamp("2026-11-24T24:00:00").is_err());
        assert!(parse_time("10:60:00").is_err());
        assert!(parse_time("10:00:00.1234567").is_err());
        assert_eq!(parse_time("10:15:30"), Ok(36_930_000_000));
        assert_eq!(parse_time("10:15:30.5"), Ok(36_930_500_000));
        assert_eq!(parse_date("1900-02-28"), Ok(-25_509));
        assert!(parse_date("1900-02-29").is_err());
        assert!(parse_date("+99999999999-01-01").is_err());
    }
}

#[cfg(test)]
mod sdk_format_tests {
    use super::*;

    fn is_leap(y: i64) -> bool {
        (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    }

    fn month_len(y: i64, m: u32) -> u32 {
        match m {
            2 if is_leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// Days since 1970-01-01 of a civil date, by counting (independent of the algorithm).
    fn days_by_counting(year: i64, month: u32, day: u32) -> i64 {
        let year_len = |y: i64| if is_leap(y) { 366 } else { 365 };
        let mut days = 0i64;
        if year >= 1970 {
            days += (1970..year).map(year_len).sum::<i64>();
        } else {
            days -= (year..1970).map(year_len).sum::<i64>();
        }
        days += (1..month)
            .map(|m| i64::from(month_len(year, m)))
            .sum::<i64>();
        days + i64::from(day) - 1
    }

    #[test]
    fn lsn_form() {
        assert_eq!(lsn(0x16_B374_D848), "16/B374D848");
        assert_eq!(lsn(0), "0/0");
        assert_eq!(lsn(0x1_0000_0000), "1/0");
        assert_eq!(lsn(0xA), "0/A");
        assert_eq!(lsn(u64::MAX), "FFFFFFFF/FFFFFFFF");
    }

    #[test]
    fn lsn_parse_inverts_lsn_form() {
        for l in [0, 0xA, 0x1_0000_0000, 0x16_B374_D848, u64::MAX] {
            assert_eq!(parse_lsn(&lsn(l)), Some(l), "{l:X}");
        }
        assert_eq!(parse_lsn("16/b374d848"), Some(0x16_B374_D848));
        // What the runtime has always accepted, though PostgreSQL does not.
        assert_eq!(parse_lsn("+16/+B374D848"), Some(0x16_B374_D848));
        assert_eq!(parse_lsn("000000016/0"), Some(0x16_0000_0000));
        for bad in [
            "",
            "/",
            "16B374D848",
            "/1",
            "1/",
            "1/123456789",
            "x/1",
            "G/0",
            "-1/0",
            "1/2/3",
            " 1/2",
            "1/2 ",
        ] {
            assert_eq!(parse_lsn(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn civil_dates_match_counting() {
        for &(y, m, d) in &[
            (1970, 1, 1),
            (1969, 12, 31),
            (2000, 2, 29),
            (1900, 2, 28),
            (1900, 3, 1),
            (2024, 2, 29),
            (2026, 11, 24),
            (1600, 2, 29),
            (1, 1, 1),
            (9999, 12, 31),
        ] {
            let days = days_by_counting(y, m, d);
            assert_eq!(civil_from_days(days), (y, m, d), "days {days}");
        }
    }

    #[test]
    fn every_day_from_year_1_to_9999() {
        let mut days = days_by_counting(1, 1, 1);
        assert_eq!(days, -719_162);
        for y in 1..=9999 {
            for m in 1..=12 {
                for d in 1..=month_len(y, m) {
                    assert_eq!(civil_from_days(days), (y, m, d), "days {days}");
                    days += 1;
                }
            }
        }
        assert_eq!(days - 1, 2_932_896);
    }

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(date(20_781), "2026-11-24");
        assert_eq!(date(11_016), "2000-02-29");
        assert_eq!(date(-25_508), "1900-03-01");
        assert_eq!(date(-25_509), "1900-02-28");
        assert_eq!(date(-719_162), "0001-01-01");
        assert_eq!(date(2_932_896), "9999-12-31");
        assert_eq!(date(2_932_897), "+10000-01-01");
        assert_eq!(date(-719_163), "0000-12-31");
        assert_eq!(date(-719_163 - 366), "-0001-12-31");
    }

    #[test]
    fn times() {
        assert_eq!(time(0), "00:00:00.000000");
        assert_eq!(time(36_930_123_456), "10:15:30.123456");
        assert_eq!(time(1), "00:00:00.000001");
        assert_eq!(time(86_399_999_999), "23:59:59.999999");
        assert_eq!(time(86_400_000_000), "24:00:00.000000");
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamptz(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(timestamptz(-1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(
            timestamptz(1_795_515_330_123_456),
            "2026-11-24T10:15:30.123456Z"
        );
        assert_eq!(
            timestamp(1_795_515_330_123_456),
            "2026-11-24T10:15:30.123456"
        );
        assert_eq!(timestamp(951_782_400_000_000), "2000-02-29T00:00:00.000000");
        assert_eq!(
            timestamp(-62_135_596_800_000_000),
            "0001-01-01T00:00:00.000000"
        );
        assert_eq!(
            timestamptz(253_402_300_799_999_999),
            "9999-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            timestamptz(-86_400_000_000 + 3_723_000_004),
            "1969-12-31T01:02:03.000004Z"
        );
        // The extremes of i64 do not panic.
        assert_eq!(timestamptz(i64::MIN), "-290308-12-21T19:59:05.224192Z");
        assert_eq!(timestamptz(i64::MAX), "+294247-01-10T04:00:54.775807Z");
    }
}

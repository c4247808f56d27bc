//! Text forms of log positions, instants, dates and times, written without a date/time library.
//!
//! Calendar arithmetic is Howard Hinnant's `civil_from_days` (proleptic Gregorian calendar), which
//! is exact for every day an `i64` count of microseconds can reach, before and after 1970.
//!
//! Years 0 to 9999 print as four digits. Years outside that range (PostgreSQL accepts 4713 BC to
//! 294276 AD) print in ISO 8601's expanded form: `+10000-01-01`, and astronomical numbering with a
//! sign for years before 1 AD (`-0001` is 2 BC, `0000` is 1 BC).

use std::fmt::Write as _;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// A WAL position in PostgreSQL's `X/X` form: upper-case hex of the high and the low 32 bits, no
/// zero padding. `0x16_B374_D848` is `"16/B374D848"`, `0` is `"0/0"`.
pub fn lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// The civil date (year, month 1–12, day 1–31) of a count of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// `date`: days since 1970-01-01 as `YYYY-MM-DD`.
pub fn date(days: i32) -> String {
    let mut out = String::with_capacity(10);
    push_date(&mut out, i64::from(days));
    out
}

/// `time`: microseconds since midnight as `HH:MM:SS.ffffff` (PostgreSQL allows `24:00:00`).
pub fn time(micros: i64) -> String {
    let mut out = String::with_capacity(15);
    if micros < 0 {
        // Not a valid `time`; keep the information rather than wrap around.
        out.push('-');
    }
    push_clock(&mut out, micros.unsigned_abs());
    out
}

/// `timestamp` (without time zone): microseconds since 1970-01-01T00:00:00 as
/// `YYYY-MM-DDTHH:MM:SS.ffffff`.
pub fn timestamp(micros: i64) -> String {
    let mut out = String::with_capacity(26);
    push_timestamp(&mut out, micros);
    out
}

/// `timestamptz` and commit times: microseconds since 1970-01-01T00:00:00Z as RFC 3339 in UTC,
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn timestamptz(micros: i64) -> String {
    let mut out = String::with_capacity(27);
    push_timestamp(&mut out, micros);
    out.push('Z');
    out
}

fn push_timestamp(out: &mut String, micros: i64) {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let of_day = micros.rem_euclid(MICROS_PER_DAY);
    push_date(out, days);
    out.push('T');
    push_clock(out, of_day as u64);
}

fn push_date(out: &mut String, days: i64) {
    let (year, month, day) = civil_from_days(days);
    // Writing to a String cannot fail.
    let _ = match year {
        0..=9999 => write!(out, "{year:04}-{month:02}-{day:02}"),
        10_000.. => write!(out, "+{year}-{month:02}-{day:02}"),
        _ => write!(out, "-{:04}-{month:02}-{day:02}", year.unsigned_abs()),
    };
}

fn push_clock(out: &mut String, micros: u64) {
    let per_second = MICROS_PER_SECOND as u64;
    let fraction = micros % per_second;
    let seconds = micros / per_second;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{:06}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        fraction
    );
}

#[cfg(test)]
mod tests {
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

//! PostgreSQL's ISO date/time text forms → numbers.
//!
//! The replication connection asks for `DateStyle=ISO` and `TimeZone=UTC`, so timestamps arrive as
//! `2026-11-24 10:15:30.123456+00`. Years before 1 AD end in ` BC` (`0044-03-15 BC`,
//! `0044-03-15 10:00:00+00 BC`); they become astronomical years (1 BC is year 0, 44 BC is -43),
//! the numbering of ISO 8601 and of the proleptic Gregorian arithmetic below, so that a BC value
//! is a typed date or instant like any other. Parsing is strict: anything unexpected (`infinity`)
//! returns `None` and the caller keeps the text form instead of guessing.

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `text` without its ` BC` suffix, and whether it had one.
fn split_era(text: &str) -> (&str, bool) {
    match text.strip_suffix(" BC") {
        Some(rest) => (rest, true),
        None => (text, false),
    }
}

/// `YYYY-MM-DD[ BC]` → days since the Unix epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let (s, bc) = split_era(s);
    parse_ymd(s, bc)
}

/// `YYYY-MM-DD` of era AD or (`bc`) BC → days since the Unix epoch.
fn parse_ymd(s: &str, bc: bool) -> Option<i64> {
    let (y, rest) = s.split_once('-')?;
    let (m, d) = rest.split_once('-')?;
    if y.len() < 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let year: i64 = digits(y)?;
    // There is no year 0 BC: PostgreSQL prints 1 BC as `0001 BC`.
    let year = match bc {
        true if year == 0 => return None,
        true => 1 - year,
        false => year,
    };
    let month: u32 = digits(m)? as u32;
    let day: u32 = digits(d)? as u32;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// `HH:MM:SS[.ffffff]` → microseconds since midnight (24:00:00 is allowed, as PostgreSQL does).
pub fn parse_time(s: &str) -> Option<i64> {
    let (hms, frac) = match s.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (s, None),
    };
    let mut parts = hms.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.len() != 2 || m.len() != 2 || sec.len() != 2 {
        return None;
    }
    let (h, m, sec) = (digits(h)?, digits(m)?, digits(sec)?);
    if h > 24 || m > 59 || sec > 60 {
        return None;
    }
    let mut micros = ((h * 60 + m) * 60 + sec) * MICROS_PER_SECOND;
    if let Some(frac) = frac {
        if frac.is_empty() || frac.len() > 6 {
            return None;
        }
        micros += digits(frac)? * 10i64.pow(6 - frac.len() as u32);
    }
    Some(micros)
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff][ BC]` → microseconds since 1970-01-01 00:00:00.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let (s, bc) = split_era(s);
    local_timestamp(s, bc)
}

fn local_timestamp(s: &str, bc: bool) -> Option<i64> {
    let (date, time) = s.split_once(' ')?;
    let days = parse_ymd(date, bc)?;
    days.checked_mul(MICROS_PER_DAY)?
        .checked_add(parse_time(time)?)
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]][ BC]` → microseconds since the Unix epoch, UTC.
pub fn parse_timestamptz(s: &str) -> Option<i64> {
    let (s, bc) = split_era(s);
    let sign_at = s.rfind(['+', '-'])?;
    let (local, offset) = s.split_at(sign_at);
    if !local.contains(' ') {
        return None;
    }
    let negative = offset.starts_with('-');
    let mut offset_secs = 0i64;
    for (i, part) in offset[1..].split(':').enumerate() {
        if i > 2 || part.len() != 2 {
            return None;
        }
        offset_secs += digits(part)? * [3600, 60, 1][i];
    }
    let offset_micros = offset_secs * MICROS_PER_SECOND;
    let local = local_timestamp(local, bc)?;
    if negative {
        local.checked_add(offset_micros)
    } else {
        local.checked_sub(offset_micros)
    }
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_before_and_after_the_epoch() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2026-11-24"), Some(20_781));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
        assert_eq!(parse_date("2000-02-29"), Some(11_016));
        assert_eq!(parse_date("0001-01-01"), Some(-719_162));
        assert_eq!(parse_date("infinity"), None);
        assert_eq!(parse_date("2026-13-01"), None);
    }

    #[test]
    fn times_and_timestamps() {
        assert_eq!(parse_time("10:15:30.123456"), Some(36_930_123_456));
        assert_eq!(parse_time("00:00:00"), Some(0));
        assert_eq!(parse_time("10:15:30.5"), Some(36_930_500_000));
        assert_eq!(parse_time("10:15"), None);
        assert_eq!(
            parse_timestamp("2026-11-24 10:15:30.123456"),
            Some(20_781 * MICROS_PER_DAY + 36_930_123_456)
        );
        let utc = parse_timestamptz("2026-11-24 10:15:30.123456+00").unwrap();
        assert_eq!(
            parse_timestamptz("2026-11-24 15:45:30.123456+05:30"),
            Some(utc)
        );
        assert_eq!(
            parse_timestamptz("2026-11-24 05:15:30.123456-05"),
            Some(utc)
        );
        assert_eq!(parse_timestamptz("infinity"), None);
        // Without an offset, a timestamptz is not one.
        assert_eq!(parse_timestamptz("2026-11-24 10:15:30 BC"), None);
    }

    /// PostgreSQL's ` BC` years are astronomical years 1 - Y (1 BC is year 0), so that the day
    /// before `0001-01-01` is `0001-12-31 BC` and 44 BC is year -43.
    #[test]
    fn bc_dates_and_timestamps_are_astronomical_years() {
        assert_eq!(parse_date("0001-12-31 BC"), Some(-719_163));
        assert_eq!(parse_date("0001-01-01 BC"), Some(-719_163 - 365));
        assert_eq!(
            parse_date("0044-03-15 BC"),
            Some(days_from_civil(-43, 3, 15))
        );
        // The first day PostgreSQL accepts (Julian day 0).
        assert_eq!(parse_date("4714-11-24 BC"), Some(-2_440_588));
        assert_eq!(parse_date("0000-01-01 BC"), None);
        assert_eq!(parse_date("0044-03-15 AD"), None);
        let ides = days_from_civil(-43, 3, 15) * MICROS_PER_DAY + 36_000_500_000;
        assert_eq!(parse_timestamp("0044-03-15 10:00:00.5 BC"), Some(ides));
        assert_eq!(parse_timestamptz("0044-03-15 10:00:00.5+00 BC"), Some(ides));
        assert_eq!(parse_timestamptz("0044-03-15 11:00:00.5+01 BC"), Some(ides));
        assert_eq!(
            parse_timestamptz("4714-11-24 00:00:00+00 BC"),
            Some(-2_440_588 * MICROS_PER_DAY)
        );
    }

    /// Structural properties that do not reuse the conversion being tested.
    mod props {
        use super::*;
        use proptest::prelude::*;

        fn is_leap(y: i64) -> bool {
            (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn consecutive_days_months_and_years(y in 1i64..=9999, m in 1u32..=12, d in 1u32..=27) {
                let date = |y: i64, m: u32, d: u32| parse_date(&format!("{y:04}-{m:02}-{d:02}")).unwrap();
                prop_assert_eq!(date(y, m, d + 1), date(y, m, d) + 1);
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                let month_len = date(ny, nm, 1) - date(y, m, 1);
                let expected = match m {
                    2 if is_leap(y) => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                prop_assert_eq!(month_len, expected);
                let year_len = date(y + 1, 1, 1) - date(y, 1, 1);
                prop_assert_eq!(year_len, if is_leap(y) { 366 } else { 365 });
            }

            #[test]
            fn times_and_offsets(
                days in 0i64..100_000,
                h in 0i64..24, m in 0i64..60, s in 0i64..60, frac in 0i64..1_000_000,
                oh in 0i64..16, om in 0i64..60, negative in any::<bool>(),
            ) {
                let time = format!("{h:02}:{m:02}:{s:02}.{frac:06}");
                let micros = ((h * 60 + m) * 60 + s) * MICROS_PER_SECOND + frac;
                prop_assert_eq!(parse_time(&time), Some(micros));
                let (y, mo, d) = civil_from_days(days);
                let local = format!("{y:04}-{mo:02}-{d:02} {time}");
                prop_assert_eq!(parse_timestamp(&local), Some(days * MICROS_PER_DAY + micros));
                let sign = if negative { '-' } else { '+' };
                let offset = (oh * 3600 + om * 60) * MICROS_PER_SECOND;
                let utc = days * MICROS_PER_DAY + micros + if negative { offset } else { -offset };
                prop_assert_eq!(parse_timestamptz(&format!("{local}{sign}{oh:02}:{om:02}")), Some(utc));
            }
        }

        /// The date `days` after 1970-01-01, by walking months (slow, obviously right).
        fn civil_from_days(mut days: i64) -> (i64, u32, u32) {
            let (mut y, mut m) = (1970i64, 1u32);
            loop {
                let len = match m {
                    2 if is_leap(y) => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                if days < len {
                    return (y, m, days as u32 + 1);
                }
                days -= len;
                (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            }
        }
    }
}

//! The commit instant a consumer's output line reports, as microseconds since 1970-01-01 UTC:
//! the latency measurement subtracts it from the wall clock, so each consumer's text form must
//! come back to the same epoch. Dates and clocks are parsed by `conduit-timefmt` (whose counts
//! are Unix-epoch microseconds, like `SystemTime`), not by a copy of its calendar arithmetic.

use conduit_timefmt::{parse_timestamp, parse_timestamptz};

/// What a consumer's line says about commit time: `None` for a line that is not about a commit
/// (pg_recvlogical's `BEGIN` and row lines), `Some(Err)` for one that should name its commit
/// time but could not be read.
pub(super) type CommitTime = Option<std::result::Result<i64, String>>;

/// `"commit_time":"2026-11-24T01:13:23.417581Z"` of a JSON line of `stdout-json`. Every line is
/// one change of one committed transaction, so every line counts: one without a readable
/// `commit_time` is `Some(Err)`.
pub(super) fn json_line(line: &str) -> CommitTime {
    const KEY: &str = "\"commit_time\":\"";
    let Some(start) = line.find(KEY).map(|at| at + KEY.len()) else {
        return Some(Err("no commit_time".into()));
    };
    let text = &line[start..];
    Some(match text.find('"') {
        Some(end) => parse_timestamptz(&text[..end]),
        None => Err("unterminated commit_time".into()),
    })
}

/// The `COMMIT 1234 (at 2026-11-24 07:10:11.123456+00)` lines of `test_decoding` with
/// `include-timestamp=on` (`include-xids=off` drops the xid); every other line is `None`.
pub(super) fn test_decoding_line(line: &str) -> CommitTime {
    let line = line.trim_end();
    if !line.starts_with("COMMIT") {
        return None;
    }
    const AT: &str = " (at ";
    Some(
        match line.find(AT).map(|at| &line[at + AT.len()..]) {
            Some(rest) => rest.strip_suffix(')').map(postgres_timestamptz),
            None => None,
        }
        .unwrap_or_else(|| Err(format!("{line:?} has no `(at …)` commit time"))),
    )
}

/// PostgreSQL's ISO text of a `timestamptz` in the session's time zone, `2026-11-24
/// 12:40:11.5+05:30` (fraction without trailing zeros or absent; offset `±HH`, `±HH:MM` or
/// `±HH:MM:SS`), as microseconds since 1970-01-01 UTC. The scratch server's zone is whatever
/// its cluster was given, so the offset is honoured, not assumed to be zero.
fn postgres_timestamptz(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not a timestamptz like 2026-11-24 07:10:11.123456+00");
    let (date, clock_and_zone) = text.split_once(' ').ok_or_else(bad)?;
    let sign_at = clock_and_zone.find(['+', '-']).ok_or_else(bad)?;
    let (clock, zone) = clock_and_zone.split_at(sign_at);
    let local = parse_timestamp(&format!("{date}T{clock}"))?;
    let (sign, zone) = match zone.split_at(1) {
        ("+", rest) => (1, rest),
        (_, rest) => (-1, rest),
    };
    let fields: Vec<&str> = zone.split(':').collect();
    let digits = |f: &&str| f.len() == 2 && f.bytes().all(|b| b.is_ascii_digit());
    if fields.len() > 3 || !fields.iter().all(digits) {
        return Err(bad());
    }
    let seconds: i64 = fields
        .iter()
        .zip([3600, 60, 1])
        .map(|(f, unit)| f.parse::<i64>().unwrap_or(0) * unit)
        .sum();
    Ok(local - sign * seconds * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commit_time() {
        let line = r#"{"op":"insert","commit_time":"2026-11-24T01:13:23.417581Z","seq":0}"#;
        // date -u -d 2026-11-24T01:13:23Z +%s
        assert_eq!(json_line(line), Some(Ok(1_795_482_803_417_581)));
        assert_eq!(
            json_line(r#""commit_time":"1970-01-01T00:00:01.5Z""#),
            Some(Ok(1_500_000))
        );
        assert!(matches!(json_line(r#"{"op":"insert"}"#), Some(Err(_))));
    }

    #[test]
    fn parses_test_decoding_commit_lines() {
        // The same instant as above, printed in three time zones.
        let utc = 1_795_482_803_417_581;
        assert_eq!(
            test_decoding_line("COMMIT 1234 (at 2026-11-24 01:13:23.417581+00)\n"),
            Some(Ok(utc))
        );
        assert_eq!(
            test_decoding_line("COMMIT 1234 (at 2026-11-24 06:43:23.417581+05:30)"),
            Some(Ok(utc))
        );
        assert_eq!(
            test_decoding_line("COMMIT (at 2026-11-23 20:13:23.417581-05)"),
            Some(Ok(utc))
        );
        // Whole seconds print no fraction; an offset may have seconds (LMT zones).
        assert_eq!(
            test_decoding_line("COMMIT 7 (at 1970-01-01 00:00:01+00)"),
            Some(Ok(1_000_000))
        );
        assert_eq!(
            test_decoding_line("COMMIT 7 (at 1970-01-01 00:00:01+00:00:30)"),
            Some(Ok(-29_000_000))
        );
        // As printed by pg_recvlogical 15 with the server's TimeZone set to Asia/Kolkata
        // (date -u -d "2026-11-24 12:37:54+05:30" +%s).
        assert_eq!(
            test_decoding_line("COMMIT 726 (at 2026-11-24 12:37:54.847966+05:30)"),
            Some(Ok(1_795_504_074_847_966))
        );
        // ... and with America/St_Johns (date -u -d "2026-11-24 03:43:51-03:30" +%s).
        assert_eq!(
            test_decoding_line("COMMIT 6808 (at 2026-11-24 03:43:51.791335-03:30)"),
            Some(Ok(1_795_504_431_791_335))
        );
        assert_eq!(test_decoding_line("BEGIN 1234"), None);
        assert_eq!(
            test_decoding_line("table public.bench_lat: INSERT: id[bigint]:1"),
            None
        );
        assert!(matches!(test_decoding_line("COMMIT 1234"), Some(Err(_))));
        assert!(matches!(
            test_decoding_line("COMMIT 1 (at 2026-11-24 01:13:23.5+5)"),
            Some(Err(_))
        ));
    }
}

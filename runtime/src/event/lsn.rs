//! Log sequence numbers.

use std::fmt;
use std::str::FromStr;

/// A position in PostgreSQL's write-ahead log.
///
/// Printed and parsed in PostgreSQL's own `X/X` form (upper-case hex, high and low 32 bits), so
/// that what we log can be pasted into `pg_replication_slots` queries and compared by eye. This
/// is the runtime's one text form of an LSN (logs, `--stop-at`, checkpoint files, event files);
/// the text itself is defined in `conduit-timefmt` ([`conduit_timefmt::lsn`],
/// [`conduit_timefmt::parse_lsn`]), the crate the guest SDK's JSON line format shares, so a sink
/// prints the same text for the same position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        conduit_timefmt::write_lsn(f, self.0)
    }
}

impl FromStr for Lsn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        conduit_timefmt::parse_lsn(s).map(Lsn).ok_or_else(|| {
            format!("invalid LSN {s:?}: expected PostgreSQL's X/X form, e.g. 16/B374D848")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Lsn;

    #[test]
    fn round_trips_postgres_form() {
        let lsn: Lsn = "16/B374D848".parse().unwrap();
        assert_eq!(lsn.0, 0x16_B374_D848);
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert_eq!(Lsn(0).to_string(), "0/0");
        assert!("16B374D848".parse::<Lsn>().is_err());
        assert!("G/0".parse::<Lsn>().is_err());
    }
}

//! Text forms of log positions, instants, dates and times in the JSON line format.
//!
//! They live in the `conduit-timefmt` crate, which the runtime's event files use too, so that a
//! sink and a recording print the same text for the same value.

pub use conduit_timefmt::{civil_from_days, date, lsn, time, timestamp, timestamptz};

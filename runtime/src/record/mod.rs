//! Recorded events: batches of changes in a file, to replay into a sink without a database
//! (`conduit-wasm test --events FILE`) or to capture them from a real run (`run --record FILE`).
//!
//! # The format (`.jsonl`, version 1)
//!
//! JSON Lines: one JSON object per line, UTF-8, `\n` after every line. A file is a sequence of
//! batches; a batch is one *batch line* followed by one *change line* per change, so a file reads
//! (and diffs) one row change per line, and every value says what kind it is.
//!
//! ```text
//! {"format":"conduit-wasm-events","version":1}
//! {"batch":0,"relations":[{"oid":16384,"schema":"public","name":"orders","columns":[{"name":"id","type":"integer","oid":23,"key":true},{"name":"note","type":"text","oid":25,"key":false}]}]}
//! {"op":"insert","rel":0,"table":"public.orders","xid":740,"commit_lsn":"16/B374D848","end_lsn":"16/B374D878","commit_time":"2026-11-24T10:15:30.123456Z","seq":0,"new":[{"int":7},{"text":"hi"}]}
//! {"op":"update","rel":0,"table":"public.orders","xid":741,...,"seq":0,"new":[{"int":7},"unchanged-toast"],"old":{"key_only":true,"values":[{"int":6},null]}}
//! {"batch":1,"relations":[]}
//! ```
//!
//! * The first line may be the header `{"format":"conduit-wasm-events","version":1}` (the
//!   [`Recorder`] writes it; hand-written files may leave it out). Empty lines are skipped.
//! * **Batch line**: `"batch"` (its position in the file, for people; not checked), `"relations"`
//!   exactly as the sink receives them — `oid`, `schema`, `name`, `columns` with `name`, `type`
//!   (the type name), `oid` (the type OID) and `key` — and an optional `"note"` (free text, ignored)
//!   that says what the batch is for. A batch with no change lines after it is an empty batch.
//! * **Change line**: `"op"` (`insert`, `update`, `delete`, `truncate`, or `read` for a row an
//!   initial snapshot read, see `wit/sink.wit`); `"rel"`, the index into its
//!   batch's `relations`; `"table"`, that relation's `schema.name` (optional; when present it must
//!   match, which catches a hand edit gone wrong); `"xid"`; `"commit_lsn"` and `"end_lsn"` in
//!   PostgreSQL's `X/X` form (or plain integers); `"commit_time"` as RFC 3339 UTC with
//!   microseconds (or microseconds since 1970 as an integer); `"seq"`; `"new"`: the row image, one
//!   value per column in column order, or absent/null; `"old"`: `{"key_only":bool,"values":[…]}`, or
//!   absent/null.
//! * **Values** keep every distinction the sink sees: `null` is SQL NULL; the string
//!   `"unchanged-toast"` is an unchanged TOAST column (not NULL); every other value is an object
//!   with one key naming its kind, as in `wit/sink.wit`:
//!
//!   | kind | example | notes |
//!   |---|---|---|
//!   | `int` | `{"int":-42}` | i64, exact |
//!   | `float` | `{"float":"1.5"}` | shortest round-trip decimal; `"NaN"`, `"Infinity"`, `"-Infinity"`, `"-0"`; a JSON number is accepted when reading |
//!   | `boolean` | `{"boolean":true}` | |
//!   | `numeric` | `{"numeric":"12345.6700"}` | PostgreSQL's digits, untouched |
//!   | `text`, `uuid`, `other` | `{"text":"ünï"}` | |
//!   | `bytes` | `{"bytes":"deadbeef"}` | lower-case hex |
//!   | `json` | `{"json":"{\"a\": 1}"}` | the document's exact text |
//!   | `timestamptz` | `{"timestamptz":"2026-11-24T10:15:30.123456Z"}` | or an integer of microseconds |
//!   | `timestamp` | `{"timestamp":"2026-11-24T10:15:30.123456"}` | or an integer of microseconds |
//!   | `date` | `{"date":"2026-11-24"}` | or an integer of days |
//!   | `time` | `{"time":"10:15:30.123456"}` | or an integer of microseconds |
//!   | `array` | `{"array":[{"int":1},null]}` | elements are values other than `"unchanged-toast"` and `array` |
//!
//!   Years outside 0000–9999 are written `+10000-01-01` / `-0001-12-31` (astronomical numbering),
//!   as the JSON line format does; every `i64` instant and `i32` date round-trips.
//!
//! `read` was added (with contract 0.2.0) without changing the version: every file written before
//! still reads the same, and a release from before it refuses a file containing a read, naming
//! the op. Replayed into a sink built against contract 0.1.0, reads arrive as inserts.
//!
//! Unknown keys are errors (a typo must not silently drop data). Reading a file and writing it
//! again gives the same bytes, except for `note`s and hand-written shortcuts (integers for
//! instants, numbers for floats, a missing header), which are normalised.

mod parse;
mod read;
mod recorder;
mod write;

#[cfg(test)]
mod tests;

pub use read::{read_events, EventReader, EventsError};
pub use recorder::Recorder;
pub use write::batch_lines;

use crate::event::Relation;

/// The events `conduit-wasm test` replays when no `--events` file is given: a small shop's
/// customers and orders through every operation (a snapshot's reads, inserts, an update with an
/// unchanged TOAST value, a delete, a truncate) and the common value kinds. It is
/// `tests/events/sample.jsonl`, so the golden and scaffold tests that cover every shipped file
/// cover it too.
pub const SAMPLE_EVENTS: &str = include_str!("../../../tests/events/sample.jsonl");

/// The first line of a file written by the [`Recorder`].
pub const HEADER: &str = r#"{"format":"conduit-wasm-events","version":1}"#;

const FORMAT_NAME: &str = "conduit-wasm-events";
const FORMAT_VERSION: u64 = 1;

/// A relation's `schema.name`, as change lines' `"table"` shows it.
fn qualified(rel: &Relation) -> String {
    format!("{}.{}", rel.schema, rel.name)
}

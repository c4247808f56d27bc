//! The event model: what a change is, independent of where it came from or where it goes.
//!
//! Every stage (source, decode, assemble, route, pipeline, record, sandbox) imports this module;
//! it imports none of them. Keeping it at the bottom is what lets the sandbox be a leaf and the
//! pipeline be tested without a database or a WebAssembly engine.

mod lsn;
mod size;
pub mod wit;

pub use lsn::Lsn;
pub use size::change_bytes;
pub use wit::{Batch, Change, Column, Datum, OldRow, Operation, Relation, SinkError, Value};

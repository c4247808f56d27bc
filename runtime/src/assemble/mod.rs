//! Assemble: pgoutput messages → committed transactions of typed changes.
//!
//! The decoder gives protocol messages with raw tuple bytes; this module keeps the relation and
//! type caches the protocol relies on (a Relation message precedes the first change of a table
//! after it is first seen or altered) and collects a transaction's changes between Begin and
//! Commit, typing each value on the way.

pub(crate) mod datetime;
mod relation;
mod stream_block;
pub mod streamed;
mod transaction;
pub mod types;
pub mod value;

pub use relation::RelationInfo;
pub use stream_block::{Replayed, StreamBlocks, Taken};
pub use streamed::{Replay, StreamedTransactions};
pub use transaction::{AssembleError, Assembler, RowChange, Transaction, HEARTBEAT, MARK_PREFIX};
pub use types::TypeRegistry;

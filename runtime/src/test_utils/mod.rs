//! Fakes for in-process tests of the pipeline, next to the real parts (never instead of them:
//! the end-to-end tests in `tests/` run the real binary, real sinks and a real PostgreSQL).
//!
//! - [`MemorySink`]: a sink that keeps what it accepted and fails when told to.
//! - [`crate::checkpoint::MemoryStore`]: positions in memory.
//! - [`crate::pipeline::failpoint`]: a checkpoint write or the connection failing on cue.

mod memory_sink;

pub use memory_sink::MemorySink;

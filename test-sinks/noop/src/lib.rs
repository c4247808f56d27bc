//! A sink that accepts every batch and does nothing with it.
//!
//! The baseline of `cargo xtask bench` and of the runtime's criterion benchmarks: what is left of
//! a run with this sink is the runtime's own cost (reading, decoding, assembling, routing, copying
//! each batch into the guest and the guest lifting it into its Rust types) plus PostgreSQL's.

use conduit_sink_sdk::{Batch, Config, Sink, SinkError};

struct Noop;

impl Sink for Noop {
    fn connect(_config: Config) -> Result<Self, SinkError> {
        Ok(Noop)
    }

    fn publish(&mut self, _batch: &Batch) -> Result<(), SinkError> {
        Ok(())
    }
}

conduit_sink_sdk::export_sink!(Noop);

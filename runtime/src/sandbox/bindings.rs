//! Host-side bindings generated from `wit/`, the single definition of the sink contract.
//!
//! The generated record types double as the runtime's event model: the assembler builds
//! `Change`s and `Relation`s directly in the shape the guest receives, so nothing is converted
//! twice on the way into a sink.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "sink-component",
    additional_derives: [PartialEq],
});

pub use conduit::sink::types::{
    Batch, Change, Column, Datum, OldRow, Operation, Relation, SinkError, Value,
};
pub use exports::conduit::sink::sink::Guest as SinkExports;

/// The exported interface's name, as a component lists it among its exports.
pub const SINK_INTERFACE: &str = "conduit:sink/sink@0.1.0";

//! Host-side bindings of the sink world, generated from `wit/`, the single definition of the sink
//! contract.
//!
//! The record types (`Change`, `Relation`, …) are not generated again here: they are the event
//! model's ([`crate::event::wit`]), so that a batch assembled upstream is handed to the guest as
//! it is. Components built against the previous contract (0.1.0) are called through
//! [`super::v0_1`] instead.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "sink-component",
    with: {
        "conduit:sink/types": crate::event::wit::conduit::sink::types,
    },
});

pub use crate::event::{Batch, SinkError};
pub use exports::conduit::sink::sink::Guest as SinkExports;

/// The exported interface's name, as a component built against the current contract lists it
/// among its exports.
pub const SINK_INTERFACE: &str = "conduit:sink/sink@0.2.0";

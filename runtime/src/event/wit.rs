//! The change model's types, generated from the `types` interface of `wit/`, the contract every
//! guest language is built against.
//!
//! They are generated here, at the bottom of the crate, rather than by the sandbox: the
//! assembler builds `Change`s and `Relation`s directly in the shape the guest receives (nothing
//! is converted twice on the way into a sink), and routing, recording and the pipeline use them
//! without depending on the WebAssembly host. The sandbox's own bindings refer back to these
//! types (`with` in its `bindgen!`), so there is one Rust type per WIT type.
//!
//! These are the current contract's (0.2.0) types. Sinks built against 0.1.0 are handed the same
//! values through a borrowed view that differs only in `operation` (`sandbox::v0_1`).

wasmtime::component::bindgen!({
    path: "../wit",
    interfaces: "import conduit:sink/types@0.2.0;",
    additional_derives: [PartialEq],
});

pub use conduit::sink::types::*;

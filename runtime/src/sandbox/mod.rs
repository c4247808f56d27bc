//! The wasmtime host: compiles sink components once, runs each sink in its own `Store` with a
//! memory cap and a per-call CPU deadline, and gives it only the WASI capabilities it was granted.
//!
//! A leaf: it imports only the event model ([`crate::event`]) and the error type. Guest calls are
//! synchronous; the pipeline calls sinks on threads of its own (`pipeline::pool`), because
//! wasmtime-wasi's synchronous bindings block on a tokio runtime internally, which must not happen
//! on one of the replication loop's tokio threads.

pub mod bindings;
mod cache;
mod capabilities;
mod contract;
mod engine;
mod http;
mod inspect;
mod instance;
mod limits;
mod output;
mod output_file;
mod state;
mod v0_1;

pub use capabilities::{Capabilities, Output};
pub use contract::Contract;
pub use engine::SandboxEngine;
pub use http::{HttpOrigin, HttpScheme};
pub use inspect::{inspect_file, precheck_file, SinkBytes, SinkDescription};
pub use instance::{CallError, SinkInstance, SinkPre};
pub use limits::SinkLimits;
pub use output_file::OutputFile;

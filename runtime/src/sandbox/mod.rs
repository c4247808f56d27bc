//! The wasmtime host: compiles sink components once, runs each sink in its own `Store` with a
//! memory cap and a per-call CPU deadline, and gives it only the WASI capabilities it was granted.
//!
//! Guest calls are synchronous and run on a thread of their own (see [`worker`]): wasmtime-wasi's
//! synchronous bindings block on a tokio runtime internally, which must not happen on one of the
//! replication loop's tokio threads, and the replication loop must stay free to answer keepalives
//! while a sink is busy.

pub mod bindings;
mod cache;
mod capabilities;
mod engine;
mod http;
mod inspect;
mod instance;
mod limits;
mod output;
mod state;
pub mod worker;

pub use capabilities::{Capabilities, Output};
pub use engine::SandboxEngine;
pub use http::{HttpOrigin, HttpScheme};
pub use inspect::{inspect_file, SinkDescription};
pub use instance::{CallError, SinkInstance};
pub use limits::SinkLimits;

//! conduit-wasm: PostgreSQL change-data-capture into sandboxed WebAssembly sink components.
//!
//! The data's path is source → decode → assemble → route → pipeline (batch, sink, checkpoint);
//! [`event`] is the model every stage shares, [`sandbox`] hosts the components, [`launch`] is the
//! entry point that builds and runs a pipeline, and [`cli`] only parses and prints. A map of the
//! folders: `docs/architecture.md`.
pub mod assemble;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod decode;
pub mod error;
pub mod event;
pub mod launch;
pub mod metrics;
pub mod pipeline;
pub mod record;
pub mod route;
pub mod sandbox;
pub mod scratch;
pub mod source;
#[cfg(any(test, feature = "failpoints"))]
pub mod test_utils;

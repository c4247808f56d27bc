//! conduit-wasm runtime (work in progress).
pub mod assemble;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod decode;
pub mod error;
pub mod event;
pub mod pipeline;
pub mod record;
pub mod route;
pub mod sandbox;
pub mod scratch;
pub mod source;

//! Source: the replication connection.
//!
//! [`setup`] checks the server and ensures the publication and slot over an ordinary SQL
//! connection (tokio-postgres); [`wire`] and [`stream`] are our own small frontend for the
//! replication connection itself, which tokio-postgres cannot open; [`session`] ties them
//! together into "stream from this position".

pub mod catalog;
pub mod conninfo;
pub mod session;
pub mod setup;
pub mod stream;
pub mod tls;
pub mod wire;

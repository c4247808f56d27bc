//! Source: the replication connection.
//!
//! [`setup`] checks the server and ensures the publication and slot over an ordinary SQL
//! connection (tokio-postgres); [`wire`] and [`stream`] are our own small frontend for the
//! replication connection itself, which tokio-postgres cannot open; [`replication`] ties them
//! together into "stream from this position". [`catalog`] reads table and type descriptions,
//! [`conninfo`] parses the source URL once for both connections, [`tls`] decides TLS for both.

pub mod backfill;
pub mod catalog;
pub mod conninfo;
mod copy_text;
pub mod quote;
pub mod replication;
pub mod setup;
pub mod snapshot;
pub mod stream;
pub mod tls;
pub mod wire;

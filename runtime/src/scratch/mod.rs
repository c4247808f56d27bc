//! Throwaway PostgreSQL clusters.
//!
//! One implementation of "start a PostgreSQL server I can throw away", used by the product
//! (`conduit-wasm run` without `--source` starts one so that a newcomer sees changes flow without
//! setting anything up) and by every test.
//!
//! A [`ScratchCluster`] lives in a fresh temporary directory: `initdb` creates `data/` there, the
//! server listens on `127.0.0.1` on a free port and puts its Unix socket in the same directory,
//! and its log goes to `server.log` next to the data. Dropping the value stops the server
//! (immediate shutdown) and removes the directory.
//!
//! ```no_run
//! # async fn demo() -> Result<(), conduit_wasm::scratch::ScratchError> {
//! use conduit_wasm::scratch::{ScratchCluster, ScratchOptions};
//! let pg = ScratchCluster::start(ScratchOptions::default()).await?;
//! println!("PostgreSQL is at {}", pg.url());
//! # Ok(()) }
//! ```
//!
//! Running as root: `initdb` and `postgres` refuse to run as root, so when the effective uid is 0
//! the temporary directory is given to the `postgres` user and every server program is started
//! with that user's uid and gid (`setuid`/`setgid` in the child, supplementary groups dropped; the
//! same effect as `runuser -u postgres --`, but the postmaster stays our direct child, so we see
//! when it exits and no PAM session sits in between).
//!
//! Blocking: [`ScratchCluster::start`] is async (it awaits `initdb` and polls for readiness without
//! blocking the runtime). `Drop` runs `pg_ctl stop -m immediate`, which blocks the calling thread
//! for about 0.1–0.5 s; call [`ScratchCluster::stop`] inside `tokio::task::spawn_blocking` if that
//! matters.

mod binaries;
mod cluster;
mod error;
mod options;
mod run_as;
mod server;

#[cfg(test)]
mod tests;

pub use binaries::PgBinaries;
pub use cluster::ScratchCluster;
pub use error::ScratchError;
pub use options::{ScratchAuth, ScratchOptions};
pub use server::ShutdownMode;

/// Environment variable naming a directory that holds `initdb` and `postgres`; checked before
/// `PATH` and the usual install locations.
pub const BINDIR_ENV: &str = "CONDUIT_PG_BINDIR";

/// The host the scratch server listens on.
pub const HOST: &str = "127.0.0.1";

//! Why a scratch server could not be started.

use std::io;
use std::time::Duration;

/// Why a scratch server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    #[error(
        "PostgreSQL server binaries not found: install postgresql (apt-get install postgresql) \
         or put initdb on PATH"
    )]
    BinariesNotFound,
    #[error(
        "running as root, and there is no `postgres` user to run the PostgreSQL server as \
         (initdb refuses root): create one (useradd --system postgres) or run as another user"
    )]
    NoPostgresUser,
    #[error("invalid scratch server option: {0}")]
    InvalidOption(String),
    #[error("scratch PostgreSQL: {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("initdb failed ({status}): {output}")]
    Initdb { status: String, output: String },
    #[error(
        "scratch PostgreSQL server exited during start-up ({status}); server log tail:\n{log}"
    )]
    Exited { status: String, log: String },
    #[error(
        "scratch PostgreSQL server did not accept connections within {}s; server log tail:\n{log}",
        timeout.as_secs()
    )]
    StartTimeout { timeout: Duration, log: String },
}

pub(super) fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ScratchError {
    let context = context.into();
    move |source| ScratchError::Io { context, source }
}

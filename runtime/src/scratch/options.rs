//! What a scratch server is set up with: authentication and `postgresql.conf` settings.

use std::fmt;
use std::time::Duration;

use super::ScratchError;

/// How clients authenticate to a scratch server.
#[derive(Clone, PartialEq, Eq)]
pub enum ScratchAuth {
    /// Anyone connecting from this machine is let in as any role, without a password. The
    /// superuser is `postgres`.
    Trust,
    /// Every connection (TCP and Unix socket, normal and replication) must give a SCRAM-SHA-256
    /// password. The superuser is `user`, with `password`.
    Scram { user: String, password: String },
}

impl fmt::Debug for ScratchAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScratchAuth::Trust => f.write_str("Trust"),
            ScratchAuth::Scram { user, .. } => f
                .debug_struct("Scram")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

/// How to set up a scratch server. `ScratchOptions::default()` is what the product uses: trust
/// authentication, `wal_level=logical`, durable writes.
#[derive(Debug, Clone)]
pub struct ScratchOptions {
    pub auth: ScratchAuth,
    /// Start with `wal_level=logical` (default true). False leaves the server's default
    /// (`replica`), for testing how the runtime reports a server that cannot do logical
    /// replication.
    pub wal_level_logical: bool,
    /// More `postgresql.conf` settings, applied after the built-in ones (so they win).
    pub extra_conf: Vec<(String, String)>,
    /// `fsync=off`: faster, and a crash of the machine loses the data. Off by default; tests may
    /// opt in.
    pub fsync_off: bool,
    /// How long `initdb` plus server start-up may take before `start` gives up.
    pub start_timeout: Duration,
}

impl Default for ScratchOptions {
    fn default() -> Self {
        ScratchOptions {
            auth: ScratchAuth::Trust,
            wal_level_logical: true,
            extra_conf: Vec::new(),
            fsync_off: false,
            start_timeout: Duration::from_secs(60),
        }
    }
}

impl ScratchOptions {
    /// Require SCRAM-SHA-256 passwords; `user` is the superuser.
    pub fn scram(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = ScratchAuth::Scram {
            user: user.into(),
            password: password.into(),
        };
        self
    }

    /// Leave `wal_level` at the server default (`replica`).
    pub fn without_logical_wal(mut self) -> Self {
        self.wal_level_logical = false;
        self
    }

    /// Add one `postgresql.conf` setting.
    pub fn conf(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_conf.push((key.into(), value.into()));
        self
    }

    /// Turn `fsync` off (tests only: a machine crash loses the data).
    pub fn fsync_off(mut self) -> Self {
        self.fsync_off = true;
        self
    }

    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }
}

/// A `postgresql.conf` line: `key = 'value'`.
pub(super) fn conf_line(key: &str, value: &str) -> Result<String, ScratchError> {
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return Err(ScratchError::InvalidOption(format!(
            "setting name {key:?} is not a PostgreSQL parameter name"
        )));
    }
    if value.contains(['\n', '\r', '\0']) {
        return Err(ScratchError::InvalidOption(format!(
            "value of {key} contains a line break or NUL"
        )));
    }
    let value = value.replace('\\', "\\\\").replace('\'', "''");
    Ok(format!("{key} = '{value}'\n"))
}

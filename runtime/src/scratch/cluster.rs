//! A scratch cluster: creating it (`initdb`, `postgresql.conf`), what callers ask of it (URLs,
//! directories, the log, connections), and removing it when it is dropped. Starting and stopping
//! the server process is in `server.rs`.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Instant;

use super::binaries::PgBinaries;
use super::error::io_err;
use super::options::{conf_line, ScratchAuth, ScratchOptions};
use super::run_as::{effective_uid, lookup_user, write_private, RunAs};
use super::server::tail;
use super::{ScratchError, HOST};

/// A running throwaway PostgreSQL server. Dropping it stops the server and deletes its files.
pub struct ScratchCluster {
    pub(super) child: Option<Child>,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) password: Option<String>,
    pub(super) data_dir: PathBuf,
    pub(super) log_path: PathBuf,
    pub(super) bins: PgBinaries,
    pub(super) run_as: Option<RunAs>,
    // Declared last: dropped after the server has been stopped.
    pub(super) dir: tempfile::TempDir,
}

impl fmt::Debug for ScratchCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScratchCluster")
            .field("port", &self.port)
            .field("user", &self.user)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl ScratchCluster {
    /// Creates a cluster in a new temporary directory, starts it on a free loopback port and
    /// returns once it answers a query.
    pub async fn start(opts: ScratchOptions) -> Result<ScratchCluster, ScratchError> {
        let deadline = Instant::now() + opts.start_timeout;
        let bins = PgBinaries::find()?;
        let run_as = if effective_uid() == Some(0) {
            Some(lookup_user("postgres").ok_or(ScratchError::NoPostgresUser)?)
        } else {
            None
        };
        let (user, password) = match &opts.auth {
            ScratchAuth::Trust => ("postgres".to_string(), None),
            ScratchAuth::Scram { user, password } => {
                if user.is_empty() || password.is_empty() {
                    return Err(ScratchError::InvalidOption(
                        "SCRAM authentication needs a user name and a non-empty password".into(),
                    ));
                }
                (user.clone(), Some(password.clone()))
            }
        };
        // Check the settings before doing any work.
        let mut conf = String::from("\n# conduit-wasm scratch cluster\n");
        let mut settings: Vec<(String, String)> = vec![
            ("listen_addresses".into(), HOST.into()),
            ("max_wal_senders".into(), "10".into()),
            ("max_replication_slots".into(), "10".into()),
        ];
        if opts.wal_level_logical {
            settings.push(("wal_level".into(), "logical".into()));
        }
        if opts.fsync_off {
            settings.push(("fsync".into(), "off".into()));
        }
        settings.extend(opts.extra_conf.iter().cloned());

        let dir = tempfile::Builder::new()
            .prefix("conduit-scratch-")
            .tempdir()
            .map_err(io_err("creating a temporary directory"))?;
        let socket_dir = dir.path().to_path_buf();
        settings.push((
            "unix_socket_directories".into(),
            socket_dir.to_string_lossy().into_owned(),
        ));
        for (k, v) in &settings {
            conf.push_str(&conf_line(k, v)?);
        }
        if let Some(ra) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(ra.uid), Some(ra.gid)).map_err(io_err(
                format!("giving {} to postgres", dir.path().display()),
            ))?;
        }
        let data_dir = dir.path().join("data");
        let log_path = dir.path().join("server.log");

        // initdb
        let mut initdb = tokio::process::Command::new(bins.initdb());
        initdb
            .arg("-D")
            .arg(&data_dir)
            .arg("-U")
            .arg(&user)
            .args(["-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
            .current_dir(dir.path())
            .env_remove("PGDATA")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(ra) = run_as {
            initdb.uid(ra.uid).gid(ra.gid);
        }
        let pwfile = dir.path().join("pwfile");
        match &password {
            None => {
                initdb.arg("--auth=trust");
            }
            Some(pw) => {
                write_private(&pwfile, pw.as_bytes(), run_as)?;
                initdb
                    .arg("--auth=scram-sha-256")
                    .arg("--pwfile")
                    .arg(&pwfile);
            }
        }
        let out = tokio::time::timeout(
            deadline.saturating_duration_since(Instant::now()),
            initdb.output(),
        )
        .await;
        let _ = fs::remove_file(&pwfile);
        let out = match out {
            Err(_) => {
                return Err(ScratchError::Initdb {
                    status: "timed out".into(),
                    output: String::new(),
                })
            }
            Ok(r) => r.map_err(io_err(format!("running {}", bins.initdb().display())))?,
        };
        if !out.status.success() {
            let mut output = String::from_utf8_lossy(&out.stderr).into_owned();
            output.push_str(&String::from_utf8_lossy(&out.stdout));
            if run_as.is_some() && output.contains("Permission denied") {
                output.push_str(
                    " (initdb runs as the postgres user: the temporary directory, see TMPDIR, \
                     must be reachable by that user)",
                );
            }
            return Err(ScratchError::Initdb {
                status: out.status.to_string(),
                output: output.trim().to_string(),
            });
        }
        fs::OpenOptions::new()
            .append(true)
            .open(data_dir.join("postgresql.conf"))
            .and_then(|mut f| f.write_all(conf.as_bytes()))
            .map_err(io_err("writing postgresql.conf"))?;

        let mut cluster = ScratchCluster {
            child: None,
            port: 0,
            user,
            password,
            data_dir,
            log_path,
            bins,
            run_as,
            dir,
        };
        cluster.launch(deadline, opts.start_timeout).await?;
        Ok(cluster)
    }

    /// The TCP port the server listens on (on [`HOST`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Always `127.0.0.1`.
    pub fn host(&self) -> &str {
        HOST
    }

    /// `postgres://USER[:PASSWORD]@127.0.0.1:PORT/postgres`: the superuser, database `postgres`.
    pub fn url(&self) -> String {
        self.url_for(&self.user, self.password.as_deref(), "postgres")
    }

    /// A URL for another role or database on this server.
    pub fn url_for(&self, user: &str, password: Option<&str>, dbname: &str) -> String {
        let auth = match password {
            Some(pw) => format!("{}:{}", url_encode(user), url_encode(pw)),
            None => url_encode(user),
        };
        format!(
            "postgres://{auth}@{HOST}:{}/{}",
            self.port,
            url_encode(dbname)
        )
    }

    /// The superuser's name (`postgres`, or the SCRAM user).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The superuser's password with SCRAM authentication.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The cluster's data directory (`PGDATA`).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where the Unix-domain socket is (for `psql -h`).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last `lines` lines of the server log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path, lines)
    }

    /// Opens a normal (non-replication) connection as the superuser; the connection is driven by
    /// a spawned task. Needs a tokio runtime.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, conn) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }
}

impl Drop for ScratchCluster {
    fn drop(&mut self) {
        self.shutdown();
        // `dir` (a TempDir) is dropped after this and removes everything.
    }
}

/// Percent-encodes a URL userinfo component.
pub(super) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

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

use std::fmt;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming a directory that holds `initdb` and `postgres`; checked before
/// `PATH` and the usual install locations.
pub const BINDIR_ENV: &str = "CONDUIT_PG_BINDIR";

/// The host the scratch server listens on.
pub const HOST: &str = "127.0.0.1";

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

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ScratchError {
    let context = context.into();
    move |source| ScratchError::Io { context, source }
}

/// Where the server programs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    pub bin_dir: PathBuf,
}

impl PgBinaries {
    pub fn initdb(&self) -> PathBuf {
        self.bin_dir.join("initdb")
    }
    pub fn postgres(&self) -> PathBuf {
        self.bin_dir.join("postgres")
    }
    pub fn pg_ctl(&self) -> PathBuf {
        self.bin_dir.join("pg_ctl")
    }

    /// Finds `initdb` and `postgres`: in `$CONDUIT_PG_BINDIR`, else next to the first `initdb` on
    /// `PATH` (symlinks resolved), else in the highest-versioned `/usr/lib/postgresql/*/bin`, else
    /// `/usr/local/pgsql/bin`.
    pub fn find() -> Result<PgBinaries, ScratchError> {
        let explicit = std::env::var_os(BINDIR_ENV).map(PathBuf::from);
        let path = std::env::var_os("PATH").unwrap_or_default();
        find_binaries(
            explicit.as_deref(),
            &path,
            &[
                Path::new("/usr/lib/postgresql"),
                Path::new("/usr/local/pgsql/bin"),
            ],
        )
    }
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn complete_bin_dir(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"))
}

/// The search behind [`PgBinaries::find`], with its inputs explicit. A root ending in `bin` is a
/// bin directory; any other root holds versioned installs (`<root>/<version>/bin`).
fn find_binaries(
    explicit: Option<&Path>,
    path_var: &std::ffi::OsStr,
    roots: &[&Path],
) -> Result<PgBinaries, ScratchError> {
    if let Some(dir) = explicit {
        if complete_bin_dir(dir) {
            return Ok(PgBinaries {
                bin_dir: dir.to_path_buf(),
            });
        }
    }
    for dir in std::env::split_paths(path_var) {
        let initdb = dir.join("initdb");
        if !is_executable(&initdb) {
            continue;
        }
        let real = fs::canonicalize(&initdb).unwrap_or(initdb);
        if let Some(parent) = real.parent() {
            if complete_bin_dir(parent) {
                return Ok(PgBinaries {
                    bin_dir: parent.to_path_buf(),
                });
            }
        }
        if complete_bin_dir(&dir) {
            return Ok(PgBinaries { bin_dir: dir });
        }
    }
    for root in roots {
        if root.file_name().is_some_and(|n| n == "bin") {
            if complete_bin_dir(root) {
                return Ok(PgBinaries {
                    bin_dir: root.to_path_buf(),
                });
            }
            continue;
        }
        let Ok(entries) = fs::read_dir(root) else {
            continue;
        };
        let mut versions: Vec<(Vec<u64>, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let key: Vec<u64> = name
                    .split('.')
                    .map(|p| p.parse::<u64>().ok())
                    .collect::<Option<_>>()?;
                Some((key, e.path().join("bin")))
            })
            .filter(|(_, bin)| complete_bin_dir(bin))
            .collect();
        versions.sort();
        if let Some((_, bin)) = versions.pop() {
            return Ok(PgBinaries { bin_dir: bin });
        }
    }
    Err(ScratchError::BinariesNotFound)
}

/// The user the server programs run as, when we are root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RunAs {
    uid: u32,
    gid: u32,
}

fn effective_uid() -> Option<u32> {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            if let Some(rest) = line.strip_prefix("Uid:") {
                // real, effective, saved, filesystem
                return rest.split_whitespace().nth(1).and_then(|s| s.parse().ok());
            }
        }
    }
    let out = Command::new("id").arg("-u").output().ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

fn lookup_user(name: &str) -> Option<RunAs> {
    if let Ok(passwd) = fs::read_to_string("/etc/passwd") {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() >= 4 && f[0] == name {
                if let (Ok(uid), Ok(gid)) = (f[2].parse(), f[3].parse()) {
                    return Some(RunAs { uid, gid });
                }
            }
        }
    }
    // Users from NSS (LDAP, ...).
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").arg(flag).arg(name).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    Some(RunAs {
        uid: id("-u")?,
        gid: id("-g")?,
    })
}

/// Percent-encodes a URL userinfo component.
fn url_encode(s: &str) -> String {
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

/// A `postgresql.conf` line: `key = 'value'`.
fn conf_line(key: &str, value: &str) -> Result<String, ScratchError> {
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

/// The last `lines` lines of a file (at most the last 64 KiB of it), lossily decoded.
fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A free TCP port on the loopback interface (free when we looked: the caller retries when the
/// server then cannot bind it).
fn free_port() -> Result<u16, ScratchError> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io_err("binding port 0"))?;
    Ok(l.local_addr()
        .map_err(io_err("reading a bound port"))?
        .port())
}

/// A running throwaway PostgreSQL server. Dropping it stops the server and deletes its files.
pub struct ScratchCluster {
    child: Option<Child>,
    port: u16,
    user: String,
    password: Option<String>,
    data_dir: PathBuf,
    log_path: PathBuf,
    bins: PgBinaries,
    run_as: Option<RunAs>,
    // Declared last: dropped after the server has been stopped.
    dir: tempfile::TempDir,
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

/// How [`ScratchCluster::halt`] stops the server (`pg_ctl stop -m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Disconnects clients, writes a checkpoint, exits cleanly.
    Fast,
    /// Exits at once, like a crash: the next start runs crash recovery, and replication slots
    /// may go back to their last checkpointed position.
    Immediate,
}

/// Attempts at finding a port nobody takes between our probe and the server's bind.
const PORT_ATTEMPTS: usize = 8;

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

    /// Starts the postmaster on a free port and waits until it answers, retrying with another
    /// port when the one we picked was taken in the meantime.
    async fn launch(&mut self, deadline: Instant, timeout: Duration) -> Result<(), ScratchError> {
        self.launch_on(None, deadline, timeout).await
    }

    /// `launch`, on `port` when given (a restart keeps its port: clients reconnect to it).
    async fn launch_on(
        &mut self,
        port: Option<u16>,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(), ScratchError> {
        let canonical_data = fs::canonicalize(&self.data_dir).unwrap_or(self.data_dir.clone());
        let attempts = if port.is_some() { 1 } else { PORT_ATTEMPTS };
        for attempt in 1..=attempts {
            self.port = match port {
                Some(p) => p,
                None => free_port()?,
            };
            let log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log_path)
                .map_err(io_err("opening the server log"))?;
            let log2 = log.try_clone().map_err(io_err("opening the server log"))?;
            let mut cmd = Command::new(self.bins.postgres());
            cmd.arg("-D")
                .arg(&self.data_dir)
                .arg("-p")
                .arg(self.port.to_string())
                .current_dir(self.dir.path())
                .env_remove("PGDATA")
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log2);
            if let Some(ra) = self.run_as {
                use std::os::unix::process::CommandExt;
                cmd.uid(ra.uid).gid(ra.gid);
            }
            self.child = Some(cmd.spawn().map_err(io_err(format!(
                "running {}",
                self.bins.postgres().display()
            )))?);

            loop {
                if let Some(status) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    self.child = None;
                    let log = tail(&self.log_path, 30);
                    if attempt < attempts
                        && (log.contains("Address already in use")
                            || log.contains("could not create any TCP/IP sockets"))
                    {
                        break; // next port
                    }
                    return Err(ScratchError::Exited {
                        status: status.to_string(),
                        log,
                    });
                }
                if Instant::now() >= deadline {
                    self.shutdown();
                    return Err(ScratchError::StartTimeout {
                        timeout,
                        log: tail(&self.log_path, 30),
                    });
                }
                if let Ok(dir) = self.probe().await {
                    // Another server could own the port if ours failed to bind it: check it is ours.
                    let dir = PathBuf::from(dir);
                    if fs::canonicalize(&dir).unwrap_or(dir) == canonical_data {
                        return Ok(());
                    }
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Connects once and asks for the data directory.
    async fn probe(&self) -> Result<String, tokio_postgres::Error> {
        let mut config: tokio_postgres::Config = self.url().parse()?;
        config.connect_timeout(Duration::from_secs(2));
        let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
        let conn = tokio::spawn(conn);
        let row = client
            .query_one("SELECT current_setting('data_directory')", &[])
            .await;
        drop(client);
        let _ = conn.await;
        Ok(row?.get(0))
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

    /// Stops the server now (immediate shutdown) and deletes its files. Same as dropping it.
    pub fn stop(self) {
        drop(self)
    }

    /// Stops the server and keeps its files, for tests of what clients do while it is away;
    /// [`ScratchCluster::start_again`] brings it back on the same port.
    pub fn halt(&mut self, mode: ShutdownMode) {
        self.shutdown_with(mode);
    }

    /// Starts a server stopped with [`ScratchCluster::halt`] again, on the same port, and waits
    /// until it answers (after crash recovery, for an immediate shutdown).
    pub async fn start_again(&mut self, timeout: Duration) -> Result<(), ScratchError> {
        if self.child.is_some() {
            return Ok(());
        }
        let port = self.port;
        self.launch_on(Some(port), Instant::now() + timeout, timeout)
            .await
    }

    fn shutdown(&mut self) {
        self.shutdown_with(ShutdownMode::Immediate);
    }

    fn shutdown_with(&mut self, mode: ShutdownMode) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(None) = child.try_wait() {
            let mut cmd = Command::new(self.bins.pg_ctl());
            let mode = match mode {
                ShutdownMode::Fast => "fast",
                ShutdownMode::Immediate => "immediate",
            };
            cmd.arg("stop")
                .arg("-D")
                .arg(&self.data_dir)
                .args(["-m", mode, "-w", "-t", "30"])
                .current_dir(self.dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(ra) = self.run_as {
                use std::os::unix::process::CommandExt;
                cmd.uid(ra.uid).gid(ra.gid);
            }
            let stopped = cmd.status().map(|s| s.success()).unwrap_or(false);
            if !stopped {
                let _ = child.kill();
            }
        }
        let _ = child.wait();
    }
}

impl Drop for ScratchCluster {
    fn drop(&mut self) {
        self.shutdown();
        // `dir` (a TempDir) is dropped after this and removes everything.
    }
}

/// Writes a file only its owner can read, owned by `run_as` when given.
fn write_private(path: &Path, contents: &[u8], run_as: Option<RunAs>) -> Result<(), ScratchError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(format!("creating {}", path.display())))?;
    f.write_all(contents)
        .map_err(io_err(format!("writing {}", path.display())))?;
    if let Some(ra) = run_as {
        std::os::unix::fs::chown(path, Some(ra.uid), Some(ra.gid))
            .map_err(io_err(format!("giving {} to postgres", path.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn query_one_text(pg: &ScratchCluster, sql: &str) -> String {
        let client = pg.connect().await.expect("connect");
        client.query_one(sql, &[]).await.expect(sql).get(0)
    }

    #[tokio::test]
    async fn scratch_starts_answers_and_cleans_up() {
        let pg = ScratchCluster::start(ScratchOptions::default())
            .await
            .expect("start");
        assert!(pg.port() > 0);
        assert_eq!(
            pg.url(),
            format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port())
        );
        assert!(pg.data_dir().join("PG_VERSION").exists());
        assert_eq!(query_one_text(&pg, "SELECT 'x' || 1").await, "x1");
        assert_eq!(query_one_text(&pg, "SHOW wal_level").await, "logical");
        assert_eq!(query_one_text(&pg, "SHOW max_wal_senders").await, "10");
        assert_eq!(
            query_one_text(&pg, "SHOW max_replication_slots").await,
            "10"
        );
        assert_eq!(
            query_one_text(&pg, "SHOW listen_addresses").await,
            "127.0.0.1"
        );
        assert_eq!(query_one_text(&pg, "SHOW fsync").await, "on");
        assert_eq!(
            query_one_text(&pg, "SHOW unix_socket_directories").await,
            pg.socket_dir().to_string_lossy()
        );
        assert_eq!(query_one_text(&pg, "SHOW server_encoding").await, "UTF8");
        let is_super = query_one_text(
            &pg,
            "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user",
        )
        .await;
        assert_eq!(is_super, "true");
        // A logical slot can be created (what the runtime needs).
        let client = pg.connect().await.unwrap();
        client
            .execute(
                "SELECT pg_create_logical_replication_slot('scratch_test', 'pgoutput')",
                &[],
            )
            .await
            .expect("logical slot");

        let port = pg.port();
        let data = pg.data_dir().to_path_buf();
        let root = pg.socket_dir().to_path_buf();
        drop(client);
        pg.stop();
        assert!(!data.exists(), "data dir removed");
        assert!(!root.exists(), "temp dir removed");
        assert!(
            std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(),
            "server stopped"
        );
    }

    #[tokio::test]
    async fn scratch_options_apply() {
        let pg = ScratchCluster::start(
            ScratchOptions::default()
                .without_logical_wal()
                .fsync_off()
                .conf("work_mem", "7MB")
                .conf("application_name", "it's quoted"),
        )
        .await
        .expect("start");
        assert_eq!(query_one_text(&pg, "SHOW wal_level").await, "replica");
        assert_eq!(query_one_text(&pg, "SHOW fsync").await, "off");
        assert_eq!(query_one_text(&pg, "SHOW work_mem").await, "7MB");
        let client = pg.connect().await.unwrap();
        let err = client
            .execute(
                "SELECT pg_create_logical_replication_slot('s', 'pgoutput')",
                &[],
            )
            .await
            .expect_err("no logical slots without wal_level=logical");
        let msg = err.as_db_error().map(|e| e.message().to_string());
        assert!(
            msg.as_deref().unwrap_or("").contains("wal_level"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn scratch_scram_requires_the_password() {
        let pg = ScratchCluster::start(ScratchOptions::default().scram("alice", "s3cr:t@/x"))
            .await
            .expect("start");
        assert_eq!(pg.user(), "alice");
        assert_eq!(
            pg.url(),
            format!(
                "postgres://alice:s3cr%3At%40%2Fx@127.0.0.1:{}/postgres",
                pg.port()
            )
        );
        assert_eq!(
            query_one_text(&pg, "SELECT current_user::text").await,
            "alice"
        );
        let method = query_one_text(
            &pg,
            "SELECT string_agg(DISTINCT auth_method, ',') FROM pg_hba_file_rules",
        )
        .await;
        assert_eq!(method, "scram-sha-256");
        let err = tokio_postgres::connect(
            &pg.url_for("alice", Some("wrong"), "postgres"),
            tokio_postgres::NoTls,
        )
        .await
        .err()
        .expect("a wrong password is refused");
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD),
            "{err:?}"
        );
        assert!(
            tokio_postgres::connect(
                &pg.url_for("alice", None, "postgres"),
                tokio_postgres::NoTls
            )
            .await
            .is_err(),
            "a missing password is refused"
        );
    }

    #[tokio::test]
    async fn scratch_clusters_run_side_by_side() {
        let (a, b) = tokio::join!(
            ScratchCluster::start(ScratchOptions::default()),
            ScratchCluster::start(ScratchOptions::default())
        );
        let (a, b) = (a.expect("a"), b.expect("b"));
        assert_ne!(a.port(), b.port());
        assert_ne!(a.data_dir(), b.data_dir());
        let ca = a.connect().await.unwrap();
        ca.batch_execute("CREATE TABLE only_in_a (x int)")
            .await
            .unwrap();
        let n: i64 = b
            .connect()
            .await
            .unwrap()
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0);
    }

    #[test]
    fn scratch_binaries_not_found_is_one_clear_line() {
        let empty = tempfile::tempdir().unwrap();
        let err = find_binaries(
            Some(empty.path()),
            empty.path().as_os_str(),
            &[empty.path()],
        )
        .unwrap_err();
        let msg = err.to_string();
        assert_eq!(
            msg,
            "PostgreSQL server binaries not found: install postgresql (apt-get install \
             postgresql) or put initdb on PATH"
        );
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn scratch_binaries_pick_the_highest_version() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9.6", "15", "16", "notaversion"] {
            let bin = root.path().join(v).join("bin");
            fs::create_dir_all(&bin).unwrap();
            for exe in ["initdb", "postgres", "pg_ctl"] {
                let p = bin.join(exe);
                fs::write(&p, "#!/bin/sh\n").unwrap();
                fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        // 17 is incomplete (no postgres) and must be skipped.
        let incomplete = root.path().join("17").join("bin");
        fs::create_dir_all(&incomplete).unwrap();
        fs::write(incomplete.join("initdb"), "").unwrap();
        let found = find_binaries(None, std::ffi::OsStr::new(""), &[root.path()]).unwrap();
        assert_eq!(found.bin_dir, root.path().join("16").join("bin"));
        // PATH wins over the versioned installs.
        let on_path = root.path().join("15").join("bin");
        let found = find_binaries(None, on_path.as_os_str(), &[root.path()]).unwrap();
        assert_eq!(found.bin_dir, on_path);
    }

    #[test]
    fn scratch_conf_lines_are_quoted_and_checked() {
        assert_eq!(conf_line("a.b_c", "x'y").unwrap(), "a.b_c = 'x''y'\n");
        assert!(conf_line("bad key", "1").is_err());
        assert!(conf_line("k", "a\nb").is_err());
        assert_eq!(url_encode("a b@c"), "a%20b%40c");
    }
}

//! Command-line interface.

mod backfill;
mod check;
mod new_from;
mod new_sink;
mod progress;
mod run;
mod scratch_server;
mod status;
mod test_sink;
mod validate;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::SetupError;

#[derive(Debug, Parser)]
#[command(
    name = "conduit-wasm",
    version,
    about = "Stream PostgreSQL changes into sandboxed WebAssembly sinks"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log line format on standard error: `text`, or `json` (one object per line).
    #[arg(
        long,
        global = true,
        env = "CONDUIT_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stream committed changes into a sink component.
    Run(Box<run::RunArgs>),
    /// Say whether a file is a sink component this runtime can run, and what it imports and
    /// exports.
    Check {
        /// The sink component (.wasm).
        sink: PathBuf,
    },
    /// Run a sink against recorded events (no database): connect, publish each batch, close.
    Test(test_sink::TestArgs),
    /// Create a sink project (rust, c, python or js) that builds and passes `test` out of the box.
    New(new_sink::NewArgs),
    /// Check a configuration file (sinks, grants against the live schema) without streaming.
    Validate {
        #[arg(long)]
        config: PathBuf,
        /// PostgreSQL URL, overriding the file's.
        #[arg(long, env = "CONDUIT_SOURCE")]
        source: Option<String>,
    },
    /// A throwaway PostgreSQL until stdin closes (for `cargo xtask bench`).
    #[command(hide = true)]
    ScratchServer(scratch_server::ScratchServerArgs),
    /// Deliver the rows that already exist of some tables to some tenants, as reads, while the
    /// run keeps streaming (asks the running `run` with the same state directory and slot).
    Backfill(backfill::BackfillArgs),
    /// Show a run's tenants, snapshot and backfills, from its status file; exits non-zero
    /// when the run that wrote it is gone.
    Status {
        /// The run's configuration file (for its state_dir and slot).
        #[arg(long, conflicts_with = "slot")]
        config: Option<PathBuf>,
        /// The run's state directory [default: the config file's, else .conduit-wasm].
        #[arg(long, env = "CONDUIT_STATE_DIR")]
        state_dir: Option<PathBuf>,
        /// The run's replication slot [default: conduit].
        #[arg(long)]
        slot: Option<String>,
        /// Print the status file as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A live view of a running process's tenants (rate, lag in bytes and seconds, queue,
    /// state), from its metrics endpoint, refreshed in place.
    Top {
        /// The run's metrics address [default: the config file's `metrics_addr`, else
        /// 127.0.0.1:9977].
        #[arg(long, value_name = "IP:PORT")]
        metrics_addr: Option<String>,
        /// The run's configuration file (for its metrics_addr).
        #[arg(long, conflicts_with = "metrics_addr")]
        config: Option<PathBuf>,
        /// Print one view (rates over one interval) as plain text and exit.
        #[arg(long)]
        once: bool,
        /// Time between refreshes, in milliseconds.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..))]
        interval_ms: u64,
    },
}

pub async fn main(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run::run(*args).await,
        Command::Backfill(args) => backfill::backfill(args).await,
        Command::ScratchServer(args) => scratch_server::scratch_server(args).await,
        Command::Check { sink } => check::check(&sink),
        Command::Test(args) => test_sink::test(args),
        Command::New(args) => new_sink::new(args),
        Command::Validate { config, source } => validate::validate(&config, source).await,
        Command::Status {
            config,
            state_dir,
            slot,
            json,
        } => {
            let (state_dir, slot) = run_location(config.as_deref(), state_dir, slot)?;
            status::status(&state_dir, &slot, json)
        }
        Command::Top {
            metrics_addr,
            config,
            once,
            interval_ms,
        } => {
            let from_file = match config {
                Some(path) => crate::config::FileConfig::load(&path)?.metrics_addr,
                None => None,
            };
            let text = metrics_addr.or(from_file);
            let addr = match text.as_deref().map(crate::metrics::server::parse_addr) {
                Some(Ok(addr)) => addr,
                Some(Err(e)) => return Err(SetupError::new(format!("--metrics-addr {e}")).into()),
                None => std::net::SocketAddr::from(([127, 0, 0, 1], 9977)),
            };
            let every = std::time::Duration::from_millis(interval_ms);
            Ok(crate::metrics::top::top(addr, every, once).await?)
        }
    }
}

/// The state directory and slot of a run: from its configuration file, else the flags, else
/// the defaults (`backfill` and `status`).
fn run_location(
    config: Option<&std::path::Path>,
    state_dir: Option<PathBuf>,
    slot: Option<String>,
) -> Result<(PathBuf, String), SetupError> {
    let (state_dir, slot) = match config {
        Some(path) => {
            let file = crate::config::FileConfig::load(path)?;
            (state_dir.or(file.state_dir), file.slot)
        }
        None => (state_dir, slot.unwrap_or_else(|| "conduit".into())),
    };
    Ok((state_dir.unwrap_or_else(run::default_state_dir), slot))
}

/// Logs go to stderr (stdout belongs to the sink), at `info` unless `RUST_LOG` says otherwise.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,wasmtime=warn,cranelift=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match format {
        LogFormat::Json => builder.with_writer(std::io::stderr).json().init(),
        LogFormat::Text if terminal => {
            // Snapshots and backfills get a progress bar, which log lines step around.
            progress::enable();
            builder
                .with_writer(progress::LogWriter)
                .with_ansi(true)
                .init()
        }
        LogFormat::Text => builder.with_writer(std::io::stderr).with_ansi(false).init(),
    }
}

/// An error as the one line the CLI prints: a [`SetupError`] as written, anything else with its
/// chain of causes.
/// The exit code for an error: [`Quarantined::EXIT_CODE`](crate::error::Quarantined) when a run
/// ended with tenants quarantined, else 1.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<crate::error::Quarantined>() {
        Some(_) => crate::error::Quarantined::EXIT_CODE,
        None => 1,
    }
}

pub fn one_line(e: &anyhow::Error) -> String {
    let text = match e.downcast_ref::<SetupError>() {
        Some(setup) => setup.to_string(),
        None => format!("{e:#}"),
    };
    text.replace('\n', " ")
}

/// `KEY=VALUE` of `--sink-config` (run and test).
fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

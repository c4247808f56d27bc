//! Command-line interface.

mod check;
mod demo;
mod run;

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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stream committed changes into a sink component.
    Run(run::RunArgs),
    /// Say whether a file is a sink component this runtime can run, and what it imports and
    /// exports.
    Check {
        /// The sink component (.wasm).
        sink: PathBuf,
    },
}

pub async fn main(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run::run(args).await,
        Command::Check { sink } => check::check(&sink),
    }
}

/// Logs go to stderr (stdout belongs to the sink), at `info` unless `RUST_LOG` says otherwise.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,wasmtime=warn,cranelift=warn")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

/// An error as the one line the CLI prints: a [`SetupError`] as written, anything else with its
/// chain of causes.
pub fn one_line(e: &anyhow::Error) -> String {
    let text = match e.downcast_ref::<SetupError>() {
        Some(setup) => setup.to_string(),
        None => format!("{e:#}"),
    };
    text.replace('\n', " ")
}

//! The `conduit-wasm` command.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = conduit_wasm::cli::Cli::parse();
    conduit_wasm::cli::init_logging(cli.log_format);
    let json = cli.log_format == conduit_wasm::cli::LogFormat::Json;
    // One thread drives the socket and the replication loop: it is woken by the socket and runs
    // the loop itself. With worker threads, each message woke one thread to poll the socket and
    // another to run the loop; at 10,000 transactions/s those hand-offs cost more CPU than the
    // decoding (BENCHMARKS.md). Sinks are called on threads of their own (`pipeline::pool`), and blocking
    // work goes to `spawn_blocking`.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(conduit_wasm::cli::main(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let line = conduit_wasm::cli::one_line(&e);
            if json {
                // The last line too is a JSON object, for log pipelines that parse every line.
                tracing::error!("error: {line}");
            } else {
                eprintln!("error: {line}");
            }
            ExitCode::from(conduit_wasm::cli::exit_code(&e))
        }
    }
}

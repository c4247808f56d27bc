//! The `conduit-wasm` command.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = conduit_wasm::cli::Cli::parse();
    conduit_wasm::cli::init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
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
            eprintln!("error: {}", conduit_wasm::cli::one_line(&e));
            ExitCode::FAILURE
        }
    }
}

//! The `nomadish` binary: install the crypto provider, translate Nomad-style flags, parse,
//! run, exit with the command's code.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use nomadish::cli::{self, args::Cli, argv::translate_args};

/// How long background work may take to stop once the command has returned.
const RUNTIME_SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    cli::api::install_crypto_provider();
    let cli = match Cli::try_parse_from(translate_args(std::env::args_os())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(cli::run(cli));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_GRACE);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

//! The `passerelle` command: parses arguments and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    passerelle::init_tracing();
    let cli = passerelle::cli::Cli::parse();
    match passerelle::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! The `passerelle` binary's library: the command line and what each command
//! does. Commands return `anyhow::Result`; everything is testable without a
//! process.

pub mod api;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod generate;
pub mod http;
pub mod master_key;
pub mod memory;
pub mod render;
pub mod server;
pub mod store;
pub mod web;

use std::process::ExitCode;

use cli::{Cli, Command};

/// Logs go to standard error; `RUST_LOG` sets the level (default `warn`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init(a) => commands::init::run(a).await,
        Command::Record(a) => commands::record::run(a).await,
        Command::Import(a) => commands::import::run(a).await,
        Command::Copy(a) => commands::copy::run(a).await,
        Command::Export(a) => commands::export::run(a).await,
        Command::Verify(a) => commands::verify::run(a).await,
        Command::Demo(a) => commands::demo::run(a).await,
        Command::Gaps(a) => commands::gaps::run(a).await,
        Command::Network(a) => commands::network::run(a).await,
        Command::Diff(a) => commands::diff::run(a).await,
        Command::Generate(a) => commands::generate::run(a),
        Command::Token(a) => commands::token::run(a),
        Command::Serve(a) => commands::serve::run(a).await,
        Command::Erase(a) => commands::erase::run(a).await,
        Command::SubjectAccess(a) => commands::subject_access::run(a).await,
        Command::Keys(a) => commands::keys::run(a).await,
    }
}

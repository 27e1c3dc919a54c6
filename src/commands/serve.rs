//! `passerelle serve`: the JSON API until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use crate::api::{ApiConfig, App};
use crate::cli::ServeArgs;
use crate::http::route::API_BASE;
use crate::server;

/// Serves the store at `--db` on `--addr`.
pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    crate::memory::settle_heap();
    let config = ApiConfig {
        body_limit: args.body_limit,
        public_url: args.public_url.clone(),
        max_connections: args.max_connections as usize,
        header_timeout: Duration::from_secs(args.header_timeout),
        ..ApiConfig::default()
    };
    let app = App::open(&args.db.db, config).await?;
    let server = server::serve(app, args.addr, server::shutdown_signal()).await?;
    println!("serving {} on http://{}{API_BASE}", args.db.db, server.addr);
    if let Some(public) = &args.public_url {
        println!("pages for browsers at {public}/");
    }
    println!(
        "create a token with: passerelle token create --db {} --role coordinator --name NAME",
        args.db.db
    );
    server.handle.await?;
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}

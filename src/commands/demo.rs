//! `passerelle demo`: seed the demo store if it is absent, summarise it, and
//! serve it with a fresh admin token and a one-time login link.

use std::process::ExitCode;
use std::time::Duration;

use passerelle_events::ledger::decode;
use passerelle_events::store::PAGE;
use passerelle_events::EventLog;
use passerelle_projections::summary::Summary;

use crate::api::{ApiConfig, App};
use crate::auth::Role;
use crate::cli::DemoArgs;
use crate::demo;
use crate::http::route::Route;
use crate::server;
use crate::store::Location;

/// How long the printed login link stays valid.
const LOGIN_TTL: Duration = Duration::from_secs(3600);

/// Seeds (if needed), prints what the demo holds, and serves it.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let db = &args.db;
    let exists = match db {
        Location::File(path) => path.exists(),
        Location::Postgres(_) => crate::master_key::stored_fingerprint(db).await.is_some(),
    };
    let store = if exists {
        println!("using the existing demo store {db}");
        if !args.no_serve {
            // Before the store is opened at all: a wrong key changes no byte.
            crate::master_key::check(db).await?;
        }
        let store = super::open_store(db).await?;
        anyhow::ensure!(
            !store.is_legacy(),
            "{db} was made by an earlier version of Passerelle, which kept personal data in \
             clear. It holds only the demo: delete {db} (and {db}-wal, {db}-shm if present) and \
             run the demo again to seed a new one, with personal data sealed"
        );
        store
    } else {
        let (ledger, done) = demo::seed(db).await?;
        println!(
            "seeded the demo store {db} with {} events; personal fields sealed under the master \
             key from {}",
            done.created,
            crate::master_key::source_for(db)?
        );
        ledger.store().clone()
    };
    let mut summary = Summary::default();
    let mut after = 0;
    loop {
        let page = store.read(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for raw in &page {
            summary.apply(&decode(raw)?);
        }
    }
    drop(store);
    print!("{summary}");
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }

    crate::memory::settle_heap();
    let config = ApiConfig {
        public_url: args.public_url.clone(),
        ..ApiConfig::default()
    };
    let app = App::open(db, config).await?;
    // A fresh token per run: nothing secret is stored in the repository.
    let name = format!(
        "demo admin {}",
        chrono::Utc::now().format("%Y-%m-%d %H.%M.%S%.3f")
    );
    let (info, token) = app.tokens().create(&name, Role::Admin, None)?;
    let code = app.tokens().issue_login(&info.id, LOGIN_TTL)?;
    let server = server::serve(app, args.addr, server::shutdown_signal()).await?;
    // The links people open: the public URL when there is one.
    let base = match &args.public_url {
        Some(public) => {
            println!(
                "\nServing the demo on {public} (listening on {})",
                server.addr
            );
            public.to_string()
        }
        None => {
            let base = format!("http://{}", server.addr);
            println!("\nServing the demo on {base}");
            base
        }
    };
    let login = Route::Login.template();
    let gaps = Route::Gaps.template();
    println!(
        "  open in a browser (logs you in, valid once for an hour): {base}{login}?code={code}"
    );
    println!("  API token ({name}, admin): {token}");
    println!("  try: curl -H 'Authorization: Bearer {token}' '{base}{gaps}?programme=sjdlr'");
    println!("Stop with Ctrl-C.");
    server.handle.await?;
    Ok(ExitCode::SUCCESS)
}

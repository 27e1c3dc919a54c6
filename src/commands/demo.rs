//! `passerelle demo`: seed the demo store if it is absent and summarise it.

use std::process::ExitCode;

use passerelle_events::ledger::decode;
use passerelle_events::store::PAGE;
use passerelle_events::EventLog;
use passerelle_projections::summary::Summary;

use crate::cli::DemoArgs;
use crate::demo;

/// Seeds (if needed) and prints what the demo holds.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let store = if args.db.exists() {
        println!("using the existing demo store {}", args.db.display());
        super::open_store(&args.db)?
    } else {
        let (ledger, done) = demo::seed(&args.db).await?;
        println!(
            "seeded the demo store {} with {} events",
            args.db.display(),
            done.created
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
    print!("{summary}");
    println!(
        "\nThe HTTP API is not served yet; {} is reserved for it. Inspect the log with:\n  passerelle verify --db {}\n  passerelle export --db {}",
        args.addr,
        args.db.display(),
        args.db.display()
    );
    Ok(ExitCode::SUCCESS)
}

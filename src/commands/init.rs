//! `passerelle init`: create the store.

use std::process::ExitCode;

use passerelle_events::SqliteStore;

use crate::cli::InitArgs;

/// Creates the store at `--db` (an existing Passerelle store is left as it is).
pub async fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let path = &args.db.db;
    let existed = path.exists();
    SqliteStore::create(path)?;
    if existed {
        println!("store at {} already exists; left as it is", path.display());
    } else {
        println!("created store at {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

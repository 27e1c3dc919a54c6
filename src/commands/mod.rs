//! One module per command. Each `run` returns the process exit code.

pub mod demo;
pub mod export;
pub mod import;
pub mod init;
pub mod record;
pub mod verify;

use std::path::Path;

use anyhow::Context;
use passerelle_events::{Ledger, SqliteStore};

/// Opens an existing store (never creates one).
pub(crate) fn open_store(path: &Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(path).with_context(|| format!("cannot open the store at {}", path.display()))
}

/// Opens an existing store with its ledger folded from the log.
pub(crate) async fn open_ledger(path: &Path) -> anyhow::Result<Ledger<SqliteStore>> {
    let store = open_store(path)?;
    Ok(Ledger::open(store).await?)
}

//! `passerelle init`: create the store, its master key and its keyring.

use std::path::Path;
use std::process::ExitCode;

use passerelle_events::{Keyring, SqliteStore};

use crate::cli::InitArgs;
use crate::master_key::{self, KeySource};

/// Creates the store at `--db` with its keyring, and the key file next to it
/// unless the master key comes from the environment. An existing store is
/// left as it is (its keyring is made if an interrupted `init` left none).
pub async fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let path = &args.db.db;
    let existed = path.exists();
    let (source, created_key) = init(path).await?;
    if existed {
        println!("store at {} already exists; left as it is", path.display());
    } else {
        println!("created store at {}", path.display());
    }
    match (&source, created_key) {
        (KeySource::File(f), true) => println!(
            "created its master key in {} (readable by you only). Back it up apart from the \
             database: without it the personal data cannot be read; with the database, it \
             reads everything",
            f.display()
        ),
        _ => println!("its personal data is sealed under the master key from {source}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates (or finds) the store at `path` and its keyring; answers where the
/// master key is and whether its key file was created now.
pub async fn init(path: &Path) -> anyhow::Result<(KeySource, bool)> {
    let existed = path.exists();
    let store = SqliteStore::create(path)?;
    let source = master_key::source_for(path);
    let (key, source, created_key) = if existed {
        (master_key::read(&source)?, source, false)
    } else {
        master_key::for_new_store(path)?
    };
    Keyring::create(store.clone(), key)
        .await
        .map_err(|e| master_key::explain(e, &source, path))?;
    store.close().await;
    Ok((source, created_key))
}

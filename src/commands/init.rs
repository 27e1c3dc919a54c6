//! `passerelle init`: create the store, its master key and its keyring.

use std::process::ExitCode;

use passerelle_events::Keyring;

use crate::cli::InitArgs;
use crate::master_key::{self, KeySource};
use crate::store::{Location, Store};

/// Creates the store at `--db` with its keyring, and the key file next to it
/// unless the master key comes from the environment. An existing store is
/// left as it is (its keyring is made if an interrupted `init` left none).
pub async fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let db = &args.db.db;
    let (created, source, created_key) = init(db).await?;
    if created {
        println!("created store at {db}");
    } else {
        println!("store at {db} already exists; left as it is");
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

/// Creates (or finds) the store at `db` and its keyring; answers whether
/// the store was created now, where the master key is and whether its key
/// file was created now.
pub async fn init(db: &Location) -> anyhow::Result<(bool, KeySource, bool)> {
    // Where the key is to be read is known (or refused) before anything is made.
    let source = master_key::source_for(db)?;
    let store = Store::create(db)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the store at {db}: {e}"))?;
    let created = store.created();
    let (key, source, created_key) = if created {
        master_key::for_new_store(db)?
    } else {
        (master_key::read(&source)?, source, false)
    };
    Keyring::create(store.clone(), key)
        .await
        .map_err(|e| master_key::explain(e, &source, db))?;
    store.close().await;
    Ok((created, source, created_key))
}

//! `passerelle keys`: the store's master key — `status`, and `rotate` to a
//! new random key with [`passerelle_events::Keyring::rotate`], which wraps
//! every data key again without touching the log.
//!
//! Rotation never leaves the store without a key on disk that opens it: the
//! new key is written (0600, synced) before the store changes, and replaces
//! the old key file only after the change has committed (see
//! [`crate::master_key`] for what happens if the process dies in between).
//! A key from `PASSERELLE_MASTER_KEY` cannot be replaced by this process, so
//! the new key goes to a file the operator names, and the operator updates
//! the variable.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use passerelle_events::store::KeysSince;
use passerelle_events::{EventLog, MasterKey};

use crate::cli::{KeysArgs, KeysCommand, KeysRotateArgs, KeysStatusArgs};
use crate::master_key::{self, KeySource, KEY_ENV, KEY_FILE_ENV};
use crate::store::Store;

/// Runs a `keys` subcommand.
pub async fn run(args: KeysArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        KeysCommand::Status(a) => status(a).await,
        KeysCommand::Rotate(a) => rotate(a).await,
    }
}

/// Prints the master key's fingerprint and source and the data keys' counts.
async fn status(args: KeysStatusArgs) -> anyhow::Result<ExitCode> {
    let db = &args.db.db;
    let keyring = super::open_keyring(db).await?;
    let bundle = keyring.bundle().await?;
    println!("store:      {db}");
    println!(
        "master key: fingerprint {}, read from {}",
        keyring.fingerprint(),
        master_key::source_for(db)?
    );
    println!(
        "data keys:  {} live, {} destroyed (erased subjects)",
        bundle.keys.len(),
        bundle.erased.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Where the new master key goes.
enum Target {
    /// A file the operator named; the current key source is left as it is.
    Named(PathBuf),
    /// The current key file, through `<keyfile>.new`.
    Replace { key_file: PathBuf, pending: PathBuf },
}

impl Target {
    /// The file the new key is written to first.
    fn written(&self) -> &Path {
        match self {
            Target::Named(p) => p,
            Target::Replace { pending, .. } => pending,
        }
    }
}

/// Rotates the master key of the store at `--db`.
async fn rotate(args: KeysRotateArgs) -> anyhow::Result<ExitCode> {
    let db = &args.db.db;
    let source = master_key::source_for(db)?;
    // Everything that can be refused is refused before anything changes.
    let target = match (&source, args.new_key_file) {
        (_, Some(path)) => {
            anyhow::ensure!(
                !path.exists(),
                "--new-key-file {} exists already; name a file that does not exist (nothing was \
                 changed)",
                path.display()
            );
            Target::Named(path)
        }
        (KeySource::File(key_file), None) => Target::Replace {
            pending: master_key::pending_key_file(key_file),
            key_file: key_file.clone(),
        },
        (KeySource::Env, None) => anyhow::bail!(
            "the master key comes from the environment variable {KEY_ENV}, which this command \
             cannot change: give --new-key-file PATH (a file that does not exist yet) for the new \
             key, then set {KEY_ENV} to it. Nothing was changed"
        ),
    };
    // Opening may finish an earlier rotation that was interrupted.
    let keyring = super::open_keyring(db).await?;
    let store = keyring.store().clone();
    if let Target::Replace { pending, key_file } = &target {
        anyhow::ensure!(
            !pending.exists(),
            "{} exists: an earlier rotation stopped before it changed the store (which still \
             opens with {}), or another rotation is running. Remove {} and run again; nothing \
             was changed",
            pending.display(),
            key_file.display(),
            pending.display()
        );
    }
    let old = keyring.fingerprint().to_owned();
    let new = MasterKey::generate()?;
    master_key::write_key_file(target.written(), &new)?;
    let rewrapped = match keyring.rotate(&new).await {
        Ok(n) => n,
        Err(e) => return Err(failed(&store, &target, &old, &new, e.into()).await),
    };
    if let Target::Replace { key_file, pending } = &target {
        master_key::replace_key_file(pending, key_file)?;
    }
    println!(
        "rotated the master key of {db}: fingerprint {old} -> {}; {rewrapped} data keys wrapped \
         again (the log is unchanged)",
        new.fingerprint()
    );
    match (&target, &source) {
        (Target::Replace { key_file, .. }, _) => println!(
            "the new key replaced the key file {} (readable by you only)",
            key_file.display()
        ),
        (Target::Named(path), KeySource::Env) => println!(
            "the new key is in {} (readable by you only): set {KEY_ENV} to it now; the old \
             value no longer opens the store",
            path.display()
        ),
        (Target::Named(path), KeySource::File(old_file)) => println!(
            "the new key is in {} (readable by you only); {} no longer opens the store: set \
             {KEY_FILE_ENV} to the new file, or move it over the old one",
            path.display(),
            old_file.display()
        ),
    }
    println!(
        "back the new key up apart from the database. Database backups made before now are \
         wrapped by the old key (fingerprint {old}): keep it for as long as you keep them. A \
         server running on this store holds the old key: restart it with the new one"
    );
    Ok(ExitCode::SUCCESS)
}

/// After a failed rotation: removes the new key file if the store still
/// has the old key, and says where things stand.
async fn failed(
    store: &Store,
    target: &Target,
    old: &str,
    new: &MasterKey,
    e: anyhow::Error,
) -> anyhow::Error {
    let written = target.written();
    let now = store
        .read_keys(KeysSince::default())
        .await
        .ok()
        .and_then(|c| c.keyring)
        .map(|r| r.fingerprint);
    if now.as_deref() == Some(old) {
        let removed = std::fs::remove_file(written).is_ok();
        e.context(format!(
            "the rotation failed; the store still has its master key {old}{}",
            if removed {
                format!(" ({} was removed)", written.display())
            } else {
                format!(" (remove {})", written.display())
            }
        ))
    } else if now.as_deref() == Some(new.fingerprint().as_str()) {
        e.context(format!(
            "the store's keys are now wrapped by the new key {}, which is in {}: use that file",
            new.fingerprint(),
            written.display()
        ))
    } else {
        e.context(format!(
            "the rotation failed and the store's master key could not be read back; the new \
             key is kept in {}: run passerelle keys status",
            written.display()
        ))
    }
}

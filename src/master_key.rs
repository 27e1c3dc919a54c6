//! Where a store's master key comes from, and opening the store's keyring
//! with it (decision 009).
//!
//! In order: the environment variable `PASSERELLE_MASTER_KEY` (64 hex
//! digits); the key file named by `PASSERELLE_MASTER_KEY_FILE`; the key file
//! next to a SQLite store (`<db>.key`), which `init` and `demo` create,
//! readable by its owner only. A PostgreSQL store has no file beside it: one
//! of the two variables must name its key. The key must be backed up apart from the database: a
//! copy of the database without it reveals no personal data, and without
//! any copy of it the personal data is lost.
//!
//! **Rotation** (`passerelle keys rotate`) writes the new key to
//! `<keyfile>.new` before the store's keys are wrapped again, and renames it
//! over the key file once that has committed. If the process dies between
//! the two, the key file no longer opens the store; [`open_keyring`] then
//! finds `<keyfile>.new`, checks that it opens the store, finishes the rename
//! itself and says so on standard error.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use passerelle_events::keyring::KeyError;
use passerelle_events::{EventLog, Keyring, MasterKey};

use crate::store::Location;

/// The environment variable that holds the master key itself.
pub const KEY_ENV: &str = "PASSERELLE_MASTER_KEY";
/// The environment variable that names the key file.
pub const KEY_FILE_ENV: &str = "PASSERELLE_MASTER_KEY_FILE";

/// Where a master key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `PASSERELLE_MASTER_KEY`.
    Env,
    /// A key file.
    File(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Env => write!(f, "the environment variable {KEY_ENV}"),
            KeySource::File(p) => write!(f, "the key file {}", p.display()),
        }
    }
}

/// The key file of the SQLite store at `db` when none is named: `<db>.key`.
pub fn default_key_file(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Where the master key of the store at `db` is to be read: the environment
/// variable if set, else the key file it names, else (for a SQLite file)
/// the key file beside the store. A PostgreSQL store has no place beside it
/// on this machine: its key must be named, and not naming it is an error
/// that says how.
pub fn source_for(db: &Location) -> anyhow::Result<KeySource> {
    if std::env::var_os(KEY_ENV).is_some() {
        return Ok(KeySource::Env);
    }
    match (std::env::var_os(KEY_FILE_ENV), db) {
        (Some(p), _) if !p.is_empty() => Ok(KeySource::File(PathBuf::from(p))),
        (_, Location::File(path)) => Ok(KeySource::File(default_key_file(path))),
        (_, Location::Postgres(_)) => anyhow::bail!(
            "no master key named for the PostgreSQL store {db}: its key is kept apart from the \
             database, so set {KEY_FILE_ENV} to the key file (init creates it if it does not \
             exist) or {KEY_ENV} to the key itself"
        ),
    }
}

/// Reads the master key from `source`; the error names the source and what
/// to do.
pub fn read(source: &KeySource) -> anyhow::Result<MasterKey> {
    let text = match source {
        KeySource::Env => std::env::var(KEY_ENV)
            .map(zeroize::Zeroizing::new)
            .with_context(|| format!("{source} is not valid text"))?,
        KeySource::File(path) => match std::fs::read_to_string(path) {
            Ok(t) => zeroize::Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
                "no master key: {source} does not exist. Set {KEY_ENV} to the store's key, or \
                 {KEY_FILE_ENV} to its key file (init creates the key file of a new store)"
            ),
            Err(e) => return Err(e).with_context(|| format!("cannot read {source}")),
        },
    };
    MasterKey::from_hex(&text)
        .map_err(|m| anyhow::anyhow!("{source} does not hold a master key: {m}"))
}

/// Creates a key file at `path` holding `key`, readable and writable by its
/// owner only, and makes it durable (the file and its directory entry);
/// refuses to overwrite one.
pub fn write_key_file(path: &Path, key: &MasterKey) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create the key file {}", path.display()))?;
    file.write_all(key.to_hex().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    sync_parent(path)?;
    Ok(())
}

/// Where a rotation writes the new key before it replaces the key file
/// `path`: `<path>.new`.
pub fn pending_key_file(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// Renames the key file `from` over `to`, durably.
pub fn replace_key_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::rename(from, to).with_context(|| {
        format!(
            "cannot rename the key file {} to {}",
            from.display(),
            to.display()
        )
    })?;
    sync_parent(to)
}

/// Makes a file's directory entry durable (a new or renamed file survives a
/// crash). A no-op where directories cannot be synced.
fn sync_parent(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync the directory {}", dir.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The master key for a new store at `db`: from the environment or an
/// existing key file, else a new random key written to the key file.
/// Answers the key, its source and whether a key file was created.
pub fn for_new_store(db: &Location) -> anyhow::Result<(MasterKey, KeySource, bool)> {
    let source = source_for(db)?;
    match &source {
        KeySource::File(path) if !path.exists() => {
            let key = MasterKey::generate()?;
            write_key_file(path, &key)?;
            Ok((key, source, true))
        }
        _ => Ok((read(&source)?, source, false)),
    }
}

/// The fingerprint of the master key of the store at `db`, read without
/// changing anything: for a SQLite file through a read-only connection (so
/// that nothing in its files changes: opening the store for writing and
/// closing it checkpoints its write-ahead log into the database file), for
/// PostgreSQL by one query. `None` when it cannot be read this way (no
/// store, no key table): opening the store then says what is wrong.
pub async fn stored_fingerprint(db: &Location) -> Option<String> {
    match db {
        Location::File(path) => passerelle_events::SqliteStore::peek_fingerprint(path)
            .ok()
            .flatten(),
        Location::Postgres(url) => passerelle_events::PostgresStore::peek_fingerprint(url)
            .await
            .ok()
            .flatten(),
    }
}

/// Checks that the master key opens the store at `db` *before* the store is
/// opened for writing, so that a missing or wrong key changes no byte of the
/// database or its write-ahead log. The error names where the key was looked
/// for. When the key file does not open the store but `<keyfile>.new` does
/// (a rotation was interrupted after the store changed), the rename the
/// rotation did not do is done here, with a message on standard error.
pub async fn check(db: &Location) -> anyhow::Result<()> {
    if let Location::File(path) = db {
        if !path.exists() {
            // Opening the store says there is none.
            return Ok(());
        }
    }
    // A store without a keyring (an old one): opening it says what to do.
    let Some(stored) = stored_fingerprint(db).await else {
        return Ok(());
    };
    let source = source_for(db)?;
    let key = read(&source)?;
    let given = key.fingerprint();
    if given == stored {
        return Ok(());
    }
    let wrong = explain(
        KeyError::WrongMasterKey {
            given,
            store: stored.clone(),
        },
        &source,
        db,
    );
    let KeySource::File(path) = &source else {
        return Err(wrong);
    };
    let pending = pending_key_file(path);
    if !pending.exists() {
        return Err(wrong);
    }
    let why = match read(&KeySource::File(pending.clone())) {
        Ok(new) if new.fingerprint() == stored => {
            replace_key_file(&pending, path)?;
            eprintln!("{}", finished_note(&pending, &stored, path));
            return Ok(());
        }
        Ok(new) => format!(
            "its key (fingerprint {}) does not open the store either",
            new.fingerprint()
        ),
        Err(e) => format!("{e:#}"),
    };
    Err(wrong.context(format!(
        "{} exists too (left by a key rotation), but {why}",
        pending.display()
    )))
}

/// What is said when an interrupted rotation is finished.
fn finished_note(pending: &Path, fingerprint: &str, path: &Path) -> String {
    format!(
        "note: a key rotation was interrupted after the store's keys were wrapped again: {} \
         holds the store's master key (fingerprint {fingerprint}) and now replaces {}",
        pending.display(),
        path.display()
    )
}

/// Opens the keyring of `store` (the store at `db`) with its master key. A
/// missing or wrong key is refused with a message that names where the key
/// was looked for, and nothing is written to the store. Call [`check`]
/// before the store is opened for writing: it keeps the store's files
/// unchanged byte for byte on a wrong key, and finishes a key rotation that
/// was interrupted.
pub async fn open_keyring<S: EventLog>(store: S, db: &Location) -> anyhow::Result<Keyring<S>> {
    let source = source_for(db)?;
    let key = read(&source)?;
    Keyring::open(store, key)
        .await
        .map_err(|e| explain(e, &source, db))
}

/// An error of [`Keyring::open`] with where the key came from.
pub fn explain(e: KeyError, source: &KeySource, db: &Location) -> anyhow::Error {
    match e {
        KeyError::WrongMasterKey { given, store } => anyhow::anyhow!(
            "the master key from {source} (fingerprint {given}) is not the key of the store at \
             {db} (fingerprint {store}); nothing was written. Use the store's own key"
        ),
        KeyError::NoKeyring => {
            anyhow::anyhow!("the store at {db} has no keyring: {}", KeyError::NoKeyring)
        }
        other => anyhow::Error::from(other),
    }
}

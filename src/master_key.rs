//! Where a store's master key comes from, and opening the store's keyring
//! with it (decision 009).
//!
//! In order: the environment variable `PASSERELLE_MASTER_KEY` (64 hex
//! digits); the key file named by `PASSERELLE_MASTER_KEY_FILE`; the key file
//! next to the store (`<db>.key`), which `init` and `demo` create, readable
//! by its owner only. The key must be backed up apart from the database: a
//! copy of the database without it reveals no personal data, and without
//! any copy of it the personal data is lost.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use passerelle_events::keyring::KeyError;
use passerelle_events::{EventLog, Keyring, MasterKey};

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

/// The key file of the store at `db` when none is named: `<db>.key`.
pub fn default_key_file(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Where the master key of the store at `db` is to be read: the environment
/// variable if set, else the key file.
pub fn source_for(db: &Path) -> KeySource {
    if std::env::var_os(KEY_ENV).is_some() {
        return KeySource::Env;
    }
    match std::env::var_os(KEY_FILE_ENV) {
        Some(p) if !p.is_empty() => KeySource::File(PathBuf::from(p)),
        _ => KeySource::File(default_key_file(db)),
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
/// owner only; refuses to overwrite one.
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
    Ok(())
}

/// The master key for a new store at `db`: from the environment or an
/// existing key file, else a new random key written to the key file.
/// Answers the key, its source and whether a key file was created.
pub fn for_new_store(db: &Path) -> anyhow::Result<(MasterKey, KeySource, bool)> {
    let source = source_for(db);
    match &source {
        KeySource::File(path) if !path.exists() => {
            let key = MasterKey::generate()?;
            write_key_file(path, &key)?;
            Ok((key, source, true))
        }
        _ => Ok((read(&source)?, source, false)),
    }
}

/// Opens the keyring of `store` (the store at `db`) with its master key. A
/// missing or wrong key is refused with a message that names where the key
/// was looked for; nothing is written.
pub async fn open_keyring<S: EventLog>(store: S, db: &Path) -> anyhow::Result<Keyring<S>> {
    let source = source_for(db);
    let key = read(&source)?;
    Keyring::open(store, key)
        .await
        .map_err(|e| explain(e, &source, db))
}

/// An error of [`Keyring::open`] with where the key came from.
pub fn explain(e: KeyError, source: &KeySource, db: &Path) -> anyhow::Error {
    match e {
        KeyError::WrongMasterKey { given, store } => anyhow::anyhow!(
            "the master key from {source} (fingerprint {given}) is not the key of the store at \
             {} (fingerprint {store}); nothing was written. Use the store's own key",
            db.display()
        ),
        KeyError::NoKeyring => anyhow::anyhow!(
            "the store at {} has no keyring: {}",
            db.display(),
            KeyError::NoKeyring
        ),
        other => anyhow::Error::from(other),
    }
}

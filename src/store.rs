//! Where the event store is, and the store itself whichever backend holds it
//! (PRODUCT.md §5): the embedded SQLite file by default, or a PostgreSQL
//! database shared by several server instances.
//!
//! Every command takes `--db` (or `PASSERELLE_DB`): a path names a SQLite
//! file, a `postgres://` or `postgresql://` URL names a database. [`Store`]
//! is one [`EventLog`] over either, so the ledger, the projections and the
//! API are written once.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use passerelle_events::store::{
    AppendRequest, Appended, KeyChanges, KeyOp, KeyOpDone, KeysSince, RawEvent, WriteTurn,
};
use passerelle_events::{EventLog, PostgresStore, SqliteStore, StoreError};

/// Where a store is: a SQLite file or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The path of a SQLite file.
    File(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user@host:port/db`, with any
    /// parameter libpq-style URLs take).
    Postgres(String),
}

impl Location {
    /// The SQLite file, if the store is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::File(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }

    /// Whether the store is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }
}

/// What a `--db` value says: an empty value is refused, a URL with another
/// scheme than PostgreSQL's is refused (it is no file name anyone means).
impl FromStr for Location {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err("an empty store location: give a file path or a postgres:// URL".into());
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return match scheme.to_ascii_lowercase().as_str() {
                "postgres" | "postgresql" => {
                    url::Url::parse(s).map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
                    Ok(Location::Postgres(s.to_owned()))
                }
                other => Err(format!(
                    "{other}:// is not a store this build knows: give a file path (SQLite) or a \
                     postgres:// URL"
                )),
            };
        }
        Ok(Location::File(PathBuf::from(s)))
    }
}

/// Reads a `--db` value for clap as [`Location::from_str`] does, but its
/// error never repeats the value: clap's own would, and a URL may hold a
/// password.
#[derive(Debug, Clone, Copy)]
pub struct LocationParser;

impl clap::builder::TypedValueParser for LocationParser {
    type Value = Location;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Location, clap::Error> {
        let name = arg.map_or_else(|| "the store".to_owned(), ToString::to_string);
        let refuse = |message: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for '{name}': {message}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| refuse("not valid UTF-8".to_owned()))?;
        text.parse().map_err(refuse)
    }
}

/// A file's path, or the URL with its password hidden: what messages name.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => f.write_str(&redacted(url)),
        }
    }
}

/// `url` with its password (if any) replaced by `***`.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        // Never echo what could not be read: it may hold a password.
        Err(_) => "<a PostgreSQL URL that does not parse>".into(),
    }
}

/// The event store, whichever backend holds it. Clones share one store.
#[derive(Clone)]
pub enum Store {
    /// The embedded SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PostgresStore),
}

impl Store {
    /// Opens the store at `location`, which must exist (`passerelle init`
    /// makes one).
    pub async fn open(location: &Location) -> Result<Self, StoreError> {
        Ok(match location {
            Location::File(path) => Store::Sqlite(SqliteStore::open(path)?),
            Location::Postgres(url) => Store::Postgres(PostgresStore::open(url).await?),
        })
    }

    /// Creates the store at `location`, or opens the one already there;
    /// [`Store::created`] tells which.
    pub async fn create(location: &Location) -> Result<Self, StoreError> {
        Ok(match location {
            Location::File(path) => Store::Sqlite(SqliteStore::create(path)?),
            Location::Postgres(url) => Store::Postgres(PostgresStore::create(url).await?),
        })
    }

    /// Whether [`Store::create`] made it just now.
    pub fn created(&self) -> bool {
        match self {
            Store::Sqlite(s) => s.created(),
            Store::Postgres(s) => s.created(),
        }
    }

    /// A SQLite store of schema 1 (personal data in clear, no key table):
    /// read-only here. A PostgreSQL store never is one.
    pub fn is_legacy(&self) -> bool {
        match self {
            Store::Sqlite(s) => s.is_legacy(),
            Store::Postgres(_) => false,
        }
    }

    /// Answers what is queued and stops the store's writer, waiting for it
    /// off the runtime's threads.
    pub async fn close(self) {
        match self {
            Store::Sqlite(s) => s.close().await,
            Store::Postgres(s) => s.close().await,
        }
    }
}

/// Runs `$call` on whichever store `$self` is.
macro_rules! on_store {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Store::Sqlite($s) => $call,
            Store::Postgres($s) => $call,
        }
    };
}

impl EventLog for Store {
    fn append(
        &self,
        request: AppendRequest,
    ) -> BoxFuture<'static, Result<Vec<Appended>, StoreError>> {
        on_store!(self, s => s.append(request))
    }

    fn read(
        &self,
        after: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<RawEvent>, StoreError>> {
        on_store!(self, s => s.read(after, limit))
    }

    fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<RawEvent>, StoreError>> {
        on_store!(self, s => s.read_stream(stream, from_version, limit))
    }

    fn stream_version(&self, stream: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        on_store!(self, s => s.stream_version(stream))
    }

    fn head(&self) -> BoxFuture<'static, Result<u64, StoreError>> {
        on_store!(self, s => s.head())
    }

    fn head_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        on_store!(self, s => s.head_changes())
    }

    fn write_keys(&self, op: KeyOp) -> BoxFuture<'static, Result<KeyOpDone, StoreError>> {
        on_store!(self, s => s.write_keys(op))
    }

    fn read_keys(&self, since: KeysSince) -> BoxFuture<'static, Result<KeyChanges, StoreError>> {
        on_store!(self, s => s.read_keys(since))
    }

    fn begin_load(&self) -> BoxFuture<'static, Result<bool, StoreError>> {
        on_store!(self, s => s.begin_load())
    }

    fn end_load(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        on_store!(self, s => s.end_load())
    }

    fn turn(&self) -> BoxFuture<'static, Result<WriteTurn, StoreError>> {
        on_store!(self, s => s.turn())
    }

    fn subscribe(&self, after: u64) -> BoxStream<'static, Result<RawEvent, StoreError>> {
        on_store!(self, s => s.subscribe(after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_a_file_and_a_postgres_url_a_database() {
        assert_eq!(
            "./p.db".parse::<Location>(),
            Ok(Location::File(PathBuf::from("./p.db")))
        );
        assert_eq!(
            "postgresql://u@h:5433/db".parse::<Location>(),
            Ok(Location::Postgres("postgresql://u@h:5433/db".into()))
        );
        let err = "mysql://u@h/db".parse::<Location>().unwrap_err();
        assert!(err.contains("mysql://"), "{err}");
        assert!("".parse::<Location>().is_err());
        assert!("postgres://[".parse::<Location>().is_err());
    }

    #[test]
    fn messages_never_show_the_password() {
        let l: Location = "postgres://app:s3cret@db.example:5432/p".parse().unwrap();
        let shown = l.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}

//! The embedded SQLite store: one file, WAL (a load aside), `synchronous=FULL`,
//! append-only.
//!
//! This module owns the file's schema (one `events` table, guarded by triggers
//! that refuse `UPDATE` and `DELETE`), the single writer thread that commits
//! appends in groups, and the pool of read-only connections behind reads.
//!
//! **Group commit.** [`EventLog::append`] queues its request on a channel when
//! it is called and returns a future that waits for the answer. The writer
//! thread takes every request already queued (up to [`MAX_GROUP`]), applies
//! each one inside its own `SAVEPOINT` of one `BEGIN IMMEDIATE` transaction (so
//! a conflict rolls back that request alone), commits once — one fsync for the
//! whole group — and only then answers each caller and publishes the new head.
//! A request that writes one row at most (one event, no key) needs no
//! savepoint: it is checked before its insert, and SQLite undoes a failed
//! statement alone.
//!
//! **Keys.** Beside `events`, the file holds the key table of
//! [`super::keys`]: `keyring` (one row), `subject_keys` (live data keys,
//! wrapped) and `erased_keys` (tombstones). The writer runs key changes as
//! jobs of their own, between groups; an append makes the keys of its new
//! subjects in its own savepoint. An erasure deletes its key in the
//! transaction that appends its event; the writer connection has
//! `secure_delete` on, so the deleted bytes are overwritten with zeros, and
//! after the commit it checkpoints the write-ahead log and truncates it, so
//! the key is gone from the WAL too, before the caller is answered.
//!
//! **Files.** A new store file is created readable and writable by its owner
//! only (0600); SQLite gives its `-wal` and `-shm` files the same mode, and
//! the `-journal` of a load the same.
//!
//! **A load** into an empty store ([`EventLog::begin_load`]) is one write
//! transaction, its unique indexes built at its end (decision 027). When no
//! other connection has the file open, it leaves WAL mode for a rollback
//! journal, so its pages are written once, and the readers answer from a
//! copy of the committed state in memory until it ends ([`Unlogged`],
//! decision 030). A request of a load stores the keys it makes before its
//! savepoint opens, and deletes them if it is refused: SQLite copies into a
//! statement journal every page a savepoint changes that was written before
//! it, and a load's keys land all over the key table's indexes (decision 031).
//!
//! **What the writer knows.** The writer keeps the head (position, hash, id)
//! and the versions of the streams it has read or written (`Known`, in
//! `super::writer` with the rest of what the PostgreSQL writer shares), so
//! an append reads nothing back: it inserts, and the `UNIQUE` index on `id`
//! tells it when the event is stored already. A writer that read the table
//! empty knows every stream from then on, so it reads no version back for a
//! new one (an import into a new store). What it knows holds while no
//! other connection commits; `PRAGMA data_version`, read in each write
//! transaction, says when one did, and it is then forgotten.
//!
//! It must not: update or delete an event; keep any mutable table beside
//! `events` but the key table (stream versions and the head come from
//! `events` itself: read from it, or known from this writer's own commits);
//! write through any connection but the writer's; answer an
//! append before its commit; decode `data`. The append rules themselves live in
//! `super::apply_append`, and the key rules in `super::keys`, shared by every
//! store.

use foldhash::{HashMap, HashMapExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use tokio::sync::watch;
use uuid::Uuid;

use super::keys::{apply_key_op, erase_key, make_keys, KeyTarget, Taken};
use super::sql::{
    decode_event, decode_key, decode_keyring, recorded_at, select_events, select_keys, to_hash,
    to_i64, to_u64, Columns, READ_KEYRING,
};
use super::writer::{
    answer_group, erased_any, release, writes_one_row, Alone, Job, Known, Queue, Shared, Turn,
    Work, Writer,
};
use super::{
    apply_append, AppendRequest, AppendTarget, Appended, EventLog, KeyChanges, KeyEntry, KeyOp,
    KeyOpDone, KeyringRecord, KeysSince, KeysToMake, NewKey, RawEvent, StoreError,
};

pub use super::writer::{CommitStats, MAX_GROUP};

/// `PRAGMA application_id` of a Passerelle store ("PSRL").
const APPLICATION_ID: i64 = 0x5053_524C;

/// `PRAGMA user_version`: the version of the schema below. Version 1 had no
/// key table and kept personal data in clear; this build reads such a store
/// (to export it) but writes nothing to it. Version 2 declared the two unique
/// constraints of `events` in the table; version 3 names them as indexes
/// (`events_id`, `events_stream_version`), which a load builds after its rows
/// ([`EventLog::begin_load`]). Both enforce the same: a store of version 2 is
/// read and written as it is, and becomes version 3 when a load fills it.
const SCHEMA_VERSION: i64 = 3;

/// How long a connection waits for another one's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 4;

/// The writer connection's page cache, in KiB (`PRAGMA cache_size` takes a
/// negative figure as KiB). SQLite's default, 2 MiB, is smaller than the
/// pages a batch of a few thousand events dirties in the table and its two
/// unique indexes (`id`, `stream, version`): past it, the pager spills pages
/// to the write-ahead log in the middle of the transaction and reads the
/// index pages back for every event. The cache grows only as pages are used.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// The writer's page cache while a load builds its indexes, in KiB: also the
/// size of each sorted run of keys (decision 029).
const SORT_CACHE_KIB: i64 = 4 * 1024;

/// The events table and its guards, without its unique indexes
/// ([`EVENTS_INDEXES`]): a load creates them once its rows are in.
const EVENTS_TABLE: &str = "
CREATE TABLE events (
    position       INTEGER PRIMARY KEY CHECK (position >= 1),
    id             TEXT    NOT NULL,
    stream         TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    schema_version INTEGER NOT NULL,
    type           TEXT    NOT NULL,
    programme      TEXT    NOT NULL,
    occurred_at    TEXT    NOT NULL,
    data           TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL,
    recorded_by    TEXT    NOT NULL,
    hash           BLOB    NOT NULL CHECK (length(hash) = 32)
) STRICT;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
";

/// Event ids and stream versions are unique.
const EVENTS_INDEXES: &str = "
CREATE UNIQUE INDEX events_id ON events (id);
CREATE UNIQUE INDEX events_stream_version ON events (stream, version);
";

/// The key tables.
const KEY_TABLES: &str = "
CREATE TABLE keyring (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT    NOT NULL,
    index_key   BLOB    NOT NULL,
    generation  INTEGER NOT NULL CHECK (generation >= 0)
) STRICT;
CREATE TABLE subject_keys (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    lookup     BLOB    NOT NULL UNIQUE CHECK (length(lookup) = 32),
    wrapped    BLOB    NOT NULL,
    subject    BLOB    NOT NULL,
    created_at TEXT    NOT NULL
) STRICT;
CREATE TABLE erased_keys (
    id        TEXT NOT NULL PRIMARY KEY,
    erased_at TEXT NOT NULL
) STRICT;
";

const INSERT: &str = "INSERT INTO events (position, id, stream, version, schema_version, type, \
     programme, occurred_at, data, recorded_at, recorded_by, hash) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// The SQLite store. Clones share one writer thread and one reader pool.
/// Dropping the last clone answers the queued appends, then stops the writer
/// and waits for it (one group commit at most); in async code,
/// [`SqliteStore::close`] does that wait off the runtime's threads.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    created: bool,
    /// A store of schema 1 (no key table): read-only here.
    legacy: bool,
    /// Dropped (the thread stopped) when the last handle goes.
    writer: Writer,
    readers: Arc<Readers>,
    shared: Arc<Shared>,
}

impl SqliteStore {
    /// Creates a store at `path`, or opens the Passerelle store already there
    /// (see [`SqliteStore::created`]). Refuses a file that is not a Passerelle
    /// store, and a store of a newer schema.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        create_private(&path)?;
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| backend(&path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let created = match identify(&conn, &path)? {
            Identity::Store => false,
            Identity::Legacy => return Err(legacy(&path)),
            Identity::Empty => {
                set_wal(&conn, &path)?;
                conn.execute_batch("BEGIN IMMEDIATE")?;
                let result = (|| {
                    // Another process may have created it since we looked.
                    match identify(&conn, &path)? {
                        Identity::Store => Ok(false),
                        Identity::Legacy => Err(legacy(&path)),
                        Identity::Empty => {
                            conn.execute_batch(EVENTS_TABLE)?;
                            conn.execute_batch(EVENTS_INDEXES)?;
                            conn.execute_batch(KEY_TABLES)?;
                            conn.pragma_update(None, "application_id", APPLICATION_ID)?;
                            conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
                            Ok(true)
                        }
                    }
                })();
                match result {
                    Ok(created) => {
                        conn.execute_batch("COMMIT")?;
                        created
                    }
                    Err(e) => {
                        let _ = conn.execute_batch("ROLLBACK");
                        return Err(e);
                    }
                }
            }
        };
        if !created {
            tracing::info!(path = %path.display(), "a store already exists here; opening it");
        }
        Self::start(path, conn, created, false)
    }

    /// Opens the store at `path`; [`StoreError::Missing`] if there is no file
    /// there (it never creates one). A store of schema 1 (made before personal
    /// data was sealed) opens for reading only: its appends and key changes
    /// are refused, so that it can be exported and imported into a new store.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| backend(&path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        warn_if_shared(&path);
        match identify(&conn, &path)? {
            Identity::Store => Self::start(path, conn, false, false),
            Identity::Legacy => Self::start(path, conn, false, true),
            Identity::Empty => Err(not_a_store(&path)),
        }
    }

    /// Configures the writer connection and starts the writer thread.
    fn start(
        path: PathBuf,
        conn: Connection,
        created: bool,
        legacy: bool,
    ) -> Result<Self, StoreError> {
        set_wal(&conn, &path)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted key bytes are overwritten, not left in free space.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        conn.set_prepared_statement_cache_capacity(32);
        let head = read_head(&conn)?;
        let shared = Arc::new(Shared::new(head));
        let readers = Arc::new(Readers::new(path.clone()));
        let writer = {
            let shared = shared.clone();
            let readers = readers.clone();
            Writer::spawn("passerelle-sqlite-writer", move |queue| {
                write_loop(conn, queue, &shared, &readers)
            })?
        };
        Ok(Self {
            inner: Arc::new(Inner {
                readers,
                path,
                created,
                legacy,
                writer,
                shared,
            }),
        })
    }

    /// The fingerprint of the master key of the store at `path`, read through
    /// a read-only connection: nothing in its files changes (opening a store
    /// for writing and closing it checkpoints its write-ahead log into the
    /// database file). `Ok(None)` for a store without a keyring.
    pub fn peek_fingerprint(path: impl AsRef<Path>) -> Result<Option<String>, StoreError> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| backend(path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        match identify(&conn, path)? {
            Identity::Store => Ok(read_keyring(&conn)?.map(|r| r.fingerprint)),
            Identity::Legacy => Ok(None),
            Identity::Empty => Err(not_a_store(path)),
        }
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether [`SqliteStore::create`] made a new store (false when it found
    /// one, and for [`SqliteStore::open`]).
    pub fn created(&self) -> bool {
        self.inner.created
    }

    /// Whether this is a store of schema 1, opened for reading only.
    pub fn is_legacy(&self) -> bool {
        self.inner.legacy
    }

    /// Groups committed by this handle's writer so far.
    pub fn commit_stats(&self) -> CommitStats {
        self.inner.shared.stats()
    }

    /// Drops this handle; if it is the last one, waits (off the async
    /// threads) until the queued appends are answered and the writer stopped.
    pub async fn close(self) {
        release(self.inner).await;
    }

    /// Runs `f` on an idle read-only connection, on a blocking thread.
    fn read_with<T, F>(&self, f: F) -> BoxFuture<'static, Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = self.inner.readers.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || readers.with(f))
                .await
                .map_err(|e| StoreError::Backend(format!("read task failed: {e}")))?
        })
    }
}

impl EventLog for SqliteStore {
    fn append(
        &self,
        request: AppendRequest,
    ) -> BoxFuture<'static, Result<Vec<Appended>, StoreError>> {
        if self.inner.legacy {
            let e = legacy(&self.inner.path);
            return Box::pin(async move { Err(e) });
        }
        self.inner
            .writer
            .ask(|reply| Work::Append(Job { request, reply }))
    }

    fn read(
        &self,
        after: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<RawEvent>, StoreError>> {
        self.read_with(move |conn| {
            query_events(
                conn,
                select_events!("WHERE position > ?1 ORDER BY position LIMIT +?2"),
                params![to_i64(after), to_limit(limit)],
            )
        })
    }

    fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<RawEvent>, StoreError>> {
        let stream = stream.to_owned();
        self.read_with(move |conn| {
            query_events(
                conn,
                select_events!("WHERE stream = ?1 AND version >= ?2 ORDER BY version LIMIT +?3"),
                params![stream, to_i64(from_version), to_limit(limit)],
            )
        })
    }

    fn stream_version(&self, stream: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        let stream = stream.to_owned();
        self.read_with(move |conn| read_stream_version(conn, &stream))
    }

    fn head(&self) -> BoxFuture<'static, Result<u64, StoreError>> {
        // From the file, not the watch value: another process may have appended.
        self.read_with(read_head)
    }

    fn head_changes(&self) -> watch::Receiver<u64> {
        self.inner.shared.head_changes()
    }

    fn write_keys(&self, op: KeyOp) -> BoxFuture<'static, Result<KeyOpDone, StoreError>> {
        if self.inner.legacy {
            let e = legacy(&self.inner.path);
            return Box::pin(async move { Err(e) });
        }
        self.inner
            .writer
            .ask(|reply| Work::Alone(Alone::Keys { op, reply }))
    }

    fn read_keys(&self, since: KeysSince) -> BoxFuture<'static, Result<KeyChanges, StoreError>> {
        if self.inner.legacy {
            return Box::pin(async { Ok(KeyChanges::default()) });
        }
        self.read_with(move |conn| read_key_changes(conn, since))
    }

    fn begin_load(&self) -> BoxFuture<'static, Result<bool, StoreError>> {
        if self.inner.legacy {
            return Box::pin(async { Ok(false) });
        }
        self.inner
            .writer
            .ask(|reply| Work::Alone(Alone::Load { begin: true, reply }))
    }

    fn end_load(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        let ended = self.inner.writer.ask(|reply| {
            Work::Alone(Alone::Load {
                begin: false,
                reply,
            })
        });
        Box::pin(async move { ended.await.map(|_| ()) })
    }
}

/// The writer thread: one group of appends, or one key change, per turn until
/// every handle is gone.
fn write_loop(conn: Connection, mut queue: Queue, shared: &Shared, readers: &Readers) {
    let mut known = Known::default();
    let mut loading: Option<Loading> = None;
    while let Some(turn) = queue.next_turn() {
        match turn {
            Turn::Group(group) => match &mut loading {
                Some(load) => load.append_group(&conn, &mut known, group, shared),
                None => commit_group(&conn, &mut known, group, shared),
            },
            Turn::Alone(Alone::Keys { op, reply }) => {
                let result = match &mut loading {
                    Some(load) => load.change_keys(&conn, &mut known, &op),
                    None => change_keys(&conn, &op),
                };
                if result.is_ok() && matches!(op, KeyOp::Rotate { .. }) {
                    // The keys wrapped by the old master key leave the WAL too.
                    checkpoint(&conn);
                }
                let _ = reply.send(result);
            }
            Turn::Alone(Alone::Load { begin, reply }) => {
                let result = if begin {
                    Loading::begin(&conn, &mut known, &mut loading, readers)
                } else {
                    Loading::end(&conn, &mut known, &mut loading, shared, readers)
                };
                let _ = reply.send(result);
            }
        }
    }
    if let Some(load) = loading {
        // Never ended: nothing of it is kept.
        let _ = conn.execute_batch("ROLLBACK");
        if let Some(unlogged) = load.unlogged {
            unlogged.leave(&conn, readers);
        }
    }
}

/// A load into an empty store ([`EventLog::begin_load`]): one write
/// transaction from its beginning to its end, in which the events table has
/// no unique index. Each event id's position is kept here instead, and
/// every stream's version in [`Known`] (the table was empty); the indexes
/// are built once, from the rows, when the load ends — which also checks
/// both constraints over every row before anything is committed.
///
/// When no other connection has the file open, the load is written
/// without the write-ahead log ([`Unlogged`]).
struct Loading {
    /// The position of each event id appended in the load.
    ids: HashMap<Uuid, u64>,
    /// Why the transaction was lost, if it was: every later request and the
    /// end are answered with it.
    lost: Option<StoreError>,
    /// Set when the load is written with a rollback journal.
    unlogged: Option<Unlogged>,
}

impl Loading {
    /// Begins a load if the log is empty (answers whether it did): the
    /// events table is made again without its unique indexes, in the
    /// transaction that the load's end commits.
    fn begin(
        conn: &Connection,
        known: &mut Known,
        loading: &mut Option<Loading>,
        readers: &Readers,
    ) -> Result<bool, StoreError> {
        if loading.is_some() {
            return Err(StoreError::Backend("a load is already under way".into()));
        }
        // Looked at first outside the transaction, so that a store with
        // events is never copied for its readers; checked again inside it.
        if !log_is_empty(conn)? {
            return Ok(false);
        }
        let mut pool = readers.pool();
        let unlogged = Unlogged::enter(conn, &mut pool);
        if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
            if let Some(unlogged) = unlogged {
                drop(pool);
                unlogged.leave(conn, readers);
            }
            return Err(e);
        }
        let begun = (|| {
            let empty = log_is_empty(conn)?;
            if empty {
                if unlogged.is_some() {
                    // Before the first change: what the file holds now is
                    // what is committed, and no one else can change it.
                    pool.copy = Some(Arc::new(Mutex::new(copy_committed(readers)?)));
                }
                // Dropping a table deletes its rows without firing triggers;
                // there are none. A store of schema 2 becomes one of schema 3.
                conn.execute_batch("DROP TABLE events")?;
                conn.execute_batch(EVENTS_TABLE)?;
            }
            Ok::<_, StoreError>(empty)
        })();
        drop(pool);
        match begun {
            Ok(true) => {
                known.forget();
                known.complete = true;
                known.unbounded = true;
                *loading = Some(Loading {
                    ids: HashMap::new(),
                    lost: None,
                    unlogged,
                });
                Ok(true)
            }
            // Not empty, or failed: nothing of it is kept.
            other => {
                rollback(conn);
                if let Some(unlogged) = unlogged {
                    unlogged.leave(conn, readers);
                }
                other
            }
        }
    }

    /// Ends the load: builds the unique indexes and commits. Answers the
    /// error that lost the transaction, if one did; nothing is kept then.
    fn end(
        conn: &Connection,
        known: &mut Known,
        loading: &mut Option<Loading>,
        shared: &Shared,
        readers: &Readers,
    ) -> Result<bool, StoreError> {
        let Some(load) = loading.take() else {
            return Ok(false);
        };
        known.unbounded = false;
        let committed = match load.lost {
            Some(e) => Err(e),
            None => Self::commit(conn, known),
        };
        // The readers read the file again only once the load is committed
        // (or rolled back) and the file is back in WAL mode.
        if let Some(unlogged) = load.unlogged {
            unlogged.leave(conn, readers);
        }
        committed?;
        if let Some((head, _, _)) = known.head {
            shared.publish_head(head);
        }
        Ok(true)
    }

    /// Builds the unique indexes and commits the load's transaction; rolls
    /// it back if either fails.
    fn commit(conn: &Connection, known: &mut Known) -> Result<(), StoreError> {
        let committed = (|| {
            // The sorter that builds each index may use a helper thread:
            // nothing else is running in the load's last step. It sorts the
            // keys in runs the size of the page cache, handed to the helper
            // as they fill, then merges them: runs of a few MiB sort in the
            // processor's caches, and twice as fast in all as one run of
            // the writer's whole cache (decision 029).
            conn.pragma_update(None, "threads", 1)?;
            conn.pragma_update(None, "cache_size", -SORT_CACHE_KIB)?;
            conn.execute_batch(EVENTS_INDEXES)?;
            conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
            conn.pragma_update(None, "threads", 0)?;
            conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            run(conn, "COMMIT")
        })();
        if let Err(e) = committed {
            known.forget();
            rollback(conn);
            // As outside a load, if the indexes stopped it.
            let _ = conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB);
            let _ = conn.pragma_update(None, "threads", 0);
            tracing::error!(error = %e, "a load could not be committed");
            return Err(e);
        }
        Ok(())
    }

    /// Appends `group` in the load's transaction, each request of more than
    /// one row in a savepoint of its own ([`append_one`]); answered at
    /// once, durable when the load ends.
    fn append_group(
        &mut self,
        conn: &Connection,
        known: &mut Known,
        group: Vec<Job>,
        shared: &Shared,
    ) {
        let now = Utc::now();
        shared.count_group(group.len());
        for mut job in group {
            let outcome = match &self.lost {
                Some(e) => Err(e.clone()),
                // Destroying a key is made durable before it is answered
                // (the write-ahead log is truncated), which a load defers.
                None if !job.request.erase.is_empty() => Err(StoreError::Backend(
                    "a store being loaded destroys no key: erase once the load has ended".into(),
                )),
                None => match append_in_load(conn, known, &mut self.ids, &mut job.request, now) {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        self.lose(conn, known, &e);
                        Err(e)
                    }
                },
            };
            let _ = job.reply.send(outcome);
        }
    }

    /// A key change in a savepoint of the load's transaction.
    fn change_keys(
        &mut self,
        conn: &Connection,
        known: &mut Known,
        op: &KeyOp,
    ) -> Result<KeyOpDone, StoreError> {
        if let Some(e) = &self.lost {
            return Err(e.clone());
        }
        if matches!(op, KeyOp::Rotate { .. }) {
            // The old wrapped keys leave the write-ahead log before a
            // rotation is answered, which a load would defer.
            return Err(StoreError::Backend(
                "a store being loaded rotates no key: rotate once the load has ended".into(),
            ));
        }
        run(conn, "SAVEPOINT keys")?;
        let mut target = Transaction {
            conn,
            known: None,
            ids: None,
        };
        let result = apply_key_op(&mut target, op, Utc::now());
        let undone = if result.is_ok() {
            run(conn, "RELEASE keys")
        } else {
            run(conn, "ROLLBACK TO keys").and_then(|()| run(conn, "RELEASE keys"))
        };
        if let Err(e) = undone {
            self.lose(conn, known, &e);
            return Err(e);
        }
        result
    }

    /// The transaction is lost: nothing of the load is kept.
    fn lose(&mut self, conn: &Connection, known: &mut Known, e: &StoreError) {
        tracing::error!(error = %e, "a load's transaction failed: nothing of it is kept");
        known.forget();
        rollback(conn);
        self.lost = Some(e.clone());
    }
}

/// A load written with a rollback journal instead of the write-ahead log
/// (decision 030). Its pages are written once, into the database file; with
/// the log they were written twice, into the log and then, by the
/// checkpoint at its commit, into the file. A crash in the middle leaves a
/// hot journal, which the next connection to open the file rolls back.
///
/// While the load holds the file, no other connection can read it once the
/// load's pages spill from its cache, so it is taken only when no other
/// connection has the file open (SQLite refuses to leave WAL mode
/// otherwise), and this store's readers read a copy of its committed state
/// ([`Pool::copy`]) until it ends. A process that opens the store meanwhile
/// waits for the load, up to the busy timeout.
struct Unlogged;

impl Unlogged {
    /// Takes the file out of WAL mode, after closing the readers' idle
    /// connections; `None` when another connection has it open, and the
    /// load is written through the log as always.
    fn enter(conn: &Connection, pool: &mut Pool) -> Option<Unlogged> {
        pool.idle.clear();
        // Asked once: a connection open elsewhere is not waited for.
        if conn.busy_timeout(Duration::ZERO).is_err() {
            return None;
        }
        let mode: rusqlite::Result<String> =
            conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0));
        if let Err(e) = conn.busy_timeout(BUSY_TIMEOUT) {
            tracing::warn!(error = %e, "the writer's busy timeout could not be set again");
        }
        match mode {
            Ok(mode) if mode.eq_ignore_ascii_case("delete") => Some(Unlogged),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(error = %e, "a load goes through the write-ahead log");
                None
            }
        }
    }

    /// Puts the file back in WAL mode, once the load is committed or rolled
    /// back, and the readers back on the file.
    fn leave(self, conn: &Connection, readers: &Readers) {
        if let Err(e) = set_wal(conn, &readers.path) {
            // The store stays whole in either mode; whoever opens it next
            // puts it in WAL mode (`SqliteStore::start`).
            tracing::warn!(
                error = %e,
                "after a load the store could not be put back in WAL mode: another connection \
                 opened it meanwhile"
            );
        }
        readers.pool().copy = None;
    }
}

/// Whether a statement failed on a unique index (SQLite undoes the
/// statement alone; the transaction goes on).
fn breaks_unique(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// Inserts the row of a new key.
fn insert_key_row(conn: &Connection, key: &NewKey, at: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT INTO subject_keys (id, lookup, wrapped, subject, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        key.id,
        &key.lookup[..],
        key.wrapped,
        key.subject,
        at
    ])
}

/// Whether the events table has no row.
fn log_is_empty(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM events)", [], |r| r.get(0))?)
}

/// A copy in memory of what the readers' file holds committed, read
/// through a reader connection of its own (not kept in the pool).
fn copy_committed(readers: &Readers) -> Result<Connection, StoreError> {
    let source = readers.open()?;
    let mut copy = Connection::open_in_memory()?;
    let step = rusqlite::backup::Backup::new(&source, &mut copy)?.step(-1)?;
    match step {
        rusqlite::backup::StepResult::Done => Ok(copy),
        other => Err(StoreError::Backend(format!(
            "{}: the store could not be copied for its readers during a load ({other:?})",
            readers.path.display()
        ))),
    }
}

/// Applies one key change in a transaction of its own.
fn change_keys(conn: &Connection, op: &KeyOp) -> Result<KeyOpDone, StoreError> {
    run(conn, "BEGIN IMMEDIATE")?;
    let result = apply_key_op(
        &mut Transaction {
            conn,
            known: None,
            ids: None,
        },
        op,
        Utc::now(),
    );
    match result {
        Ok(done) => {
            run(conn, "COMMIT")?;
            Ok(done)
        }
        Err(e) => {
            rollback(conn);
            Err(e)
        }
    }
}

/// Copies the write-ahead log into the database file and truncates it to
/// zero bytes, so that no old page image (a destroyed key's) stays in it.
/// Waits for readers (the busy timeout) and tries a few times; a checkpoint
/// that cannot finish is logged, and the next one completes it.
fn checkpoint(conn: &Connection) {
    for attempt in 1..=5 {
        let busy: rusqlite::Result<i64> =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0));
        match busy {
            Ok(0) => return,
            Ok(_) if attempt < 5 => std::thread::sleep(Duration::from_millis(20 * attempt)),
            Ok(_) => tracing::warn!(
                "the write-ahead log could not be truncated after an erasure: readers held it; \
                 the next checkpoint removes the destroyed key's old pages"
            ),
            Err(e) => {
                tracing::error!(error = %e, "checkpoint after an erasure failed");
                return;
            }
        }
    }
}

/// Applies a group in one transaction, each request in its own savepoint;
/// commits once; then answers every caller and publishes the head.
fn commit_group(conn: &Connection, known: &mut Known, mut group: Vec<Job>, shared: &Shared) {
    let now = Utc::now();
    let mut outcomes = Vec::with_capacity(group.len());
    let committed = (|| {
        run(conn, "BEGIN IMMEDIATE")?;
        known.check(data_version(conn)?);
        for job in &mut group {
            outcomes.push(append_one(conn, known, None, &mut job.request, now)?);
        }
        run(conn, "COMMIT")
    })();
    if let Err(e) = committed {
        known.forget();
        rollback(conn);
        tracing::error!(error = %e, requests = group.len(), "group commit failed");
        outcomes = group.iter().map(|_| Err(e.clone())).collect();
    }
    if erased_any(&group, &outcomes) {
        // Before anyone is told the key is gone.
        checkpoint(conn);
    }
    answer_group(group, outcomes, shared);
}

/// SQLite's count of the commits of other connections to the file.
fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?)
}

/// One request inside its savepoint (none for a request that writes one
/// row at most). The outer error means the transaction itself is lost; the
/// inner one is this request's own refusal.
fn append_one(
    conn: &Connection,
    known: &mut Known,
    ids: Option<&mut HashMap<Uuid, u64>>,
    request: &mut AppendRequest,
    now: DateTime<Utc>,
) -> Result<Result<Vec<Appended>, StoreError>, StoreError> {
    // A request that writes one row at most has nothing to undo on a
    // refusal: its checks come before its insert, and SQLite undoes a
    // failed statement, the transaction kept.
    let savepoint = !writes_one_row(request);
    if savepoint {
        run(conn, "SAVEPOINT request")?;
    }
    let mut target = Transaction {
        conn,
        known: Some(known),
        ids,
    };
    match apply_append(&mut target, request, now) {
        Ok(appended) => {
            if savepoint {
                run(conn, "RELEASE request")?;
            }
            known.learn(&appended);
            Ok(Ok(appended))
        }
        Err(e) if conn.is_autocommit() => Err(e),
        Err(e) => {
            if savepoint {
                run(conn, "ROLLBACK TO request")?;
                run(conn, "RELEASE request")?;
            }
            Ok(Err(e))
        }
    }
}

/// [`append_one`] in a load, the keys the request makes stored first,
/// outside its savepoint, and deleted again if it is refused. Inside one,
/// SQLite would copy into a statement journal, before changing it, every
/// page the keys change that the load had already written: a load makes a
/// key for each new subject, in random places of the key table's two
/// unique indexes, so that was most of their pages again for every batch.
/// No other connection writes the key table during the load (it holds the
/// write lock), so the keys after the load's last one are the request's.
fn append_in_load(
    conn: &Connection,
    known: &mut Known,
    ids: &mut HashMap<Uuid, u64>,
    request: &mut AppendRequest,
    now: DateTime<Utc>,
) -> Result<Result<Vec<Appended>, StoreError>, StoreError> {
    let Some(make) = request.make_keys.take() else {
        return append_one(conn, known, Some(ids), request, now);
    };
    let last_key: i64 = conn
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM subject_keys")?
        .query_row([], |r| r.get(0))?;
    let mut target = Transaction {
        conn,
        known: None,
        ids: None,
    };
    let outcome = match make_keys(&mut target, &make, now) {
        Ok(()) => append_one(conn, known, Some(ids), request, now)?,
        Err(e) if conn.is_autocommit() => return Err(e),
        Err(e) => Err(e),
    };
    if outcome.is_err() {
        conn.prepare_cached("DELETE FROM subject_keys WHERE seq > ?1")?
            .execute(params![last_key])?;
    }
    Ok(outcome)
}

/// Rolls back the open transaction, if any (a failed statement may have
/// ended it already); what failed is reported by the caller.
fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// Runs one statement without parameters, prepared once per connection.
fn run(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// The open write transaction, as [`apply_append`] sees it. Rows inserted
/// earlier in the transaction are visible to its reads; what the writer
/// knows as of the requests before this one (of this transaction or an
/// earlier one) is taken instead of reading it again.
struct Transaction<'c> {
    conn: &'c Connection,
    /// `None` for key changes, which read no event.
    known: Option<&'c mut Known>,
    /// During a load: the position of each event id appended, in place of
    /// the id index the table has not then. A request refused after its
    /// insert leaves its ids here, at positions that are free again or
    /// another event's: a lookup reads the row and checks its id.
    ids: Option<&'c mut HashMap<Uuid, u64>>,
}

impl AppendTarget for Transaction<'_> {
    fn find_id(&mut self, id: &Uuid) -> Result<Option<RawEvent>, StoreError> {
        let found = match self.ids.as_deref() {
            Some(ids) => match ids.get(id) {
                Some(&position) => {
                    let mut at = query_events(
                        self.conn,
                        select_events!("WHERE position = ?1"),
                        params![to_i64(position)],
                    )?;
                    at.retain(|e| e.record.id == *id);
                    at
                }
                None => Vec::new(),
            },
            None => query_events(
                self.conn,
                select_events!("WHERE id = ?1"),
                params![id.to_string()],
            )?,
        };
        Ok(found.into_iter().next())
    }

    fn stream_version(&mut self, stream: &str) -> Result<u64, StoreError> {
        if let Some(v) = self.known.as_ref().and_then(|k| k.version(stream)) {
            return Ok(v);
        }
        let version = read_stream_version(self.conn, stream)?;
        if let Some(known) = self.known.as_deref_mut() {
            known.remember(stream, version);
        }
        Ok(version)
    }

    fn last(&mut self) -> Result<(u64, [u8; 32]), StoreError> {
        if let Some((position, hash, _)) = self.known.as_ref().and_then(|k| k.head) {
            return Ok((position, hash));
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT position, hash, id FROM events ORDER BY position DESC LIMIT 1",
        )?;
        let row = stmt
            .query_row([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        let Some((position, hash, id)) = row else {
            if let Some(known) = self.known.as_deref_mut() {
                // Read in the write transaction: no stream has an event.
                known.streams.clear();
                known.complete = true;
            }
            return Ok((0, [0; 32]));
        };
        let position = to_u64(position, 0, "position")?;
        let hash = to_hash(position, &hash)?;
        let id = to_id(&id, position)?;
        if let Some(known) = self.known.as_deref_mut() {
            known.head = Some((position, hash, id));
        }
        Ok((position, hash))
    }

    fn id_at(&mut self, position: u64) -> Result<Option<Uuid>, StoreError> {
        if let Some((head, _, id)) = self.known.as_ref().and_then(|k| k.head) {
            if head == position {
                return Ok(Some(id));
            }
        }
        let id: Option<String> = self
            .conn
            .prepare_cached("SELECT id FROM events WHERE position = ?1")?
            .query_row(params![to_i64(position)], |r| r.get(0))
            .optional()?;
        id.map(|id| to_id(&id, position)).transpose()
    }

    fn make_keys(&mut self, make: &KeysToMake, now: DateTime<Utc>) -> Result<(), StoreError> {
        make_keys(self, make, now)
    }

    fn erase(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        erase_key(self, id, now)
    }

    fn insert(&mut self, raw: &RawEvent) -> Result<Option<RawEvent>, StoreError> {
        let r = &raw.record;
        let recorded_at = recorded_at(raw)?;
        if self.ids.is_some() {
            // A load's table has no id index to refuse it.
            if let Some(existing) = self.find_id(&r.id)? {
                return Ok(Some(existing));
            }
        }
        let inserted = self.conn.prepare_cached(INSERT)?.execute(params![
            to_i64(raw.position),
            r.id.to_string(),
            raw.stream,
            to_i64(raw.version),
            raw.schema_version,
            r.event_type,
            r.programme,
            r.occurred_at,
            r.data,
            recorded_at,
            r.recorded_by,
            &raw.hash[..],
        ]);
        match inserted {
            Ok(_) => {
                if let Some(ids) = self.ids.as_deref_mut() {
                    ids.insert(r.id, raw.position);
                }
                Ok(None)
            }
            // The statement alone is undone; the transaction goes on.
            Err(e) if breaks_unique(&e) => {
                if let Some(existing) = self.find_id(&r.id)? {
                    return Ok(Some(existing));
                }
                // Not the id: the stream's version is taken, so what this
                // writer knew of it was wrong. Refused as a conflict, and
                // known again from the table.
                let actual = read_stream_version(self.conn, &raw.stream)?;
                if let Some(known) = self.known.as_deref_mut() {
                    known.forget();
                }
                Err(StoreError::Conflict {
                    stream: raw.stream.clone(),
                    expected: raw.version - 1,
                    actual,
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl KeyTarget for Transaction<'_> {
    fn keyring(&mut self) -> Result<Option<KeyringRecord>, StoreError> {
        read_keyring(self.conn)
    }

    fn put_keyring(&mut self, record: &KeyringRecord) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO keyring (id, fingerprint, index_key, generation) VALUES (1, ?1, ?2, ?3) \
                 ON CONFLICT (id) DO UPDATE SET fingerprint = ?1, index_key = ?2, generation = ?3",
            )?
            .execute(params![
                record.fingerprint,
                record.index_key,
                to_i64(record.generation)
            ])?;
        Ok(())
    }

    fn key_by_lookup(&mut self, lookup: &[u8; 32]) -> Result<Option<KeyEntry>, StoreError> {
        query_key(self.conn, select_keys!("WHERE lookup = ?1"), &lookup[..])
    }

    fn key_by_id(&mut self, id: &str) -> Result<Option<KeyEntry>, StoreError> {
        query_key(self.conn, select_keys!("WHERE id = ?1"), id)
    }

    fn is_erased(&mut self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM erased_keys WHERE id = ?1)")?
            .query_row(params![id], |r| r.get(0))?)
    }

    fn insert_key(&mut self, key: &NewKey, at: &str) -> Result<KeyEntry, StoreError> {
        insert_key_row(self.conn, key, at)?;
        let seq = to_u64(self.conn.last_insert_rowid(), 0, "key seq")?;
        Ok(KeyEntry {
            seq,
            key: key.clone(),
        })
    }

    /// Two statements: whether the id is a destroyed key's, then the insert
    /// of one row, which the unique indexes refuse for a taken lookup or id.
    /// An insert of one row needs no statement journal: one that selects
    /// its row (`INSERT … SELECT … WHERE NOT EXISTS`) has SQLite copy every
    /// page it changes into one first, three or four pages for each key.
    fn insert_new_key(&mut self, key: &NewKey, at: &str) -> Result<Result<(), Taken>, StoreError> {
        let taken = if self.is_erased(&key.id)? {
            Taken::Id
        } else {
            match insert_key_row(self.conn, key, at) {
                Ok(_) => return Ok(Ok(())),
                // The statement alone is undone; the transaction goes on.
                Err(e) if breaks_unique(&e) => Taken::Id,
                Err(e) => return Err(e.into()),
            }
        };
        // As the questions one by one answer: a taken lookup first.
        if self.key_by_lookup(&key.lookup)?.is_some() {
            return Ok(Err(Taken::Lookup));
        }
        Ok(Err(taken))
    }

    fn rewrap(&mut self, id: &str, wrapped: &[u8]) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE subject_keys SET wrapped = ?2 WHERE id = ?1")?
            .execute(params![id, wrapped])?;
        Ok(())
    }

    fn key_ids(&mut self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT id FROM subject_keys")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids)
    }

    fn destroy(&mut self, id: &str, at: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM subject_keys WHERE id = ?1")?
            .execute(params![id])?;
        self.tombstone(id, at)
    }

    fn tombstone(&mut self, id: &str, at: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO erased_keys (id, erased_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?
            .execute(params![id, at])?;
        Ok(())
    }
}

fn read_keyring(conn: &Connection) -> Result<Option<KeyringRecord>, StoreError> {
    conn.prepare_cached(READ_KEYRING)?
        .query_row([], |r| Ok(decode_keyring(r)))
        .optional()?
        .transpose()
}

/// The key a [`select_keys!`] query finds.
fn query_key(
    conn: &Connection,
    sql: &str,
    param: impl rusqlite::ToSql,
) -> Result<Option<KeyEntry>, StoreError> {
    conn.prepare_cached(sql)?
        .query_row(params![param], |r| Ok(decode_key(r)))
        .optional()?
        .transpose()
}

/// [`EventLog::read_keys`] in one read transaction.
fn read_key_changes(conn: &Connection, since: KeysSince) -> Result<KeyChanges, StoreError> {
    run(conn, "BEGIN")?;
    let result = (|| {
        let keyring = read_keyring(conn)?;
        let generation = keyring.as_ref().map(|r| r.generation);
        let full = since.generation.is_none() || since.generation != generation;
        let from = if full { 0 } else { to_i64(since.seq) };
        let mut stmt = conn.prepare_cached(select_keys!("WHERE seq > ?1 ORDER BY seq"))?;
        let entries = stmt
            .query_map(params![from], |r| Ok(decode_key(r)))?
            .map(|r| r.map_err(StoreError::from).and_then(|entry| entry))
            .collect::<Result<Vec<_>, _>>()?;
        let erased = if full {
            let mut stmt = conn.prepare_cached("SELECT id FROM erased_keys")?;
            let ids = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            ids
        } else {
            Vec::new()
        };
        Ok(KeyChanges {
            keyring,
            full,
            entries,
            erased,
        })
    })();
    let _ = conn.execute_batch("COMMIT");
    result
}

/// Idle read-only connections to one file, or, while a load writes the
/// file without its write-ahead log, the copy its readers read instead
/// ([`Unlogged`]).
struct Readers {
    path: PathBuf,
    pool: Mutex<Pool>,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Connection>,
    /// The store's committed state when an unlogged load began, copied into
    /// memory: until it ends, every read is answered from it, one at a time.
    /// Nothing else commits to the file during a load (its transaction holds
    /// the write lock), so it is what a reader of the file would see, and
    /// the file is never read while the load holds it alone.
    copy: Option<Arc<Mutex<Connection>>>,
}

impl Readers {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            pool: Mutex::new(Pool::default()),
        }
    }

    fn pool(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = {
            let mut pool = self.pool();
            match &pool.copy {
                Some(copy) => Err(copy.clone()),
                None => Ok(pool.idle.pop()),
            }
        };
        let conn = match idle {
            Err(copy) => return f(&copy.lock().unwrap_or_else(PoisonError::into_inner)),
            Ok(Some(conn)) => conn,
            Ok(None) => self.open()?,
        };
        let result = f(&conn);
        let mut pool = self.pool();
        // Dropped (closed) while a load has the file alone.
        if pool.copy.is_none() && pool.idle.len() < MAX_IDLE_READERS {
            pool.idle.push(conn);
        }
        result
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| backend(&self.path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(conn)
    }
}

fn read_head(conn: &Connection) -> Result<u64, StoreError> {
    let head: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(position), 0) FROM events")?
        .query_row([], |r| r.get(0))?;
    to_u64(head, 0, "head")
}

fn read_stream_version(conn: &Connection, stream: &str) -> Result<u64, StoreError> {
    let version: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?1")?
        .query_row(params![stream], |r| r.get(0))?;
    to_u64(version, 0, "version")
}

/// The events a [`select_events!`] query finds, in its order.
fn query_events(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<RawEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode_event(row)?);
    }
    Ok(out)
}

impl Columns for Row<'_> {
    fn int(&self, column: usize) -> Result<i64, StoreError> {
        Ok(self.get(column)?)
    }

    fn text(&self, column: usize) -> Result<String, StoreError> {
        Ok(self.get(column)?)
    }

    fn bytes(&self, column: usize) -> Result<Vec<u8>, StoreError> {
        Ok(self.get(column)?)
    }

    fn id(&self, column: usize) -> Result<Result<Uuid, String>, StoreError> {
        let id: String = self.get(column)?;
        Ok(parse_id(&id))
    }
}

/// A stored id, which is text here.
fn parse_id(id: &str) -> Result<Uuid, String> {
    Uuid::parse_str(id).map_err(|e| format!("id {id:?}: {e}"))
}

/// The stored id of the event at `position`.
fn to_id(id: &str, position: u64) -> Result<Uuid, StoreError> {
    parse_id(id).map_err(|reason| StoreError::Corrupt { position, reason })
}

/// A SQL `LIMIT`; -1 means none.
///
/// Queries write a bound limit as `LIMIT +?N`: SQLite reads a bare `LIMIT ?N`
/// as a possible constant for the query planner (`sqlite3ExprIsInteger` marks
/// the parameter in the statement's `expmask`), so binding it again, as
/// rusqlite does on every query, expires the cached statement and every read
/// re-prepares it. The unary plus keeps the limit an expression SQLite does
/// not plan on; the result is the same.
fn to_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(-1)
}

enum Identity {
    /// A Passerelle store this build reads.
    Store,
    /// A store of schema 1: no key table, personal data in clear.
    Legacy,
    /// An empty database, where a store may be created.
    Empty,
}

/// What the file behind `conn` is; an error for anything but an empty
/// database or a Passerelle store of a schema this build reads.
fn identify(conn: &Connection, path: &Path) -> Result<Identity, StoreError> {
    let read = || -> rusqlite::Result<(i64, i64, i64)> {
        let app: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let objects: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        Ok((app, version, objects))
    };
    let (app, version, objects) = match read() {
        Ok(found) => found,
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            return Err(not_a_store(path))
        }
        Err(e) => return Err(backend(path, e)),
    };
    match (app, version, objects) {
        (0, 0, 0) => Ok(Identity::Empty),
        (APPLICATION_ID, v, _) if v > SCHEMA_VERSION => Err(StoreError::Backend(format!(
            "{} has store schema version {v}; this build reads up to {SCHEMA_VERSION}",
            path.display()
        ))),
        (APPLICATION_ID, 1, _) => Ok(Identity::Legacy),
        (APPLICATION_ID, v, _) if v >= 2 => Ok(Identity::Store),
        _ => Err(not_a_store(path)),
    }
}

fn set_wal(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| backend(path, e))?;
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "journal_mode is {mode}, WAL is required"
        )))
    }
}

/// Creates an empty file at `path` readable and writable by its owner only,
/// unless something is there already; SQLite then makes its `-wal` and `-shm`
/// files with the same mode.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Backend(format!("{}: {e}", path.display()))),
    }
}

/// Logs a warning when the store file can be read by others than its owner.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                "the store file can be read by others than its owner; chmod 600 it \
                 (and its -wal and -shm files)"
            );
        }
    }
}

fn legacy(path: &Path) -> StoreError {
    StoreError::Backend(format!(
        "{} was made by an earlier version (store schema 1) that kept personal data in clear; \
         it can only be read. Export it (passerelle export --db {} -o log.jsonl) and import that \
         into a new store (passerelle init --db new.db, then passerelle import --db new.db \
         log.jsonl): the import seals every personal field",
        path.display(),
        path.display()
    ))
}

fn not_a_store(path: &Path) -> StoreError {
    StoreError::Backend(format!("{} is not a Passerelle store", path.display()))
}

fn backend(path: &Path, e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) {
        // Past the busy timeout: another process holds the file.
        return StoreError::Backend(format!(
            "{} is locked by another process ({e}); an import into an empty store holds it \
             until the import ends: try again then",
            path.display()
        ));
    }
    StoreError::Backend(format!("{}: {e}", path.display()))
}

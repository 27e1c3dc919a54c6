//! The PostgreSQL store: the same log as [`super::sqlite`], in a database
//! schema that several processes may write at once.
//!
//! This module owns the schema (embedded, versioned migrations), the single
//! writer thread of each store (the blocking `postgres` client), the small
//! pool of async `tokio-postgres` connections behind reads, and the listener
//! that wakes followers when another process appends.
//!
//! **Where.** Any URL `tokio-postgres` accepts (`postgres://user@host:port/db`,
//! or libpq's `key=value` form). Every table lives in the connection's
//! current schema — the first schema of its `search_path` that exists, so
//! `?options=-c%20search_path%3Dname` puts a store in the schema `name` —
//! and no statement names a schema. The database must be UTF-8, so that
//! stored text keeps the bytes it was given.
//!
//! **TLS.** Every connection (writer, readers, listener, turn) is made
//! through the one connector [`super::tls::read_url`] makes of the URL:
//! rustls, with libpq's meaning of `sslmode` (`disable`, `prefer` — the
//! default —, `require`, `verify-ca`, `verify-full`) and `sslrootcert=FILE`,
//! and TCP keepalive on (a probe after 30 s of silence), so that a writer
//! whose network dropped silently finds its connection lost. A certificate
//! refused says why, after the URL without its password.
//!
//! **Schema.** `passerelle_schema` records the migrations applied (version,
//! when); [`PostgresStore::create`] (and [`PostgresStore::open`], for a store
//! already there) applies the missing ones in one transaction under an
//! advisory lock of the schema, so that two processes starting at once
//! create it once, and a store of a newer version than this build knows is
//! refused. Migration 1 makes `events` with the columns and
//! bytes of SQLite's (`data` is `TEXT`, never `JSONB`: the bytes are hashed
//! as given, so a log carried between the two verifies the same), triggers
//! that refuse `UPDATE`, `DELETE` and `TRUNCATE` on it, the one-row
//! `log_head` (the head's position, hash and event id) and the key table of
//! [`super::keys`]: `keyring`, `subject_keys`, `erased_keys`.
//!
//! **Order.** Every write transaction of every process locks `log_head`
//! (`SELECT … FOR UPDATE`) first, and an append updates it last. Writers
//! therefore commit one after another: positions are the head's plus one,
//! gap-free from 1 in commit order, and a reader that sees an event sees
//! every event before it. No sequence is used (a sequence leaves holes and
//! orders by start, not by commit).
//!
//! **Group commit.** As in SQLite (`super::writer`): the writer thread takes
//! every append queued (up to `MAX_GROUP`), applies each inside one
//! transaction, a `SAVEPOINT` for each request that writes more than one
//! row, commits once, and only then answers each caller and publishes the
//! new head. A request of one row needs no savepoint: its checks come before
//! its insert, and the insert (`ON CONFLICT DO NOTHING`) does not fail on a
//! taken id or version. A failed statement outside a savepoint aborts a
//! PostgreSQL transaction, so such a failure (the connection lost, the
//! server failing) fails the whole group: nothing is half-written.
//! `synchronous_commit` is the server's.
//!
//! **What the writer knows.** The head and the stream versions of its own
//! commits (`Known`), valid while no other process committed: the head
//! locked in `log_head` at the start of each transaction says when one did,
//! and what it knew is forgotten then.
//!
//! **Followers.** The transaction of an append also runs `pg_notify` on the
//! store's channel (`passerelle_` and the schema's name, cut to PostgreSQL's
//! 63 bytes with a hash of the name when longer) with the new head. Each
//! store has a listener task on a connection of its own (`LISTEN`), which
//! publishes each notified head on [`EventLog::head_changes`], and reads the
//! head once whenever it (re)connects. A notification lost while it
//! reconnects only delays a follower: `subscribe` also polls every
//! [`super::POLL`], and it reads by position, which never skips an event.
//!
//! **Keys.** Key changes are jobs of their own, in transactions that lock
//! `log_head` too. An erasure deletes its key in the transaction that
//! appends its event; after the commit the writer runs `VACUUM subject_keys`
//! (after a rotation, `VACUUM subject_keys, keyring` too), so that the dead
//! row is pruned from its page as soon as no older snapshot can still see it
//! (a long transaction elsewhere defers it until a later vacuum). PostgreSQL
//! has no `secure_delete`: pruning frees the row's space without wiping it,
//! so the key's bytes may stay in the table's file until that space is
//! written again, and they stay in the write-ahead log until its segments are
//! recycled, on every replica, and in every base backup and WAL archive until
//! they expire. What is gone at once is the key as the database answers it:
//! no query and no dump made after the commit returns it (on a replica,
//! once it has replayed the commit).
//!
//! **Failures.** The database down or the connection lost is
//! [`StoreError::Backend`]. The writer makes a new connection for its next
//! job when its own is closed (and starts a turn again on a new one when the
//! connection is found closed before anything of the turn was sent); the
//! readers' pool drops closed connections and makes new ones, and a read
//! that finds its connection closed is tried once more on a new one; the
//! listener reconnects with a growing pause. A group whose `COMMIT` got no
//! answer may have been committed: its callers are answered with the error,
//! and a retry of the same event ids answers the stored events. Each
//! connection's `application_name` says what it is (`passerelle writer
//! <schema>`, `reader`, `listener`) unless the URL names one.
//!
//! It must not: update or delete an event; write through any connection but
//! the writer's; append without holding the lock of `log_head`; answer an
//! append before its commit; take a position from anywhere but the locked
//! head; decode `data`; name a schema in a statement; connect but with the
//! URL's connector. The append rules
//! themselves live in `super::apply_append`, and the key rules in
//! `super::keys`, shared by every store. No load mode: the trait's
//! [`EventLog::begin_load`] answers `false`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use postgres::types::{FromSql, ToSql};
use sha2::{Digest, Sha256};
use tokio::sync::{oneshot, watch, Semaphore, SemaphorePermit};
use tokio_postgres::{AsyncMessage, Row, Statement};
use uuid::Uuid;

use super::keys::{apply_key_op, erase_key, make_keys, KeyTarget};
use super::sql::{
    decode_event, decode_key, decode_keyring, recorded_at, select_events, select_keys, to_hash,
    to_i64, to_u64, Columns, READ_KEYRING,
};
use super::tls::{self, Tls};
use super::turns::{Turns, WriteTurn};
use super::writer::{
    answer_group, erased_any, release, writes_one_row, Alone, Job, Known, Queue, Shared, Turn,
    Work, Writer,
};
use super::{
    apply_append, AppendRequest, AppendTarget, Appended, EventLog, KeyChanges, KeyEntry, KeyOp,
    KeyOpDone, KeyringRecord, KeysSince, KeysToMake, NewKey, RawEvent, StoreError,
};

/// The migrations, in order: the `n`-th (from 1) makes schema version `n`.
/// A migration is never changed once released; a change is a new one.
const MIGRATIONS: [&str; 1] = [MIGRATION_1];

/// The schema version this build reads and writes.
const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// The table of the migrations applied; made before the first one.
const SCHEMA_TABLE: &str = "
CREATE TABLE passerelle_schema (
    version    INTEGER     PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
";

/// The log, its head, its guards and the key table.
const MIGRATION_1: &str = "
CREATE FUNCTION passerelle_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0];
END
$$;

CREATE TABLE events (
    position       BIGINT  PRIMARY KEY CHECK (position >= 1),
    id             UUID    NOT NULL,
    stream         TEXT    NOT NULL,
    version        BIGINT  NOT NULL CHECK (version >= 1),
    schema_version INTEGER NOT NULL,
    type           TEXT    NOT NULL,
    programme      TEXT    NOT NULL,
    occurred_at    TEXT    NOT NULL,
    data           TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL,
    recorded_by    TEXT    NOT NULL,
    hash           BYTEA   NOT NULL CHECK (length(hash) = 32),
    CONSTRAINT events_id UNIQUE (id),
    CONSTRAINT events_stream_version UNIQUE (stream, version)
);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION passerelle_refuse('events are append-only');
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION passerelle_refuse('events are append-only');
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION passerelle_refuse('events are append-only');

CREATE TABLE log_head (
    id       BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    position BIGINT  NOT NULL CHECK (position >= 0),
    hash     BYTEA   NOT NULL CHECK (length(hash) = 32),
    event_id UUID
);
INSERT INTO log_head (position, hash) VALUES (0, decode(repeat('00', 32), 'hex'));
CREATE TRIGGER log_head_kept BEFORE DELETE ON log_head
    FOR EACH ROW EXECUTE FUNCTION passerelle_refuse('the log head is kept');
CREATE TRIGGER log_head_not_truncated BEFORE TRUNCATE ON log_head
    FOR EACH STATEMENT EXECUTE FUNCTION passerelle_refuse('the log head is kept');

CREATE TABLE keyring (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT    NOT NULL,
    index_key   BYTEA   NOT NULL,
    generation  BIGINT  NOT NULL CHECK (generation >= 0)
);
CREATE TABLE subject_keys (
    seq        BIGINT PRIMARY KEY CHECK (seq >= 1),
    id         TEXT   NOT NULL UNIQUE,
    lookup     BYTEA  NOT NULL UNIQUE CHECK (length(lookup) = 32),
    wrapped    BYTEA  NOT NULL,
    subject    BYTEA  NOT NULL,
    created_at TEXT   NOT NULL
);
CREATE TABLE erased_keys (
    id        TEXT NOT NULL PRIMARY KEY,
    erased_at TEXT NOT NULL
);
";

/// The tables of a store: a schema holding one of them without
/// `passerelle_schema` is not a Passerelle store.
const TABLES: [&str; 6] = [
    "passerelle_schema",
    "events",
    "log_head",
    "keyring",
    "subject_keys",
    "erased_keys",
];

const INSERT: &str = "INSERT INTO events (position, id, stream, version, schema_version, type, \
     programme, occurred_at, data, recorded_at, recorded_by, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING";

/// The first statement of every write transaction: waits for the writer of
/// any process that holds it, until that one commits.
const LOCK_HEAD: &str = "SELECT position, hash, event_id FROM log_head FOR UPDATE";

/// The last statement of an append's transaction: the new head, and the
/// notification that carries it to the other processes at commit.
const ADVANCE_HEAD: &str = "WITH moved AS (UPDATE log_head SET position = $1, hash = $2, \
     event_id = $3) SELECT pg_notify($4, $5)";

const READ_HEAD: &str = "SELECT position FROM log_head";

const STREAM_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = $1";

/// PostgreSQL's longest identifier, in bytes (`NAMEDATALEN - 1`): a channel
/// name and an `application_name` are cut to it.
const MAX_IDENTIFIER: usize = 63;

/// Read connections open at once; a read waits for one beyond that.
const MAX_READERS: usize = 4;

/// How long a connection attempt waits, unless the URL says.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The listener's pause before reconnecting, doubled after each failed
/// attempt up to [`LISTEN_RETRY_MAX`].
const LISTEN_RETRY_MIN: Duration = Duration::from_millis(50);
const LISTEN_RETRY_MAX: Duration = Duration::from_secs(5);

/// The PostgreSQL store. Clones share one writer thread, one reader pool and
/// one listener. Dropping the last clone answers the queued appends, then
/// stops the writer and waits for it (one group commit at most); in async
/// code, [`PostgresStore::close`] does that wait off the runtime's threads.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    display_url: String,
    created: bool,
    /// Dropped (the thread stopped) when the last handle goes.
    writer: Writer,
    readers: Arc<Readers>,
    shared: Arc<Shared>,
    listener: tokio::task::AbortHandle,
    turns: Arc<Turns>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// What the writer thread found when it opened the store.
struct Opened {
    created: bool,
    /// The schema the store is in.
    schema: String,
}

impl PostgresStore {
    /// Creates the schema if missing (embedded, versioned migrations,
    /// applied under an advisory lock so two processes starting at once do
    /// not race), or opens the Passerelle store already there (see
    /// [`PostgresStore::created`]). Refuses a schema holding some of the
    /// store's tables but not the record of its migrations, and a store of a
    /// newer schema version.
    pub async fn create(url: &str) -> Result<Self, StoreError> {
        Self::start(url, true).await
    }

    /// Opens an existing store; a database without Passerelle's schema is
    /// refused with [`StoreError::Missing`] (its URL without password). A
    /// store of an older schema version is brought up to this build's.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::start(url, false).await
    }

    /// Opens (or creates) the store through the writer thread, then starts
    /// the readers and the listener.
    async fn start(url: &str, create: bool) -> Result<Self, StoreError> {
        let (config, tls, display_url) = parse_url(url)?;
        let shared = Arc::new(Shared::new(0));
        let (ready, opened) = oneshot::channel();
        let writer = {
            let config = config.clone();
            let tls = tls.clone();
            let display_url = display_url.clone();
            let shared = shared.clone();
            Writer::spawn(
                "passerelle-postgres-writer",
                move |queue| match Session::open(&config, tls, display_url, create) {
                    Ok((session, opened, head)) => {
                        shared.publish_head(head);
                        if ready.send(Ok(opened)).is_ok() {
                            write_loop(session, queue, &shared);
                        }
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                },
            )?
        };
        let opened = opened
            .await
            .map_err(|_| StoreError::Backend("the writer thread stopped while opening".into()))??;
        if create && !opened.created {
            tracing::info!(url = %display_url, schema = %opened.schema, "a store already exists here; opening it");
        }
        let readers = Arc::new(Readers {
            config: for_role(&config, "reader", &opened.schema),
            tls: tls.clone(),
            display_url: display_url.clone(),
            idle: Mutex::new(Vec::new()),
            open: Semaphore::new(MAX_READERS),
        });
        let listener = tokio::spawn(listen(
            for_role(&config, "listener", &opened.schema),
            tls.clone(),
            channel_for(&opened.schema),
            shared.clone(),
        ))
        .abort_handle();
        let turns = Turns::new(
            for_role(&config, "turn", &opened.schema),
            tls,
            display_url.clone(),
            READ_HEAD,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                display_url,
                created: opened.created,
                writer,
                readers,
                shared,
                listener,
                turns,
            }),
        })
    }

    /// Whether [`PostgresStore::create`] made the schema just now (false when
    /// it found a store, and for [`PostgresStore::open`]).
    pub fn created(&self) -> bool {
        self.inner.created
    }

    /// The URL with any password replaced by `***`, for messages.
    pub fn display_url(&self) -> &str {
        &self.inner.display_url
    }

    /// The fingerprint of the master key of the store at `url`, if the store
    /// has a keyring, read through a connection of its own: no writer starts
    /// and nothing is written (no migration either). [`StoreError::Missing`]
    /// where there is no store.
    pub async fn peek_fingerprint(url: &str) -> Result<Option<String>, StoreError> {
        let (config, tls, display_url) = parse_url(url)?;
        let config = postgres::Config::from(for_role(&config, "peek", ""));
        tokio::task::spawn_blocking(move || {
            let mut client = connect(&config, &tls, &display_url)?;
            match inspect(&mut client, &display_url)?.version {
                None => Err(StoreError::Missing(display_url)),
                Some(version) => {
                    check_version(version, &display_url)?;
                    Ok(read_keyring(&mut client)?.map(|r| r.fingerprint))
                }
            }
        })
        .await
        .map_err(|e| StoreError::Backend(format!("the peek task failed: {e}")))?
    }

    /// Drops this handle; if it is the last one, waits (off the async
    /// threads) until the queued appends are answered and the writer stopped.
    pub async fn close(self) {
        release(self.inner).await;
    }
}

impl EventLog for PostgresStore {
    fn append(
        &self,
        request: AppendRequest,
    ) -> BoxFuture<'static, Result<Vec<Appended>, StoreError>> {
        self.inner
            .writer
            .ask(|reply| Work::Append(Job { request, reply }))
    }

    fn read(
        &self,
        after: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<RawEvent>, StoreError>> {
        let readers = self.inner.readers.clone();
        Box::pin(async move {
            readers
                .events(
                    select_events!("WHERE position > $1 ORDER BY position LIMIT $2"),
                    &[&to_i64(after), &to_limit(limit)],
                )
                .await
        })
    }

    fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<RawEvent>, StoreError>> {
        let readers = self.inner.readers.clone();
        let stream = stream.to_owned();
        Box::pin(async move {
            readers
                .events(
                    select_events!("WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3"),
                    &[&stream, &to_i64(from_version), &to_limit(limit)],
                )
                .await
        })
    }

    fn stream_version(&self, stream: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        let readers = self.inner.readers.clone();
        let stream = stream.to_owned();
        Box::pin(async move { readers.count(STREAM_VERSION, &[&stream], "version").await })
    }

    fn head(&self) -> BoxFuture<'static, Result<u64, StoreError>> {
        // From the database, not the watch value: another process may have appended.
        let readers = self.inner.readers.clone();
        Box::pin(async move { readers.count(READ_HEAD, &[], "head").await })
    }

    fn turn(&self) -> BoxFuture<'static, Result<WriteTurn, StoreError>> {
        let turns = self.inner.turns.clone();
        Box::pin(async move { turns.take().await })
    }

    fn head_changes(&self) -> watch::Receiver<u64> {
        self.inner.shared.head_changes()
    }

    fn write_keys(&self, op: KeyOp) -> BoxFuture<'static, Result<KeyOpDone, StoreError>> {
        self.inner
            .writer
            .ask(|reply| Work::Alone(Alone::Keys { op, reply }))
    }

    fn read_keys(&self, since: KeysSince) -> BoxFuture<'static, Result<KeyChanges, StoreError>> {
        let readers = self.inner.readers.clone();
        Box::pin(async move { readers.key_changes(since).await })
    }
}

// ---------------------------------------------------------------------------
// The writer thread
// ---------------------------------------------------------------------------

/// The writer thread: one group of appends, or one key change, per turn until
/// every handle is gone.
fn write_loop(mut session: Session, mut queue: Queue, shared: &Shared) {
    while let Some(turn) = queue.next_turn() {
        match turn {
            Turn::Group(group) => session.commit_group(group, shared),
            Turn::Alone(Alone::Keys { op, reply }) => {
                let _ = reply.send(session.change_keys(&op));
            }
            // This store has no load mode; the trait's defaults never ask.
            Turn::Alone(Alone::Load { reply, .. }) => {
                let _ = reply.send(Ok(false));
            }
        }
    }
}

/// The writer's connection and what it knows.
struct Session {
    config: postgres::Config,
    tls: Tls,
    display_url: String,
    /// The store's notification channel.
    channel: String,
    /// `None` after the connection was found closed: made again when needed.
    link: Option<Link>,
    known: Known,
}

/// A connection of the blocking client, with the statements prepared on it.
struct Link {
    client: postgres::Client,
    statements: HashMap<&'static str, Statement>,
}

impl Link {
    fn connect(
        config: &postgres::Config,
        tls: &Tls,
        display_url: &str,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            client: connect(config, tls, display_url)?,
            statements: HashMap::new(),
        })
    }

    /// `sql`, prepared once per connection.
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query(&statement, params)
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.execute(&statement, params)
    }

    /// Runs statements without parameters (one round trip).
    fn run(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.client.batch_execute(sql)?)
    }

    /// Begins a write transaction and locks the log head: a writer of any
    /// process waits here until the one holding it commits. Answers the head
    /// (position, hash, id of its event; the nil id for an empty log).
    fn begin(&mut self) -> Result<(u64, [u8; 32], Uuid), StoreError> {
        self.run("BEGIN ISOLATION LEVEL READ COMMITTED")?;
        let row = self
            .query(LOCK_HEAD, &[])?
            .into_iter()
            .next()
            .ok_or_else(|| {
                StoreError::Backend("log_head has no row: the store is damaged".into())
            })?;
        let position = to_u64(get(&row, 0)?, 0, "head")?;
        let hash = to_hash(position, &get::<Vec<u8>>(&row, 1)?)?;
        let id: Option<Uuid> = get(&row, 2)?;
        Ok((position, hash, id.unwrap_or_default()))
    }
}

impl Session {
    /// Connects, makes or checks the schema, and reads the head.
    fn open(
        config: &tokio_postgres::Config,
        tls: Tls,
        display_url: String,
        create: bool,
    ) -> Result<(Self, Opened, u64), StoreError> {
        let first = postgres::Config::from(for_role(config, "writer", ""));
        let mut link = Link::connect(&first, &tls, &display_url)?;
        let opened = migrate(&mut link.client, &display_url, create)?;
        let named = for_role(config, "writer", &opened.schema);
        if let Some(name) = named.get_application_name() {
            link.client
                .execute("SELECT set_config('application_name', $1, false)", &[&name])?;
        }
        let head = one_count(&link.query(READ_HEAD, &[])?, "head")?;
        let session = Self {
            config: postgres::Config::from(named),
            tls,
            display_url,
            channel: channel_for(&opened.schema),
            link: Some(link),
            known: Known::default(),
        };
        Ok((session, opened, head))
    }

    /// The connection, made again if it was closed.
    fn link(&mut self) -> Result<&mut Link, StoreError> {
        let link = match self.link.take() {
            Some(link) if !link.client.is_closed() => link,
            _ => {
                self.known.forget();
                Link::connect(&self.config, &self.tls, &self.display_url)?
            }
        };
        Ok(self.link.insert(link))
    }

    /// Begins a write transaction holding the log head's lock, and checks
    /// what the writer knows against that head. A connection found closed
    /// here (the server restarted, or ended it) is made again once: nothing
    /// of the turn was sent on it.
    fn begin(&mut self) -> Result<&mut Link, StoreError> {
        let mut retried = false;
        loop {
            let begun = self.link()?.begin();
            match begun {
                Ok(head) => {
                    self.known.check_head(head);
                    break;
                }
                Err(e) if !retried && self.link.as_ref().is_some_and(|l| l.client.is_closed()) => {
                    tracing::warn!(error = %e, "the writer's connection was closed; connecting again");
                    retried = true;
                }
                Err(e) => return Err(e),
            }
        }
        // The connection the transaction is open on: never made again here.
        self.link.as_mut().ok_or(StoreError::Closed)
    }

    /// Rolls back the open transaction, if any, and forgets what the writer
    /// knew (a transaction that failed may have been committed or not).
    fn abandon(&mut self) {
        self.known.forget();
        if let Some(link) = self.link.as_mut() {
            if !link.client.is_closed() {
                let _ = link.client.batch_execute("ROLLBACK");
            }
        }
    }

    /// Applies a group in one transaction, each request of more than one row
    /// in its own savepoint; commits once; then answers every caller and
    /// publishes the head.
    fn commit_group(&mut self, mut group: Vec<Job>, shared: &Shared) {
        let now = Utc::now();
        let mut outcomes = Vec::with_capacity(group.len());
        if let Err(e) = self.try_commit(&mut group, &mut outcomes, now) {
            self.abandon();
            tracing::error!(error = %e, requests = group.len(), "group commit failed");
            outcomes = group.iter().map(|_| Err(e.clone())).collect();
        }
        if erased_any(&group, &outcomes) {
            // Before anyone is told the key is gone.
            self.vacuum("subject_keys");
        }
        answer_group(group, outcomes, shared);
    }

    fn try_commit(
        &mut self,
        group: &mut [Job],
        outcomes: &mut Vec<Result<Vec<Appended>, StoreError>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.begin()?;
        let Self {
            link,
            known,
            channel,
            ..
        } = self;
        let link = link.as_mut().ok_or(StoreError::Closed)?;
        for job in group {
            outcomes.push(append_one(link, known, &mut job.request, now)?);
        }
        let head = outcomes
            .iter()
            .filter_map(|o| o.as_ref().ok())
            .flatten()
            .filter(|a| a.created)
            .map(|a| &a.event)
            .max_by_key(|e| e.position);
        if let Some(e) = head {
            link.execute(
                ADVANCE_HEAD,
                &[
                    &to_i64(e.position),
                    &&e.hash[..],
                    &e.record.id,
                    &channel.as_str(),
                    &e.position.to_string(),
                ],
            )?;
        }
        link.run("COMMIT")
    }

    /// Applies one key change in a transaction of its own.
    fn change_keys(&mut self, op: &KeyOp) -> Result<KeyOpDone, StoreError> {
        let result = (|| {
            let link = self.begin()?;
            let done = apply_key_op(
                &mut Transaction {
                    link,
                    known: None,
                    aborted: false,
                },
                op,
                Utc::now(),
            )?;
            link.run("COMMIT")?;
            Ok(done)
        })();
        match &result {
            Ok(_) if matches!(op, KeyOp::Rotate { .. }) => {
                // The rows of the keys wrapped by the old master key.
                self.vacuum("subject_keys, keyring");
            }
            Ok(_) => {}
            Err(_) => self.abandon(),
        }
        result
    }

    /// Prunes the dead rows of `tables` (outside any transaction); a failure
    /// is logged, and the next vacuum (or autovacuum) does it.
    fn vacuum(&mut self, tables: &str) {
        let done = match self.link.as_mut() {
            Some(link) => link.run(&format!("VACUUM {tables}")),
            None => Err(StoreError::Closed),
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, tables, "VACUUM after a key was destroyed failed");
        }
    }
}

/// One request inside its savepoint (none for a request that writes one row
/// at most). The outer error means the transaction itself is lost; the inner
/// one is this request's own refusal.
fn append_one(
    link: &mut Link,
    known: &mut Known,
    request: &mut AppendRequest,
    now: DateTime<Utc>,
) -> Result<Result<Vec<Appended>, StoreError>, StoreError> {
    // A request that writes one row at most has nothing to undo on a
    // refusal: its checks come before its insert, which does not fail on a
    // taken id or version. A statement that fails aborts the transaction.
    let savepoint = !writes_one_row(request);
    if savepoint {
        link.run("SAVEPOINT request")?;
    }
    let mut target = Transaction {
        link,
        known: Some(known),
        aborted: false,
    };
    let result = apply_append(&mut target, request, now);
    let aborted = target.aborted;
    match result {
        Ok(appended) => {
            if savepoint {
                link.run("RELEASE SAVEPOINT request")?;
            }
            known.learn(&appended);
            Ok(Ok(appended))
        }
        Err(e) if savepoint => {
            link.run("ROLLBACK TO SAVEPOINT request; RELEASE SAVEPOINT request")?;
            Ok(Err(e))
        }
        Err(e) if aborted => Err(e),
        Err(e) => Ok(Err(e)),
    }
}

/// The open write transaction, as [`apply_append`] and the key rules see
/// it. Rows inserted earlier in the transaction are visible to its reads;
/// what the writer knows as of the requests before this one is taken
/// instead of reading it again.
struct Transaction<'c> {
    link: &'c mut Link,
    /// `None` for key changes, which read no event.
    known: Option<&'c mut Known>,
    /// A statement failed: PostgreSQL has aborted the transaction (or the
    /// savepoint).
    aborted: bool,
}

impl Transaction<'_> {
    /// Notes a failed statement.
    fn db<T>(&mut self, result: Result<T, postgres::Error>) -> Result<T, StoreError> {
        result.map_err(|e| {
            self.aborted = true;
            e.into()
        })
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let rows = self.link.query(sql, params);
        self.db(rows)
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let n = self.link.execute(sql, params);
        self.db(n)
    }

    fn read_stream_version(&mut self, stream: &str) -> Result<u64, StoreError> {
        let rows = self.query(STREAM_VERSION, &[&stream])?;
        one_count(&rows, "version")
    }
}

impl AppendTarget for Transaction<'_> {
    fn find_id(&mut self, id: &Uuid) -> Result<Option<RawEvent>, StoreError> {
        self.query_opt(select_events!("WHERE id = $1"), &[id])?
            .as_ref()
            .map(decode_event)
            .transpose()
    }

    fn stream_version(&mut self, stream: &str) -> Result<u64, StoreError> {
        if let Some(v) = self.known.as_ref().and_then(|k| k.version(stream)) {
            return Ok(v);
        }
        if stream.contains('\0') {
            // No stored stream holds one ([`Transaction::insert`] refuses it),
            // and PostgreSQL refuses it as a parameter.
            return Ok(0);
        }
        let version = self.read_stream_version(stream)?;
        if let Some(known) = self.known.as_deref_mut() {
            known.remember(stream, version);
        }
        Ok(version)
    }

    fn last(&mut self) -> Result<(u64, [u8; 32]), StoreError> {
        if let Some((position, hash, _)) = self.known.as_ref().and_then(|k| k.head) {
            return Ok((position, hash));
        }
        // What the writer knew was forgotten inside this transaction: the
        // table, this transaction's rows included.
        let row = self.query_opt(
            "SELECT position, hash, id FROM events ORDER BY position DESC LIMIT 1",
            &[],
        )?;
        let Some(row) = row else {
            if let Some(known) = self.known.as_deref_mut() {
                known.check_head((0, [0; 32], Uuid::nil()));
            }
            return Ok((0, [0; 32]));
        };
        let position = to_u64(get(&row, 0)?, 0, "position")?;
        let hash = to_hash(position, &get::<Vec<u8>>(&row, 1)?)?;
        let id: Uuid = get(&row, 2)?;
        if let Some(known) = self.known.as_deref_mut() {
            known.head = Some((position, hash, id));
        }
        Ok((position, hash))
    }

    fn id_at(&mut self, position: u64) -> Result<Option<Uuid>, StoreError> {
        if position == 0 {
            return Ok(None);
        }
        if let Some((head, _, id)) = self.known.as_ref().and_then(|k| k.head) {
            if head == position {
                return Ok(Some(id));
            }
        }
        self.query_opt(
            "SELECT id FROM events WHERE position = $1",
            &[&to_i64(position)],
        )?
        .map(|row| get(&row, 0))
        .transpose()
    }

    fn insert(&mut self, raw: &RawEvent) -> Result<Option<RawEvent>, StoreError> {
        let r = &raw.record;
        let recorded_at = recorded_at(raw)?;
        let texts = [
            ("stream", raw.stream.as_str()),
            ("type", &r.event_type),
            ("programme", &r.programme),
            ("occurred_at", &r.occurred_at),
            ("data", &r.data),
            ("recorded_at", recorded_at),
            ("recorded_by", &r.recorded_by),
        ];
        if let Some((field, _)) = texts.iter().find(|(_, text)| text.contains('\0')) {
            return Err(StoreError::Backend(format!(
                "PostgreSQL cannot store the NUL character in the {field} of event {}",
                r.id
            )));
        }
        let schema_version = i32::try_from(raw.schema_version).map_err(|_| {
            StoreError::Backend(format!(
                "schema version {} does not fit PostgreSQL's integer",
                raw.schema_version
            ))
        })?;
        let inserted = self.execute(
            INSERT,
            &[
                &to_i64(raw.position),
                &r.id,
                &raw.stream,
                &to_i64(raw.version),
                &schema_version,
                &r.event_type,
                &r.programme,
                &r.occurred_at,
                &r.data,
                &recorded_at,
                &r.recorded_by,
                &&raw.hash[..],
            ],
        )?;
        if inserted == 1 {
            return Ok(None);
        }
        // Nothing inserted: a taken id, version or position.
        if let Some(existing) = self.find_id(&r.id)? {
            return Ok(Some(existing));
        }
        // Not the id: what this writer knew was wrong. Known again from the
        // table from now on.
        let actual = self.read_stream_version(&raw.stream)?;
        if let Some(known) = self.known.as_deref_mut() {
            known.forget();
        }
        if actual >= raw.version {
            return Err(StoreError::Conflict {
                stream: raw.stream.clone(),
                expected: raw.version - 1,
                actual,
            });
        }
        Err(StoreError::Backend(format!(
            "position {} is taken though the log head said otherwise",
            raw.position
        )))
    }

    fn make_keys(&mut self, make: &KeysToMake, now: DateTime<Utc>) -> Result<(), StoreError> {
        make_keys(self, make, now)
    }

    fn erase(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        erase_key(self, id, now)
    }
}

impl KeyTarget for Transaction<'_> {
    fn keyring(&mut self) -> Result<Option<KeyringRecord>, StoreError> {
        self.query_opt(READ_KEYRING, &[])?
            .as_ref()
            .map(decode_keyring)
            .transpose()
    }

    fn put_keyring(&mut self, record: &KeyringRecord) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO keyring (id, fingerprint, index_key, generation) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, \
             index_key = EXCLUDED.index_key, generation = EXCLUDED.generation",
            &[
                &record.fingerprint,
                &record.index_key,
                &to_i64(record.generation),
            ],
        )?;
        Ok(())
    }

    fn key_by_lookup(&mut self, lookup: &[u8; 32]) -> Result<Option<KeyEntry>, StoreError> {
        self.query_opt(select_keys!("WHERE lookup = $1"), &[&&lookup[..]])?
            .as_ref()
            .map(decode_key)
            .transpose()
    }

    fn key_by_id(&mut self, id: &str) -> Result<Option<KeyEntry>, StoreError> {
        if id.contains('\0') {
            return Ok(None);
        }
        self.query_opt(select_keys!("WHERE id = $1"), &[&id])?
            .as_ref()
            .map(decode_key)
            .transpose()
    }

    fn is_erased(&mut self, id: &str) -> Result<bool, StoreError> {
        if id.contains('\0') {
            return Ok(false);
        }
        let row = self.query_opt(
            "SELECT EXISTS (SELECT 1 FROM erased_keys WHERE id = $1)",
            &[&id],
        )?;
        row.map_or(Ok(false), |row| get(&row, 0))
    }

    fn insert_key(&mut self, key: &NewKey, at: &str) -> Result<KeyEntry, StoreError> {
        // The next seq after the largest: key writes hold the log head's
        // lock, so seqs grow in commit order, as a reader asking for the
        // keys made since the last one it saw needs.
        let row = self.query_opt(
            "INSERT INTO subject_keys (seq, id, lookup, wrapped, subject, created_at) \
             SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3, $4, $5 FROM subject_keys \
             RETURNING seq",
            &[&key.id, &&key.lookup[..], &key.wrapped, &key.subject, &at],
        )?;
        let seq: i64 = match row {
            Some(row) => get(&row, 0)?,
            None => return Err(StoreError::Backend("a key insert returned no seq".into())),
        };
        Ok(KeyEntry {
            seq: to_u64(seq, 0, "key seq")?,
            key: key.clone(),
        })
    }

    fn rewrap(&mut self, id: &str, wrapped: &[u8]) -> Result<(), StoreError> {
        self.execute(
            "UPDATE subject_keys SET wrapped = $2 WHERE id = $1",
            &[&id, &wrapped],
        )?;
        Ok(())
    }

    fn key_ids(&mut self) -> Result<Vec<String>, StoreError> {
        self.query("SELECT id FROM subject_keys", &[])?
            .iter()
            .map(|row| get(row, 0))
            .collect()
    }

    fn destroy(&mut self, id: &str, at: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM subject_keys WHERE id = $1", &[&id])?;
        self.tombstone(id, at)
    }

    fn tombstone(&mut self, id: &str, at: &str) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO erased_keys (id, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&id, &at],
        )?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Schema and migrations
// ---------------------------------------------------------------------------

/// What the connection's current schema holds.
struct Found {
    schema: String,
    /// The store's schema version; `None` without `passerelle_schema`.
    version: Option<i32>,
    /// The store's tables that are there.
    tables: Vec<String>,
}

/// Looks at the connection's current schema (and the database's encoding);
/// changes nothing.
fn inspect(client: &mut postgres::Client, display_url: &str) -> Result<Found, StoreError> {
    let row = client.query_one(
        "SELECT current_schema(), current_setting('server_encoding'), \
         ARRAY(SELECT tablename::text FROM pg_catalog.pg_tables \
               WHERE schemaname = current_schema() AND tablename = ANY($1) ORDER BY 1)",
        &[&&TABLES[..]],
    )?;
    let schema: Option<String> = get(&row, 0)?;
    let Some(schema) = schema else {
        return Err(StoreError::Backend(format!(
            "{display_url}: no schema of the connection's search_path exists; create it first"
        )));
    };
    let encoding: String = get(&row, 1)?;
    if encoding != "UTF8" {
        return Err(StoreError::Backend(format!(
            "{display_url}: the database's encoding is {encoding}; a store needs UTF8, so that \
             its text keeps the bytes it was given"
        )));
    }
    let tables: Vec<String> = get(&row, 2)?;
    let version = if tables.iter().any(|t| t == "passerelle_schema") {
        let row = client.query_one("SELECT MAX(version) FROM passerelle_schema", &[])?;
        Some(get::<Option<i32>>(&row, 0)?.unwrap_or(0))
    } else {
        None
    };
    Ok(Found {
        schema,
        version,
        tables,
    })
}

fn check_version(version: i32, display_url: &str) -> Result<(), StoreError> {
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "{display_url} has store schema version {version}; this build reads up to \
             {SCHEMA_VERSION}"
        )));
    }
    Ok(())
}

/// Creates the store (when `create`) or brings it up to this build's schema
/// version, in one transaction holding an advisory lock of the schema: a
/// second process starting at once waits, then finds the store made.
fn migrate(
    client: &mut postgres::Client,
    display_url: &str,
    create: bool,
) -> Result<Opened, StoreError> {
    client.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")?;
    let result = (|| {
        client.execute(
            "SELECT pg_advisory_xact_lock(hashtext('passerelle'), hashtext(current_schema()))",
            &[],
        )?;
        let found = inspect(client, display_url)?;
        let (from, created) = match found.version {
            Some(version) => {
                check_version(version, display_url)?;
                (version, false)
            }
            None if !create => return Err(StoreError::Missing(display_url.to_owned())),
            None if !found.tables.is_empty() => {
                return Err(StoreError::Backend(format!(
                    "{display_url}: schema {} holds tables named like a store's ({}) but is \
                     not a Passerelle store",
                    found.schema,
                    found.tables.join(", ")
                )))
            }
            None => {
                client.batch_execute(SCHEMA_TABLE)?;
                (0, true)
            }
        };
        for (version, sql) in (1..).zip(MIGRATIONS).skip(from.max(0) as usize) {
            client.batch_execute(sql)?;
            client.execute(
                "INSERT INTO passerelle_schema (version) VALUES ($1)",
                &[&version],
            )?;
            tracing::info!(url = %display_url, schema = %found.schema, version, "applied a store migration");
        }
        Ok(Opened {
            created,
            schema: found.schema,
        })
    })();
    match result {
        Ok(opened) => {
            client.batch_execute("COMMIT")?;
            Ok(opened)
        }
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK");
            Err(e)
        }
    }
}

// ---------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------

/// A small pool of async connections for reads: at most [`MAX_READERS`]
/// open at once; a closed one is dropped, never handed out.
struct Readers {
    config: tokio_postgres::Config,
    tls: Tls,
    display_url: String,
    idle: Mutex<Vec<Reader>>,
    open: Semaphore,
}

/// A read connection, with the statements prepared on it.
struct Reader {
    client: tokio_postgres::Client,
    statements: HashMap<&'static str, Statement>,
}

/// A reader lent out; it goes back to the pool when dropped, if still open.
struct Lease<'a> {
    readers: &'a Readers,
    reader: Option<Reader>,
    _permit: SemaphorePermit<'a>,
}

impl Readers {
    async fn lease(&self) -> Result<Lease<'_>, StoreError> {
        let permit = self.open.acquire().await.map_err(|_| StoreError::Closed)?;
        let idle =
            self.idle.lock().ok().and_then(|mut idle| {
                std::iter::from_fn(|| idle.pop()).find(|r| !r.client.is_closed())
            });
        let reader = match idle {
            Some(reader) => reader,
            None => {
                let (client, connection) = self
                    .config
                    .connect(self.tls.clone())
                    .await
                    .map_err(|e| unreachable(&self.display_url, &e))?;
                // Ends when the client is dropped or the server closes it.
                tokio::spawn(connection);
                Reader {
                    client,
                    statements: HashMap::new(),
                }
            }
        };
        Ok(Lease {
            readers: self,
            reader: Some(reader),
            _permit: permit,
        })
    }

    /// Runs a query on a reader; once more on a new connection when the one
    /// it had turns out closed (the server restarted, or ended it): a read
    /// changes nothing, so it may be tried again.
    async fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let mut lease = self.lease().await?;
        match lease.query(sql, params).await {
            Err(_) if lease.is_closed() => {
                drop(lease);
                self.lease().await?.query(sql, params).await
            }
            done => done,
        }
    }

    /// The events a [`select_events!`] query finds, in its order.
    async fn events(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<RawEvent>, StoreError> {
        self.query(sql, params)
            .await?
            .iter()
            .map(decode_event)
            .collect()
    }

    /// The one count (a head, a version) a query answers.
    async fn count(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
        what: &str,
    ) -> Result<u64, StoreError> {
        one_count(&self.query(sql, params).await?, what)
    }

    /// [`EventLog::read_keys`], tried again like [`Readers::query`].
    async fn key_changes(&self, since: KeysSince) -> Result<KeyChanges, StoreError> {
        let mut lease = self.lease().await?;
        match lease.key_changes(since).await {
            Err(_) if lease.is_closed() => {
                drop(lease);
                self.lease().await?.key_changes(since).await
            }
            done => done,
        }
    }
}

impl Lease<'_> {
    fn reader(&mut self) -> Result<&mut Reader, StoreError> {
        self.reader.as_mut().ok_or(StoreError::Closed)
    }

    fn is_closed(&self) -> bool {
        self.reader.as_ref().is_none_or(|r| r.client.is_closed())
    }

    async fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let reader = self.reader()?;
        let statement = match reader.statements.get(sql) {
            Some(statement) => statement.clone(),
            None => {
                let statement = reader.client.prepare(sql).await?;
                reader.statements.insert(sql, statement.clone());
                statement
            }
        };
        Ok(reader.client.query(&statement, params).await?)
    }

    /// [`EventLog::read_keys`] in one read-only snapshot.
    async fn key_changes(&mut self, since: KeysSince) -> Result<KeyChanges, StoreError> {
        let reader = self.reader()?;
        let t = reader
            .client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let keyring = t
            .query_opt(READ_KEYRING, &[])
            .await?
            .as_ref()
            .map(decode_keyring)
            .transpose()?;
        let generation = keyring.as_ref().map(|r| r.generation);
        let full = since.generation.is_none() || since.generation != generation;
        let from = if full { 0 } else { to_i64(since.seq) };
        let entries = t
            .query(select_keys!("WHERE seq > $1 ORDER BY seq"), &[&from])
            .await?
            .iter()
            .map(decode_key)
            .collect::<Result<Vec<_>, _>>()?;
        let erased = if full {
            t.query("SELECT id FROM erased_keys", &[])
                .await?
                .iter()
                .map(|row| get(row, 0))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        t.commit().await?;
        Ok(KeyChanges {
            keyring,
            full,
            entries,
            erased,
        })
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            if !reader.client.is_closed() {
                if let Ok(mut idle) = self.readers.idle.lock() {
                    idle.push(reader);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The listener
// ---------------------------------------------------------------------------

/// Publishes the heads other processes notify on `channel`, reconnecting
/// for as long as the store is open (its last handle aborts the task).
async fn listen(config: tokio_postgres::Config, tls: Tls, channel: String, shared: Arc<Shared>) {
    let mut pause = LISTEN_RETRY_MIN;
    loop {
        let mut listening = false;
        if let Err(e) = listen_once(&config, &tls, &channel, &shared, &mut listening).await {
            tracing::warn!(error = %describe(&e), channel, "the store's listener lost its connection");
        }
        if listening {
            pause = LISTEN_RETRY_MIN;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LISTEN_RETRY_MAX);
    }
}

/// One connection of the listener: `LISTEN`, then the head read once (what
/// was committed before the `LISTEN` took effect), then every notification
/// until the connection ends.
async fn listen_once(
    config: &tokio_postgres::Config,
    tls: &Tls,
    channel: &str,
    shared: &Shared,
    listening: &mut bool,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tls.clone()).await?;
    let notifications = async {
        while let Some(message) = futures::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = message? {
                if let Ok(head) = n.payload().parse::<u64>() {
                    shared.publish_head(head);
                }
            }
        }
        Ok(())
    };
    let start = async {
        client
            .batch_execute(&format!("LISTEN {}", quote_ident(channel)))
            .await?;
        let head: i64 = client.query_one(READ_HEAD, &[]).await?.try_get(0)?;
        shared.publish_head(head.max(0) as u64);
        *listening = true;
        // The client must live as long as the connection.
        futures::future::pending::<()>().await;
        Ok(())
    };
    tokio::select! {
        ended = notifications => ended,
        failed = start => failed,
    }
}

// ---------------------------------------------------------------------------
// Rows, names, URLs, errors
// ---------------------------------------------------------------------------

/// A column of `row`.
fn get<'a, T: FromSql<'a>>(row: &'a Row, column: usize) -> Result<T, StoreError> {
    row.try_get(column)
        .map_err(|e| StoreError::Backend(describe(&e)))
}

/// The one count (a head, a version) a query answered.
fn one_count(rows: &[Row], what: &str) -> Result<u64, StoreError> {
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Backend(format!("no row answered the {what}")))?;
    to_u64(get(row, 0)?, 0, what)
}

impl Columns for Row {
    fn int(&self, column: usize) -> Result<i64, StoreError> {
        // `INTEGER` columns (a schema version) read as `i32`.
        match self.try_get::<_, i64>(column) {
            Ok(n) => Ok(n),
            Err(_) => get::<i32>(self, column).map(i64::from),
        }
    }

    fn text(&self, column: usize) -> Result<String, StoreError> {
        get(self, column)
    }

    fn bytes(&self, column: usize) -> Result<Vec<u8>, StoreError> {
        get(self, column)
    }

    fn id(&self, column: usize) -> Result<Result<Uuid, String>, StoreError> {
        get(self, column).map(Ok)
    }
}

fn read_keyring(client: &mut postgres::Client) -> Result<Option<KeyringRecord>, StoreError> {
    client
        .query_opt(READ_KEYRING, &[])?
        .as_ref()
        .map(decode_keyring)
        .transpose()
}

/// A SQL `LIMIT`: past `i64::MAX`, all of them.
fn to_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The notification channel of the store in `schema`: `passerelle_` and the
/// schema's name, which must fit PostgreSQL's 63 bytes; a longer one is cut
/// (on a character boundary) and ends with a hash of the whole name, so that
/// two long names sharing their beginning keep channels of their own.
fn channel_for(schema: &str) -> String {
    let name = format!("passerelle_{schema}");
    if name.len() <= MAX_IDENTIFIER {
        return name;
    }
    let digest = hex::encode(&Sha256::digest(schema.as_bytes())[..4]);
    let cut = floor_char_boundary(&name, MAX_IDENTIFIER - digest.len() - 1);
    format!("{}_{digest}", &name[..cut])
}

/// The largest index at most `at` on a character boundary of `s`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    (0..=at.min(s.len()))
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `config` for one of the store's connections: its `application_name`
/// says which (`passerelle writer <schema>`, cut to 63 bytes) unless the
/// URL set one, and a connection attempt waits [`CONNECT_TIMEOUT`] unless
/// the URL says.
fn for_role(config: &tokio_postgres::Config, role: &str, schema: &str) -> tokio_postgres::Config {
    let mut config = config.clone();
    if config.get_application_name().is_none() {
        let name = format!("passerelle {role} {schema}");
        let name = name.trim_end();
        config.application_name(&name[..floor_char_boundary(name, MAX_IDENTIFIER)]);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config
}

/// Reads `url` ([`tls::read_url`]); answers its configuration, the TLS
/// connector of its connections and the URL to show.
fn parse_url(url: &str) -> Result<(tokio_postgres::Config, Tls, String), StoreError> {
    let display_url = redact(url);
    let (config, tls) =
        tls::read_url(url).map_err(|e| StoreError::Backend(format!("{display_url}: {e}")))?;
    Ok((config, tls, display_url))
}

/// Connects the blocking client.
fn connect(
    config: &postgres::Config,
    tls: &Tls,
    display_url: &str,
) -> Result<postgres::Client, StoreError> {
    config
        .connect(tls.clone())
        .map_err(|e| unreachable(display_url, &e))
}

fn unreachable(display_url: &str, e: &tokio_postgres::Error) -> StoreError {
    StoreError::Backend(format!("{display_url}: {}", describe(e)))
}

/// What went wrong, with the server's own message when it sent one (the
/// error's `Display` alone says only "db error"), and what a refused
/// certificate means ([`tls::hint`]).
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.to_string();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if let Some(hint) = tls::hint(e) {
        text.push_str(": ");
        text.push_str(hint);
    }
    text
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Backend(describe(&e))
    }
}

/// `url` with its password, if any, replaced by `***`: the password of a
/// URL's user information and its `password` parameter, or the `password`
/// of libpq's `key=value` form.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = ["postgres://", "postgresql://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme).map(|rest| (*scheme, rest)))
    else {
        return redact_key_values(url);
    };
    let mut shown = String::from(scheme);
    // As `tokio-postgres` reads it: the user information ends at the first '@'.
    let rest = match rest.split_once('@') {
        Some((credentials, rest)) => {
            match credentials.split_once(':') {
                Some((user, _)) => {
                    shown.push_str(user);
                    shown.push_str(":***");
                }
                None => shown.push_str(credentials),
            }
            shown.push('@');
            rest
        }
        None => rest,
    };
    match rest.split_once('?') {
        Some((location, query)) => {
            shown.push_str(location);
            shown.push('?');
            let params: Vec<&str> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some(("password", _)) => "password=***",
                    _ => param,
                })
                .collect();
            shown.push_str(&params.join("&"));
        }
        None => shown.push_str(rest),
    }
    shown
}

/// [`redact`] for `key=value` pairs: values are bare words or quoted with
/// `'`, with `\` escaping the next character.
fn redact_key_values(s: &str) -> String {
    let mut shown = String::with_capacity(s.len());
    let mut rest = s;
    while let Some((before, after)) = rest.split_once('=') {
        shown.push_str(before);
        shown.push('=');
        let value = after.trim_start();
        shown.push_str(&after[..after.len() - value.len()]);
        let end = value_end(value);
        match (before.trim(), value.starts_with('\'')) {
            ("password", true) => shown.push_str("'***'"),
            ("password", false) => shown.push_str("***"),
            _ => shown.push_str(&value[..end]),
        }
        rest = &value[end..];
    }
    shown.push_str(rest);
    shown
}

/// Where the value at the start of `s` ends: after its closing quote, or at
/// the first blank of a bare word.
fn value_end(s: &str) -> usize {
    let quoted = s.starts_with('\'');
    let mut chars = s.char_indices().skip(usize::from(quoted));
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '\'' if quoted => return i + 1,
            c if !quoted && c.is_whitespace() => return i,
            _ => {}
        }
    }
    s.len()
}

/// Test support: a schema of its own for each test, dropped with it.
#[doc(hidden)]
pub mod scratch {
    use uuid::Uuid;

    use super::tls::{read_url, Tls};
    use super::{describe, for_role, quote_ident, redact};

    /// The environment variable naming the server tests use.
    pub const URL_VAR: &str = "PASSERELLE_TEST_PG";

    /// The server tests use when [`URL_VAR`] is not set.
    pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    /// A schema with a unique random name (`passerelle_t_…`) on the test
    /// server, dropped (`CASCADE`) when this is dropped.
    pub struct ScratchSchema {
        base: String,
        config: tokio_postgres::Config,
        tls: Tls,
        name: String,
    }

    impl ScratchSchema {
        /// Creates the schema on the server of [`URL_VAR`] (default
        /// [`DEFAULT_URL`]). Panics, naming the URL, when PostgreSQL cannot be
        /// reached: a test never skips silently.
        pub async fn new() -> Self {
            let base = std::env::var(URL_VAR).unwrap_or_else(|_| DEFAULT_URL.into());
            let name = format!(
                "passerelle_t_{}",
                &Uuid::new_v4().simple().to_string()[..12]
            );
            let (config, tls) = match read_url(&base) {
                Ok((config, tls)) => (for_role(&config, "scratch", ""), tls),
                Err(e) => panic!("{URL_VAR}={}: {e}", redact(&base)),
            };
            let (client, connection) = match config.connect(tls.clone()).await {
                Ok(connected) => connected,
                Err(e) => panic!(
                    "PostgreSQL is unreachable at {} ({URL_VAR}, default {DEFAULT_URL}): {}; \
                     start it, or set {URL_VAR} to a server the tests may use",
                    redact(&base),
                    describe(&e)
                ),
            };
            let connection = tokio::spawn(connection);
            if let Err(e) = client
                .batch_execute(&format!("CREATE SCHEMA {}", quote_ident(&name)))
                .await
            {
                panic!(
                    "cannot create schema {name} at {}: {}",
                    redact(&base),
                    describe(&e)
                );
            }
            drop(client);
            let _ = connection.await;
            Self {
                base,
                config,
                tls,
                name,
            }
        }

        /// The schema's name.
        pub fn name(&self) -> &str {
            &self.name
        }

        /// The server's URL, without the schema.
        pub fn base_url(&self) -> &str {
            &self.base
        }

        /// The server's URL with `options=-c search_path=<schema>` added
        /// (percent-encoded; appended to the URL's `options` if it has some).
        pub fn url(&self) -> String {
            with_search_path(&self.base, &self.name)
        }
    }

    impl Drop for ScratchSchema {
        fn drop(&mut self) {
            // A thread of its own for the blocking client: this may run
            // inside a runtime, or outside any.
            let config = postgres::Config::from(self.config.clone());
            let tls = self.tls.clone();
            let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", quote_ident(&self.name));
            let dropped = std::thread::spawn(move || -> Result<(), String> {
                let mut client = config.connect(tls).map_err(|e| describe(&e))?;
                client.batch_execute(&sql).map_err(|e| describe(&e))
            })
            .join();
            match dropped {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("could not drop test schema {}: {e}", self.name),
                Err(_) => eprintln!(
                    "could not drop test schema {}: the thread panicked",
                    self.name
                ),
            }
        }
    }

    /// `url` with the search path set to `schema`: in a URL, through its
    /// `options` parameter (percent-encoded); in `key=value` form, as an
    /// `options` pair.
    pub fn with_search_path(url: &str, schema: &str) -> String {
        let option = format!("-c search_path={schema}");
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return format!(
                "{url} options='{}'",
                option.replace('\\', "\\\\").replace('\'', "\\'")
            );
        }
        let encoded = percent_encode(&option);
        let Some((location, query)) = url.split_once('?') else {
            return format!("{url}?options={encoded}");
        };
        let mut merged = false;
        let mut params: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|param| match param.split_once('=') {
                Some(("options", value)) if !merged => {
                    merged = true;
                    format!("options={value}%20{encoded}")
                }
                _ => param.to_owned(),
            })
            .collect();
        if !merged {
            params.push(format!("options={encoded}"));
        }
        format!("{location}?{}", params.join("&"))
    }

    /// Percent-encodes every byte but the unreserved ones of RFC 3986.
    pub fn percent_encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::scratch::with_search_path;
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        for (url, shown) in [
            (
                "postgres://app:s3cr%40t@db:5432/x",
                "postgres://app:***@db:5432/x",
            ),
            ("postgresql://app@db/x", "postgresql://app@db/x"),
            (
                "postgres://db/x?user=app&password=hunter2&sslmode=disable",
                "postgres://db/x?user=app&password=***&sslmode=disable",
            ),
            (
                "host=db user=app password=hunter2 dbname=x",
                "host=db user=app password=*** dbname=x",
            ),
            (
                "host=db password = 'a b\\' c' dbname=x",
                "host=db password = '***' dbname=x",
            ),
            ("host=db dbname=x", "host=db dbname=x"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
            assert!(url.parse::<tokio_postgres::Config>().is_ok(), "{url}");
        }
    }

    #[test]
    fn channels_fit_an_identifier() {
        assert_eq!(channel_for("public"), "passerelle_public");
        let long = "s".repeat(80);
        let a = channel_for(&long);
        let b = channel_for(&format!("{long}t"));
        assert!(a.len() <= MAX_IDENTIFIER && b.len() <= MAX_IDENTIFIER);
        assert_ne!(a, b);
        let accented = "é".repeat(40);
        assert!(channel_for(&accented).len() <= MAX_IDENTIFIER);
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn the_search_path_is_merged_into_the_url() {
        let option = "options=-c%20search_path%3Dpasserelle_t_1";
        for (url, with) in [
            ("postgres://u@h/db", format!("postgres://u@h/db?{option}")),
            (
                "postgres://u@h/db?sslmode=disable",
                format!("postgres://u@h/db?sslmode=disable&{option}"),
            ),
            (
                "postgres://u@h/db?options=-c%20work_mem%3D4MB",
                "postgres://u@h/db?options=-c%20work_mem%3D4MB%20-c%20search_path%3Dpasserelle_t_1"
                    .into(),
            ),
            (
                "host=h dbname=db",
                "host=h dbname=db options='-c search_path=passerelle_t_1'".into(),
            ),
        ] {
            let merged = with_search_path(url, "passerelle_t_1");
            assert_eq!(merged, with, "{url}");
            let config: tokio_postgres::Config = merged.parse().unwrap();
            assert!(
                config
                    .get_options()
                    .unwrap()
                    .ends_with("-c search_path=passerelle_t_1"),
                "{merged}"
            );
        }
    }
}

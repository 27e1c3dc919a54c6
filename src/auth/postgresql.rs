//! The tokens, login codes and sessions of a PostgreSQL store: tables in
//! the connection's current schema (the first of its `search_path` that
//! exists), beside the event store's tables if they are there — they need
//! not be.
//!
//! **Several instances.** Every change of `tokens`, and every session
//! ended, counts up `tokens_meta.generation` and notifies the channel
//! `passerelle_auth_<schema>` (`passerelle_auth_<hash of the schema>` when
//! that would pass PostgreSQL's 63 bytes) in the same transaction, so the
//! notification is delivered when, and only if, the change commits. Each
//! handle has a listener thread that LISTENs on that channel; told, or after
//! [`POLL`] without a word (a notification is lost with its connection), it
//! reads the generation and reloads the tokens if it moved, which also
//! forgets the sessions the handle remembered. A revocation thus reaches
//! every instance within [`POLL`] and a round trip, in practice as soon as
//! the notification arrives. A handle that has not reached the database for
//! [`TRUST`] refuses every credential ([`AuthError::Unavailable`], 503) until it
//! reaches it again: cut off, it cannot learn of a revocation. (A change
//! made by hand must count up the generation too; the poll finds it even
//! without a notification.)
//!
//! Creating the tables, creating and revoking tokens take a
//! transaction-level advisory lock keyed on the schema, so two instances
//! starting at once do not race to create the tables, and a name is found
//! free and taken in one step. A login code is redeemed by one `DELETE …
//! RETURNING`: of two instances redeeming it at once, one gets the row.
//! Expiry is by the database's clock (`now()`), the one clock every
//! instance shares; a handle remembers a session until the time it had left
//! when it was read.
//!
//! **TLS.** Its connections are made as the event store's are, by the one
//! reader of a PostgreSQL URL and its connector
//! (`passerelle_events::store::tls`): `sslmode` and `sslrootcert` mean what
//! they mean to libpq, and TCP keepalive is on.
//!
//! **Never blocking the runtime.** [`super::TokenStore`]'s methods are
//! synchronous — the command line, the tests and the request handlers call
//! them as they call SQLite's, and authenticating a known token must stay a
//! memory lookup — so this module uses the blocking `postgres` client, on
//! threads of its own: a worker thread owns the connection that reads and
//! writes, and a method that needs the database hands it a job and waits for
//! the answer inside `tokio::task::block_in_place` when it runs on a worker
//! of a multi-threaded runtime (the server's), so that the runtime hands
//! that worker's other tasks to another thread while it waits. The
//! listener thread owns the second connection. Why not async tokio-postgres:
//! every call site is synchronous, and blocking on a future from inside a
//! runtime panics. Why threads rather than `block_in_place` around the
//! client: the blocking client runs a runtime of its own, which must never
//! be entered, nor dropped, from inside another; on these threads it never
//! is. On a current-thread runtime (tests, one-shot commands) the wait
//! blocks that runtime's one thread: there is no other to hand its tasks to.
//! After the database restarts, the first job on the lost connection fails
//! and the next one connects again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use passerelle_events::store::tls::{self, Tls};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config, IsolationLevel, Row, Transaction};
use sha2::{Digest, Sha256};

use super::{
    new_token_id, rfc3339, stored_hash, token_info, AuthError, Cache, Grant, Hash, NewToken,
    Principal, Storage, TokenInfo, LONGEST,
};
use crate::store::redacted;

/// How long the listener waits for a notification before it asks the
/// generation anyway: the longest a lost notification delays a change.
pub const POLL: Duration = Duration::from_millis(500);

/// How long a handle trusts its cache without reaching the database; past
/// it, every credential is refused until the database is reached again.
pub const TRUST: Duration = Duration::from_secs(5);

/// How often the listener looks whether its handle was dropped.
const STEP: Duration = Duration::from_millis(50);

/// How long dropping a handle waits for each of its threads to end.
const STOPPING: Duration = Duration::from_secs(2);

/// How long connecting may take, unless the URL says (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The notification channel's name, before the schema's.
const CHANNEL_PREFIX: &str = "passerelle_auth_";

/// The longest identifier PostgreSQL keeps, in bytes (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER: usize = 63;

/// The tables of this module, as in the SQLite store but for the types:
/// times are `timestamptz`, hashes `bytea`, and `seq` keeps the order of
/// creation. A name is unique regardless of ASCII case, as SQLite's `NOCASE`
/// has it (`lower` under the "C" collation changes ASCII letters only).
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS tokens (
    seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id         text NOT NULL PRIMARY KEY,
    name       text NOT NULL,
    role       text NOT NULL CHECK (role IN ('admin', 'coordinator', 'mentor', 'viewer')),
    programme  text,
    hash       bytea NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS tokens_name_nocase ON tokens (lower(name COLLATE "C"));
CREATE TABLE IF NOT EXISTS tokens_meta (
    id         integer PRIMARY KEY CHECK (id = 1),
    generation bigint NOT NULL
);
INSERT INTO tokens_meta (id, generation) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS login_codes (
    hash       bytea PRIMARY KEY CHECK (octet_length(hash) = 32),
    token_id   text NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS login_codes_expiry ON login_codes (expires_at);
CREATE TABLE IF NOT EXISTS sessions (
    hash       bytea PRIMARY KEY CHECK (octet_length(hash) = 32),
    token_id   text NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
"#;

/// The tables [`SCHEMA`] creates.
const TABLES: [&str; 4] = ["tokens", "tokens_meta", "login_codes", "sessions"];

const SELECT_INFO: &str = "SELECT id, name, role, programme, created_at, revoked_at FROM tokens";

/// Whether a token's name is `$1`, as its uniqueness sees names (see
/// [`SCHEMA`]).
const NAME_IS: &str = r#"lower(name COLLATE "C") = lower($1 COLLATE "C")"#;

impl From<postgres::Error> for AuthError {
    fn from(e: postgres::Error) -> Self {
        // The database's own message is the error's source; a refused
        // certificate says why.
        let mut message = match std::error::Error::source(&e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        };
        if let Some(hint) = tls::hint(&e) {
            message.push_str(": ");
            message.push_str(hint);
        }
        AuthError::Unavailable(message)
    }
}

/// The tables of one PostgreSQL schema, through a worker thread's
/// connection, with a listener thread keeping the cache.
pub(super) struct Tokens {
    shared: Arc<Shared>,
    worker: Worker,
    listener: Listening,
    names: Names,
}

impl Tokens {
    /// Connects to the database at `url` (with TLS as its `sslmode` says,
    /// through the event store's connector: [`tls::read_url`]), creates the
    /// tables if any is missing, and starts listening; returns once the
    /// cache is loaded.
    pub(super) fn open(url: &str) -> Result<Self, AuthError> {
        let at = |e: AuthError| match e {
            AuthError::Storage(m) => AuthError::Storage(format!("{}: {m}", redacted(url))),
            AuthError::Unavailable(m) => AuthError::Unavailable(format!("{}: {m}", redacted(url))),
            other => other,
        };
        let (config, tls) =
            tls::read_url(url).map_err(|e| at(AuthError::Storage(e.to_string())))?;
        let mut config = Config::from(config);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // Named for `pg_stat_activity`, unless the URL names them.
        let named = |name: &str| {
            let mut config = config.clone();
            if config.get_application_name().is_none() {
                config.application_name(name);
            }
            config
        };
        let worker = Worker::start(named("passerelle auth"), tls.clone())?;
        let names = worker
            .run(|client| {
                let names = Names::of(client)?;
                ensure_schema(client, &names)?;
                Ok(names)
            })
            .map_err(at)?;
        let shared = Arc::new(Shared::new());
        let listener = Listener::start(
            named("passerelle auth listener"),
            tls,
            names.clone(),
            Arc::downgrade(&shared),
        )
        .map_err(at)?;
        Ok(Self {
            shared,
            worker,
            listener,
            names,
        })
    }
}

/// Dropping a handle ends its threads and closes their connections before
/// it returns (waiting at most [`STOPPING`] for each), so that nothing of
/// it is left running against the database: not a transaction that could
/// hold a lock, not a notification asked for.
impl Drop for Tokens {
    fn drop(&mut self) {
        self.listener.stop.store(true, Ordering::Release);
        // The worker ends once its queue is empty and closed.
        self.worker.jobs = mpsc::channel().0;
        self.worker.thread.ended();
        self.listener.thread.ended();
    }
}

impl Storage for Tokens {
    fn create(&self, token: &NewToken) -> Result<String, AuthError> {
        let (token, names, shared) = (token.clone(), self.names.clone(), self.shared.clone());
        self.worker.run(move |client| {
            let mut tx = client.transaction()?;
            names.lock(&mut tx)?;
            let taken: bool = tx
                .query_one(
                    &format!("SELECT EXISTS (SELECT 1 FROM tokens WHERE {NAME_IS})"),
                    &[&token.name],
                )?
                .try_get(0)?;
            if taken {
                return Err(AuthError::NameTaken(token.name));
            }
            let id = loop {
                let id = new_token_id()?;
                let exists: bool = tx
                    .query_one("SELECT EXISTS (SELECT 1 FROM tokens WHERE id = $1)", &[&id])?
                    .try_get(0)?;
                if !exists {
                    break id;
                }
            };
            let hash: &[u8] = &token.hash;
            tx.execute(
                "INSERT INTO tokens (id, name, role, programme, hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &id,
                    &token.name,
                    &token.role.as_str(),
                    &token.programme,
                    &hash,
                    &token.created_at,
                ],
            )?;
            names.changed(&mut tx)?;
            tx.commit()?;
            // This handle sees it at once; should this fail, the listener
            // brings it.
            let _ = shared.refresh(client);
            Ok(id)
        })
    }

    fn list(&self) -> Result<Vec<TokenInfo>, AuthError> {
        self.worker.run(|client| {
            client
                .query(&format!("{SELECT_INFO} ORDER BY seq"), &[])?
                .iter()
                .map(row_info)
                .collect()
        })
    }

    fn revoke(&self, id_or_name: &str, at: DateTime<Utc>) -> Result<TokenInfo, AuthError> {
        let (id_or_name, names, shared) = (
            id_or_name.to_owned(),
            self.names.clone(),
            self.shared.clone(),
        );
        self.worker.run(move |client| {
            let mut tx = client.transaction()?;
            names.lock(&mut tx)?;
            let mut find =
                |by: &str| tx.query_opt(&format!("{SELECT_INFO} WHERE {by}"), &[&id_or_name]);
            let row = match find("id = $1")? {
                Some(row) => row,
                None => find(NAME_IS)?.ok_or_else(|| AuthError::Unknown(id_or_name.clone()))?,
            };
            let mut info = row_info(&row)?;
            if let Some(at) = info.revoked_at {
                return Err(AuthError::AlreadyRevoked {
                    id: info.id,
                    name: info.name,
                    at: rfc3339(at),
                });
            }
            tx.execute(
                "UPDATE tokens SET revoked_at = $1 WHERE id = $2",
                &[&at, &info.id],
            )?;
            names.changed(&mut tx)?;
            tx.commit()?;
            let _ = shared.refresh(client);
            info.revoked_at = Some(at);
            Ok(info)
        })
    }

    fn token(&self, hash: &Hash) -> Result<Principal, AuthError> {
        self.shared.trusted()?.token(hash)
    }

    fn session(&self, hash: &Hash) -> Result<Principal, AuthError> {
        let hash = *hash;
        let mut cache = self.shared.trusted()?;
        let token_id = match cache.session(&hash) {
            Some(found) => found?,
            None => {
                let seen = cache.generation;
                drop(cache);
                let found = self.worker.run(move |client| find_session(client, &hash))?;
                let (token_id, expires) = found.ok_or(AuthError::Invalid)?;
                cache = self.shared.trusted()?;
                // Read before a generation that may have ended it: not kept.
                if cache.generation == seen {
                    cache.remember_session(hash, token_id.clone(), expires);
                }
                token_id
            }
        };
        if let Some(found) = cache.token_by_id(&token_id) {
            return found;
        }
        // A token made so lately that the listener has not brought it yet.
        drop(cache);
        let shared = self.shared.clone();
        self.worker.run(move |client| shared.refresh(client))?;
        self.shared.trusted()?.session_principal(&token_id)
    }

    fn grant(
        &self,
        grant: Grant,
        hash: &Hash,
        token_id: &str,
        ttl: Duration,
    ) -> Result<(), AuthError> {
        let (purge, insert) = match grant {
            Grant::Login => (
                "DELETE FROM login_codes WHERE expires_at <= now()",
                "INSERT INTO login_codes (hash, token_id, expires_at) \
                 VALUES ($1, $2, now() + make_interval(secs => $3))",
            ),
            Grant::Session => (
                "DELETE FROM sessions WHERE expires_at <= now()",
                "INSERT INTO sessions (hash, token_id, expires_at) \
                 VALUES ($1, $2, now() + make_interval(secs => $3))",
            ),
        };
        let (hash, id, seconds) = (*hash, token_id.to_owned(), ttl.as_secs_f64());
        self.worker.run(move |client| {
            let mut tx = client.transaction()?;
            // Shares the row with nothing that revokes it meanwhile.
            let revoked: Option<bool> = tx
                .query_opt(
                    "SELECT revoked_at IS NOT NULL FROM tokens WHERE id = $1 FOR SHARE",
                    &[&id],
                )?
                .map(|row| row.try_get(0))
                .transpose()?;
            match revoked {
                None => return Err(AuthError::Unknown(id)),
                Some(true) => return Err(AuthError::Revoked),
                Some(false) => {}
            }
            tx.execute(purge, &[])?;
            let hash: &[u8] = &hash;
            tx.execute(insert, &[&hash, &id, &seconds])?;
            tx.commit()?;
            Ok(())
        })?;
        if grant == Grant::Session {
            self.shared
                .lock()
                .remember_session(hash, token_id.to_owned(), Instant::now() + ttl);
        }
        Ok(())
    }

    fn redeem(&self, hash: &Hash) -> Result<Option<Principal>, AuthError> {
        let (hash, shared) = (*hash, self.shared.clone());
        let redeemed = self.worker.run(move |client| {
            let hash: &[u8] = &hash;
            // One statement: of two instances redeeming the same code, one
            // deletes the row and the other finds none. An expired code, or
            // one of a revoked token, is deleted too.
            let Some(row) = client.query_opt(
                "DELETE FROM login_codes c USING tokens t \
                 WHERE c.hash = $1 AND t.id = c.token_id \
                 RETURNING c.token_id, c.expires_at > now() AND t.revoked_at IS NULL",
                &[&hash],
            )?
            else {
                return Ok(None);
            };
            let (token_id, live): (String, bool) = (row.try_get(0)?, row.try_get(1)?);
            if !live {
                return Ok(None);
            }
            if shared.lock().token_by_id(&token_id).is_none() {
                shared.refresh(client)?;
            }
            Ok(Some(token_id))
        })?;
        let Some(token_id) = redeemed else {
            return Ok(None);
        };
        Ok(self
            .shared
            .trusted()?
            .token_by_id(&token_id)
            .and_then(Result::ok))
    }

    fn close(&self, hash: &Hash) -> Result<(), AuthError> {
        self.shared.lock().forget_session(hash);
        let (hash, names) = (*hash, self.names.clone());
        self.worker.run(move |client| {
            let mut tx = client.transaction()?;
            let hash: &[u8] = &hash;
            if tx.execute("DELETE FROM sessions WHERE hash = $1", &[&hash])? > 0 {
                // Every handle forgets the sessions it remembered.
                names.changed(&mut tx)?;
            }
            tx.commit()?;
            Ok(())
        })
    }
}

/// The cache, shared by a handle, its worker's jobs and its listener.
struct Shared {
    cache: Mutex<Cache>,
    /// The start of the clock of [`Shared::confirmed`].
    epoch: Instant,
    /// When the cache was last known to reflect the database (the start of
    /// that check), in milliseconds after `epoch`.
    confirmed: AtomicU64,
}

impl Shared {
    fn new() -> Self {
        Self {
            cache: Mutex::new(Cache::default()),
            epoch: Instant::now(),
            confirmed: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        // The cache is rebuilt from the tables, so a panic elsewhere cannot
        // leave it inconsistent in a way that matters.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cache, unless it was last confirmed more than [`TRUST`] ago.
    fn trusted(&self) -> Result<MutexGuard<'_, Cache>, AuthError> {
        let confirmed = Duration::from_millis(self.confirmed.load(Ordering::Acquire));
        let age = self.epoch.elapsed().saturating_sub(confirmed);
        if age > TRUST {
            return Err(AuthError::Unavailable(format!(
                "the database was last reached {}s ago: no credential is accepted until it is \
                 reached again, since a revocation may have been missed",
                age.as_secs()
            )));
        }
        Ok(self.lock())
    }

    /// Reads the generation and, if it moved, the tokens.
    fn refresh(&self, client: &mut Client) -> Result<(), AuthError> {
        let asked = Instant::now();
        let generation: i64 = client
            .query_one("SELECT generation FROM tokens_meta WHERE id = 1", &[])?
            .try_get(0)?;
        if self.lock().generation.is_none_or(|g| g < generation) {
            let (generation, tokens) = load(client)?;
            self.lock().install(generation, tokens);
        }
        let at = u64::try_from(asked.duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX);
        self.confirmed.fetch_max(at, Ordering::AcqRel);
        Ok(())
    }
}

/// The generation and every token with its hash, in one snapshot.
fn load(client: &mut Client) -> Result<(i64, Vec<(Hash, TokenInfo)>), AuthError> {
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let generation: i64 = tx
        .query_one("SELECT generation FROM tokens_meta WHERE id = 1", &[])?
        .try_get(0)?;
    let rows = tx.query(
        "SELECT id, name, role, programme, created_at, revoked_at, hash FROM tokens",
        &[],
    )?;
    tx.commit()?;
    let tokens = rows
        .iter()
        .map(|row| {
            let info = row_info(row)?;
            Ok((stored_hash(&info.id, row.try_get(6)?)?, info))
        })
        .collect::<Result<_, AuthError>>()?;
    Ok((generation, tokens))
}

/// The token and expiry of a session not in the cache; an expired one is
/// deleted and `None`.
fn find_session(client: &mut Client, hash: &Hash) -> Result<Option<(String, Instant)>, AuthError> {
    let hash: &[u8] = hash;
    let Some(row) = client.query_opt(
        "SELECT token_id, extract(epoch FROM expires_at - now())::float8 FROM sessions \
         WHERE hash = $1",
        &[&hash],
    )?
    else {
        return Ok(None);
    };
    let (token_id, left): (String, f64) = (row.try_get(0)?, row.try_get(1)?);
    if left <= 0.0 {
        client.execute(
            "DELETE FROM sessions WHERE hash = $1 AND expires_at <= now()",
            &[&hash],
        )?;
        return Ok(None);
    }
    let left = Duration::try_from_secs_f64(left).map_or(LONGEST, |d| d.min(LONGEST));
    Ok(Some((token_id, Instant::now() + left)))
}

/// A row of [`SELECT_INFO`] (and more columns after).
fn row_info(row: &Row) -> Result<TokenInfo, AuthError> {
    token_info(
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get::<_, &str>(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
        row.try_get(5)?,
    )
}

/// Creates the tables if any is missing, under the schema's advisory lock.
fn ensure_schema(client: &mut Client, names: &Names) -> Result<(), AuthError> {
    let present: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_tables \
             WHERE schemaname = current_schema() AND tablename = ANY($1)",
            &[&&TABLES[..]],
        )?
        .try_get(0)?;
    if present == TABLES.len() as i64 {
        return Ok(());
    }
    let mut tx = client.transaction()?;
    names.lock(&mut tx)?;
    tx.batch_execute(SCHEMA)?;
    tx.commit()?;
    Ok(())
}

/// What is named after the schema: the notification channel and the
/// advisory lock.
#[derive(Debug, Clone)]
struct Names {
    channel: String,
    lock: i64,
}

impl Names {
    /// The names of the connection's current schema.
    fn of(client: &mut Client) -> Result<Self, AuthError> {
        let schema: Option<String> = client
            .query_one("SELECT current_schema()", &[])?
            .try_get(0)?;
        let schema = schema.ok_or_else(|| {
            AuthError::Storage(
                "no schema to keep the tokens in: no schema of the search_path exists".into(),
            )
        })?;
        Ok(Self::for_schema(&schema))
    }

    fn for_schema(schema: &str) -> Self {
        let channel = if CHANNEL_PREFIX.len() + schema.len() <= MAX_IDENTIFIER {
            format!("{CHANNEL_PREFIX}{schema}")
        } else {
            let digest = Sha256::digest(schema.as_bytes());
            format!("{CHANNEL_PREFIX}{}", hex::encode(&digest[..16]))
        };
        let digest = Sha256::digest(format!("passerelle auth lock {schema}").as_bytes());
        let mut lock = [0u8; 8];
        lock.copy_from_slice(&digest[..8]);
        Self {
            channel,
            lock: i64::from_be_bytes(lock),
        }
    }

    /// Takes the schema's advisory lock until the transaction ends.
    fn lock(&self, tx: &mut Transaction<'_>) -> Result<(), AuthError> {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&self.lock])?;
        Ok(())
    }

    /// Counts up the generation and notifies every listener when `tx`
    /// commits.
    fn changed(&self, tx: &mut Transaction<'_>) -> Result<(), AuthError> {
        tx.execute(
            "WITH bumped AS (\
                 UPDATE tokens_meta SET generation = generation + 1 WHERE id = 1 \
                 RETURNING generation) \
             SELECT pg_notify($1, generation::text) FROM bumped",
            &[&self.channel],
        )?;
        Ok(())
    }
}

/// A job for the worker thread.
type Job = Box<dyn FnOnce(&mut Link) + Send>;

/// The thread that owns the connection that reads and writes.
struct Worker {
    jobs: mpsc::Sender<Job>,
    thread: Thread,
}

/// One of a handle's threads, to wait for its end.
struct Thread {
    /// Disconnected when the thread ends.
    ended: Mutex<mpsc::Receiver<()>>,
}

impl Thread {
    fn spawn(name: &str, run: impl FnOnce() + Send + 'static) -> Result<Self, AuthError> {
        let (ending, ended) = mpsc::channel::<()>();
        thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _ending = ending;
                run();
            })
            .map_err(|e| AuthError::Storage(format!("cannot start a thread: {e}")))?;
        Ok(Self {
            ended: Mutex::new(ended),
        })
    }

    /// Waits for the thread to end, at most [`STOPPING`] (a connection
    /// attempt to an unreachable database may take longer: it is left to
    /// end on its own).
    fn ended(&self) {
        let ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        let _ = ended.recv_timeout(STOPPING);
    }
}

/// The worker's connection, made again when it is lost.
struct Link {
    config: Config,
    tls: Tls,
    client: Option<Client>,
}

impl Link {
    fn client(&mut self) -> Result<&mut Client, AuthError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            self.client = Some(self.config.connect(self.tls.clone())?);
        }
        Ok(self.client.as_mut().expect("connected just above"))
    }
}

impl Worker {
    /// Starts the thread; it connects with the first job, and ends (closing
    /// its connection) when the handle is dropped.
    fn start(config: Config, tls: Tls) -> Result<Self, AuthError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = Thread::spawn("passerelle-auth-db", move || {
            let mut link = Link {
                config,
                tls,
                client: None,
            };
            for job in queue {
                job(&mut link);
            }
        })?;
        Ok(Self { jobs, thread })
    }

    /// Runs `job` on the worker's connection and waits for its answer
    /// without holding a tokio worker ([`wait`]).
    fn run<R, F>(&self, job: F) -> Result<R, AuthError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Client) -> Result<R, AuthError> + Send + 'static,
    {
        let (answer, answered) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |link: &mut Link| {
                let _ = answer.send(link.client().and_then(job));
            }))
            .map_err(|_| stopped())?;
        wait(move || answered.recv()).map_err(|_| stopped())?
    }
}

fn stopped() -> AuthError {
    AuthError::Storage("the token store's database thread has stopped".into())
}

/// Runs `f`, which blocks, in a way that does not hold up a tokio runtime
/// it is called from: through `block_in_place` on a multi-threaded runtime.
fn wait<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// The thread that keeps a handle's cache: it LISTENs on the schema's
/// channel and checks the generation when told, and every [`POLL`].
struct Listener {
    config: Config,
    tls: Tls,
    names: Names,
    shared: Weak<Shared>,
    stop: Arc<AtomicBool>,
    client: Option<Client>,
}

/// A running listener, as its handle holds it.
struct Listening {
    stop: Arc<AtomicBool>,
    thread: Thread,
}

impl Listener {
    /// Starts the thread and waits until it listens and the cache is
    /// loaded. The thread ends within [`STEP`] of `stop`.
    fn start(
        config: Config,
        tls: Tls,
        names: Names,
        shared: Weak<Shared>,
    ) -> Result<Listening, AuthError> {
        let (ready, started) = mpsc::sync_channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let listener = Self {
            config,
            tls,
            names,
            shared,
            stop: stop.clone(),
            client: None,
        };
        let thread = Thread::spawn("passerelle-auth-listen", move || listener.run(ready))?;
        wait(move || started.recv()).map_err(|_| stopped())??;
        Ok(Listening { stop, thread })
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn run(mut self, ready: mpsc::SyncSender<Result<(), AuthError>>) {
        let mut ready = Some(ready);
        let mut failing = false;
        loop {
            if self.stopped() {
                return;
            }
            let Some(shared) = self.shared.upgrade() else {
                return;
            };
            let checked = self.check(&shared);
            drop(shared);
            match checked {
                Ok(()) => {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(Ok(()));
                    }
                    if failing {
                        tracing::info!("the tokens are read from the database again");
                        failing = false;
                    }
                    self.wait_for_news();
                }
                Err(e) => {
                    self.client = None;
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(Err(e));
                        return;
                    }
                    if !failing {
                        tracing::warn!(
                            error = %e,
                            "cannot read the tokens from the database; trying again every {POLL:?}"
                        );
                        failing = true;
                    }
                    self.pause(POLL);
                }
            }
        }
    }

    /// Connects and LISTENs if need be, then brings the cache up to the
    /// database's generation.
    fn check(&mut self, shared: &Shared) -> Result<(), AuthError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            let mut client = self.config.connect(self.tls.clone())?;
            client.batch_execute(&format!("LISTEN {}", quote_ident(&self.names.channel)))?;
            self.client = Some(client);
        }
        shared.refresh(self.client.as_mut().expect("connected just above"))
    }

    /// Returns when notified, after [`POLL`], when the connection is lost,
    /// or within [`STEP`] of being stopped.
    fn wait_for_news(&mut self) {
        let Some(client) = self.client.as_mut() else {
            return;
        };
        let deadline = Instant::now() + POLL;
        let mut notifications = client.notifications();
        let lost = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stop.load(Ordering::Acquire) {
                break false;
            }
            let told = notifications.timeout_iter(left.min(STEP)).next();
            match told {
                // Changes made together are one reload.
                Ok(Some(_)) => break notifications.iter().count().is_err(),
                Ok(None) => {}
                Err(_) => break true,
            }
        };
        drop(notifications);
        if lost {
            self.client = None;
        }
    }

    /// Sleeps for `pause`, or until stopped.
    fn pause(&self, pause: Duration) {
        let deadline = Instant::now() + pause;
        while !self.stopped() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            thread::sleep(left.min(STEP));
        }
    }
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The TLS proxy of the event store's tests, shared with them.
#[cfg(test)]
#[path = "../../events/tests/support/pg_proxy.rs"]
mod pg_proxy;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use passerelle_events::store::postgres::scratch::ScratchSchema;

    use super::pg_proxy::{password_of, Answer, Authority, Proxy};
    use super::*;

    #[test]
    fn the_channel_is_named_after_the_schema_and_fits_an_identifier() {
        let short = Names::for_schema("public");
        assert_eq!(short.channel, "passerelle_auth_public");
        let long = Names::for_schema(&"s".repeat(60));
        assert!(long.channel.len() <= MAX_IDENTIFIER, "{}", long.channel);
        assert!(long.channel.starts_with(CHANNEL_PREFIX));
        assert_ne!(
            Names::for_schema(&"s".repeat(60)).channel,
            Names::for_schema(&"t".repeat(60)).channel
        );
        assert_ne!(short.lock, Names::for_schema("other").lock);
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
    }

    /// The tables are reached through the event store's TLS connector: over
    /// TLS, the server's certificate checked against `sslrootcert`, and a
    /// certificate no trusted authority signed refused with the reason.
    #[test]
    fn connections_are_made_with_the_stores_tls() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let schema = runtime.block_on(ScratchSchema::new());
        let dir = tempfile::tempdir().expect("temp dir");
        let authority = Authority::new("Passerelle test CA");
        let ca = authority.write(dir.path(), "ca.pem");
        let other_ca = Authority::new("Another CA").write(dir.path(), "other-ca.pem");
        let proxy = Proxy::start(&schema, Answer::Tls(authority.server(&["localhost"])));
        let password = password_of(&schema);
        let url = |ca: &Path| {
            let ca = ca.display().to_string();
            let params = [("sslmode", "verify-full"), ("sslrootcert", ca.as_str())];
            proxy.url(&schema, "localhost", &password, &params)
        };

        let tokens = Tokens::open(&url(&ca)).expect("open over TLS");
        assert!(tokens.list().expect("list the tokens").is_empty());
        drop(tokens);
        // The worker's connection and the listener's, none in plain.
        assert!(proxy.handshakes() >= 2, "{}", proxy.handshakes());
        assert_eq!(proxy.plain(), 0);

        let refused = match Tokens::open(&url(&other_ca)) {
            Ok(_) => panic!("opened with a certificate no trusted authority signed"),
            Err(e) => e.to_string(),
        };
        assert!(refused.contains("not trusted"), "{refused}");
        assert!(refused.contains(":***@localhost:"), "{refused}");
        assert!(!refused.contains(&password), "{refused}");
    }
}

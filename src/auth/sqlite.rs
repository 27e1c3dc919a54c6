//! The tokens, login codes and sessions of a SQLite store: tables in the
//! store's file, beside the events, read and written through one connection
//! of this module's own (never the event store's).
//!
//! The cache is checked against the file at most once per [`RECHECK`]:
//! `PRAGMA data_version` (a read transaction) says whether another
//! connection committed; only then is the generation in `tokens_meta` read,
//! and the tokens reloaded only when it moved — event appends do not reload
//! them. Under load that is one check per millisecond, not one per request.
//! Changes made through another handle of this process are seen at once
//! ([`LOCAL_CHANGES`]).
//!
//! Expiry times are milliseconds since 1970 (UTC) by this machine's clock,
//! which every process on the file shares.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::{
    new_token_id, parse_time, rfc3339, stored_hash, token_info, AuthError, Cache, Grant, Hash,
    NewToken, Principal, Storage, TokenInfo, RECHECK,
};

/// `PRAGMA application_id` of a Passerelle store ("PSRL"), as the event store
/// sets it.
const APPLICATION_ID: i64 = 0x5053_524C;
/// How long a connection waits for another one's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Bumped by every change made in this process (any handle) that other
/// handles must see: a token created or revoked, a session ended. Each
/// handle notices it on its next call without asking the file.
static LOCAL_CHANGES: AtomicU64 = AtomicU64::new(0);

/// The tables of this module. Every change to `tokens` bumps
/// `tokens_meta.generation` (triggers, so a change made by hand counts too),
/// and so does ending a session; a running server compares generations to
/// know when to reload. Login codes and sessions stand for a token until
/// `expires_at` (milliseconds since 1970, UTC).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    id         TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'mentor', 'viewer')),
    programme  TEXT,
    hash       BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS tokens_meta (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT OR IGNORE INTO tokens_meta (id, generation) VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS tokens_inserted AFTER INSERT ON tokens
BEGIN UPDATE tokens_meta SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS tokens_updated AFTER UPDATE ON tokens
BEGIN UPDATE tokens_meta SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS tokens_deleted AFTER DELETE ON tokens
BEGIN UPDATE tokens_meta SET generation = generation + 1 WHERE id = 1; END;
CREATE TABLE IF NOT EXISTS login_codes (
    hash       BLOB NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    token_id   TEXT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS login_codes_expiry ON login_codes (expires_at);
CREATE TABLE IF NOT EXISTS sessions (
    hash       BLOB NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    token_id   TEXT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
";

/// The objects [`SCHEMA`] creates.
const OBJECTS: [&str; 9] = [
    "tokens",
    "tokens_meta",
    "tokens_inserted",
    "tokens_updated",
    "tokens_deleted",
    "login_codes",
    "login_codes_expiry",
    "sessions",
    "sessions_expiry",
];

const SELECT_INFO: &str = "SELECT id, name, role, programme, created_at, revoked_at FROM tokens";

impl From<rusqlite::Error> for AuthError {
    fn from(e: rusqlite::Error) -> Self {
        AuthError::Storage(e.to_string())
    }
}

/// The tables of one SQLite store, through one connection.
pub(super) struct Tokens {
    inner: Mutex<Inner>,
}

struct Inner {
    conn: Connection,
    /// `PRAGMA data_version` when the cache was last checked.
    data_version: i64,
    /// When the cache was last checked against the file.
    checked_at: Option<Instant>,
    /// [`LOCAL_CHANGES`] as of that check.
    local_changes: u64,
    cache: Cache,
}

impl Tokens {
    /// Opens the tables of the store at `path`, creating them on first use.
    /// Refuses a missing file ([`AuthError::NoStore`]) and a file that is not
    /// a Passerelle store.
    pub(super) fn open(path: &Path) -> Result<Self, AuthError> {
        if !path.exists() {
            return Err(AuthError::NoStore(path.display().to_string()));
        }
        let storage = |e: rusqlite::Error| AuthError::Storage(format!("{}: {e}", path.display()));
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(storage)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(storage)?;
        let app: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => not_a_store(path),
                _ => storage(e),
            })?;
        if app != APPLICATION_ID {
            return Err(not_a_store(path));
        }
        // A revocation that was acknowledged must survive a crash.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(storage)?;
        // Codes and sessions go with their token if it is ever deleted.
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(storage)?;
        ensure_schema(&conn).map_err(storage)?;
        let tokens = Self {
            inner: Mutex::new(Inner {
                conn,
                data_version: 0,
                checked_at: None,
                local_changes: 0,
                cache: Cache::default(),
            }),
        };
        tokens.lock().refresh()?;
        Ok(tokens)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The cache is rebuilt from the table, so a panic elsewhere cannot
        // leave it inconsistent in a way that matters.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Storage for Tokens {
    fn create(&self, token: &NewToken) -> Result<String, AuthError> {
        let mut inner = self.lock();
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM tokens WHERE name = ?1)",
            [&token.name],
            |r| r.get(0),
        )?;
        if taken {
            return Err(AuthError::NameTaken(token.name.clone()));
        }
        let id = loop {
            let id = new_token_id()?;
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM tokens WHERE id = ?1)",
                [&id],
                |r| r.get(0),
            )?;
            if !exists {
                break id;
            }
        };
        tx.execute(
            "INSERT INTO tokens (id, name, role, programme, hash, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id,
                token.name,
                token.role.as_str(),
                token.programme,
                &token.hash[..],
                rfc3339(token.created_at),
            ],
        )?;
        tx.commit()?;
        LOCAL_CHANGES.fetch_add(1, Ordering::Release);
        inner.cache.generation = None;
        Ok(id)
    }

    fn list(&self) -> Result<Vec<TokenInfo>, AuthError> {
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare(&format!("{SELECT_INFO} ORDER BY rowid"))?;
        let rows = stmt.query_map([], row_info)?;
        rows.map(|r| r.map_err(AuthError::from).and_then(|info| info))
            .collect()
    }

    fn revoke(&self, id_or_name: &str, at: DateTime<Utc>) -> Result<TokenInfo, AuthError> {
        let mut inner = self.lock();
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let find = |by: &str| {
            tx.query_row(
                &format!("{SELECT_INFO} WHERE {by} = ?1"),
                [id_or_name],
                row_info,
            )
            .optional()
            .map_err(AuthError::from)
        };
        let found = match find("id")? {
            Some(info) => Some(info),
            None => find("name")?,
        };
        let mut info = found.ok_or_else(|| AuthError::Unknown(id_or_name.to_owned()))??;
        if let Some(at) = info.revoked_at {
            return Err(AuthError::AlreadyRevoked {
                id: info.id,
                name: info.name,
                at: rfc3339(at),
            });
        }
        tx.execute(
            "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2",
            params![rfc3339(at), info.id],
        )?;
        tx.commit()?;
        LOCAL_CHANGES.fetch_add(1, Ordering::Release);
        inner.cache.generation = None;
        info.revoked_at = Some(at);
        Ok(info)
    }

    fn token(&self, hash: &Hash) -> Result<Principal, AuthError> {
        let mut inner = self.lock();
        inner.refresh_if_due()?;
        inner.cache.token(hash)
    }

    fn session(&self, hash: &Hash) -> Result<Principal, AuthError> {
        let mut inner = self.lock();
        inner.refresh_if_due()?;
        let token_id = match inner.cache.session(hash) {
            Some(found) => found?,
            None => {
                let (token_id, expires) = inner.find_session(hash)?.ok_or(AuthError::Invalid)?;
                inner
                    .cache
                    .remember_session(*hash, token_id.clone(), expires);
                token_id
            }
        };
        inner.cache.session_principal(&token_id)
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
                "DELETE FROM login_codes WHERE expires_at <= ?1",
                "INSERT INTO login_codes (hash, token_id, expires_at) VALUES (?1, ?2, ?3)",
            ),
            Grant::Session => (
                "DELETE FROM sessions WHERE expires_at <= ?1",
                "INSERT INTO sessions (hash, token_id, expires_at) VALUES (?1, ?2, ?3)",
            ),
        };
        let mut inner = self.lock();
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let revoked: Option<bool> = tx
            .query_row(
                "SELECT revoked_at IS NOT NULL FROM tokens WHERE id = ?1",
                [token_id],
                |r| r.get(0),
            )
            .optional()?;
        match revoked {
            None => return Err(AuthError::Unknown(token_id.to_owned())),
            Some(true) => return Err(AuthError::Revoked),
            Some(false) => {}
        }
        let now = unix_ms();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        tx.execute(purge, [now])?;
        tx.execute(
            insert,
            params![&hash[..], token_id, now.saturating_add(ttl_ms)],
        )?;
        tx.commit()?;
        if grant == Grant::Session {
            inner
                .cache
                .remember_session(*hash, token_id.to_owned(), Instant::now() + ttl);
        }
        Ok(())
    }

    fn redeem(&self, hash: &Hash) -> Result<Option<Principal>, AuthError> {
        let mut inner = self.lock();
        // One statement: of two connections redeeming the same code, one
        // deletes the row and the other finds none. An expired code is
        // deleted too.
        let redeemed: Option<(String, i64)> = inner
            .conn
            .prepare_cached(
                "DELETE FROM login_codes WHERE hash = ?1 RETURNING token_id, expires_at",
            )?
            .query_row([&hash[..]], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((token_id, expires)) = redeemed else {
            return Ok(None);
        };
        if expires <= unix_ms() {
            return Ok(None);
        }
        inner.refresh()?;
        Ok(inner.cache.token_by_id(&token_id).and_then(Result::ok))
    }

    fn close(&self, hash: &Hash) -> Result<(), AuthError> {
        let mut inner = self.lock();
        inner.cache.forget_session(hash);
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let closed = tx.execute("DELETE FROM sessions WHERE hash = ?1", [&hash[..]])?;
        if closed > 0 {
            // Other handles forget the sessions they remember.
            tx.execute(
                "UPDATE tokens_meta SET generation = generation + 1 WHERE id = 1",
                [],
            )?;
        }
        tx.commit()?;
        if closed > 0 {
            LOCAL_CHANGES.fetch_add(1, Ordering::Release);
        }
        Ok(())
    }
}

impl Inner {
    /// [`Inner::refresh`], unless the cache was checked less than [`RECHECK`]
    /// ago and nothing changed in this process since.
    fn refresh_if_due(&mut self) -> Result<(), AuthError> {
        let fresh = self.cache.generation.is_some()
            && self.local_changes == LOCAL_CHANGES.load(Ordering::Acquire)
            && self.checked_at.is_some_and(|t| t.elapsed() < RECHECK);
        if fresh {
            return Ok(());
        }
        self.refresh()
    }

    /// Reloads the cache if the generation moved since it was loaded.
    fn refresh(&mut self) -> Result<(), AuthError> {
        // Read before the file: a change counted later is seen next time.
        let local_changes = LOCAL_CHANGES.load(Ordering::Acquire);
        let data_version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if self.cache.generation.is_some() && data_version == self.data_version {
            self.checked_at = Some(Instant::now());
            self.local_changes = local_changes;
            return Ok(());
        }
        // Read the generation and the rows in one snapshot, so the cache
        // never claims a generation newer than its rows.
        let tx = self.conn.transaction()?;
        let generation: i64 = tx
            .prepare_cached("SELECT generation FROM tokens_meta WHERE id = 1")?
            .query_row([], |r| r.get(0))?;
        if self.cache.generation != Some(generation) {
            let mut tokens = Vec::with_capacity(self.cache.by_hash.len() + 1);
            let mut stmt = tx.prepare_cached(
                "SELECT id, name, role, programme, created_at, revoked_at, hash FROM tokens",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let info = row_info(row)??;
                let hash = stored_hash(&info.id, row.get(6)?)?;
                tokens.push((hash, info));
            }
            drop(rows);
            drop(stmt);
            // `None` forces the reload even if the generation is the same.
            self.cache.generation = None;
            self.cache.install(generation, tokens);
        }
        tx.commit()?;
        self.data_version = data_version;
        self.checked_at = Some(Instant::now());
        self.local_changes = local_changes;
        Ok(())
    }

    /// The token and expiry of a session not in the cache; an expired one is
    /// deleted and `None`.
    fn find_session(&mut self, hash: &Hash) -> Result<Option<(String, Instant)>, AuthError> {
        let found: Option<(String, i64)> = self
            .conn
            .prepare_cached("SELECT token_id, expires_at FROM sessions WHERE hash = ?1")?
            .query_row([&hash[..]], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((token_id, expires_at)) = found else {
            return Ok(None);
        };
        let left = expires_at.saturating_sub(unix_ms());
        if left <= 0 {
            self.conn
                .prepare_cached("DELETE FROM sessions WHERE hash = ?1 AND expires_at <= ?2")?
                .execute(params![&hash[..], unix_ms()])?;
            return Ok(None);
        }
        let left = Duration::from_millis(left.unsigned_abs()).min(super::LONGEST);
        Ok(Some((token_id, Instant::now() + left)))
    }
}

/// Creates the tables if any is missing (taking the write lock only then).
fn ensure_schema(conn: &Connection) -> rusqlite::Result<()> {
    let names = OBJECTS.map(|name| format!("'{name}'")).join(", ");
    let present: usize = conn.query_row(
        &format!("SELECT count(*) FROM sqlite_schema WHERE name IN ({names})"),
        [],
        |r| r.get(0),
    )?;
    if present == OBJECTS.len() {
        return Ok(());
    }
    conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;"))
        .inspect_err(|_| {
            let _ = conn.execute_batch("ROLLBACK");
        })
}

/// A row of [`SELECT_INFO`].
fn row_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<TokenInfo, AuthError>> {
    let id: String = row.get(0)?;
    let name: String = row.get(1)?;
    let role: String = row.get(2)?;
    let programme: Option<String> = row.get(3)?;
    let created_at: String = row.get(4)?;
    let revoked_at: Option<String> = row.get(5)?;
    Ok((|| {
        token_info(
            id,
            name,
            &role,
            programme,
            parse_time(&created_at)?,
            revoked_at.as_deref().map(parse_time).transpose()?,
        )
    })())
}

/// Milliseconds since 1970 (UTC) by this machine's clock.
fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn not_a_store(path: &Path) -> AuthError {
    AuthError::Storage(format!("{} is not a Passerelle store", path.display()))
}

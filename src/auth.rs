//! Who may do what (PRODUCT.md §7): API tokens with a role and an optional
//! programme scope, the rules each role obeys, and one-time browser login
//! codes.
//!
//! Owns the `tokens` and `tokens_meta` tables in the store's SQLite file,
//! created on first use through this module's own connection. It never reads
//! or writes the `events` table or its triggers, and it knows nothing of HTTP:
//! each [`AuthError`] variant says which status the API turns it into.
//!
//! Secrets are shown once and stored only as SHA-256 hashes. A token is 32
//! bytes from the operating system's random source, so a fast hash is enough:
//! a slow password KDF (argon2, bcrypt) defends low-entropy secrets against
//! guessing, and 256 random bits cannot be guessed either way.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use passerelle_events::values::ProgrammeId;
use rand::TryRngCore;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The prefix of an API token: `psl_` then 64 lowercase hex digits.
pub const TOKEN_PREFIX: &str = "psl_";
/// The prefix of a one-time login code: `psl1_` then 64 lowercase hex digits.
pub const LOGIN_PREFIX: &str = "psl1_";
/// The prefix of a browser session secret (in memory only): `psls_` then 64
/// lowercase hex digits.
pub const SESSION_PREFIX: &str = "psls_";
/// The prefix of a token id (not secret): `tok_` then 12 lowercase hex digits.
pub const ID_PREFIX: &str = "tok_";
/// Longest token name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest token name, in bytes: the limit of `recorded_by`.
pub const MAX_NAME_BYTES: usize = 200;

/// Random bytes in a secret.
const SECRET_BYTES: usize = 32;
/// Random bytes in a token id.
const ID_BYTES: usize = 6;
/// `PRAGMA application_id` of a Passerelle store ("PSRL"), as the event store
/// sets it.
const APPLICATION_ID: i64 = 0x5053_524C;
/// How long a connection waits for another one's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`TokenStore::authenticate`] trusts its cache before it asks the
/// file whether another process changed the tokens (`PRAGMA data_version`).
/// Changes made through any handle of this process are seen at once.
pub const RECHECK: Duration = Duration::from_millis(1);

/// Bumped by every token change made in this process (any handle), so that
/// every handle notices it on its next call without asking the file.
static LOCAL_CHANGES: AtomicU64 = AtomicU64::new(0);

/// The tables of this module. Every change to `tokens` bumps
/// `tokens_meta.generation` (triggers, so a change made by hand counts too);
/// a running server compares generations to know when to reload.
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
";

/// What went wrong with authentication, authorisation or the token table.
/// Each variant's doc names the HTTP status the API answers with.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No token was presented. **401**.
    #[error("no token was presented")]
    Missing,
    /// The token is not one this store issued (or is malformed). **401**.
    #[error("the token is not valid")]
    Invalid,
    /// The token was revoked. **401**.
    #[error("the token has been revoked")]
    Revoked,
    /// The token's role or programme scope does not allow this. **403**.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A field of a token to create is malformed (`name`, `role`,
    /// `programme`). **422**, with `errors[{field, message}]`.
    #[error("{field}: {message}")]
    BadField {
        /// The field, as named in the API and on the command line.
        field: &'static str,
        /// The rule it broke.
        message: String,
    },
    /// Another token already has this name. **409**.
    #[error("a token named {0:?} already exists; choose another name or revoke it")]
    NameTaken(String),
    /// No token has this id or name. **404**.
    #[error("no token has the id or name {0:?}")]
    Unknown(String),
    /// The token was revoked before. **409**.
    #[error("token {id} ({name}) was already revoked at {at}")]
    AlreadyRevoked {
        /// Its id.
        id: String,
        /// Its name.
        name: String,
        /// When it was revoked (RFC 3339).
        at: String,
    },
    /// There is no store file at the path. **500** (a server does not start
    /// without one; the command line says how to create it).
    #[error("no store at {0}; run passerelle init")]
    NoStore(String),
    /// The token table could not be read or written. **500**.
    #[error("token storage: {0}")]
    Storage(String),
}

impl From<rusqlite::Error> for AuthError {
    fn from(e: rusqlite::Error) -> Self {
        AuthError::Storage(e.to_string())
    }
}

/// A refusal by the rules of a role or a programme scope; the message names
/// the rule. Becomes **403**.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Denied {
    message: String,
}

impl Denied {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The rule that refused, for people.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A token's role (PRODUCT.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything a coordinator may do; the role for running the instance.
    Admin,
    /// Reads and writes the programme's events.
    Coordinator,
    /// Reads, and appends review notes (`ReviewNoteAdded`) only.
    Mentor,
    /// Reads only.
    Viewer,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Coordinator, Role::Mentor, Role::Viewer];

    /// The role's name: `admin`, `coordinator`, `mentor` or `viewer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Mentor => "mentor",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| AuthError::BadField {
                field: "role",
                message: format!(
                    "must be one of admin, coordinator, mentor, viewer (got {:?})",
                    shorten(s)
                ),
            })
    }
}

/// A token's name: what its events carry as `recorded_by`. 1–100 characters
/// (at most 200 bytes) of letters, digits, `_`, `-`, `.`, `@` and spaces, not
/// starting or ending with a space, and not shaped like a token id (so that
/// `token revoke X` is never ambiguous).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenName(String);

impl TokenName {
    /// Parses a name; the error names the rule it broke.
    pub fn parse(s: &str) -> Result<Self, AuthError> {
        let bad = |message: String| AuthError::BadField {
            field: "name",
            message,
        };
        let chars = s.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS || s.len() > MAX_NAME_BYTES {
            return Err(bad(format!(
                "must be 1–{MAX_NAME_CHARS} characters (at most {MAX_NAME_BYTES} bytes) (got {chars} characters)"
            )));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | ' ')))
        {
            return Err(bad(format!(
                "may hold only letters, digits, '_', '-', '.', '@' and spaces (got {c:?} in {:?})",
                shorten(s)
            )));
        }
        if s.starts_with(' ') || s.ends_with(' ') {
            return Err(bad(format!(
                "must not start or end with a space (got {:?})",
                shorten(s)
            )));
        }
        if is_token_id(s) {
            return Err(bad(format!("must not look like a token id (got {s:?})")));
        }
        Ok(Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who a request acts as: the token it presented, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The token's id (`tok_…`; not secret).
    pub id: String,
    /// The token's name; events it appends carry it as `recorded_by`.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The one programme it sees and writes, if scoped.
    pub programme: Option<String>,
}

impl Principal {
    /// Whether this principal may read `programme` (every role reads; a
    /// scoped token reads only its programme).
    pub fn can_read(&self, programme: &str) -> bool {
        self.programme.as_deref().is_none_or(|p| p == programme)
    }

    /// [`Principal::can_read`] with the rule that refused.
    pub fn may_read(&self, programme: &str) -> Result<(), Denied> {
        if self.can_read(programme) {
            Ok(())
        } else {
            Err(self.scope_denied())
        }
    }

    /// Whether this principal may append an event of `event_type` to
    /// `programme`: a viewer appends nothing; a mentor only
    /// `ReviewNoteAdded`; a coordinator or an admin anything but
    /// `PersonalDataErased`, which only the erase command writes; a scoped
    /// token only to its programme.
    pub fn may_append(&self, event_type: &str, programme: &str) -> Result<(), Denied> {
        match self.role {
            Role::Viewer => return Err(Denied::new("a viewer token may append nothing")),
            Role::Mentor if event_type != "ReviewNoteAdded" => {
                return Err(Denied::new(
                    "a mentor token may append only ReviewNoteAdded",
                ))
            }
            _ => {}
        }
        if event_type == "PersonalDataErased" {
            return Err(Denied::new(
                "PersonalDataErased is written only by the erase command",
            ));
        }
        self.may_read(programme)
    }

    /// The programmes of `all` this principal may see, in their order.
    pub fn visible_programmes<'a, I>(&'a self, all: I) -> impl Iterator<Item = I::Item> + 'a
    where
        I: IntoIterator + 'a,
        I::Item: AsRef<str>,
    {
        all.into_iter().filter(move |p| self.can_read(p.as_ref()))
    }

    fn scope_denied(&self) -> Denied {
        Denied::new(format!(
            "this token is scoped to programme {}",
            self.programme.as_deref().unwrap_or_default()
        ))
    }
}

/// A token as listed: everything but the secret and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Its id (`tok_…`; not secret).
    pub id: String,
    /// Its name (`recorded_by` of what it appends).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The programme it is scoped to, if any.
    pub programme: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenInfo {
    fn principal(&self) -> Principal {
        Principal {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
            programme: self.programme.clone(),
        }
    }
}

/// The tokens of a store, with an in-memory cache for
/// [`TokenStore::authenticate`].
///
/// One handle serves a whole server (it is `Send + Sync`); its methods block
/// for at most one short SQLite statement, except `create`/`revoke`, which
/// wait for the store's write lock. Changes made through any handle of this
/// process are seen by the next call. Changes made by other processes
/// (`passerelle token revoke` while a server runs) are seen by the first call
/// that comes [`RECHECK`] (1 ms) or more after the cache was last checked: a
/// check reads `PRAGMA data_version` (a read transaction on the file) and,
/// when the file changed, the token generation, and reloads the tokens only
/// when that moved — event appends do not reload them. Under load this is
/// one check per millisecond instead of one per request.
pub struct TokenStore {
    path: PathBuf,
    inner: Mutex<Inner>,
    logins: Mutex<HashMap<[u8; 32], Grant>>,
    sessions: Mutex<HashMap<[u8; 32], Grant>>,
}

struct Inner {
    conn: Connection,
    /// `PRAGMA data_version` when the cache was last checked.
    data_version: i64,
    /// When the cache was last checked against the file.
    checked_at: Option<Instant>,
    /// [`LOCAL_CHANGES`] as of that check.
    local_changes: u64,
    /// `tokens_meta.generation` the cache reflects; `None` forces a reload.
    generation: Option<i64>,
    by_hash: HashMap<[u8; 32], Cached>,
    /// Token id → its hash.
    by_id: HashMap<String, [u8; 32]>,
}

struct Cached {
    principal: Principal,
    revoked: bool,
}

/// A login code waiting to be redeemed, or a browser session: in memory
/// only, standing for a token until it expires or the token is revoked.
struct Grant {
    token_id: String,
    expires: Instant,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TokenStore {
    /// Opens the tokens of the store at `path`, creating the token tables on
    /// first use. Refuses a missing file ([`AuthError::NoStore`]) and a file
    /// that is not a Passerelle store.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(AuthError::NoStore(path.display().to_string()));
        }
        let storage = |e: rusqlite::Error| AuthError::Storage(format!("{}: {e}", path.display()));
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(storage)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(storage)?;
        let app: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => not_a_store(&path),
                _ => storage(e),
            })?;
        if app != APPLICATION_ID {
            return Err(not_a_store(&path));
        }
        // A revocation that was acknowledged must survive a crash.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(storage)?;
        ensure_schema(&conn).map_err(storage)?;
        let store = Self {
            path,
            inner: Mutex::new(Inner {
                conn,
                data_version: 0,
                checked_at: None,
                local_changes: 0,
                generation: None,
                by_hash: HashMap::new(),
                by_id: HashMap::new(),
            }),
            logins: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
        };
        store.lock().refresh()?;
        Ok(store)
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates a token and returns it with its secret, which is stored only
    /// hashed: the caller shows it once.
    pub fn create(
        &self,
        name: &str,
        role: Role,
        programme: Option<&str>,
    ) -> Result<(TokenInfo, String), AuthError> {
        let name = TokenName::parse(name)?;
        let programme = programme
            .map(|p| {
                ProgrammeId::parse(p).map_err(|message| AuthError::BadField {
                    field: "programme",
                    message,
                })
            })
            .transpose()?;
        let secret = format!("{TOKEN_PREFIX}{}", hex::encode(random::<SECRET_BYTES>()?));
        let hash = sha256(&secret);
        let created_at = now();
        let mut inner = self.lock();
        let tx = inner
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM tokens WHERE name = ?1)",
            [name.as_str()],
            |r| r.get(0),
        )?;
        if taken {
            return Err(AuthError::NameTaken(name.as_str().to_owned()));
        }
        let id = loop {
            let id = format!("{ID_PREFIX}{}", hex::encode(random::<ID_BYTES>()?));
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
                name.as_str(),
                role.as_str(),
                programme.as_ref().map(ProgrammeId::as_str),
                &hash[..],
                rfc3339(created_at),
            ],
        )?;
        tx.commit()?;
        LOCAL_CHANGES.fetch_add(1, Ordering::Release);
        inner.generation = None;
        let info = TokenInfo {
            id,
            name: name.as_str().to_owned(),
            role,
            programme: programme.map(|p| p.as_str().to_owned()),
            created_at: parse_time(&rfc3339(created_at))?,
            revoked_at: None,
        };
        Ok((info, secret))
    }

    /// Every token, oldest first, revoked ones included.
    pub fn list(&self) -> Result<Vec<TokenInfo>, AuthError> {
        let inner = self.lock();
        let mut stmt = inner.conn.prepare(
            "SELECT id, name, role, programme, created_at, revoked_at FROM tokens ORDER BY rowid",
        )?;
        let rows = stmt.query_map([], row_info)?;
        rows.map(|r| r.map_err(AuthError::from).and_then(|info| info))
            .collect()
    }

    /// Revokes the token with this id or, failing that, this name. It stops
    /// authenticating at once, also in servers that opened the store before.
    pub fn revoke(&self, id_or_name: &str) -> Result<TokenInfo, AuthError> {
        let mut inner = self.lock();
        let tx = inner
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let find = |sql: &str| {
            tx.query_row(sql, [id_or_name], row_info)
                .optional()
                .map_err(AuthError::from)
        };
        let found = match find(
            "SELECT id, name, role, programme, created_at, revoked_at FROM tokens WHERE id = ?1",
        )? {
            Some(info) => Some(info),
            None => find(
                "SELECT id, name, role, programme, created_at, revoked_at FROM tokens WHERE name = ?1",
            )?,
        };
        let mut info = found.ok_or_else(|| AuthError::Unknown(id_or_name.to_owned()))??;
        if let Some(at) = info.revoked_at {
            return Err(AuthError::AlreadyRevoked {
                id: info.id,
                name: info.name,
                at: rfc3339(at),
            });
        }
        let at = now();
        tx.execute(
            "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2",
            params![rfc3339(at), info.id],
        )?;
        tx.commit()?;
        LOCAL_CHANGES.fetch_add(1, Ordering::Release);
        inner.generation = None;
        info.revoked_at = Some(parse_time(&rfc3339(at))?);
        Ok(info)
    }

    /// Who presents `secret`: [`AuthError::Missing`] for an empty one,
    /// [`AuthError::Invalid`] for one this store never issued,
    /// [`AuthError::Revoked`] for a revoked one.
    ///
    /// Cheap enough for every request: a SHA-256 and a hash-map lookup, and
    /// at most once per [`RECHECK`] a `PRAGMA data_version`. The lookup is by the secret's hash, so timing
    /// reveals at most something about the hash of the attacker's own guess,
    /// never about a stored secret: no constant-time comparison is needed.
    ///
    /// Also accepts a session secret from [`TokenStore::open_session`]: it
    /// stands for its token, and fails as [`AuthError::Invalid`] once
    /// expired and as [`AuthError::Revoked`] once its token is revoked.
    pub fn authenticate(&self, secret: &str) -> Result<Principal, AuthError> {
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(AuthError::Missing);
        }
        let session = if is_secret(secret, TOKEN_PREFIX) {
            None
        } else if is_secret(secret, SESSION_PREFIX) {
            let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            let session = sessions.get(&sha256(secret)).ok_or(AuthError::Invalid)?;
            if Instant::now() >= session.expires {
                return Err(AuthError::Invalid);
            }
            Some(session.token_id.clone())
        } else {
            return Err(AuthError::Invalid);
        };
        let mut inner = self.lock();
        inner.refresh_if_due()?;
        let hash = match session {
            None => sha256(secret),
            // A token that is gone from the table counts as revoked.
            Some(token_id) => *inner.by_id.get(&token_id).ok_or(AuthError::Revoked)?,
        };
        match inner.by_hash.get(&hash) {
            None => Err(AuthError::Invalid),
            Some(c) if c.revoked => Err(AuthError::Revoked),
            Some(c) => Ok(c.principal.clone()),
        }
    }

    /// Issues a one-time login code (`psl1_…`) for the token `token_id`,
    /// valid for `ttl`: a URL that carries it logs a browser in as that
    /// token. Codes live in this handle's memory only, so the server that
    /// redeems them must issue them. Refuses an unknown or revoked token.
    pub fn issue_login(&self, token_id: &str, ttl: Duration) -> Result<String, AuthError> {
        self.grant(&self.logins, LOGIN_PREFIX, token_id, ttl)
    }

    /// The principal a login code stands for, once: `None` for a code never
    /// issued, already redeemed, expired, or whose token has been revoked
    /// since.
    pub fn redeem_login(&self, code: &str) -> Option<Principal> {
        let code = code.trim();
        if !is_secret(code, LOGIN_PREFIX) {
            return None;
        }
        let login = {
            let mut logins = self.logins.lock().unwrap_or_else(|e| e.into_inner());
            logins.remove(&sha256(code))?
        };
        if Instant::now() >= login.expires {
            return None;
        }
        let mut inner = self.lock();
        inner.refresh().ok()?;
        let c = inner.by_hash.get(inner.by_id.get(&login.token_id)?)?;
        (!c.revoked).then(|| c.principal.clone())
    }

    /// Opens a browser session (`psls_…`, for a cookie) for the token
    /// `token_id`, valid for `ttl`; [`TokenStore::authenticate`] accepts it
    /// like the token itself until it expires or the token is revoked.
    /// Sessions live in this handle's memory only: a restart logs browsers
    /// out. Refuses an unknown or revoked token.
    pub fn open_session(&self, token_id: &str, ttl: Duration) -> Result<String, AuthError> {
        self.grant(&self.sessions, SESSION_PREFIX, token_id, ttl)
    }

    /// Ends a browser session (logging out); unknown secrets are ignored.
    pub fn close_session(&self, secret: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.remove(&sha256(secret.trim()));
    }

    /// A new random secret with `prefix`, kept (hashed) in `grants` for
    /// `token_id` until `ttl` has passed; expired grants are dropped.
    fn grant(
        &self,
        grants: &Mutex<HashMap<[u8; 32], Grant>>,
        prefix: &str,
        token_id: &str,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        {
            let mut inner = self.lock();
            inner.refresh()?;
            let hash = inner
                .by_id
                .get(token_id)
                .ok_or_else(|| AuthError::Unknown(token_id.to_owned()))?;
            if inner.by_hash[hash].revoked {
                return Err(AuthError::Revoked);
            }
        }
        let secret = format!("{prefix}{}", hex::encode(random::<SECRET_BYTES>()?));
        let now = Instant::now();
        let mut grants = grants.lock().unwrap_or_else(|e| e.into_inner());
        grants.retain(|_, g| g.expires > now);
        grants.insert(
            sha256(&secret),
            Grant {
                token_id: token_id.to_owned(),
                // An absurd ttl means "as long as the process runs".
                expires: now
                    .checked_add(ttl)
                    .unwrap_or(now + Duration::from_secs(100 * 365 * 86_400)),
            },
        );
        Ok(secret)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The cache is rebuilt from the table, so a panic elsewhere cannot
        // leave it inconsistent in a way that matters.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// [`Inner::refresh`], unless the cache was checked less than [`RECHECK`]
    /// ago and no token changed in this process since.
    fn refresh_if_due(&mut self) -> Result<(), AuthError> {
        let fresh = self.generation.is_some()
            && self.local_changes == LOCAL_CHANGES.load(Ordering::Acquire)
            && self.checked_at.is_some_and(|t| t.elapsed() < RECHECK);
        if fresh {
            return Ok(());
        }
        self.refresh()
    }

    /// Reloads the cache if the token table changed since it was loaded.
    fn refresh(&mut self) -> Result<(), AuthError> {
        // Read before the file: a change counted later is seen next time.
        let local_changes = LOCAL_CHANGES.load(Ordering::Acquire);
        let data_version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if self.generation.is_some() && data_version == self.data_version {
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
        if self.generation != Some(generation) {
            let mut by_hash = HashMap::with_capacity(self.by_hash.len() + 1);
            let mut by_id = HashMap::with_capacity(self.by_hash.len() + 1);
            let mut stmt = tx.prepare_cached(
                "SELECT id, name, role, programme, created_at, revoked_at, hash FROM tokens",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let info = row_info(row)??;
                let hash: Vec<u8> = row.get(6)?;
                let hash: [u8; 32] = hash
                    .try_into()
                    .map_err(|_| AuthError::Storage(format!("token {} has a bad hash", info.id)))?;
                by_id.insert(info.id.clone(), hash);
                by_hash.insert(
                    hash,
                    Cached {
                        principal: info.principal(),
                        revoked: info.revoked_at.is_some(),
                    },
                );
            }
            drop(rows);
            drop(stmt);
            self.by_hash = by_hash;
            self.by_id = by_id;
        }
        tx.commit()?;
        self.generation = Some(generation);
        self.data_version = data_version;
        self.checked_at = Some(Instant::now());
        self.local_changes = local_changes;
        Ok(())
    }
}

/// Creates the token tables if they are missing (taking the write lock only
/// then).
fn ensure_schema(conn: &Connection) -> rusqlite::Result<()> {
    let present: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE name IN \
         ('tokens', 'tokens_meta', 'tokens_inserted', 'tokens_updated', 'tokens_deleted')",
        [],
        |r| r.get(0),
    )?;
    if present == 5 {
        return Ok(());
    }
    conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;"))
        .inspect_err(|_| {
            let _ = conn.execute_batch("ROLLBACK");
        })
}

/// A row of `SELECT id, name, role, programme, created_at, revoked_at`.
fn row_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<TokenInfo, AuthError>> {
    let id: String = row.get(0)?;
    let name: String = row.get(1)?;
    let role: String = row.get(2)?;
    let programme: Option<String> = row.get(3)?;
    let created_at: String = row.get(4)?;
    let revoked_at: Option<String> = row.get(5)?;
    Ok((|| {
        Ok(TokenInfo {
            role: role
                .parse()
                .map_err(|e| AuthError::Storage(format!("token {id}: {e}")))?,
            created_at: parse_time(&created_at)?,
            revoked_at: revoked_at.as_deref().map(parse_time).transpose()?,
            id,
            name,
            programme,
        })
    })())
}

fn not_a_store(path: &Path) -> AuthError {
    AuthError::Storage(format!("{} is not a Passerelle store", path.display()))
}

/// `N` bytes from the operating system's random source.
fn random<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| AuthError::Storage(format!("the system random source failed: {e}")))?;
    Ok(bytes)
}

fn sha256(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// `prefix` then 64 lowercase hex digits.
fn is_secret(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|hex| {
        hex.len() == 2 * SECRET_BYTES && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// `tok_` then 12 lowercase hex digits.
fn is_token_id(s: &str) -> bool {
    s.strip_prefix(ID_PREFIX).is_some_and(|hex| {
        hex.len() == 2 * ID_BYTES && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, AuthError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| AuthError::Storage(format!("bad time {s:?} in the token table: {e}")))
}

/// The first 40 characters of `s`, for messages.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

//! Who may do what (PRODUCT.md §7): API tokens with a role and an optional
//! programme scope, the rules each role obeys, one-time browser login codes
//! and browser sessions.
//!
//! All three live in the store's database, so that a server instance keeps
//! no state of its own: any instance accepts any token or session, a restart
//! logs no one out (a session keeps its expiry), and a login code is redeemed
//! once, whichever instance redeems it. The tables — `tokens`, `tokens_meta`
//! (a generation, counted up by every change of `tokens` and every session
//! ended), `login_codes` and `sessions` — are in the SQLite file of a
//! [`Location::File`] (`auth/sqlite.rs`) or in the current schema of the
//! PostgreSQL database of a [`Location::Postgres`] (`auth/postgresql.rs`,
//! which says how it never blocks the runtime), created on first
//! use through this module's own connections. It never reads or writes the
//! event store's tables, and it knows nothing of HTTP: each [`AuthError`]
//! variant says which status the API turns it into.
//!
//! Secrets are shown once and stored only as SHA-256 hashes: tokens, login
//! codes and sessions alike. A secret is 32 bytes from the operating
//! system's random source, so a fast hash is enough: a slow password KDF
//! (argon2, bcrypt) defends low-entropy secrets against guessing, and 256
//! random bits cannot be guessed either way.
//!
//! Each handle keeps every token in memory (authenticating a token is a
//! SHA-256 and a hash-map lookup) and the sessions it has met (a session it
//! has not met is looked up in the database). It learns of changes made
//! elsewhere — a token created or revoked, a session ended — from the
//! generation in `tokens_meta`: a SQLite handle asks the file at most once
//! per [`RECHECK`]; a PostgreSQL handle is notified (LISTEN/NOTIFY) and asks
//! every 500 ms (`postgresql::POLL`) in case a notification was lost. A session or a
//! login code is checked against its token in that cache, so revoking a
//! token refuses the token, its sessions and its codes in every instance as
//! soon as the instance has seen the new generation.

mod postgresql;
mod sqlite;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use passerelle_events::values::ProgrammeId;
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::Location;

/// The prefix of an API token: `psl_` then 64 lowercase hex digits.
pub const TOKEN_PREFIX: &str = "psl_";
/// The prefix of a one-time login code: `psl1_` then 64 lowercase hex digits.
pub const LOGIN_PREFIX: &str = "psl1_";
/// The prefix of a browser session secret: `psls_` then 64 lowercase hex
/// digits.
pub const SESSION_PREFIX: &str = "psls_";
/// The prefix of a token id (not secret): `tok_` then 12 lowercase hex digits.
pub const ID_PREFIX: &str = "tok_";
/// Longest token name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest token name, in bytes: the limit of `recorded_by`.
pub const MAX_NAME_BYTES: usize = 200;

/// How long a SQLite handle trusts its cache before it asks the file whether
/// another process changed the tokens (`PRAGMA data_version`). Changes made
/// through any handle of this process are seen at once.
pub const RECHECK: Duration = Duration::from_millis(1);

/// Random bytes in a secret.
const SECRET_BYTES: usize = 32;
/// Random bytes in a token id.
const ID_BYTES: usize = 6;
/// The longest a login code or a session lasts: a longer `ttl` means "for
/// as long as anyone cares".
const LONGEST: Duration = Duration::from_secs(100 * 365 * 86_400);
/// The most sessions a handle remembers; past it, it forgets them all and
/// looks each up again.
const CACHED_SESSIONS: usize = 10_000;

/// The SHA-256 of a secret: all that is stored of it.
type Hash = [u8; 32];

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
    /// The token tables could not be read or written as expected. **500**.
    #[error("token storage: {0}")]
    Storage(String),
    /// The database holding the tokens could not be reached, or has not been
    /// reached lately enough to trust what this process remembers of it.
    /// **503**: the same request may work once it is reached again.
    #[error("token storage unavailable: {0}")]
    Unavailable(String),
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

/// The tokens, login codes and sessions of a store, with an in-memory cache
/// for [`TokenStore::authenticate`].
///
/// One handle serves a whole server (it is `Send + Sync`); several handles,
/// in one process or in several instances on the same database, see one set
/// of tokens, codes and sessions. Changes made through a handle are seen by
/// its next call; changes made through another handle are seen within
/// [`RECHECK`] on SQLite, and within 500 ms (`postgresql::POLL`; as soon as the
/// notification arrives, in practice) on PostgreSQL.
///
/// On SQLite its methods block for at most one short statement, except
/// `create`/`revoke` and the grants, which wait for the store's write lock.
/// On PostgreSQL a method that needs the database waits for a thread of the
/// handle's own (see `auth/postgresql.rs`), never running a round trip on a tokio
/// worker; authenticating a known token or a session met before needs no
/// round trip on either.
pub struct TokenStore {
    location: Location,
    storage: Box<dyn Storage>,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenStore")
            // Display: a URL's password is hidden.
            .field("location", &self.location.to_string())
            .finish_non_exhaustive()
    }
}

impl TokenStore {
    /// Opens the tokens of the store at `location`, creating the tables of
    /// this module on first use.
    ///
    /// A SQLite store must exist: a missing file is [`AuthError::NoStore`],
    /// a file that is not a Passerelle store is refused. A PostgreSQL
    /// database needs only to be reachable, with a current schema (the
    /// first of its `search_path` that exists) to hold the tables: the event
    /// store's tables need not be there.
    pub fn open(location: &Location) -> Result<Self, AuthError> {
        let storage: Box<dyn Storage> = match location {
            Location::File(path) => Box::new(sqlite::Tokens::open(path)?),
            Location::Postgres(url) => Box::new(postgresql::Tokens::open(url)?),
        };
        Ok(Self {
            location: location.clone(),
            storage,
        })
    }

    /// Where the tokens are: the store's location.
    pub fn location(&self) -> &Location {
        &self.location
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
        let token = NewToken {
            name: name.as_str().to_owned(),
            role,
            programme: programme.map(|p| p.as_str().to_owned()),
            hash: sha256(&secret),
            created_at: now(),
        };
        let id = self.storage.create(&token)?;
        let info = TokenInfo {
            id,
            name: token.name,
            role,
            programme: token.programme,
            created_at: token.created_at,
            revoked_at: None,
        };
        Ok((info, secret))
    }

    /// Every token, oldest first, revoked ones included.
    pub fn list(&self) -> Result<Vec<TokenInfo>, AuthError> {
        self.storage.list()
    }

    /// Revokes the token with this id or, failing that, this name. It stops
    /// authenticating at once, also in servers that opened the store before,
    /// and so do its sessions and login codes.
    pub fn revoke(&self, id_or_name: &str) -> Result<TokenInfo, AuthError> {
        self.storage.revoke(id_or_name, now())
    }

    /// Who presents `secret`: [`AuthError::Missing`] for an empty one,
    /// [`AuthError::Invalid`] for one this store never issued,
    /// [`AuthError::Revoked`] for a revoked one.
    ///
    /// Cheap enough for every request: a SHA-256 and a hash-map lookup (on
    /// SQLite, at most once per [`RECHECK`] a `PRAGMA data_version`). The
    /// lookup is by the secret's hash, so timing reveals at most something
    /// about the hash of the attacker's own guess, never about a stored
    /// secret: no constant-time comparison is needed.
    ///
    /// Also accepts a session secret from [`TokenStore::open_session`],
    /// through any handle on the same store: it stands for its token, and
    /// fails as [`AuthError::Invalid`] once expired or ended and as
    /// [`AuthError::Revoked`] once its token is revoked. A session this
    /// handle has not met before costs one database lookup.
    pub fn authenticate(&self, secret: &str) -> Result<Principal, AuthError> {
        let secret = secret.trim();
        if secret.is_empty() {
            Err(AuthError::Missing)
        } else if is_secret(secret, TOKEN_PREFIX) {
            self.storage.token(&sha256(secret))
        } else if is_secret(secret, SESSION_PREFIX) {
            self.storage.session(&sha256(secret))
        } else {
            Err(AuthError::Invalid)
        }
    }

    /// Issues a one-time login code (`psl1_…`) for the token `token_id`,
    /// valid for `ttl`: a URL that carries it logs a browser in as that
    /// token, through any server on the same store. Refuses an unknown or
    /// revoked token.
    pub fn issue_login(&self, token_id: &str, ttl: Duration) -> Result<String, AuthError> {
        self.grant(Grant::Login, token_id, ttl)
    }

    /// The principal a login code stands for, once across every handle and
    /// instance: `None` for a code never issued, already redeemed, expired,
    /// or whose token has been revoked since (or when the store cannot be
    /// reached, which is logged).
    pub fn redeem_login(&self, code: &str) -> Option<Principal> {
        let code = code.trim();
        if !is_secret(code, LOGIN_PREFIX) {
            return None;
        }
        self.storage
            .redeem(&sha256(code))
            .inspect_err(|e| tracing::error!(error = %e, "could not redeem a login code"))
            .ok()
            .flatten()
    }

    /// Opens a browser session (`psls_…`, for a cookie) for the token
    /// `token_id`, valid for `ttl`; [`TokenStore::authenticate`] accepts it
    /// like the token itself, through any handle on the store and after a
    /// restart, until it expires, is closed or its token is revoked.
    /// Refuses an unknown or revoked token.
    pub fn open_session(&self, token_id: &str, ttl: Duration) -> Result<String, AuthError> {
        self.grant(Grant::Session, token_id, ttl)
    }

    /// Ends a browser session (logging out), for every instance; unknown
    /// secrets are ignored, and a store that cannot be reached is logged.
    pub fn close_session(&self, secret: &str) {
        let secret = secret.trim();
        if !is_secret(secret, SESSION_PREFIX) {
            return;
        }
        if let Err(e) = self.storage.close(&sha256(secret)) {
            tracing::error!(error = %e, "could not end a browser session");
        }
    }

    /// A new random secret of `grant`'s kind, kept (hashed) for `token_id`
    /// until `ttl` has passed; expired grants of that kind are deleted.
    fn grant(&self, grant: Grant, token_id: &str, ttl: Duration) -> Result<String, AuthError> {
        let secret = format!(
            "{}{}",
            grant.prefix(),
            hex::encode(random::<SECRET_BYTES>()?)
        );
        self.storage
            .grant(grant, &sha256(&secret), token_id, ttl.min(LONGEST))?;
        Ok(secret)
    }
}

/// What a backend keeps in its database and its cache. Secrets never reach
/// it: only their hashes.
trait Storage: Send + Sync {
    /// Inserts `token` under a new id, unless its name is taken
    /// ([`AuthError::NameTaken`]); returns the id.
    fn create(&self, token: &NewToken) -> Result<String, AuthError>;
    /// Every token, oldest first.
    fn list(&self) -> Result<Vec<TokenInfo>, AuthError>;
    /// Marks the token with this id, else this name, revoked at `at`.
    fn revoke(&self, id_or_name: &str, at: DateTime<Utc>) -> Result<TokenInfo, AuthError>;
    /// The principal of the token with this hash.
    fn token(&self, hash: &Hash) -> Result<Principal, AuthError>;
    /// The principal of the session with this hash.
    fn session(&self, hash: &Hash) -> Result<Principal, AuthError>;
    /// Keeps `hash` for `token_id` (known and not revoked) for `ttl`.
    fn grant(
        &self,
        grant: Grant,
        hash: &Hash,
        token_id: &str,
        ttl: Duration,
    ) -> Result<(), AuthError>;
    /// Deletes the login code with this hash, in one statement; its
    /// principal when it was live and its token is not revoked.
    fn redeem(&self, hash: &Hash) -> Result<Option<Principal>, AuthError>;
    /// Deletes the session with this hash, telling every handle.
    fn close(&self, hash: &Hash) -> Result<(), AuthError>;
}

/// A token to insert.
#[derive(Debug, Clone)]
struct NewToken {
    name: String,
    role: Role,
    programme: Option<String>,
    hash: Hash,
    /// Whole seconds, as it is shown and stored.
    created_at: DateTime<Utc>,
}

/// A secret that stands for a token for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    /// A one-time login code, in `login_codes`.
    Login,
    /// A browser session, in `sessions`.
    Session,
}

impl Grant {
    fn prefix(self) -> &'static str {
        match self {
            Grant::Login => LOGIN_PREFIX,
            Grant::Session => SESSION_PREFIX,
        }
    }
}

/// What a handle knows: every token (the table is small, and read on every
/// request) as of a generation of `tokens_meta`, and the sessions it met
/// lately.
#[derive(Default)]
struct Cache {
    /// The generation the tokens reflect; `None` until loaded (or to force a
    /// reload).
    generation: Option<i64>,
    by_hash: HashMap<Hash, Cached>,
    /// Token id → its hash.
    by_id: HashMap<String, Hash>,
    /// Session hash → its token and expiry. Emptied at every new
    /// generation, since a session may have been ended elsewhere.
    sessions: HashMap<Hash, Session>,
}

struct Cached {
    principal: Principal,
    revoked: bool,
}

/// A session as remembered: its token, and when it expires (by this
/// process's monotonic clock, from the time left when it was read).
struct Session {
    token_id: String,
    expires: Instant,
}

impl Cache {
    /// Takes the tokens read as of `generation`, unless the cache already
    /// reflects that generation or a later one (the generation only grows).
    fn install(&mut self, generation: i64, tokens: Vec<(Hash, TokenInfo)>) {
        if self.generation.is_some_and(|g| g >= generation) {
            return;
        }
        self.by_hash = HashMap::with_capacity(tokens.len());
        self.by_id = HashMap::with_capacity(tokens.len());
        for (hash, info) in tokens {
            self.by_id.insert(info.id.clone(), hash);
            self.by_hash.insert(
                hash,
                Cached {
                    principal: info.principal(),
                    revoked: info.revoked_at.is_some(),
                },
            );
        }
        self.sessions.clear();
        self.generation = Some(generation);
    }

    /// The principal of the token with this hash.
    fn token(&self, hash: &Hash) -> Result<Principal, AuthError> {
        match self.by_hash.get(hash) {
            None => Err(AuthError::Invalid),
            Some(c) if c.revoked => Err(AuthError::Revoked),
            Some(c) => Ok(c.principal.clone()),
        }
    }

    /// The principal of the token with this id; `None` if the cache does
    /// not hold it.
    fn token_by_id(&self, id: &str) -> Option<Result<Principal, AuthError>> {
        self.by_id.get(id).map(|hash| self.token(hash))
    }

    /// The token id of a remembered session (an expired one is forgotten
    /// and [`AuthError::Invalid`]); `None` if not remembered.
    fn session(&mut self, hash: &Hash) -> Option<Result<String, AuthError>> {
        let session = self.sessions.get(hash)?;
        if Instant::now() >= session.expires {
            self.sessions.remove(hash);
            return Some(Err(AuthError::Invalid));
        }
        Some(Ok(session.token_id.clone()))
    }

    /// Remembers a session read from the database, or just opened.
    fn remember_session(&mut self, hash: Hash, token_id: String, expires: Instant) {
        if self.sessions.len() >= CACHED_SESSIONS {
            let now = Instant::now();
            self.sessions.retain(|_, s| s.expires > now);
            if self.sessions.len() >= CACHED_SESSIONS {
                self.sessions.clear();
            }
        }
        self.sessions.insert(hash, Session { token_id, expires });
    }

    fn forget_session(&mut self, hash: &Hash) {
        self.sessions.remove(hash);
    }

    /// The principal a session stands for: its token's, once the cache
    /// holds that token. A token gone from the table counts as revoked.
    fn session_principal(&self, token_id: &str) -> Result<Principal, AuthError> {
        self.token_by_id(token_id)
            .unwrap_or(Err(AuthError::Revoked))
    }
}

/// A new token id: `tok_` then 12 random lowercase hex digits.
fn new_token_id() -> Result<String, AuthError> {
    Ok(format!("{ID_PREFIX}{}", hex::encode(random::<ID_BYTES>()?)))
}

/// The parts of a token's row, checked.
fn token_info(
    id: String,
    name: String,
    role: &str,
    programme: Option<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
) -> Result<TokenInfo, AuthError> {
    Ok(TokenInfo {
        role: role
            .parse()
            .map_err(|e| AuthError::Storage(format!("token {id}: {e}")))?,
        id,
        name,
        programme,
        created_at,
        revoked_at,
    })
}

/// A stored hash, checked to be one.
fn stored_hash(id: &str, bytes: Vec<u8>) -> Result<Hash, AuthError> {
    bytes
        .try_into()
        .map_err(|_| AuthError::Storage(format!("token {id} has a bad hash")))
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

/// Whether `s` is spelt as a token id: `tok_` then 12 lowercase hex digits.
pub fn is_token_id(s: &str) -> bool {
    s.strip_prefix(ID_PREFIX).is_some_and(|hex| {
        hex.len() == 2 * ID_BYTES && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Now, in whole seconds: the precision tokens' times are shown and stored
/// with.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
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

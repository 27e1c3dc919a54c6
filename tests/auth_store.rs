//! Authentication state lives in the store's database, so server instances
//! keep none of their own: each case runs on both backends — a SQLite store
//! in a temporary folder, and a PostgreSQL schema of its own
//! ([`ScratchSchema`], on the server of `PASSERELLE_TEST_PG`) — with two or
//! more [`TokenStore`] handles on one location standing for two instances of
//! the server.
//!
//! Waits for something to reach another instance are bounded polls: they
//! end as soon as it has, and fail after the bound.

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use passerelle::auth::{AuthError, Principal, Role, TokenStore};
use passerelle::store::Location;
use passerelle_events::store::postgres::scratch::ScratchSchema;
use sha2::{Digest, Sha256};

/// How soon a change made through one instance must be seen by another.
const PROPAGATION: Duration = Duration::from_secs(1);

/// A store to authenticate against, removed when dropped.
enum Db {
    File(tempfile::TempDir),
    Postgres(Box<ScratchSchema>),
}

impl Db {
    /// A new Passerelle SQLite store in a temporary folder.
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        passerelle_events::SqliteStore::create(dir.path().join("passerelle.db"))
            .expect("create a SQLite store");
        Db::File(dir)
    }

    /// A new, empty PostgreSQL schema: no event store tables in it.
    async fn postgres() -> Self {
        Db::Postgres(Box::new(ScratchSchema::new().await))
    }

    fn location(&self) -> Location {
        match self {
            Db::File(dir) => Location::File(dir.path().join("passerelle.db")),
            Db::Postgres(schema) => Location::Postgres(schema.url()),
        }
    }

    /// Another instance: a handle of its own on the same store.
    fn open(&self) -> TokenStore {
        TokenStore::open(&self.location()).expect("open the token store")
    }

    /// `passerelle token ARGS --db <the store>`, which must succeed.
    fn cli(&self, args: &[&str]) -> String {
        let db = match self.location() {
            Location::File(path) => path.display().to_string(),
            Location::Postgres(url) => url,
        };
        let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
            .arg("token")
            .args(args)
            .args(["--db", &db])
            .env_remove("PASSERELLE_DB")
            .output()
            .expect("run passerelle");
        assert!(
            out.status.success(),
            "passerelle token {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Every row of the authentication tables, each as text (hashes as hex).
    async fn rows(&self) -> Vec<String> {
        match self {
            Db::File(_) => {
                let Location::File(path) = self.location() else {
                    unreachable!()
                };
                let conn = rusqlite::Connection::open(path).expect("open sqlite");
                let mut rows = Vec::new();
                for table in TABLES {
                    let mut stmt = conn
                        .prepare(&format!("SELECT * FROM {table}"))
                        .expect("select");
                    let columns = stmt.column_count();
                    let mut found = stmt.query([]).expect("query");
                    while let Some(row) = found.next().expect("row") {
                        let cells: Vec<String> = (0..columns)
                            .map(|i| match row.get_ref(i).expect("cell") {
                                rusqlite::types::ValueRef::Text(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                                rusqlite::types::ValueRef::Blob(b) => hex::encode(b),
                                other => format!("{other:?}"),
                            })
                            .collect();
                        rows.push(format!("{table}: {}", cells.join(" | ")));
                    }
                }
                rows
            }
            Db::Postgres(schema) => {
                let client = pg_client(&schema.url()).await;
                let mut rows = Vec::new();
                for table in TABLES {
                    for row in client
                        .query(&format!("SELECT t::text FROM {table} t"), &[])
                        .await
                        .expect("select")
                    {
                        rows.push(format!("{table}: {}", row.get::<_, String>(0)));
                    }
                }
                rows
            }
        }
    }

    /// How many rows of `table` have the hash of `secret`.
    async fn count(&self, table: &str, secret: &str) -> i64 {
        let hash = Sha256::digest(secret.as_bytes()).to_vec();
        match self {
            Db::File(_) => {
                let Location::File(path) = self.location() else {
                    unreachable!()
                };
                rusqlite::Connection::open(path)
                    .expect("open sqlite")
                    .query_row(
                        &format!("SELECT count(*) FROM {table} WHERE hash = ?1"),
                        [&hash],
                        |r| r.get(0),
                    )
                    .expect("count")
            }
            Db::Postgres(schema) => pg_client(&schema.url())
                .await
                .query_one(
                    &format!("SELECT count(*) FROM {table} WHERE hash = $1"),
                    &[&hash],
                )
                .await
                .expect("count")
                .get(0),
        }
    }
}

/// The tables of `passerelle::auth`, on both backends.
const TABLES: [&str; 4] = ["tokens", "tokens_meta", "login_codes", "sessions"];

/// Polls `done` until it holds or `bound` has passed; whether it held.
async fn within(bound: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if done() {
            return true;
        }
        if start.elapsed() > bound {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs each case on SQLite and on PostgreSQL, as two tests.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$case(super::Db::sqlite().await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$case(super::Db::postgres().await).await
            }
        }
    )*};
}

on_both_backends!(
    a_session_is_accepted_by_another_instance_and_after_a_restart,
    a_login_code_is_redeemed_once_whichever_instance_redeems_it,
    concurrent_redemptions_of_one_code_give_exactly_one_session,
    revoking_a_token_refuses_it_and_its_sessions_everywhere_within_a_second,
    ending_a_session_ends_it_everywhere_within_a_second,
    expired_sessions_and_codes_are_refused_and_deleted,
    the_database_holds_no_secret_in_clear,
    two_instances_starting_at_once_both_open,
);

async fn a_session_is_accepted_by_another_instance_and_after_a_restart(db: Db) {
    let first = db.open();
    let (info, token) = first
        .create("lead", Role::Coordinator, Some("sjdlr"))
        .expect("create");
    let session = first
        .open_session(&info.id, Duration::from_secs(3600))
        .expect("open a session");
    let lead = first.authenticate(&session).expect("its own session");

    let second = db.open();
    assert_eq!(second.authenticate(&session).expect("session"), lead);
    assert_eq!(second.authenticate(&token).expect("token"), lead);

    // A restart: the instance that opened the session is gone.
    drop(first);
    assert_eq!(second.authenticate(&session).expect("session"), lead);
    let restarted = db.open();
    assert_eq!(restarted.authenticate(&session).expect("session"), lead);
    assert_eq!(restarted.authenticate(&token).expect("token"), lead);
    assert_eq!(
        (lead.role, lead.programme.as_deref()),
        (Role::Coordinator, Some("sjdlr"))
    );
}

async fn a_login_code_is_redeemed_once_whichever_instance_redeems_it(db: Db) {
    let a = db.open();
    let b = db.open();
    let (info, _) = a.create("browser", Role::Viewer, None).expect("create");

    let code = a
        .issue_login(&info.id, Duration::from_secs(60))
        .expect("issue");
    let p = b.redeem_login(&code).expect("another instance redeems it");
    assert_eq!((p.id.as_str(), p.role), (info.id.as_str(), Role::Viewer));
    assert_eq!(a.redeem_login(&code), None, "the issuer: already used");
    assert_eq!(b.redeem_login(&code), None, "the redeemer: already used");

    // A code survives the restart of the instance that issued it.
    let code = a
        .issue_login(&info.id, Duration::from_secs(60))
        .expect("issue");
    drop(a);
    let restarted = db.open();
    assert_eq!(restarted.redeem_login(&code).expect("redeemed").id, info.id);
    assert_eq!(b.redeem_login(&code), None);
}

async fn concurrent_redemptions_of_one_code_give_exactly_one_session(db: Db) {
    let a = db.open();
    let b = db.open();
    let (info, _) = a.create("racer", Role::Mentor, None).expect("create");
    for round in 0..20 {
        let code = a
            .issue_login(&info.id, Duration::from_secs(60))
            .expect("issue");
        let start = Barrier::new(2);
        let winners: Vec<Principal> = std::thread::scope(|s| {
            let racers = [&a, &b].map(|instance| {
                let (start, code) = (&start, &code);
                s.spawn(move || {
                    start.wait();
                    instance.redeem_login(code)
                })
            });
            racers
                .into_iter()
                .filter_map(|r| r.join().expect("racer"))
                .collect()
        });
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        assert_eq!(winners[0].id, info.id);
    }
}

async fn revoking_a_token_refuses_it_and_its_sessions_everywhere_within_a_second(db: Db) {
    let a = db.open();
    let b = db.open();

    // Through an instance.
    let (info, token) = a.create("alice", Role::Coordinator, None).expect("create");
    let session = a
        .open_session(&info.id, Duration::from_secs(3600))
        .expect("session");
    let code = a
        .issue_login(&info.id, Duration::from_secs(60))
        .expect("code");
    assert!(
        within(PROPAGATION, || b.authenticate(&token).is_ok()).await,
        "the other instance learns of a new token within {PROPAGATION:?}"
    );
    assert_eq!(b.authenticate(&session).expect("session").id, info.id);

    a.revoke(&info.id).expect("revoke");
    let revoked = |r: Result<Principal, AuthError>| matches!(r, Err(AuthError::Revoked));
    assert!(revoked(a.authenticate(&token)), "at once where revoked");
    assert!(revoked(a.authenticate(&session)), "at once where revoked");
    assert!(
        within(PROPAGATION, || revoked(b.authenticate(&token))
            && revoked(b.authenticate(&session)))
        .await,
        "the other instance still accepts the token or its session {PROPAGATION:?} after \
         the revocation: {:?} / {:?}",
        b.authenticate(&token),
        b.authenticate(&session)
    );
    assert_eq!(b.redeem_login(&code), None, "a code of a revoked token");
    assert!(matches!(
        b.open_session(&info.id, Duration::from_secs(60)),
        Err(AuthError::Revoked)
    ));

    // Through `passerelle token revoke`, while both instances run.
    let (info, token) = a.create("bob", Role::Viewer, None).expect("create");
    let session = b
        .open_session(&info.id, Duration::from_secs(3600))
        .expect("session");
    assert!(within(PROPAGATION, || a.authenticate(&session).is_ok()).await);
    assert!(within(PROPAGATION, || b.authenticate(&token).is_ok()).await);
    let out = db.cli(&["revoke", "bob"]);
    assert!(out.contains("revoked token"), "{out}");
    for (which, instance) in [("a", &a), ("b", &b)] {
        assert!(
            within(PROPAGATION, || revoked(instance.authenticate(&token))
                && revoked(instance.authenticate(&session)))
            .await,
            "instance {which} still accepts bob {PROPAGATION:?} after `token revoke`"
        );
    }
    assert!(db.cli(&["list"]).contains("bob"));
}

async fn ending_a_session_ends_it_everywhere_within_a_second(db: Db) {
    let a = db.open();
    let b = db.open();
    let (info, _) = a.create("carol", Role::Mentor, None).expect("create");
    let session = a
        .open_session(&info.id, Duration::from_secs(3600))
        .expect("session");
    // Both instances have met it, so both remember it.
    assert!(within(PROPAGATION, || b.authenticate(&session).is_ok()).await);
    assert!(a.authenticate(&session).is_ok());

    b.close_session(&session);
    let ended = |r: Result<Principal, AuthError>| matches!(r, Err(AuthError::Invalid));
    assert!(ended(b.authenticate(&session)), "at once where ended");
    assert!(
        within(PROPAGATION, || ended(a.authenticate(&session))).await,
        "the other instance still accepts an ended session after {PROPAGATION:?}"
    );
    assert_eq!(db.count("sessions", &session).await, 0);
    // The token itself is untouched.
    let other = a
        .open_session(&info.id, Duration::from_secs(3600))
        .expect("a new session");
    assert!(within(PROPAGATION, || b.authenticate(&other).is_ok()).await);
}

async fn expired_sessions_and_codes_are_refused_and_deleted(db: Db) {
    let a = db.open();
    let b = db.open();
    let (info, _) = a.create("dave", Role::Viewer, None).expect("create");
    let invalid = |r: Result<Principal, AuthError>| matches!(r, Err(AuthError::Invalid));

    let expired = a.open_session(&info.id, Duration::ZERO).expect("session");
    assert!(invalid(a.authenticate(&expired)));
    assert!(invalid(b.authenticate(&expired)));
    assert_eq!(
        db.count("sessions", &expired).await,
        0,
        "an expired session found is deleted"
    );

    let code = a.issue_login(&info.id, Duration::ZERO).expect("code");
    assert_eq!(b.redeem_login(&code), None);
    assert_eq!(db.count("login_codes", &code).await, 0);

    // Issuing deletes what has expired.
    let stale = a.issue_login(&info.id, Duration::ZERO).expect("code");
    assert_eq!(db.count("login_codes", &stale).await, 1);
    a.issue_login(&info.id, Duration::from_secs(60))
        .expect("code");
    assert_eq!(db.count("login_codes", &stale).await, 0);

    // A live session, then expired: refused where it is remembered (a) and
    // where it is looked up (b).
    let ttl = Duration::from_secs(2);
    let short = a.open_session(&info.id, ttl).expect("session");
    assert!(a.authenticate(&short).is_ok());
    assert!(b.authenticate(&short).is_ok());
    assert!(
        within(ttl + Duration::from_secs(5), || invalid(
            a.authenticate(&short)
        ) && invalid(
            b.authenticate(&short)
        ))
        .await,
        "a session is refused once expired"
    );
    let fresh = db.open();
    assert!(invalid(fresh.authenticate(&short)));
}

async fn the_database_holds_no_secret_in_clear(db: Db) {
    let a = db.open();
    let (info, token) = a.create("erin", Role::Admin, None).expect("create");
    let code = a
        .issue_login(&info.id, Duration::from_secs(60))
        .expect("code");
    let session = a
        .open_session(&info.id, Duration::from_secs(60))
        .expect("session");
    let rows = db.rows().await;
    assert!(rows.iter().any(|r| r.starts_with("tokens: ")), "{rows:?}");
    for secret in [&token, &code, &session] {
        let body = secret.split_once('_').expect("prefix").1;
        for row in &rows {
            assert!(!row.contains(body), "a secret in clear: {row}");
        }
    }
    // What is kept is the hash.
    assert_eq!(db.count("tokens", &token).await, 1);
    assert_eq!(db.count("login_codes", &code).await, 1);
    assert_eq!(db.count("sessions", &session).await, 1);

    if let Db::File(dir) = &db {
        for file in ["passerelle.db", "passerelle.db-wal"] {
            let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
            for secret in [&token, &code, &session] {
                let body = secret.split_once('_').expect("prefix").1;
                assert!(
                    !bytes.windows(body.len()).any(|w| w == body.as_bytes()),
                    "a secret in {file}"
                );
            }
        }
    }
}

async fn two_instances_starting_at_once_both_open(db: Db) {
    let location = db.location();
    let start = Arc::new(Barrier::new(3));
    let instances: Vec<TokenStore> = std::thread::scope(|s| {
        let starting: Vec<_> = (0..3)
            .map(|_| {
                let (start, location) = (start.clone(), &location);
                s.spawn(move || {
                    start.wait();
                    TokenStore::open(location)
                })
            })
            .collect();
        starting
            .into_iter()
            .map(|h| h.join().expect("thread").expect("open"))
            .collect()
    });
    let (info, token) = instances[0]
        .create("frank", Role::Viewer, None)
        .expect("create");
    for instance in &instances {
        assert!(within(PROPAGATION, || instance.authenticate(&token).is_ok()).await);
    }
    assert!(matches!(
        instances[1].create("FRANK", Role::Viewer, None),
        Err(AuthError::NameTaken(_))
    ));
    assert_eq!(instances[2].list().expect("list").len(), 1);
    assert_eq!(instances[2].list().expect("list")[0].id, info.id);
}

/// On a current-thread runtime (the default of `#[tokio::test]`) the
/// PostgreSQL handle waits on the runtime's one thread instead of handing
/// it over: it must work there too.
#[tokio::test]
async fn postgres_works_on_a_current_thread_runtime() {
    let db = Db::postgres().await;
    let a = db.open();
    let b = db.open();
    let (info, _) = a.create("grace", Role::Mentor, None).expect("create");
    let session = a
        .open_session(&info.id, Duration::from_secs(60))
        .expect("session");
    assert_eq!(b.authenticate(&session).expect("looked up").id, info.id);
    b.close_session(&session);
    assert!(matches!(b.authenticate(&session), Err(AuthError::Invalid)));
}

/// A notification is lost with the listener's connection: the generation
/// is polled too. A revocation made by hand, counting up the generation but
/// notifying no one, is seen within a second all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sees_a_change_whose_notification_was_lost() {
    let db = Db::postgres().await;
    let a = db.open();
    let (info, token) = a.create("heidi", Role::Viewer, None).expect("create");
    let session = a
        .open_session(&info.id, Duration::from_secs(60))
        .expect("session");
    assert!(a.authenticate(&session).is_ok());
    let Db::Postgres(schema) = &db else {
        unreachable!()
    };
    pg_client(&schema.url())
        .await
        .batch_execute(&format!(
            "BEGIN; \
             UPDATE tokens SET revoked_at = now() WHERE id = '{}'; \
             UPDATE tokens_meta SET generation = generation + 1; \
             COMMIT;",
            info.id
        ))
        .await
        .expect("revoke by hand");
    let revoked = |r: Result<Principal, AuthError>| matches!(r, Err(AuthError::Revoked));
    assert!(
        within(PROPAGATION, || revoked(a.authenticate(&token))
            && revoked(a.authenticate(&session)))
        .await,
        "a change without a notification is not seen within {PROPAGATION:?}"
    );
}

/// A connection to the PostgreSQL database at `url`, for a test to look
/// into the tables.
async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the scratch schema");
    tokio::spawn(connection);
    client
}

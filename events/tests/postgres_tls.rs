//! TLS to PostgreSQL as libpq's `sslmode` and `sslrootcert` mean it
//! (`passerelle_events::store::tls`), through the PostgreSQL store: each
//! case runs in a schema of its own ([`ScratchSchema`], on the server of
//! `PASSERELLE_TEST_PG`) behind a proxy of the test's own
//! (`support/pg_proxy.rs`) that speaks TLS with a certificate made at run
//! time, or refuses TLS, so that nothing depends on the real server's `ssl`
//! setting.

#[path = "support/pg_proxy.rs"]
mod pg_proxy;

use passerelle_events::store::postgres::scratch::ScratchSchema;
use passerelle_events::store::{AppendRequest, EventRecord, Pending};
use passerelle_events::{EventLog, PostgresStore, StoreError};
use uuid::Uuid;

use pg_proxy::{password_of, Answer, Authority, Proxy};

/// A case's world: a schema, an authority with a server certificate for
/// `localhost` behind a TLS proxy, another authority, and their
/// certificates in files.
struct World {
    schema: ScratchSchema,
    proxy: Proxy,
    password: String,
    ca: String,
    other_ca: String,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> Self {
        let schema = ScratchSchema::new().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let authority = Authority::new("Passerelle test CA");
        let ca = authority.write(dir.path(), "ca.pem");
        let other_ca = Authority::new("Another CA").write(dir.path(), "other-ca.pem");
        let proxy = Proxy::start(&schema, Answer::Tls(authority.server(&["localhost"])));
        Self {
            password: password_of(&schema),
            schema,
            proxy,
            ca: ca.display().to_string(),
            other_ca: other_ca.display().to_string(),
            _dir: dir,
        }
    }

    /// The store's URL through the proxy, reached as `host`.
    fn url(&self, host: &str, params: &[(&str, &str)]) -> String {
        self.proxy.url(&self.schema, host, &self.password, params)
    }

    /// The error of creating a store at `url`, checked to name the URL
    /// without its password.
    async fn refused(&self, url: &str) -> String {
        refused(url, &self.password).await
    }
}

/// The error of creating a store at `url`: a backend error that starts with
/// the URL, its password hidden, and holds the password nowhere.
async fn refused(url: &str, password: &str) -> String {
    let message = match PostgresStore::create(url).await {
        Ok(_) => panic!("a store was created at {url}"),
        Err(StoreError::Backend(message)) => message,
        Err(e) => panic!("not a backend error: {e:?}"),
    };
    assert!(message.starts_with("postgres://"), "{message}");
    assert!(message.contains(":***@"), "{message}");
    assert!(!message.contains(password), "{message}");
    message
}

/// Appends one event to `store` and reads it back.
async fn append_and_read(store: &PostgresStore) {
    let id = Uuid::new_v4();
    let record = EventRecord {
        id,
        event_type: "MilestoneMarked".into(),
        programme: "t".into(),
        occurred_at: "2022-02-07T00:00:00Z".into(),
        data: r#"{"over":"tls"}"#.into(),
        recorded_by: "test".into(),
        recorded_at: None,
    };
    let appended = store
        .append(AppendRequest {
            events: vec![Pending {
                stream: "milestone-1".into(),
                expected: None,
                record,
            }],
            log_head: None,
            head_id: None,
            make_keys: None,
            erase: Vec::new(),
        })
        .await
        .expect("append");
    assert_eq!(appended.len(), 1);
    let read = store.read(0, 10).await.expect("read");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].record.id, id);
    assert_eq!(read[0].record.data, r#"{"over":"tls"}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_full_with_the_servers_authority_connects_over_tls() {
    let w = World::new().await;
    let url = w.url(
        "localhost",
        &[("sslmode", "verify-full"), ("sslrootcert", &w.ca)],
    );
    let store = PostgresStore::create(&url).await.expect("create the store");
    append_and_read(&store).await;
    store.close().await;
    // The writer's and a reader's connections at least; none in plain.
    assert!(w.proxy.handshakes() >= 2, "{}", w.proxy.handshakes());
    assert_eq!(w.proxy.plain(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_another_authority_signed_is_not_trusted() {
    let w = World::new().await;
    for mode in ["verify-full", "verify-ca", "require", "prefer"] {
        let url = w.url(
            "localhost",
            &[("sslmode", mode), ("sslrootcert", &w.other_ca)],
        );
        let message = w.refused(&url).await;
        assert!(message.contains("not trusted"), "{mode}: {message}");
    }
    assert!(w.proxy.asked() >= 4);
    assert_eq!(w.proxy.handshakes(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_full_checks_the_host_and_verify_ca_does_not() {
    let w = World::new().await;
    let url = w.url(
        "127.0.0.1",
        &[("sslmode", "verify-full"), ("sslrootcert", &w.ca)],
    );
    let message = w.refused(&url).await;
    assert!(
        message.contains("does not name the URL's host"),
        "{message}"
    );
    assert_eq!(w.proxy.handshakes(), 0);

    let url = w.url(
        "127.0.0.1",
        &[("sslmode", "verify-ca"), ("sslrootcert", &w.ca)],
    );
    let store = PostgresStore::create(&url).await.expect("create the store");
    append_and_read(&store).await;
    store.close().await;
    assert!(w.proxy.handshakes() >= 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn require_and_prefer_take_any_certificate_and_disable_asks_for_none() {
    let w = World::new().await;
    for mode in ["require", "prefer"] {
        let before = w.proxy.handshakes();
        let store = PostgresStore::create(&w.url("127.0.0.1", &[("sslmode", mode)]))
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        store.head().await.expect("head");
        store.close().await;
        assert!(w.proxy.handshakes() > before, "{mode}");
    }
    assert_eq!(w.proxy.plain(), 0);

    let store = PostgresStore::create(&w.url("localhost", &[("sslmode", "disable")]))
        .await
        .expect("create the store");
    append_and_read(&store).await;
    store.close().await;
    assert!(w.proxy.plain() >= 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn require_refuses_a_server_without_tls_and_prefer_goes_plain() {
    let schema = ScratchSchema::new().await;
    let password = password_of(&schema);
    let proxy = Proxy::start(&schema, Answer::Refuse);

    let url = proxy.url(&schema, "localhost", &password, &[("sslmode", "require")]);
    let message = refused(&url, &password).await;
    assert!(message.contains("server does not support TLS"), "{message}");

    let url = proxy.url(
        &schema,
        "localhost",
        &password,
        &[("sslmode", "verify-full")],
    );
    let message = refused(&url, &password).await;
    assert!(message.contains("server does not support TLS"), "{message}");

    let url = proxy.url(&schema, "localhost", &password, &[]);
    let store = PostgresStore::create(&url)
        .await
        .expect("prefer, the default");
    append_and_read(&store).await;
    store.close().await;
    assert!(proxy.asked() >= 3);
    assert!(proxy.plain() >= 2);
    assert_eq!(proxy.handshakes(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_modes_and_unreadable_root_certificates_are_named() {
    let w = World::new().await;
    let message = w
        .refused(&w.url("localhost", &[("sslmode", "nonsense")]))
        .await;
    assert!(
        message.contains(
            "sslmode=\"nonsense\" is not one of disable, prefer, require, verify-ca, verify-full"
        ),
        "{message}"
    );

    let message = w
        .refused(&w.url(
            "localhost",
            &[("sslmode", "verify-full"), ("sslrootcert", "/nonexistent")],
        ))
        .await;
    assert!(
        message.contains("sslrootcert=/nonexistent: cannot read it"),
        "{message}"
    );

    let empty = w._dir.path().join("empty.pem");
    std::fs::write(&empty, "").expect("an empty file");
    let empty = empty.display().to_string();
    let message = w
        .refused(&w.url(
            "localhost",
            &[("sslmode", "verify-ca"), ("sslrootcert", &empty)],
        ))
        .await;
    assert!(
        message.contains(&format!("sslrootcert={empty}: holds no PEM certificate")),
        "{message}"
    );
    // Refused before any connection was tried.
    assert_eq!(w.proxy.asked() + w.proxy.plain(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_value_form_takes_the_same_options() {
    let w = World::new().await;
    let url = format!(
        "host=localhost hostaddr=127.0.0.1 port={} sslmode=verify-full sslrootcert='{}' {}",
        w.proxy.port(),
        w.ca.replace('\\', "\\\\").replace('\'', "\\'"),
        key_values_of(&w.schema)
    );
    let store = PostgresStore::create(&url).await.expect("create the store");
    append_and_read(&store).await;
    store.close().await;
    assert!(w.proxy.handshakes() >= 2);
}

/// The user, password, database and search path of the test server's URL,
/// as `key='value'` pairs.
fn key_values_of(schema: &ScratchSchema) -> String {
    let (config, _) =
        passerelle_events::store::tls::read_url(schema.base_url()).expect("the test URL");
    let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
    let user = config.get_user().unwrap_or("postgres");
    format!(
        "user={} password={} dbname={} options={}",
        quote(user),
        quote(&password_of(schema)),
        quote(config.get_dbname().unwrap_or(user)),
        quote(&format!("-c search_path={}", schema.name())),
    )
}

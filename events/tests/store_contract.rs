//! The store contract: the rules every event store keeps, written once as
//! generic tests and run unchanged against each store by [`contract!`].
//!
//! Adding a store is one line at the bottom of the generic section:
//! `contract!(name, factory)`, where `factory` returns a [`Fixture`].
//! Tests that only make sense for one backend (its file format, its
//! triggers) live in that backend's own section below, not in the contract.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use eventually::store::{AppendError as _, Expected, Persisted, Select};
use eventually::{EventStore, EventSubscriber, Versioned as _};
use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _, TryStreamExt as _};
use passerelle_events::store::postgres::scratch::ScratchSchema;
use passerelle_events::store::{
    chain_hash, AppendRequest, Appended, EventRecord, KeyOp, KeyOpDone, KeyringRecord, KeysSince,
    KeysToMake, NewKey, Pending, RawEvent,
};
use passerelle_events::{EventLog, MemoryStore, PostgresStore, SqliteStore, StoreError};
use tokio::time::timeout;
use uuid::Uuid;

/// A failure bound for anything that waits: never a wait for success.
const BOUND: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// Fixtures and helpers
// ---------------------------------------------------------------------------

/// A store under test and what the generic tests may ask of its backend.
struct Fixture<S> {
    store: S,
    /// Opens the same log again, as a restarted process would; `None` for a
    /// store that keeps nothing.
    reopen: Option<Box<dyn Fn() -> BoxFuture<'static, S> + Send + Sync>>,
    /// Whether an event id can be read through a connection of its own,
    /// opened independently of the store; `None` for a store without one.
    visible_elsewhere: Option<Arc<dyn Fn(Uuid) -> BoxFuture<'static, bool> + Send + Sync>>,
    /// Keeps temporary files alive until the test ends.
    _guard: Option<Box<dyn Any + Send>>,
}

impl<S> Fixture<S> {
    /// A store with no backend beyond the process.
    fn ephemeral(store: S) -> Self {
        Self {
            store,
            reopen: None,
            visible_elsewhere: None,
            _guard: None,
        }
    }
}

async fn sqlite_fixture() -> Fixture<SqliteStore> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.db");
    let store = SqliteStore::create(&path).expect("create store");
    let reopen_path = path.clone();
    Fixture {
        store,
        reopen: Some(Box::new(move || {
            let path = reopen_path.clone();
            async move { SqliteStore::open(&path).expect("reopen store") }.boxed()
        })),
        visible_elsewhere: Some(Arc::new(move |id| {
            let path = path.clone();
            async move {
                tokio::task::spawn_blocking(move || count_id_in_file(&path, id) == 1)
                    .await
                    .expect("probe task")
            }
            .boxed()
        })),
        _guard: Some(Box::new(dir)),
    }
}

/// Counts rows with `id` through a fresh connection of its own.
fn count_id_in_file(path: &Path, id: Uuid) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("independent connection");
    conn.query_row(
        "SELECT count(*) FROM events WHERE id = ?1",
        [id.to_string()],
        |r| r.get(0),
    )
    .expect("count")
}

async fn postgres_fixture() -> Fixture<PostgresStore> {
    let schema = ScratchSchema::new().await;
    let url = schema.url();
    let store = PostgresStore::create(&url).await.expect("create store");
    let reopen_url = url.clone();
    Fixture {
        store,
        reopen: Some(Box::new(move || {
            let url = reopen_url.clone();
            async move { PostgresStore::open(&url).await.expect("reopen store") }.boxed()
        })),
        visible_elsewhere: Some(Arc::new(move |id| {
            let url = url.clone();
            async move { count_id_in_schema(&url, id).await == 1 }.boxed()
        })),
        _guard: Some(Box::new(schema)),
    }
}

/// A connection of the test's own, independent of any store (with TLS as
/// the URL asks, as the store's are).
async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let (config, tls) = passerelle_events::store::tls::read_url(url).expect("the test URL");
    let (client, connection) = config.connect(tls).await.expect("independent connection");
    tokio::spawn(connection);
    client
}

/// Counts rows with `id` through a fresh connection of its own.
async fn count_id_in_schema(url: &str, id: Uuid) -> i64 {
    pg_connect(url)
        .await
        .query_one("SELECT count(*) FROM events WHERE id = $1", &[&id])
        .await
        .expect("count")
        .get(0)
}

/// A record with a fresh id and `data`.
fn record(data: &str) -> EventRecord {
    EventRecord {
        id: Uuid::new_v4(),
        event_type: "MilestoneMarked".into(),
        programme: "t".into(),
        occurred_at: "2022-02-07T00:00:00Z".into(),
        data: data.into(),
        recorded_by: "test".into(),
        recorded_at: None,
    }
}

fn numbered(n: usize) -> EventRecord {
    record(&format!(r#"{{"n":{n}}}"#))
}

fn pending(stream: &str, expected: Option<u64>, record: EventRecord) -> Pending {
    Pending {
        stream: stream.into(),
        expected,
        record,
    }
}

fn batch(events: Vec<Pending>) -> AppendRequest {
    AppendRequest {
        events,
        log_head: None,
        head_id: None,
        make_keys: None,
        erase: Vec::new(),
    }
}

async fn append<S: EventLog>(store: &S, events: Vec<Pending>) -> Result<Vec<Appended>, StoreError> {
    EventLog::append(store, batch(events)).await
}

async fn append_one<S: EventLog>(store: &S, stream: &str, record: EventRecord) -> Appended {
    let mut out = append(store, vec![pending(stream, None, record)])
        .await
        .expect("append");
    assert_eq!(out.len(), 1);
    out.remove(0)
}

async fn all<S: EventLog>(store: &S) -> Vec<RawEvent> {
    store.read(0, usize::MAX).await.expect("read")
}

fn positions(events: &[RawEvent]) -> Vec<u64> {
    events.iter().map(|e| e.position).collect()
}

fn ids(events: &[RawEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.record.id).collect()
}

/// The log is positions 1..=n, each event chained to the one before.
fn assert_chained(stored: &[RawEvent]) {
    assert_eq!(
        positions(stored),
        (1..=stored.len() as u64).collect::<Vec<_>>()
    );
    let mut previous = [0u8; 32];
    for e in stored {
        assert_eq!(e.hash, chain_hash(&previous, e), "position {}", e.position);
        previous = e.hash;
    }
}

/// The record as stored: the same, with `recorded_at` set.
fn assert_stored_as(stored: &EventRecord, sent: &EventRecord) {
    assert!(stored.same_content(sent), "{stored:?} != {sent:?}");
    assert_eq!(stored.recorded_by, sent.recorded_by);
    assert!(stored.recorded_at.is_some(), "recorded_at is not set");
}

// ---------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------

async fn positions_and_versions_are_gap_free<S: EventLog>(fx: Fixture<S>) {
    let s = fx.store;
    assert_eq!(s.head().await.unwrap(), 0);
    assert_eq!(s.stream_version("a").await.unwrap(), 0);
    assert!(s.read(0, 10).await.unwrap().is_empty());

    let sent: Vec<EventRecord> = (0..8).map(numbered).collect();
    let first = append(
        &s,
        vec![
            pending("a", None, sent[0].clone()),
            pending("b", None, sent[1].clone()),
            pending("a", Some(1), sent[2].clone()),
        ],
    )
    .await
    .unwrap();
    let second = append(
        &s,
        vec![
            pending("b", Some(1), sent[3].clone()),
            pending("c", Some(0), sent[4].clone()),
        ],
    )
    .await
    .unwrap();
    let mut answered: Vec<Appended> = first.into_iter().chain(second).collect();
    for r in &sent[5..] {
        answered.push(append_one(&s, "a", r.clone()).await);
    }
    let got: Vec<(u64, &str, u64)> = answered
        .iter()
        .map(|a| (a.event.position, a.event.stream.as_str(), a.event.version))
        .collect();
    assert_eq!(
        got,
        [
            (1, "a", 1),
            (2, "b", 1),
            (3, "a", 2),
            (4, "b", 2),
            (5, "c", 1),
            (6, "a", 3),
            (7, "a", 4),
            (8, "a", 5)
        ]
    );
    assert!(answered.iter().all(|a| a.created));
    assert_eq!(s.head().await.unwrap(), 8);

    // What was answered is what is read back, field for field.
    let stored = all(&s).await;
    assert_eq!(
        stored,
        answered.iter().map(|a| a.event.clone()).collect::<Vec<_>>()
    );
    for (e, r) in stored.iter().zip(&sent) {
        assert_stored_as(&e.record, r);
    }

    // Paging by position.
    assert_eq!(positions(&s.read(0, 3).await.unwrap()), [1, 2, 3]);
    assert_eq!(positions(&s.read(3, 3).await.unwrap()), [4, 5, 6]);
    assert_eq!(positions(&s.read(6, 3).await.unwrap()), [7, 8]);
    assert!(s.read(8, 3).await.unwrap().is_empty());
    assert!(s.read(0, 0).await.unwrap().is_empty());

    // One stream, by version.
    let a = s.read_stream("a", 0, 100).await.unwrap();
    assert_eq!(positions(&a), [1, 3, 6, 7, 8]);
    assert_eq!(
        a.iter().map(|e| e.version).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let a = s.read_stream("a", 3, 2).await.unwrap();
    assert_eq!(a.iter().map(|e| e.version).collect::<Vec<_>>(), [3, 4]);
    assert!(s.read_stream("a", 6, 10).await.unwrap().is_empty());
    assert!(s.read_stream("nope", 0, 10).await.unwrap().is_empty());

    for (stream, version) in [("a", 5), ("b", 2), ("c", 1), ("nope", 0)] {
        assert_eq!(s.stream_version(stream).await.unwrap(), version, "{stream}");
    }
}

async fn batch_across_streams_is_atomic<S: EventLog>(fx: Fixture<S>) {
    let s = fx.store;
    append_one(&s, "a", numbered(0)).await;
    append_one(&s, "b", numbered(1)).await;

    let refused = vec![
        pending("a", Some(1), numbered(2)),
        pending("b", None, numbered(3)),
        pending("c", Some(3), numbered(4)),
    ];
    let refused_ids: Vec<Uuid> = refused.iter().map(|p| p.record.id).collect();
    let err = append(&s, refused.clone()).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::Conflict {
            stream: "c".into(),
            expected: 3,
            actual: 0
        }
    );
    assert_eq!(s.head().await.unwrap(), 2);
    for (stream, version) in [("a", 1), ("b", 1), ("c", 0)] {
        assert_eq!(s.stream_version(stream).await.unwrap(), version, "{stream}");
    }
    let stored = all(&s).await;
    assert_eq!(stored.len(), 2);
    assert!(refused_ids.iter().all(|id| !ids(&stored).contains(id)));

    // Nothing of the refused batch lingers: the same events, fixed, go in whole.
    let mut fixed = refused;
    fixed[2].expected = Some(0);
    let out = append(&s, fixed).await.unwrap();
    assert_eq!(
        out.iter().map(|a| a.event.position).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    assert!(out.iter().all(|a| a.created));
}

async fn exact_version_mismatch_is_a_conflict<S>(fx: Fixture<S>)
where
    S: EventLog + EventStore<SourceId = String, Event = EventRecord, Error = StoreError>,
{
    let mut s = fx.store;
    let v = EventStore::append(
        &mut s,
        "a".into(),
        Expected::Exact(0),
        vec![numbered(0), numbered(1)],
    )
    .await
    .unwrap();
    assert_eq!(v, 2);

    let err = EventStore::append(&mut s, "a".into(), Expected::Exact(1), vec![numbered(2)])
        .await
        .unwrap_err();
    assert!(err.is_conflict_error(), "{err:?}");
    assert_eq!(
        err,
        StoreError::Conflict {
            stream: "a".into(),
            expected: 1,
            actual: 2
        }
    );
    assert_eq!(s.head().await.unwrap(), 2);

    let v = EventStore::append(&mut s, "a".into(), Expected::Any, vec![numbered(3)])
        .await
        .unwrap();
    assert_eq!(v, 3);
    let v = EventStore::append(&mut s, "a".into(), Expected::Exact(3), vec![numbered(4)])
        .await
        .unwrap();
    assert_eq!(v, 4);

    // No events: only the expectation is checked.
    let err = EventStore::append(&mut s, "a".into(), Expected::Exact(2), vec![])
        .await
        .unwrap_err();
    assert!(err.is_conflict_error());
    let v = EventStore::append(&mut s, "a".into(), Expected::Exact(4), vec![])
        .await
        .unwrap();
    assert_eq!(v, 4);

    // Other refusals are not conflicts.
    let reused = s.read(0, 1).await.unwrap().remove(0).record;
    let mut changed = reused.clone();
    changed.data = r#"{"n":"other"}"#.into();
    let err = EventStore::append(&mut s, "a".into(), Expected::Any, vec![changed])
        .await
        .unwrap_err();
    assert!(!err.is_conflict_error(), "{err:?}");
    assert_eq!(s.head().await.unwrap(), 4);
}

async fn stream_and_stream_all_select_slices<S>(fx: Fixture<S>)
where
    S: EventLog + EventStore<SourceId = String, Event = EventRecord, Error = StoreError>,
{
    let s = fx.store;
    let sent: Vec<EventRecord> = (0..5).map(numbered).collect();
    for (r, stream) in sent.iter().zip(["a", "b", "a", "a", "b"]) {
        append_one(&s, stream, r.clone()).await;
    }
    // (source id, version, sequence number, id)
    type Row = (String, u32, u32, Uuid);
    async fn rows(
        stream: futures::stream::BoxStream<'_, Result<Persisted<String, EventRecord>, StoreError>>,
    ) -> Vec<Row> {
        stream
            .map_ok(|p| {
                (
                    p.source_id().clone(),
                    p.version(),
                    p.sequence_number(),
                    p.id,
                )
            })
            .try_collect()
            .await
            .unwrap()
    }
    let row = |stream: &str, version, position: u32| -> Row {
        (
            stream.into(),
            version,
            position,
            sent[position as usize - 1].id,
        )
    };

    let a = rows(
        EventStore::stream(&s, "a".into(), Select::All)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a, [row("a", 1, 1), row("a", 2, 3), row("a", 3, 4)]);
    let a = rows(
        EventStore::stream(&s, "a".into(), Select::From(2))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a, [row("a", 2, 3), row("a", 3, 4)]);
    let b = rows(
        EventStore::stream(&s, "b".into(), Select::From(3))
            .await
            .unwrap(),
    )
    .await;
    assert!(b.is_empty());

    let every = rows(EventStore::stream_all(&s, Select::All).await.unwrap()).await;
    assert_eq!(
        every,
        [
            row("a", 1, 1),
            row("b", 1, 2),
            row("a", 2, 3),
            row("a", 3, 4),
            row("b", 2, 5)
        ]
    );
    let tail = rows(EventStore::stream_all(&s, Select::From(3)).await.unwrap()).await;
    assert_eq!(tail, [row("a", 2, 3), row("a", 3, 4), row("b", 2, 5)]);
    let none = rows(EventStore::stream_all(&s, Select::From(6)).await.unwrap()).await;
    assert!(none.is_empty());
}

async fn remove_is_refused<S>(fx: Fixture<S>)
where
    S: EventLog + EventStore<SourceId = String, Event = EventRecord, Error = StoreError>,
{
    let mut s = fx.store;
    append_one(&s, "a", numbered(0)).await;
    let err = EventStore::remove(&mut s, "a".into()).await.unwrap_err();
    assert_eq!(err, StoreError::AppendOnly);
    assert_eq!(s.stream_version("a").await.unwrap(), 1);
    assert_eq!(all(&s).await.len(), 1);
}

async fn retry_by_id_is_idempotent<S: EventLog>(fx: Fixture<S>) {
    let s = fx.store;
    let original = numbered(0);
    let first = append_one(&s, "a", original.clone()).await;
    assert!(first.created);
    append_one(&s, "b", numbered(1)).await;

    // The same id and content: the original answer, nothing appended, even
    // though the expectation it was sent with no longer holds.
    let retry = append(&s, vec![pending("a", Some(0), original.clone())])
        .await
        .unwrap();
    assert_eq!(retry.len(), 1);
    assert!(!retry[0].created);
    assert_eq!(retry[0].event, first.event);
    assert_eq!(s.head().await.unwrap(), 2);

    // The same id with other data: refused, nothing appended.
    let mut changed = original.clone();
    changed.data = r#"{"n":"changed"}"#.into();
    let err = append(&s, vec![pending("a", None, changed.clone())])
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::IdReused { id: original.id });
    assert_eq!(s.head().await.unwrap(), 2);

    // A batch mixing a retry and a new event appends only the new one.
    let new = numbered(2);
    let mixed = append(
        &s,
        vec![
            pending("a", None, original.clone()),
            pending("a", None, new.clone()),
        ],
    )
    .await
    .unwrap();
    assert!(!mixed[0].created);
    assert_eq!(mixed[0].event, first.event);
    assert!(mixed[1].created);
    assert_eq!((mixed[1].event.position, mixed[1].event.version), (3, 2));
    assert_eq!(s.head().await.unwrap(), 3);

    // A batch whose second event reuses an id is refused whole.
    let newer = numbered(3);
    let err = append(
        &s,
        vec![
            pending("c", None, newer.clone()),
            pending("a", None, changed),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(err, StoreError::IdReused { id: original.id });
    assert_eq!(s.head().await.unwrap(), 3);
    assert!(!ids(&all(&s).await).contains(&newer.id));
}

async fn stale_log_head_is_refused<S: EventLog>(fx: Fixture<S>) {
    let s = fx.store;
    let kept = numbered(0);
    append_one(&s, "a", kept.clone()).await;
    append_one(&s, "a", numbered(1)).await;

    let stale = AppendRequest {
        events: vec![pending("b", None, numbered(2))],
        log_head: Some(1),
        head_id: None,
        make_keys: None,
        erase: Vec::new(),
    };
    let err = EventLog::append(&s, stale).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::Stale {
            expected: 1,
            actual: 2
        }
    );
    assert_eq!(s.head().await.unwrap(), 2);
    assert_eq!(s.stream_version("b").await.unwrap(), 0);

    let current = AppendRequest {
        events: vec![
            pending("b", None, numbered(3)),
            pending("b", None, numbered(4)),
        ],
        log_head: Some(2),
        head_id: None,
        make_keys: None,
        erase: Vec::new(),
    };
    let out = EventLog::append(&s, current).await.unwrap();
    assert_eq!(
        out.iter().map(|a| a.event.position).collect::<Vec<_>>(),
        [3, 4]
    );

    // The guard is on the first new event: a retry ahead of it does not count.
    let with_retry = AppendRequest {
        events: vec![pending("a", None, kept), pending("b", None, numbered(5))],
        log_head: Some(4),
        head_id: None,
        make_keys: None,
        erase: Vec::new(),
    };
    let out = EventLog::append(&s, with_retry).await.unwrap();
    assert_eq!(
        out.iter()
            .map(|a| (a.event.position, a.created))
            .collect::<Vec<_>>(),
        [(1, false), (5, true)]
    );
}

/// The head guard also names the event it was validated after: a batch
/// decided on top of another batch that failed is refused even when a third
/// writer appended as many events in its place.
async fn head_guard_checks_the_event_at_the_head<S: EventLog>(fx: Fixture<S>) {
    let s = fx.store;
    let first = append_one(&s, "a", numbered(0)).await;
    let guarded = |head_id: Option<Uuid>, n: usize| AppendRequest {
        events: vec![pending("b", None, numbered(n))],
        log_head: Some(1),
        head_id,
        make_keys: None,
        erase: Vec::new(),
    };
    // Validated after an event that never made it to position 1.
    let err = EventLog::append(&s, guarded(Some(Uuid::new_v4()), 1))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Stale {
            expected: 1,
            actual: 1
        }
    );
    assert_eq!(s.head().await.unwrap(), 1);
    assert_eq!(s.stream_version("b").await.unwrap(), 0);

    let out = EventLog::append(&s, guarded(Some(first.event.record.id), 2))
        .await
        .unwrap();
    assert_eq!(out[0].event.position, 2);

    // An empty log has no event at its head.
    let empty = AppendRequest {
        events: vec![pending("c", None, numbered(3))],
        log_head: Some(0),
        head_id: Some(first.event.record.id),
        make_keys: None,
        erase: Vec::new(),
    };
    assert!(matches!(
        EventLog::append(&s, empty).await,
        Err(StoreError::Stale {
            expected: 0,
            actual: 2
        })
    ));
}

async fn hash_chain_links_every_event<S: EventLog>(fx: Fixture<S>) {
    let s = fx.store;
    append(
        &s,
        vec![
            pending("a", None, numbered(0)),
            pending("b", None, numbered(1)),
        ],
    )
    .await
    .unwrap();
    append(&s, vec![pending("a", Some(9), numbered(2))])
        .await
        .unwrap_err();
    for n in 3..6 {
        append_one(&s, "c", numbered(n)).await;
    }
    let stored = all(&s).await;
    assert_eq!(stored.len(), 5);
    let mut previous = [0u8; 32];
    for e in &stored {
        assert_eq!(e.hash, chain_hash(&previous, e), "position {}", e.position);
        let mut tampered = e.clone();
        tampered.record.data = r#"{"n":"tampered"}"#.into();
        assert_ne!(chain_hash(&previous, &tampered), e.hash);
        previous = e.hash;
    }
}

async fn concurrent_appends_are_gap_free_and_durable<S: EventLog>(fx: Fixture<S>) {
    const TASKS: u64 = 8;
    const EACH: u64 = 1000;
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = fx.store.clone();
            let visible = fx.visible_elsewhere.clone();
            tokio::spawn(async move {
                let stream = format!("task-{t}");
                let mut answered = Vec::with_capacity(EACH as usize);
                for i in 0..EACH {
                    let r = record(&format!(r#"{{"task":{t},"i":{i}}}"#));
                    let out = append(&store, vec![pending(&stream, Some(i), r)])
                        .await
                        .expect("append");
                    let e = &out[0].event;
                    assert_eq!(e.version, i + 1);
                    if let (Some(visible), 0) = (&visible, i % 50) {
                        assert!(
                            visible(e.record.id).await,
                            "position {} was answered before it was committed",
                            e.position
                        );
                    }
                    answered.push(e.position);
                }
                answered
            })
        })
        .collect();
    let mut every = Vec::new();
    for task in tasks {
        let answered = timeout(BOUND, task)
            .await
            .expect("appends stalled")
            .unwrap();
        assert!(
            answered.windows(2).all(|w| w[0] < w[1]),
            "one task's appends out of order"
        );
        every.extend(answered);
    }
    every.sort_unstable();
    assert_eq!(every, (1..=TASKS * EACH).collect::<Vec<_>>());
    assert_eq!(fx.store.head().await.unwrap(), TASKS * EACH);

    let before = all(&fx.store).await;
    assert_eq!(positions(&before), (1..=TASKS * EACH).collect::<Vec<_>>());
    if let Some(reopen) = &fx.reopen {
        drop(fx.store);
        let again = reopen().await;
        assert_eq!(all(&again).await, before);
        for t in 0..TASKS {
            assert_eq!(
                again.stream_version(&format!("task-{t}")).await.unwrap(),
                EACH
            );
        }
    }
}

/// Requests sent together (so that a store committing in groups puts them in
/// the same transactions), half of them storing nothing: a wrong expected
/// version, or a retry of a stored event. Those leave nothing; the others
/// are stored gap-free, each once.
async fn refusals_beside_appends_leave_nothing<S: EventLog>(fx: Fixture<S>) {
    const REQUESTS: u64 = 400;
    let first = numbered(0);
    let taken = append_one(&fx.store, "taken", first.clone()).await;
    let sent: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let store = fx.store.clone();
            let first = first.clone();
            tokio::spawn(async move {
                let stream = format!("s-{i}");
                let request = match i % 4 {
                    // Refused: the stream has no event yet.
                    1 => vec![pending(&stream, Some(3), numbered(i as usize))],
                    // A retry: answered as the stored event, nothing new.
                    3 => vec![pending("taken", None, first)],
                    _ => vec![pending(&stream, Some(0), numbered(i as usize))],
                };
                (i, append(&store, request).await)
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in sent {
        let (i, out) = timeout(BOUND, task)
            .await
            .expect("appends stalled")
            .unwrap();
        match i % 4 {
            1 => assert!(
                matches!(out, Err(StoreError::Conflict { .. })),
                "request {i}: {out:?}"
            ),
            3 => {
                let out = out.expect("a retry of a stored id");
                assert!(!out[0].created, "request {i}");
                assert_eq!(out[0].event.position, taken.event.position);
            }
            _ => {
                let out = out.expect("an append");
                assert!(out[0].created, "request {i}");
                created.push(out[0].event.record.id);
            }
        }
    }
    let log = all(&fx.store).await;
    assert_eq!(log.len() as u64, 1 + REQUESTS / 2);
    assert_eq!(positions(&log), (1..=1 + REQUESTS / 2).collect::<Vec<_>>());
    let mut stored = ids(&log)[1..].to_vec();
    stored.sort_unstable();
    created.sort_unstable();
    assert_eq!(stored, created);
    for i in (1..REQUESTS).step_by(4) {
        assert_eq!(fx.store.stream_version(&format!("s-{i}")).await.unwrap(), 0);
    }
}

async fn subscription_catches_up_then_goes_live<S: EventLog>(fx: Fixture<S>) {
    let s = fx.store;
    for chunk in 0..6 {
        let events = (0..50)
            .map(|n| pending("a", None, numbered(chunk * 50 + n)))
            .collect();
        append(&s, events).await.unwrap();
    }
    assert_eq!(s.head().await.unwrap(), 300);

    let mut sub = s.subscribe(150);
    let (started, start) = tokio::sync::oneshot::channel::<()>();
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            start.await.expect("subscriber started");
            for n in 300..600 {
                append_one(&s, "b", numbered(n)).await;
            }
        })
    };
    let seen = timeout(BOUND, async {
        let mut started = Some(started);
        let mut seen = Vec::new();
        while seen.len() < 450 {
            let e = sub.next().await.expect("subscription ended").expect("read");
            seen.push(e.position);
            if e.position == 200 {
                // Mid catch-up: the writer starts appending now.
                started.take().unwrap().send(()).unwrap();
            }
        }
        seen
    })
    .await
    .expect("subscription stalled");
    assert_eq!(seen, (151..=600).collect::<Vec<_>>());
    writer.await.unwrap();

    // Nothing is repeated or skipped after that: the next event is the next one.
    append_one(&s, "c", numbered(600)).await;
    let next = timeout(BOUND, sub.next())
        .await
        .expect("subscription stalled")
        .expect("subscription ended")
        .unwrap();
    assert_eq!(next.position, 601);
}

async fn subscribe_all_sees_only_later_events<S>(fx: Fixture<S>)
where
    S: EventLog + EventSubscriber<SourceId = String, Event = EventRecord, Error = StoreError>,
{
    let s = fx.store;
    for n in 0..5 {
        append_one(&s, "a", numbered(n)).await;
    }
    let mut live = EventSubscriber::subscribe_all(&s).await.unwrap();
    let later: Vec<EventRecord> = (5..8).map(numbered).collect();
    append(
        &s,
        later
            .iter()
            .map(|r| pending("b", None, r.clone()))
            .collect(),
    )
    .await
    .unwrap();
    let seen: Vec<(String, u32, u32, Uuid)> =
        timeout(BOUND, (&mut live).take(3).try_collect::<Vec<_>>())
            .await
            .expect("subscription stalled")
            .unwrap()
            .into_iter()
            .map(|p| {
                (
                    p.source_id().clone(),
                    p.version(),
                    p.sequence_number(),
                    p.id,
                )
            })
            .collect();
    let expected: Vec<(String, u32, u32, Uuid)> = later
        .iter()
        .enumerate()
        .map(|(i, r)| ("b".into(), i as u32 + 1, i as u32 + 6, r.id))
        .collect();
    assert_eq!(seen, expected);
}

// ---------------------------------------------------------------------------
// The key table: made with the batch that needs it, destroyed with its erasure
// ---------------------------------------------------------------------------

const FINGERPRINT: &str = "00112233aabbccdd";

fn keyring_record(fingerprint: &str) -> KeyringRecord {
    KeyringRecord {
        fingerprint: fingerprint.into(),
        index_key: vec![7; 72],
        generation: 0,
    }
}

/// A key with distinctive bytes: `n` names it, its lookup and its wrapped bytes.
fn key(n: u8) -> NewKey {
    NewKey {
        id: format!("k_{}", hex::encode([n; 16])),
        lookup: [n; 32],
        wrapped: vec![n ^ 0x5a; 72],
        subject: vec![n ^ 0xa5; 72],
    }
}

fn making(keys: Vec<NewKey>) -> Option<KeysToMake> {
    Some(KeysToMake {
        fingerprint: FINGERPRINT.into(),
        keys,
    })
}

async fn init_keys<S: EventLog>(s: &S) {
    let done = s
        .write_keys(KeyOp::InitKeyring(keyring_record(FINGERPRINT)))
        .await
        .unwrap();
    assert_eq!(done, KeyOpDone::Keyring(keyring_record(FINGERPRINT)));
}

/// Every live key id, and every destroyed one, as a reader with nothing sees them.
async fn key_table<S: EventLog>(s: &S) -> (Vec<String>, Vec<String>, u64) {
    let all = s.read_keys(KeysSince::default()).await.unwrap();
    assert!(all.full);
    let mut live: Vec<String> = all.entries.iter().map(|e| e.key.id.clone()).collect();
    let mut erased = all.erased.clone();
    live.sort();
    erased.sort();
    (live, erased, all.keyring.map_or(0, |r| r.generation))
}

async fn keys_are_made_with_the_batch_that_needs_them<S: EventLog>(fx: Fixture<S>) {
    let s = fx.store;
    // No keyring yet: nothing can be made.
    let mut request = batch(vec![pending("a", None, numbered(0))]);
    request.make_keys = making(vec![key(1)]);
    assert_eq!(
        EventLog::append(&s, request.clone()).await.unwrap_err(),
        StoreError::NoKeyring
    );
    assert_eq!(s.head().await.unwrap(), 0);
    init_keys(&s).await;
    // A second init keeps the first keyring.
    let again = s
        .write_keys(KeyOp::InitKeyring(keyring_record("ffffffffffffffff")))
        .await
        .unwrap();
    assert_eq!(again, KeyOpDone::Keyring(keyring_record(FINGERPRINT)));

    EventLog::append(&s, request).await.unwrap();
    let table = s.read_keys(KeysSince::default()).await.unwrap();
    assert_eq!(table.entries.len(), 1);
    assert_eq!(table.entries[0].key, key(1));

    // A batch refused for its events makes no key.
    let mut refused = batch(vec![pending("a", Some(0), numbered(1))]);
    refused.make_keys = making(vec![key(2)]);
    assert!(matches!(
        EventLog::append(&s, refused).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(key_table(&s).await.0, vec![key(1).id]);

    // A subject that has a key now (another writer was first): a race, and nothing is appended.
    let mut raced = batch(vec![pending("b", None, numbered(2))]);
    raced.make_keys = making(vec![
        key(3),
        NewKey {
            lookup: [1; 32],
            ..key(4)
        },
    ]);
    assert_eq!(
        EventLog::append(&s, raced).await.unwrap_err(),
        StoreError::KeyRace
    );
    assert_eq!(s.head().await.unwrap(), 1);
    assert_eq!(key_table(&s).await.0, vec![key(1).id]);
    // Another subject's key under a live key's id: a conflict.
    let mut taken = batch(vec![pending("b", None, numbered(2))]);
    taken.make_keys = making(vec![NewKey {
        lookup: [7; 32],
        ..key(1)
    }]);
    assert!(matches!(
        EventLog::append(&s, taken).await,
        Err(StoreError::KeyConflict(_))
    ));
    assert_eq!(key_table(&s).await.0, vec![key(1).id]);

    // Keys wrapped by another master key are refused.
    let mut foreign = batch(vec![pending("b", None, numbered(3))]);
    foreign.make_keys = Some(KeysToMake {
        fingerprint: "ffffffffffffffff".into(),
        keys: vec![key(5)],
    });
    assert!(matches!(
        EventLog::append(&s, foreign).await,
        Err(StoreError::KeyringChanged { .. })
    ));

    // A reader asks for what is new since the last key it saw.
    let seq = table.entries[0].seq;
    let mut later = batch(vec![pending("b", None, numbered(4))]);
    later.make_keys = making(vec![key(6), key(7)]);
    EventLog::append(&s, later).await.unwrap();
    let since = s
        .read_keys(KeysSince {
            seq,
            generation: Some(0),
        })
        .await
        .unwrap();
    assert!(!since.full);
    let ids: Vec<&str> = since.entries.iter().map(|e| e.key.id.as_str()).collect();
    assert_eq!(ids, [key(6).id.as_str(), key(7).id.as_str()]);
    if let Some(reopen) = fx.reopen {
        let s = reopen().await;
        assert_eq!(key_table(&s).await.0.len(), 3);
    }
}

async fn erasure_destroys_a_key_with_its_event<S: EventLog>(fx: Fixture<S>) {
    let s = fx.store;
    init_keys(&s).await;
    let mut made = batch(vec![pending("a", None, numbered(0))]);
    made.make_keys = making(vec![key(1), key(2)]);
    EventLog::append(&s, made).await.unwrap();

    let erasure = numbered(1);
    let mut erase = batch(vec![pending("erasure", None, erasure.clone())]);
    erase.erase = vec![key(1).id];
    EventLog::append(&s, erase.clone()).await.unwrap();
    let (live, erased, generation) = key_table(&s).await;
    assert_eq!(live, vec![key(2).id]);
    assert_eq!(erased, vec![key(1).id]);
    assert_eq!(generation, 1, "an erasure moves the generation");
    // A reader that cached generation 0 must reload everything.
    let stale = s
        .read_keys(KeysSince {
            seq: 99,
            generation: Some(0),
        })
        .await
        .unwrap();
    assert!(stale.full);
    assert_eq!(stale.erased, vec![key(1).id]);

    // The same erasure retried (same event id) destroys nothing more and appends nothing.
    let retried = EventLog::append(&s, erase).await.unwrap();
    assert!(!retried[0].created);
    assert_eq!(key_table(&s).await.2, 1);

    // Erasing it again, or a key never made: refused, nothing appended.
    for id in [key(1).id, key(9).id] {
        let mut again = batch(vec![pending("erasure", None, numbered(2))]);
        again.erase = vec![id.clone()];
        assert_eq!(
            EventLog::append(&s, again).await.unwrap_err(),
            StoreError::KeyGone { id }
        );
    }
    assert_eq!(s.head().await.unwrap(), 2);

    // A destroyed key's id cannot be made again.
    let mut back = batch(vec![pending("b", None, numbered(3))]);
    back.make_keys = making(vec![NewKey {
        lookup: [8; 32],
        ..key(1)
    }]);
    assert!(matches!(
        EventLog::append(&s, back).await,
        Err(StoreError::KeyConflict(_))
    ));
    // Both taken, the id by a destroyed key and the lookup by a live one:
    // the subject's live key is named first, as a race.
    let mut both = batch(vec![pending("b", None, numbered(3))]);
    both.make_keys = making(vec![NewKey {
        lookup: key(2).lookup,
        ..key(1)
    }]);
    assert_eq!(
        EventLog::append(&s, both).await.unwrap_err(),
        StoreError::KeyRace
    );
    if let Some(reopen) = fx.reopen {
        let s = reopen().await;
        assert_eq!(key_table(&s).await, (vec![key(2).id], vec![key(1).id], 1));
    }
}

async fn rotation_rewraps_exactly_the_stored_keys<S: EventLog>(fx: Fixture<S>) {
    let s = fx.store;
    init_keys(&s).await;
    let mut made = batch(vec![pending("a", None, numbered(0))]);
    made.make_keys = making(vec![key(1), key(2)]);
    EventLog::append(&s, made).await.unwrap();
    let to = keyring_record("0123456789abcdef");
    let rotate = |ids: &[NewKey], from: &str| KeyOp::Rotate {
        from: from.into(),
        to: to.clone(),
        rewrapped: ids.iter().map(|k| (k.id.clone(), vec![0xee; 72])).collect(),
    };
    // A set of keys that is not the stored one, or the wrong master key: nothing changes.
    assert!(matches!(
        s.write_keys(rotate(&[key(1)], FINGERPRINT)).await,
        Err(StoreError::KeyConflict(_))
    ));
    assert!(matches!(
        s.write_keys(rotate(&[key(1), key(2)], "ffffffffffffffff"))
            .await,
        Err(StoreError::KeyringChanged { .. })
    ));
    let unchanged = s.read_keys(KeysSince::default()).await.unwrap();
    assert_eq!(unchanged.keyring.unwrap().fingerprint, FINGERPRINT);
    assert!(unchanged
        .entries
        .iter()
        .all(|e| e.key.wrapped != [0xee; 72]));

    s.write_keys(rotate(&[key(2), key(1)], FINGERPRINT))
        .await
        .unwrap();
    let rotated = s.read_keys(KeysSince::default()).await.unwrap();
    let record = rotated.keyring.unwrap();
    assert_eq!(record.fingerprint, to.fingerprint);
    assert_eq!(record.generation, 1);
    assert!(rotated.entries.iter().all(|e| e.key.wrapped == [0xee; 72]));
    // Keys made under the old master key are refused from now on.
    let mut old = batch(vec![pending("b", None, numbered(1))]);
    old.make_keys = making(vec![key(3)]);
    assert!(matches!(
        EventLog::append(&s, old).await,
        Err(StoreError::KeyringChanged { .. })
    ));
}

async fn imported_keys_and_tombstones_are_kept<S: EventLog>(fx: Fixture<S>) {
    let s = fx.store;
    init_keys(&s).await;
    let import = KeyOp::Import {
        fingerprint: FINGERPRINT.into(),
        keys: vec![key(1), key(2)],
        erased: vec![key(9).id],
    };
    s.write_keys(import.clone()).await.unwrap();
    // The same import again changes nothing.
    s.write_keys(import).await.unwrap();
    assert_eq!(
        key_table(&s).await,
        (vec![key(1).id, key(2).id], vec![key(9).id], 2)
    );
    // A key for a subject that has another one here, or live here but
    // destroyed there: refused as a whole.
    for bad in [
        KeyOp::Import {
            fingerprint: FINGERPRINT.into(),
            keys: vec![
                key(3),
                NewKey {
                    lookup: [1; 32],
                    ..key(4)
                },
            ],
            erased: vec![],
        },
        KeyOp::Import {
            fingerprint: FINGERPRINT.into(),
            keys: vec![key(5)],
            erased: vec![key(1).id],
        },
    ] {
        assert!(matches!(
            s.write_keys(bad).await,
            Err(StoreError::KeyConflict(_))
        ));
    }
    assert_eq!(key_table(&s).await.0, vec![key(1).id, key(2).id]);
}

// ---------------------------------------------------------------------------
// The same log opened again, or twice at once (a store that has `reopen`)
// ---------------------------------------------------------------------------

/// A log opened again, as a restarted process would, holds what was
/// appended; the head, the stream versions and the chain go on from it.
async fn reopening_keeps_events_and_the_chain<S: EventLog>(fx: Fixture<S>) {
    let Some(reopen) = fx.reopen else { return };
    let s = fx.store;
    for n in 0..3 {
        append_one(&s, "a", numbered(n)).await;
    }
    let before = all(&s).await;
    drop(s);

    let s = reopen().await;
    assert_eq!(all(&s).await, before);
    assert_eq!(s.head().await.unwrap(), 3);
    assert_eq!(*s.head_changes().borrow(), 3);
    assert_eq!(s.stream_version("a").await.unwrap(), 3);
    let next = append_one(&s, "a", numbered(3)).await;
    assert_eq!((next.event.position, next.event.version), (4, 4));
    assert_eq!(next.event.hash, chain_hash(&before[2].hash, &next.event));
}

/// Each writer knows the head and the stream versions of its own commits;
/// what another instance on the same log commits must make it read again.
async fn two_instances_see_each_others_streams_and_head<S: EventLog>(fx: Fixture<S>) {
    let Some(reopen) = &fx.reopen else { return };
    let second = reopen().await;
    let instances = [&fx.store, &second];
    for i in 0..6u64 {
        let store = instances[(i % 2) as usize];
        let sent = numbered(i as usize);
        let out = append(store, vec![pending("shared", Some(i), sent.clone())])
            .await
            .expect("append at the stream's version");
        assert_eq!(
            (out[0].event.position, out[0].event.version),
            (i + 1, i + 1)
        );
        // The other instance's view is stale by one version: refused.
        let other = instances[((i + 1) % 2) as usize];
        let late = append(
            other,
            vec![pending("shared", Some(i), numbered(100 + i as usize))],
        )
        .await;
        assert!(
            matches!(late, Err(StoreError::Conflict { actual, .. }) if actual == i + 1),
            "{late:?}"
        );
        // A retry of the stored event through the other instance is answered as stored.
        let again = append(other, vec![pending("shared", Some(i), sent)])
            .await
            .expect("a retry");
        assert!(!again[0].created);
        assert_eq!(again[0].event.position, i + 1);
    }
    let stored = all(&second).await;
    assert_eq!(stored.len(), 6);
    assert_chained(&stored);
}

/// A writer that read the log empty takes a stream it has not seen for one
/// without events, until another instance commits.
async fn a_writer_that_began_on_an_empty_log_reads_the_streams_another_one_made<S: EventLog>(
    fx: Fixture<S>,
) {
    let Some(reopen) = &fx.reopen else { return };
    let first = &fx.store;
    append(first, vec![pending("mine", Some(0), numbered(0))])
        .await
        .expect("the first event");
    let second = reopen().await;
    append(&second, vec![pending("theirs", Some(0), numbered(1))])
        .await
        .expect("a new stream through the other instance");
    let out = append(first, vec![pending("theirs", Some(1), numbered(2))])
        .await
        .expect("the other instance's stream, at its version");
    assert_eq!((out[0].event.position, out[0].event.version), (3, 2));
    let stale = append(first, vec![pending("theirs", Some(0), numbered(3))]).await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { actual: 2, .. })),
        "{stale:?}"
    );
}

/// Two instances on one log, appending at once from many tasks (single
/// events and batches across streams): positions and stream versions stay
/// gap-free, the chain holds, and both read the same log.
async fn two_instances_appending_at_once_leave_the_log_gap_free<S: EventLog>(fx: Fixture<S>) {
    const TASKS: u64 = 8;
    const EACH: u64 = 60;
    let Some(reopen) = &fx.reopen else { return };
    let first = fx.store.clone();
    let second = reopen().await;
    let tasks: Vec<_> = (0..2 * TASKS)
        .map(|t| {
            let store = if t % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tokio::spawn(async move {
                let mut answered = Vec::new();
                for i in 0..EACH {
                    // Every other append is a batch of two streams.
                    let mut events = vec![pending(
                        &format!("t{t}"),
                        Some(i),
                        record(&format!(r#"{{"task":{t},"i":{i}}}"#)),
                    )];
                    if i % 2 == 1 {
                        events.push(pending(
                            &format!("shared-{}", t % 3),
                            None,
                            record(&format!(r#"{{"task":{t},"shared":{i}}}"#)),
                        ));
                    }
                    for a in append(&store, events).await.expect("append") {
                        answered.push(a.event.position);
                    }
                }
                answered
            })
        })
        .collect();
    let mut every = Vec::new();
    for task in tasks {
        every.extend(
            timeout(BOUND, task)
                .await
                .expect("appends stalled")
                .unwrap(),
        );
    }
    every.sort_unstable();
    let n = 2 * TASKS * (EACH + EACH / 2);
    assert_eq!(every, (1..=n).collect::<Vec<_>>());
    // Each instance reads the log, not only what it appended itself.
    assert_eq!(first.head().await.unwrap(), n);
    assert_eq!(second.head().await.unwrap(), n);
    let stored = all(&first).await;
    assert_eq!(stored, all(&second).await);
    assert_chained(&stored);
    for s in 0..3 {
        let shared = first
            .read_stream(&format!("shared-{s}"), 0, 10_000)
            .await
            .unwrap();
        let versions: Vec<u64> = shared.iter().map(|e| e.version).collect();
        assert_eq!(versions, (1..=shared.len() as u64).collect::<Vec<_>>());
    }
}

/// A load (an import into an empty log) answers every append as an append
/// outside one would be answered, and keeps exactly what it answered as
/// created, in order, with the hash chain; after it, appends go on under
/// the same rules. A store without loads answers `false` and appends.
async fn a_load_keeps_the_rules_of_every_append<S: EventLog>(fx: Fixture<S>) {
    let s = fx.store;
    init_keys(&s).await;
    let began = s.begin_load().await.unwrap();

    let first = numbered(0);
    let mut made = batch(vec![
        pending("a", None, first.clone()),
        pending("b", None, numbered(1)),
    ]);
    made.make_keys = making(vec![key(1)]);
    let out = EventLog::append(&s, made).await.unwrap();
    assert_eq!((out[0].event.position, out[1].event.position), (1, 2));

    // The same id and content: the answer it had, nothing appended.
    let retry = append(&s, vec![pending("a", Some(0), first.clone())])
        .await
        .unwrap();
    assert!(!retry[0].created);
    assert_eq!(retry[0].event, out[0].event);

    // Refused batches leave nothing, not even the ids of their new events.
    let lost = numbered(2);
    let err = append(
        &s,
        vec![
            pending("c", None, lost.clone()),
            pending("a", Some(0), numbered(3)),
        ],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 1, .. }),
        "{err}"
    );
    let mut changed = first.clone();
    changed.data = r#"{"n":"changed"}"#.into();
    let err = append(
        &s,
        vec![
            pending("c", None, lost.clone()),
            pending("a", None, changed.clone()),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(err, StoreError::IdReused { id: first.id });
    // Nor the keys they make: those of a batch refused for its events, and
    // those made before a key that is taken.
    let mut refused = batch(vec![
        pending("c", None, numbered(20)),
        pending("a", Some(0), numbered(21)),
    ]);
    refused.make_keys = making(vec![key(3)]);
    let err = EventLog::append(&s, refused).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 1, .. }),
        "{err}"
    );
    let mut taken = batch(vec![pending("c", None, numbered(20))]);
    taken.make_keys = making(vec![key(3), key(4), key(1)]);
    let err = EventLog::append(&s, taken).await.unwrap_err();
    assert_eq!(err, StoreError::KeyRace);
    // Another event takes the position the refused one had.
    assert!(append_one(&s, "e", numbered(4)).await.created);
    let again = append(
        &s,
        vec![
            pending("c", None, lost.clone()),
            pending("a", Some(1), numbered(5)),
        ],
    )
    .await
    .unwrap();
    assert!(again.iter().all(|a| a.created));
    let placed: Vec<_> = again
        .iter()
        .map(|a| (a.event.position, a.event.version))
        .collect();
    assert_eq!(placed, [(4, 1), (5, 2)]);
    s.write_keys(KeyOp::Import {
        fingerprint: FINGERPRINT.into(),
        keys: vec![key(2)],
        erased: Vec::new(),
    })
    .await
    .unwrap();
    s.end_load().await.unwrap();

    let stored = all(&s).await;
    assert_eq!(positions(&stored), [1, 2, 3, 4, 5]);
    assert_eq!(ids(&stored)[0], first.id);
    assert_eq!(ids(&stored)[3], lost.id);
    assert_chained(&stored);
    assert_eq!(key_table(&s).await.0, vec![key(1).id, key(2).id]);

    // After it: the log holds events, so no load begins, and its ids and
    // stream versions are still unique.
    assert!(!s.begin_load().await.unwrap());
    s.end_load().await.unwrap();
    let retry = append(&s, vec![pending("c", None, lost.clone())])
        .await
        .unwrap();
    assert!(!retry[0].created);
    assert_eq!(
        append(
            &s,
            vec![pending("d", None, numbered(6)), pending("a", None, changed)]
        )
        .await
        .unwrap_err(),
        StoreError::IdReused { id: first.id }
    );
    let err = append(&s, vec![pending("a", Some(1), numbered(7))])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: 2, .. }),
        "{err}"
    );
    assert_eq!(s.head().await.unwrap(), 5);
    if let Some(reopen) = fx.reopen {
        let s = reopen().await;
        assert_eq!(all(&s).await, stored);
    }
    // Whether it began is the store's own matter; the answers are not.
    let _ = began;
}

/// Instantiates every contract test for one store: `contract!(name, factory)`
/// where `factory()` is a future of a [`Fixture`].
macro_rules! contract {
    ($name:ident, $factory:expr) => {
        mod $name {
            use super::*;
            contract!(@tests $factory;
                positions_and_versions_are_gap_free,
                batch_across_streams_is_atomic,
                exact_version_mismatch_is_a_conflict,
                stream_and_stream_all_select_slices,
                remove_is_refused,
                retry_by_id_is_idempotent,
                stale_log_head_is_refused,
                head_guard_checks_the_event_at_the_head,
                hash_chain_links_every_event,
                concurrent_appends_are_gap_free_and_durable,
                refusals_beside_appends_leave_nothing,
                subscription_catches_up_then_goes_live,
                subscribe_all_sees_only_later_events,
                keys_are_made_with_the_batch_that_needs_them,
                erasure_destroys_a_key_with_its_event,
                rotation_rewraps_exactly_the_stored_keys,
                imported_keys_and_tombstones_are_kept,
                a_load_keeps_the_rules_of_every_append,
                reopening_keeps_events_and_the_chain,
                two_instances_see_each_others_streams_and_head,
                a_writer_that_began_on_an_empty_log_reads_the_streams_another_one_made,
                two_instances_appending_at_once_leave_the_log_gap_free,
            );
        }
    };
    (@tests $factory:expr; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                let factory = $factory;
                super::$test(factory().await).await;
            }
        )*
    };
}

contract!(memory, || async { Fixture::ephemeral(MemoryStore::new()) });
contract!(sqlite, sqlite_fixture);
contract!(postgres, postgres_fixture);

// ---------------------------------------------------------------------------
// SQLite only: its file, its triggers, several handles on one file
// ---------------------------------------------------------------------------

mod sqlite_file {
    use super::*;

    fn temp_store() -> (tempfile::TempDir, PathBuf, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.db");
        let store = SqliteStore::create(&path).unwrap();
        (dir, path, store)
    }

    #[tokio::test]
    async fn triggers_refuse_update_and_delete() {
        let (_dir, path, store) = temp_store();
        append_one(&store, "a", numbered(0)).await;
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in [
            "UPDATE events SET data = '{}'",
            "UPDATE events SET position = 7",
            "DELETE FROM events",
        ] {
            let err = conn.execute(sql, []).unwrap_err();
            assert!(
                err.to_string().contains("events are append-only"),
                "{sql}: {err}"
            );
        }
        let stored = all(&store).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].record.data, r#"{"n":0}"#);
        let journal: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(journal, "wal");
    }

    #[tokio::test]
    async fn create_opens_the_store_already_there() {
        let (_dir, path, store) = temp_store();
        assert!(store.created());
        assert_eq!(store.path(), path);
        append_one(&store, "a", numbered(0)).await;
        store.close().await;
        let store = SqliteStore::open(&path).unwrap();
        assert!(!store.created());
        store.close().await;
        let store = SqliteStore::create(&path).unwrap();
        assert!(!store.created());
        assert_eq!(store.head().await.unwrap(), 1);
    }

    /// Every file of the store: the database, its write-ahead log and its
    /// shared-memory index.
    fn files_of(path: &Path) -> Vec<Vec<u8>> {
        ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                let mut p = path.as_os_str().to_owned();
                p.push(suffix);
                std::fs::read(PathBuf::from(p)).ok()
            })
            .collect()
    }

    fn holds(files: &[Vec<u8>], needle: &[u8]) -> bool {
        files
            .iter()
            .any(|f| f.windows(needle.len()).any(|w| w == needle))
    }

    #[tokio::test]
    async fn an_erased_key_leaves_no_byte_in_the_file_or_its_wal() {
        let (_dir, path, store) = temp_store();
        init_keys(&store).await;
        // Random bytes cannot be found by chance elsewhere in the file.
        let secret = |seed: u8| -> Vec<u8> {
            (0..72u32)
                .map(|i| (i.wrapping_mul(73) as u8) ^ seed.wrapping_mul(151) ^ 0x3c)
                .collect()
        };
        let (doomed, kept) = (
            NewKey {
                wrapped: secret(1),
                subject: secret(2),
                ..key(1)
            },
            NewKey {
                wrapped: secret(3),
                subject: secret(4),
                ..key(2)
            },
        );
        let mut made = batch(vec![pending("a", None, numbered(0))]);
        made.make_keys = making(vec![doomed.clone(), kept.clone()]);
        EventLog::append(&store, made).await.unwrap();
        // Many more events, so that the key's page has old copies in the WAL
        // and in the database file alike.
        for n in 1..200 {
            append_one(&store, "b", numbered(n)).await;
        }
        rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .unwrap();
        for n in 200..260 {
            append_one(&store, "b", numbered(n)).await;
        }
        let before = files_of(&path);
        assert!(holds(&before, &doomed.wrapped), "the test's key is stored");

        let mut erase = batch(vec![pending("erasure", None, numbered(999))]);
        erase.erase = vec![doomed.id.clone()];
        EventLog::append(&store, erase).await.unwrap();
        let after = files_of(&path);
        for bytes in [&doomed.wrapped, &doomed.subject] {
            assert!(!holds(&after, bytes), "a destroyed key's bytes remain");
        }
        assert!(holds(&after, &kept.wrapped), "the other key is kept");
        assert_eq!(store.head().await.unwrap(), 261);
    }

    #[tokio::test]
    async fn new_store_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let (_dir, path, store) = temp_store();
        append_one(&store, "a", numbered(0)).await;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let mode = std::fs::metadata(PathBuf::from(p))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{suffix}: {mode:o}");
        }
    }

    #[tokio::test]
    async fn a_store_of_schema_one_is_read_but_never_written() {
        let (_dir, path, store) = temp_store();
        append_one(&store, "a", numbered(0)).await;
        store.close().await;
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("DROP TABLE keyring; DROP TABLE subject_keys; DROP TABLE erased_keys;")
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.is_legacy());
        assert_eq!(all(&store).await.len(), 1);
        assert!(store
            .read_keys(KeysSince::default())
            .await
            .unwrap()
            .keyring
            .is_none());
        let err = EventLog::append(&store, batch(vec![pending("a", None, numbered(1))]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("schema 1"), "{err}");
        assert!(store
            .write_keys(KeyOp::InitKeyring(keyring_record(FINGERPRINT)))
            .await
            .is_err());
        assert_eq!(store.head().await.unwrap(), 1);
        let err = SqliteStore::create(&path).err().unwrap();
        assert!(err.to_string().contains("import"), "{err}");
    }

    #[tokio::test]
    async fn open_of_a_missing_path_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.db");
        let err = SqliteStore::open(&path).err().unwrap();
        assert_eq!(err, StoreError::Missing(path.display().to_string()));
        assert!(!path.exists(), "open created a file");
    }

    #[tokio::test]
    async fn create_refuses_what_is_not_a_store() {
        let dir = tempfile::tempdir().unwrap();

        let text = dir.path().join("notes.txt");
        let content = "not a database, and long enough to fill a header...".repeat(4);
        std::fs::write(&text, &content).unwrap();
        for result in [SqliteStore::create(&text), SqliteStore::open(&text)] {
            let err = result.err().unwrap();
            assert!(
                err.to_string().contains("is not a Passerelle store"),
                "{err}"
            );
        }
        assert_eq!(std::fs::read_to_string(&text).unwrap(), content);

        let other = dir.path().join("other.db");
        rusqlite::Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x INTEGER)")
            .unwrap();
        for result in [SqliteStore::create(&other), SqliteStore::open(&other)] {
            let err = result.err().unwrap();
            assert!(
                err.to_string().contains("is not a Passerelle store"),
                "{err}"
            );
        }
    }

    #[tokio::test]
    async fn a_newer_schema_is_refused() {
        let (_dir, path, store) = temp_store();
        store.close().await;
        rusqlite::Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        for result in [SqliteStore::open(&path), SqliteStore::create(&path)] {
            let err = result.err().unwrap();
            assert!(err.to_string().contains("schema version 99"), "{err}");
        }
    }

    /// The names of the indexes on `events` and the schema version, read
    /// through a connection of the test's own.
    fn events_indexes(path: &Path) -> (Vec<String>, i64) {
        let conn =
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events' \
                 ORDER BY name",
            )
            .unwrap();
        let names = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<Vec<String>, _>>()
            .unwrap();
        let version = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        (names, version)
    }

    const NAMED: [&str; 2] = ["events_id", "events_stream_version"];

    #[tokio::test]
    async fn a_load_is_seen_elsewhere_only_once_it_ends() {
        let (_dir, path, store) = temp_store();
        assert!(store.begin_load().await.unwrap());
        assert!(
            store.begin_load().await.is_err(),
            "a second load began inside the first"
        );
        let loaded = numbered(0);
        let answered = append_one(&store, "a", loaded.clone()).await;
        assert_eq!(answered.event.position, 1);
        // Another connection, and this store's readers, see the log as it was.
        assert_eq!(count_id_in_file(&path, loaded.id), 0);
        assert_eq!(store.head().await.unwrap(), 0);
        assert_eq!(*store.head_changes().borrow(), 0);
        store.end_load().await.unwrap();
        assert_eq!(count_id_in_file(&path, loaded.id), 1);
        assert_eq!(store.head().await.unwrap(), 1);
        assert_eq!(*store.head_changes().borrow(), 1);
        assert_eq!(events_indexes(&path), (NAMED.map(String::from).to_vec(), 3));
    }

    #[tokio::test]
    async fn a_load_never_ended_keeps_nothing() {
        let (_dir, path, store) = temp_store();
        assert!(store.begin_load().await.unwrap());
        append_one(&store, "a", numbered(0)).await;
        store.close().await;
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.head().await.unwrap(), 0);
        assert_eq!(events_indexes(&path), (NAMED.map(String::from).to_vec(), 3));
        // The table kept its indexes: an id is still unique.
        let kept = numbered(1);
        append_one(&store, "a", kept.clone()).await;
        let retry = append(&store, vec![pending("b", None, kept)])
            .await
            .unwrap();
        assert!(!retry[0].created);
    }

    /// Appends, in a load, more than the writer's page cache holds (64 MiB):
    /// its pages spill to the file before the load ends.
    async fn spill(store: &SqliteStore) -> usize {
        let pad = "x".repeat(1 << 20);
        let events: Vec<_> = (0..80)
            .map(|n| {
                pending(
                    "big",
                    None,
                    record(&format!(r#"{{"n":{n},"pad":"{pad}"}}"#)),
                )
            })
            .collect();
        let n = events.len();
        append(store, events).await.unwrap();
        n
    }

    fn file(path: &Path, suffix: &str) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    fn journal_mode(path: &Path) -> String {
        rusqlite::Connection::open(path)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap()
    }

    /// A load that has the file alone writes it with a rollback journal,
    /// not the write-ahead log; meanwhile the store's own readers answer
    /// from the state before the load, even once the load holds the file
    /// (another connection cannot read it then), and after it the file is
    /// in WAL mode again.
    #[tokio::test]
    async fn a_load_alone_with_the_file_is_written_without_the_log() {
        let (_dir, path, store) = temp_store();
        init_keys(&store).await;
        store
            .write_keys(KeyOp::Import {
                fingerprint: FINGERPRINT.into(),
                keys: vec![key(1)],
                erased: Vec::new(),
            })
            .await
            .unwrap();
        // The readers have been used: their idle connections are closed.
        assert_eq!(store.head().await.unwrap(), 0);
        assert!(store.begin_load().await.unwrap());
        let mut made = batch(vec![pending("a", None, numbered(0))]);
        made.make_keys = making(vec![key(2)]);
        EventLog::append(&store, made).await.unwrap();
        let n = spill(&store).await;
        assert!(
            !file(&path, "-wal").exists(),
            "the load went through the log"
        );
        assert!(file(&path, "-journal").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(file(&path, "-journal"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        other.busy_timeout(Duration::ZERO).unwrap();
        let locked = other.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0));
        assert!(
            matches!(&locked, Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)),
            "{locked:?}"
        );
        drop(other);
        // Opening the store waits for the load, then names the lock.
        let err = SqliteStore::open(&path)
            .err()
            .expect("opened during the load");
        assert!(
            err.to_string().contains("is locked by another process"),
            "{err}"
        );
        // The store's readers: the log and the keys as they were.
        assert_eq!(store.head().await.unwrap(), 0);
        assert!(store.read(0, 10).await.unwrap().is_empty());
        assert_eq!(key_table(&store).await.0, vec![key(1).id]);

        store.end_load().await.unwrap();
        assert_eq!(journal_mode(&path), "wal");
        assert!(!file(&path, "-journal").exists());
        assert_eq!(store.head().await.unwrap(), 1 + n as u64);
        assert_eq!(key_table(&store).await.0, vec![key(1).id, key(2).id]);
        assert_chained(&all(&store).await);
        assert_eq!(events_indexes(&path), (NAMED.map(String::from).to_vec(), 3));
        // Appends go on, through the log.
        append_one(&store, "a", numbered(1)).await;
        assert!(file(&path, "-wal").exists());
    }

    /// A load while another connection has the file open goes through the
    /// write-ahead log: that connection reads the log as it was throughout.
    #[tokio::test]
    async fn a_load_beside_another_connection_goes_through_the_log() {
        let (_dir, path, store) = temp_store();
        let other = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let count = |c: &rusqlite::Connection| {
            c.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
                .unwrap()
        };
        assert_eq!(count(&other), 0);
        assert!(store.begin_load().await.unwrap());
        let n = spill(&store).await;
        assert!(file(&path, "-wal").exists());
        assert!(!file(&path, "-journal").exists());
        assert_eq!(count(&other), 0);
        assert_eq!(store.head().await.unwrap(), 0);
        store.end_load().await.unwrap();
        assert_eq!(count(&other), n as i64);
        assert_eq!(store.head().await.unwrap(), n as u64);
    }

    /// A crash in the middle of a load without the log leaves its journal:
    /// the next open rolls the load back, to the store as it was before it.
    #[tokio::test]
    async fn a_crash_during_a_load_without_the_log_is_rolled_back_on_open() {
        let (dir, path, store) = temp_store();
        init_keys(&store).await;
        assert!(store.begin_load().await.unwrap());
        let mut made = batch(vec![pending("a", None, numbered(0))]);
        made.make_keys = making(vec![key(1)]);
        EventLog::append(&store, made).await.unwrap();
        spill(&store).await;
        // The files as a crash now would leave them.
        let crashed = dir.path().join("crashed.db");
        std::fs::copy(&path, &crashed).unwrap();
        std::fs::copy(file(&path, "-journal"), file(&crashed, "-journal")).unwrap();
        // Pages of the load are in the file, beside the journal of what it held.
        assert!(std::fs::metadata(&crashed).unwrap().len() > 16 << 20);
        store.close().await;

        let reopened = SqliteStore::open(&crashed).unwrap();
        assert_eq!(reopened.head().await.unwrap(), 0);
        assert!(!file(&crashed, "-journal").exists());
        assert_eq!(journal_mode(&crashed), "wal");
        assert_eq!(
            events_indexes(&crashed),
            (NAMED.map(String::from).to_vec(), 3)
        );
        let (live, _, _) = key_table(&reopened).await;
        assert!(live.is_empty(), "{live:?}");
        append_one(&reopened, "a", numbered(1)).await;
        assert_eq!(reopened.head().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_load_refuses_erasures_and_rotations_and_goes_on() {
        let (_dir, _path, store) = temp_store();
        init_keys(&store).await;
        assert!(store.begin_load().await.unwrap());
        let mut made = batch(vec![pending("a", None, numbered(0))]);
        made.make_keys = making(vec![key(1)]);
        EventLog::append(&store, made).await.unwrap();
        let mut erase = batch(vec![pending("erasure", None, numbered(1))]);
        erase.erase = vec![key(1).id];
        let err = EventLog::append(&store, erase).await.unwrap_err();
        assert!(
            err.to_string().contains("erase once the load has ended"),
            "{err}"
        );
        let err = store
            .write_keys(KeyOp::Rotate {
                from: FINGERPRINT.into(),
                to: keyring_record("ffeeddccbbaa9988"),
                rewrapped: vec![(key(1).id, vec![7; 72])],
            })
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("rotate once the load has ended"),
            "{err}"
        );
        let next = append_one(&store, "a", numbered(2)).await;
        assert_eq!((next.event.position, next.event.version), (2, 2));
        store.end_load().await.unwrap();
        assert_eq!(store.head().await.unwrap(), 2);
        assert_eq!(key_table(&store).await, (vec![key(1).id], Vec::new(), 0));
    }

    /// Makes the store at `path` one of schema 2: unique constraints
    /// declared in the table, as that version made them.
    fn as_schema_2(path: &Path) {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(
            "BEGIN;
             DROP TABLE events;
             CREATE TABLE events (
                 position       INTEGER PRIMARY KEY CHECK (position >= 1),
                 id             TEXT    NOT NULL UNIQUE,
                 stream         TEXT    NOT NULL,
                 version        INTEGER NOT NULL CHECK (version >= 1),
                 schema_version INTEGER NOT NULL,
                 type           TEXT    NOT NULL,
                 programme      TEXT    NOT NULL,
                 occurred_at    TEXT    NOT NULL,
                 data           TEXT    NOT NULL,
                 recorded_at    TEXT    NOT NULL,
                 recorded_by    TEXT    NOT NULL,
                 hash           BLOB    NOT NULL CHECK (length(hash) = 32),
                 UNIQUE (stream, version)
             ) STRICT;
             PRAGMA user_version = 2;
             COMMIT;",
        )
        .unwrap();
    }

    #[tokio::test]
    async fn a_store_of_schema_2_is_written_as_it_is_and_a_load_makes_it_schema_3() {
        let (_dir, path, store) = temp_store();
        store.close().await;
        as_schema_2(&path);
        let autoindexes = |path: &Path| {
            let (names, version) = events_indexes(path);
            assert!(names
                .iter()
                .all(|n| n.starts_with("sqlite_autoindex_events")));
            (names.len(), version)
        };
        assert_eq!(autoindexes(&path), (2, 2));

        // Written as it is: its own constraints keep ids and versions unique.
        let store = SqliteStore::open(&path).unwrap();
        let first = numbered(0);
        append_one(&store, "a", first.clone()).await;
        let retry = append(&store, vec![pending("b", None, first)])
            .await
            .unwrap();
        assert!(!retry[0].created);
        let err = append(&store, vec![pending("a", Some(0), numbered(1))])
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { actual: 1, .. }),
            "{err}"
        );
        assert!(!store.begin_load().await.unwrap());
        store.close().await;
        assert_eq!(autoindexes(&path), (2, 2));

        // Empty, it becomes a store of schema 3 when a load fills it.
        let (_dir, path, store) = temp_store();
        store.close().await;
        as_schema_2(&path);
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.begin_load().await.unwrap());
        append_one(&store, "a", numbered(0)).await;
        store.end_load().await.unwrap();
        assert_eq!(events_indexes(&path), (NAMED.map(String::from).to_vec(), 3));
        let conn = rusqlite::Connection::open(&path).unwrap();
        let err = conn.execute("DELETE FROM events", []).unwrap_err();
        assert!(err.to_string().contains("events are append-only"), "{err}");
    }
}

// ---------------------------------------------------------------------------
// PostgreSQL only: its triggers, its schema versions, several instances on
// one schema, connections lost and made again
// ---------------------------------------------------------------------------

mod postgres_db {
    use super::*;

    async fn temp_store() -> (ScratchSchema, PostgresStore) {
        let schema = ScratchSchema::new().await;
        let store = PostgresStore::create(&schema.url()).await.unwrap();
        (schema, store)
    }

    /// Ends the backends of one role of the stores on `schema` (`writer`,
    /// `reader`, `listener`), waiting until they are gone; answers how many.
    async fn terminate(schema: &ScratchSchema, role: &str) -> usize {
        let name = format!("passerelle {role} {}", schema.name());
        let rows = pg_connect(schema.base_url())
            .await
            .query(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity \
                 WHERE application_name = $1",
                &[&name],
            )
            .await
            .unwrap();
        rows.iter().filter(|r| r.get::<_, bool>(0)).count()
    }

    /// A caller that stops waiting while the turn is being taken (a client
    /// gone) leaves a turn the next caller gets.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_turn_abandoned_while_it_is_taken_does_not_stop_the_next() {
        let (schema, store) = temp_store().await;
        // Another process holds the turn, so taking it waits.
        let other = pg_connect(&schema.url()).await;
        let lock = "hashtext('passerelle turn'), hashtext(current_schema())";
        other
            .execute(&format!("SELECT pg_advisory_lock({lock})"), &[])
            .await
            .unwrap();
        let waiting = timeout(Duration::from_millis(200), store.turn()).await;
        assert!(waiting.is_err(), "the turn was taken while another held it");
        other
            .execute(&format!("SELECT pg_advisory_unlock({lock})"), &[])
            .await
            .unwrap();
        let turn = timeout(BOUND, store.turn())
            .await
            .expect("the next caller gets the turn")
            .expect("a turn");
        drop(turn);
        append_one(&store, "a", numbered(0)).await;
    }

    #[tokio::test]
    async fn triggers_refuse_update_delete_and_truncate() {
        let (schema, store) = temp_store().await;
        append_one(&store, "a", numbered(0)).await;
        let conn = pg_connect(&schema.url()).await;
        for sql in [
            "UPDATE events SET data = '{}'",
            "UPDATE events SET position = 7",
            "DELETE FROM events",
            "TRUNCATE events",
        ] {
            let err = conn.batch_execute(sql).await.unwrap_err();
            let message = err.as_db_error().map(|e| e.message().to_owned());
            assert_eq!(
                message.as_deref(),
                Some("events are append-only"),
                "{sql}: {err:?}"
            );
        }
        for sql in ["DELETE FROM log_head", "TRUNCATE log_head"] {
            let err = conn.batch_execute(sql).await.unwrap_err();
            assert!(format!("{err:?}").contains("the log head is kept"), "{sql}");
        }
        let stored = all(&store).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].record.data, r#"{"n":0}"#);
    }

    #[tokio::test]
    async fn create_opens_the_store_there_and_open_refuses_an_empty_schema() {
        let schema = ScratchSchema::new().await;
        let url = schema.url();
        let err = PostgresStore::open(&url).await.err().unwrap();
        assert_eq!(err, StoreError::Missing(url.clone()));
        assert!(err.to_string().contains("create one with"), "{err}");
        let err = PostgresStore::peek_fingerprint(&url).await.unwrap_err();
        assert_eq!(err, StoreError::Missing(url.clone()));

        let store = PostgresStore::create(&url).await.unwrap();
        assert!(store.created());
        assert_eq!(store.display_url(), url);
        append_one(&store, "a", numbered(0)).await;
        store.close().await;
        let store = PostgresStore::open(&url).await.unwrap();
        assert!(!store.created());
        store.close().await;
        let store = PostgresStore::create(&url).await.unwrap();
        assert!(!store.created());
        assert_eq!(store.head().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn peek_fingerprint_reads_the_keyring_without_a_writer() {
        let (schema, store) = temp_store().await;
        assert_eq!(
            PostgresStore::peek_fingerprint(&schema.url())
                .await
                .unwrap(),
            None
        );
        init_keys(&store).await;
        assert_eq!(
            PostgresStore::peek_fingerprint(&schema.url())
                .await
                .unwrap()
                .as_deref(),
            Some(FINGERPRINT)
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_backend_error_without_the_password() {
        let url = "postgres://someone:hunter2@127.0.0.1:1/test";
        for err in [
            PostgresStore::open(url).await.err().unwrap(),
            PostgresStore::create(url).await.err().unwrap(),
            PostgresStore::peek_fingerprint(url).await.unwrap_err(),
        ] {
            let StoreError::Backend(message) = &err else {
                panic!("{err:?}");
            };
            assert!(
                message.starts_with("postgres://someone:***@127.0.0.1:1/test: "),
                "{message}"
            );
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[tokio::test]
    async fn a_newer_schema_is_refused() {
        let (schema, store) = temp_store().await;
        store.close().await;
        pg_connect(&schema.url())
            .await
            .batch_execute("INSERT INTO passerelle_schema (version) VALUES (99)")
            .await
            .unwrap();
        let url = schema.url();
        let errors = [
            PostgresStore::open(&url).await.err().unwrap(),
            PostgresStore::create(&url).await.err().unwrap(),
            PostgresStore::peek_fingerprint(&url).await.unwrap_err(),
        ];
        for err in errors {
            assert!(err.to_string().contains("schema version 99"), "{err}");
        }
    }

    #[tokio::test]
    async fn create_refuses_a_schema_whose_tables_are_not_a_store() {
        let schema = ScratchSchema::new().await;
        pg_connect(&schema.url())
            .await
            .batch_execute("CREATE TABLE events (x INTEGER)")
            .await
            .unwrap();
        let err = PostgresStore::create(&schema.url()).await.err().unwrap();
        assert!(
            err.to_string().contains("is not a Passerelle store"),
            "{err}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn create_from_two_tasks_at_once_makes_one_store() {
        let schema = ScratchSchema::new().await;
        let url = schema.url();
        let (a, b) = tokio::join!(
            tokio::spawn({
                let url = url.clone();
                async move { PostgresStore::create(&url).await }
            }),
            tokio::spawn({
                let url = url.clone();
                async move { PostgresStore::create(&url).await }
            }),
        );
        let (a, b) = (a.unwrap().unwrap(), b.unwrap().unwrap());
        assert!(a.created() != b.created(), "exactly one made the schema");
        append_one(&a, "a", numbered(0)).await;
        append_one(&b, "a", numbered(1)).await;
        assert_chained(&all(&a).await);
        let versions: i64 = pg_connect(&url)
            .await
            .query_one("SELECT count(*) FROM passerelle_schema", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(versions, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn another_instances_appends_wake_a_follower_in_order() {
        let (schema, follower) = temp_store().await;
        let writer = PostgresStore::open(&schema.url()).await.unwrap();
        let mut sub = follower.subscribe(0);
        let mut heads = follower.head_changes();
        async fn next(
            sub: &mut futures::stream::BoxStream<'static, Result<RawEvent, StoreError>>,
            n: u64,
        ) -> RawEvent {
            timeout(BOUND, sub.next())
                .await
                .unwrap_or_else(|_| panic!("no event {n} reached the follower"))
                .expect("subscription ended")
                .expect("read")
        }

        // Once the follower's head moved, its listener is listening.
        append_one(&writer, "a", numbered(0)).await;
        timeout(BOUND, heads.wait_for(|&h| h >= 1))
            .await
            .expect("the follower never learnt the first append")
            .unwrap();
        for n in 1..50 {
            append_one(&writer, "a", numbered(n)).await;
        }
        // Only the listener moves the follower's head: its writer appended
        // nothing, and its subscription's poll reads events, not heads.
        timeout(BOUND, heads.wait_for(|&h| h == 50))
            .await
            .expect("no notification reached the follower")
            .unwrap();
        for n in 1..=50 {
            assert_eq!(next(&mut sub, n).await.position, n);
        }

        // Without its listener's connection, the follower still gets every
        // event once, in order; and the listener comes back.
        assert!(terminate(&schema, "listener").await >= 1);
        for n in 50..100 {
            append_one(&writer, "b", numbered(n)).await;
        }
        for n in 51..=100 {
            assert_eq!(next(&mut sub, n).await.position, n);
        }
        timeout(BOUND, heads.wait_for(|&h| h == 100))
            .await
            .expect("the listener did not come back")
            .unwrap();
        append_one(&writer, "c", numbered(100)).await;
        assert_eq!(next(&mut sub, 101).await.position, 101);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_store_recovers_when_its_connections_are_ended() {
        let (schema, store) = temp_store().await;
        for n in 0..3 {
            append_one(&store, "a", numbered(n)).await;
        }
        assert_eq!(store.head().await.unwrap(), 3);

        // The writer's connection ended between two appends: the next one
        // fails cleanly or succeeds, and the one after succeeds.
        assert_eq!(terminate(&schema, "writer").await, 1);
        let sent = numbered(3);
        match append(&store, vec![pending("a", None, sent.clone())]).await {
            Ok(out) => assert!(out[0].created),
            Err(e) => assert!(matches!(e, StoreError::Backend(_)), "{e:?}"),
        }
        let retried = append(&store, vec![pending("a", None, sent)])
            .await
            .unwrap();
        assert_eq!(retried[0].event.position, 4);
        append_one(&store, "a", numbered(4)).await;

        // The readers' connections ended: reads go on through new ones.
        assert!(terminate(&schema, "reader").await >= 1);
        assert_eq!(store.head().await.unwrap(), 5);
        assert_eq!(store.stream_version("a").await.unwrap(), 5);
        assert_chained(&all(&store).await);

        // Ended again and again while appends are under way: every append is
        // answered, each one acknowledged is stored, nothing else is, and the
        // log stays gap-free.
        let tasks: Vec<_> = (0..4)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut acknowledged = Vec::new();
                    let mut sent = Vec::new();
                    for i in 0..100 {
                        let r = record(&format!(r#"{{"task":{t},"i":{i}}}"#));
                        sent.push(r.id);
                        match append(&store, vec![pending(&format!("t{t}"), None, r)]).await {
                            Ok(out) => acknowledged.push(out[0].event.record.id),
                            Err(e) => assert!(matches!(e, StoreError::Backend(_)), "{e:?}"),
                        }
                    }
                    (acknowledged, sent)
                })
            })
            .collect();
        let mut ended = 0;
        while ended < 5 && !tasks.iter().all(|t| t.is_finished()) {
            ended += terminate(&schema, "writer").await;
            tokio::task::yield_now().await;
        }
        let (mut acknowledged, mut sent) = (Vec::new(), Vec::new());
        for task in tasks {
            let (a, s) = timeout(BOUND, task)
                .await
                .expect("appends stalled")
                .unwrap();
            acknowledged.extend(a);
            sent.extend(s);
        }
        let stored = all(&store).await;
        assert_chained(&stored);
        let stored_ids = ids(&stored);
        for id in &acknowledged {
            assert!(stored_ids.contains(id), "an acknowledged append was lost");
        }
        for id in &stored_ids[5..] {
            assert!(sent.contains(id), "an event nobody sent was stored");
        }
        append_one(&store, "a", numbered(999)).await;
    }

    #[tokio::test]
    async fn an_erasure_deletes_the_key_row_and_vacuums_the_key_table() {
        let (schema, store) = temp_store().await;
        init_keys(&store).await;
        let mut made = batch(vec![pending("a", None, numbered(0))]);
        made.make_keys = making(vec![key(1), key(2)]);
        EventLog::append(&store, made).await.unwrap();
        // Read through a fresh connection each time: statistics are read
        // once per transaction.
        let vacuums = || async {
            pg_connect(&schema.url())
                .await
                .query_one(
                    "SELECT vacuum_count FROM pg_stat_user_tables \
                     WHERE schemaname = current_schema() AND relname = 'subject_keys'",
                    &[],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
        };
        let before = vacuums().await;

        let mut erase = batch(vec![pending("erasure", None, numbered(1))]);
        erase.erase = vec![key(1).id];
        EventLog::append(&store, erase).await.unwrap();
        let rows: Vec<String> = pg_connect(&schema.url())
            .await
            .query("SELECT id FROM subject_keys", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(rows, [key(2).id]);
        // Answered after the vacuum.
        let after = vacuums().await;
        assert!(
            after > before,
            "no VACUUM after the erasure ({before} → {after})"
        );
    }
}

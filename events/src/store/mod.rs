//! Event stores: the append-only log behind the `eventually` 0.4 traits.
//!
//! [`EventLog`] is what every store offers beyond those traits: atomic batches
//! across streams, idempotent append by event id, a guard on the log head
//! (so that validation and append see the same log), reads by position and a
//! catch-up-then-live subscription. [`impl_eventually!`](crate::impl_eventually) implements
//! `eventually::EventStore` and `eventually::EventSubscriber` on top of it for
//! each store. The rules every store must keep are tested once, in
//! `events/tests/store_contract.rs`.
//!
//! Stores know nothing of the domain rules: they store records as text and
//! never decode `data` except in [`RawEvent::decode`]. Beside the log, every
//! store keeps the key table of [`keys`]: the subjects' data keys, wrapped,
//! which only an erasure ever deletes.

pub mod keys;
pub mod memory;
pub mod postgres;
mod sql;
pub mod sqlite;
pub mod tls;
pub mod turns;
mod writer;

use foldhash::{HashMap, HashMapExt};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::envelope::{format_recorded_at, NewEvent, StoredEvent};
use crate::error::FieldError;
use crate::event::{Event, SCHEMA_VERSION};
use crate::values::{OccurredAt, ProgrammeId};

pub use keys::{
    KeyChanges, KeyEntry, KeyOp, KeyOpDone, KeyringRecord, KeysSince, KeysToMake, NewKey,
};
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use turns::WriteTurn;

/// How many events a subscription reads from the store at a time.
pub const PAGE: usize = 1024;

/// How often a live subscription looks for events appended by another process
/// (events appended through this process wake it at once, and so do those of
/// another process where the store tells: PostgreSQL's notifications).
pub const POLL: Duration = Duration::from_millis(500);

/// An event as a store keeps it: every field as canonical text. The default
/// is an empty record (the nil id), what an applied request's place keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventRecord {
    /// Event id.
    pub id: Uuid,
    /// Event type name.
    pub event_type: String,
    /// Programme id.
    pub programme: String,
    /// Canonical RFC 3339 occurred-at.
    pub occurred_at: String,
    /// Canonical JSON of `data`.
    pub data: String,
    /// The actor who recorded it.
    pub recorded_by: String,
    /// Set by the store on append, unless carried over by `import`.
    pub recorded_at: Option<String>,
}

impl EventRecord {
    /// The canonical record of `event`, recorded by `recorded_by`.
    pub fn new(event: &NewEvent, recorded_by: &str, recorded_at: Option<DateTime<Utc>>) -> Self {
        Self {
            id: event.id,
            event_type: event.event.type_name().to_owned(),
            programme: event.programme.as_str().to_owned(),
            occurred_at: event.occurred_at.to_canonical(),
            data: serde_json::to_string(&event.event.data())
                .expect("event payloads always serialise"),
            recorded_by: recorded_by.to_owned(),
            recorded_at: recorded_at.map(format_recorded_at),
        }
    }

    /// Whether two records say the same thing (who recorded it and when aside):
    /// an idempotent retry must.
    pub fn same_content(&self, other: &EventRecord) -> bool {
        self.id == other.id
            && self.event_type == other.event_type
            && self.programme == other.programme
            && self.occurred_at == other.occurred_at
            && self.data == other.data
    }
}

/// One event to append, with its stream and optional optimistic guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The stream it goes to.
    pub stream: String,
    /// If set, the stream must be at exactly this version just before this event.
    pub expected: Option<u64>,
    /// The event.
    pub record: EventRecord,
}

/// An atomic batch: every event is appended, or none is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppendRequest {
    /// The events, in order.
    pub events: Vec<Pending>,
    /// If set, the log head the batch was validated against: the first new
    /// event must get position `log_head + 1`, or the batch is refused as stale.
    pub log_head: Option<u64>,
    /// With `log_head`: the id of the event the batch was validated after
    /// (the one at position `log_head`; `None` for an empty log or no check).
    /// The batch is also refused as stale when another event holds that
    /// position: a writer that validated on top of a batch still in flight
    /// learns that the batch failed even when a third writer appended as many
    /// events in its place.
    pub head_id: Option<Uuid>,
    /// Data keys to make in the same transaction, before its events: the
    /// keys of subjects whose first personal field the batch writes.
    pub make_keys: Option<KeysToMake>,
    /// Data keys to destroy in the same transaction (an erasure: the batch is
    /// its `PersonalDataErased` event). Each must be live, or the batch is
    /// refused with [`StoreError::KeyGone`]; a retried batch whose events are
    /// all stored already destroys nothing.
    pub erase: Vec<String>,
}

/// A stored event as text, with its place in the log and its chain hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    /// Global position, from 1.
    pub position: u64,
    /// Stream.
    pub stream: String,
    /// Version within the stream, from 1.
    pub version: u64,
    /// Schema version of `data`.
    pub schema_version: u32,
    /// The event; `recorded_at` is always set.
    pub record: EventRecord,
    /// `sha256(previous hash ‖ this event's fields)`.
    pub hash: [u8; 32],
}

impl RawEvent {
    /// When the store recorded it.
    pub fn recorded_at(&self) -> Result<DateTime<Utc>, FieldError> {
        Ok(self
            .record
            .recorded_at
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .ok_or_else(|| FieldError::new("recorded_at", "must be an RFC 3339 time"))?
            .with_timezone(&Utc))
    }

    /// Decodes the typed event. An error names what does not decode.
    pub fn decode(&self) -> Result<StoredEvent, FieldError> {
        let r = &self.record;
        let data: serde_json::Value = serde_json::from_str(&r.data)
            .map_err(|e| FieldError::new("data", format!("is not JSON: {e}")))?;
        let event = Event::from_parts(&r.event_type, &data)?;
        let programme =
            ProgrammeId::parse(&r.programme).map_err(|m| FieldError::new("programme", m))?;
        let occurred_at = OccurredAt::parse_stored(&r.occurred_at)
            .map_err(|m| FieldError::new("occurred_at", m))?;
        let recorded_at = self.recorded_at()?;
        if self.schema_version != SCHEMA_VERSION {
            return Err(FieldError::new(
                "schema_version",
                format!(
                    "is {}, this version reads {SCHEMA_VERSION}",
                    self.schema_version
                ),
            ));
        }
        Ok(StoredEvent {
            position: self.position,
            stream: self.stream.clone(),
            version: self.version,
            schema_version: self.schema_version,
            recorded_at,
            recorded_by: r.recorded_by.clone(),
            event: NewEvent {
                id: r.id,
                programme,
                occurred_at,
                event,
            },
        })
    }
}

/// The hash that chains `raw` to the event before it: SHA-256 over the
/// previous hash and every stored field, each prefixed by its length.
pub fn chain_hash(previous: &[u8; 32], raw: &RawEvent) -> [u8; 32] {
    let r = &raw.record;
    let mut h = Sha256::new();
    h.update(previous);
    let position = raw.position.to_string();
    let version = raw.version.to_string();
    let schema = raw.schema_version.to_string();
    let id = r.id.to_string();
    let fields: [&str; 11] = [
        &position,
        &id,
        &raw.stream,
        &version,
        &schema,
        &r.event_type,
        &r.programme,
        &r.occurred_at,
        &r.data,
        r.recorded_at.as_deref().unwrap_or(""),
        &r.recorded_by,
    ];
    for f in fields {
        h.update((f.len() as u64).to_le_bytes());
        h.update(f.as_bytes());
    }
    h.finalize().into()
}

/// The result of appending one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The stored event (the original one for an idempotent retry).
    pub event: RawEvent,
    /// False when the same id and content were already stored.
    pub created: bool,
}

/// What can go wrong in a store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The stream is not at the expected version. HTTP 409.
    #[error("version conflict on stream {stream}: expected version {expected}, found {actual}")]
    Conflict {
        /// The stream.
        stream: String,
        /// The version the caller expected.
        expected: u64,
        /// The stream's version.
        actual: u64,
    },
    /// The id is already stored with other content. HTTP 409.
    #[error("event id {id} is already stored with different content")]
    IdReused {
        /// The event id.
        id: Uuid,
    },
    /// The log moved on since the batch was validated; validate again. Retried
    /// inside the ledger, never shown to a client. `expected == actual` means
    /// the event at that position is not the one the batch was validated after.
    #[error(
        "the batch was validated at log head {expected}, but the log's head is {actual} \
         or holds another event there"
    )]
    Stale {
        /// The head the batch was validated against.
        expected: u64,
        /// The head found.
        actual: u64,
    },
    /// The log refuses to remove or change events. HTTP 405.
    #[error("the log is append-only: events are never removed or changed")]
    AppendOnly,
    /// A stored event does not read back. HTTP 500.
    #[error("stored event at position {position} is corrupt: {reason}")]
    Corrupt {
        /// Its position.
        position: u64,
        /// What is wrong.
        reason: String,
    },
    /// A position or version does not fit the `eventually` 0.4 traits' `u32`.
    #[error("position or version {0} exceeds the u32 range of the eventually 0.4 traits")]
    Overflow(u64),
    /// The store file does not exist. A user error, HTTP 500 if ever seen there.
    #[error("no store at {0}; create one with `passerelle init`")]
    Missing(String),
    /// The store was shut down.
    #[error("the store is closed")]
    Closed,
    /// A data key to destroy is not live: destroyed already, or never made.
    /// HTTP 409 (an erasure that was done already).
    #[error("data key {id} is not live: it was destroyed already, or never made")]
    KeyGone {
        /// The key id.
        id: String,
    },
    /// The store's keys are wrapped by another master key than the one this
    /// process holds (rotated while it ran). HTTP 503.
    #[error(
        "the store's keys are now wrapped by master key {found}, not {expected}: \
         the master key was rotated; restart with the new key"
    )]
    KeyringChanged {
        /// The fingerprint this process holds.
        expected: String,
        /// The store's.
        found: String,
    },
    /// The store has no keyring yet (`passerelle init` makes it). HTTP 500.
    #[error("the store has no keyring yet; run passerelle init")]
    NoKeyring,
    /// A key cannot be stored as asked. HTTP 409.
    #[error("key table: {0}")]
    KeyConflict(String),
    /// A batch would make a data key for a subject that has one now (another
    /// writer made it first): seal again and retry. Retried inside the
    /// ledger, never shown to a client.
    #[error("a data key for a subject of the batch was made meanwhile; seal again")]
    KeyRace,
    /// The database failed. HTTP 503.
    #[error("storage error: {0}")]
    Backend(String),
}

impl eventually::store::AppendError for StoreError {
    fn is_conflict_error(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// What every store offers. Handles are cheap clones sharing one store.
///
/// `append` submits its batch when it is **called**, not when the future is
/// first polled: batches submitted one after another through one store are
/// committed in that order.
pub trait EventLog: Clone + Send + Sync + 'static {
    /// Appends a batch atomically; answers once it is durable (during a
    /// load, once the load has ended: [`EventLog::begin_load`]).
    fn append(
        &self,
        request: AppendRequest,
    ) -> BoxFuture<'static, Result<Vec<Appended>, StoreError>>;

    /// Up to `limit` events with position greater than `after`, in order.
    fn read(
        &self,
        after: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<RawEvent>, StoreError>>;

    /// Up to `limit` events of `stream` with version at least `from_version`.
    fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<RawEvent>, StoreError>>;

    /// The current version of `stream` (0 if it has no event).
    fn stream_version(&self, stream: &str) -> BoxFuture<'static, Result<u64, StoreError>>;

    /// The position of the last stored event (0 for an empty log).
    fn head(&self) -> BoxFuture<'static, Result<u64, StoreError>>;

    /// Wakes when this process appends (and when another process does, where
    /// the store hears of it: PostgreSQL); carries the head it knows.
    fn head_changes(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Changes the key table (see [`keys`]); durable when it answers.
    fn write_keys(&self, op: KeyOp) -> BoxFuture<'static, Result<KeyOpDone, StoreError>>;

    /// Reads the key table: the keyring record and the keys a reader lacks.
    fn read_keys(&self, since: KeysSince) -> BoxFuture<'static, Result<KeyChanges, StoreError>>;

    /// Begins a load into an empty log, for an import: until
    /// [`EventLog::end_load`], appends and key changes go on as always
    /// (each append all or nothing, answered in call order), but they become
    /// durable and visible to other readers only at the end, together, and
    /// the store may check its uniqueness rules over all of them there
    /// instead of one by one. Answers whether a load began; `false` when the
    /// log holds events or the store has no such mode, and then nothing
    /// changes. Erasures and key rotations are refused during a load.
    fn begin_load(&self) -> BoxFuture<'static, Result<bool, StoreError>> {
        Box::pin(async { Ok(false) })
    }

    /// Ends the load [`EventLog::begin_load`] began, making what it
    /// appended durable; an error means nothing of it was kept. Does nothing
    /// when no load began.
    fn end_load(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    /// A turn at writing ([`turns`]): the ledger holds one from before it
    /// validates a batch until the store has answered it, so that the
    /// processes sharing a store do not keep refusing each other's batches
    /// as stale. A store that only this process writes needs none.
    fn turn(&self) -> BoxFuture<'static, Result<WriteTurn, StoreError>> {
        Box::pin(async { Ok(WriteTurn::solo()) })
    }

    /// Every event after `after`, then every event appended later, each
    /// exactly once and in order. Reads pages from the store and waits for the
    /// head to move; there is no buffer that could drop or repeat an event.
    fn subscribe(&self, after: u64) -> BoxStream<'static, Result<RawEvent, StoreError>> {
        let store = self.clone();
        let changes = self.head_changes();
        let state = (
            store,
            changes,
            after,
            Vec::<RawEvent>::new().into_iter(),
            false,
        );
        stream::unfold(
            state,
            |(store, mut changes, mut after, mut buf, failed)| async move {
                if failed {
                    return None;
                }
                loop {
                    if let Some(e) = buf.next() {
                        after = e.position;
                        return Some((Ok(e), (store, changes, after, buf, false)));
                    }
                    match store.read(after, PAGE).await {
                        Err(e) => return Some((Err(e), (store, changes, after, buf, true))),
                        Ok(page) if !page.is_empty() => buf = page.into_iter(),
                        Ok(_) => {
                            // Caught up: wait for this process to append, or poll
                            // for another process's appends.
                            changes.borrow_and_update();
                            let _ = tokio::time::timeout(POLL, changes.changed()).await;
                        }
                    }
                }
            },
        )
        .boxed()
    }
}

/// Lookups and writes one append needs; [`apply_append`] holds the rules.
pub(crate) trait AppendTarget {
    /// A stored (or earlier in this batch) event with this id.
    fn find_id(&mut self, id: &Uuid) -> Result<Option<RawEvent>, StoreError>;
    /// The stream's current version, this batch included.
    fn stream_version(&mut self, stream: &str) -> Result<u64, StoreError>;
    /// The head position and its hash, this batch included.
    fn last(&mut self) -> Result<(u64, [u8; 32]), StoreError>;
    /// The id of the stored event at `position` (before this batch's events).
    fn id_at(&mut self, position: u64) -> Result<Option<Uuid>, StoreError>;
    /// Stores one event, unless an event with its id is stored already (or
    /// earlier in this batch): that one is answered and nothing is written.
    /// The id is looked up once, by the insert itself where the store can.
    fn insert(&mut self, raw: &RawEvent) -> Result<Option<RawEvent>, StoreError>;
    /// Makes data keys ([`keys::make_keys`]).
    fn make_keys(&mut self, make: &KeysToMake, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Destroys a live data key ([`keys::erase_key`]).
    fn erase(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
}

/// The append rules, the same for every store: idempotency by id, the head
/// guard, per-stream expected versions, gap-free positions, the hash chain,
/// and the keys an erasure destroys with its event. The caller makes it
/// atomic (a transaction, or a staged copy).
pub(crate) fn apply_append(
    target: &mut impl AppendTarget,
    request: &mut AppendRequest,
    at: DateTime<Utc>,
) -> Result<Vec<Appended>, StoreError> {
    let now = format_recorded_at(at);
    if let Some(make) = &request.make_keys {
        target.make_keys(make, at)?;
    }
    let mut out = Vec::with_capacity(request.events.len());
    let mut guard = request.log_head;
    // What this request has written: the head, its hash and the versions of
    // the streams it touched, so that each event after the first is placed
    // without reading them back.
    let mut tip: Option<(u64, [u8; 32])> = None;
    let mut versions: HashMap<&str, u64> = HashMap::new();
    for Pending {
        stream,
        expected,
        record: sent,
    } in &mut request.events
    {
        let stream: &str = stream;
        let (head, previous) = match tip {
            Some(tip) => tip,
            None => target.last()?,
        };
        // The head guard holds from the first new event on; an event already
        // stored is answered as it is, whatever the guard and its expected
        // version say (a retry of a request that was stored).
        let refusal = match guard {
            Some(expected) if expected != head => Some(StoreError::Stale {
                expected,
                actual: head,
            }),
            Some(expected)
                if request.head_id.is_some() && target.id_at(head)? != request.head_id =>
            {
                Some(StoreError::Stale {
                    expected,
                    actual: head,
                })
            }
            _ => None,
        };
        let version = match versions.get(stream) {
            Some(&v) => v,
            None => target.stream_version(stream)?,
        };
        let refusal = refusal.or_else(|| match *expected {
            Some(expected) if expected != version => Some(StoreError::Conflict {
                stream: stream.to_owned(),
                expected,
                actual: version,
            }),
            _ => None,
        });
        if let Some(refusal) = refusal {
            match target.find_id(&sent.id)? {
                Some(existing) => {
                    out.push(answer_existing(existing, sent)?);
                    continue;
                }
                None => return Err(refusal),
            }
        }
        // Moved, not copied: the request is not read again once applied.
        let mut record = std::mem::take(sent);
        record.recorded_at.get_or_insert_with(|| now.clone());
        let mut raw = RawEvent {
            position: head + 1,
            stream: stream.to_owned(),
            version: version + 1,
            schema_version: SCHEMA_VERSION,
            record,
            hash: [0; 32],
        };
        raw.hash = chain_hash(&previous, &raw);
        if let Some(existing) = target.insert(&raw)? {
            out.push(answer_existing(existing, &raw.record)?);
            continue;
        }
        guard = None;
        tip = Some((raw.position, raw.hash));
        versions.insert(stream, raw.version);
        out.push(Appended {
            event: raw,
            created: true,
        });
    }
    if out.iter().any(|a| a.created) {
        for id in &request.erase {
            target.erase(id, at)?;
        }
    }
    Ok(out)
}

/// A stored event with the id of one asked for: the same event (answered
/// as not created), or another one under a reused id (refused).
fn answer_existing(existing: RawEvent, asked: &EventRecord) -> Result<Appended, StoreError> {
    if !existing.record.same_content(asked) {
        return Err(StoreError::IdReused { id: asked.id });
    }
    Ok(Appended {
        event: existing,
        created: false,
    })
}

fn to_u32(n: u64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| StoreError::Overflow(n))
}

/// Wraps a raw event as `eventually`'s `Persisted`: the stream is the source
/// id, the stream version the version, the global position the sequence number.
pub fn persisted(
    raw: RawEvent,
) -> Result<eventually::store::Persisted<String, EventRecord>, StoreError> {
    let version = to_u32(raw.version)?;
    let position = to_u32(raw.position)?;
    Ok(eventually::store::Persisted::from(raw.stream, raw.record)
        .version(version)
        .sequence_number(position))
}

/// A paged stream of stored events with position greater than `after`, up to
/// the head at the time of reading.
pub fn read_all<S: EventLog>(
    store: S,
    after: u64,
) -> BoxStream<'static, Result<RawEvent, StoreError>> {
    stream::unfold(Some(after), move |cursor| {
        let store = store.clone();
        async move {
            let after = cursor?;
            match store.read(after, PAGE).await {
                Ok(page) if page.is_empty() => None,
                Ok(page) => {
                    let next = page.last().map(|e| e.position);
                    Some((stream::iter(page.into_iter().map(Ok)).boxed(), next))
                }
                Err(e) => Some((stream::once(async { Err(e) }).boxed(), None)),
            }
        }
    })
    .flatten()
    .boxed()
}

/// Implements `eventually` 0.4's `EventStore` and `EventSubscriber` for a
/// store that implements [`EventLog`].
///
/// `Select::From(n)` on `stream` selects stream versions `>= n`; on
/// `stream_all` it selects positions `>= n`. `subscribe_all` yields the events
/// appended after the call. `remove` is refused: the log is append-only.
#[macro_export]
macro_rules! impl_eventually {
    ($store:ty) => {
        impl eventually::EventStore for $store {
            type SourceId = String;
            type Event = $crate::store::EventRecord;
            type Error = $crate::store::StoreError;

            fn append(
                &mut self,
                source_id: String,
                version: eventually::store::Expected,
                events: Vec<$crate::store::EventRecord>,
            ) -> futures::future::BoxFuture<'_, Result<u32, $crate::store::StoreError>> {
                use $crate::store::EventLog as _;
                let expected = match version {
                    eventually::store::Expected::Any => None,
                    eventually::store::Expected::Exact(v) => Some(u64::from(v)),
                };
                if events.is_empty() {
                    let current = self.stream_version(&source_id);
                    return Box::pin(async move {
                        let v = current.await?;
                        match expected {
                            Some(e) if e != v => Err($crate::store::StoreError::Conflict {
                                stream: source_id,
                                expected: e,
                                actual: v,
                            }),
                            _ => {
                                u32::try_from(v).map_err(|_| $crate::store::StoreError::Overflow(v))
                            }
                        }
                    });
                }
                let request = $crate::store::AppendRequest {
                    events: events
                        .into_iter()
                        .enumerate()
                        .map(|(i, record)| $crate::store::Pending {
                            stream: source_id.clone(),
                            expected: if i == 0 { expected } else { None },
                            record,
                        })
                        .collect(),
                    log_head: None,
                    head_id: None,
                    make_keys: None,
                    erase: Vec::new(),
                };
                let submitted = $crate::store::EventLog::append(self, request);
                Box::pin(async move {
                    let appended = submitted.await?;
                    let v = appended.last().map(|a| a.event.version).unwrap_or(0);
                    u32::try_from(v).map_err(|_| $crate::store::StoreError::Overflow(v))
                })
            }

            fn stream(
                &self,
                source_id: String,
                select: eventually::store::Select,
            ) -> futures::future::BoxFuture<
                '_,
                Result<eventually::store::EventStream<'_, Self>, $crate::store::StoreError>,
            > {
                use futures::StreamExt as _;
                use $crate::store::EventLog as _;
                let from = match select {
                    eventually::store::Select::All => 0,
                    eventually::store::Select::From(v) => u64::from(v),
                };
                let read = self.read_stream(&source_id, from, usize::MAX);
                Box::pin(async move {
                    let events = read.await?;
                    Ok(
                        futures::stream::iter(events.into_iter().map($crate::store::persisted))
                            .boxed(),
                    )
                })
            }

            fn stream_all(
                &self,
                select: eventually::store::Select,
            ) -> futures::future::BoxFuture<
                '_,
                Result<eventually::store::EventStream<'_, Self>, $crate::store::StoreError>,
            > {
                use futures::StreamExt as _;
                let after = match select {
                    eventually::store::Select::All => 0,
                    eventually::store::Select::From(n) => u64::from(n).saturating_sub(1),
                };
                let events = $crate::store::read_all(self.clone(), after);
                Box::pin(
                    async move { Ok(events.map(|r| r.and_then($crate::store::persisted)).boxed()) },
                )
            }

            fn remove(
                &mut self,
                _source_id: String,
            ) -> futures::future::BoxFuture<'_, Result<(), $crate::store::StoreError>> {
                Box::pin(async { Err($crate::store::StoreError::AppendOnly) })
            }
        }

        impl eventually::EventSubscriber for $store {
            type SourceId = String;
            type Event = $crate::store::EventRecord;
            type Error = $crate::store::StoreError;

            fn subscribe_all(
                &self,
            ) -> futures::future::BoxFuture<
                '_,
                Result<eventually::subscription::EventStream<'_, Self>, $crate::store::StoreError>,
            > {
                use futures::StreamExt as _;
                use $crate::store::EventLog as _;
                let store = self.clone();
                Box::pin(async move {
                    let head = store.head().await?;
                    Ok(store
                        .subscribe(head)
                        .map(|r| r.and_then($crate::store::persisted))
                        .boxed())
                })
            }
        }
    };
}

impl_eventually!(MemoryStore);
impl_eventually!(SqliteStore);
impl_eventually!(PostgresStore);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Submission;

    /// `EventRecord::new` writes `data` straight to text; the text must be
    /// the one written through a `serde_json::Value` before, or events
    /// stored earlier would no longer compare equal on an idempotent retry.
    #[test]
    fn data_is_written_as_through_a_value() {
        let demo = include_str!("../../demo/demo.jsonl");
        let mut n = 0;
        for line in demo.lines().filter(|l| !l.trim().is_empty()) {
            let value = crate::json::parse(line.as_bytes()).expect("demo line");
            let sub = Submission::from_export(&value).expect("demo event");
            let record = EventRecord::new(&sub.event, "someone", None);
            assert_eq!(record.data, sub.event.event.data_json().to_string());
            n += 1;
        }
        assert!(n > 300, "{n} demo events");
    }
}

//! The ledger records commands against a store: it keeps the [`Registry`]
//! caught up with the log, decides with [`decide`], and appends with a guard
//! on the log head, so that every event is validated against exactly the log
//! that precedes it — also when another process appends to the same store.
//!
//! Validation happens under a short lock; the append itself is awaited
//! outside it, so concurrent callers share the store's group commit.

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::aggregate::{decide, Record, RecordError};
use crate::envelope::{StoredEvent, Submission};
use crate::registry::Registry;
use crate::store::{AppendRequest, EventLog, EventRecord, Pending, RawEvent, StoreError, PAGE};

/// How often a batch is validated again when the log moved under it.
const ATTEMPTS: usize = 5;

/// One recorded event, and whether this call created it (false for a retry
/// of an event already in the log).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The stored event (the original one for a retry).
    pub event: StoredEvent,
    /// True if appended by this call.
    pub created: bool,
}

/// Records validated events into a store. Clones share one state.
#[derive(Clone)]
pub struct Ledger<S> {
    store: S,
    state: Arc<Mutex<Registry>>,
}

impl<S: EventLog> Ledger<S> {
    /// A ledger over `store`, with its state folded from the whole log.
    pub async fn open(store: S) -> Result<Self, RecordError> {
        let ledger = Self {
            store,
            state: Arc::default(),
        };
        catch_up(&ledger.store, &mut *ledger.state.lock().await).await?;
        Ok(ledger)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Records a client's batch, attributed to `actor`. All or nothing.
    pub async fn record(
        &self,
        submissions: Vec<Submission>,
        actor: &str,
    ) -> Result<Vec<Recorded>, RecordError> {
        self.submit(Record::new(submissions), actor).await
    }

    /// Runs a command. All or nothing.
    pub async fn submit(&self, cmd: Record, actor: &str) -> Result<Vec<Recorded>, RecordError> {
        let records: Vec<Pending> = cmd
            .submissions
            .iter()
            .map(|s| {
                let (by, at) = match &s.provenance {
                    Some(p) => (p.recorded_by.as_str(), Some(p.recorded_at)),
                    None => (actor, None),
                };
                Pending {
                    stream: s.event.stream(),
                    expected: s.expected_version,
                    record: EventRecord::new(&s.event, by, at),
                }
            })
            .collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut state = self.state.lock().await;
            catch_up(&self.store, &mut state).await?;
            let decision = decide(&state, &cmd)?;
            let submitted = self.store.append(AppendRequest {
                events: records.clone(),
                log_head: Some(state.head()),
            });
            let mut next = decision.state;
            next.advance(decision.new.len() as u64);
            *state = next;
            drop(state);
            match submitted.await {
                Ok(appended) => {
                    return appended
                        .into_iter()
                        .map(|a| {
                            Ok(Recorded {
                                event: decode(&a.event)?,
                                created: a.created,
                            })
                        })
                        .collect();
                }
                Err(e) => {
                    // The optimistic state is wrong: fold it again from the log.
                    *self.state.lock().await = Registry::default();
                    if matches!(e, StoreError::Stale { .. }) && attempt < ATTEMPTS {
                        continue;
                    }
                    return Err(e.into());
                }
            }
        }
    }
}

/// Decodes a stored event; a failure is corruption at its position.
pub fn decode(raw: &RawEvent) -> Result<StoredEvent, StoreError> {
    raw.decode().map_err(|e| StoreError::Corrupt {
        position: raw.position,
        reason: e.to_string(),
    })
}

async fn catch_up<S: EventLog>(store: &S, state: &mut Registry) -> Result<(), StoreError> {
    loop {
        let page = store.read(state.head(), PAGE).await?;
        if page.is_empty() {
            return Ok(());
        }
        for raw in &page {
            state.apply_stored(&decode(raw)?);
        }
    }
}

//! The ledger records commands against a store: it keeps the [`Registry`]
//! the log folds to, decides with [`decide`], seals personal fields with the
//! store's [`Keyring`], and appends with a guard on the log head, so that
//! every event is validated against exactly the log that precedes it — also
//! when another ledger or process appends to the same store.
//!
//! Personal fields are sealed once the batch is known to be valid and before
//! anything is appended: the log never holds a personal value in clear. The
//! data keys of new subjects are made in the append's own transaction, so a
//! refused batch leaves no key behind; when another writer made a subject's
//! key first ([`StoreError::KeyRace`]), the ledger reads the keys again and
//! seals the batch once more.
//!
//! Before it decides, the ledger holds every new event to the rules of the
//! server's [`Clock`] ([`crate::clock::check`]): they hold when an event is
//! recorded, never when the log is folded again.
//!
//! Validation happens under a short lock and reads nothing from the store on
//! the normal path: the state is the log as last read plus the batches this
//! ledger has submitted since, installed optimistically. The store's head
//! guard (the position and the id of the event the batch was validated after)
//! refuses a batch decided on anything else ([`StoreError::Stale`]); the
//! ledger then folds the log again and decides once more. The append itself
//! is awaited outside the lock, so concurrent callers share the store's group
//! commit.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::{watch, Mutex};

use crate::aggregate::{decide, decide_in_place, decide_into, Record, RecordError};
use crate::clock::{self, Clock};
use crate::envelope::{NewEvent, StoredEvent, Submission};
use crate::error::{FieldError, ValidationError};
use crate::keyring::{Keyring, MadeKeys, SealError};
use crate::personal::SlotState;
use crate::registry::Registry;
use crate::store::{
    AppendRequest, Appended, EventLog, EventRecord, Pending, RawEvent, StoreError, PAGE,
};

/// How often a batch is validated again when the log moved under it.
const ATTEMPTS: usize = 5;

/// The confirmed state (the one the state is folded again from after a
/// failed append) is taken when an append crosses a multiple of this many
/// events: folding again reads at most this many events more from the store.
const CONFIRM_EVERY: u64 = 1024;

/// [`CONFIRM_EVERY`] for [`Ledger::import_batch`], whose batches are
/// thousands of events each: a copy kept after every batch would make each
/// batch copy, once, every node of the maps it changes, and dropping each
/// copy it replaces frees them again: at a quarter of a million events, a
/// refused batch reads at most that many events again (a few seconds).
const IMPORT_CONFIRM_EVERY: u64 = 262_144;

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
    keyring: Keyring<S>,
    /// The head this process's store handle has committed (its
    /// `head_changes`): past the state's head, another ledger appended.
    committed: watch::Receiver<u64>,
    state: Arc<Mutex<State>>,
    /// A fold of a prefix of the log known to be committed: read from the
    /// store, or a batch the store stored exactly as decided. Never
    /// optimistic; the state is rebuilt from it.
    confirmed: Arc<std::sync::Mutex<Registry>>,
    /// What the rules of the clock read.
    clock: Clock,
}

/// What the ledger validates against.
struct State {
    /// The log as last read, plus the batches submitted since.
    current: Registry,
    /// `current` may not be a fold of the log (a batch failed, or was stored
    /// otherwise than decided): fold it again before deciding.
    suspect: bool,
    /// How often `current` was folded again from the log. A batch that fails
    /// makes the state suspect only if it was decided in the same epoch:
    /// after a fold, the state no longer holds that batch's effects.
    epoch: u64,
}

impl State {
    /// Marks the state suspect if it still holds what was decided in `epoch`.
    fn distrust(&mut self, epoch: u64) {
        if self.epoch == epoch {
            self.suspect = true;
        }
    }
}

impl<S: EventLog> Ledger<S> {
    /// Seals the personal fields of `submissions` in place: the keys made
    /// for them. In a batch, a field that cannot be sealed is named as
    /// validation names it (`[i].field`).
    fn seal_all(&self, submissions: &mut [Submission]) -> Result<MadeKeys, RecordError> {
        self.seal_all_into(submissions, self.keyring.made_keys())
    }

    /// [`Self::seal_all`], with the keys of `made` (and those it borrows).
    fn seal_all_into(
        &self,
        submissions: &mut [Submission],
        mut made: MadeKeys,
    ) -> Result<MadeKeys, RecordError> {
        let batch = submissions.len() > 1;
        for (i, s) in submissions.iter_mut().enumerate() {
            match self.keyring.seal(&mut s.event, &mut made) {
                Ok(()) => {}
                Err(SealError::Invalid(errors)) if batch => {
                    return Err(RecordError::Invalid(ValidationError {
                        errors: errors
                            .into_iter()
                            .map(|e| FieldError::new(format!("[{i}].{}", e.field), e.message))
                            .collect(),
                    }));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(made)
    }

    /// A ledger over the store of `keyring`, with its state folded from the
    /// whole log.
    pub async fn open(keyring: Keyring<S>) -> Result<Self, RecordError> {
        let store = keyring.store().clone();
        let ledger = Self {
            committed: store.head_changes(),
            store,
            keyring,
            state: Arc::new(Mutex::new(State {
                current: Registry::default(),
                suspect: true,
                epoch: 0,
            })),
            confirmed: Arc::default(),
            clock: Clock::system(),
        };
        ledger.refresh(&mut *ledger.state.lock().await).await?;
        Ok(ledger)
    }

    /// The same ledger, reading the time from `clock` (tests fix it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The time now, on the ledger's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store's keys.
    pub fn keyring(&self) -> &Keyring<S> {
        &self.keyring
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
    pub async fn submit(&self, mut cmd: Record, actor: &str) -> Result<Vec<Recorded>, RecordError> {
        check_clock(&cmd, self.clock.now())?;
        let mut personal = false;
        let mut carries_sealed = false;
        for s in &mut cmd.submissions {
            for f in s.event.event.personal_fields() {
                personal = true;
                carries_sealed |= matches!(f.value.state(), SlotState::Sealed(_));
            }
        }
        // The batch as given: sealed again if a key race makes it retry. A
        // batch without a personal field has nothing to seal: it is decided
        // once, its records made before the lock is taken.
        let clear = personal.then(|| cmd.submissions.clone());
        let mut sealed: Option<(Vec<Pending>, MadeKeys)> =
            (!personal).then(|| (pending(&cmd, actor), self.keyring.made_keys()));
        // Held from the first decision until the store has answered: other
        // processes on the store wait meanwhile (a store only this process
        // writes has no turns).
        let turn = self.store.turn().await?;
        let mut attempt = 0;
        loop {
            let mut state = self.state.lock().await;
            let committed = *self.committed.borrow();
            // A turn taken just now says how far other processes wrote.
            let elsewhere = turn.head().unwrap_or(0);
            if state.suspect || committed.max(elsewhere) > state.current.head() {
                self.refresh(&mut state).await?;
            }
            if sealed.is_none() {
                // Valid: seal outside the lock, then decide again on the
                // state as it is then.
                if let Err(refusal) = decide(&state.current, &cmd) {
                    attempt += 1;
                    if self.refused_now(&mut state, attempt).await? {
                        continue;
                    }
                    return Err(refusal);
                }
                drop(state);
                if carries_sealed {
                    // An import: the keys it brought must be known.
                    self.keyring.refresh().await.map_err(RecordError::Keys)?;
                }
                if let Some(clear) = &clear {
                    cmd.submissions = clear.clone();
                }
                let made = self.seal_all(&mut cmd.submissions)?;
                sealed = Some((pending(&cmd, actor), made));
                continue;
            }
            let head = state.current.head();
            let head_id = state.current.head_id();
            let new = match decide_in_place(&mut state.current, &cmd) {
                Ok(new) => new,
                Err(refusal) => {
                    attempt += 1;
                    if self.refused_now(&mut state, attempt).await? {
                        continue;
                    }
                    return Err(refusal);
                }
            };
            attempt += 1;
            let epoch = state.epoch;
            let (records, made) = sealed.as_ref().expect("sealed before the first append");
            let submitted = self.store.append(AppendRequest {
                events: records.clone(),
                log_head: Some(head),
                head_id,
                make_keys: made.to_make(),
                erase: cmd.erase.iter().map(|k| k.as_str().to_owned()).collect(),
            });
            let last = new.last().map(|&i| cmd.submissions[i].event.id);
            state.current.advance(new.len() as u64, last);
            // The state is kept as confirmed once in a while only: a copy
            // shares the maps' nodes, and every later change would copy the
            // nodes on its path instead of changing them in place.
            let keep = (state.current.head() / CONFIRM_EVERY != head / CONFIRM_EVERY)
                .then(|| state.current.clone());
            drop(state);
            match submitted.await {
                Ok(appended) => {
                    if let Some((_, made)) = sealed.take() {
                        self.keyring.adopt(made);
                    }
                    if !stored_as_decided(&appended, &new, head) {
                        // Only when the state was stale and every event it
                        // thought new was already stored (no guard applied).
                        self.state.lock().await.distrust(epoch);
                    } else if let Some(next) = keep {
                        // `next` is now a fold of the committed log up to its head.
                        let mut confirmed = self.confirmed.lock().expect("confirmed lock");
                        if next.head() > confirmed.head() {
                            *confirmed = next;
                        }
                    }
                    return appended
                        .into_iter()
                        .zip(std::mem::take(&mut cmd.submissions))
                        .map(|(a, s)| {
                            Ok(Recorded {
                                event: if a.created {
                                    stored_as_sent(a.event, s.event)?
                                } else {
                                    decode(&a.event)?
                                },
                                created: a.created,
                            })
                        })
                        .collect();
                }
                Err(e) => {
                    // The optimistic state is wrong: fold it again from the log
                    // (unless another caller already did since this decision).
                    self.state.lock().await.distrust(epoch);
                    if matches!(e, StoreError::KeyRace) && attempt < ATTEMPTS {
                        // Another writer made a subject's key: seal with it.
                        self.keyring.refresh().await.map_err(RecordError::Keys)?;
                        sealed = None;
                        continue;
                    }
                    if matches!(e, StoreError::Stale { .. }) && attempt < ATTEMPTS {
                        continue;
                    }
                    return Err(e.into());
                }
            }
        }
    }

    /// After a refusal: whether to decide again, because another process
    /// has appended since the state was read (what makes the batch valid
    /// may be among it). One read, on the refusal path only.
    async fn refused_now(&self, state: &mut State, attempt: usize) -> Result<bool, StoreError> {
        if attempt < ATTEMPTS && self.store.head().await? > state.current.head() {
            let epoch = state.epoch;
            state.distrust(epoch);
            return Ok(true);
        }
        Ok(false)
    }

    /// Hands a batch of an import to the store and answers once it is queued
    /// there, not once it is committed: [`InFlight::finish`] waits for that.
    /// The next batch can be validated and queued meanwhile, against the state
    /// this one leaves; if this one then fails, the store refuses the next as
    /// stale (its head guard names this batch's last event), so nothing is
    /// ever stored after a batch that was not.
    ///
    /// The rules are those of [`Ledger::submit`], each checked once: the
    /// clock's for new events, [`decide`] against the log before the batch
    /// (on the events as given: no rule reads a personal value), the sealing
    /// of every personal field (a sealed one must open under a key of this
    /// store), then the store's own (idempotency, head guard, versions). What
    /// `submit` does that an import needs not is left out: the batch is
    /// decided once, under the lock, instead of before and after sealing
    /// outside it, and the stored events are not decoded back.
    ///
    /// A subject that a batch `ahead` (queued by this method, not finished
    /// yet) made a data key for is sealed under that key rather than a new
    /// one, when this batch is decided on the state those batches left: its
    /// head guard then names their last event, so it is stored only after
    /// them and their keys. Otherwise (the state was folded again meanwhile)
    /// it makes keys of its own, and whichever is stored second is refused
    /// and recorded again by [`InFlight::finish`].
    pub async fn import_batch(
        &self,
        mut cmd: Record,
        actor: &str,
        ahead: &[&InFlight<S>],
    ) -> Result<InFlight<S>, RecordError> {
        check_clock(&cmd, self.clock.now())?;
        let mut carries_sealed = false;
        let mut clear_at = Vec::new();
        for (i, s) in cmd.submissions.iter_mut().enumerate() {
            let mut clear = false;
            for f in s.event.event.personal_fields() {
                match f.value.state() {
                    SlotState::Clear(_) => clear = true,
                    SlotState::Sealed(_) => carries_sealed = true,
                    _ => {}
                }
            }
            if clear {
                clear_at.push(i);
            }
        }
        // The submissions as given, restored once sealed copies are queued
        // (collected at their exact count: they are large).
        let clear: Vec<_> = clear_at
            .into_iter()
            .map(|i| (i, cmd.submissions[i].clone()))
            .collect();
        if carries_sealed {
            // The keys the import brought must be known.
            self.keyring.refresh().await.map_err(RecordError::Keys)?;
        }
        let mut state = self.state.lock().await;
        let mut attempt = 0;
        let new = loop {
            let committed = *self.committed.borrow();
            if state.suspect || committed > state.current.head() {
                self.refresh(&mut state).await?;
            }
            match decide_into(&mut state.current, &cmd) {
                Ok(new) => break new,
                Err(refusal) => {
                    // Part of the batch may be folded in: folded again
                    // from the log before the state is used.
                    state.suspect = true;
                    attempt += 1;
                    // As in `submit`: a refusal only against the log as it is now.
                    if attempt < ATTEMPTS && self.store.head().await? > state.current.head() {
                        state.suspect = true;
                        continue;
                    }
                    return Err(refusal);
                }
            }
        };
        // Folding events in moves neither the head nor its id: `advance` does.
        let head = state.current.head();
        let lenders = ahead
            .iter()
            .filter(|f| f.epoch == state.epoch && f.lends_keys())
            .map(|f| &f.made);
        let made =
            match self.seal_all_into(&mut cmd.submissions, self.keyring.made_keys_after(lenders)) {
                Ok(made) => made,
                Err(e) => {
                    state.suspect = true;
                    return Err(e);
                }
            };
        let make_keys = made.to_make();
        let makes_keys = make_keys.is_some();
        let submitted = self.store.append(AppendRequest {
            events: pending(&cmd, actor),
            log_head: Some(head),
            head_id: state.current.head_id(),
            make_keys,
            erase: cmd.erase.iter().map(|k| k.as_str().to_owned()).collect(),
        });
        let last = new.last().map(|&i| cmd.submissions[i].event.id);
        state.current.advance(new.len() as u64, last);
        let next = (state.current.head() / IMPORT_CONFIRM_EVERY != head / IMPORT_CONFIRM_EVERY)
            .then(|| state.current.clone());
        let epoch = state.epoch;
        drop(state);
        for (i, s) in clear {
            cmd.submissions[i] = s;
        }
        Ok(InFlight {
            ledger: self.clone(),
            submitted,
            made,
            makes_keys,
            new,
            head,
            epoch,
            next,
            cmd,
            actor: actor.to_owned(),
        })
    }

    /// Folds the log into the state, from the last confirmed prefix.
    async fn refresh(&self, state: &mut State) -> Result<(), StoreError> {
        let mut next = self.confirmed.lock().expect("confirmed lock").clone();
        catch_up(&self.store, &mut next).await?;
        {
            let mut confirmed = self.confirmed.lock().expect("confirmed lock");
            if next.head() > confirmed.head() {
                *confirmed = next.clone();
            }
        }
        state.current = next;
        state.suspect = false;
        state.epoch += 1;
        Ok(())
    }
}

/// A batch [`Ledger::import_batch`] queued in the store.
#[must_use = "a batch in flight is stored or refused: finish or abandon it"]
pub struct InFlight<S> {
    ledger: Ledger<S>,
    submitted: BoxFuture<'static, Result<Vec<Appended>, StoreError>>,
    made: MadeKeys,
    makes_keys: bool,
    new: Vec<usize>,
    head: u64,
    epoch: u64,
    /// The state this batch leaves, kept as confirmed once it is committed;
    /// only now and then ([`IMPORT_CONFIRM_EVERY`]).
    next: Option<Registry>,
    /// The batch as given (personal fields as they came), for a retry.
    cmd: Record,
    actor: String,
}

impl<S: EventLog> InFlight<S> {
    /// Whether the batch makes data keys (for subjects that had none). The
    /// keyring knows them only once the batch is committed.
    pub fn makes_keys(&self) -> bool {
        self.makes_keys
    }

    /// Whether a batch queued after this one may seal under the keys it
    /// makes, unfinished ([`Ledger::import_batch`]'s `ahead`): it appends
    /// an event, so the next batch's head guard names it. A batch with
    /// personal fields is queued only after a batch that makes keys and
    /// cannot lend them is finished, or it would make a second key for the
    /// same subject.
    pub fn lends_keys(&self) -> bool {
        !self.new.is_empty()
    }

    /// Waits for the batch to be committed; answers, for each event, whether
    /// it was created (false for one already in the log). When another
    /// writer moved the log under it (stale head, or a subject's key made
    /// meanwhile), the batch is recorded again with [`Ledger::submit`]'s
    /// retries; a batch queued after this one is then refused as stale, and
    /// finishing it records it again in turn, after this one.
    pub async fn finish(self) -> Result<Vec<bool>, RecordError> {
        match self.settle().await {
            Ok(created) => Ok(created),
            Err((StoreError::Stale { .. } | StoreError::KeyRace, ledger, cmd, actor)) => {
                let recorded = ledger.submit(cmd, &actor).await?;
                Ok(recorded.iter().map(|r| r.created).collect())
            }
            Err((e, ..)) => Err(e.into()),
        }
    }

    /// Waits for the batch without recording it again: after an earlier
    /// batch failed, the store refuses it as stale (unless every event of it
    /// was in the log already). The ledger's state is left right either way.
    pub async fn abandon(self) {
        let _ = self.settle().await;
    }

    /// Waits for the append and brings the ledger's state in line with it.
    async fn settle(self) -> Result<Vec<bool>, (StoreError, Ledger<S>, Record, String)> {
        let ledger = self.ledger;
        match self.submitted.await {
            Ok(appended) => {
                ledger.keyring.adopt(self.made);
                if stored_as_decided(&appended, &self.new, self.head) {
                    if let Some(next) = self.next {
                        let mut confirmed = ledger.confirmed.lock().expect("confirmed lock");
                        if next.head() > confirmed.head() {
                            *confirmed = next;
                        }
                    }
                } else {
                    ledger.state.lock().await.distrust(self.epoch);
                }
                Ok(appended.iter().map(|a| a.created).collect())
            }
            Err(e) => {
                // The optimistic state is wrong: fold it again from the log.
                ledger.state.lock().await.distrust(self.epoch);
                Err((e, ledger, self.cmd, self.actor))
            }
        }
    }
}

/// Holds every new event of `cmd` to the rules of the clock at `now`;
/// events an import carries over with their provenance were recorded before
/// and are not (decision 011). Errors are named as [`decide`] names them.
fn check_clock(cmd: &Record, now: DateTime<Utc>) -> Result<(), ValidationError> {
    let batch = cmd.submissions.len() > 1;
    let errors: Vec<FieldError> = cmd
        .submissions
        .iter()
        .enumerate()
        .filter(|(_, s)| s.provenance.is_none())
        .flat_map(|(i, s)| {
            clock::check(&s.event, now).into_iter().map(move |e| {
                if batch {
                    e.within(&format!("[{i}]"))
                } else {
                    e
                }
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationError { errors })
    }
}

/// The records to append for `cmd`, attributed to `actor` unless carried over.
fn pending(cmd: &Record, actor: &str) -> Vec<Pending> {
    cmd.submissions
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
        .collect()
}

/// Whether the store appended exactly the events the decision called new, at
/// the positions right after `head`, and nothing else.
fn stored_as_decided(appended: &[Appended], new: &[usize], head: u64) -> bool {
    let mut next = new.iter().peekable();
    let mut position = head;
    appended.iter().enumerate().all(|(i, a)| {
        if next.peek() == Some(&&i) {
            next.next();
            position += 1;
            a.created && a.event.position == position
        } else {
            !a.created
        }
    }) && next.next().is_none()
}

/// Decodes a stored event; a failure is corruption at its position.
pub fn decode(raw: &RawEvent) -> Result<StoredEvent, StoreError> {
    raw.decode().map_err(|e| StoreError::Corrupt {
        position: raw.position,
        reason: e.to_string(),
    })
}

/// A created event as stored: its place in the log from the store, the
/// event itself as it was sent to the store (sealed), which is what
/// decoding the stored record gives back, without parsing it again.
fn stored_as_sent(raw: RawEvent, event: NewEvent) -> Result<StoredEvent, StoreError> {
    let recorded_at = raw.recorded_at().map_err(|e| StoreError::Corrupt {
        position: raw.position,
        reason: e.to_string(),
    })?;
    Ok(StoredEvent {
        position: raw.position,
        stream: raw.stream,
        version: raw.version,
        schema_version: raw.schema_version,
        recorded_at,
        recorded_by: raw.record.recorded_by,
        event,
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

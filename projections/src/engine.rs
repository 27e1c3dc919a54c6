//! The projection engine: keeps the [`Model`] folded from the stored events,
//! incrementally as events arrive (from a store subscription or a one-off
//! read), and answers "as of" an occurred time or a log position by folding
//! exactly the events that qualify. Every answer carries the log position it
//! reflects. The engine reads the log; it never writes to it.
//!
//! It does not keep the decoded events: only a compact index entry per event
//! ([`Indexed`]: position, occurred time, programme, type, whether hidden)
//! and the events themselves in a compressed [archive](archive), decoded
//! again, in parallel by page, when a read needs them ([`Engine::events`],
//! [`Engine::events_at`]).
//!
//! It also keeps the positions of the events hidden from mentors and viewers
//! ([`crate::model::is_hidden`]), so that positions can be told to them in
//! *visible* units — the number of events at or before a position that they
//! may know of — and back ([`Engine::visible_position`],
//! [`Engine::position_of_visible`]). And it keeps each programme's positions,
//! so that a token scoped to one programme is told positions in that
//! programme's own units — the number of its events (that it may know of)
//! at or before a position — which say nothing of the other programmes'
//! activity ([`Units`], [`Engine::told`], [`Engine::position_of_told`]).

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use passerelle_events::ledger::decode;
use passerelle_events::store::RawEvent;
use passerelle_events::store::PAGE;
use passerelle_events::{Event, EventLog, StoreError, StoredEvent};

use crate::cancel::{Cancel, Stopped};
use crate::model::{is_hidden, Audience, Model};

pub mod archive;

use archive::Archive;

/// The units a reader is told log positions in: the events at or before a
/// position that it may know of — every event (admins and coordinators of
/// every programme), those its audience sees ([`Audience::Restricted`]:
/// no hidden event), and, for a token scoped to one programme, that
/// programme's events only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Units<'a> {
    /// Who reads.
    pub audience: Audience,
    /// The one programme the reader's token is scoped to, if any.
    pub programme: Option<&'a str>,
}

impl Units<'_> {
    /// The log's own positions.
    pub const LOG: Units<'static> = Units {
        audience: Audience::Full,
        programme: None,
    };
}

/// One programme's event positions, ascending.
#[derive(Debug, Clone, Default)]
struct ProgrammePositions {
    /// Its number in [`Engine::names`].
    number: u32,
    all: Vec<u64>,
    /// Those not hidden from mentors and viewers.
    visible: Vec<u64>,
}

impl ProgrammePositions {
    fn of(&self, audience: Audience) -> &[u64] {
        match audience {
            Audience::Full => &self.all,
            Audience::Restricted => &self.visible,
        }
    }
}

/// A replay checks its [`Cancel`] once every this many events (a fold of
/// this many events takes well under a millisecond).
const CHECK_EVERY: usize = 4096;

/// Which state of the log a read model reflects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// Every event read so far.
    Latest,
    /// The events that occurred at or before this time (bitemporal: "what did
    /// the network look like then", with everything recorded since).
    Time(DateTime<Utc>),
    /// The events at positions `1..=p` ("what did we know then").
    Position(u64),
}

/// A model as of some point, with the time strengths are measured at.
#[derive(Debug, Clone)]
pub struct Snapshot<'a> {
    /// The folded model; `model.position` is the log position it reflects.
    pub model: Cow<'a, Model>,
    /// The requested time, if any.
    pub time: Option<DateTime<Utc>>,
}

impl Snapshot<'_> {
    /// The time a programme's network is measured at: the requested time, or
    /// else the programme's latest occurred time (the network "as last
    /// recorded"), or else — the programme has no event yet at this point —
    /// the latest occurred time of the others, or else (an empty log) the
    /// Unix epoch. Never the clock: the same state gives the same answer.
    pub fn reference_time(&self, programme: &str) -> DateTime<Utc> {
        self.time
            .or_else(|| self.model.programmes.get(programme).and_then(|p| p.latest))
            .or_else(|| {
                self.model
                    .programmes
                    .values()
                    .filter_map(|p| p.latest)
                    .max()
            })
            .unwrap_or(DateTime::UNIX_EPOCH)
    }

    /// The log position this snapshot reflects.
    pub fn position(&self) -> u64 {
        self.model.position
    }
}

/// What the engine keeps of each event besides its archived record.
#[derive(Debug, Clone, Copy)]
struct Entry {
    position: u64,
    occurred_at: DateTime<Utc>,
    /// Into [`Engine::names`].
    programme: u32,
    /// Into [`Event::TYPES`].
    event_type: u8,
    hidden: bool,
}

/// An event as the engine's index knows it, without decoding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indexed<'a> {
    /// Log position.
    pub position: u64,
    /// When it occurred.
    pub occurred_at: DateTime<Utc>,
    /// Its programme.
    pub programme: &'a str,
    /// Its type ([`Event::type_name`]).
    pub event_type: &'static str,
    /// Whether hidden from mentors and viewers ([`is_hidden`]).
    pub hidden: bool,
}

/// The model folded from the events, an index entry per event and the
/// events' compressed archive.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    model: Model,
    /// One entry per event folded in, in position order.
    entries: Vec<Entry>,
    /// Programme ids, numbered in order of first appearance.
    names: Vec<String>,
    /// The events folded in, in position order.
    archive: Archive,
    /// Positions of the hidden events folded in, ascending.
    hidden: Vec<u64>,
    /// Each programme's positions.
    programmes: HashMap<String, ProgrammePositions>,
}

impl Engine {
    /// An empty engine.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one event in. Events must come in position order; an event at
    /// or below the current position is ignored (at-least-once delivery).
    pub fn apply(&mut self, e: StoredEvent) {
        let data = e.event.event.data_json().to_string();
        self.apply_with_data(&e, &data);
    }

    /// [`Engine::apply`], with `data` the JSON text of the event's payload
    /// as stored (read back into the same [`Event`]).
    fn apply_with_data(&mut self, e: &StoredEvent, data: &str) {
        if e.position <= self.model.position && self.model.position > 0 {
            return;
        }
        self.model.apply(e);
        let hidden = is_hidden(&e.event.event);
        if hidden {
            self.hidden.push(e.position);
        }
        let name = e.event.programme.as_str();
        if !self.programmes.contains_key(name) {
            let number = u32::try_from(self.names.len()).expect("under 2^32 programmes");
            self.names.push(name.to_owned());
            self.programmes.insert(
                name.to_owned(),
                ProgrammePositions {
                    number,
                    ..ProgrammePositions::default()
                },
            );
        }
        let own = self.programmes.get_mut(name).expect("inserted above");
        own.all.push(e.position);
        if !hidden {
            own.visible.push(e.position);
        }
        let type_name = e.event.event.type_name();
        self.entries.push(Entry {
            position: e.position,
            occurred_at: e.event.occurred_at.datetime(),
            programme: own.number,
            event_type: Event::TYPES
                .iter()
                .position(|t| *t == type_name)
                .and_then(|i| u8::try_from(i).ok())
                .expect("a type of Event::TYPES"),
            hidden,
        });
        self.archive.push(e, data);
    }

    /// The log position of the last event folded in.
    pub fn position(&self) -> u64 {
        self.model.position
    }

    /// Hidden events folded in ([`is_hidden`]).
    pub fn hidden(&self) -> u64 {
        self.hidden.len() as u64
    }

    /// Position `p` in visible units: the events at positions `1..=p` that
    /// are not hidden. Mentors and viewers are told positions in these
    /// units only: a position that moved by one for each attendance would
    /// give the attendance away. `p` may be beyond the events folded in
    /// (an append not yet projected): the events after the last one folded
    /// in count as visible.
    pub fn visible_position(&self, p: u64) -> u64 {
        p - self.hidden.partition_point(|&h| h <= p) as u64
    }

    /// The position of the `n`-th visible event (0 for `n = 0`), or `None`
    /// when fewer than `n` visible events are folded in: the inverse of
    /// [`Engine::visible_position`] on the positions of visible events.
    pub fn position_of_visible(&self, n: u64) -> Option<u64> {
        if n > self.position() - self.hidden() {
            return None;
        }
        if n == 0 {
            return Some(0);
        }
        // The i-th hidden event (from 0) comes before the n-th visible one
        // when fewer than n visible events precede it: `h_i - 1 - i < n`.
        // `h_i - i` never decreases with i, so these form a prefix.
        let (mut lo, mut hi) = (0, self.hidden.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.hidden[mid] - (mid as u64) <= n {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Some(n + lo as u64)
    }

    /// The events of `programme` that `audience` sees folded in at
    /// positions `1..=p`: `p` in the programme's own units.
    pub fn programme_count(&self, programme: &str, p: u64, audience: Audience) -> u64 {
        self.programmes.get(programme).map_or(0, |own| {
            own.of(audience).partition_point(|&q| q <= p) as u64
        })
    }

    /// The position of the `n`-th event of `programme` that `audience`
    /// sees (0 for `n = 0`), or `None` when fewer are folded in: the inverse
    /// of [`Engine::programme_count`] on the positions of those events.
    pub fn programme_position_of(
        &self,
        programme: &str,
        n: u64,
        audience: Audience,
    ) -> Option<u64> {
        if n == 0 {
            return Some(0);
        }
        let own = self.programmes.get(programme)?;
        let index = usize::try_from(n - 1).ok()?;
        own.of(audience).get(index).copied()
    }

    /// Position `p` as a reader is told it, in `units`. Of a `p` beyond the
    /// events folded in, only the events folded in are counted for a scoped
    /// reader (which programme the others belong to is not known here).
    pub fn told(&self, p: u64, units: Units<'_>) -> u64 {
        match (units.programme, units.audience) {
            (Some(programme), audience) => self.programme_count(programme, p, audience),
            (None, Audience::Full) => p,
            (None, Audience::Restricted) => self.visible_position(p),
        }
    }

    /// The log position of the `n`-th event counted in `units` (0 for
    /// `n = 0`), or `None` when fewer are folded in: the inverse of
    /// [`Engine::told`] on the positions of the events it counts.
    pub fn position_of_told(&self, n: u64, units: Units<'_>) -> Option<u64> {
        match (units.programme, units.audience) {
            (Some(programme), audience) => self.programme_position_of(programme, n, audience),
            (None, Audience::Full) => (n <= self.position()).then_some(n),
            (None, Audience::Restricted) => self.position_of_visible(n),
        }
    }

    /// The number of events folded in.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no event is folded in.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `i`-th event folded in (from 0), as the index knows it.
    ///
    /// # Panics
    /// When `i` is not below [`Engine::len`].
    pub fn entry(&self, i: usize) -> Indexed<'_> {
        self.indexed(&self.entries[i])
    }

    /// Every event folded in, as the index knows it, in position order.
    pub fn index(&self) -> impl ExactSizeIterator<Item = Indexed<'_>> + '_ {
        self.entries.iter().map(|e| self.indexed(e))
    }

    fn indexed(&self, e: &Entry) -> Indexed<'_> {
        Indexed {
            position: e.position,
            occurred_at: e.occurred_at,
            programme: &self.names[e.programme as usize],
            event_type: Event::TYPES[usize::from(e.event_type)],
            hidden: e.hidden,
        }
    }

    /// The `i`-th event folded in (from 0), decoded from the archive.
    ///
    /// # Panics
    /// When `i` is not below [`Engine::len`].
    pub fn event(&self, i: usize) -> StoredEvent {
        assert!(i < self.len(), "event {i} of {}", self.len());
        let page = self
            .archive
            .decode_page(i / archive::PAGE_LEN, &[(i % archive::PAGE_LEN) as u16]);
        page.into_iter().next().expect("one event asked for")
    }

    /// The events folded in at `range` (indexes from 0, in position order),
    /// decoded from the archive in parallel by page. For many events, prefer
    /// [`Engine::visit_events`], which holds a bounded number at once.
    pub fn events(&self, range: std::ops::Range<usize>) -> Vec<StoredEvent> {
        self.events_at(range)
    }

    /// The events folded in at `indexes` (from 0, ascending), decoded from
    /// the archive in parallel by page. For many events, prefer
    /// [`Engine::visit_events`], which holds a bounded number at once.
    pub fn events_at(&self, indexes: impl IntoIterator<Item = usize>) -> Vec<StoredEvent> {
        let mut out = Vec::new();
        let done: Result<(), std::convert::Infallible> = self.visit_events(indexes, |e| {
            out.push(e);
            Ok(())
        });
        match done {
            Ok(()) => out,
        }
    }

    /// Decodes the events folded in at `indexes` (from 0, ascending) from
    /// the archive, in parallel by page and a chunk of pages at a time, and
    /// hands each to `visit` in order, while the next chunk is decoded; the
    /// first error `visit` returns ends the walk.
    ///
    /// # Panics
    /// When an index is not below [`Engine::len`].
    pub fn visit_events<E: Send>(
        &self,
        indexes: impl IntoIterator<Item = usize>,
        visit: impl FnMut(StoredEvent) -> Result<(), E> + Send,
    ) -> Result<(), E> {
        let len = self.len();
        self.archive.visit(
            indexes.into_iter().inspect(move |&i| {
                assert!(i < len, "event {i} of {len}");
            }),
            visit,
        )
    }

    /// The current model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The model as of `as_of`.
    pub fn snapshot(&self, as_of: AsOf) -> Snapshot<'_> {
        match self.snapshot_within(as_of, &Cancel::never()) {
            Ok(snap) => snap,
            Err(stopped) => unreachable!("a replay that cannot be cancelled was: {stopped}"),
        }
    }

    /// The model as of `as_of`, or [`Stopped`] when `cancel` stops the
    /// replay first.
    pub fn snapshot_within(&self, as_of: AsOf, cancel: &Cancel) -> Result<Snapshot<'_>, Stopped> {
        cancel.check()?;
        Ok(match as_of {
            AsOf::Latest => Snapshot {
                model: Cow::Borrowed(&self.model),
                time: None,
            },
            AsOf::Time(t) => {
                let mut model = self.replay_within(
                    self.entries
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| e.occurred_at <= t)
                        .map(|(i, _)| i),
                    cancel,
                )?;
                model.position = self.position();
                Snapshot {
                    model: Cow::Owned(model),
                    time: Some(t),
                }
            }
            AsOf::Position(p) if p >= self.position() => Snapshot {
                model: Cow::Borrowed(&self.model),
                time: None,
            },
            AsOf::Position(p) => {
                let n = self.entries.partition_point(|e| e.position <= p);
                let mut model = self.replay_within(0..n, cancel)?;
                model.position = p;
                Snapshot {
                    model: Cow::Owned(model),
                    time: None,
                }
            }
        })
    }

    /// Gives back the room the engine's lists grew into beyond what they
    /// hold (after a load).
    fn shrink_to_fit(&mut self) {
        self.model.shrink_to_fit();
        self.entries.shrink_to_fit();
        self.hidden.shrink_to_fit();
        for own in self.programmes.values_mut() {
            own.all.shrink_to_fit();
            own.visible.shrink_to_fit();
        }
    }

    /// Reads every event after the current position from `store`.
    pub async fn catch_up<S: EventLog>(&mut self, store: &S) -> Result<(), StoreError> {
        loop {
            let page = store.read(self.position(), PAGE).await?;
            if page.is_empty() {
                return Ok(());
            }
            for raw in &page {
                self.apply_with_data(&decode(raw)?, &raw.record.data);
            }
        }
    }

    /// An engine holding the whole log of `store`.
    ///
    /// Loading is a pipeline joined by bounded channels, so that on a
    /// machine with several cores reading, decoding and folding overlap:
    /// this task reads pages from the store and deals them out in turn to
    /// one decoding thread per core, and a folding thread takes the decoded
    /// pages back in the same turn, so events are folded in position order.
    /// The first error (a failed read or an event that does not decode) ends
    /// the load.
    ///
    /// # Panics
    /// Outside a Tokio runtime (it uses `spawn_blocking`).
    pub async fn load<S: EventLog>(store: &S) -> Result<Self, StoreError> {
        /// Pages in flight between two stages, per decoder.
        const DEPTH: usize = 4;
        let decoders = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut raw_txs = Vec::with_capacity(decoders);
        let mut ev_rxs = Vec::with_capacity(decoders);
        let mut decoding = Vec::with_capacity(decoders);
        for _ in 0..decoders {
            let (raw_tx, mut raw_rx) = tokio::sync::mpsc::channel::<Vec<RawEvent>>(DEPTH);
            let (ev_tx, ev_rx) =
                tokio::sync::mpsc::channel::<(Vec<RawEvent>, Vec<StoredEvent>)>(DEPTH);
            decoding.push(tokio::task::spawn_blocking(
                move || -> Result<(), StoreError> {
                    while let Some(page) = raw_rx.blocking_recv() {
                        let events = page.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
                        if ev_tx.blocking_send((page, events)).is_err() {
                            break;
                        }
                    }
                    Ok(())
                },
            ));
            raw_txs.push(raw_tx);
            ev_rxs.push(ev_rx);
        }
        let folder = tokio::task::spawn_blocking(move || {
            let mut engine = Self::new();
            // Page i comes from decoder i mod n; a decoder that stops (the
            // log is read, or it met an error) ends the load.
            for turn in (0..ev_rxs.len()).cycle() {
                let Some((raw, events)) = ev_rxs[turn].blocking_recv() else {
                    break;
                };
                engine.entries.reserve(events.len());
                for (raw, e) in raw.iter().zip(&events) {
                    engine.apply_with_data(e, &raw.record.data);
                }
            }
            engine.shrink_to_fit();
            engine
        });
        let mut after = 0;
        let read = 'read: {
            for turn in (0..raw_txs.len()).cycle() {
                let page = match store.read(after, PAGE).await {
                    Ok(page) => page,
                    Err(e) => break 'read Err(e),
                };
                let Some(last) = page.last() else {
                    break 'read Ok(());
                };
                after = last.position;
                if raw_txs[turn].send(page).await.is_err() {
                    // The decoder stopped on an error, reported below.
                    break 'read Ok(());
                }
            }
            Ok(())
        };
        drop(raw_txs);
        let mut decoded = Ok(());
        for d in decoding {
            let result = d.await.expect("a decoding stage does not panic");
            if decoded.is_ok() {
                decoded = result;
            }
        }
        let engine = folder.await.expect("the folding stage does not panic");
        read?;
        decoded?;
        Ok(engine)
    }

    /// Follows `store` from the current position, folding each event as it
    /// is appended. After each event `on_event` sees the engine and says
    /// whether to go on; following ends when it says no (`Ok`) or the
    /// subscription fails (`Err`).
    pub async fn follow<S: EventLog>(
        &mut self,
        store: &S,
        mut on_event: impl FnMut(&Self) -> bool,
    ) -> Result<(), StoreError> {
        let mut live = store.subscribe(self.position());
        while let Some(raw) = live.next().await {
            let raw = raw?;
            self.apply_with_data(&decode(&raw)?, &raw.record.data);
            if !on_event(self) {
                break;
            }
        }
        Ok(())
    }
}

/// Folds `events` (in position order) into a fresh model.
pub fn replay<'a>(events: impl Iterator<Item = &'a StoredEvent>) -> Model {
    let mut model = Model::default();
    for e in events {
        model.apply(e);
    }
    model
}

impl Engine {
    /// Folds the events at `indexes` (from 0, ascending), decoded from the
    /// archive, into `model`.
    pub fn fold(&self, model: &mut Model, indexes: impl IntoIterator<Item = usize>) {
        let done: Result<(), std::convert::Infallible> = self.visit_events(indexes, |e| {
            model.apply(&e);
            Ok(())
        });
        match done {
            Ok(()) => {}
        }
    }

    /// [`replay`] of the events at `indexes` (ascending), decoded from the
    /// archive, checking `cancel` every [`CHECK_EVERY`] events.
    fn replay_within(
        &self,
        indexes: impl IntoIterator<Item = usize>,
        cancel: &Cancel,
    ) -> Result<Model, Stopped> {
        let mut model = Model::default();
        let mut i = 0usize;
        self.visit_events(indexes, |e| {
            i += 1;
            if i.is_multiple_of(CHECK_EVERY) {
                cancel.check()?;
            }
            model.apply(&e);
            Ok(())
        })?;
        Ok(model)
    }
}

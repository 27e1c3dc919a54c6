//! The server's shared state: the ledger and store for writes, the
//! projection engine fed by a live store subscription for reads, the token
//! store, telemetry and a cache of rendered reads keyed by the position of
//! the last event that can change them (see [`Rendered`]).
//!
//! Renderings are bounded (decision 012): at most
//! [`ApiConfig::render_limit`] run at once (a read that needs one more
//! waits [`ApiConfig::render_wait`] at most for a place, then is answered
//! 503), each is stopped at [`ApiConfig::render_deadline`] (503) and as
//! soon as no request waits for it any more (its clients went away); a
//! stopped rendering releases the engine and is not cached.
//!
//! Every reader is told positions in its own [`Units`]: mentors and viewers
//! ([`Audience::Restricted`]) in visible units ([`Engine::visible_position`]),
//! and their cached reads depend on visible events only — an attendance or an
//! erasure changes nothing they see, not even when their cached answers are
//! rendered again —; a token scoped to one programme in that programme's own
//! units, so that no position it is told moves with another programme's
//! activity (decision 015).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use bytes::Bytes;
use passerelle_events::ledger::decode;
use passerelle_events::personal::SlotState;
use passerelle_events::store::{RawEvent, PAGE, POLL};
use passerelle_events::{Event, EventLog, Keyring, Ledger, StoredEvent};
use passerelle_projections::cancel::{Cancel, Stopped};
use passerelle_projections::engine::{Engine, Units};
use passerelle_projections::model::{is_hidden, is_hidden_type, Audience};
use passerelle_projections::views::{LayoutCache, Settings};
use sha2::{Digest, Sha256};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::stream::Hub;
use super::telemetry::{StopReason, Telemetry};
use crate::auth::TokenStore;
use crate::http::guard::PublicUrl;
use crate::http::problem::Problem;
use crate::store::{Location, Store};

/// Settings of the API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body, in bytes (default 1 MiB).
    pub body_limit: u64,
    /// How long `min_position` may wait for the projection (default 5 s).
    pub min_position_timeout: Duration,
    /// Most requests waiting at once for a position to be projected
    /// (default 256); one more that would have to wait is answered 503 at
    /// once.
    pub min_position_waiters: usize,
    /// Interval of SSE heartbeat comments (default 15 s).
    pub heartbeat: Duration,
    /// Most connections held open at once (default 4,096); lowered at start
    /// to fit the process's open-file limit. Beyond it, the oldest connection
    /// that has not sent a complete request is closed, or, when every one
    /// has, a new connection is answered `503` and closed.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, counted from
    /// when it connected or its previous answer ended (default 10 s): a
    /// connection idle that long between requests is closed too.
    pub header_timeout: Duration,
    /// Events kept for event-stream subscribers, rounded up to a power of
    /// two (default 4,096): a subscriber that falls further behind is
    /// dropped and resumes with `Last-Event-ID`.
    pub stream_ring: usize,
    /// Most event streams open at once per token (default 8); more get 429.
    pub streams_per_token: usize,
    /// Most event streams open at once in all (default 1,000); more get 503.
    pub streams_total: usize,
    /// Longest a rendering of a read may run (default 10 s): then it is
    /// stopped, nothing is cached, and its reads are answered 503.
    pub render_deadline: Duration,
    /// Most renderings running at once (default twice the cores). Cache
    /// hits, and reads that wait for a rendering under way, need none.
    pub render_limit: usize,
    /// How long a read that needs a rendering while `render_limit` run
    /// waits for one to end (default 2 s): then it is answered 503. A
    /// page's few reads at once wait their turn; a flood is turned away.
    pub render_wait: Duration,
    /// How long an event stream gathers the events that follow one before
    /// it writes them (default 20 ms): a burst costs each subscriber one
    /// write, not one per event.
    pub stream_linger: Duration,
    /// Most bytes of rendered bodies the read cache keeps (default 48 MiB):
    /// past it, the keys read least recently are dropped first, and a body
    /// larger than the whole budget is answered but not kept. One `/map` of a
    /// 20,000-stakeholder programme is about 20 MB: the default keeps two,
    /// the latest frame and a slider step.
    pub cache_bytes: usize,
    /// Whether the map's layouts are computed in the background after the
    /// log is loaded and after appends (default: yes; decision 024).
    /// Without, a map read computes the month it asks for and, before the
    /// months ahead of it are kept, answers `settled: false`.
    pub background_layouts: bool,
    /// Projection settings.
    pub settings: Settings,
    /// The address people open the server at (`--public-url`), when it is
    /// not `http://` and the request's `Host`: writes made with the session
    /// cookie must come from its origin, and with https the cookie is
    /// `Secure` (decision 013).
    pub public_url: Option<PublicUrl>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            body_limit: 1 << 20,
            min_position_timeout: Duration::from_secs(5),
            min_position_waiters: 256,
            heartbeat: Duration::from_secs(15),
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            stream_ring: 4096,
            streams_per_token: 8,
            streams_total: 1000,
            render_deadline: Duration::from_secs(10),
            render_limit: 2 * cores,
            render_wait: Duration::from_secs(2),
            stream_linger: Duration::from_millis(20),
            cache_bytes: 48 << 20,
            background_layouts: true,
            settings: Settings::default(),
            public_url: None,
        }
    }
}

/// How a bounded wait for a position ended ([`App::wait_until`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The position is projected.
    Reached,
    /// It was not within [`ApiConfig::min_position_timeout`].
    TimedOut,
    /// It was not, and [`ApiConfig::min_position_waiters`] requests were
    /// waiting already: this one did not wait.
    Crowded,
}

/// A rendered read, kept with its digest so that a cache hit costs no hashing.
///
/// `position` is the log position the rendering reflects, and `shown` that
/// position as the reader is told it (in visible units for mentors and
/// viewers). The body's position fields (`spots`: the top-level `position`,
/// and a diff's `from.position`/`to.position`) hold `shown`; a read served
/// later, at a log position where the programme has no newer event, gets the
/// same body with that position (as told to the reader) written there — what
/// a rendering there would give.
pub(crate) struct Rendered {
    /// The log position the body reflects.
    pub position: u64,
    /// `position` as the body tells it.
    pub shown: u64,
    /// The body, as rendered.
    pub body: Bytes,
    /// Where `body` spells `position` in a field that follows the log head.
    pub spots: Vec<Range<usize>>,
    /// 16 hex digits of the SHA-256 of `body`: the `ETag`'s second half.
    pub digest: String,
}

impl Rendered {
    /// Marker the renderer puts in the position fields that follow the head.
    pub const LIVE: u64 = u64::MAX;

    /// Serialises `value`, whose live position fields hold [`Rendered::LIVE`],
    /// as reflecting `position`, told as `shown`.
    pub fn new(value: &serde_json::Value, position: u64, shown: u64) -> Self {
        let text = value.to_string();
        let needle = format!("\"position\":{}", Self::LIVE);
        let digits = shown.to_string();
        let mut body = String::with_capacity(text.len());
        let mut spots = Vec::new();
        // Keys are written `"position":` only as keys: in a JSON string the
        // quotes would be escaped.
        for (i, part) in text.split(needle.as_str()).enumerate() {
            if i > 0 {
                body.push_str("\"position\":");
                spots.push(body.len()..body.len() + digits.len());
                body.push_str(&digits);
            }
            body.push_str(part);
        }
        let digest = hex::encode(&Sha256::digest(body.as_bytes())[..8]);
        Self {
            position,
            shown,
            body: Bytes::from(body),
            spots,
            digest,
        }
    }

    /// The body as reflecting a later state, told as `shown_at` (at least
    /// [`Rendered::shown`]).
    pub fn body_at(&self, shown_at: u64) -> Bytes {
        if shown_at <= self.shown || self.spots.is_empty() {
            return self.body.clone();
        }
        let digits = shown_at.to_string();
        let mut out = Vec::with_capacity(self.body.len() + self.spots.len() * 4);
        let mut from = 0;
        for spot in &self.spots {
            out.extend_from_slice(&self.body[from..spot.start]);
            out.extend_from_slice(digits.as_bytes());
            from = spot.end;
        }
        out.extend_from_slice(&self.body[from..]);
        Bytes::from(out)
    }
}

/// Why a rendering gave no body.
pub(crate) enum Failed {
    /// The read is refused or failed: answered as it says.
    Problem(Problem),
    /// The rendering was stopped ([`Cancel`]) before it ended.
    Stopped(Stopped),
}

impl From<Problem> for Failed {
    fn from(p: Problem) -> Self {
        Self::Problem(p)
    }
}

impl From<Stopped> for Failed {
    fn from(s: Stopped) -> Self {
        Self::Stopped(s)
    }
}

/// The end of a rendering, as its readers get it.
type Outcome = Option<Result<Arc<Rendered>, Problem>>;

/// A rendering under way, shared by the reads that wait for it; the last
/// one to stop waiting stops it.
struct Flight {
    /// Tells this flight from a later one of the same slot.
    id: u64,
    cancel: Cancel,
    deadline: tokio::time::Instant,
    /// Reads waiting for it.
    waiting: usize,
    done: watch::Receiver<Outcome>,
}

/// One cache key's rendering for one scope position; concurrent misses wait
/// for the one render. While it renders, reads that accept an older body
/// get `previous`, the latest rendering of the key finished before this one
/// was started (stale-while-revalidate; see [`App::cached`]).
struct Slot {
    scope: u64,
    rendered: OnceLock<Arc<Rendered>>,
    /// The key's latest finished rendering when this slot was made.
    /// Let go once this slot's own rendering is there.
    previous: Mutex<Option<Arc<Rendered>>>,
    /// Whether a background render of this slot has been started and has
    /// not ended.
    running: AtomicBool,
    /// The rendering under way, if any.
    flight: Mutex<Option<Flight>>,
    /// When a read last used it ([`Cache::tick`]).
    used: AtomicU64,
}

impl Slot {
    fn new(scope: u64, previous: Option<Arc<Rendered>>) -> Arc<Self> {
        Arc::new(Self {
            scope,
            rendered: OnceLock::new(),
            previous: Mutex::new(previous),
            running: AtomicBool::new(false),
            flight: Mutex::new(None),
            used: AtomicU64::new(0),
        })
    }

    /// The bytes of the bodies it holds.
    fn bytes(&self) -> usize {
        let rendered = self.rendered.get().map_or(0, |r| r.body.len());
        let previous = self.previous.lock().expect("previous lock");
        rendered + previous.as_ref().map_or(0, |r| r.body.len())
    }

    /// Forgets flight `id` if it is still the slot's.
    fn land(&self, id: u64) {
        let mut flight = self.flight.lock().expect("flight lock");
        if flight.as_ref().is_some_and(|f| f.id == id) {
            *flight = None;
        }
    }

    /// Whether this slot answers a read whose scope's last event is at
    /// `last`: made for that event or a later one, or rendered after it.
    fn serves(&self, last: u64) -> bool {
        self.scope >= last || self.rendered.get().is_some_and(|r| r.position >= last)
    }

    /// The latest finished rendering this slot knows.
    fn latest(&self) -> Option<Arc<Rendered>> {
        match self.rendered.get() {
            Some(r) => Some(r.clone()),
            None => self.previous.lock().expect("previous lock").clone(),
        }
    }

    /// Whether a background render is under way.
    fn in_flight(&self) -> bool {
        self.rendered.get().is_none() && self.running.load(Ordering::Acquire)
    }
}

/// How a cached read is answered.
pub(crate) enum Cached {
    /// A rendering of the current state of the read's scope: it may be
    /// served at the projected position ([`Rendered::body_at`]).
    Current(Arc<Rendered>),
    /// The key's previous rendering, served while the current one renders:
    /// it reflects [`Rendered::position`] exactly and is served there.
    Stale(Arc<Rendered>),
}

/// Rendered reads by key (route, query, privacy class, token scope).
#[derive(Default)]
struct Cache {
    entries: HashMap<String, Arc<Slot>>,
    /// Counts the reads that found or made a slot: each slot's
    /// [`Slot::used`] is the count at its latest read.
    tick: u64,
}

impl Cache {
    /// Marks `slot` as read now.
    fn touch(&mut self, slot: &Slot) {
        self.tick += 1;
        slot.used.store(self.tick, Ordering::Relaxed);
    }

    /// Drops the keys read least recently until the bodies kept add up to
    /// `budget` bytes at most; a key whose bodies alone exceed it first.
    fn trim(&mut self, budget: usize) {
        let mut total: usize = self.entries.values().map(|s| s.bytes()).sum();
        if total <= budget {
            return;
        }
        let mut held: Vec<(u64, String, usize)> = self
            .entries
            .iter()
            .map(|(k, s)| (s.used.load(Ordering::Relaxed), k.clone(), s.bytes()))
            .filter(|&(_, _, bytes)| bytes > 0)
            .collect();
        // A body larger than the whole budget goes first, alone.
        held.sort_unstable_by_key(|&(used, _, bytes)| (bytes <= budget, used));
        for (_, key, bytes) in held {
            if total <= budget {
                break;
            }
            self.entries.remove(&key);
            total -= bytes;
        }
    }
}

/// Most keys kept.
const CACHE_ENTRIES: usize = 4096;

/// A read on board a flight: its outcome to wait for, its deadline, and the
/// read's place among those waiting for it.
type Boarded<'s> = (watch::Receiver<Outcome>, tokio::time::Instant, Waiting<'s>);

/// Numbers flights, so that a slot tells its current one from earlier ones.
static FLIGHTS: AtomicU64 = AtomicU64::new(0);

/// A read waiting for a flight: when the read is dropped (its client went
/// away) or gives up, it stops waiting, and the last reader to leave stops
/// the rendering.
struct Waiting<'a> {
    slot: &'a Slot,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut flight = self.slot.flight.lock().expect("flight lock");
        let Some(f) = flight.as_mut().filter(|f| f.id == self.id) else {
            return;
        };
        f.waiting -= 1;
        if f.waiting == 0 {
            f.cancel.stop();
            *flight = None;
        }
    }
}

/// The projected position and each programme's last event, moved together
/// with the engine (under its write lock); and the same for the events
/// mentors and viewers can see ([`is_hidden`]).
#[derive(Default)]
struct Heads {
    position: u64,
    programmes: HashMap<String, u64>,
    /// Hidden events up to `position`.
    hidden: u64,
    /// The position of the last visible event.
    visible: u64,
    /// Each programme's last visible event.
    visible_programmes: HashMap<String, u64>,
    /// Each programme's events up to `position`: all, and the visible ones.
    counts: HashMap<String, (u64, u64)>,
}

impl Heads {
    /// The projected position as a reader in `units` is told it.
    fn told(&self, units: Units<'_>) -> u64 {
        match (units.programme, units.audience) {
            (None, Audience::Full) => self.position,
            (None, Audience::Restricted) => self.position - self.hidden,
            (Some(p), audience) => self.counts.get(p).map_or(0, |&(all, visible)| {
                if audience == Audience::Full {
                    all
                } else {
                    visible
                }
            }),
        }
    }

    /// Moves the heads past `event`, folded in at `position`.
    fn advance(&mut self, programme: &str, position: u64, hidden: bool) {
        self.position = position;
        self.programmes.insert(programme.to_owned(), position);
        let counts = self.counts.entry(programme.to_owned()).or_default();
        counts.0 += 1;
        if !hidden {
            counts.1 += 1;
        }
        if hidden {
            self.hidden += 1;
        } else {
            self.visible = position;
            self.visible_programmes
                .insert(programme.to_owned(), position);
        }
    }
}

/// What a read's cache entry depends on (of the events its audience sees).
pub(crate) enum Scope<'a> {
    /// Everything in the log (lists of programmes, reads `as of` a position).
    Log,
    /// One programme's events only (its views, lists, diffs, `as_of` a time).
    Programme(&'a str),
}

pub(crate) struct Inner {
    pub ledger: Ledger<Store>,
    pub store: Store,
    pub engine: RwLock<Engine>,
    /// The projected position (in every reader's units: [`App::projected_for`]).
    pub projected: watch::Sender<u64>,
    pub tokens: TokenStore,
    pub telemetry: Telemetry,
    pub config: ApiConfig,
    pub shutdown: watch::Sender<bool>,
    /// Layout chains kept between renders of network views, filled in the
    /// background (`api::layouts`).
    pub layouts: LayoutCache,
    /// The projected position every layout chain was last brought up to.
    pub settled: watch::Sender<u64>,
    /// The reads being rendered, which the background's layouts let go first.
    pub readers: super::layouts::Readers,
    /// Per programme, how many times the background has computed frames of
    /// its map: a part of the cache key of its map reads, since renderings
    /// made before may hold a layout that was not settled.
    pub relaid: Mutex<HashMap<String, u64>>,
    /// The event streams' fan-out.
    pub streams: Hub,
    cache: Mutex<Cache>,
    heads: Mutex<Heads>,
    /// One permit per rendering that may run ([`ApiConfig::render_limit`]).
    renders: Arc<Semaphore>,
    /// One permit per request that may wait for a position
    /// ([`ApiConfig::min_position_waiters`]).
    waiters: Arc<Semaphore>,
}

/// The API application. Clones share one state.
#[derive(Clone)]
pub struct App {
    pub(crate) inner: Arc<Inner>,
}

impl App {
    /// Opens the store at `db` (which must exist), folds the log into the
    /// projection engine and starts following the store.
    pub async fn open(db: &Location, config: ApiConfig) -> anyhow::Result<Self> {
        // The master key first: a server that cannot read its store's keys
        // refuses to start before it changes any byte of the store.
        crate::master_key::check(db).await?;
        let store = Store::open(db)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the store at {db}: {e}"))?;
        let keyring = crate::master_key::open_keyring(store.clone(), db).await?;
        let ledger = Ledger::open(keyring).await?;
        let engine = Engine::load(&store).await?;
        // The decoded pages of the ledger's and the engine's loading.
        crate::memory::release_freed();
        // Keys made while the log was loading.
        ledger.keyring().refresh().await?;
        let tokens = TokenStore::open(db)?;
        let position = engine.position();
        let mut heads = Heads::default();
        for e in engine.index() {
            heads.advance(e.programme, e.position, e.hidden);
        }
        let streams = Hub::new(&config, &engine);
        let renders = Arc::new(Semaphore::new(config.render_limit));
        let waiters = Arc::new(Semaphore::new(config.min_position_waiters));
        let app = Self {
            inner: Arc::new(Inner {
                ledger,
                store,
                engine: RwLock::new(engine),
                projected: watch::channel(position).0,
                tokens,
                telemetry: Telemetry::default(),
                config,
                shutdown: watch::channel(false).0,
                layouts: LayoutCache::new(),
                settled: watch::channel(0).0,
                relaid: Mutex::new(HashMap::new()),
                readers: Default::default(),
                streams,
                cache: Mutex::new(Cache::default()),
                heads: Mutex::new(heads),
                renders,
                waiters,
            }),
        };
        tokio::spawn(follow_store(
            Arc::downgrade(&app.inner),
            position,
            "the projection follower",
            fold,
        ));
        tokio::spawn(follow_store(
            Arc::downgrade(&app.inner),
            position,
            "the event stream hub",
            publish_page,
        ));
        if app.inner.config.background_layouts {
            tokio::spawn(super::layouts::keep_settled(
                Arc::downgrade(&app.inner),
                app.inner.settled.clone(),
            ));
        }
        Ok(app)
    }

    /// Waits until the map's layouts are kept up to the position projected
    /// now: every month of every programme settled (`api::layouts`). A
    /// server answers map reads before that too; this is for tests and
    /// benchmarks that measure the reads of a settled server. Without
    /// background layouts ([`ApiConfig::background_layouts`]) it returns at
    /// once.
    pub async fn layouts_settled(&self) {
        if !self.inner.config.background_layouts {
            return;
        }
        let target = self.projected();
        let mut settled = self.inner.settled.subscribe();
        // The sender lives as long as the app.
        let _ = settled.wait_for(|at| *at >= target).await;
    }

    /// The token store.
    pub fn tokens(&self) -> &TokenStore {
        &self.inner.tokens
    }

    /// The store's keys.
    pub fn keyring(&self) -> &Keyring<Store> {
        self.inner.ledger.keyring()
    }

    /// `event` with its personal fields opened from the keys known now: for
    /// roles that may see personal data only.
    pub(crate) fn opened(&self, mut event: StoredEvent) -> StoredEvent {
        self.keyring()
            .open_event(event.event.id, &mut event.event.event);
        event
    }

    /// [`App::opened`], after loading the keys the event needs if they are
    /// new (made, or destroyed, since the keys were last read).
    pub(crate) async fn opened_fresh(
        &self,
        event: StoredEvent,
    ) -> Result<StoredEvent, passerelle_events::StoreError> {
        refresh_for(self.keyring(), &event).await?;
        Ok(self.opened(event))
    }

    /// The log position projected so far.
    pub fn projected(&self) -> u64 {
        *self.inner.projected.borrow()
    }

    /// The log position projected so far, as a reader in `units` is told it.
    pub fn projected_for(&self, units: Units<'_>) -> u64 {
        self.inner.heads.lock().expect("heads lock").told(units)
    }

    /// Position `p` as a reader in `units` is told it, counting the events
    /// not projected yet from the store.
    pub(crate) async fn position_for(
        &self,
        p: u64,
        units: Units<'_>,
    ) -> Result<u64, passerelle_events::StoreError> {
        if units == Units::LOG {
            return Ok(p);
        }
        let (projected, told) = {
            let engine = self.inner.engine.read().expect("engine lock");
            let projected = engine.position().min(p);
            (projected, engine.told(projected, units))
        };
        let mut later = 0;
        let mut after = projected;
        while after < p {
            let page = self.inner.store.read(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            later += page
                .iter()
                .filter(|r| {
                    r.position <= p
                        && units.programme.is_none_or(|own| r.record.programme == own)
                        && (units.audience == Audience::Full
                            || !is_hidden_type(&r.record.event_type))
                })
                .count() as u64;
        }
        Ok(told + later)
    }

    /// Waits (bounded) until `position` is projected.
    pub async fn wait_for(&self, position: u64) -> bool {
        self.wait_for_as(position, Units::LOG).await
    }

    /// Waits (bounded) until `position`, as a reader in `units` is told
    /// positions, is projected; false if it was not in time, or if it was
    /// not yet and as many requests as may wait at once already did.
    pub async fn wait_for_as(&self, position: u64, units: Units<'_>) -> bool {
        self.wait_until(position, units).await == Waited::Reached
    }

    /// Waits until `position`, as a reader in `units` is told positions, is
    /// projected: at most [`ApiConfig::min_position_timeout`], and only
    /// while fewer than [`ApiConfig::min_position_waiters`] requests wait
    /// (a position already projected needs no wait and no place).
    pub async fn wait_until(&self, position: u64, units: Units<'_>) -> Waited {
        if self.projected_for(units) >= position {
            return Waited::Reached;
        }
        let Ok(_place) = self.inner.waiters.clone().try_acquire_owned() else {
            return Waited::Crowded;
        };
        let mut rx = self.inner.projected.subscribe();
        let reached = tokio::time::timeout(
            self.inner.config.min_position_timeout,
            rx.wait_for(|_| self.projected_for(units) >= position),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        if reached {
            Waited::Reached
        } else {
            Waited::TimedOut
        }
    }

    /// A read's `min_position`, as a reader in `units` is told positions:
    /// at once when it is projected; `409` at once, naming the head, when
    /// it is beyond the store's head (no append has reached it: waiting
    /// could not help); otherwise after a bounded wait ([`App::wait_until`]),
    /// `503` when the wait is over or too many requests wait already.
    pub(crate) async fn reach(&self, position: u64, units: Units<'_>) -> Result<(), Problem> {
        if self.projected_for(units) >= position {
            return Ok(());
        }
        let head = self.inner.store.head().await.map_err(Problem::from_store)?;
        let head = self
            .position_for(head, units)
            .await
            .map_err(Problem::from_store)?;
        if position > head {
            let unit = if units == Units::LOG {
                ""
            } else {
                " (counting the events this token is told of)"
            };
            return Err(Problem::conflict(format!(
                "min_position {position} is beyond the log's head {head}{unit}; \
                 ask for a position an append returned"
            )));
        }
        let config = &self.inner.config;
        match self.wait_until(position, units).await {
            Waited::Reached => Ok(()),
            Waited::TimedOut => Err(Problem::unavailable(format!(
                "position {position} was not projected within {} ms; the projection is at {}",
                config.min_position_timeout.as_millis(),
                self.projected_for(units)
            ))),
            Waited::Crowded => Err(Problem::unavailable(format!(
                "position {position} is not projected yet, and {} requests already wait \
                 for a position, as many as may wait at once",
                config.min_position_waiters
            ))),
        }
    }

    /// Tells streams to end: the server is shutting down.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// The projected position, the same as a reader in `units` is told it,
    /// and the position of the last event `scope` depends on among those
    /// the reader sees; `None` for a programme with no such event.
    pub(crate) fn scope_position(
        &self,
        scope: &Scope<'_>,
        units: Units<'_>,
    ) -> (u64, u64, Option<u64>) {
        let heads = self.inner.heads.lock().expect("heads lock");
        let last = match (units.audience, scope) {
            (Audience::Full, Scope::Log) => Some(heads.position),
            (Audience::Full, Scope::Programme(p)) => heads.programmes.get(*p).copied(),
            (Audience::Restricted, Scope::Log) => Some(heads.visible),
            (Audience::Restricted, Scope::Programme(p)) => {
                heads.visible_programmes.get(*p).copied()
            }
        };
        (heads.position, heads.told(units), last)
    }

    /// The rendering of `key` for the state where `scope`'s last event is at
    /// `last`: from the cache, or `render()`'s — run once however many
    /// requests miss at the same time; the others wait for it. `render` gets
    /// the engine and a [`Cancel`] to check in its long loops, and returns
    /// the body (live position fields set to [`Rendered::LIVE`]) and the
    /// position it reflects; it runs on the blocking pool, bounded as
    /// [`App::render_into`] says. A failed or stopped render is not cached.
    ///
    /// Stale-while-revalidate: when that rendering is not ready but an
    /// earlier one of the same key is, and `floor` allows it (no
    /// `min_position`, or one the earlier rendering reflects, both as the
    /// key's audience is told positions: [`Rendered::shown`]), the earlier
    /// one is answered at once ([`Cached::Stale`]) and the new one renders in
    /// the background. The earlier one is the key's latest finished
    /// rendering, and at most one background render per key runs at a time:
    /// a read is at most one render behind.
    pub(crate) async fn cached<F>(
        &self,
        key: String,
        last: u64,
        floor: Option<u64>,
        render: F,
    ) -> Result<Cached, Problem>
    where
        F: FnOnce(&App, &Engine, &Cancel) -> Result<Rendered, Failed> + Send + 'static,
    {
        let usable = |r: Option<Arc<Rendered>>| r.filter(|r| floor.is_none_or(|f| r.shown >= f));
        let slot = {
            let mut cache = self.inner.cache.lock().expect("cache lock");
            let slot = match cache.entries.get(&key) {
                // A newer slot (another request saw a later event) serves too.
                Some(slot) if slot.serves(last) => slot.clone(),
                Some(slot) => {
                    let latest = slot.latest();
                    if slot.in_flight() {
                        // Its render is under way: answer the latest
                        // rendering rather than start another one.
                        if let Some(stale) = usable(latest.clone()) {
                            return Ok(Cached::Stale(stale));
                        }
                    }
                    let slot = Slot::new(last, latest);
                    cache.entries.insert(key, slot.clone());
                    slot
                }
                None => {
                    if cache.entries.len() >= CACHE_ENTRIES {
                        cache.entries.clear();
                    }
                    let slot = Slot::new(last, None);
                    cache.entries.insert(key, slot.clone());
                    slot
                }
            };
            cache.touch(&slot);
            if let Some(hit) = slot.rendered.get() {
                return Ok(Cached::Current(hit.clone()));
            }
            if let Some(stale) = usable(slot.previous.lock().expect("previous lock").clone()) {
                if !slot.running.swap(true, Ordering::AcqRel) {
                    let (app, slot) = (self.clone(), slot.clone());
                    tokio::spawn(async move {
                        // A failure is not cached; the next read that
                        // cannot be answered stale renders and reports it.
                        let _ = app.render_into(&slot, render).await;
                        slot.running.store(false, Ordering::Release);
                    });
                }
                return Ok(Cached::Stale(stale));
            }
            slot
        };
        self.render_into(&slot, render).await.map(Cached::Current)
    }

    /// `slot`'s rendering: the one finished, the one under way (waited
    /// for), or `render`'s, started now — once fewer than
    /// [`ApiConfig::render_limit`] renderings run, after
    /// [`ApiConfig::render_wait`] at most (503 otherwise). A read waits
    /// until the rendering's deadline ([`ApiConfig::render_deadline`]) at
    /// most, and is answered 503 past it; the rendering stops at its
    /// deadline, or as soon as no read waits for it any more (the future of
    /// every read waiting for it was dropped: its client went away).
    async fn render_into<F>(&self, slot: &Arc<Slot>, render: F) -> Result<Arc<Rendered>, Problem>
    where
        F: FnOnce(&App, &Engine, &Cancel) -> Result<Rendered, Failed> + Send + 'static,
    {
        if let Some(hit) = slot.rendered.get() {
            return Ok(hit.clone());
        }
        let (mut done, deadline, _waiting) = match self.join(slot) {
            Some(joined) => joined,
            None => {
                let place = self.place().await?;
                self.board(slot, render, place)
            }
        };
        let outcome = match tokio::time::timeout_at(deadline, done.wait_for(Option::is_some)).await
        {
            Ok(Ok(outcome)) => outcome.clone(),
            Ok(Err(_)) => None,
            Err(_) => return Err(self.overrun()),
        };
        outcome.unwrap_or_else(|| Err(Problem::internal("a rendering ended with no outcome")))
    }

    /// Joins `slot`'s rendering under way, if there is one: its outcome to
    /// wait for, its deadline, and the read's place among those waiting.
    fn join<'s>(&self, slot: &'s Slot) -> Option<Boarded<'s>> {
        let mut flight = slot.flight.lock().expect("flight lock");
        let f = flight.as_mut()?;
        f.waiting += 1;
        Some((f.done.clone(), f.deadline, Waiting { slot, id: f.id }))
    }

    /// A place among the renderings that may run: at once, or once one
    /// ends within [`ApiConfig::render_wait`]; 503 otherwise.
    async fn place(&self) -> Result<OwnedSemaphorePermit, Problem> {
        let renders = &self.inner.renders;
        if let Ok(place) = renders.clone().try_acquire_owned() {
            return Ok(place);
        }
        let config = &self.inner.config;
        let _waiting = self.inner.telemetry.waiting();
        match tokio::time::timeout(config.render_wait, renders.clone().acquire_owned()).await {
            Ok(Ok(place)) => Ok(place),
            _ => {
                self.inner.telemetry.render_refused();
                Err(Problem::busy(
                    format!(
                        "the server computed {} other reads, as many as it computes at once, \
                         for the {} ms this read could wait; try again in a moment",
                        config.render_limit,
                        config.render_wait.as_millis()
                    ),
                    Duration::from_secs(1),
                ))
            }
        }
    }

    /// Joins `slot`'s rendering under way (one may have started while this
    /// read waited for `place`, which is then given back), or starts
    /// `render` in `place`.
    fn board<'s, F>(
        &self,
        slot: &'s Arc<Slot>,
        render: F,
        place: OwnedSemaphorePermit,
    ) -> Boarded<'s>
    where
        F: FnOnce(&App, &Engine, &Cancel) -> Result<Rendered, Failed> + Send + 'static,
    {
        let mut flight = slot.flight.lock().expect("flight lock");
        if let Some(f) = flight.as_mut() {
            f.waiting += 1;
            return (f.done.clone(), f.deadline, Waiting { slot, id: f.id });
        }
        let id = FLIGHTS.fetch_add(1, Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + self.inner.config.render_deadline;
        let cancel = Cancel::until(deadline.into_std());
        let (tx, done) = watch::channel(None);
        *flight = Some(Flight {
            id,
            cancel: cancel.clone(),
            deadline,
            waiting: 1,
            done: done.clone(),
        });
        drop(flight);
        let (app, running) = (self.clone(), slot.clone());
        tokio::task::spawn_blocking(move || {
            // Counted as under way until its place is free again.
            let counted = app.inner.telemetry.rendering();
            let outcome = app.run(&running, id, render, &cancel);
            drop(place);
            drop(counted);
            tx.send_replace(Some(outcome));
            // What the rendering freed goes back to the system.
            crate::memory::release_freed();
        });
        (done, deadline, Waiting { slot, id })
    }

    /// Runs flight `id` of `slot`: `render` under the engine's read lock,
    /// released when it returns (also when it stops); a body is cached, a
    /// stop counted, and the flight leaves the slot before its readers
    /// learn the outcome.
    fn run<F>(
        &self,
        slot: &Slot,
        id: u64,
        render: F,
        cancel: &Cancel,
    ) -> Result<Arc<Rendered>, Problem>
    where
        F: FnOnce(&App, &Engine, &Cancel) -> Result<Rendered, Failed>,
    {
        let _landing = Landing { slot, id };
        let _reading = self.inner.readers.enter();
        let rendered = cancel.check().map_err(Failed::from).and_then(|()| {
            let engine = self.inner.engine.read().expect("engine lock");
            render(self, &engine, cancel)
        });
        match rendered {
            Ok(r) => {
                let r = slot.rendered.get_or_init(|| Arc::new(r)).clone();
                // Stale reads are answered with `r` from now on.
                slot.previous.lock().expect("previous lock").take();
                let budget = self.inner.config.cache_bytes;
                self.inner.cache.lock().expect("cache lock").trim(budget);
                Ok(r)
            }
            Err(Failed::Problem(p)) => Err(p),
            Err(Failed::Stopped(Stopped::OutOfTime)) => {
                self.inner.telemetry.render_stopped(StopReason::Deadline);
                Err(self.overrun())
            }
            Err(Failed::Stopped(Stopped::Abandoned)) => {
                self.inner.telemetry.render_stopped(StopReason::Abandoned);
                Err(Problem::busy(
                    "the computation of this read was stopped: no request waited for it any more",
                    Duration::from_secs(1),
                ))
            }
        }
    }

    /// The answer to a read whose rendering ran out of time.
    fn overrun(&self) -> Problem {
        let deadline = self.inner.config.render_deadline;
        Problem::busy(
            format!(
                "computing this read took longer than the server allows ({} ms), so it was \
                 stopped before it ended; try again later",
                deadline.as_millis()
            ),
            deadline,
        )
    }
}

/// Takes a flight off its slot when its rendering ends, however it ends.
struct Landing<'a> {
    slot: &'a Slot,
    id: u64,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        self.slot.land(self.id);
    }
}

/// Brings `keyring` up to date when `event` needs it: an erasure, or a sealed
/// field under a key it does not know.
async fn refresh_for(
    keyring: &Keyring<Store>,
    event: &StoredEvent,
) -> Result<(), passerelle_events::StoreError> {
    let e = &event.event.event;
    let stale = matches!(e, Event::PersonalDataErased(_))
        || (Event::may_hold_personal_data(e.type_name())
            && e.clone().personal_fields().iter().any(
                |f| matches!(f.value.state(), SlotState::Sealed(s) if !keyring.knows(s.key())),
            ));
    if stale {
        keyring.refresh().await.map_err(|e| match e {
            passerelle_events::keyring::KeyError::Store(s) => s,
            other => passerelle_events::StoreError::Backend(other.to_string()),
        })?;
    }
    Ok(())
}

/// How long a follower of the store waits before following it again after
/// a failure.
const RESTART: Duration = Duration::from_millis(200);

/// How far a follower got through a page: the position of the last event it
/// took, and the failure that stopped it before the page's end, if any.
pub(crate) type Followed = (u64, Result<(), String>);

/// Follows the store from `position`, handing each page of appended events
/// (up to [`PAGE`], in log order: every event committed since the previous
/// page) to `step`; ends at shutdown or when the app is dropped. A failure
/// is logged (`what` names the follower) and the store followed again, after
/// a pause, from the last position `step` reached.
///
/// One read of the store per wake, however many events a group commit
/// brought: the followers' work per append is a share of a page, never a
/// read of its own, and nothing here runs on the append's path. A page
/// shorter than [`PAGE`] is not followed by a read that would find nothing
/// new when this process has appended nothing since.
pub(crate) async fn follow_store<F, Fut>(
    app: std::sync::Weak<Inner>,
    mut position: u64,
    what: &'static str,
    step: F,
) where
    F: Fn(App, Vec<RawEvent>) -> Fut,
    Fut: std::future::Future<Output = Followed>,
{
    loop {
        let Some(inner) = app.upgrade() else { return };
        let store = inner.store.clone();
        let mut shutdown = inner.shutdown.subscribe();
        drop(inner);
        let mut changes = store.head_changes();
        loop {
            let page = tokio::select! {
                page = store.read(position, PAGE) => page,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "{what} failed; restarting");
                    break;
                }
            };
            // A short page held every event committed when it was read.
            let (empty, short) = (page.is_empty(), page.len() < PAGE);
            if !empty {
                let Some(inner) = app.upgrade() else { return };
                let (reached, outcome) = step(App { inner }, page).await;
                position = position.max(reached);
                if let Err(e) = outcome {
                    tracing::error!(error = %e, "{what} failed; restarting");
                    break;
                }
            }
            // Caught up, unless this process appended since: wait for it to
            // append, or poll for another process's appends. (The head is
            // sent after each commit, so a commit after the read is either
            // seen here or wakes the wait.)
            let appended = *changes.borrow_and_update();
            if empty || (short && appended <= position) {
                tokio::select! {
                    _ = tokio::time::timeout(POLL, changes.changed()) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
            }
        }
        tokio::time::sleep(RESTART).await;
    }
}

/// Publishes a page of appended events into the event streams' hub, one by
/// one ([`super::stream::publish`]).
async fn publish_page(app: App, page: Vec<RawEvent>) -> Followed {
    let mut reached = 0;
    for raw in page {
        match super::stream::publish(app.clone(), raw).await {
            Ok(p) => reached = p,
            Err(e) => return (reached, Err(e)),
        }
    }
    (reached, Ok(()))
}

/// Folds a page of appended events into the engine, under one hold of its
/// write lock, and publishes the projected position once.
///
/// The events are decoded, and the keys they need read, before the lock is
/// taken; an event that cannot be decoded stops the page there, the events
/// before it folded.
async fn fold(app: App, page: Vec<RawEvent>) -> Followed {
    let inner = &app.inner;
    let mut events = Vec::with_capacity(page.len());
    let mut failure = Ok(());
    for raw in &page {
        let event = match decode(raw) {
            Ok(event) => event,
            Err(e) => {
                failure = Err(e.to_string());
                break;
            }
        };
        // A read that shows this event must find its keys, and must no
        // longer find a key it destroys.
        if let Err(e) = refresh_for(inner.ledger.keyring(), &event).await {
            failure = Err(format!("the keys could not be read: {e}"));
            break;
        }
        events.push(event);
    }
    drop(page);
    let Some(last) = events.last().map(|e| e.position) else {
        return (0, failure);
    };
    let erasure = events
        .iter()
        .any(|e| matches!(e.event.event, Event::PersonalDataErased(_)));
    {
        let mut engine = inner.engine.write().expect("engine lock");
        // Under the engine's lock: a render sees heads that match it.
        let mut heads = inner.heads.lock().expect("heads lock");
        for event in events {
            let folded = engine.position();
            let position = event.position;
            let hidden = is_hidden(&event.event.event);
            let programme = event.event.programme.as_str().to_owned();
            engine.apply(event);
            if engine.position() > folded {
                heads.advance(&programme, position, hidden);
            }
        }
        if erasure {
            // Renderings made before it hold the erased fields opened, and
            // a read may be answered with the previous rendering: none of
            // them may be served again.
            inner.cache.lock().expect("cache lock").entries.clear();
        }
    }
    inner.projected.send_replace(last);
    (last, failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(bytes: usize) -> Arc<Rendered> {
        let value = serde_json::Value::String("x".repeat(bytes - 2));
        let r = Rendered::new(&value, 1, 1);
        assert_eq!(r.body.len(), bytes);
        Arc::new(r)
    }

    /// A slot of `cache` under `key` with a body of `bytes` bytes, read now.
    fn keep(cache: &mut Cache, key: &str, bytes: usize) -> Arc<Slot> {
        let slot = Slot::new(1, None);
        assert!(slot.rendered.set(rendered(bytes)).is_ok());
        cache.touch(&slot);
        cache.entries.insert(key.to_owned(), slot.clone());
        slot
    }

    #[test]
    fn the_read_cache_drops_the_keys_read_least_recently_past_its_bytes() {
        let mut cache = Cache::default();
        let a = keep(&mut cache, "a", 400);
        keep(&mut cache, "b", 400);
        keep(&mut cache, "c", 400);
        cache.trim(1200);
        assert_eq!(cache.entries.len(), 3, "within the budget");
        // `a` read again: `b` is now the one read least recently.
        cache.touch(&a);
        keep(&mut cache, "d", 400);
        cache.trim(1200);
        let mut kept: Vec<&str> = cache.entries.keys().map(String::as_str).collect();
        kept.sort_unstable();
        assert_eq!(kept, ["a", "c", "d"]);
        // A body larger than the whole budget is not kept; the others stay.
        keep(&mut cache, "huge", 2000);
        cache.trim(1200);
        let mut kept: Vec<&str> = cache.entries.keys().map(String::as_str).collect();
        kept.sort_unstable();
        assert_eq!(kept, ["a", "c", "d"]);
    }

    #[test]
    fn a_slot_counts_its_previous_body_until_its_own_is_there() {
        let slot = Slot::new(2, Some(rendered(300)));
        assert_eq!(slot.bytes(), 300);
        assert!(slot.rendered.set(rendered(500)).is_ok());
        slot.previous.lock().expect("previous lock").take();
        assert_eq!(slot.bytes(), 500);
        assert_eq!(slot.latest().map(|r| r.body.len()), Some(500));
    }
}

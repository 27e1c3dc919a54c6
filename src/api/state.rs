//! The server's shared state: the ledger and store for writes, the
//! projection engine fed by a live store subscription for reads, the token
//! store, telemetry and a cache of rendered reads keyed by the position of
//! the last event that can change them (see [`Rendered`]).
//!
//! Mentors and viewers ([`Audience::Restricted`]) are told positions in
//! visible units ([`Engine::visible_position`]), and their cached reads
//! depend on visible events only: an attendance or an erasure changes
//! nothing they see, not even when their cached answers are rendered again.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use passerelle_events::ledger::decode;
use passerelle_events::personal::SlotState;
use passerelle_events::store::PAGE;
use passerelle_events::{Event, EventLog, Keyring, Ledger, SqliteStore, StoredEvent};
use passerelle_projections::engine::Engine;
use passerelle_projections::model::{is_hidden, is_hidden_type, Audience};
use passerelle_projections::views::{LayoutCache, Settings};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::sync::OnceCell;

use super::stream::Hub;
use super::telemetry::Telemetry;
use crate::auth::TokenStore;

/// Settings of the API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body, in bytes (default 1 MiB).
    pub body_limit: u64,
    /// How long `min_position` may wait for the projection (default 5 s).
    pub min_position_timeout: Duration,
    /// Interval of SSE heartbeat comments (default 15 s).
    pub heartbeat: Duration,
    /// Events kept for event-stream subscribers, rounded up to a power of
    /// two (default 4,096): a subscriber that falls further behind is
    /// dropped and resumes with `Last-Event-ID`.
    pub stream_ring: usize,
    /// Most event streams open at once per token (default 8); more get 429.
    pub streams_per_token: usize,
    /// Most event streams open at once in all (default 1,000); more get 503.
    pub streams_total: usize,
    /// How long an event stream gathers the events that follow one before
    /// it writes them (default 20 ms): a burst costs each subscriber one
    /// write, not one per event.
    pub stream_linger: Duration,
    /// Projection settings.
    pub settings: Settings,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            body_limit: 1 << 20,
            min_position_timeout: Duration::from_secs(5),
            heartbeat: Duration::from_secs(15),
            stream_ring: 4096,
            streams_per_token: 8,
            streams_total: 1000,
            stream_linger: Duration::from_millis(20),
            settings: Settings::default(),
        }
    }
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

/// One cache key's rendering for one scope position; concurrent misses wait
/// for the one render. While it renders, reads that accept an older body
/// get `previous`, the latest rendering of the key finished before this one
/// was started (stale-while-revalidate; see [`App::cached`]).
struct Slot {
    scope: u64,
    rendered: OnceCell<Arc<Rendered>>,
    /// The key's latest finished rendering when this slot was made.
    previous: Option<Arc<Rendered>>,
    /// Whether a background render of this slot has been started and has
    /// not ended.
    running: AtomicBool,
}

impl Slot {
    fn new(scope: u64, previous: Option<Arc<Rendered>>) -> Arc<Self> {
        Arc::new(Self {
            scope,
            rendered: OnceCell::new(),
            previous,
            running: AtomicBool::new(false),
        })
    }

    /// Whether this slot answers a read whose scope's last event is at
    /// `last`: made for that event or a later one, or rendered after it.
    fn serves(&self, last: u64) -> bool {
        self.scope >= last || self.rendered.get().is_some_and(|r| r.position >= last)
    }

    /// The latest finished rendering this slot knows.
    fn latest(&self) -> Option<Arc<Rendered>> {
        self.rendered.get().or(self.previous.as_ref()).cloned()
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
}

/// Most keys kept.
const CACHE_ENTRIES: usize = 4096;

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
}

impl Heads {
    /// Moves the heads past `event`, folded in at `position`.
    fn advance(&mut self, programme: &str, position: u64, hidden: bool) {
        self.position = position;
        self.programmes.insert(programme.to_owned(), position);
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
    pub ledger: Ledger<SqliteStore>,
    pub store: SqliteStore,
    pub engine: RwLock<Engine>,
    pub projected: watch::Sender<u64>,
    /// The projected position in visible units ([`Engine::visible_position`]).
    pub projected_visible: watch::Sender<u64>,
    pub tokens: TokenStore,
    pub telemetry: Telemetry,
    pub config: ApiConfig,
    pub shutdown: watch::Sender<bool>,
    /// Layout chains kept between renders of network views.
    pub layouts: LayoutCache,
    /// The event streams' fan-out.
    pub streams: Hub,
    cache: Mutex<Cache>,
    heads: Mutex<Heads>,
}

/// The API application. Clones share one state.
#[derive(Clone)]
pub struct App {
    pub(crate) inner: Arc<Inner>,
}

impl App {
    /// Opens the store at `db` (which must exist), folds the log into the
    /// projection engine and starts following the store.
    pub async fn open(db: &Path, config: ApiConfig) -> anyhow::Result<Self> {
        // The master key first: a server that cannot read its store's keys
        // refuses to start before it changes any byte of the store.
        crate::master_key::check(db)?;
        let store = SqliteStore::open(db)?;
        let keyring = crate::master_key::open_keyring(store.clone(), db).await?;
        let ledger = Ledger::open(keyring).await?;
        let engine = Engine::load(&store).await?;
        // Keys made while the log was loading.
        ledger.keyring().refresh().await?;
        let tokens = TokenStore::open(db)?;
        let position = engine.position();
        let mut heads = Heads::default();
        for e in engine.events() {
            heads.advance(
                e.event.programme.as_str(),
                e.position,
                is_hidden(&e.event.event),
            );
        }
        let visible = position - heads.hidden;
        let streams = Hub::new(&config, &engine);
        let app = Self {
            inner: Arc::new(Inner {
                ledger,
                store,
                engine: RwLock::new(engine),
                projected: watch::channel(position).0,
                projected_visible: watch::channel(visible).0,
                tokens,
                telemetry: Telemetry::default(),
                config,
                shutdown: watch::channel(false).0,
                layouts: LayoutCache::new(),
                streams,
                cache: Mutex::new(Cache::default()),
                heads: Mutex::new(heads),
            }),
        };
        tokio::spawn(follow(Arc::downgrade(&app.inner), position));
        tokio::spawn(super::stream::follow(Arc::downgrade(&app.inner), position));
        Ok(app)
    }

    /// The token store.
    pub fn tokens(&self) -> &TokenStore {
        &self.inner.tokens
    }

    /// The store's keys.
    pub fn keyring(&self) -> &Keyring<SqliteStore> {
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

    /// The log position projected so far, as `audience` is told it.
    pub fn projected_for(&self, audience: Audience) -> u64 {
        match audience {
            Audience::Full => self.projected(),
            Audience::Restricted => *self.inner.projected_visible.borrow(),
        }
    }

    /// Position `p` as `audience` is told it: in visible units for mentors
    /// and viewers, counting the events not projected yet from the store.
    pub(crate) async fn position_for(
        &self,
        p: u64,
        audience: Audience,
    ) -> Result<u64, passerelle_events::StoreError> {
        if audience == Audience::Full {
            return Ok(p);
        }
        let (projected, visible) = {
            let engine = self.inner.engine.read().expect("engine lock");
            let projected = engine.position().min(p);
            (projected, engine.visible_position(projected))
        };
        let mut hidden = 0;
        let mut after = projected;
        while after < p {
            let page = self.inner.store.read(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            hidden += page
                .iter()
                .filter(|r| r.position <= p && is_hidden_type(&r.record.event_type))
                .count() as u64;
        }
        Ok(visible + (p - projected) - hidden)
    }

    /// Waits (bounded) until `position` is projected.
    pub async fn wait_for(&self, position: u64) -> bool {
        self.wait_for_as(position, Audience::Full).await
    }

    /// Waits (bounded) until `position`, as `audience` is told positions,
    /// is projected.
    pub async fn wait_for_as(&self, position: u64, audience: Audience) -> bool {
        let mut rx = match audience {
            Audience::Full => self.inner.projected.subscribe(),
            Audience::Restricted => self.inner.projected_visible.subscribe(),
        };
        let reached = tokio::time::timeout(
            self.inner.config.min_position_timeout,
            rx.wait_for(|p| *p >= position),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        reached
    }

    /// Tells streams to end: the server is shutting down.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// The projected position, the same as `audience` is told it, and the
    /// position of the last event `scope` depends on among those `audience`
    /// sees; `None` for a programme with no such event.
    pub(crate) fn scope_position(
        &self,
        scope: &Scope<'_>,
        audience: Audience,
    ) -> (u64, u64, Option<u64>) {
        let heads = self.inner.heads.lock().expect("heads lock");
        let (told, last) = match (audience, scope) {
            (Audience::Full, Scope::Log) => (heads.position, Some(heads.position)),
            (Audience::Full, Scope::Programme(p)) => {
                (heads.position, heads.programmes.get(*p).copied())
            }
            (Audience::Restricted, Scope::Log) => {
                (heads.position - heads.hidden, Some(heads.visible))
            }
            (Audience::Restricted, Scope::Programme(p)) => (
                heads.position - heads.hidden,
                heads.visible_programmes.get(*p).copied(),
            ),
        };
        (heads.position, told, last)
    }

    /// The rendering of `key` for the state where `scope`'s last event is at
    /// `last`: from the cache, or `render()`'s — run once however many
    /// requests miss at the same time; the others wait for it. `render` gets
    /// the engine and returns the body (live position fields set to
    /// [`Rendered::LIVE`]) and the position it reflects; it runs on the
    /// blocking pool. A failed render is not cached.
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
    ) -> Result<Cached, super::problem::Problem>
    where
        F: FnOnce(&App, &Engine) -> Result<Rendered, super::problem::Problem> + Send + 'static,
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
            if let Some(hit) = slot.rendered.get() {
                return Ok(Cached::Current(hit.clone()));
            }
            if let Some(stale) = usable(slot.previous.clone()) {
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

    /// `slot`'s rendering: the one under way, or `render`'s.
    async fn render_into<F>(
        &self,
        slot: &Slot,
        render: F,
    ) -> Result<Arc<Rendered>, super::problem::Problem>
    where
        F: FnOnce(&App, &Engine) -> Result<Rendered, super::problem::Problem> + Send + 'static,
    {
        let rendered = slot
            .rendered
            .get_or_try_init(|| {
                let app = self.clone();
                async move {
                    // Views can take milliseconds: render off the async workers.
                    tokio::task::spawn_blocking(move || {
                        let engine = app.inner.engine.read().expect("engine lock");
                        render(&app, &engine).map(Arc::new)
                    })
                    .await
                    .map_err(super::problem::Problem::internal)?
                }
            })
            .await?;
        Ok(rendered.clone())
    }
}

/// Brings `keyring` up to date when `event` needs it: an erasure, or a sealed
/// field under a key it does not know.
async fn refresh_for(
    keyring: &Keyring<SqliteStore>,
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

/// Folds every appended event into the engine and publishes the projected
/// position; ends at shutdown or when the app is dropped. A subscription
/// error is logged and the subscription restarted from the projected position.
async fn follow(app: std::sync::Weak<Inner>, mut position: u64) {
    loop {
        let Some(inner) = app.upgrade() else { return };
        let store = inner.store.clone();
        let mut shutdown = inner.shutdown.subscribe();
        drop(inner);
        let mut live = store.subscribe(position);
        loop {
            let next = tokio::select! {
                next = live.next() => next,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            let Some(next) = next else { break };
            let Some(inner) = app.upgrade() else { return };
            let event = match next.and_then(|raw| decode(&raw)) {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(error = %e, "projection subscription failed; restarting");
                    break;
                }
            };
            // A read that shows this event must find its keys, and must no
            // longer find a key it destroys.
            if let Err(e) = refresh_for(inner.ledger.keyring(), &event).await {
                tracing::error!(error = %e, "the keys could not be read; restarting");
                break;
            }
            position = event.position;
            let programme = event.event.programme.as_str().to_owned();
            let hidden = is_hidden(&event.event.event);
            let erasure = matches!(event.event.event, Event::PersonalDataErased(_));
            let visible = {
                let mut engine = inner.engine.write().expect("engine lock");
                let folded = engine.position();
                engine.apply(event);
                if erasure {
                    // Renderings made before it hold the erased fields
                    // opened, and a read may be answered with the previous
                    // rendering: none of them may be served again.
                    inner.cache.lock().expect("cache lock").entries.clear();
                }
                // Under the engine's lock: a render sees heads that match it.
                let mut heads = inner.heads.lock().expect("heads lock");
                if engine.position() > folded {
                    heads.advance(&programme, position, hidden);
                }
                heads.position - heads.hidden
            };
            inner.projected.send_replace(position);
            inner.projected_visible.send_replace(visible);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

//! The server's shared state: the ledger and store for writes, the
//! projection engine fed by a live store subscription for reads, the token
//! store, telemetry and a cache of rendered reads keyed by log position.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use passerelle_events::ledger::decode;
use passerelle_events::{EventLog, Ledger, SqliteStore};
use passerelle_projections::engine::Engine;
use passerelle_projections::views::Settings;
use tokio::sync::watch;

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
    /// Projection settings.
    pub settings: Settings,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            body_limit: 1 << 20,
            min_position_timeout: Duration::from_secs(5),
            heartbeat: Duration::from_secs(15),
            settings: Settings::default(),
        }
    }
}

/// Rendered reads of one log position.
#[derive(Default)]
struct Cache {
    position: u64,
    entries: HashMap<String, Bytes>,
}

/// Most rendered reads kept per position.
const CACHE_ENTRIES: usize = 4096;

pub(crate) struct Inner {
    pub ledger: Ledger<SqliteStore>,
    pub store: SqliteStore,
    pub engine: RwLock<Engine>,
    pub projected: watch::Sender<u64>,
    pub tokens: TokenStore,
    pub telemetry: Telemetry,
    pub config: ApiConfig,
    pub shutdown: watch::Sender<bool>,
    cache: Mutex<Cache>,
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
        let store = SqliteStore::open(db)?;
        let ledger = Ledger::open(store.clone()).await?;
        let engine = Engine::load(&store).await?;
        let tokens = TokenStore::open(db)?;
        let position = engine.position();
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
                cache: Mutex::new(Cache::default()),
            }),
        };
        tokio::spawn(follow(Arc::downgrade(&app.inner), position));
        Ok(app)
    }

    /// The token store.
    pub fn tokens(&self) -> &TokenStore {
        &self.inner.tokens
    }

    /// The log position projected so far.
    pub fn projected(&self) -> u64 {
        *self.inner.projected.borrow()
    }

    /// Waits (bounded) until `position` is projected.
    pub async fn wait_for(&self, position: u64) -> bool {
        let mut rx = self.inner.projected.subscribe();
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

    /// A cached rendering for `key` at `position`, or `render()`'s.
    pub(crate) fn cached(
        &self,
        key: String,
        position: u64,
        render: impl FnOnce() -> Result<Bytes, super::problem::Problem>,
    ) -> Result<Bytes, super::problem::Problem> {
        {
            let cache = self.inner.cache.lock().expect("cache lock");
            if cache.position == position {
                if let Some(b) = cache.entries.get(&key) {
                    return Ok(b.clone());
                }
            }
        }
        let bytes = render()?;
        let mut cache = self.inner.cache.lock().expect("cache lock");
        if cache.position != position {
            if position < cache.position {
                return Ok(bytes);
            }
            cache.position = position;
            cache.entries.clear();
        }
        if cache.entries.len() < CACHE_ENTRIES {
            cache.entries.insert(key, bytes.clone());
        }
        Ok(bytes)
    }
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
            position = event.position;
            inner.engine.write().expect("engine lock").apply(event);
            inner.projected.send_replace(position);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

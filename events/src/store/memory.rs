//! The in-memory store, for tests: the same rules as every store, kept in a
//! vector behind a mutex. Nothing survives the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use futures::future::BoxFuture;
use tokio::sync::watch;
use uuid::Uuid;

use super::{apply_append, AppendRequest, AppendTarget, Appended, EventLog, RawEvent, StoreError};

#[derive(Default)]
struct Log {
    events: Vec<RawEvent>,
    by_id: HashMap<Uuid, usize>,
    streams: HashMap<String, u64>,
}

/// An in-memory event store. Clones share the same log.
#[derive(Clone)]
pub struct MemoryStore {
    log: Arc<Mutex<Log>>,
    head: Arc<watch::Sender<u64>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            log: Arc::default(),
            head: Arc::new(watch::channel(0).0),
        }
    }
}

/// The batch being appended, staged beside the log until it all succeeds.
struct Staged<'a> {
    log: &'a Log,
    events: Vec<RawEvent>,
    ids: HashMap<Uuid, usize>,
    streams: HashMap<String, u64>,
}

impl AppendTarget for Staged<'_> {
    fn find_id(&mut self, id: &Uuid) -> Result<Option<RawEvent>, StoreError> {
        Ok(match (self.log.by_id.get(id), self.ids.get(id)) {
            (Some(&i), _) => Some(self.log.events[i].clone()),
            (None, Some(&i)) => Some(self.events[i].clone()),
            (None, None) => None,
        })
    }

    fn stream_version(&mut self, stream: &str) -> Result<u64, StoreError> {
        Ok(self
            .streams
            .get(stream)
            .or_else(|| self.log.streams.get(stream))
            .copied()
            .unwrap_or(0))
    }

    fn last(&mut self) -> Result<(u64, [u8; 32]), StoreError> {
        Ok(self
            .events
            .last()
            .or(self.log.events.last())
            .map(|e| (e.position, e.hash))
            .unwrap_or((0, [0; 32])))
    }

    fn id_at(&mut self, position: u64) -> Result<Option<Uuid>, StoreError> {
        let Some(i) = usize::try_from(position)
            .ok()
            .and_then(|p| p.checked_sub(1))
        else {
            return Ok(None);
        };
        let stored = self.log.events.len();
        let event = match i.checked_sub(stored) {
            None => self.log.events.get(i),
            Some(j) => self.events.get(j),
        };
        Ok(event.map(|e| e.record.id))
    }

    fn insert(&mut self, raw: &RawEvent) -> Result<(), StoreError> {
        self.ids.insert(raw.record.id, self.events.len());
        self.streams.insert(raw.stream.clone(), raw.version);
        self.events.push(raw.clone());
        Ok(())
    }
}

impl EventLog for MemoryStore {
    fn append(
        &self,
        request: AppendRequest,
    ) -> BoxFuture<'static, Result<Vec<Appended>, StoreError>> {
        // Applied now, at call time, so that calls are committed in call order.
        let result = (|| {
            let mut log = self.log.lock().map_err(|_| StoreError::Closed)?;
            let mut staged = Staged {
                log: &log,
                events: Vec::new(),
                ids: HashMap::new(),
                streams: HashMap::new(),
            };
            let out = apply_append(&mut staged, &request, Utc::now())?;
            let Staged {
                events, streams, ..
            } = staged;
            for e in events {
                let i = log.events.len();
                log.by_id.insert(e.record.id, i);
                log.events.push(e);
            }
            log.streams.extend(streams);
            let head = log.events.len() as u64;
            drop(log);
            self.head.send_replace(head);
            Ok(out)
        })();
        Box::pin(async move { result })
    }

    fn read(
        &self,
        after: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<RawEvent>, StoreError>> {
        let result = self.log.lock().map_err(|_| StoreError::Closed).map(|log| {
            let start = (after as usize).min(log.events.len());
            log.events[start..]
                .iter()
                .take(limit)
                .cloned()
                .collect::<Vec<_>>()
        });
        Box::pin(async move { result })
    }

    fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> BoxFuture<'static, Result<Vec<RawEvent>, StoreError>> {
        let result = self.log.lock().map_err(|_| StoreError::Closed).map(|log| {
            log.events
                .iter()
                .filter(|e| e.stream == stream && e.version >= from_version)
                .take(limit)
                .cloned()
                .collect::<Vec<_>>()
        });
        Box::pin(async move { result })
    }

    fn stream_version(&self, stream: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        let result = self
            .log
            .lock()
            .map_err(|_| StoreError::Closed)
            .map(|log| log.streams.get(stream).copied().unwrap_or(0));
        Box::pin(async move { result })
    }

    fn head(&self) -> BoxFuture<'static, Result<u64, StoreError>> {
        let result = self
            .log
            .lock()
            .map_err(|_| StoreError::Closed)
            .map(|log| log.events.len() as u64);
        Box::pin(async move { result })
    }

    fn head_changes(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }
}

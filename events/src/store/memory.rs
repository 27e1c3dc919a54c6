//! The in-memory store, for tests: the same rules as every store, kept in a
//! vector behind a mutex. Nothing survives the process.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::watch;
use uuid::Uuid;

use super::keys::{apply_key_op, erase_key, make_keys, KeyTarget};
use super::{
    apply_append, AppendRequest, AppendTarget, Appended, EventLog, KeyChanges, KeyEntry, KeyOp,
    KeyOpDone, KeyringRecord, KeysSince, KeysToMake, NewKey, RawEvent, StoreError,
};

#[derive(Default)]
struct Log {
    events: Vec<RawEvent>,
    by_id: HashMap<Uuid, usize>,
    streams: HashMap<String, u64>,
    keys: Keys,
}

/// The key table: small, so a change is made on a copy and swapped in.
#[derive(Default, Clone)]
struct Keys {
    keyring: Option<KeyringRecord>,
    /// Live keys by seq.
    live: BTreeMap<u64, NewKey>,
    next_seq: u64,
    erased: HashSet<String>,
}

impl KeyTarget for Keys {
    fn keyring(&mut self) -> Result<Option<KeyringRecord>, StoreError> {
        Ok(self.keyring.clone())
    }

    fn put_keyring(&mut self, record: &KeyringRecord) -> Result<(), StoreError> {
        self.keyring = Some(record.clone());
        Ok(())
    }

    fn key_by_lookup(&mut self, lookup: &[u8; 32]) -> Result<Option<KeyEntry>, StoreError> {
        Ok(self.find(|k| &k.lookup == lookup))
    }

    fn key_by_id(&mut self, id: &str) -> Result<Option<KeyEntry>, StoreError> {
        Ok(self.find(|k| k.id == id))
    }

    fn is_erased(&mut self, id: &str) -> Result<bool, StoreError> {
        Ok(self.erased.contains(id))
    }

    fn insert_key(&mut self, key: &NewKey, _at: &str) -> Result<KeyEntry, StoreError> {
        self.next_seq += 1;
        self.live.insert(self.next_seq, key.clone());
        Ok(KeyEntry {
            seq: self.next_seq,
            key: key.clone(),
        })
    }

    fn rewrap(&mut self, id: &str, wrapped: &[u8]) -> Result<(), StoreError> {
        if let Some(k) = self.live.values_mut().find(|k| k.id == id) {
            k.wrapped = wrapped.to_vec();
        }
        Ok(())
    }

    fn key_ids(&mut self) -> Result<Vec<String>, StoreError> {
        Ok(self.live.values().map(|k| k.id.clone()).collect())
    }

    fn destroy(&mut self, id: &str, _at: &str) -> Result<(), StoreError> {
        self.live.retain(|_, k| k.id != id);
        self.erased.insert(id.to_owned());
        Ok(())
    }

    fn tombstone(&mut self, id: &str, _at: &str) -> Result<(), StoreError> {
        self.erased.insert(id.to_owned());
        Ok(())
    }
}

impl Keys {
    fn find(&self, f: impl Fn(&NewKey) -> bool) -> Option<KeyEntry> {
        self.live
            .iter()
            .find(|(_, k)| f(k))
            .map(|(&seq, k)| KeyEntry {
                seq,
                key: k.clone(),
            })
    }
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
    /// A copy of the key table, made by the first key change.
    keys: Option<Keys>,
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

    fn insert(&mut self, raw: &RawEvent) -> Result<Option<RawEvent>, StoreError> {
        if let Some(existing) = self.find_id(&raw.record.id)? {
            return Ok(Some(existing));
        }
        self.ids.insert(raw.record.id, self.events.len());
        self.streams.insert(raw.stream.clone(), raw.version);
        self.events.push(raw.clone());
        Ok(None)
    }

    fn make_keys(&mut self, make: &KeysToMake, now: DateTime<Utc>) -> Result<(), StoreError> {
        let keys = self.keys.get_or_insert_with(|| self.log.keys.clone());
        make_keys(keys, make, now)
    }

    fn erase(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let keys = self.keys.get_or_insert_with(|| self.log.keys.clone());
        erase_key(keys, id, now)
    }
}

impl EventLog for MemoryStore {
    fn append(
        &self,
        mut request: AppendRequest,
    ) -> BoxFuture<'static, Result<Vec<Appended>, StoreError>> {
        // Applied now, at call time, so that calls are committed in call order.
        let result = (|| {
            let mut log = self.log.lock().map_err(|_| StoreError::Closed)?;
            let mut staged = Staged {
                log: &log,
                events: Vec::new(),
                ids: HashMap::new(),
                streams: HashMap::new(),
                keys: None,
            };
            let out = apply_append(&mut staged, &mut request, Utc::now())?;
            let Staged {
                events,
                streams,
                keys,
                ..
            } = staged;
            for e in events {
                let i = log.events.len();
                log.by_id.insert(e.record.id, i);
                log.events.push(e);
            }
            log.streams.extend(streams);
            if let Some(keys) = keys {
                log.keys = keys;
            }
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

    fn write_keys(&self, op: KeyOp) -> BoxFuture<'static, Result<KeyOpDone, StoreError>> {
        let result = self
            .log
            .lock()
            .map_err(|_| StoreError::Closed)
            .and_then(|mut log| {
                let mut keys = log.keys.clone();
                let done = apply_key_op(&mut keys, &op, Utc::now())?;
                log.keys = keys;
                Ok(done)
            });
        Box::pin(async move { result })
    }

    fn read_keys(&self, since: KeysSince) -> BoxFuture<'static, Result<KeyChanges, StoreError>> {
        let result = self.log.lock().map_err(|_| StoreError::Closed).map(|log| {
            let k = &log.keys;
            let generation = k.keyring.as_ref().map(|r| r.generation);
            let full = since.generation.is_none() || since.generation != generation;
            let from = if full { 0 } else { since.seq };
            KeyChanges {
                keyring: k.keyring.clone(),
                full,
                entries: k
                    .live
                    .range(from + 1..)
                    .map(|(&seq, key)| KeyEntry {
                        seq,
                        key: key.clone(),
                    })
                    .collect(),
                erased: if full {
                    k.erased.iter().cloned().collect()
                } else {
                    Vec::new()
                },
            }
        });
        Box::pin(async move { result })
    }
}

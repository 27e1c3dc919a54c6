//! The key table every store keeps beside its log (PRODUCT.md §5, §7): the
//! keyring record (which master key wraps the keys, and the wrapped index
//! key) and one row per data subject's data key, wrapped by the master key.
//! Destroyed keys leave only a tombstone: their id and when.
//!
//! Stores hold these as opaque bytes; the cryptography lives in
//! [`crate::keyring`]. The rules — a lookup holds at most one live key, keys
//! are made only under the keyring's current master key, a rotation re-wraps
//! exactly the keys there are, a key is destroyed once — are written once, in
//! [`apply_key_op`], [`make_keys`] and [`erase_key`], for every store. A key
//! is made in the transaction that appends the first event sealed under it
//! ([`super::AppendRequest::make_keys`]), and destroyed only together with the
//! `PersonalDataErased` event that records it ([`super::AppendRequest::erase`]).

use chrono::{DateTime, Utc};

use super::StoreError;
use crate::envelope::format_recorded_at;

/// Which master key wraps a store's keys, and the store's wrapped index key
/// (the key of the blind index that finds a subject's data key).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyringRecord {
    /// The master key's fingerprint (not secret; see
    /// [`crate::keyring::MasterKey::fingerprint`]).
    pub fingerprint: String,
    /// The index key, wrapped by the master key.
    pub index_key: Vec<u8>,
    /// Bumped by every erasure and rotation: a reader that cached keys under
    /// an older generation must load them again.
    pub generation: u64,
}

impl std::fmt::Debug for KeyringRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringRecord")
            .field("fingerprint", &self.fingerprint)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A data key to store.
#[derive(Clone, PartialEq, Eq)]
pub struct NewKey {
    /// Its id (`k_…`).
    pub id: String,
    /// The blind index of its subject: HMAC of the subject id under the index key.
    pub lookup: [u8; 32],
    /// The data key, wrapped by the master key.
    pub wrapped: Vec<u8>,
    /// The subject's id, sealed under the data key itself: readable while
    /// the key lives (to carry the key to another store), gone with it.
    pub subject: Vec<u8>,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A stored data key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// Order of creation, from 1: a reader asks for the keys made since the
    /// last one it saw. A seq may be given again only after the key that had
    /// it is destroyed, which moves the generation: a reader then reloads
    /// every key.
    pub seq: u64,
    /// The key as stored.
    pub key: NewKey,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("seq", &self.seq)
            .field("id", &self.key.id)
            .finish_non_exhaustive()
    }
}

/// Data keys an append makes, for subjects whose first personal field it
/// writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysToMake {
    /// The fingerprint of the master key that wrapped them: the keyring must
    /// still be of it.
    pub fingerprint: String,
    /// The keys; none may have a lookup that already holds a live key
    /// ([`StoreError::KeyRace`]: another writer made that subject's key first).
    pub keys: Vec<NewKey>,
}

/// A change to the key table beside the log's appends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOp {
    /// Stores the keyring record unless the store has one; answers the one it has.
    InitKeyring(KeyringRecord),
    /// Stores keys (and tombstones) carried over from another store, wrapped
    /// under the master key with `fingerprint`. A key already stored with the
    /// same id and lookup is left as it is. Moves the generation.
    Import {
        /// The fingerprint of the master key that wrapped them.
        fingerprint: String,
        /// The keys.
        keys: Vec<NewKey>,
        /// Ids of keys destroyed in the other store.
        erased: Vec<String>,
    },
    /// Re-wraps every key under a new master key: `rewrapped` must hold
    /// exactly the stored keys, and the keyring must still be `from`'s.
    Rotate {
        /// The fingerprint of the master key being replaced.
        from: String,
        /// The new keyring record (its generation is ignored; the store bumps it).
        to: KeyringRecord,
        /// Each key id with its data key wrapped by the new master key.
        rewrapped: Vec<(String, Vec<u8>)>,
    },
}

/// What a [`KeyOp`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOpDone {
    /// The keyring record now stored.
    Keyring(KeyringRecord),
    /// Done.
    Done,
}

/// What a reader asks of the key table: the keys made after `seq`, unless the
/// table's generation is no longer `generation`, when it needs them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeysSince {
    /// The last key seq the reader has.
    pub seq: u64,
    /// The generation its keys are of (`None`: it has none yet).
    pub generation: Option<u64>,
}

/// The key table's answer to [`KeysSince`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyChanges {
    /// The keyring record (`None` for a store without one yet).
    pub keyring: Option<KeyringRecord>,
    /// True when the generation moved (or the reader had none): `entries`
    /// holds every live key and `erased` every tombstone, and the reader
    /// must forget what it had.
    pub full: bool,
    /// Live keys: made after `seq`, or all of them when `full`.
    pub entries: Vec<KeyEntry>,
    /// Ids of destroyed keys, when `full`.
    pub erased: Vec<String>,
}

/// Why a new key was not stored ([`KeyTarget::insert_new_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// A live key has its lookup: its subject has a key already.
    Lookup,
    /// A live or destroyed key has its id.
    Id,
}

/// Lookups and writes of the key table inside one transaction;
/// [`apply_key_op`] and [`erase_key`] hold the rules.
pub(crate) trait KeyTarget {
    /// The keyring record.
    fn keyring(&mut self) -> Result<Option<KeyringRecord>, StoreError>;
    /// Stores the keyring record (insert or replace).
    fn put_keyring(&mut self, record: &KeyringRecord) -> Result<(), StoreError>;
    /// The live key with this lookup.
    fn key_by_lookup(&mut self, lookup: &[u8; 32]) -> Result<Option<KeyEntry>, StoreError>;
    /// The live key with this id.
    fn key_by_id(&mut self, id: &str) -> Result<Option<KeyEntry>, StoreError>;
    /// Whether a key with this id was destroyed.
    fn is_erased(&mut self, id: &str) -> Result<bool, StoreError>;
    /// Stores a live key; the store assigns its seq.
    fn insert_key(&mut self, key: &NewKey, at: &str) -> Result<KeyEntry, StoreError>;
    /// Stores a new live key, unless a live key has its lookup (answered
    /// first) or a live or destroyed key has its id. A store may ask all of
    /// it in one statement instead of these questions one by one.
    fn insert_new_key(&mut self, key: &NewKey, at: &str) -> Result<Result<(), Taken>, StoreError> {
        if self.key_by_lookup(&key.lookup)?.is_some() {
            return Ok(Err(Taken::Lookup));
        }
        if self.key_by_id(&key.id)?.is_some() || self.is_erased(&key.id)? {
            return Ok(Err(Taken::Id));
        }
        self.insert_key(key, at)?;
        Ok(Ok(()))
    }
    /// Replaces a live key's wrapped bytes.
    fn rewrap(&mut self, id: &str, wrapped: &[u8]) -> Result<(), StoreError>;
    /// Ids of every live key.
    fn key_ids(&mut self) -> Result<Vec<String>, StoreError>;
    /// Deletes a live key and leaves its tombstone; the bytes must not
    /// survive in the store (SQLite: `secure_delete` and a checkpoint).
    fn destroy(&mut self, id: &str, at: &str) -> Result<(), StoreError>;
    /// Leaves a tombstone for a key destroyed elsewhere.
    fn tombstone(&mut self, id: &str, at: &str) -> Result<(), StoreError>;
}

/// Applies `op` inside the caller's transaction.
pub(crate) fn apply_key_op(
    t: &mut impl KeyTarget,
    op: &KeyOp,
    now: DateTime<Utc>,
) -> Result<KeyOpDone, StoreError> {
    let at = format_recorded_at(now);
    match op {
        KeyOp::InitKeyring(record) => match t.keyring()? {
            Some(existing) => Ok(KeyOpDone::Keyring(existing)),
            None => {
                let record = KeyringRecord {
                    generation: 0,
                    ..record.clone()
                };
                t.put_keyring(&record)?;
                Ok(KeyOpDone::Keyring(record))
            }
        },
        KeyOp::Import {
            fingerprint,
            keys,
            erased,
        } => {
            let record = current(t, fingerprint)?;
            for key in keys {
                match (t.key_by_id(&key.id)?, t.key_by_lookup(&key.lookup)?) {
                    (Some(a), Some(b)) if a.key.id == b.key.id => continue,
                    (None, None) if !t.is_erased(&key.id)? => {
                        t.insert_key(key, &at)?;
                    }
                    (None, None) => {
                        return Err(StoreError::KeyConflict(format!(
                            "key {} was destroyed in this store and cannot come back",
                            key.id
                        )))
                    }
                    _ => {
                        return Err(StoreError::KeyConflict(format!(
                            "key {} is for a subject that already has another key here, \
                             or its id is taken",
                            key.id
                        )))
                    }
                }
            }
            for id in erased {
                if t.key_by_id(id)?.is_some() {
                    return Err(StoreError::KeyConflict(format!(
                        "key {id} is destroyed in the other store but live here"
                    )));
                }
                if !t.is_erased(id)? {
                    t.tombstone(id, &at)?;
                }
            }
            // Readers learn of tombstones only by a full reload.
            t.put_keyring(&KeyringRecord {
                generation: record.generation + 1,
                ..record
            })?;
            Ok(KeyOpDone::Done)
        }
        KeyOp::Rotate {
            from,
            to,
            rewrapped,
        } => {
            let record = current(t, from)?;
            let mut stored = t.key_ids()?;
            let mut given: Vec<&str> = rewrapped.iter().map(|(id, _)| id.as_str()).collect();
            stored.sort_unstable();
            given.sort_unstable();
            if stored.iter().map(String::as_str).ne(given.iter().copied()) {
                return Err(StoreError::KeyConflict(
                    "the keys changed while they were re-wrapped; run the rotation again".into(),
                ));
            }
            for (id, wrapped) in rewrapped {
                t.rewrap(id, wrapped)?;
            }
            t.put_keyring(&KeyringRecord {
                fingerprint: to.fingerprint.clone(),
                index_key: to.index_key.clone(),
                generation: record.generation + 1,
            })?;
            Ok(KeyOpDone::Done)
        }
    }
}

/// Stores the keys an append makes, inside its transaction.
pub(crate) fn make_keys(
    t: &mut impl KeyTarget,
    make: &KeysToMake,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if make.keys.is_empty() {
        return Ok(());
    }
    current(t, &make.fingerprint)?;
    let at = format_recorded_at(now);
    for key in &make.keys {
        match t.insert_new_key(key, &at)? {
            Ok(()) => {}
            Err(Taken::Lookup) => return Err(StoreError::KeyRace),
            Err(Taken::Id) => {
                return Err(StoreError::KeyConflict(format!(
                    "key id {} is already taken",
                    key.id
                )))
            }
        }
    }
    Ok(())
}

/// Destroys the live key `id` (an erasure), inside the transaction that
/// appends its `PersonalDataErased` event. [`StoreError::KeyGone`] when it
/// is not live.
pub(crate) fn erase_key(
    t: &mut impl KeyTarget,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(record) = t.keyring()? else {
        return Err(StoreError::KeyGone { id: id.to_owned() });
    };
    if t.key_by_id(id)?.is_none() {
        return Err(StoreError::KeyGone { id: id.to_owned() });
    }
    t.destroy(id, &format_recorded_at(now))?;
    t.put_keyring(&KeyringRecord {
        generation: record.generation + 1,
        ..record
    })
}

/// The keyring record, which must be of the master key with `fingerprint`.
fn current(t: &mut impl KeyTarget, fingerprint: &str) -> Result<KeyringRecord, StoreError> {
    match t.keyring()? {
        Some(r) if r.fingerprint == fingerprint => Ok(r),
        Some(r) => Err(StoreError::KeyringChanged {
            expected: fingerprint.to_owned(),
            found: r.fingerprint,
        }),
        None => Err(StoreError::NoKeyring),
    }
}

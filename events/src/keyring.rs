//! Crypto-shredding (PRODUCT.md §7, decision 009): every data subject's
//! personal fields are sealed under a data key of its own, the data keys are
//! kept wrapped by a master key in the store's key table, and erasing a
//! subject destroys its key.
//!
//! The scheme, all from RustCrypto:
//! - **Master key**: 256 random bits, held outside the store (an environment
//!   variable or a key file; `src/` finds it). Its *fingerprint*, an HMAC of
//!   a fixed label, names it without revealing it.
//! - **Index key**: 256 random bits per store, wrapped by the master key. The
//!   *lookup* of a subject is HMAC-SHA256(index key, subject id): the key
//!   table finds a subject's data key by it without holding the subject id.
//! - **Data key**: 256 random bits per subject, made when its first personal
//!   field is written, wrapped by the master key with XChaCha20-Poly1305
//!   (random nonce; the key id as associated data).
//! - **Sealed field**: XChaCha20-Poly1305 under a key derived from the data
//!   key, over the clear text padded to 32 bytes, with the event id and the
//!   field's path as associated data (a ciphertext moved to another event or
//!   field does not open). The nonce is derived from the data key, the
//!   associated data and the text (as in SIV): an idempotent retry seals to
//!   the same bytes, and a nonce repeats only for the same text in the same
//!   field of the same event.
//!
//! [`Keyring`] holds the master key and a cache of the key table; it seals
//! events on their way into the log ([`Keyring::seal`]) and opens them on
//! their way out ([`Keyring::open_event`]) — only for roles that may see
//! personal data, which `src/` decides. It never writes the log.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::TryRngCore;
use sha2::Sha256;
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::envelope::NewEvent;
use crate::error::FieldError;
use crate::event::Event;
use crate::personal::{
    KeyId, PersonalField, Sealed, Slot, SlotState, Subject, NONCE_BYTES, PAD_BYTES, TAG_BYTES,
};
use crate::store::{
    EventLog, KeyChanges, KeyEntry, KeyOp, KeyringRecord, KeysSince, KeysToMake, NewKey, StoreError,
};

/// Bytes of every key.
pub const KEY_BYTES: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// What can go wrong with keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The master key is not the one the store's keys are wrapped by.
    #[error(
        "this master key (fingerprint {given}) does not open this store, whose keys are \
         wrapped by master key {store}"
    )]
    WrongMasterKey {
        /// The fingerprint of the key given.
        given: String,
        /// The fingerprint of the store's master key.
        store: String,
    },
    /// The store has no keyring: not initialised, or made by an earlier
    /// version that kept personal data in clear.
    #[error(
        "this store has no keyring: create stores with passerelle init; a store made by an \
         earlier version (personal data in clear) must be exported and imported into a new one"
    )]
    NoKeyring,
    /// The keyring record or a wrapped key does not open with the master key
    /// whose fingerprint the store names: the store was tampered with.
    #[error("the store's key table is damaged: {0}")]
    Damaged(String),
    /// The system's random source failed.
    #[error("the system random source failed: {0}")]
    Random(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `N` bytes from the operating system's random source.
fn random<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(bytes)
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(&(p.len() as u64).to_le_bytes());
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// The master key: 256 bits that wrap every data key of a store. Held
/// outside the store; zeroed when dropped; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; KEY_BYTES]);

impl MasterKey {
    /// A new random master key.
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self(random()?))
    }

    /// Parses 64 hexadecimal digits (surrounding white space ignored).
    pub fn from_hex(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let mut bytes = [0u8; KEY_BYTES];
        if s.len() != 2 * KEY_BYTES || hex::decode_to_slice(s, &mut bytes).is_err() {
            bytes.zeroize();
            return Err(format!(
                "a master key is {} hexadecimal digits (got {} characters)",
                2 * KEY_BYTES,
                s.chars().count()
            ));
        }
        Ok(Self(bytes))
    }

    /// The key as 64 lowercase hex digits, zeroed when dropped.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    /// 16 hex digits that name this key without revealing it.
    pub fn fingerprint(&self) -> String {
        hex::encode(&hmac(&self.0, &[b"passerelle master key fingerprint v1"])[..8])
    }

    /// Unwraps the data key `id` as the key table stores it (`wrapped`):
    /// the raw 256 bits, zeroed when dropped. For audits and tests that look
    /// for a key's bytes; nothing else needs them.
    pub fn unwrap_data_key(
        &self,
        id: &KeyId,
        wrapped: &[u8],
    ) -> Option<Zeroizing<[u8; KEY_BYTES]>> {
        self.unwrap(&data_key_label(id.as_str()), wrapped)
    }

    /// Wraps a 256-bit secret, with `label` as associated data.
    fn wrap(&self, label: &[u8], secret: &[u8; KEY_BYTES]) -> Result<Vec<u8>, KeyError> {
        let nonce: [u8; NONCE_BYTES] = random()?;
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&self.0));
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: label,
                },
            )
            .expect("XChaCha20-Poly1305 seals any 32 bytes");
        Ok([&nonce[..], &sealed].concat())
    }

    /// Unwraps what [`MasterKey::wrap`] made with the same label.
    fn unwrap(&self, label: &[u8], wrapped: &[u8]) -> Option<Zeroizing<[u8; KEY_BYTES]>> {
        if wrapped.len() != NONCE_BYTES + KEY_BYTES + TAG_BYTES {
            return None;
        }
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&self.0));
        let (nonce, sealed) = wrapped.split_at(NONCE_BYTES);
        let clear = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: label,
                    },
                )
                .ok()?,
        );
        let mut out = Zeroizing::new([0u8; KEY_BYTES]);
        out.copy_from_slice(&clear);
        Some(out)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.fingerprint())
    }
}

/// The associated data of a wrapped data key.
fn data_key_label(id: &str) -> Vec<u8> {
    [b"passerelle data key v1\0".as_slice(), id.as_bytes()].concat()
}

/// The associated data of the wrapped index key.
const INDEX_KEY_LABEL: &[u8] = b"passerelle index key v1";

/// A subject's data key, as the two keys derived from it: one encrypts, one
/// derives nonces. Zeroed when dropped.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DataKey {
    enc: [u8; KEY_BYTES],
    nonce: [u8; KEY_BYTES],
}

impl DataKey {
    fn derive(raw: &[u8; KEY_BYTES]) -> Self {
        Self {
            enc: hmac(raw, &[b"passerelle seal key v1"]),
            nonce: hmac(raw, &[b"passerelle nonce key v1"]),
        }
    }

    /// Seals `text`, the value of field `path` of event `event`, under key `key`.
    pub fn seal(&self, key: &KeyId, event: Uuid, path: &str, text: &str) -> Sealed {
        let aad = field_label(event, path);
        let mut padded = Zeroizing::new(pad(text.as_bytes()));
        let digest = hmac(&self.nonce, &[&aad, &padded]);
        let nonce = &digest[..NONCE_BYTES];
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&self.enc));
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: &padded,
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 seals any text");
        padded.zeroize();
        Sealed::new(key.clone(), &[nonce, &sealed].concat())
    }

    /// Opens a value sealed for field `path` of event `event`; `None` if it
    /// was sealed under another key, for another event or field, or changed.
    pub fn open(&self, event: Uuid, path: &str, sealed: &Sealed) -> Option<Zeroizing<String>> {
        let bytes = sealed.bytes();
        let (nonce, body) = bytes.split_at(NONCE_BYTES);
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&self.enc));
        let padded = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: body,
                        aad: &field_label(event, path),
                    },
                )
                .ok()?,
        );
        let text = unpad(&padded)?;
        String::from_utf8(text.to_vec()).ok().map(Zeroizing::new)
    }
}

/// The associated data of a sealed field.
fn field_label(event: Uuid, path: &str) -> Vec<u8> {
    let mut out = b"passerelle sealed field v1\0".to_vec();
    out.extend_from_slice(event.as_bytes());
    out.extend_from_slice(path.as_bytes());
    out
}

/// The associated data of a key's sealed subject id.
fn subject_label(key: &KeyId) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, key.as_str().as_bytes())
}

/// `text`, `0x80`, then zeros up to a multiple of [`PAD_BYTES`] (ISO/IEC 7816-4).
fn pad(text: &[u8]) -> Vec<u8> {
    let len = (text.len() / PAD_BYTES + 1) * PAD_BYTES;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(text);
    out.push(0x80);
    out.resize(len, 0);
    out
}

fn unpad(padded: &[u8]) -> Option<&[u8]> {
    let end = padded.iter().rposition(|&b| b != 0)?;
    (padded[end] == 0x80).then(|| &padded[..end])
}

/// What a sealed value opens to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The clear text.
    Clear(Zeroizing<String>),
    /// Its key was destroyed.
    Erased,
    /// No key of this store opens it.
    Unreadable,
}

/// A data key carried to another store (`export --with-keys`): wrapped by
/// the exporting store's master key, with its subject id sealed under it.
#[derive(Clone, PartialEq, Eq)]
pub struct CarriedKey {
    /// Its id.
    pub id: KeyId,
    /// The data key, wrapped by the exporting store's master key.
    pub wrapped: Vec<u8>,
    /// The subject id, sealed under the data key.
    pub subject: Vec<u8>,
}

impl fmt::Debug for CarriedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CarriedKey({})", self.id)
    }
}

/// Every key a store holds, to carry to another: what `export --with-keys`
/// writes and `import` reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBundle {
    /// The fingerprint of the master key that wraps them.
    pub fingerprint: String,
    /// The live keys.
    pub keys: Vec<CarriedKey>,
    /// Ids of destroyed keys: values sealed under them read as erased.
    pub erased: Vec<KeyId>,
}

/// A live key in the cache: wrapped, and unwrapped on first use.
struct Live {
    entry: KeyEntry,
    key: Option<Arc<DataKey>>,
}

/// The cache of a store's key table.
#[derive(Default)]
struct Cache {
    /// `None` until the first load.
    generation: Option<u64>,
    /// The last key seq loaded.
    seq: u64,
    live: HashMap<String, Live>,
    by_lookup: HashMap<[u8; 32], String>,
    erased: HashSet<String>,
}

impl Cache {
    fn absorb(&mut self, changes: KeyChanges) {
        if changes.full {
            *self = Cache::default();
            self.erased = changes.erased.into_iter().collect();
        }
        self.generation = Some(changes.keyring.map_or(0, |r| r.generation));
        for entry in changes.entries {
            self.seq = self.seq.max(entry.seq);
            self.add(entry);
        }
    }

    fn add(&mut self, entry: KeyEntry) {
        self.by_lookup
            .insert(entry.key.lookup, entry.key.id.clone());
        self.live
            .insert(entry.key.id.clone(), Live { entry, key: None });
    }
}

/// A store's keys, opened with its master key. Clones share one cache.
#[derive(Clone)]
pub struct Keyring<S> {
    store: S,
    inner: Arc<Inner>,
}

struct Inner {
    master: MasterKey,
    fingerprint: String,
    index: Zeroizing<[u8; KEY_BYTES]>,
    cache: Mutex<Cache>,
}

impl<S> fmt::Debug for Keyring<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keyring({})", self.inner.fingerprint)
    }
}

impl<S: EventLog> Keyring<S> {
    /// Makes the store's keyring under `master` if it has none, then opens it
    /// (`init`; the demo). A store that has one is opened as by [`Keyring::open`].
    pub async fn create(store: S, master: MasterKey) -> Result<Self, KeyError> {
        let index: Zeroizing<[u8; KEY_BYTES]> = Zeroizing::new(random()?);
        let record = KeyringRecord {
            fingerprint: master.fingerprint(),
            index_key: master.wrap(INDEX_KEY_LABEL, &index)?,
            generation: 0,
        };
        store.write_keys(KeyOp::InitKeyring(record)).await?;
        Self::open(store, master).await
    }

    /// A keyring for `store` under a new random master key that nothing else
    /// holds: for tests and benchmarks, whose stores live and die with them.
    pub async fn with_new_key(store: S) -> Result<Self, KeyError> {
        Self::create(store, MasterKey::generate()?).await
    }

    /// Opens the keyring of `store` with `master`. Refuses a master key the
    /// store's keys are not wrapped by ([`KeyError::WrongMasterKey`]) and a
    /// store without a keyring, and writes nothing.
    pub async fn open(store: S, master: MasterKey) -> Result<Self, KeyError> {
        let changes = store.read_keys(KeysSince::default()).await?;
        let record = changes.keyring.clone().ok_or(KeyError::NoKeyring)?;
        let fingerprint = master.fingerprint();
        if record.fingerprint != fingerprint {
            return Err(KeyError::WrongMasterKey {
                given: fingerprint,
                store: record.fingerprint,
            });
        }
        let index = master
            .unwrap(INDEX_KEY_LABEL, &record.index_key)
            .ok_or_else(|| {
                KeyError::Damaged("the index key does not open with the master key".into())
            })?;
        let mut cache = Cache::default();
        cache.absorb(changes);
        Ok(Self {
            store,
            inner: Arc::new(Inner {
                master,
                fingerprint,
                index,
                cache: Mutex::new(cache),
            }),
        })
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The fingerprint of the master key.
    pub fn fingerprint(&self) -> &str {
        &self.inner.fingerprint
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The cache is reloaded from the store; a panic elsewhere cannot
        // leave it wrong in a way that matters.
        self.inner.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Brings the cache up to the key table: the keys made since, or every key
    /// again after an erasure or a rotation anywhere (also by another process).
    pub async fn refresh(&self) -> Result<(), KeyError> {
        let since = {
            let c = self.cache();
            KeysSince {
                seq: c.seq,
                generation: c.generation,
            }
        };
        let changes = self.store.read_keys(since).await?;
        if let Some(r) = &changes.keyring {
            if r.fingerprint != self.inner.fingerprint {
                return Err(StoreError::KeyringChanged {
                    expected: self.inner.fingerprint.clone(),
                    found: r.fingerprint.clone(),
                }
                .into());
            }
        }
        let mut c = self.cache();
        // Another refresh may have gone further meanwhile; a full answer
        // always applies.
        if changes.full || c.generation == since.generation {
            c.absorb(changes);
        }
        Ok(())
    }

    /// The blind index of `subject`.
    pub fn lookup(&self, subject: &Subject) -> [u8; 32] {
        hmac(&self.inner.index[..], &[subject.id().as_bytes()])
    }

    /// The id of `subject`'s live data key, if it has one (after a refresh).
    pub async fn key_of(&self, subject: &Subject) -> Result<Option<KeyId>, KeyError> {
        self.refresh().await?;
        let lookup = self.lookup(subject);
        let c = self.cache();
        Ok(c.by_lookup
            .get(&lookup)
            .and_then(|id| KeyId::parse(id).ok()))
    }

    /// The data key `id`, unwrapped (and kept); `None` if it is not live in the cache.
    fn data_key(&self, id: &str) -> Result<Option<Arc<DataKey>>, KeyError> {
        let mut c = self.cache();
        let Some(live) = c.live.get_mut(id) else {
            return Ok(None);
        };
        if let Some(k) = &live.key {
            return Ok(Some(k.clone()));
        }
        let raw = self
            .inner
            .master
            .unwrap(&data_key_label(id), &live.entry.key.wrapped)
            .ok_or_else(|| {
                KeyError::Damaged(format!("data key {id} does not open with the master key"))
            })?;
        let key = Arc::new(DataKey::derive(&raw));
        live.key = Some(key.clone());
        Ok(Some(key))
    }

    /// The live data key of `subject`: from the cache, from `made`, or a new
    /// one added to `made` (the batch's append stores it).
    fn key_for(
        &self,
        subject: &Subject,
        made: &mut MadeKeys,
    ) -> Result<(KeyId, Arc<DataKey>), KeyError> {
        let lookup = self.lookup(subject);
        let known = self.cache().by_lookup.get(&lookup).cloned();
        if let Some(id) = known {
            let key = self
                .data_key(&id)?
                .ok_or_else(|| KeyError::Damaged(format!("data key {id} vanished")))?;
            return Ok((KeyId::parse(&id).map_err(KeyError::Damaged)?, key));
        }
        if let Some((id, key, _)) = made.by_lookup.get(&lookup) {
            return Ok((id.clone(), key.clone()));
        }
        let raw: Zeroizing<[u8; KEY_BYTES]> = Zeroizing::new(random()?);
        let id = KeyId::from_random(random()?);
        let key = Arc::new(DataKey::derive(&raw));
        let subject_id = Zeroizing::new(subject.id());
        let sealed_subject = key.seal(&id, subject_label(&id), "subject", &subject_id);
        let row = NewKey {
            id: id.as_str().to_owned(),
            lookup,
            wrapped: self.inner.master.wrap(&data_key_label(id.as_str()), &raw)?,
            subject: sealed_subject.bytes(),
        };
        made.order.push(lookup);
        made.by_lookup
            .insert(lookup, (id.clone(), key.clone(), row));
        Ok((id, key))
    }

    /// An empty set of keys for a batch to make.
    pub fn made_keys(&self) -> MadeKeys {
        self.made_keys_after([])
    }

    /// An empty set of keys for a batch to make, which seals a subject that
    /// one of the batches `ahead` made a key for under that key instead of
    /// making another. Only for a batch that the store stores only if every
    /// batch `ahead` is stored first (its head guard names their events):
    /// those batches store the keys, and [`MadeKeys::to_make`] leaves them out.
    pub fn made_keys_after<'a>(&self, ahead: impl IntoIterator<Item = &'a MadeKeys>) -> MadeKeys {
        let by_lookup = ahead
            .into_iter()
            .flat_map(|m| m.order.iter().map(|l| (*l, m.by_lookup[l].clone())))
            .collect();
        MadeKeys {
            fingerprint: self.inner.fingerprint.clone(),
            by_lookup,
            order: Vec::new(),
        }
    }

    /// Seals every clear personal field of `event` under its subject's data
    /// key; a subject without one gets a new key in `made`, which the batch's
    /// append stores ([`MadeKeys::to_make`]). A value that is sealed already
    /// (an import) must open under a live key of this store with this event's
    /// id and field, or be under a destroyed key (call [`Keyring::refresh`]
    /// first); otherwise the error names the field. Erased and unreadable
    /// markers are refused.
    pub fn seal(&self, event: &mut NewEvent, made: &mut MadeKeys) -> Result<(), SealError> {
        let id = event.id;
        let programme = event.programme.clone();
        let mut errors = Vec::new();
        for field in event.event.personal_fields() {
            let key = match field.value.state() {
                SlotState::Clear(_) => {
                    let subject = field
                        .subject(&programme)
                        .expect("a clear field names its subject");
                    Some(self.key_for(&subject, made)?)
                }
                _ => None,
            };
            self.seal_field(id, field, key, &mut errors)?;
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SealError::Invalid(errors))
        }
    }

    /// Takes the keys of a committed batch into the cache.
    pub fn adopt(&self, mut made: MadeKeys) {
        let mut c = self.cache();
        for lookup in made.order {
            if let Some((id, key, row)) = made.by_lookup.remove(&lookup) {
                c.by_lookup.insert(lookup, id.as_str().to_owned());
                c.live.insert(
                    id.as_str().to_owned(),
                    Live {
                        // Its seq is learnt at the next refresh.
                        entry: KeyEntry { seq: 0, key: row },
                        key: Some(key),
                    },
                );
            }
        }
    }

    fn seal_field(
        &self,
        event: Uuid,
        field: PersonalField<'_>,
        key: Option<(KeyId, Arc<DataKey>)>,
        errors: &mut Vec<FieldError>,
    ) -> Result<(), KeyError> {
        let sealed = match field.value.state() {
            SlotState::Clear(text) => {
                let (id, key) = key.expect("a key was made for every clear field");
                key.seal(&id, event, field.path, text)
            }
            SlotState::Sealed(s) => {
                let s = s.clone();
                match self.open_sealed_checked(event, field.path, &s)? {
                    Opened::Clear(_) | Opened::Erased => s,
                    Opened::Unreadable => {
                        errors.push(FieldError::new(
                            field.path,
                            format!(
                                "is sealed under key {}, which this store does not hold (or not \
                                 for this event and field): export with --with-keys, or with \
                                 --decrypt",
                                s.key()
                            ),
                        ));
                        return Ok(());
                    }
                }
            }
            SlotState::Erased | SlotState::Unreadable => {
                errors.push(FieldError::new(
                    field.path,
                    "an erased or unreadable value cannot be recorded",
                ));
                return Ok(());
            }
        };
        field.value.set_sealed(sealed);
        Ok(())
    }

    /// Opens a sealed value from the cache; an error only for a damaged key table.
    fn open_sealed_checked(
        &self,
        event: Uuid,
        path: &str,
        sealed: &Sealed,
    ) -> Result<Opened, KeyError> {
        let id = sealed.key().as_str();
        match self.data_key(id)? {
            Some(key) => Ok(key
                .open(event, path, sealed)
                .map_or(Opened::Unreadable, Opened::Clear)),
            None if self.cache().erased.contains(id) => Ok(Opened::Erased),
            None => Ok(Opened::Unreadable),
        }
    }

    /// Opens one sealed value, from what the cache holds ([`Keyring::refresh`]
    /// first to see the latest keys). A key table that is damaged reads as
    /// unreadable (and is logged).
    pub fn open_sealed(&self, event: Uuid, path: &str, sealed: &Sealed) -> Opened {
        self.open_sealed_checked(event, path, sealed)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "a sealed value could not be opened");
                Opened::Unreadable
            })
    }

    /// Opens every sealed personal field of `event` (whose id is `id`) in
    /// place: clear text, or marked erased or unreadable.
    pub fn open_event(&self, id: Uuid, event: &mut Event) {
        for field in event.personal_fields() {
            self.open_slot(id, field.path, field.value);
        }
    }

    /// Opens one sealed field in place (field `path` of event `id`); a clear
    /// or marked one is left as it is.
    pub fn open_slot(&self, id: Uuid, path: &str, slot: &mut dyn Slot) {
        let opened = match slot.state() {
            SlotState::Sealed(s) => self.open_sealed(id, path, s),
            _ => return,
        };
        match opened {
            Opened::Clear(text) => {
                if let Err(m) = slot.set_clear(&text) {
                    tracing::error!(field = path, error = %m, "an opened value does not parse");
                    slot.set_unreadable();
                }
            }
            Opened::Erased => slot.set_erased(),
            Opened::Unreadable => slot.set_unreadable(),
        }
    }

    /// Whether the cache knows key `id`, live or destroyed: a reader that
    /// meets a key it does not know refreshes first.
    pub fn knows(&self, id: &KeyId) -> bool {
        let c = self.cache();
        c.live.contains_key(id.as_str()) || c.erased.contains(id.as_str())
    }

    /// Forgets a destroyed key at once (before the next refresh).
    pub(crate) fn forget(&self, id: &KeyId) {
        let mut c = self.cache();
        if let Some(live) = c.live.remove(id.as_str()) {
            c.by_lookup.remove(&live.entry.key.lookup);
        }
        c.erased.insert(id.as_str().to_owned());
    }

    /// Every key of the store, to carry to another (`export --with-keys`).
    pub async fn bundle(&self) -> Result<KeyBundle, KeyError> {
        let changes = self.store.read_keys(KeysSince::default()).await?;
        let record = changes.keyring.ok_or(KeyError::NoKeyring)?;
        let keys = changes
            .entries
            .into_iter()
            .map(|e| {
                Ok(CarriedKey {
                    id: KeyId::parse(&e.key.id).map_err(KeyError::Damaged)?,
                    wrapped: e.key.wrapped,
                    subject: e.key.subject,
                })
            })
            .collect::<Result<Vec<_>, KeyError>>()?;
        let mut erased = changes
            .erased
            .iter()
            .map(|id| KeyId::parse(id).map_err(KeyError::Damaged))
            .collect::<Result<Vec<_>, _>>()?;
        erased.sort();
        Ok(KeyBundle {
            fingerprint: record.fingerprint,
            keys,
            erased,
        })
    }

    /// Stores the keys of `bundle`, carried from another store whose master
    /// key is `source` (this store's own when `None`): each is unwrapped,
    /// wrapped again by this store's master key and filed under its subject's
    /// lookup here. Answers how many keys and tombstones it holds.
    pub async fn import(
        &self,
        bundle: &KeyBundle,
        source: Option<&MasterKey>,
    ) -> Result<(usize, usize), ImportKeysError> {
        let source = source.unwrap_or(&self.inner.master);
        if source.fingerprint() != bundle.fingerprint {
            return Err(ImportKeysError::SourceKey {
                bundle: bundle.fingerprint.clone(),
                given: source.fingerprint(),
            });
        }
        let mut keys = Vec::with_capacity(bundle.keys.len());
        for k in &bundle.keys {
            let raw = source
                .unwrap(&data_key_label(k.id.as_str()), &k.wrapped)
                .ok_or_else(|| ImportKeysError::Damaged(k.id.clone()))?;
            let data = DataKey::derive(&raw);
            let sealed = Sealed::new(k.id.clone(), &k.subject);
            let subject = data
                .open(subject_label(&k.id), "subject", &sealed)
                .and_then(|s| Subject::parse(&s, None).ok())
                .ok_or_else(|| ImportKeysError::Damaged(k.id.clone()))?;
            keys.push(NewKey {
                id: k.id.as_str().to_owned(),
                lookup: self.lookup(&subject),
                wrapped: self
                    .inner
                    .master
                    .wrap(&data_key_label(k.id.as_str()), &raw)?,
                subject: k.subject.clone(),
            });
        }
        let n = (keys.len(), bundle.erased.len());
        self.store
            .write_keys(KeyOp::Import {
                fingerprint: self.inner.fingerprint.clone(),
                keys,
                erased: bundle
                    .erased
                    .iter()
                    .map(|k| k.as_str().to_owned())
                    .collect(),
            })
            .await
            .map_err(KeyError::from)?;
        self.refresh().await?;
        Ok(n)
    }

    /// Wraps every key again under `new` (and the index key), in one
    /// transaction, without touching the log. Afterwards only `new` opens the
    /// store. Answers how many data keys were re-wrapped.
    pub async fn rotate(&self, new: &MasterKey) -> Result<usize, KeyError> {
        let changes = self.store.read_keys(KeysSince::default()).await?;
        let record = changes.keyring.ok_or(KeyError::NoKeyring)?;
        let index = self
            .inner
            .master
            .unwrap(INDEX_KEY_LABEL, &record.index_key)
            .ok_or_else(|| KeyError::Damaged("the index key does not open".into()))?;
        let mut rewrapped = Vec::with_capacity(changes.entries.len());
        for e in &changes.entries {
            let label = data_key_label(&e.key.id);
            let raw = self
                .inner
                .master
                .unwrap(&label, &e.key.wrapped)
                .ok_or_else(|| KeyError::Damaged(format!("data key {} does not open", e.key.id)))?;
            rewrapped.push((e.key.id.clone(), new.wrap(&label, &raw)?));
        }
        let n = rewrapped.len();
        self.store
            .write_keys(KeyOp::Rotate {
                from: self.inner.fingerprint.clone(),
                to: KeyringRecord {
                    fingerprint: new.fingerprint(),
                    index_key: new.wrap(INDEX_KEY_LABEL, &index)?,
                    generation: 0,
                },
                rewrapped,
            })
            .await?;
        Ok(n)
    }
}

/// The data keys a batch makes, for subjects that had none: sealed under as
/// the batch is sealed, stored by its append
/// ([`crate::store::AppendRequest::make_keys`]), taken into the cache once it
/// is committed ([`Keyring::adopt`]).
pub struct MadeKeys {
    fingerprint: String,
    /// The keys the batch seals under that the keyring does not know yet:
    /// those it makes, and those batches queued ahead of it make
    /// ([`Keyring::made_keys_after`]), which they store.
    by_lookup: HashMap<[u8; 32], (KeyId, Arc<DataKey>, NewKey)>,
    /// The keys the batch makes and stores, in the order made.
    order: Vec<[u8; 32]>,
}

impl MadeKeys {
    /// What the append stores; `None` when the batch made no key.
    pub fn to_make(&self) -> Option<KeysToMake> {
        (!self.order.is_empty()).then(|| KeysToMake {
            fingerprint: self.fingerprint.clone(),
            keys: self
                .order
                .iter()
                .map(|l| self.by_lookup[l].2.clone())
                .collect(),
        })
    }
}

impl fmt::Debug for MadeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MadeKeys({} keys)", self.order.len())
    }
}

/// Why an event's personal fields could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// A field's value cannot be stored; each error names the field. HTTP 422.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The keys failed.
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// Why carried keys could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportKeysError {
    /// The keys are wrapped by another master key than the one given.
    #[error(
        "the keys are wrapped by master key {bundle}, but the key given is {given}: give the \
         exporting store's master key"
    )]
    SourceKey {
        /// The bundle's fingerprint.
        bundle: String,
        /// The given key's.
        given: String,
    },
    /// A carried key does not open.
    #[error("carried key {0} does not open with the exporting store's master key")]
    Damaged(KeyId),
    /// The keys failed.
    #[error(transparent)]
    Keys(#[from] KeyError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_hides_length_to_within_a_block_and_round_trips() {
        for n in [0, 1, 31, 32, 33, 200] {
            let text = vec![b'x'; n];
            let p = pad(&text);
            assert_eq!(p.len() % PAD_BYTES, 0);
            assert!(p.len() > n);
            assert_eq!(unpad(&p), Some(&text[..]));
        }
    }

    #[test]
    fn a_sealed_field_opens_only_for_its_event_and_path() {
        let key = DataKey::derive(&[3; KEY_BYTES]);
        let id = KeyId::from_random([1; 16]);
        let (e1, e2) = (Uuid::new_v4(), Uuid::new_v4());
        let s = key.seal(&id, e1, "data.contact.email", "a@b.org");
        assert_eq!(
            key.open(e1, "data.contact.email", &s)
                .as_deref()
                .map(String::as_str),
            Some("a@b.org")
        );
        assert!(key.open(e2, "data.contact.email", &s).is_none());
        assert!(key.open(e1, "data.contact.phone", &s).is_none());
        // Deterministic: a retry seals to the same bytes.
        assert_eq!(key.seal(&id, e1, "data.contact.email", "a@b.org"), s);
        assert_ne!(key.seal(&id, e2, "data.contact.email", "a@b.org"), s);
        let other = DataKey::derive(&[4; KEY_BYTES]);
        assert!(other.open(e1, "data.contact.email", &s).is_none());
    }

    #[test]
    fn a_wrapped_key_opens_only_with_its_master_key_and_label() {
        let m = MasterKey::generate().unwrap();
        let secret = [9u8; KEY_BYTES];
        let w = m.wrap(b"a", &secret).unwrap();
        assert_eq!(*m.unwrap(b"a", &w).unwrap(), secret);
        assert!(m.unwrap(b"b", &w).is_none());
        assert!(MasterKey::generate().unwrap().unwrap(b"a", &w).is_none());
        assert_ne!(
            m.fingerprint(),
            MasterKey::generate().unwrap().fingerprint()
        );
        assert!(!format!("{m:?}").contains(m.to_hex().as_str()));
        assert!(MasterKey::from_hex("00").is_err());
        assert_eq!(
            MasterKey::from_hex(&m.to_hex()).unwrap().fingerprint(),
            m.fingerprint()
        );
    }
}

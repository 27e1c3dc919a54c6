//! What the SQL stores (SQLite, PostgreSQL) share of their tables: the
//! columns they select, in one order, and the reading of a row into a stored
//! event, a key or the keyring record — the checks of what a row holds,
//! written once.
//!
//! It must not: know a database's client (a store hands its rows over
//! through [`Columns`]), or hold a statement whose text differs between the
//! two (placeholders, column types, conflict clauses).

use uuid::Uuid;

use super::{EventRecord, KeyEntry, KeyringRecord, NewKey, RawEvent, StoreError};

/// Selects every column of `events`, in the order [`decode_event`] reads
/// them, followed by `$tail` (a `WHERE`, an `ORDER BY`, a `LIMIT`).
macro_rules! select_events {
    ($tail:literal) => {
        concat!(
            "SELECT position, id, stream, version, schema_version, type, programme, ",
            "occurred_at, data, recorded_at, recorded_by, hash FROM events ",
            $tail
        )
    };
}
pub(crate) use select_events;

/// Selects the columns of `subject_keys` [`decode_key`] reads, followed by
/// `$tail`.
macro_rules! select_keys {
    ($tail:literal) => {
        concat!(
            "SELECT seq, id, lookup, wrapped, subject FROM subject_keys ",
            $tail
        )
    };
}
pub(crate) use select_keys;

/// Reads the keyring record, in the columns [`decode_keyring`] reads.
pub(crate) const READ_KEYRING: &str =
    "SELECT fingerprint, index_key, generation FROM keyring WHERE id = 1";

/// The columns of one row, as a store's client reads them.
pub(crate) trait Columns {
    /// An integer column.
    fn int(&self, column: usize) -> Result<i64, StoreError>;
    /// A text column.
    fn text(&self, column: usize) -> Result<String, StoreError>;
    /// A blob (`BLOB`, `BYTEA`) column.
    fn bytes(&self, column: usize) -> Result<Vec<u8>, StoreError>;
    /// An event id, stored as text (SQLite) or as a UUID (PostgreSQL); the
    /// inner error says what is stored where it does not parse.
    fn id(&self, column: usize) -> Result<Result<Uuid, String>, StoreError>;
}

/// A row of [`select_events!`] as a stored event.
pub(crate) fn decode_event(row: &impl Columns) -> Result<RawEvent, StoreError> {
    let position = to_u64(row.int(0)?, 0, "position")?;
    let corrupt = |reason: String| StoreError::Corrupt { position, reason };
    let id = row.id(1)?.map_err(corrupt)?;
    let version = to_u64(row.int(3)?, position, "version")?;
    let schema_version =
        u32::try_from(row.int(4)?).map_err(|_| corrupt("schema_version is out of range".into()))?;
    Ok(RawEvent {
        position,
        stream: row.text(2)?,
        version,
        schema_version,
        record: EventRecord {
            id,
            event_type: row.text(5)?,
            programme: row.text(6)?,
            occurred_at: row.text(7)?,
            data: row.text(8)?,
            recorded_at: Some(row.text(9)?),
            recorded_by: row.text(10)?,
        },
        hash: to_hash(position, &row.bytes(11)?)?,
    })
}

/// A row of [`select_keys!`] as a stored key.
pub(crate) fn decode_key(row: &impl Columns) -> Result<KeyEntry, StoreError> {
    let id = row.text(1)?;
    let lookup: [u8; 32] = row
        .bytes(2)?
        .try_into()
        .map_err(|_| StoreError::Backend(format!("key {id} has a malformed lookup")))?;
    Ok(KeyEntry {
        seq: to_u64(row.int(0)?, 0, "key seq")?,
        key: NewKey {
            id,
            lookup,
            wrapped: row.bytes(3)?,
            subject: row.bytes(4)?,
        },
    })
}

/// A row of [`READ_KEYRING`] as the keyring record.
pub(crate) fn decode_keyring(row: &impl Columns) -> Result<KeyringRecord, StoreError> {
    Ok(KeyringRecord {
        fingerprint: row.text(0)?,
        index_key: row.bytes(1)?,
        generation: to_u64(row.int(2)?, 0, "key generation")?,
    })
}

/// The `recorded_at` of an event to insert, which the append rules set.
pub(crate) fn recorded_at(raw: &RawEvent) -> Result<&str, StoreError> {
    raw.record
        .recorded_at
        .as_deref()
        .ok_or_else(|| StoreError::Corrupt {
            position: raw.position,
            reason: "recorded_at is not set".into(),
        })
}

/// A stored hash, which must have 32 bytes.
pub(crate) fn to_hash(position: u64, bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt {
        position,
        reason: format!("hash has {} bytes, not 32", bytes.len()),
    })
}

/// A stored position, version or count, which cannot be negative.
pub(crate) fn to_u64(n: i64, position: u64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt {
        position,
        reason: format!("{what} {n} is negative"),
    })
}

/// Positions and versions past `i64::MAX` cannot exist; they compare as the largest.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

//! Verification of a whole log: positions gap-free from 1, stream versions in
//! order, every event decodes and validates against the log before it, and the
//! hash chain holds. Reads only.

use crate::envelope::StoredEvent;
use crate::registry::Registry;
use crate::store::{chain_hash, EventLog, StoreError, PAGE};

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// How many events.
    pub events: u64,
    /// The hash of the last event (hex), which commits to the whole log.
    pub head_hash: String,
}

/// The first bad event of a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("position {position}: {reason}")]
pub struct Broken {
    /// Its position.
    pub position: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// Checks the whole log. `Ok(Err(_))` names the first bad position;
/// `Err(_)` is a store that could not be read at all.
pub async fn verify<S: EventLog>(store: &S) -> Result<Result<Verified, Broken>, StoreError> {
    let mut registry = Registry::default();
    let mut previous = [0u8; 32];
    let mut expected = 1u64;
    loop {
        let page = match store.read(expected - 1, PAGE).await {
            Ok(page) => page,
            Err(StoreError::Corrupt { position, reason }) => {
                return Ok(Err(Broken { position, reason }))
            }
            Err(e) => return Err(e),
        };
        if page.is_empty() {
            return Ok(Ok(Verified {
                events: expected - 1,
                head_hash: hex::encode(previous),
            }));
        }
        for raw in page {
            let fail = |reason: String| {
                Ok(Err(Broken {
                    position: raw.position,
                    reason,
                }))
            };
            if raw.position != expected {
                return Ok(Err(Broken {
                    position: expected,
                    reason: format!("missing: the next stored position is {}", raw.position),
                }));
            }
            if chain_hash(&previous, &raw) != raw.hash {
                return fail(
                    "the hash chain is broken: the event was changed after it was stored".into(),
                );
            }
            let event: StoredEvent = match raw.decode() {
                Ok(e) => e,
                Err(e) => return fail(format!("does not decode: {e}")),
            };
            if registry.knows(&event.event.id) {
                return fail(format!("event id {} appears twice", event.event.id));
            }
            let stream = event.event.stream();
            if event.stream != stream {
                return fail(format!(
                    "stored in stream {} but belongs to {stream}",
                    event.stream
                ));
            }
            let version = registry.stream_version(&stream) + 1;
            if event.version != version {
                return fail(format!(
                    "has stream version {}, expected {version}",
                    event.version
                ));
            }
            let mut errs = event.event.event.check_shape();
            errs.extend(registry.check(&event.event));
            if let Some(e) = errs.first() {
                return fail(format!("does not validate: {e}"));
            }
            registry.apply_stored(&event);
            previous = raw.hash;
            expected += 1;
        }
    }
}

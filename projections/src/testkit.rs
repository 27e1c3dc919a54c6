//! Helpers for the crate's tests (unit tests, and integration tests that
//! include this file): wire events in, stored events out.

use chrono::Utc;
use passerelle_events::{StoredEvent, Submission};
use serde_json::{json, Value};

/// Parses wire events and stores them at positions 1, 2, … (validity of
/// references is the ledger's business and is not checked here).
pub fn stored(wire: &[Value]) -> Vec<StoredEvent> {
    wire.iter()
        .enumerate()
        .map(|(i, v)| stored_at(i as u64 + 1, v))
        .collect()
}

/// Parses one wire event and stores it at `position`.
pub fn stored_at(position: u64, wire: &Value) -> StoredEvent {
    let s = Submission::from_wire(wire).expect("valid event");
    StoredEvent {
        position,
        stream: s.event.stream(),
        version: 1,
        schema_version: 1,
        recorded_at: Utc::now(),
        recorded_by: "test".into(),
        event: s.event,
    }
}

/// A wire event of programme `p`.
pub fn ev(t: &str, at: &str, data: Value) -> Value {
    json!({"type": t, "programme": "p", "occurred_at": at, "data": data})
}

//! Envelopes: an event as it arrives on the wire ([`NewEvent`], with an optional
//! `expected_version` in a [`Submission`]) and as the log returns it
//! ([`StoredEvent`]). Parsing reports every broken envelope rule, each naming
//! its field; the payload is decoded by [`crate::event`].

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{FieldError, ValidationError};
use crate::event::{Event, EventData, SCHEMA_VERSION};
use crate::personal::SlotState;
use crate::values::{OccurredAt, ProgrammeId};

/// An event before it is stored: what happened, where and when.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Unique id; the same id sent again is an idempotent retry.
    pub id: Uuid,
    /// The programme the event belongs to.
    pub programme: ProgrammeId,
    /// When it happened in the world.
    pub occurred_at: OccurredAt,
    /// What happened.
    pub event: Event,
}

impl NewEvent {
    /// An event with a fresh random id.
    pub fn new(programme: ProgrammeId, occurred_at: OccurredAt, event: Event) -> Self {
        Self {
            id: Uuid::new_v4(),
            programme,
            occurred_at,
            event,
        }
    }

    /// The stream the event belongs to (see [`Event::stream`]).
    pub fn stream(&self) -> String {
        self.event.stream(&self.programme)
    }

    /// Writes the event as one wire JSON object, `{"id", "type", "programme",
    /// "occurred_at", "data"}`, with `data` as [`Event::data_json`] gives it
    /// and no line break: what [`Submission::from_wire`] reads back.
    pub fn write_json(&self, out: impl std::io::Write) -> serde_json::Result<()> {
        serde_json::to_writer(
            out,
            &Wire {
                id: self.id,
                event_type: self.event.type_name(),
                programme: &self.programme,
                occurred_at: self.occurred_at,
                data: self.event.data(),
            },
        )
    }
}

#[derive(Serialize)]
struct Wire<'a> {
    id: Uuid,
    #[serde(rename = "type")]
    event_type: &'static str,
    programme: &'a ProgrammeId,
    occurred_at: OccurredAt,
    data: EventData<'a>,
}

/// Provenance carried over by `import` from an exported log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// When the original store recorded the event.
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it there.
    pub recorded_by: String,
}

/// An event submitted for recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The event.
    pub event: NewEvent,
    /// If set, the event's stream must be at exactly this version before it.
    pub expected_version: Option<u64>,
    /// Set only by `import` of an exported log.
    pub provenance: Option<Provenance>,
}

impl Submission {
    /// Parses one wire event: `{id?, type, programme, occurred_at, data,
    /// expected_version?}`, held to the rules of new events. Unknown keys are
    /// refused.
    pub fn from_wire(v: &Value) -> Result<Self, ValidationError> {
        parse(v, false)
    }

    /// Parses one line of an exported log: a wire event, optionally with the
    /// stored fields (`position`, `stream`, `version`, `schema_version`,
    /// `recorded_at`, `recorded_by`). Recorded provenance is kept, and a line
    /// with it was recorded before: it is read with the rules of stored
    /// events, not held to those of new ones ([`Event::check_submitted`],
    /// [`OccurredAt::parse`]).
    pub fn from_export(v: &Value) -> Result<Self, ValidationError> {
        parse(v, true)
    }
}

/// The keys of an event as sent.
pub(crate) const WIRE_KEYS: [&str; 6] = [
    "id",
    "type",
    "programme",
    "occurred_at",
    "data",
    "expected_version",
];
/// The keys the store adds.
pub(crate) const STORED_KEYS: [&str; 6] = [
    "position",
    "stream",
    "version",
    "schema_version",
    "recorded_at",
    "recorded_by",
];

fn parse(v: &Value, exported: bool) -> Result<Submission, ValidationError> {
    let Some(obj) = v.as_object() else {
        return Err(ValidationError::one(
            "",
            "an event must be a JSON object with type, programme, occurred_at and data",
        ));
    };
    let mut errors = Vec::new();
    for key in obj.keys() {
        let known =
            WIRE_KEYS.contains(&key.as_str()) || (exported && STORED_KEYS.contains(&key.as_str()));
        if !known {
            let msg = if STORED_KEYS.contains(&key.as_str()) {
                "is set by the store and cannot be sent".to_owned()
            } else {
                format!(
                    "is not a field of an event; expected {}",
                    WIRE_KEYS.join(", ")
                )
            };
            errors.push(FieldError::new(key.clone(), msg));
        }
    }

    let id = match obj.get("id") {
        None | Some(Value::Null) => Some(Uuid::new_v4()),
        Some(Value::String(s)) => match Uuid::parse_str(s) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(FieldError::new("id", "must be a UUID"));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new("id", "must be a UUID string"));
            None
        }
    };
    let programme = match str_field(obj, "programme", &mut errors) {
        Some(s) => ProgrammeId::parse(s)
            .map_err(|m| errors.push(FieldError::new("programme", m)))
            .ok(),
        None => None,
    };
    let provenance = if exported {
        parse_provenance(obj, &mut errors)
    } else {
        None
    };
    // An event carried over from an exported log with its provenance was
    // recorded before: it is read as stored events are, with the rules of
    // its time. Every other event is new (decision 011).
    let new = provenance.is_none();
    let occurred_at = match str_field(obj, "occurred_at", &mut errors) {
        Some(s) => if new {
            OccurredAt::parse(s)
        } else {
            OccurredAt::parse_stored(s)
        }
        .map_err(|m| errors.push(FieldError::new("occurred_at", m)))
        .ok(),
        None => None,
    };
    let mut event = match (str_field(obj, "type", &mut errors), obj.get("data")) {
        (Some(t), Some(data)) => Event::from_parts(t, data).map_err(|e| errors.push(e)).ok(),
        (Some(t), None) => {
            // Still refuse an unknown type before complaining about data.
            if let Err(e) = Event::from_parts(t, &Value::Object(Map::new())) {
                if e.field == "type" {
                    errors.push(e);
                }
            }
            errors.push(FieldError::new("data", "is required"));
            None
        }
        (None, _) => None,
    };
    let expected_version = match obj.get("expected_version") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                errors.push(FieldError::new(
                    "expected_version",
                    "must be a non-negative whole number (0 for a new stream)",
                ));
                None
            }
        },
    };

    if let (Some(e), false) = (&mut event, exported) {
        // Personal data comes in clear from clients; sealed values only come
        // back from an export, with the keys that open them.
        for f in e.personal_fields() {
            if matches!(f.value.state(), SlotState::Sealed(_)) {
                errors.push(FieldError::new(
                    f.path,
                    "must be given in clear; sealed values are written by the store",
                ));
            }
        }
    }
    if let Some(e) = &event {
        errors.extend(e.check_shape());
        if new {
            errors.extend(e.check_submitted());
        }
        if let (Event::ProgrammeDefined(d), Some(p)) = (e, &programme) {
            if &d.programme != p {
                errors.push(FieldError::new(
                    "data.programme",
                    format!("must equal the event's programme {:?}", p.as_str()),
                ));
            }
        }
    }
    if exported {
        if let (Some(Value::String(s)), Some(e), Some(p)) = (obj.get("stream"), &event, &programme)
        {
            let expected = e.stream(p);
            if s != &expected {
                errors.push(FieldError::new(
                    "stream",
                    format!("does not match the event (expected {expected:?})"),
                ));
            }
        }
    }

    match (id, programme, occurred_at, event) {
        (Some(id), Some(programme), Some(occurred_at), Some(event)) if errors.is_empty() => {
            Ok(Submission {
                event: NewEvent {
                    id,
                    programme,
                    occurred_at,
                    event,
                },
                expected_version,
                provenance,
            })
        }
        _ => Err(ValidationError { errors }),
    }
}

fn str_field<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    match obj.get(key) {
        Some(Value::String(s)) => Some(s),
        None | Some(Value::Null) => {
            errors.push(FieldError::new(key, "is required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(key, "must be a string"));
            None
        }
    }
}

fn parse_provenance(obj: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Provenance> {
    if let Some(v) = obj.get("schema_version") {
        if v.as_u64() != Some(SCHEMA_VERSION as u64) {
            errors.push(FieldError::new(
                "schema_version",
                format!("this version reads schema version {SCHEMA_VERSION} only"),
            ));
        }
    }
    let at = match obj.get("recorded_at") {
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                errors.push(FieldError::new("recorded_at", "must be an RFC 3339 time"));
                None
            }
        },
        _ => None,
    };
    let by = match obj.get("recorded_by") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => Some(s.clone()),
        Some(_) => {
            errors.push(FieldError::new(
                "recorded_by",
                "must be a non-empty string of at most 200 characters",
            ));
            None
        }
        None => None,
    };
    match (at, by) {
        (Some(recorded_at), Some(recorded_by)) => Some(Provenance {
            recorded_at,
            recorded_by,
        }),
        _ => None,
    }
}

/// An event as the log holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Global position: gap-free from 1, in commit order.
    pub position: u64,
    /// The stream (`{programme}/{kind}/{id}`).
    pub stream: String,
    /// Version within the stream, from 1.
    pub version: u64,
    /// Schema version of `data`.
    pub schema_version: u32,
    /// When the store recorded it (server clock).
    pub recorded_at: DateTime<Utc>,
    /// The authenticated actor who recorded it.
    pub recorded_by: String,
    /// The event itself.
    pub event: NewEvent,
}

#[derive(Serialize)]
struct StoredWire<'a> {
    position: u64,
    stream: &'a str,
    version: u64,
    schema_version: u32,
    id: Uuid,
    #[serde(rename = "type")]
    event_type: &'a str,
    programme: &'a str,
    occurred_at: String,
    data: Value,
    recorded_at: String,
    recorded_by: &'a str,
}

impl StoredEvent {
    /// The wire form of PRODUCT.md §3 with the stored fields.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(StoredWire {
            position: self.position,
            stream: &self.stream,
            version: self.version,
            schema_version: self.schema_version,
            id: self.event.id,
            event_type: self.event.event.type_name(),
            programme: self.event.programme.as_str(),
            occurred_at: self.event.occurred_at.to_canonical(),
            data: self.event.event.data_json(),
            recorded_at: format_recorded_at(self.recorded_at),
            recorded_by: &self.recorded_by,
        })
        .expect("stored events always serialise")
    }
}

impl Serialize for StoredEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// The canonical text of a recording time: RFC 3339, UTC, microseconds.
pub fn format_recorded_at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_errors_are_all_reported_with_their_field() {
        let err = Submission::from_wire(&json!({
            "type": "MilestoneMarked", "programme": "Not A Slug",
            "occurred_at": "yesterday", "data": {"milestone": "m", "label": "L", "kind": "party"},
            "colour": "red"
        }))
        .unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"colour"), "{fields:?}");
        assert!(fields.contains(&"programme"), "{fields:?}");
        assert!(fields.contains(&"occurred_at"), "{fields:?}");
        assert!(fields.contains(&"data.kind"), "{fields:?}");
    }

    #[test]
    fn an_event_written_as_wire_json_reads_back_equal() {
        let line = json!({
            "id": "8f9b5f7e-7d7a-4a50-9d3c-0b8c7d1c2e3f", "type": "OutreachContactLogged",
            "programme": "sjdlr", "occurred_at": "2022-02-07T10:30:00Z",
            "data": {"from": "a", "to": "b", "channel": "phone", "outcome": "interested",
                     "follow_up_due": "2022-03-01"}
        });
        let event = Submission::from_wire(&line).unwrap().event;
        let mut out = Vec::new();
        event.write_json(&mut out).unwrap();
        let written: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(written, line);
        assert_eq!(written["data"], event.event.data_json());
        assert_eq!(Submission::from_wire(&written).unwrap().event, event);
    }

    #[test]
    fn stored_fields_are_refused_on_the_wire_but_read_on_import() {
        let line = json!({
            "position": 7, "stream": "sjdlr/milestone/m", "version": 1, "schema_version": 1,
            "id": "8f9b5f7e-7d7a-4a50-9d3c-0b8c7d1c2e3f", "type": "MilestoneMarked",
            "programme": "sjdlr", "occurred_at": "2022-02-07",
            "data": {"milestone": "m", "label": "Transfer workshop", "kind": "workshop"},
            "recorded_at": "2022-02-08T09:00:00.000000Z", "recorded_by": "coordinator"
        });
        let err = Submission::from_wire(&line).unwrap_err();
        assert!(err.errors.iter().any(|e| e.field == "position"));
        let s = Submission::from_export(&line).unwrap();
        assert_eq!(s.provenance.unwrap().recorded_by, "coordinator");
    }
}

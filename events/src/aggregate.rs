//! Commands: recording a batch of events is handled by the `eventually` 0.4
//! [`Aggregate`] [`Log`], whose state is the [`Registry`] folded from the log.
//! [`decide`] holds the rules; [`crate::ledger::Ledger`] runs them against a
//! store. Pure: no I/O here.

use eventually::Aggregate;
use futures::future::BoxFuture;
use uuid::Uuid;

use crate::envelope::{NewEvent, Submission};
use crate::error::{FieldError, ValidationError};
use crate::event::Event;
use crate::keyring::{KeyError, SealError};
use crate::personal::KeyId;
use crate::registry::Registry;
use crate::store::StoreError;

/// The aggregate: the whole log of one deployment. Validation needs every
/// programme's state at once because one batch may span programmes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Log;

/// The id of the one [`Log`] aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogId;

/// Record these events atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The events, in order.
    pub submissions: Vec<Submission>,
    /// Whether `PersonalDataErased` may be recorded (only the erase command).
    pub allow_erasure: bool,
    /// Data keys the store destroys in the same transaction (an erasure).
    pub erase: Vec<KeyId>,
}

impl Record {
    /// A command from a client (no erasure).
    pub fn new(submissions: Vec<Submission>) -> Self {
        Self {
            submissions,
            allow_erasure: false,
            erase: Vec::new(),
        }
    }
}

/// Why a batch was not recorded. Nothing of it was appended.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    /// Broken rules, each naming its field. HTTP 422.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A stream is not at the `expected_version` given. HTTP 409.
    #[error("{field}: stream {stream} is at version {actual}, not the expected {expected}")]
    Conflict {
        /// The field (`expected_version`, or `[i].expected_version` in a batch).
        field: String,
        /// The stream.
        stream: String,
        /// The version the client expected.
        expected: u64,
        /// The stream's version.
        actual: u64,
    },
    /// The id was already recorded with another body. HTTP 409.
    #[error("event id {id} was already recorded with a different body")]
    IdReused {
        /// The id.
        id: Uuid,
    },
    /// The store failed. HTTP 503 (500 for corruption).
    #[error(transparent)]
    Store(StoreError),
    /// Personal fields could not be sealed: the keys failed. HTTP 503.
    #[error("personal data could not be sealed: {0}")]
    Keys(KeyError),
}

impl From<SealError> for RecordError {
    fn from(e: SealError) -> Self {
        match e {
            SealError::Invalid(errors) => RecordError::Invalid(ValidationError { errors }),
            SealError::Keys(KeyError::Store(s)) => s.into(),
            SealError::Keys(k) => RecordError::Keys(k),
        }
    }
}

impl From<StoreError> for RecordError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::IdReused { id } => RecordError::IdReused { id },
            StoreError::Conflict {
                stream,
                expected,
                actual,
            } => RecordError::Conflict {
                field: "expected_version".into(),
                stream,
                expected,
                actual,
            },
            other => RecordError::Store(other),
        }
    }
}

/// The outcome of a valid command.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The state once the new events are folded in.
    pub state: Registry,
    /// Indexes (into the command's submissions) of the events to append;
    /// the others are retries of events already in the log.
    pub new: Vec<usize>,
}

/// Validates a batch in order against `state`, each event seeing the ones
/// before it. Events whose id is already in the log are retries: they are
/// not validated again (the store returns the original, or refuses a
/// different body).
pub fn decide(state: &Registry, cmd: &Record) -> Result<Decision, RecordError> {
    let mut next = state.clone();
    let new = decide_into(&mut next, cmd)?;
    Ok(Decision { state: next, new })
}

/// [`decide`], folding the new events into `state` itself: nothing changes
/// when the command is refused. A single event is checked, then folded in
/// place, so that no node of the persistent maps is copied that `state`
/// alone holds; a batch is decided on a copy that replaces `state`.
/// Answers the indexes of the new events.
pub fn decide_in_place(state: &mut Registry, cmd: &Record) -> Result<Vec<usize>, RecordError> {
    if cmd.submissions.len() != 1 {
        let decision = decide(state, cmd)?;
        *state = decision.state;
        return Ok(decision.new);
    }
    match judge(state, cmd, 0)? {
        None => Ok(Vec::new()),
        Some(errors) if errors.is_empty() => {
            state.apply(&cmd.submissions[0].event);
            Ok(vec![0])
        }
        Some(errors) => Err(ValidationError { errors }.into()),
    }
}

/// [`decide`], folding the new events into `state` itself as they are
/// judged, so that no node of the persistent maps is copied that `state`
/// alone holds. A refused batch leaves part of itself folded into `state`:
/// the caller must fold the state again from the log before using it.
/// Answers the indexes of the new events.
pub fn decide_into(state: &mut Registry, cmd: &Record) -> Result<Vec<usize>, RecordError> {
    let mut errors = Vec::new();
    let mut new = Vec::new();
    for (i, s) in cmd.submissions.iter().enumerate() {
        match judge(state, cmd, i)? {
            None => {}
            Some(errs) if errs.is_empty() => {
                state.apply(&s.event);
                new.push(i);
            }
            Some(errs) => errors.extend(errs),
        }
    }
    if errors.is_empty() {
        Ok(new)
    } else {
        Err(ValidationError { errors }.into())
    }
}

/// The rules event `i` of `cmd` breaks against `state` (which holds the
/// events before it), its fields named as in the batch (`[i].field`);
/// `None` for a retry of an event already in the log. A stream at another
/// version than the one expected is a conflict.
fn judge(state: &Registry, cmd: &Record, i: usize) -> Result<Option<Vec<FieldError>>, RecordError> {
    let s = &cmd.submissions[i];
    if state.knows(&s.event.id) {
        return Ok(None);
    }
    let batch = cmd.submissions.len() > 1;
    let prefix = |field: &str| {
        if batch {
            format!("[{i}].{field}")
        } else {
            field.to_owned()
        }
    };
    let mut errs = Vec::new();
    // An erasure is recorded by the erase command, or carried over from
    // an exported log (with its provenance) by import.
    let carried = s.provenance.is_some();
    if matches!(s.event.event, Event::PersonalDataErased(_)) && !cmd.allow_erasure && !carried {
        errs.push(FieldError::new(
            "type",
            "PersonalDataErased is written only by the erase command",
        ));
    }
    errs.extend(s.event.event.check_shape());
    errs.extend(state.check(&s.event));
    if let Some(expected) = s.expected_version {
        let stream = s.event.stream();
        let actual = state.stream_version(&stream);
        if expected != actual {
            return Err(RecordError::Conflict {
                field: prefix("expected_version"),
                stream,
                expected,
                actual,
            });
        }
    }
    for e in &mut errs {
        e.field = prefix(&e.field);
    }
    Ok(Some(errs))
}

impl Aggregate for Log {
    type Id = LogId;
    type State = Registry;
    type Event = NewEvent;
    type Command = Record;
    type Error = RecordError;

    fn apply(mut state: Registry, event: NewEvent) -> Result<Registry, RecordError> {
        state.apply(&event);
        Ok(state)
    }

    fn handle<'a, 's: 'a>(
        &'a self,
        _id: &'s LogId,
        state: &'s Registry,
        command: Record,
    ) -> BoxFuture<'a, Result<Option<Vec<NewEvent>>, RecordError>> {
        Box::pin(async move {
            let decision = decide(state, &command)?;
            let events: Vec<NewEvent> = decision
                .new
                .iter()
                .map(|&i| command.submissions[i].event.clone())
                .collect();
            Ok((!events.is_empty()).then_some(events))
        })
    }
}

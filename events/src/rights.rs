//! The rights of data subjects (GDPR): erasure (art. 17) and access
//! (art. 15), over a [`Ledger`] and its [`Keyring`].
//!
//! **Erasure** destroys the subject's data key and appends
//! `PersonalDataErased` in one transaction: afterwards every sealed field of
//! the subject reads as erased, everywhere, while the events, their hash
//! chain and every count and tie built on them stay. **Access** gathers
//! every event that holds the subject's data, opened.
//!
//! A participant is found by its code only while its key lives: once erased,
//! nothing in the store links the code to anything (not even a keyed hash,
//! which anyone holding the master key could test against every short code),
//! so a second erasure of the same code finds nothing to erase. A contact
//! subject is named by its stakeholder, so its past erasures are found in the
//! log.

use chrono::SubsecRound;
use uuid::Uuid;

use crate::aggregate::{Record, RecordError};
use crate::envelope::{NewEvent, StoredEvent, Submission};
use crate::event::{Event, PersonalDataErased};
use crate::keyring::{KeyError, Keyring};
use crate::ledger::{decode, Ledger};
use crate::personal::{ErasedSubject, KeyId, SlotState, Subject, SubjectKind};
use crate::store::{EventLog, StoreError, PAGE};
use crate::values::{OccurredAt, Reason};

/// Why an erasure or an access request was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum RightsError {
    /// The store holds no personal data of the subject. HTTP 404.
    #[error(
        "no personal data is held for {0}: it was never recorded, or was erased (an erased \
         participant leaves no trace of its code)"
    )]
    NotFound(String),
    /// The subject's data was erased already. HTTP 409.
    #[error("{subject} was already erased (log position {position}); nothing was appended")]
    AlreadyErased {
        /// The subject.
        subject: String,
        /// The position of its erasure.
        position: u64,
    },
    /// Recording the erasure failed.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The keys failed.
    #[error(transparent)]
    Keys(#[from] KeyError),
}

impl From<StoreError> for RightsError {
    fn from(e: StoreError) -> Self {
        RightsError::Keys(KeyError::Store(e))
    }
}

/// A subject's name in messages: its id for a contact, without the code
/// for a participant.
fn shown(subject: &Subject) -> String {
    match subject.kind() {
        SubjectKind::Contact => subject.id(),
        SubjectKind::Participant => format!("this participant of {}", subject.programme()),
    }
}

/// A done erasure.
#[derive(Debug, Clone, PartialEq)]
pub struct Erasure {
    /// The `PersonalDataErased` event.
    pub event: StoredEvent,
    /// The data key that was destroyed.
    pub key: KeyId,
}

/// Erases `subject`: destroys its data key and appends `PersonalDataErased`
/// (attributed to `actor`) in one transaction. Refuses a subject with no
/// personal data ([`RightsError::NotFound`]) and one erased already
/// ([`RightsError::AlreadyErased`]), appending nothing.
pub async fn erase<S: EventLog>(
    ledger: &Ledger<S>,
    subject: &Subject,
    reason: Reason,
    actor: &str,
) -> Result<Erasure, RightsError> {
    let keyring = ledger.keyring();
    let Some(key) = keyring.key_of(subject).await? else {
        return Err(match erased_at(ledger.store(), subject).await? {
            Some(position) => RightsError::AlreadyErased {
                subject: shown(subject),
                position,
            },
            None => RightsError::NotFound(shown(subject)),
        });
    };
    let event = NewEvent {
        id: Uuid::new_v4(),
        programme: subject.programme().clone(),
        occurred_at: OccurredAt::from_datetime(ledger.now().trunc_subsecs(0)),
        event: Event::PersonalDataErased(PersonalDataErased {
            subject: ErasedSubject::new(subject, &key),
            reason: Some(reason),
        }),
    };
    let cmd = Record {
        submissions: vec![Submission {
            event,
            expected_version: None,
            provenance: None,
        }],
        allow_erasure: true,
        erase: vec![key.clone()],
    };
    match ledger.submit(cmd, actor).await {
        Ok(mut recorded) => {
            keyring.forget(&key);
            Ok(Erasure {
                event: recorded.remove(0).event,
                key,
            })
        }
        // Another erasure destroyed the key first.
        Err(RecordError::Store(StoreError::KeyGone { .. })) => {
            keyring.forget(&key);
            let position = erased_at(ledger.store(), subject).await?.unwrap_or(0);
            Err(RightsError::AlreadyErased {
                subject: shown(subject),
                position,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The position of the latest erasure of a contact subject (`None` for a
/// participant, whose erasures do not name it).
async fn erased_at<S: EventLog>(store: &S, subject: &Subject) -> Result<Option<u64>, StoreError> {
    if subject.kind() != SubjectKind::Contact {
        return Ok(None);
    }
    let id = subject.id();
    let stream = format!("{}/erasure", subject.programme());
    let events = store.read_stream(&stream, 1, usize::MAX).await?;
    let mut found = None;
    for raw in &events {
        if let Event::PersonalDataErased(d) = decode(raw)?.event.event {
            if d.subject.as_str() == id {
                found = Some(raw.position);
            }
        }
    }
    Ok(found)
}

/// What the store holds of one subject: every event with a personal field
/// sealed under its live data key, opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    /// The subject.
    pub subject: Subject,
    /// Its live data key.
    pub key: KeyId,
    /// The events, in log order, their personal fields opened (fields of
    /// other subjects' keys, such as an earlier contact person's, are marked
    /// erased or left sealed as they open for this keyring).
    pub events: Vec<StoredEvent>,
    /// The log position the answer reflects.
    pub position: u64,
}

/// Gathers what the store holds of `subject` (an access request).
/// [`RightsError::NotFound`] when it holds nothing.
pub async fn subject_access<S: EventLog>(
    keyring: &Keyring<S>,
    subject: &Subject,
) -> Result<Access, RightsError> {
    let Some(key) = keyring.key_of(subject).await? else {
        return Err(RightsError::NotFound(shown(subject)));
    };
    let store = keyring.store();
    let head = store.head().await?;
    let candidates = match subject.stakeholder() {
        Some(s) => {
            let stream = format!("{}/stakeholder/{s}", subject.programme());
            store.read_stream(&stream, 1, usize::MAX).await?
        }
        None => {
            // Participants' attendances are spread over session streams: the
            // whole log is read, keeping events that name the key.
            let mut found = Vec::new();
            let mut after = 0;
            while after < head {
                let page = store.read(after, PAGE).await?;
                let Some(last) = page.last() else { break };
                after = last.position;
                found.extend(page.into_iter().filter(|r| {
                    r.position <= head
                        && r.record.programme == subject.programme().as_str()
                        && r.record.event_type == "ParticipantAttended"
                        && r.record.data.contains(key.as_str())
                }));
            }
            found
        }
    };
    let mut events = Vec::new();
    for raw in candidates.iter().filter(|r| r.position <= head) {
        let mut event = decode(raw)?;
        let mine = event
            .event
            .event
            .personal_fields()
            .iter()
            .any(|f| matches!(f.value.state(), SlotState::Sealed(s) if s.key() == &key));
        if mine {
            keyring.open_event(event.event.id, &mut event.event.event);
            events.push(event);
        }
    }
    Ok(Access {
        subject: subject.clone(),
        key,
        events,
        position: head,
    })
}

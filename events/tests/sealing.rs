//! Personal data in the log (PRODUCT.md §7): sealed on the way in, opened
//! only with the store's keys, gone for good once its subject is erased.
//! Given a log, when personal data is recorded, erased or read, then …

use passerelle_events::keyring::{ImportKeysError, KeyError};
use passerelle_events::personal::{Personal, Subject};
use passerelle_events::rights::{erase, subject_access, RightsError};
use passerelle_events::store::RawEvent;
use passerelle_events::values::Reason;
use passerelle_events::{
    Event, EventLog, Keyring, Ledger, MasterKey, MemoryStore, Record, RecordError, StoredEvent,
    Submission,
};
use serde_json::{json, Value};
use uuid::Uuid;

const ACTOR: &str = "coordinator";
const PERSON: &str = "Amina Diallo-Testperson";
const EMAIL: &str = "amina.testperson@example.org";
const PHONE: &str = "+33 2 38 99 12 34";
const CODE: &str = "PX-7731-QZ";

fn wire(kind: &str, data: Value) -> Value {
    json!({"id": Uuid::new_v4().to_string(), "type": kind, "programme": "sjdlr",
           "occurred_at": "2022-02-07T10:00:00Z", "data": data})
}

fn subs(events: &[Value]) -> Vec<Submission> {
    events
        .iter()
        .map(|w| Submission::from_wire(w).expect("a fixture parses"))
        .collect()
}

fn programme() -> Value {
    json!({"type": "ProgrammeDefined", "programme": "sjdlr", "occurred_at": "2021-01-01",
           "data": {"programme": "sjdlr", "name": "Saint-Jean-de-la-Ruelle"}})
}

fn registered(id: &str, with_contact: bool) -> Value {
    let mut data = json!({"stakeholder": id, "name": "Maison des Femmes", "kind": "association"});
    if with_contact {
        data["contact"] = json!({"person": PERSON, "email": EMAIL, "phone": PHONE});
    }
    wire("StakeholderRegistered", data)
}

fn session(id: &str) -> Value {
    wire(
        "CoCreationSessionHeld",
        json!({"session": id, "title": "Welcome desk", "level": "involve",
               "beneficiaries": {"total": 9, "women": 9}}),
    )
}

fn attended(session: &str, code: &str) -> Value {
    wire(
        "ParticipantAttended",
        json!({"session": session, "participant": code}),
    )
}

/// A ledger over a memory store, with the demo-like start of a programme:
/// a stakeholder with a contact person and one attendance.
async fn given() -> Ledger<MemoryStore> {
    let keyring = Keyring::with_new_key(MemoryStore::new()).await.unwrap();
    let ledger = Ledger::open(keyring).await.unwrap();
    ledger
        .record(
            subs(&[
                programme(),
                registered("mdf", true),
                session("s1"),
                attended("s1", CODE),
            ]),
            ACTOR,
        )
        .await
        .unwrap();
    ledger
}

async fn stored<S: EventLog>(store: &S) -> Vec<RawEvent> {
    store.read(0, usize::MAX).await.unwrap()
}

fn contact() -> Subject {
    Subject::parse("contact:sjdlr/mdf", None).unwrap()
}

fn participant() -> Subject {
    Subject::parse(&format!("participant:sjdlr/{CODE}"), None).unwrap()
}

fn reason() -> Reason {
    Reason::parse("Request of the person, art. 17 GDPR").unwrap()
}

/// The event's personal fields as opened by `keyring`, as JSON.
fn opened<S: EventLog>(keyring: &Keyring<S>, raw: &RawEvent) -> Value {
    let mut e: StoredEvent = raw.decode().unwrap();
    keyring.open_event(e.event.id, &mut e.event.event);
    e.to_json()["data"].clone()
}

#[tokio::test]
async fn personal_fields_are_stored_only_sealed_and_open_with_the_keys() {
    let ledger = given().await;
    let log = stored(ledger.store()).await;
    let text: String = log.iter().map(|r| r.record.data.clone()).collect();
    for clear in [PERSON, EMAIL, PHONE, CODE] {
        assert!(!text.contains(clear), "{clear} is stored in clear");
    }
    let data = opened(ledger.keyring(), &log[1]);
    assert_eq!(
        data["contact"],
        json!({"person": PERSON, "email": EMAIL, "phone": PHONE})
    );
    assert_eq!(
        opened(ledger.keyring(), &log[3])["participant"],
        json!(CODE)
    );
    // The three contact fields share their subject's key; the participant has its own.
    let stored: Value = serde_json::from_str(&log[1].record.data).unwrap();
    let key = stored["contact"]["person"]["key"].clone();
    assert_eq!(stored["contact"]["email"]["key"], key);
    let attendance: Value = serde_json::from_str(&log[3].record.data).unwrap();
    assert_ne!(attendance["participant"]["key"], key);
}

#[tokio::test]
async fn a_retry_of_an_event_with_personal_data_returns_the_original() {
    let ledger = given().await;
    let call = registered("asso", true);
    let first = ledger
        .record(subs(std::slice::from_ref(&call)), ACTOR)
        .await
        .unwrap();
    let again = ledger.record(subs(&[call]), ACTOR).await.unwrap();
    assert!(first[0].created && !again[0].created);
    assert_eq!(first[0].event, again[0].event);
}

#[tokio::test]
async fn a_participant_keeps_one_key_across_sessions() {
    let ledger = given().await;
    ledger
        .record(
            subs(&[
                session("s2"),
                attended("s2", CODE),
                attended("s2", "OTHER-1"),
            ]),
            ACTOR,
        )
        .await
        .unwrap();
    let keys = attendance_keys(ledger.store()).await;
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0], keys[1], "one participant, one key");
    assert_ne!(keys[1], keys[2]);
}

/// The key id of every attendance, in log order.
async fn attendance_keys<S: EventLog>(store: &S) -> Vec<String> {
    stored(store)
        .await
        .iter()
        .filter(|r| r.record.event_type == "ParticipantAttended")
        .map(|r| {
            serde_json::from_str::<Value>(&r.record.data).unwrap()["participant"]["key"].to_string()
        })
        .collect()
}

/// Two ledgers with keyrings of one store under one master key (two
/// processes), and a programme with session `s1`.
async fn two_writers() -> (MemoryStore, Ledger<MemoryStore>, Ledger<MemoryStore>) {
    let master = MasterKey::from_hex(&"77".repeat(32)).unwrap();
    let store = MemoryStore::new();
    let a = Ledger::open(
        Keyring::create(store.clone(), master.clone())
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let b = Ledger::open(Keyring::open(store.clone(), master).await.unwrap())
        .await
        .unwrap();
    a.record(subs(&[programme(), session("s1")]), ACTOR)
        .await
        .unwrap();
    (store, a, b)
}

/// Asserts that every attendance's participant opens with `keyring`.
async fn every_attendance_opens<S: EventLog>(keyring: &Keyring<S>) {
    for raw in stored(keyring.store()).await {
        if raw.record.event_type == "ParticipantAttended" {
            assert!(opened(keyring, &raw)["participant"].is_string());
        }
    }
}

#[tokio::test]
async fn a_key_made_by_another_writer_is_found_after_a_race() {
    let (store, a, b) = two_writers().await;
    a.record(subs(&[attended("s1", "RACE-1")]), ACTOR)
        .await
        .unwrap();
    // b's keyring has not seen a's key for RACE-1: it makes its own, the
    // store refuses it, b reads the keys again and seals with a's.
    b.record(subs(&[attended("s1", "RACE-1")]), ACTOR)
        .await
        .unwrap();
    let keys = attendance_keys(&store).await;
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);
}

#[tokio::test]
async fn a_client_cannot_send_sealed_or_erased_values() {
    let ledger = given().await;
    let log = stored(ledger.store()).await;
    let sealed: Value = serde_json::from_str(&log[3].record.data).unwrap();
    let replay = wire("ParticipantAttended", sealed);
    let err = Submission::from_wire(&replay).unwrap_err();
    assert_eq!(err.errors[0].field, "data.participant");
    let marker = wire(
        "ParticipantAttended",
        json!({"session": "s1", "participant": {"erased": true}}),
    );
    let err = Submission::from_wire(&marker).unwrap_err();
    assert_eq!(err.errors[0].field, "data.participant");
}

#[tokio::test]
async fn erasure_destroys_the_key_and_every_read_shows_the_fields_erased() {
    let ledger = given().await;
    let before = stored(ledger.store()).await;
    let done = erase(&ledger, &contact(), reason(), "admin").await.unwrap();
    assert_eq!(done.event.position, 5);
    match &done.event.event.event {
        Event::PersonalDataErased(d) => assert_eq!(d.subject.as_str(), "contact:sjdlr/mdf"),
        other => panic!("{other:?}"),
    }
    let after = stored(ledger.store()).await;
    assert_eq!(&after[..4], &before[..], "the events themselves stay");
    let data = opened(ledger.keyring(), &after[1]);
    assert_eq!(
        data["contact"],
        json!({"person": {"erased": true}, "email": {"erased": true}, "phone": {"erased": true}})
    );
    // The participant is untouched.
    assert_eq!(
        opened(ledger.keyring(), &after[3])["participant"],
        json!(CODE)
    );
    // Another master key does not open the store at all.
    let other = MasterKey::from_hex(&"00".repeat(32)).unwrap();
    assert!(matches!(
        Keyring::open(ledger.store().clone(), other).await,
        Err(KeyError::WrongMasterKey { .. })
    ));

    // Twice: said so, nothing appended.
    match erase(&ledger, &contact(), reason(), "admin").await {
        Err(RightsError::AlreadyErased { position, .. }) => assert_eq!(position, 5),
        other => panic!("expected already erased, got {other:?}"),
    }
    assert_eq!(ledger.store().head().await.unwrap(), 5);
}

#[tokio::test]
async fn an_erased_participant_leaves_no_trace_of_its_code() {
    let ledger = given().await;
    let access = subject_access(ledger.keyring(), &participant())
        .await
        .unwrap();
    assert_eq!(access.events.len(), 1);
    assert_eq!(
        access.events[0].to_json()["data"]["participant"],
        json!(CODE)
    );
    let done = erase(&ledger, &participant(), reason(), "admin")
        .await
        .unwrap();
    let erasure = done.event.to_json().to_string();
    assert!(!erasure.contains(CODE), "{erasure}");
    assert!(erasure.contains(done.key.as_str()));
    let log = stored(ledger.store()).await;
    assert_eq!(
        opened(ledger.keyring(), &log[3])["participant"],
        json!({"erased": true})
    );
    // Not found any more, neither for access nor for a second erasure.
    assert!(matches!(
        subject_access(ledger.keyring(), &participant()).await,
        Err(RightsError::NotFound(_))
    ));
    match erase(&ledger, &participant(), reason(), "admin").await {
        Err(RightsError::NotFound(m)) => assert!(!m.contains(CODE), "{m}"),
        other => panic!("expected not found, got {other:?}"),
    }
    assert_eq!(ledger.store().head().await.unwrap(), 5);
    // The attendance still counts: its pseudonym (the destroyed key's id) stays.
    let e: StoredEvent = log[3].decode().unwrap();
    match e.event.event {
        Event::ParticipantAttended(d) => match d.participant {
            Personal::Sealed(s) => assert_eq!(s.key(), &done.key),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unknown_subjects_are_not_found_and_nothing_is_appended() {
    let ledger = given().await;
    for s in [
        "contact:sjdlr/nobody",
        "participant:sjdlr/NEVER-SEEN",
        "contact:brussels/mdf",
    ] {
        let s = Subject::parse(s, None).unwrap();
        assert!(matches!(
            erase(&ledger, &s, reason(), "admin").await,
            Err(RightsError::NotFound(_))
        ));
    }
    // A stakeholder without contact details has no subject either.
    ledger
        .record(subs(&[registered("plain", false)]), ACTOR)
        .await
        .unwrap();
    let plain = Subject::parse("contact:sjdlr/plain", None).unwrap();
    assert!(matches!(
        erase(&ledger, &plain, reason(), "admin").await,
        Err(RightsError::NotFound(_))
    ));
    assert_eq!(ledger.store().head().await.unwrap(), 5);
}

#[tokio::test]
async fn a_new_contact_person_after_an_erasure_gets_a_new_key() {
    let ledger = given().await;
    let first = erase(&ledger, &contact(), reason(), "admin").await.unwrap();
    let changed = wire(
        "StakeholderProfileChanged",
        json!({"stakeholder": "mdf", "contact": {"email": "accueil@example.org"}}),
    );
    ledger.record(subs(&[changed]), ACTOR).await.unwrap();
    let access = subject_access(ledger.keyring(), &contact()).await.unwrap();
    assert_ne!(access.key, first.key);
    assert_eq!(access.events.len(), 1, "only the data under the live key");
    assert_eq!(
        access.events[0].to_json()["data"]["contact"],
        json!({"email": "accueil@example.org"})
    );
    // And it can be erased in turn.
    erase(&ledger, &contact(), reason(), "admin").await.unwrap();
}

#[tokio::test]
async fn rotation_rewraps_the_keys_under_a_new_master_key() {
    let master = MasterKey::from_hex(&"42".repeat(32)).unwrap();
    let store = MemoryStore::new();
    let ledger = Ledger::open(
        Keyring::create(store.clone(), master.clone())
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    ledger
        .record(subs(&[programme(), registered("mdf", true)]), ACTOR)
        .await
        .unwrap();
    let before = stored(&store).await;
    let new = MasterKey::generate().unwrap();
    assert_eq!(ledger.keyring().rotate(&new).await.unwrap(), 1);
    assert_eq!(stored(&store).await, before, "the log is untouched");
    assert!(matches!(
        Keyring::open(store.clone(), master).await,
        Err(KeyError::WrongMasterKey { .. })
    ));
    let reopened = Keyring::open(store.clone(), new).await.unwrap();
    assert_eq!(
        opened(&reopened, &before[1])["contact"]["person"],
        json!(PERSON)
    );
}

#[tokio::test]
async fn keys_carried_to_another_store_open_its_data_there() {
    let source_key = MasterKey::from_hex(&"31".repeat(32)).unwrap();
    let source = Ledger::open(
        Keyring::create(MemoryStore::new(), source_key.clone())
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    source
        .record(
            subs(&[
                programme(),
                registered("mdf", true),
                session("s1"),
                attended("s1", CODE),
            ]),
            ACTOR,
        )
        .await
        .unwrap();
    erase(&source, &participant(), reason(), "admin")
        .await
        .unwrap();
    let lines: Vec<Submission> = stored(source.store())
        .await
        .iter()
        .map(|r| Submission::from_export(&r.decode().unwrap().to_json()).unwrap())
        .collect();

    // Without the keys, the sealed lines are refused, naming the field.
    let target = Ledger::open(Keyring::with_new_key(MemoryStore::new()).await.unwrap())
        .await
        .unwrap();
    match target.record(lines.clone(), ACTOR).await.unwrap_err() {
        RecordError::Invalid(v) => {
            assert!(
                v.errors
                    .iter()
                    .any(|e| e.field.ends_with("data.contact.email")),
                "{v}"
            );
            assert!(v.to_string().contains("--with-keys"), "{v}");
        }
        other => panic!("expected a validation error, got {other}"),
    }
    assert_eq!(target.store().head().await.unwrap(), 0);

    // The bundle is wrapped by the source's master key: without it, nothing.
    let bundle = source.keyring().bundle().await.unwrap();
    assert_eq!((bundle.keys.len(), bundle.erased.len()), (1, 1));
    assert!(matches!(
        target.keyring().import(&bundle, None).await,
        Err(ImportKeysError::SourceKey { .. })
    ));
    assert_eq!(
        target
            .keyring()
            .import(&bundle, Some(&source_key))
            .await
            .unwrap(),
        (1, 1)
    );
    let recorded = target.record(lines, ACTOR).await.unwrap();
    assert_eq!(recorded.len(), 5);
    let log = stored(target.store()).await;
    assert_eq!(
        log.iter().map(|r| &r.record.data).collect::<Vec<_>>(),
        stored(source.store())
            .await
            .iter()
            .map(|r| &r.record.data)
            .collect::<Vec<_>>(),
        "the ciphertext is carried as it is"
    );
    assert_eq!(
        opened(target.keyring(), &log[1])["contact"]["email"],
        json!(EMAIL)
    );
    assert_eq!(
        opened(target.keyring(), &log[3])["participant"],
        json!({"erased": true})
    );
    // The subject is found by its id in the new store too.
    let access = subject_access(target.keyring(), &contact()).await.unwrap();
    assert_eq!(access.events.len(), 1);
}

/// The answer to a record gives each created event as the log gives it back
/// (decoded from what was stored), personal fields sealed the same way.
#[tokio::test]
async fn each_answer_is_the_event_as_the_log_gives_it_back() {
    let keyring = Keyring::with_new_key(MemoryStore::new()).await.unwrap();
    let ledger = Ledger::open(keyring).await.unwrap();
    let demo = include_str!("../demo/demo.jsonl");
    let lines: Vec<Submission> = demo
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let value = passerelle_events::json::parse(l.as_bytes()).expect("a demo line");
            Submission::from_export(&value).expect("a demo event")
        })
        .collect();
    let mut answered = Vec::new();
    for chunk in lines.chunks(37) {
        answered.extend(ledger.record(chunk.to_vec(), ACTOR).await.expect("demo"));
    }
    // And a new one with a contact person in clear, sealed on the way in.
    answered.extend(
        ledger
            .record(subs(&[registered("second", true)]), ACTOR)
            .await
            .unwrap(),
    );
    assert!(answered.iter().filter(|r| r.created).count() > 300);
    for r in &answered {
        let stored = ledger
            .store()
            .read(r.event.position - 1, 1)
            .await
            .unwrap()
            .remove(0)
            .decode()
            .unwrap();
        assert_eq!(r.event, stored, "position {}", r.event.position);
    }
}

#[tokio::test]
async fn a_batch_in_flight_seals_under_the_key_a_batch_ahead_of_it_makes() {
    let ledger = given().await;
    let first = ledger
        .import_batch(
            Record::new(subs(&[session("s2"), attended("s2", "NEW-1")])),
            ACTOR,
            &[],
        )
        .await
        .unwrap();
    assert!(first.makes_keys());
    let second = ledger
        .import_batch(
            Record::new(subs(&[session("s3"), attended("s3", "NEW-1")])),
            ACTOR,
            &[&first],
        )
        .await
        .unwrap();
    assert!(!second.makes_keys(), "the key of the batch ahead is taken");
    assert_eq!(first.finish().await.unwrap(), [true, true]);
    assert_eq!(second.finish().await.unwrap(), [true, true]);
    let keys = attendance_keys(ledger.store()).await;
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[1], keys[2], "one participant, one key");
    every_attendance_opens(ledger.keyring()).await;
}

#[tokio::test]
async fn a_batch_sealed_under_the_key_of_a_refused_batch_ahead_is_never_stored_so() {
    let (store, a, b) = two_writers().await;
    // b makes RACE-2's key first: a's batch makes another one, which the
    // store refuses; the batch queued after it borrowed that key.
    b.record(subs(&[attended("s1", "RACE-2")]), ACTOR)
        .await
        .unwrap();
    let first = a
        .import_batch(Record::new(subs(&[attended("s1", "RACE-2")])), ACTOR, &[])
        .await
        .unwrap();
    let second = a
        .import_batch(
            Record::new(subs(&[session("s2"), attended("s2", "RACE-2")])),
            ACTOR,
            &[&first],
        )
        .await
        .unwrap();
    assert!(!second.makes_keys(), "it borrowed the refused batch's key");
    // Each is recorded again, with b's key.
    assert_eq!(first.finish().await.unwrap(), [true]);
    assert_eq!(second.finish().await.unwrap(), [true, true]);
    let keys = attendance_keys(&store).await;
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
    every_attendance_opens(a.keyring()).await;
    assert_eq!(store.head().await.unwrap(), 6);
}

/// An import's batch refused by validation leaves nothing of itself in the
/// ledger's state: an event of it is not taken later for one in the log.
#[tokio::test]
async fn a_refused_import_batch_leaves_nothing_of_itself_in_the_state() {
    let ledger = given().await;
    let valid = session("s2");
    let refused = ledger
        .import_batch(
            Record::new(subs(&[valid.clone(), attended("s9", "NEW-1")])),
            ACTOR,
            &[],
        )
        .await;
    assert!(refused.is_err(), "an attendance at an unknown session");
    // The id of the valid event, on an invalid one: validated, not taken for
    // a retry of an event that was never stored.
    let mut invalid = attended("s9", "NEW-2");
    invalid["id"] = valid["id"].clone();
    let refused = ledger
        .import_batch(Record::new(subs(&[invalid])), ACTOR, &[])
        .await;
    assert!(refused.is_err(), "an attendance at an unknown session");
    let again = ledger
        .import_batch(
            Record::new(subs(&[valid.clone(), attended("s2", "NEW-1")])),
            ACTOR,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(again.finish().await.unwrap(), [true, true]);
    let stored = stored(ledger.store()).await;
    assert_eq!(stored.len(), 6);
    assert_eq!(Value::String(stored[4].record.id.to_string()), valid["id"]);
}

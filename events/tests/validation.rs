//! The validation rules of PRODUCT.md §3, one module per rule: given these
//! events, when this command, then these events or an error naming the field.
//!
//! Commands go through the `eventually` 0.4 aggregate [`Log`]; the last module
//! runs the same rules through a [`Ledger`] over a [`MemoryStore`] to check that
//! a refused batch appends nothing.

use eventually::aggregate::{Aggregate, AggregateExt};
use futures::executor::block_on;
use passerelle_events::aggregate::decide;
use passerelle_events::{
    EventLog, FieldError, Keyring, Ledger, Log, LogId, MasterKey, MemoryStore, NewEvent, Record,
    RecordError, Registry, SqliteStore, StoreError, Submission, ValidationError,
};
use serde_json::{json, Value};
use uuid::Uuid;

// ---------------------------------------------------------------------------
// Wire events, as a client would send them.
// ---------------------------------------------------------------------------

const PROGRAMME: &str = "sjdlr";

/// The suite's one master key: every ledger of a test over the same store
/// must hold the same.
fn suite_key() -> MasterKey {
    MasterKey::from_hex(&"5a".repeat(32)).expect("a valid key")
}

/// A ledger over `store`, its personal fields sealed under [`suite_key`].
async fn open_ledger<S: EventLog>(store: S) -> Result<Ledger<S>, RecordError> {
    let keyring = Keyring::create(store, suite_key())
        .await
        .expect("the keyring opens");
    Ledger::open(keyring).await
}

/// A wire event of `kind` in programme `sjdlr`, with its own id so that the
/// same JSON always parses to the same event.
fn event(kind: &str, data: Value) -> Value {
    json!({
        "id": Uuid::new_v4().to_string(),
        "type": kind,
        "programme": PROGRAMME,
        "occurred_at": "2022-02-07T10:00:00Z",
        "data": data,
    })
}

fn programme(id: &str) -> Value {
    event(
        "ProgrammeDefined",
        json!({"programme": id, "name": format!("Programme {id}")}),
    )
    .in_programme(id)
}

fn stakeholder(id: &str, kind: &str) -> Value {
    event(
        "StakeholderRegistered",
        json!({"stakeholder": id, "name": id.to_uppercase(), "kind": kind}),
    )
}

fn renamed(id: &str, name: &str) -> Value {
    event(
        "StakeholderProfileChanged",
        json!({"stakeholder": id, "name": name}),
    )
}

fn archived(id: &str) -> Value {
    event(
        "StakeholderArchived",
        json!({"stakeholder": id, "reason": "merged"}),
    )
}

fn contact(from: &str, to: &str, outcome: &str) -> Value {
    event(
        "OutreachContactLogged",
        json!({"from": from, "to": to, "channel": "meeting", "outcome": outcome}),
    )
}

fn partnership(id: &str, a: &str, b: &str) -> Value {
    event(
        "PartnershipFormed",
        json!({"partnership": id, "between": [a, b], "kind": "referral"}),
    )
}

fn partnership_revised(id: &str) -> Value {
    event(
        "PartnershipRevised",
        json!({"partnership": id, "kind": "co_delivery"}),
    )
}

fn partnership_ended(id: &str) -> Value {
    event("PartnershipEnded", json!({"partnership": id}))
}

fn session(id: &str, beneficiaries: Value) -> Value {
    event(
        "CoCreationSessionHeld",
        json!({"session": id, "title": "Co-design of the welcome desk", "level": "involve",
               "beneficiaries": beneficiaries}),
    )
}

fn attended(session: &str, participant: &str) -> Value {
    event(
        "ParticipantAttended",
        json!({"session": session, "participant": participant}),
    )
}

fn need(id: &str, theme: &str) -> Value {
    event(
        "NeedDeclared",
        json!({"need": id, "action": "Maison des Femmes", "theme": theme}),
    )
}

fn addressed(need: &str, by: &[&str]) -> Value {
    event("NeedAddressed", json!({"need": need, "by": by}))
}

fn withdrawn(need: &str) -> Value {
    event("NeedWithdrawn", json!({"need": need}))
}

fn milestone(id: &str) -> Value {
    event(
        "MilestoneMarked",
        json!({"milestone": id, "label": "Transfer workshop", "kind": "workshop"}),
    )
}

fn note(id: &str, about: Value) -> Value {
    event(
        "ReviewNoteAdded",
        json!({"note": id, "about": about, "text": "Worth a follow-up visit."}),
    )
}

fn erased(subject: &str) -> Value {
    event("PersonalDataErased", json!({"subject": subject}))
}

fn few() -> Value {
    json!({"total": 12, "women": 7, "men": 4, "undisclosed": 1, "first_time": 5, "returning": 7})
}

/// `n` characters.
fn text(n: usize) -> String {
    "x".repeat(n)
}

/// Small edits of a wire event.
trait Wire {
    /// Sets an envelope key.
    fn with(self, key: &str, value: Value) -> Value;
    /// Removes an envelope key.
    fn without(self, key: &str) -> Value;
    /// Sets a key of `data`.
    fn with_data(self, key: &str, value: Value) -> Value;
    /// Moves the event to another programme.
    fn in_programme(self, programme: &str) -> Value;
}

impl Wire for Value {
    fn with(mut self, key: &str, value: Value) -> Value {
        self[key] = value;
        self
    }

    fn without(mut self, key: &str) -> Value {
        self.as_object_mut()
            .expect("a wire event is an object")
            .remove(key);
        self
    }

    fn with_data(mut self, key: &str, value: Value) -> Value {
        self["data"][key] = value;
        self
    }

    fn in_programme(self, programme: &str) -> Value {
        self.with("programme", json!(programme))
    }
}

/// The programme `sjdlr` with four stakeholders: an integration agency, an
/// association, a beneficiary group and a city service.
fn network() -> Vec<Value> {
    vec![
        programme(PROGRAMME),
        stakeholder("bapa", "integration_agency"),
        stakeholder("mdf", "association"),
        stakeholder("femmes_relais", "beneficiary_group"),
        stakeholder("city", "city_service"),
    ]
}

/// [`network`] and then `more`.
fn network_and(more: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut events = network();
    events.extend(more);
    events
}

// ---------------------------------------------------------------------------
// Given / when / then.
// ---------------------------------------------------------------------------

/// Folds valid events into a registry. A fixture that breaks a rule fails
/// loudly here rather than making a test pass for the wrong reason.
#[track_caller]
fn given(events: &[Value]) -> Registry {
    let mut state = Registry::default();
    for (i, wire) in events.iter().enumerate() {
        let submission = match Submission::from_wire(wire) {
            Ok(s) => s,
            Err(e) => panic!("given[{i}] does not parse: {e}\n{wire}"),
        };
        match decide(&state, &Record::new(vec![submission.clone()])) {
            Ok(d) => assert_eq!(d.new, [0], "given[{i}] is a retry of an earlier event"),
            Err(e) => panic!("given[{i}] breaks a rule: {e}\n{wire}"),
        }
        state = match Log::fold(state, std::iter::once(submission.event)) {
            Ok(s) => s,
            Err(e) => panic!("given[{i}] does not fold: {e}"),
        };
    }
    state
}

/// Parses the command's wire events (a parse failure is a validation error,
/// prefixed `[i].` in a batch, as the aggregate does) and hands them to the
/// aggregate. The events to append, or why none is.
fn when(state: &Registry, command: Vec<Value>) -> Result<Vec<NewEvent>, RecordError> {
    let batch = command.len() > 1;
    let mut submissions = Vec::new();
    let mut errors = Vec::new();
    for (i, wire) in command.iter().enumerate() {
        match Submission::from_wire(wire) {
            Ok(s) => submissions.push(s),
            Err(e) => errors.extend(e.errors.into_iter().map(|f| {
                if batch {
                    f.within(&format!("[{i}]"))
                } else {
                    f
                }
            })),
        }
    }
    if !errors.is_empty() {
        return Err(ValidationError { errors }.into());
    }
    let events = block_on(Log.handle(&LogId, state, Record::new(submissions)))?;
    Ok(events.unwrap_or_default())
}

/// The command was accepted and yields exactly `expected`, in order.
#[track_caller]
fn then_ok(result: Result<Vec<NewEvent>, RecordError>, expected: &[Value]) {
    let events = match result {
        Ok(events) => events,
        Err(e) => panic!("expected the command to be accepted, but: {e}"),
    };
    let expected: Vec<NewEvent> = expected
        .iter()
        .map(|w| match Submission::from_wire(w) {
            Ok(s) => s.event,
            Err(e) => panic!("an expected event does not parse: {e}\n{w}"),
        })
        .collect();
    assert_eq!(events, expected);
}

/// The command was refused with exactly one broken rule, naming `field`.
#[track_caller]
fn then_error(result: Result<Vec<NewEvent>, RecordError>, field: &str) -> FieldError {
    let mut errors = then_errors(result, &[field]);
    errors.remove(0)
}

/// The command was refused with exactly these broken rules, in this order.
#[track_caller]
fn then_errors(result: Result<Vec<NewEvent>, RecordError>, fields: &[&str]) -> Vec<FieldError> {
    match result {
        Err(RecordError::Invalid(ValidationError { errors })) => {
            let got: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(
                got,
                fields,
                "the error does not name the expected field(s); it says:\n{}",
                errors
                    .iter()
                    .map(|e| format!("  {e}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            errors
        }
        Err(other) => panic!("expected a validation error naming {fields:?}, got: {other}"),
        Ok(events) => panic!(
            "expected an error naming {fields:?}, but the command was accepted with {} event(s)",
            events.len()
        ),
    }
}

/// The message names every one of `values`.
#[track_caller]
fn assert_lists(error: &FieldError, values: &[&str]) {
    for v in values {
        assert!(
            error.message.contains(v),
            "the message of {} does not list {v:?}: {}",
            error.field,
            error.message
        );
    }
}

// ---------------------------------------------------------------------------
// The rules.
// ---------------------------------------------------------------------------

mod unknown_fields_are_rejected {
    use super::*;

    #[test]
    fn ethnicity_on_a_stakeholder_is_refused_like_any_unknown_field() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![stakeholder("asso_x", "association").with_data("ethnicity", json!("x"))],
            ),
            "data.ethnicity",
        );
        assert!(err.message.contains("unknown fields are refused"), "{err}");
    }

    #[test]
    fn nationality_on_an_outreach_contact_is_named() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![contact("bapa", "mdf", "interested").with_data("nationality", json!("x"))],
            ),
            "data.nationality",
        );
    }

    #[test]
    fn religion_on_a_declared_need_is_named() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![need("housing_desk", "housing").with_data("religion", json!("x"))],
            ),
            "data.religion",
        );
    }

    #[test]
    fn religion_in_a_participant_attendance_is_named() {
        let state = given(&network_and([session("s1", few())]));
        then_error(
            when(
                &state,
                vec![attended("s1", "P-0042").with_data("religion", json!("x"))],
            ),
            "data.religion",
        );
    }

    #[test]
    fn special_category_inside_contact_details_is_named_with_its_path() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![stakeholder("asso_x", "association")
                    .with_data("contact", json!({"person": "Ms X", "ethnicity": "x"}))],
            ),
            "data.contact.ethnicity",
        );
    }

    #[test]
    fn unknown_beneficiary_count_is_named_with_its_path() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![session("s1", json!({"total": 3, "women": 2, "xyz": 1}))],
            ),
            "data.beneficiaries.xyz",
        );
    }

    #[test]
    fn special_category_as_the_subject_of_a_note_is_named() {
        let state = given(&network());
        let err = then_error(
            when(&state, vec![note("n1", json!({"ethnicity": "x"}))]),
            "data.about",
        );
        assert_lists(
            &err,
            &["ethnicity", "stakeholder", "need", "partnership", "gap"],
        );
    }

    #[test]
    fn special_category_beside_the_subject_of_a_note_is_named() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![note("n1", json!({"stakeholder": "bapa", "religion": "x"}))],
            ),
            "data.about",
        );
    }

    #[test]
    fn unknown_envelope_key_is_named() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![milestone("kickoff").with("ethnicity", json!("x"))],
            ),
            "ethnicity",
        );
    }

    #[test]
    fn store_fields_cannot_be_sent_by_a_client() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![milestone("kickoff").with("recorded_by", json!("me"))],
            ),
            "recorded_by",
        );
        assert!(err.message.contains("set by the store"), "{err}");
    }
}

mod references_must_exist {
    use super::*;

    #[test]
    fn contact_to_an_unknown_stakeholder_names_to() {
        let state = given(&network());
        then_error(
            when(&state, vec![contact("bapa", "ghost", "interested")]),
            "data.to",
        );
    }

    #[test]
    fn contact_from_an_unknown_stakeholder_names_from() {
        let state = given(&network());
        then_error(
            when(&state, vec![contact("ghost", "bapa", "interested")]),
            "data.from",
        );
    }

    #[test]
    fn contact_between_two_unknown_stakeholders_names_both() {
        let state = given(&network());
        then_errors(
            when(&state, vec![contact("ghost", "phantom", "declined")]),
            &["data.from", "data.to"],
        );
    }

    #[test]
    fn partnership_with_an_unknown_stakeholder_names_its_place() {
        let state = given(&network());
        then_error(
            when(&state, vec![partnership("p1", "bapa", "ghost")]),
            "data.between[1]",
        );
    }

    #[test]
    fn session_with_an_unknown_stakeholder_names_its_place() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![session("s1", few()).with_data("stakeholders", json!(["ghost", "bapa"]))],
            ),
            "data.stakeholders[0]",
        );
    }

    #[test]
    fn session_with_an_unknown_facilitator_names_its_place() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![session("s1", few()).with_data("facilitators", json!(["mdf", "ghost"]))],
            ),
            "data.facilitators[1]",
        );
    }

    #[test]
    fn session_with_an_unknown_group_names_its_place() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![session("s1", few()).with_data("groups", json!(["ghost"]))],
            ),
            "data.groups[0]",
        );
    }

    #[test]
    fn session_group_must_be_a_beneficiary_group() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![session("s1", few()).with_data("groups", json!(["femmes_relais", "city"]))],
            ),
            "data.groups[1]",
        );
        assert!(err.message.contains("beneficiary_group"), "{err}");
    }

    #[test]
    fn session_with_known_participants_is_accepted() {
        let state = given(&network());
        let held = session("s1", few())
            .with_data("stakeholders", json!(["bapa", "city"]))
            .with_data("facilitators", json!(["mdf"]))
            .with_data("groups", json!(["femmes_relais"]));
        then_ok(when(&state, vec![held.clone()]), &[held]);
    }

    #[test]
    fn attendance_at_an_unknown_session_names_session() {
        let state = given(&network());
        then_error(when(&state, vec![attended("s1", "P-0042")]), "data.session");
    }

    #[test]
    fn addressing_an_unknown_need_names_need() {
        let state = given(&network());
        then_error(
            when(&state, vec![addressed("ghost", &["bapa"])]),
            "data.need",
        );
    }

    #[test]
    fn a_need_addressed_by_an_unknown_stakeholder_names_its_place() {
        let state = given(&network_and([need("housing_desk", "housing")]));
        then_error(
            when(&state, vec![addressed("housing_desk", &["ghost"])]),
            "data.by[0]",
        );
    }

    #[test]
    fn a_withdrawn_need_can_no_longer_be_addressed() {
        let state = given(&network_and([
            need("housing_desk", "housing"),
            withdrawn("housing_desk"),
        ]));
        then_error(
            when(&state, vec![addressed("housing_desk", &["bapa"])]),
            "data.need",
        );
    }

    #[test]
    fn a_note_about_an_unknown_stakeholder_names_about_stakeholder() {
        let state = given(&network());
        then_error(
            when(&state, vec![note("n1", json!({"stakeholder": "ghost"}))]),
            "data.about.stakeholder",
        );
    }

    #[test]
    fn a_note_about_an_unknown_need_names_about_need() {
        let state = given(&network());
        then_error(
            when(&state, vec![note("n1", json!({"need": "ghost"}))]),
            "data.about.need",
        );
    }

    #[test]
    fn a_note_about_an_unknown_partnership_names_about_partnership() {
        let state = given(&network());
        then_error(
            when(&state, vec![note("n1", json!({"partnership": "ghost"}))]),
            "data.about.partnership",
        );
    }

    #[test]
    fn a_note_about_a_gap_needs_no_reference() {
        let state = given(&network());
        let n = note("n1", json!({"gap": "isolated:city"}));
        then_ok(when(&state, vec![n.clone()]), &[n]);
    }

    #[test]
    fn revising_an_unknown_partnership_names_partnership() {
        let state = given(&network());
        then_error(
            when(&state, vec![partnership_revised("ghost")]),
            "data.partnership",
        );
    }

    #[test]
    fn ending_an_unknown_partnership_names_partnership() {
        let state = given(&network());
        then_error(
            when(&state, vec![partnership_ended("ghost")]),
            "data.partnership",
        );
    }

    #[test]
    fn an_ended_partnership_can_no_longer_be_revised() {
        let state = given(&network_and([
            partnership("p1", "bapa", "mdf"),
            partnership_ended("p1"),
        ]));
        let err = then_error(
            when(&state, vec![partnership_revised("p1")]),
            "data.partnership",
        );
        assert!(err.message.contains("ended"), "{err}");
    }

    #[test]
    fn changing_the_profile_of_an_unknown_stakeholder_names_stakeholder() {
        let state = given(&network());
        then_error(
            when(&state, vec![renamed("ghost", "Ghost")]),
            "data.stakeholder",
        );
    }
}

mod references_must_be_in_the_same_programme {
    use super::*;

    fn two_programmes() -> Registry {
        given(&network_and([
            programme("brussels"),
            stakeholder("via", "integration_agency").in_programme("brussels"),
        ]))
    }

    #[test]
    fn contact_to_a_stakeholder_of_another_programme_names_to() {
        let state = two_programmes();
        let err = then_error(
            when(&state, vec![contact("bapa", "via", "interested")]),
            "data.to",
        );
        assert!(err.message.contains("sjdlr"), "{err}");
    }

    #[test]
    fn partnership_with_a_stakeholder_of_another_programme_names_its_place() {
        let state = two_programmes();
        then_error(
            when(&state, vec![partnership("p1", "via", "bapa")]),
            "data.between[0]",
        );
    }

    #[test]
    fn the_same_reference_is_valid_in_its_own_programme() {
        let state = two_programmes();
        let welcome = stakeholder("welcome", "association").in_programme("brussels");
        let call = contact("welcome", "via", "committed").in_programme("brussels");
        then_ok(
            when(&state, vec![welcome.clone(), call.clone()]),
            &[welcome, call],
        );
    }

    #[test]
    fn ids_are_unique_per_programme_not_across_programmes() {
        let state = two_programmes();
        let twin = stakeholder("bapa", "association").in_programme("brussels");
        then_ok(when(&state, vec![twin.clone()]), &[twin]);
    }
}

mod references_must_not_be_archived {
    use super::*;

    fn with_bapa_archived() -> Registry {
        given(&network_and([archived("bapa")]))
    }

    #[test]
    fn contact_to_an_archived_stakeholder_names_to() {
        let state = with_bapa_archived();
        let err = then_error(
            when(&state, vec![contact("mdf", "bapa", "interested")]),
            "data.to",
        );
        assert!(err.message.contains("archived"), "{err}");
    }

    #[test]
    fn contact_from_an_archived_stakeholder_names_from() {
        let state = with_bapa_archived();
        then_error(
            when(&state, vec![contact("bapa", "mdf", "interested")]),
            "data.from",
        );
    }

    #[test]
    fn profile_change_of_an_archived_stakeholder_names_stakeholder() {
        let state = with_bapa_archived();
        then_error(
            when(&state, vec![renamed("bapa", "BAPA Saint-Jean")]),
            "data.stakeholder",
        );
    }

    #[test]
    fn archiving_twice_names_stakeholder() {
        let state = with_bapa_archived();
        then_error(when(&state, vec![archived("bapa")]), "data.stakeholder");
    }

    #[test]
    fn partnership_with_an_archived_stakeholder_names_its_place() {
        let state = with_bapa_archived();
        then_error(
            when(&state, vec![partnership("p1", "bapa", "mdf")]),
            "data.between[0]",
        );
    }

    #[test]
    fn need_addressed_by_an_archived_stakeholder_names_its_place() {
        let state = given(&network_and([
            need("housing_desk", "housing"),
            archived("bapa"),
        ]));
        then_error(
            when(&state, vec![addressed("housing_desk", &["mdf", "bapa"])]),
            "data.by[1]",
        );
    }

    #[test]
    fn an_archived_id_cannot_be_registered_again() {
        let state = with_bapa_archived();
        then_error(
            when(&state, vec![stakeholder("bapa", "integration_agency")]),
            "data.stakeholder",
        );
    }
}

mod ids_are_unique {
    use super::*;

    #[test]
    fn a_stakeholder_registered_twice_names_stakeholder() {
        let state = given(&network());
        let err = then_error(
            when(&state, vec![stakeholder("bapa", "association")]),
            "data.stakeholder",
        );
        assert!(err.message.contains("already exists"), "{err}");
    }

    #[test]
    fn a_partnership_formed_twice_names_partnership() {
        let state = given(&network_and([partnership("p1", "bapa", "mdf")]));
        then_error(
            when(&state, vec![partnership("p1", "city", "mdf")]),
            "data.partnership",
        );
    }

    #[test]
    fn a_session_held_twice_names_session() {
        let state = given(&network_and([session("s1", few())]));
        then_error(when(&state, vec![session("s1", few())]), "data.session");
    }

    #[test]
    fn a_need_declared_twice_names_need() {
        let state = given(&network_and([need("housing_desk", "housing")]));
        then_error(
            when(&state, vec![need("housing_desk", "language")]),
            "data.need",
        );
    }

    #[test]
    fn a_milestone_marked_twice_names_milestone() {
        let state = given(&network_and([milestone("kickoff")]));
        then_error(when(&state, vec![milestone("kickoff")]), "data.milestone");
    }

    #[test]
    fn a_note_added_twice_names_note() {
        let state = given(&network_and([note("n1", json!({"stakeholder": "bapa"}))]));
        then_error(
            when(&state, vec![note("n1", json!({"stakeholder": "mdf"}))]),
            "data.note",
        );
    }

    #[test]
    fn a_programme_defined_twice_names_data_programme() {
        let state = given(&network());
        then_error(when(&state, vec![programme(PROGRAMME)]), "data.programme");
    }

    #[test]
    fn events_of_an_undefined_programme_name_programme() {
        let state = given(&[]);
        let err = then_error(
            when(&state, vec![stakeholder("bapa", "integration_agency")]),
            "programme",
        );
        assert!(err.message.contains("ProgrammeDefined"), "{err}");
    }

    #[test]
    fn events_of_another_undefined_programme_name_programme() {
        let state = given(&network());
        then_error(
            when(&state, vec![milestone("kickoff").in_programme("brussels")]),
            "programme",
        );
    }

    #[test]
    fn a_same_id_in_a_batch_twice_names_the_second() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![
                    stakeholder("asso_x", "association"),
                    stakeholder("asso_x", "association"),
                ],
            ),
            "[1].data.stakeholder",
        );
    }
}

mod counts_are_non_negative {
    use super::*;

    #[test]
    fn negative_women_names_the_count() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![session("s1", json!({"total": 3, "women": -1}))],
            ),
            "data.beneficiaries.women",
        );
        assert!(err.message.contains("non-negative"), "{err}");
    }

    #[test]
    fn negative_total_names_the_count() {
        let state = given(&network());
        then_error(
            when(&state, vec![session("s1", json!({"total": -3}))]),
            "data.beneficiaries.total",
        );
    }

    #[test]
    fn fractional_returning_names_the_count() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![session("s1", json!({"total": 3, "returning": 1.5}))],
            ),
            "data.beneficiaries.returning",
        );
    }

    #[test]
    fn a_missing_total_names_it() {
        let state = given(&network());
        let err = then_error(
            when(&state, vec![session("s1", json!({"women": 2}))]),
            "data.beneficiaries.total",
        );
        assert!(err.message.contains("required"), "{err}");
    }
}

mod beneficiary_counts_do_not_exceed_the_total {
    use super::*;

    #[test]
    fn women_men_and_undisclosed_above_total_names_total() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![session(
                    "s1",
                    json!({"total": 10, "women": 6, "men": 4, "undisclosed": 1}),
                )],
            ),
            "data.beneficiaries.total",
        );
    }

    #[test]
    fn first_time_and_returning_above_total_names_total() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![session(
                    "s1",
                    json!({"total": 10, "first_time": 8, "returning": 3}),
                )],
            ),
            "data.beneficiaries.total",
        );
        assert!(err.message.contains("first_time + returning"), "{err}");
    }

    #[test]
    fn both_sums_above_total_are_both_reported() {
        let state = given(&network());
        then_errors(
            when(
                &state,
                vec![session(
                    "s1",
                    json!({"total": 1, "women": 2, "first_time": 2}),
                )],
            ),
            &["data.beneficiaries.total", "data.beneficiaries.total"],
        );
    }

    #[test]
    fn sums_equal_to_the_total_are_accepted() {
        let state = given(&network());
        let held = session(
            "s1",
            json!({"total": 10, "women": 6, "men": 3, "undisclosed": 1,
                   "first_time": 4, "returning": 6}),
        );
        then_ok(when(&state, vec![held.clone()]), &[held]);
    }

    #[test]
    fn huge_counts_do_not_overflow_the_sum() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![session(
                    "s1",
                    json!({"total": 4_294_967_295_u32, "women": 4_294_967_295_u32, "men": 1}),
                )],
            ),
            "data.beneficiaries.total",
        );
    }
}

mod a_partnership_joins_two_different_stakeholders {
    use super::*;

    #[test]
    fn a_stakeholder_with_itself_names_between() {
        let state = given(&network());
        then_error(
            when(&state, vec![partnership("p1", "bapa", "bapa")]),
            "data.between",
        );
    }

    #[test]
    fn three_stakeholders_name_between() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![partnership("p1", "bapa", "mdf")
                    .with_data("between", json!(["bapa", "mdf", "city"]))],
            ),
            "data.between",
        );
        assert!(err.message.contains("exactly two"), "{err}");
    }

    #[test]
    fn one_stakeholder_names_between() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![partnership("p1", "bapa", "mdf").with_data("between", json!(["bapa"]))],
            ),
            "data.between",
        );
    }

    #[test]
    fn a_contact_goes_to_another_stakeholder() {
        let state = given(&network());
        then_error(
            when(&state, vec![contact("bapa", "bapa", "committed")]),
            "data.to",
        );
    }
}

mod strings_have_sane_length_limits {
    use super::*;

    #[test]
    fn a_name_of_201_characters_names_name() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![stakeholder("asso_x", "association").with_data("name", json!(text(201)))],
            ),
            "data.name",
        );
        assert!(err.message.contains("200"), "{err}");
    }

    #[test]
    fn a_name_of_200_characters_is_accepted() {
        let state = given(&network());
        let long = stakeholder("asso_x", "association").with_data("name", json!(text(200)));
        then_ok(when(&state, vec![long.clone()]), &[long]);
    }

    #[test]
    fn an_empty_name_names_name() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![stakeholder("asso_x", "association").with_data("name", json!(""))],
            ),
            "data.name",
        );
    }

    #[test]
    fn a_blank_name_names_name() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![stakeholder("asso_x", "association").with_data("name", json!("  \t "))],
            ),
            "data.name",
        );
    }

    #[test]
    fn a_description_over_4000_characters_names_description() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![need("housing_desk", "housing").with_data("description", json!(text(4001)))],
            ),
            "data.description",
        );
    }

    #[test]
    fn a_note_text_over_4000_characters_names_text() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![
                    note("n1", json!({"stakeholder": "bapa"})).with_data("text", json!(text(4001)))
                ],
            ),
            "data.text",
        );
    }

    #[test]
    fn an_id_over_64_characters_names_the_id_field() {
        let state = given(&network());
        then_error(
            when(&state, vec![stakeholder(&text(65), "association")]),
            "data.stakeholder",
        );
    }

    #[test]
    fn an_id_of_64_characters_is_accepted() {
        let state = given(&network());
        let long = stakeholder(&text(64), "association");
        then_ok(when(&state, vec![long.clone()]), &[long]);
    }

    #[test]
    fn an_id_with_capitals_names_the_id_field() {
        let state = given(&network());
        then_error(when(&state, vec![milestone("KickOff")]), "data.milestone");
    }

    #[test]
    fn a_reference_with_capitals_names_the_reference() {
        let state = given(&network());
        then_error(
            when(&state, vec![contact("bapa", "MDF", "interested")]),
            "data.to",
        );
    }

    #[test]
    fn a_theme_with_a_dash_names_the_theme() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![stakeholder("asso_x", "association")
                    .with_data("themes", json!(["housing", "social-support"]))],
            ),
            "data.themes[1]",
        );
    }

    #[test]
    fn a_need_theme_with_a_dash_names_theme() {
        let state = given(&network());
        then_error(
            when(&state, vec![need("n1", "social-support")]),
            "data.theme",
        );
    }

    #[test]
    fn more_than_20_themes_names_themes() {
        let state = given(&network());
        let themes: Vec<String> = (0..21).map(|i| format!("theme_{i}")).collect();
        let err = then_error(
            when(
                &state,
                vec![stakeholder("asso_x", "association").with_data("themes", json!(themes))],
            ),
            "data.themes",
        );
        assert!(err.message.contains("20"), "{err}");
    }

    #[test]
    fn twenty_themes_are_accepted() {
        let state = given(&network());
        let themes: Vec<String> = (0..20).map(|i| format!("theme_{i}")).collect();
        let many = stakeholder("asso_x", "association").with_data("themes", json!(themes));
        then_ok(when(&state, vec![many.clone()]), &[many]);
    }

    #[test]
    fn a_theme_listed_twice_names_the_second() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![stakeholder("asso_x", "association")
                    .with_data("themes", json!(["housing", "language", "housing"]))],
            ),
            "data.themes[2]",
        );
    }

    #[test]
    fn more_than_200_session_stakeholders_names_the_list() {
        let state = given(&network());
        let many = vec!["bapa"; 201];
        let errors = then_errors(
            when(
                &state,
                vec![session("s1", few()).with_data("stakeholders", json!(many))],
            ),
            &["data.stakeholders", "data.stakeholders[1]"],
        );
        assert!(errors[0].message.contains("200"), "{}", errors[0]);
    }

    #[test]
    fn a_stakeholder_listed_twice_in_a_session_names_the_second_entry() {
        let state = given(&network());
        let errors = then_errors(
            when(
                &state,
                vec![session("s1", few()).with_data("stakeholders", json!(["bapa", "mdf", "bapa"]))],
            ),
            &["data.stakeholders[2]"],
        );
        assert!(errors[0].message.contains("twice"), "{}", errors[0]);
    }

    #[test]
    fn a_control_character_in_a_name_names_name() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![stakeholder("asso_x", "association").with_data("name", json!("A\u{7}B"))],
            ),
            "data.name",
        );
    }
}

mod texts_are_visible {
    use super::*;

    fn named(name: &str) -> Value {
        stakeholder("asso_x", "association").with_data("name", json!(name))
    }

    #[test]
    fn a_name_of_invisible_characters_only_names_name() {
        let state = given(&network());
        for name in [
            "\u{200B}",
            "\u{200C}\u{200D}\u{2060}",
            " \u{FEFF} \u{00AD} ",
            "\u{FE0F}\u{E0041}",
            "\u{3164}\u{115F}",
            "\u{200E}\u{200F}\u{061C}",
        ] {
            let err = then_error(when(&state, vec![named(name)]), "data.name");
            assert!(err.message.contains("invisible"), "{name:?}: {err}");
        }
    }

    #[test]
    fn a_right_to_left_override_in_a_name_names_the_code_point() {
        let state = given(&network());
        let err = then_error(
            when(&state, vec![named("Association \u{202E}gnitsrevid")]),
            "data.name",
        );
        assert!(err.message.contains("U+202E"), "{err}");
        assert!(err.message.contains("display as something else"), "{err}");
    }

    #[test]
    fn every_embedding_override_and_isolate_is_refused() {
        let state = given(&network());
        for c in ('\u{202A}'..='\u{202E}').chain('\u{2066}'..='\u{2069}') {
            let err = then_error(
                when(&state, vec![named(&format!("Centre {c}social"))]),
                "data.name",
            );
            let code = format!("U+{:04X}", c as u32);
            assert!(err.message.contains(&code), "{code}: {err}");
        }
    }

    #[test]
    fn names_in_right_to_left_scripts_and_their_marks_are_accepted() {
        let state = given(&network());
        for (id, name) in [
            ("ar", "جمعية نساء الحي"),
            ("ti", "ማሕበር ደቂ ኣንስትዮ"),
            ("mixed", "Maison des Femmes \u{200F}(فرع)"),
            ("korean", "한국\u{3164}센터"),
        ] {
            let event = stakeholder(id, "association").with_data("name", json!(name));
            then_ok(when(&state, vec![event.clone()]), &[event]);
        }
    }

    #[test]
    fn a_contact_person_and_email_are_texts_too() {
        let state = given(&network());
        let contact = json!({"person": "\u{2067}Amina\u{2069}", "email": "a\u{202E}@example.org"});
        then_errors(
            when(
                &state,
                vec![stakeholder("asso_x", "association").with_data("contact", contact)],
            ),
            &["data.contact.person", "data.contact.email"],
        );
    }

    #[test]
    fn outputs_reasons_and_notes_are_named_with_their_path() {
        let state = given(&network_and([need("n1", "housing")]));
        let held = session("s1", few())
            .with_data("outputs", json!(["A welcome desk", "\u{200B}\u{200B}"]));
        then_error(when(&state, vec![held]), "data.outputs[1]");
        let withdrawn = withdrawn("n1").with_data("reason", json!("\u{202D}done"));
        then_error(when(&state, vec![withdrawn]), "data.reason");
        let gap = note("n9", json!({"gap": "\u{2066}isolated:bapa"}));
        then_error(when(&state, vec![gap]), "data.about.gap");
    }

    #[test]
    fn in_a_batch_the_event_is_named_by_its_place() {
        let state = given(&network());
        then_error(
            when(&state, vec![milestone("m1"), named("\u{2060}")]),
            "[1].data.name",
        );
    }
}

mod dates_lie_in_a_sane_window {
    use super::*;

    #[test]
    fn an_occurred_at_before_1900_names_occurred_at() {
        let state = given(&network());
        for at in [
            "1899-12-31",
            "1899-12-31T23:59:59Z",
            "0000-01-01",
            "0022-02-07T10:00:00Z",
        ] {
            let err = then_error(
                when(&state, vec![milestone("m1").with("occurred_at", json!(at))]),
                "occurred_at",
            );
            assert!(err.message.contains("1900-01-01"), "{at}: {err}");
        }
    }

    #[test]
    fn the_first_day_of_1900_is_accepted() {
        let state = given(&network());
        let event = milestone("m1").with("occurred_at", json!("1900-01-01"));
        then_ok(when(&state, vec![event.clone()]), &[event]);
    }

    #[test]
    fn a_follow_up_due_before_1900_names_it() {
        let state = given(&network());
        let call =
            contact("bapa", "mdf", "interested").with_data("follow_up_due", json!("1899-06-01"));
        let err = then_error(when(&state, vec![call]), "data.follow_up_due");
        assert!(err.message.contains("1900-01-01"), "{err}");
    }
}

mod enumerations_list_their_allowed_values {
    use super::*;

    #[test]
    fn an_unknown_stakeholder_kind_names_kind() {
        let state = given(&network());
        let err = then_error(
            when(&state, vec![stakeholder("asso_x", "charity")]),
            "data.kind",
        );
        assert_lists(
            &err,
            &[
                "charity",
                "integration_agency",
                "beneficiary_group",
                "other",
            ],
        );
    }

    #[test]
    fn an_unknown_channel_names_channel() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![contact("bapa", "mdf", "interested").with_data("channel", json!("pigeon"))],
            ),
            "data.channel",
        );
        assert_lists(
            &err,
            &[
                "meeting", "phone", "email", "visit", "event", "letter", "message", "other",
            ],
        );
    }

    #[test]
    fn an_unknown_outcome_names_outcome() {
        let state = given(&network());
        let err = then_error(
            when(&state, vec![contact("bapa", "mdf", "maybe")]),
            "data.outcome",
        );
        assert_lists(
            &err,
            &[
                "no_response",
                "acknowledged",
                "interested",
                "declined",
                "committed",
            ],
        );
    }

    #[test]
    fn an_unknown_participation_level_names_level() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![session("s1", few()).with_data("level", json!("co_decide"))],
            ),
            "data.level",
        );
        assert_lists(
            &err,
            &["inform", "consult", "involve", "collaborate", "empower"],
        );
    }

    #[test]
    fn an_unknown_partnership_kind_names_kind() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![partnership("p1", "bapa", "mdf").with_data("kind", json!("marriage"))],
            ),
            "data.kind",
        );
        assert_lists(
            &err,
            &["informal", "referral", "formal_agreement", "institutional"],
        );
    }

    #[test]
    fn an_unknown_milestone_kind_names_kind() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![milestone("m1").with_data("kind", json!("party"))],
            ),
            "data.kind",
        );
        assert_lists(
            &err,
            &["mentoring_visit", "study_visit", "workshop", "decision"],
        );
    }

    #[test]
    fn an_unknown_priority_names_priority() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![need("n1", "housing").with_data("priority", json!("urgent"))],
            ),
            "data.priority",
        );
        assert_lists(&err, &["high", "medium", "low"]);
    }

    #[test]
    fn an_unknown_programme_role_names_role() {
        let state = given(&[]);
        let err = then_error(
            when(
                &state,
                vec![programme(PROGRAMME).with_data("role", json!("boss"))],
            ),
            "data.role",
        );
        assert_lists(&err, &["mentor", "mentee", "peer"]);
    }
}

mod the_envelope_names_its_fields {
    use super::*;

    #[test]
    fn a_missing_type_names_type() {
        let state = given(&network());
        then_error(when(&state, vec![milestone("m1").without("type")]), "type");
    }

    #[test]
    fn a_missing_programme_names_programme() {
        let state = given(&network());
        then_error(
            when(&state, vec![milestone("m1").without("programme")]),
            "programme",
        );
    }

    #[test]
    fn a_missing_occurred_at_names_occurred_at() {
        let state = given(&network());
        then_error(
            when(&state, vec![milestone("m1").without("occurred_at")]),
            "occurred_at",
        );
    }

    #[test]
    fn missing_data_names_data() {
        let state = given(&network());
        then_error(when(&state, vec![milestone("m1").without("data")]), "data");
    }

    #[test]
    fn data_that_is_not_an_object_names_data() {
        let state = given(&network());
        then_error(
            when(&state, vec![milestone("m1").with("data", json!(["m1"]))]),
            "data",
        );
    }

    #[test]
    fn a_missing_required_data_field_names_it() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![event(
                    "MilestoneMarked",
                    json!({"milestone": "m1", "kind": "workshop"}),
                )],
            ),
            "data.label",
        );
    }

    #[test]
    fn a_bad_occurred_at_names_occurred_at() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![milestone("m1").with("occurred_at", json!("7 Feb 2022"))],
            ),
            "occurred_at",
        );
    }

    #[test]
    fn an_occurred_at_date_is_accepted() {
        let state = given(&network());
        let dated = milestone("m1").with("occurred_at", json!("2022-02-07"));
        then_ok(when(&state, vec![dated.clone()]), &[dated]);
    }

    #[test]
    fn a_bad_id_names_id() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![milestone("m1").with("id", json!("not-a-uuid"))],
            ),
            "id",
        );
    }

    #[test]
    fn a_numeric_id_names_id() {
        let state = given(&network());
        then_error(
            when(&state, vec![milestone("m1").with("id", json!(42))]),
            "id",
        );
    }

    #[test]
    fn an_absent_id_is_assigned() {
        let state = given(&network());
        let events = when(&state, vec![milestone("m1").without("id")]).expect("accepted");
        assert_eq!(events.len(), 1);
        assert!(!events[0].id.is_nil());
    }

    #[test]
    fn an_unknown_type_names_type() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![event("StakeholderCreated", json!({"stakeholder": "x"}))],
            ),
            "type",
        );
        assert_lists(&err, &["StakeholderRegistered", "ReviewNoteAdded"]);
    }

    #[test]
    fn an_unknown_type_without_data_names_both() {
        let state = given(&network());
        then_errors(
            when(
                &state,
                vec![event("StakeholderCreated", json!({})).without("data")],
            ),
            &["type", "data"],
        );
    }

    #[test]
    fn a_bad_programme_id_names_programme() {
        let state = given(&network());
        then_error(
            when(&state, vec![milestone("m1").in_programme("Saint Jean")]),
            "programme",
        );
    }

    #[test]
    fn a_programme_defined_for_another_programme_names_data_programme() {
        let state = given(&[]);
        then_error(
            when(
                &state,
                vec![programme(PROGRAMME).with_data("programme", json!("brussels"))],
            ),
            "data.programme",
        );
    }

    #[test]
    fn an_event_that_is_not_an_object_is_refused() {
        let state = given(&network());
        then_error(when(&state, vec![json!("MilestoneMarked")]), "");
    }

    #[test]
    fn a_negative_expected_version_names_it() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![milestone("m1").with("expected_version", json!(-1))],
            ),
            "expected_version",
        );
    }
}

mod batches_are_all_or_nothing {
    use super::*;

    #[test]
    fn a_broken_second_event_is_named_by_its_place_and_nothing_is_recorded() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![
                    contact("bapa", "mdf", "interested"),
                    contact("bapa", "ghost", "interested"),
                    milestone("m1"),
                ],
            ),
            "[1].data.to",
        );
    }

    #[test]
    fn every_broken_rule_of_a_batch_is_reported() {
        let state = given(&network());
        then_errors(
            when(
                &state,
                vec![
                    contact("ghost", "mdf", "interested"),
                    milestone("m1"),
                    addressed("ghost_need", &["bapa"]),
                ],
            ),
            &["[0].data.from", "[2].data.need"],
        );
    }

    #[test]
    fn later_events_see_earlier_ones() {
        let state = given(&network());
        let register = stakeholder("mission_locale", "employer");
        let call = contact("bapa", "mission_locale", "committed");
        let form = partnership("p1", "bapa", "mission_locale");
        let revise = partnership_revised("p1");
        then_ok(
            when(
                &state,
                vec![register.clone(), call.clone(), form.clone(), revise.clone()],
            ),
            &[register, call, form, revise],
        );
    }

    #[test]
    fn a_programme_and_its_first_stakeholders_can_be_recorded_at_once() {
        let state = given(&[]);
        let batch = network();
        then_ok(when(&state, batch.clone()), &batch);
    }

    #[test]
    fn an_event_after_an_archival_in_the_same_batch_sees_it() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![archived("bapa"), contact("mdf", "bapa", "interested")],
            ),
            "[1].data.to",
        );
    }
}

mod expected_version_guards_a_stream {
    use super::*;

    #[test]
    fn a_mismatch_is_a_conflict_naming_expected_version() {
        let state = given(&network());
        let result = when(
            &state,
            vec![renamed("bapa", "BAPA Saint-Jean").with("expected_version", json!(0))],
        );
        match result {
            Err(RecordError::Conflict {
                field,
                stream,
                expected,
                actual,
            }) => {
                assert_eq!(field, "expected_version");
                assert_eq!(stream, "sjdlr/stakeholder/bapa");
                assert_eq!((expected, actual), (0, 1));
            }
            other => panic!("expected a conflict on expected_version, got {other:?}"),
        }
    }

    #[test]
    fn a_mismatch_in_a_batch_names_its_place() {
        let state = given(&network());
        let result = when(
            &state,
            vec![
                renamed("mdf", "Maison des Femmes"),
                renamed("bapa", "BAPA Saint-Jean").with("expected_version", json!(2)),
            ],
        );
        match result {
            Err(RecordError::Conflict { field, .. }) => assert_eq!(field, "[1].expected_version"),
            other => panic!("expected a conflict on [1].expected_version, got {other:?}"),
        }
    }

    #[test]
    fn the_version_counts_earlier_events_of_the_batch() {
        let state = given(&network());
        let first = renamed("bapa", "BAPA Saint-Jean").with("expected_version", json!(1));
        let second = archived("bapa").with("expected_version", json!(2));
        then_ok(
            when(&state, vec![first.clone(), second.clone()]),
            &[first, second],
        );
    }

    #[test]
    fn zero_means_a_new_stream() {
        let state = given(&network());
        let new = milestone("m1").with("expected_version", json!(0));
        then_ok(when(&state, vec![new.clone()]), &[new]);
    }
}

mod personal_data_erasure_is_not_a_client_event {
    use super::*;

    #[test]
    fn personal_data_erased_from_a_client_names_type() {
        let state = given(&network());
        let err = then_error(when(&state, vec![erased("contact:sjdlr/bapa")]), "type");
        assert!(err.message.contains("erase command"), "{err}");
    }

    #[test]
    fn the_erase_command_may_record_it() {
        let state = given(&network());
        let s = Submission::from_wire(&erased("contact:sjdlr/bapa")).expect("parses");
        let cmd = Record {
            erase: Vec::new(),
            submissions: vec![s.clone()],
            allow_erasure: true,
        };
        let events = block_on(Log.handle(&LogId, &state, cmd)).expect("accepted");
        assert_eq!(events, Some(vec![s.event]));
    }
}

mod retries_are_not_validated_again {
    use super::*;

    #[test]
    fn a_retried_registration_is_not_a_duplicate_and_yields_nothing() {
        let register = stakeholder("asso_x", "association");
        let state = given(&network_and([register.clone()]));
        then_ok(when(&state, vec![register]), &[]);
    }

    #[test]
    fn a_retried_contact_to_a_since_archived_stakeholder_yields_nothing() {
        let call = contact("bapa", "mdf", "interested");
        let state = given(&network_and([call.clone(), archived("mdf")]));
        then_ok(when(&state, vec![call]), &[]);
    }

    #[test]
    fn a_batch_retried_after_a_partial_failure_yields_only_the_new_events() {
        let register = stakeholder("asso_x", "association");
        let call = contact("asso_x", "bapa", "committed");
        let state = given(&network_and([register.clone()]));
        then_ok(when(&state, vec![register, call.clone()]), &[call]);
    }
}

// ---------------------------------------------------------------------------
// The same rules through the ledger and a store.
// ---------------------------------------------------------------------------

mod the_ledger_appends_only_valid_batches {
    use super::*;
    use futures::future::BoxFuture;
    use passerelle_events::store::{
        AppendRequest, Appended, KeyChanges, KeyOp, KeyOpDone, KeysSince, RawEvent,
    };
    use passerelle_events::verify::verify;
    use std::sync::Arc;
    use tokio::sync::oneshot;

    const ACTOR: &str = "coordinator";

    fn submissions(events: &[Value]) -> Vec<Submission> {
        events
            .iter()
            .map(|w| Submission::from_wire(w).expect("a fixture parses"))
            .collect()
    }

    async fn ledger_with(events: &[Value]) -> Ledger<MemoryStore> {
        let ledger = open_ledger(MemoryStore::new()).await.expect("opens");
        ledger
            .record(submissions(events), ACTOR)
            .await
            .expect("the fixture is valid");
        ledger
    }

    #[tokio::test]
    async fn a_refused_batch_appends_nothing() {
        let ledger = ledger_with(&network()).await;
        let head = ledger.store().head().await.unwrap();
        let err = ledger
            .record(
                submissions(&[milestone("m1"), contact("bapa", "ghost", "interested")]),
                ACTOR,
            )
            .await
            .unwrap_err();
        match err {
            RecordError::Invalid(v) => {
                let fields: Vec<_> = v.errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["[1].data.to"], "{v}");
            }
            other => panic!("expected a validation error, got {other}"),
        }
        assert_eq!(ledger.store().head().await.unwrap(), head);
    }

    #[tokio::test]
    async fn an_accepted_batch_returns_stored_envelopes_with_positions() {
        let ledger = open_ledger(MemoryStore::new()).await.unwrap();
        let batch = network();
        let recorded = ledger.record(submissions(&batch), ACTOR).await.unwrap();
        assert_eq!(recorded.len(), batch.len());
        for (i, (r, s)) in recorded.iter().zip(submissions(&batch)).enumerate() {
            assert!(r.created);
            assert_eq!(r.event.position, i as u64 + 1);
            assert_eq!(r.event.version, 1);
            assert_eq!(r.event.stream, s.event.stream());
            assert_eq!(r.event.recorded_by, ACTOR);
            assert_eq!(r.event.event, s.event);
        }
        assert_eq!(recorded[1].event.stream, "sjdlr/stakeholder/bapa");
        assert_eq!(ledger.store().head().await.unwrap(), batch.len() as u64);
    }

    #[tokio::test]
    async fn re_recording_the_same_ids_returns_the_originals() {
        let ledger = open_ledger(MemoryStore::new()).await.unwrap();
        let batch = network();
        let first = ledger.record(submissions(&batch), ACTOR).await.unwrap();
        let again = ledger
            .record(submissions(&batch), "someone_else")
            .await
            .unwrap();
        assert_eq!(again.len(), first.len());
        for (a, f) in again.iter().zip(&first) {
            assert!(!a.created, "a retry creates nothing");
            assert_eq!(a.event, f.event, "a retry returns the original");
        }
        assert_eq!(ledger.store().head().await.unwrap(), batch.len() as u64);
    }

    #[tokio::test]
    async fn a_retry_and_a_new_event_append_only_the_new_one() {
        let register = stakeholder("asso_x", "association");
        let ledger = ledger_with(&network_and([register.clone()])).await;
        let head = ledger.store().head().await.unwrap();
        let call = contact("asso_x", "bapa", "committed");
        let recorded = ledger
            .record(submissions(&[register, call]), ACTOR)
            .await
            .unwrap();
        assert_eq!(
            recorded.iter().map(|r| r.created).collect::<Vec<_>>(),
            [false, true]
        );
        assert_eq!(recorded[0].event.position, head);
        assert_eq!(recorded[1].event.position, head + 1);
    }

    #[tokio::test]
    async fn the_same_id_with_another_body_is_refused() {
        let register = stakeholder("asso_x", "association");
        let ledger = ledger_with(&network_and([register.clone()])).await;
        let head = ledger.store().head().await.unwrap();
        let id = Uuid::parse_str(register["id"].as_str().unwrap()).unwrap();
        let forged = register.with_data("name", json!("Another name"));
        let err = ledger
            .record(submissions(&[forged]), ACTOR)
            .await
            .unwrap_err();
        assert_eq!(err, RecordError::IdReused { id });
        assert_eq!(ledger.store().head().await.unwrap(), head);
    }

    #[tokio::test]
    async fn the_ledger_refuses_what_the_log_already_holds() {
        let ledger = ledger_with(&network()).await;
        let err = ledger
            .record(submissions(&[stakeholder("bapa", "association")]), ACTOR)
            .await
            .unwrap_err();
        match err {
            RecordError::Invalid(v) => {
                assert_eq!(v.errors.len(), 1, "{v}");
                assert_eq!(v.errors[0].field, "data.stakeholder", "{v}");
            }
            other => panic!("expected a validation error, got {other}"),
        }
    }

    #[tokio::test]
    async fn a_reopened_ledger_validates_against_the_stored_log() {
        let store = MemoryStore::new();
        open_ledger(store.clone())
            .await
            .unwrap()
            .record(submissions(&network_and([archived("bapa")])), ACTOR)
            .await
            .unwrap();
        let reopened = open_ledger(store).await.unwrap();
        let err = reopened
            .record(submissions(&[contact("mdf", "bapa", "interested")]), ACTOR)
            .await
            .unwrap_err();
        match err {
            RecordError::Invalid(v) => assert_eq!(v.errors[0].field, "data.to", "{v}"),
            other => panic!("expected a validation error, got {other}"),
        }
    }

    #[tokio::test]
    async fn an_expected_version_conflict_appends_nothing() {
        let ledger = ledger_with(&network()).await;
        let head = ledger.store().head().await.unwrap();
        let err = ledger
            .record(
                submissions(&[renamed("bapa", "BAPA").with("expected_version", json!(3))]),
                ACTOR,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, RecordError::Conflict { field, expected: 3, actual: 1, .. } if field == "expected_version"),
            "{err:?}"
        );
        assert_eq!(ledger.store().head().await.unwrap(), head);
    }

    #[tokio::test]
    async fn a_retry_with_the_same_instant_written_differently_is_still_a_retry() {
        let ledger = open_ledger(MemoryStore::new()).await.unwrap();
        let defined = programme(PROGRAMME).with("occurred_at", json!("2022-02-07"));
        let first = ledger
            .record(submissions(std::slice::from_ref(&defined)), ACTOR)
            .await
            .unwrap();
        let again = ledger
            .record(
                submissions(&[defined.with("occurred_at", json!("2022-02-07T01:00:00+01:00"))]),
                ACTOR,
            )
            .await
            .unwrap();
        assert!(!again[0].created);
        assert_eq!(again[0].event, first[0].event);
    }

    #[tokio::test]
    async fn a_ledger_sees_what_another_ledger_appended_to_the_same_store() {
        let store = MemoryStore::new();
        let here = open_ledger(store.clone()).await.unwrap();
        let there = open_ledger(store).await.unwrap();
        here.record(submissions(&network()), ACTOR).await.unwrap();
        let err = there
            .record(submissions(&[stakeholder("bapa", "association")]), ACTOR)
            .await
            .unwrap_err();
        match err {
            RecordError::Invalid(v) => assert_eq!(v.errors[0].field, "data.stakeholder", "{v}"),
            other => panic!("expected a validation error, got {other}"),
        }
        let call = contact("bapa", "mdf", "interested");
        let recorded = there.record(submissions(&[call]), ACTOR).await.unwrap();
        assert_eq!(recorded[0].event.position, network().len() as u64 + 1);
    }

    #[tokio::test]
    async fn a_ledger_folded_again_knows_its_own_recent_events_and_the_others() {
        // `here` records one event at a time, far past the point where it
        // keeps a confirmed state (every 1,024 events); then `there` appends.
        // Folded again from its confirmed state and the log, `here` must know
        // both its own events since that state and `there`'s.
        let store = MemoryStore::new();
        let here = open_ledger(store.clone()).await.unwrap();
        let there = open_ledger(store).await.unwrap();
        here.record(submissions(&network()), ACTOR).await.unwrap();
        for i in 0..1100 {
            let m = milestone(&format!("m{i}"));
            here.record(submissions(&[m]), ACTOR).await.unwrap();
        }
        there
            .record(submissions(&[stakeholder("late", "association")]), ACTOR)
            .await
            .unwrap();
        let again = here
            .record(submissions(&[milestone("m1099")]), ACTOR)
            .await
            .unwrap_err();
        match again {
            RecordError::Invalid(v) => assert_eq!(v.errors[0].field, "data.milestone", "{v}"),
            other => panic!("expected a validation error, got {other}"),
        }
        let call = contact("late", "mdf", "interested");
        let recorded = here.record(submissions(&[call]), ACTOR).await.unwrap();
        assert_eq!(
            recorded[0].event.position,
            network().len() as u64 + 1100 + 2
        );
    }

    /// A store whose appends wait, in call order, until the test opens it;
    /// after that it appends at call time. Lets a test decide several batches
    /// before any of them is committed.
    #[derive(Clone, Default)]
    struct Gated {
        inner: MemoryStore,
        held: Arc<std::sync::Mutex<Option<Vec<Held>>>>,
    }

    type Held = (
        AppendRequest,
        oneshot::Sender<Result<Vec<Appended>, StoreError>>,
    );

    impl Gated {
        fn closed(inner: MemoryStore) -> Self {
            Self {
                inner,
                held: Arc::new(std::sync::Mutex::new(Some(Vec::new()))),
            }
        }

        /// Appends what is held, in call order, and lets later appends through.
        fn open(&self) {
            let held = self.held.lock().unwrap().take().unwrap_or_default();
            for (request, reply) in held {
                let _ = reply.send(block_on(self.inner.append(request)));
            }
        }
    }

    impl EventLog for Gated {
        fn append(
            &self,
            request: AppendRequest,
        ) -> BoxFuture<'static, Result<Vec<Appended>, StoreError>> {
            let mut held = self.held.lock().unwrap();
            match held.as_mut() {
                Some(held) => {
                    let (tx, rx) = oneshot::channel();
                    held.push((request, tx));
                    Box::pin(async move { rx.await.unwrap_or(Err(StoreError::Closed)) })
                }
                None => self.inner.append(request),
            }
        }
        fn read(
            &self,
            after: u64,
            limit: usize,
        ) -> BoxFuture<'static, Result<Vec<RawEvent>, StoreError>> {
            self.inner.read(after, limit)
        }
        fn read_stream(
            &self,
            stream: &str,
            from_version: u64,
            limit: usize,
        ) -> BoxFuture<'static, Result<Vec<RawEvent>, StoreError>> {
            self.inner.read_stream(stream, from_version, limit)
        }
        fn stream_version(&self, stream: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
            self.inner.stream_version(stream)
        }
        fn head(&self) -> BoxFuture<'static, Result<u64, StoreError>> {
            self.inner.head()
        }
        fn head_changes(&self) -> tokio::sync::watch::Receiver<u64> {
            self.inner.head_changes()
        }
        fn write_keys(&self, op: KeyOp) -> BoxFuture<'static, Result<KeyOpDone, StoreError>> {
            self.inner.write_keys(op)
        }
        fn read_keys(
            &self,
            since: KeysSince,
        ) -> BoxFuture<'static, Result<KeyChanges, StoreError>> {
            self.inner.read_keys(since)
        }
    }

    async fn assert_verifies<S: EventLog>(store: &S, events: u64) {
        let verified = verify(store).await.expect("the store reads");
        match verified {
            Ok(v) => assert_eq!(v.events, events),
            Err(broken) => panic!("the log does not verify: {broken}"),
        }
    }

    #[tokio::test]
    async fn a_batch_decided_on_a_failed_batch_is_decided_again() {
        // Two ledgers on one store. `there` appends first; `here` decides a
        // registration and, on top of it, a contact with the registered
        // stakeholder, before anything is committed. The registration is
        // stale (refused); the contact was validated against it, and must not
        // be stored at the position `there`'s event took in its place.
        let memory = MemoryStore::new();
        open_ledger(memory.clone())
            .await
            .unwrap()
            .record(submissions(&network()), ACTOR)
            .await
            .unwrap();
        let store = Gated::closed(memory);
        let here = open_ledger(store.clone()).await.unwrap();
        let there = open_ledger(store.clone()).await.unwrap();
        let (elsewhere, register, call, opened) = tokio::join!(
            there.record(submissions(&[milestone("m_there")]), ACTOR),
            here.record(submissions(&[stakeholder("asso_x", "association")]), ACTOR),
            here.record(
                submissions(&[contact("asso_x", "bapa", "committed")]),
                ACTOR
            ),
            async {
                // Every batch above is decided and held before the gate opens.
                tokio::task::yield_now().await;
                store.open();
            },
        );
        let () = opened;
        let n = network().len() as u64;
        assert_eq!(elsewhere.unwrap()[0].event.position, n + 1);
        let register = register.unwrap();
        assert!(register[0].created);
        // Decided again, the contact is valid only once the registration is
        // in the log: either it lands after it, or it is refused.
        match call {
            Ok(call) => {
                assert!(
                    call[0].event.position > register[0].event.position,
                    "the contact ({}) precedes its stakeholder's registration ({})",
                    call[0].event.position,
                    register[0].event.position
                );
                assert_verifies(&store, n + 3).await;
            }
            Err(RecordError::Invalid(v)) => {
                assert_eq!(v.errors[0].field, "data.from", "{v}");
                assert_verifies(&store, n + 2).await;
            }
            Err(other) => panic!("expected the contact stored or invalid, got {other}"),
        }
    }

    #[tokio::test]
    async fn two_ledgers_on_one_sqlite_file_validate_against_each_other() {
        // Two handles on one file, as two processes: neither sees the other's
        // appends except through the file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sqlite");
        let a = open_ledger(SqliteStore::create(&path).unwrap())
            .await
            .unwrap();
        let b = open_ledger(SqliteStore::open(&path).unwrap())
            .await
            .unwrap();
        a.record(submissions(&network()), ACTOR).await.unwrap();

        // `b` validates against what `a` appended: a duplicate is refused...
        match b
            .record(submissions(&[stakeholder("bapa", "association")]), ACTOR)
            .await
        {
            Err(RecordError::Invalid(v)) => {
                assert_eq!(v.errors[0].field, "data.stakeholder", "{v}")
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        // ...a reference to it is accepted, and lands after it.
        let n = network().len() as u64;
        let call = b
            .record(submissions(&[contact("mdf", "bapa", "interested")]), ACTOR)
            .await
            .unwrap();
        assert_eq!(call[0].event.position, n + 1);

        // Interleaved, each on the other's latest: registrations and
        // contacts alternate between the ledgers, each contact naming the
        // stakeholder the other ledger registered just before.
        let mut expected = n + 1;
        for i in 0..20 {
            let (writer, other) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
            let id = format!("asso_{i}");
            writer
                .record(submissions(&[stakeholder(&id, "association")]), ACTOR)
                .await
                .unwrap();
            let call = other
                .record(submissions(&[contact(&id, "bapa", "committed")]), ACTOR)
                .await
                .unwrap();
            expected += 2;
            assert_eq!(call[0].event.position, expected);
        }

        // An expected version is checked against the other ledger's appends.
        a.record(submissions(&[renamed("bapa", "BAPA")]), ACTOR)
            .await
            .unwrap();
        let err = b
            .record(
                submissions(&[renamed("bapa", "B.A.P.A.").with("expected_version", json!(1))]),
                ACTOR,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                RecordError::Conflict {
                    expected: 1,
                    actual: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        b.record(
            submissions(&[renamed("bapa", "B.A.P.A.").with("expected_version", json!(2))]),
            ACTOR,
        )
        .await
        .unwrap();

        // Concurrently, on both: every batch valid against the log before it.
        let mut calls = Vec::new();
        for i in 0..20 {
            let ledger = if i % 2 == 0 { a.clone() } else { b.clone() };
            let to = if i % 3 == 0 { "mdf" } else { "city" };
            calls.push(tokio::spawn(async move {
                ledger
                    .record(submissions(&[contact("bapa", to, "interested")]), ACTOR)
                    .await
            }));
        }
        for c in calls {
            c.await.unwrap().unwrap();
        }
        let head = a.store().head().await.unwrap();
        assert_eq!(head, expected + 2 + 20);
        assert_verifies(a.store(), head).await;
    }
}

// ---------------------------------------------------------------------------
// Rules of the clock, and logs recorded before the rules of new events.
// ---------------------------------------------------------------------------

mod the_clock_bounds_new_events {
    use super::*;
    use chrono::{DateTime, Utc};
    use passerelle_events::clock::Clock;

    const ACTOR: &str = "coordinator";

    /// The server's clock in these tests.
    fn now() -> DateTime<Utc> {
        "2026-03-10T12:00:00Z".parse().expect("a time")
    }

    async fn ledger() -> Ledger<MemoryStore> {
        let ledger = open_ledger(MemoryStore::new())
            .await
            .expect("opens")
            .with_clock(Clock::fixed(now()));
        let network = network()
            .iter()
            .map(|w| Submission::from_wire(w).unwrap())
            .collect();
        ledger
            .record(network, ACTOR)
            .await
            .expect("the fixture is valid");
        ledger
    }

    async fn refused(ledger: &Ledger<MemoryStore>, events: &[Value]) -> Vec<FieldError> {
        let head = ledger.store().head().await.unwrap();
        let subs = events
            .iter()
            .map(|w| Submission::from_wire(w).unwrap())
            .collect();
        let err = ledger.record(subs, ACTOR).await.unwrap_err();
        assert_eq!(
            ledger.store().head().await.unwrap(),
            head,
            "nothing appended"
        );
        match err {
            RecordError::Invalid(v) => v.errors,
            other => panic!("expected a validation error, got {other}"),
        }
    }

    #[tokio::test]
    async fn two_days_ahead_has_not_happened_yet() {
        let ledger = ledger().await;
        let errors = refused(
            &ledger,
            &[milestone("m1").with("occurred_at", json!("2026-03-12"))],
        )
        .await;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "occurred_at");
        assert!(
            errors[0].message.contains("2026-03-10T12:00:00Z"),
            "{}",
            errors[0]
        );
        assert!(errors[0].message.contains("1900-01-01"), "{}", errors[0]);
    }

    #[tokio::test]
    async fn a_day_ahead_is_still_today_somewhere() {
        let ledger = ledger().await;
        let event = milestone("m1").with("occurred_at", json!("2026-03-11T12:00:00Z"));
        let recorded = ledger
            .record(vec![Submission::from_wire(&event).unwrap()], ACTOR)
            .await
            .expect("accepted");
        assert!(recorded[0].created);
    }

    #[tokio::test]
    async fn a_follow_up_is_due_at_most_five_years_ahead() {
        let ledger = ledger().await;
        let due =
            |d: &str| contact("bapa", "mdf", "interested").with_data("follow_up_due", json!(d));
        ledger
            .record(
                vec![Submission::from_wire(&due("2031-03-10")).unwrap()],
                ACTOR,
            )
            .await
            .expect("within five years");
        let errors = refused(&ledger, &[milestone("m1"), due("2031-03-11")]).await;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "[1].data.follow_up_due");
        assert!(errors[0].message.contains("2031-03-10"), "{}", errors[0]);
    }

    #[tokio::test]
    async fn an_erasure_happens_at_the_ledgers_time() {
        let ledger = ledger().await;
        let with_contact =
            stakeholder("asso_x", "association").with_data("contact", json!({"person": "Amina"}));
        ledger
            .record(vec![Submission::from_wire(&with_contact).unwrap()], ACTOR)
            .await
            .unwrap();
        let subject =
            passerelle_events::personal::Subject::parse("contact:sjdlr/asso_x", None).unwrap();
        let reason = passerelle_events::values::Reason::parse("Asked by e-mail").unwrap();
        let erasure = passerelle_events::rights::erase(&ledger, &subject, reason, ACTOR)
            .await
            .expect("erased");
        assert_eq!(erasure.event.event.occurred_at.datetime(), now());
    }
}

mod stored_events_keep_the_rules_of_their_time {
    use super::*;
    use passerelle_events::ledger::decode;
    use passerelle_events::store::{AppendRequest, EventRecord, Pending};
    use passerelle_events::verify::verify;

    /// A log as a store held it before the rules of new events: a programme
    /// defined in 1850 and a stakeholder whose name holds U+202E, appended
    /// as records, past every parse.
    async fn old_log() -> MemoryStore {
        let store = MemoryStore::new();
        let record = |id: &str, kind: &str, at: &str, data: Value| Pending {
            stream: String::new(),
            expected: None,
            record: EventRecord {
                id: Uuid::parse_str(id).unwrap(),
                event_type: kind.to_owned(),
                programme: PROGRAMME.to_owned(),
                occurred_at: at.to_owned(),
                data: data.to_string(),
                recorded_by: "coordinator".to_owned(),
                recorded_at: None,
            },
        };
        let mut events = vec![
            record(
                "00000000-0000-4000-8000-000000000001",
                "ProgrammeDefined",
                "1850-06-01T00:00:00Z",
                json!({"programme": PROGRAMME, "name": "Saint-Jean"}),
            ),
            record(
                "00000000-0000-4000-8000-000000000002",
                "StakeholderRegistered",
                "2022-02-07T00:00:00Z",
                json!({"stakeholder": "bapa", "name": "BAPA \u{202E}ASSO", "kind": "association"}),
            ),
        ];
        events[0].stream = format!("{PROGRAMME}/programme");
        events[1].stream = format!("{PROGRAMME}/stakeholder/bapa");
        store
            .append(AppendRequest {
                events,
                ..AppendRequest::default()
            })
            .await
            .expect("appended");
        store
    }

    #[tokio::test]
    async fn they_decode_verify_and_replay() {
        let store = old_log().await;
        let raw = store.read(0, 10).await.unwrap();
        let first = decode(&raw[0]).expect("a year-1850 date decodes");
        assert_eq!(
            first.event.occurred_at.to_canonical(),
            "1850-06-01T00:00:00Z"
        );
        let second = decode(&raw[1]).expect("a U+202E name decodes");
        assert!(second.to_json()["data"]["name"]
            .as_str()
            .unwrap()
            .contains('\u{202E}'));
        let verified = verify(&store).await.unwrap().expect("the log verifies");
        assert_eq!(verified.events, 2);
        // A ledger folds it and records after it.
        let ledger = open_ledger(store).await.expect("replays");
        let renamed = Submission::from_wire(&renamed("bapa", "BAPA")).unwrap();
        let recorded = ledger
            .record(vec![renamed], "coordinator")
            .await
            .expect("a new event after the old ones");
        assert_eq!(recorded[0].event.position, 3);
    }

    #[tokio::test]
    async fn their_export_imports_but_the_same_lines_without_provenance_do_not() {
        let store = old_log().await;
        let lines: Vec<Value> = store
            .read(0, 10)
            .await
            .unwrap()
            .iter()
            .map(|raw| decode(raw).unwrap().to_json())
            .collect();
        let carried: Vec<Submission> = lines
            .iter()
            .map(|l| Submission::from_export(l).expect("an exported line reads"))
            .collect();
        let target = open_ledger(MemoryStore::new()).await.unwrap();
        let recorded = target.record(carried, "importer").await.expect("imported");
        assert_eq!(recorded.len(), 2);
        assert_eq!(recorded[1].event.recorded_by, "coordinator");

        let bare = |l: &Value| {
            let mut l = l.clone();
            for key in [
                "position",
                "stream",
                "version",
                "schema_version",
                "recorded_at",
                "recorded_by",
            ] {
                l.as_object_mut().unwrap().remove(key);
            }
            Submission::from_export(&l).unwrap_err().errors[0]
                .field
                .clone()
        };
        assert_eq!(bare(&lines[0]), "occurred_at");
        assert_eq!(bare(&lines[1]), "data.name");
    }
}

mod groups_distrust_and_grammar {
    //! The optional fields of issue 13: beneficiary groups on partnerships
    //! and needs, a milestone's stakeholders, distrust said in notes and
    //! sessions, how French refers to a stakeholder's name.
    use super::*;

    /// [`network`] with an archived beneficiary group `archived_group`.
    fn with_archived_group() -> Registry {
        given(&network_and([
            stakeholder("archived_group", "beneficiary_group"),
            archived("archived_group"),
        ]))
    }

    #[test]
    fn an_institutional_partnership_limited_to_a_group_is_accepted() {
        let state = given(&network());
        let formed = partnership("p1", "city", "bapa")
            .with_data("kind", json!("institutional"))
            .with_data("groups", json!(["femmes_relais"]));
        then_ok(when(&state, vec![formed.clone()]), &[formed]);
    }

    #[test]
    fn a_partnership_group_must_be_a_beneficiary_group() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![partnership("p1", "bapa", "mdf")
                    .with_data("groups", json!(["femmes_relais", "city"]))],
            ),
            "data.groups[1]",
        );
        assert!(err.message.contains("beneficiary_group"), "{err}");
    }

    #[test]
    fn a_partnership_group_that_does_not_exist_names_its_place() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![partnership("p1", "bapa", "mdf").with_data("groups", json!(["ghost"]))],
            ),
            "data.groups[0]",
        );
    }

    #[test]
    fn a_partnership_group_listed_twice_names_the_second() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![partnership("p1", "bapa", "mdf")
                    .with_data("groups", json!(["femmes_relais", "femmes_relais"]))],
            ),
            "data.groups[1]",
        );
    }

    #[test]
    fn a_revision_of_the_groups_alone_is_a_change() {
        let state = given(&network_and([partnership("p1", "bapa", "mdf")]));
        let revised = event(
            "PartnershipRevised",
            json!({"partnership": "p1", "groups": ["femmes_relais"]}),
        );
        then_ok(when(&state, vec![revised.clone()]), &[revised]);
        let cleared = event(
            "PartnershipRevised",
            json!({"partnership": "p1", "groups": []}),
        );
        then_ok(when(&state, vec![cleared.clone()]), &[cleared]);
    }

    #[test]
    fn a_revision_that_changes_nothing_lists_groups_among_its_fields() {
        let state = given(&network_and([partnership("p1", "bapa", "mdf")]));
        let err = then_error(
            when(
                &state,
                vec![event("PartnershipRevised", json!({"partnership": "p1"}))],
            ),
            "data",
        );
        assert_lists(&err, &["kind", "themes", "groups"]);
    }

    #[test]
    fn a_revised_partnership_group_must_be_a_beneficiary_group() {
        let state = given(&network_and([partnership("p1", "bapa", "mdf")]));
        let err = then_error(
            when(
                &state,
                vec![partnership_revised("p1").with_data("groups", json!(["mdf"]))],
            ),
            "data.groups[0]",
        );
        assert!(err.message.contains("beneficiary_group"), "{err}");
    }

    #[test]
    fn a_need_for_a_group_is_accepted() {
        let state = given(&network());
        let declared = need("desk", "housing").with_data("groups", json!(["femmes_relais"]));
        then_ok(when(&state, vec![declared.clone()]), &[declared]);
    }

    #[test]
    fn a_need_group_must_be_a_beneficiary_group() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![need("desk", "housing").with_data("groups", json!(["bapa"]))],
            ),
            "data.groups[0]",
        );
        assert!(err.message.contains("beneficiary_group"), "{err}");
    }

    #[test]
    fn a_need_for_an_archived_group_names_its_place() {
        let state = with_archived_group();
        let err = then_error(
            when(
                &state,
                vec![need("desk", "housing")
                    .with_data("groups", json!(["femmes_relais", "archived_group"]))],
            ),
            "data.groups[1]",
        );
        assert!(err.message.contains("archived"), "{err}");
    }

    #[test]
    fn a_milestone_with_its_stakeholders_is_accepted() {
        let state = given(&network());
        let marked = milestone("m1").with_data("stakeholders", json!(["bapa", "femmes_relais"]));
        then_ok(when(&state, vec![marked.clone()]), &[marked]);
    }

    #[test]
    fn a_milestone_stakeholder_must_exist() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![milestone("m1").with_data("stakeholders", json!(["bapa", "ghost"]))],
            ),
            "data.stakeholders[1]",
        );
    }

    #[test]
    fn a_milestone_stakeholder_must_not_be_archived() {
        let state = given(&network_and([archived("bapa")]));
        let err = then_error(
            when(
                &state,
                vec![milestone("m1").with_data("stakeholders", json!(["bapa"]))],
            ),
            "data.stakeholders[0]",
        );
        assert!(err.message.contains("archived"), "{err}");
    }

    #[test]
    fn distrust_of_a_service_by_a_group_is_accepted() {
        let state = given(&network());
        let noted = note("n1", json!({"stakeholder": "city"}))
            .with_data("distrusted_by", json!(["femmes_relais"]));
        then_ok(when(&state, vec![noted.clone()]), &[noted]);
    }

    #[test]
    fn distrust_in_a_note_about_anything_but_a_stakeholder_names_distrusted_by() {
        let state = given(&network_and([need("desk", "housing")]));
        for about in [
            json!({"need": "desk"}),
            json!({"gap": "isolated_stakeholder:city"}),
        ] {
            let err = then_error(
                when(
                    &state,
                    vec![note("n1", about).with_data("distrusted_by", json!(["femmes_relais"]))],
                ),
                "data.distrusted_by",
            );
            assert!(err.message.contains("stakeholder"), "{err}");
        }
    }

    #[test]
    fn distrust_in_a_note_is_said_by_beneficiary_groups() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![note("n1", json!({"stakeholder": "city"}))
                    .with_data("distrusted_by", json!(["mdf"]))],
            ),
            "data.distrusted_by[0]",
        );
        assert!(err.message.contains("beneficiary_group"), "{err}");
    }

    #[test]
    fn distrust_in_a_note_by_an_archived_group_names_its_place() {
        let state = with_archived_group();
        then_error(
            when(
                &state,
                vec![note("n1", json!({"stakeholder": "city"}))
                    .with_data("distrusted_by", json!(["archived_group"]))],
            ),
            "data.distrusted_by[0]",
        );
    }

    #[test]
    fn a_session_distrusting_a_service_is_accepted() {
        let state = given(&network());
        let held = session("s1", few())
            .with_data("groups", json!(["femmes_relais"]))
            .with_data("distrusted", json!(["city"]));
        then_ok(when(&state, vec![held.clone()]), &[held]);
    }

    #[test]
    fn a_distrusted_service_must_exist() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![session("s1", few()).with_data("distrusted", json!(["city", "ghost"]))],
            ),
            "data.distrusted[1]",
        );
    }

    #[test]
    fn a_distrusted_service_must_not_be_archived() {
        let state = given(&network_and([archived("city")]));
        then_error(
            when(
                &state,
                vec![session("s1", few()).with_data("distrusted", json!(["city"]))],
            ),
            "data.distrusted[0]",
        );
    }

    #[test]
    fn a_stakeholder_with_its_grammar_is_accepted_with_defaults_filled_in() {
        let state = given(&network());
        let registered = stakeholder("maison", "association")
            .with_data("grammar", json!({"gender": "feminine"}));
        let events = when(&state, vec![registered]).expect("accepted");
        assert_eq!(
            events[0].event.data_json()["grammar"],
            json!({"gender": "feminine", "number": "singular", "article": true})
        );
    }

    #[test]
    fn a_change_of_grammar_alone_is_a_change() {
        let state = given(&network());
        let changed = event(
            "StakeholderProfileChanged",
            json!({"stakeholder": "femmes_relais",
                   "grammar": {"gender": "feminine", "number": "plural"}}),
        );
        then_ok(when(&state, vec![changed.clone()]), &[changed]);
        let err = then_error(
            when(
                &state,
                vec![event(
                    "StakeholderProfileChanged",
                    json!({"stakeholder": "femmes_relais"}),
                )],
            ),
            "data",
        );
        assert_lists(&err, &["grammar"]);
    }

    #[test]
    fn an_unknown_gender_names_its_field_and_lists_both() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![stakeholder("maison", "association")
                    .with_data("grammar", json!({"gender": "neuter"}))],
            ),
            "data.grammar.gender",
        );
        assert_lists(&err, &["masculine", "feminine"]);
    }

    #[test]
    fn an_unknown_grammar_key_is_refused() {
        let state = given(&network());
        then_error(
            when(
                &state,
                vec![stakeholder("maison", "association")
                    .with_data("grammar", json!({"gender": "feminine", "elision": true}))],
            ),
            "data.grammar.elision",
        );
    }

    #[test]
    fn a_grammatical_number_must_be_singular_or_plural() {
        let state = given(&network());
        let err = then_error(
            when(
                &state,
                vec![stakeholder("maison", "association")
                    .with_data("grammar", json!({"number": "dual"}))],
            ),
            "data.grammar.number",
        );
        assert_lists(&err, &["singular", "plural"]);
    }
}

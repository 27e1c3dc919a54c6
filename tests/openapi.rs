//! The OpenAPI document (`src/api/openapi.rs`) is a valid OpenAPI 3.1
//! document, agrees with the route table, and describes what the code really sends
//! and accepts: the demo log's events as requests, their stored envelopes, and
//! the network, gap report, participation and diff rendered from the demo.

use std::collections::BTreeSet;

use passerelle::render::{diff_json, gaps_page_json, network_json, participation_json};
use passerelle_events::event::{
    Channel, Event, Gender, GrammaticalNumber, Level, MilestoneKind, Outcome, PartnershipKind,
    Priority, Role, StakeholderKind,
};
use passerelle_events::ledger::decode;
use passerelle_events::personal::Subject;
use passerelle_events::values::Reason;
use passerelle_events::{EventLog, Keyring, Ledger, MemoryStore, StoredEvent, Submission};
use passerelle_projections::engine::{AsOf, Engine};
use passerelle_projections::participation::participation;
use passerelle_projections::views::{around, diff_views, positions, view, Settings};
use serde_json::{json, Value};

#[path = "support/openapi.rs"]
mod openapi;

const JSON: &str = "application/json";
const PROBLEM: &str = "application/problem+json";

fn demo_lines() -> Vec<Value> {
    passerelle::demo::DEMO_JSONL
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("demo line is JSON"))
        .collect()
}

/// The demo log recorded through the ledger, as the store returns it.
fn recorded_demo() -> Vec<StoredEvent> {
    let subs: Vec<Submission> = demo_lines()
        .iter()
        .map(|v| Submission::from_wire(v).expect("demo events are valid"))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let ledger = Ledger::open(
            Keyring::with_new_key(MemoryStore::new())
                .await
                .expect("keys"),
        )
        .await
        .expect("ledger");
        ledger
            .record(subs, "coordinator")
            .await
            .expect("the demo records")
            .into_iter()
            .map(|r| r.event)
            .collect()
    })
}

/// The demo recorded through the ledger, then the contact person of
/// `sj-ccas` and the participant `sj-p001` erased: every event as the store
/// holds it (personal fields sealed) and as an admin or coordinator receives
/// it (opened: in clear, or marked erased).
fn erased_demo() -> (Vec<Value>, Vec<Value>) {
    let subs: Vec<Submission> = demo_lines()
        .iter()
        .map(|v| Submission::from_wire(v).expect("demo events are valid"))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let ledger = Ledger::open(
            Keyring::with_new_key(MemoryStore::new())
                .await
                .expect("keys"),
        )
        .await
        .expect("ledger");
        ledger.record(subs, "coordinator").await.expect("the demo");
        for subject in ["contact:sjdlr/sj-ccas", "participant:sjdlr/sj-p001"] {
            let subject = Subject::parse(subject, None).expect("a subject");
            let reason = Reason::parse("Asked in person").expect("a reason");
            passerelle_events::rights::erase(&ledger, &subject, reason, "admin")
                .await
                .expect("the erasure");
        }
        let raw = ledger.store().read(0, usize::MAX).await.expect("the log");
        let (mut stored, mut opened) = (Vec::new(), Vec::new());
        for r in &raw {
            let mut e = decode(r).expect("a stored event");
            stored.push(e.to_json());
            ledger.keyring().open_event(e.event.id, &mut e.event.event);
            opened.push(e.to_json());
        }
        (stored, opened)
    })
}

fn assert_ok(what: &str, r: Result<(), Vec<String>>) {
    if let Err(errors) = r {
        panic!("{what}:\n  {}", errors.join("\n  "));
    }
}

fn assert_rejected(what: &str, r: Result<(), Vec<String>>, mentions: &str) -> Vec<String> {
    match r {
        Ok(()) => panic!("{what} should have been rejected"),
        Err(errors) => {
            assert!(
                errors.iter().any(|e| e.contains(mentions)),
                "{what}: expected an error mentioning {mentions:?}, got:\n  {}",
                errors.join("\n  ")
            );
            errors
        }
    }
}

fn stored_envelope() -> Value {
    json!({
        "position": 42,
        "stream": "sjdlr/outreach/sj-ccas/sj-women-group",
        "version": 3,
        "schema_version": 1,
        "id": "0d6f1f9e-4a5b-4f7e-9a52-2f8d1c3b7a10",
        "type": "OutreachContactLogged",
        "programme": "sjdlr",
        "occurred_at": "2022-02-07T10:00:00Z",
        "data": {
            "from": "sj-ccas", "to": "sj-women-group", "channel": "meeting",
            "outcome": "interested", "follow_up_due": "2022-03-01"
        },
        "recorded_at": "2022-02-08T09:00:00.000000Z",
        "recorded_by": "coordinator"
    })
}

fn problem(status: u16, kind: &str) -> Value {
    json!({"type": kind, "title": "Not found", "status": status, "detail": "no programme \"xyz\""})
}

// --- the document itself ---------------------------------------------------

#[test]
fn the_document_is_valid_openapi_3_1() {
    assert_ok("the document", openapi::validate_document());
    let doc = openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], openapi::BASE_PATH);
}

#[test]
fn the_vendored_oas_schema_rejects_broken_documents() {
    let good = openapi::document();
    assert!(openapi::validate_against_oas_schema(&good).is_empty());

    let mut no_info = good.clone();
    no_info.as_object_mut().unwrap().remove("info");
    assert!(!openapi::validate_against_oas_schema(&no_info).is_empty());

    let mut bad_response = good.clone();
    bad_response["paths"]["/healthz"]["get"]["responses"]["200"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    assert!(!openapi::validate_against_oas_schema(&bad_response).is_empty());

    // Schema Objects are checked against the OAS dialect (JSON Schema 2020-12).
    let mut bad_schema = good;
    bad_schema["components"]["schemas"]["Id"]["type"] = json!("slug");
    let errors = openapi::validate_against_oas_schema(&bad_schema);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("/components/schemas/Id/type")),
        "{errors:?}"
    );
}

#[test]
fn routes_and_paths_agree() {
    let doc = openapi::document();
    let mut from_doc = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            from_doc.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routes: BTreeSet<(String, String)> = openapi::routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        routes.len(),
        openapi::routes().len(),
        "ROUTES has duplicates"
    );
    assert_eq!(routes, from_doc);
    assert_eq!(routes.len(), 25);
}

#[test]
fn every_ref_resolves() {
    fn walk(v: &Value, doc: &Value, count: &mut usize) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    let pointer = r.strip_prefix('#').expect("local ref");
                    assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
                    *count += 1;
                }
                m.values().for_each(|c| walk(c, doc, count));
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, doc, count)),
            _ => {}
        }
    }
    let doc = openapi::document();
    let mut count = 0;
    walk(&doc, &doc, &mut count);
    assert!(count > 100, "only {count} refs");
}

#[test]
fn only_health_and_the_document_need_no_token() {
    let doc = openapi::document();
    assert_eq!(
        doc["security"],
        json!([{"bearerAuth": []}, {"sessionCookie": []}])
    );
    for (method, path) in openapi::routes() {
        let op = &doc["paths"][path][method.to_lowercase()];
        let open = ["/healthz", "/openapi.json"].contains(&path);
        assert_eq!(
            op.get("security") == Some(&json!([])),
            open,
            "{method} {path}"
        );
        if !open {
            assert!(
                op["responses"].get("401").is_some(),
                "{method} {path} lacks 401"
            );
        }
    }
}

#[test]
fn every_error_response_is_a_problem_document() {
    let doc = openapi::document();
    for (method, path) in openapi::routes() {
        let op = &doc["paths"][path][method.to_lowercase()];
        for (status, resp) in op["responses"].as_object().unwrap() {
            if !status.starts_with('4') && !status.starts_with('5') {
                continue;
            }
            let resp = match resp.get("$ref").and_then(Value::as_str) {
                Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap(),
                None => resp,
            };
            let content = resp["content"].as_object().unwrap();
            assert_eq!(
                content.keys().collect::<Vec<_>>(),
                vec![PROBLEM],
                "{method} {path} {status}"
            );
        }
    }
}

// --- event types and enums agree with the Rust model ------------------------

#[test]
fn every_event_type_has_its_schemas() {
    let doc = openapi::document();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["EventType"]["enum"], json!(Event::TYPES));
    for ty in Event::TYPES {
        for name in [
            format!("{ty}Data"),
            format!("New{ty}"),
            format!("Stored{ty}"),
        ] {
            assert!(schemas.get(&name).is_some(), "no schema {name}");
        }
        assert_eq!(
            schemas["NewEvent"]["discriminator"]["mapping"][ty],
            format!("#/components/schemas/New{ty}")
        );
    }
    assert_eq!(
        schemas["NewEvent"]["oneOf"].as_array().unwrap().len(),
        Event::TYPES.len()
    );
}

#[test]
fn enums_are_exactly_the_rust_enums() {
    fn check<T: serde::de::DeserializeOwned + serde::Serialize>(name: &str, count: usize) {
        let doc = openapi::document();
        let values = doc["components"]["schemas"][name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no enum"))
            .clone();
        assert_eq!(values.len(), count, "{name}");
        let distinct: BTreeSet<String> = values.iter().map(|v| v.to_string()).collect();
        assert_eq!(distinct.len(), count, "{name} repeats a value");
        for v in values {
            let parsed: T = serde_json::from_value(v.clone())
                .unwrap_or_else(|e| panic!("{name}: {v} is not a Rust value: {e}"));
            assert_eq!(serde_json::to_value(parsed).unwrap(), v);
        }
    }
    check::<StakeholderKind>("StakeholderKind", 18);
    check::<Channel>("Channel", 8);
    check::<Outcome>("Outcome", 5);
    check::<PartnershipKind>("PartnershipKind", 7);
    check::<Level>("Level", 5);
    check::<MilestoneKind>("MilestoneKind", 6);
    check::<Priority>("Priority", 3);
    check::<Role>("ProgrammeRole", 3);
    check::<Gender>("Gender", 2);
    check::<GrammaticalNumber>("GrammaticalNumber", 2);
}

// --- requests ----------------------------------------------------------------

#[test]
fn every_demo_event_is_a_valid_request_alone_and_as_a_batch() {
    let lines = demo_lines();
    let mut types = BTreeSet::new();
    for line in &lines {
        types.insert(line["type"].as_str().unwrap().to_owned());
        assert_ok(
            &format!("demo event {}", line["id"]),
            openapi::validate_request("POST", "/events", JSON, line),
        );
    }
    assert!(types.len() >= 15, "the demo covers {types:?}");
    assert_ok(
        "the demo as one batch",
        openapi::validate_request("POST", "/events", JSON, &Value::Array(lines)),
    );
}

/// Cases where the request schema and the server's parser
/// (`Submission::from_wire`) must agree.
#[test]
fn the_request_schema_agrees_with_the_parser() {
    let base = || {
        json!({
            "type": "CoCreationSessionHeld", "programme": "sjdlr", "occurred_at": "2022-02-07",
            "data": {
                "session": "s1", "title": "Workshop", "level": "consult",
                "beneficiaries": {"total": 12, "women": 9, "men": 2}
            }
        })
    };
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = base();
        f(&mut v);
        v
    };
    let cases: Vec<(&str, Value, bool)> = vec![
        ("a valid session", base(), true),
        (
            "a null id is assigned one",
            with(&|v| v["id"] = Value::Null),
            true,
        ),
        (
            "an expected version",
            with(&|v| v["expected_version"] = json!(0)),
            true,
        ),
        (
            "an RFC 3339 time",
            with(&|v| v["occurred_at"] = json!("2022-02-07T10:00:00+01:00")),
            true,
        ),
        (
            "a special-category field",
            with(&|v| v["data"]["ethnicity"] = json!("x")),
            false,
        ),
        (
            "an unknown envelope key",
            with(&|v| v["colour"] = json!("red")),
            false,
        ),
        ("a stored field", with(&|v| v["position"] = json!(7)), false),
        (
            "an unknown type",
            with(&|v| v["type"] = json!("SessionHeld")),
            false,
        ),
        (
            "a missing programme",
            with(&|v| {
                v.as_object_mut().unwrap().remove("programme");
            }),
            false,
        ),
        (
            "a bad programme id",
            with(&|v| v["programme"] = json!("Not A Slug")),
            false,
        ),
        (
            "a bad date",
            with(&|v| v["occurred_at"] = json!("yesterday")),
            false,
        ),
        ("a bad id", with(&|v| v["id"] = json!("42")), false),
        (
            "a negative count",
            with(&|v| v["data"]["beneficiaries"]["women"] = json!(-1)),
            false,
        ),
        (
            "a negative expected version",
            with(&|v| v["expected_version"] = json!(-1)),
            false,
        ),
        (
            "a bad level",
            with(&|v| v["data"]["level"] = json!("partner")),
            false,
        ),
        (
            "a blank title",
            with(&|v| v["data"]["title"] = json!("   ")),
            false,
        ),
        (
            "a theme with capitals",
            with(&|v| v["data"]["themes"] = json!(["Housing"])),
            false,
        ),
        (
            "a theme twice",
            with(&|v| v["data"]["themes"] = json!(["housing", "housing"])),
            false,
        ),
        (
            "a missing total",
            with(&|v| {
                v["data"]["beneficiaries"]
                    .as_object_mut()
                    .unwrap()
                    .remove("total");
            }),
            false,
        ),
        (
            "data not an object",
            with(&|v| v["data"] = json!([])),
            false,
        ),
        (
            "a partnership with itself",
            json!({"type": "PartnershipFormed", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"partnership": "p", "between": ["a", "a"], "kind": "referral"}}),
            false,
        ),
        (
            "a partnership of three",
            json!({"type": "PartnershipFormed", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"partnership": "p", "between": ["a", "b", "c"], "kind": "referral"}}),
            false,
        ),
        (
            "a profile change that changes nothing",
            json!({"type": "StakeholderProfileChanged", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"stakeholder": "a"}}),
            false,
        ),
        (
            "a profile change of the contact",
            json!({"type": "StakeholderProfileChanged", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"stakeholder": "a", "contact": {"email": "a@example.org", "phone": "+33 2 38 00 00 00"}}}),
            true,
        ),
        (
            "a bad e-mail address",
            json!({"type": "StakeholderProfileChanged", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"stakeholder": "a", "contact": {"email": "nobody"}}}),
            false,
        ),
        (
            "a note about a gap",
            json!({"type": "ReviewNoteAdded", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"note": "n1", "about": {"gap": "uncovered_need/childcare"}, "text": "See the nursery."}}),
            true,
        ),
        (
            "a note about two things",
            json!({"type": "ReviewNoteAdded", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"note": "n1", "about": {"need": "a", "stakeholder": "b"}, "text": "Both."}}),
            false,
        ),
        (
            "an institutional partnership limited to a group",
            json!({"type": "PartnershipFormed", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"partnership": "p", "between": ["a", "b"], "kind": "institutional", "groups": ["g"]}}),
            true,
        ),
        (
            "a partnership group twice",
            json!({"type": "PartnershipFormed", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"partnership": "p", "between": ["a", "b"], "kind": "referral", "groups": ["g", "g"]}}),
            false,
        ),
        (
            "a revision of the groups alone",
            json!({"type": "PartnershipRevised", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"partnership": "p", "groups": []}}),
            true,
        ),
        (
            "a revision that changes nothing",
            json!({"type": "PartnershipRevised", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"partnership": "p"}}),
            false,
        ),
        (
            "a need for a group",
            json!({"type": "NeedDeclared", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"need": "n", "action": "Maison des Femmes", "theme": "housing", "groups": ["g"]}}),
            true,
        ),
        (
            "a milestone with its stakeholders",
            json!({"type": "MilestoneMarked", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"milestone": "m", "label": "Opening", "kind": "workshop", "stakeholders": ["a", "b"]}}),
            true,
        ),
        (
            "a milestone stakeholder that is not an id",
            json!({"type": "MilestoneMarked", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"milestone": "m", "label": "Opening", "kind": "workshop", "stakeholders": ["Not An Id"]}}),
            false,
        ),
        (
            "a session that names a distrusted service",
            with(&|v| v["data"]["distrusted"] = json!(["sj-ccas"])),
            true,
        ),
        (
            "a note on a service distrusted by a group",
            json!({"type": "ReviewNoteAdded", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"note": "n1", "about": {"stakeholder": "sj-ccas"}, "text": "Only for money, they said.",
                            "distrusted_by": ["g"]}}),
            true,
        ),
        (
            "a stakeholder's grammar, some keys left to their defaults",
            json!({"type": "StakeholderRegistered", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"stakeholder": "om", "name": "Orléans Métropole", "kind": "city_service",
                            "grammar": {"gender": "feminine", "article": false}}}),
            true,
        ),
        (
            "a profile change of the grammar alone",
            json!({"type": "StakeholderProfileChanged", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"stakeholder": "a", "grammar": {}}}),
            true,
        ),
        (
            "a grammar with an unknown key",
            json!({"type": "StakeholderProfileChanged", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"stakeholder": "a", "grammar": {"case": "genitive"}}}),
            false,
        ),
        (
            "a neuter gender",
            json!({"type": "StakeholderProfileChanged", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"stakeholder": "a", "grammar": {"gender": "neuter"}}}),
            false,
        ),
        (
            "an article that is not a boolean",
            json!({"type": "StakeholderProfileChanged", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"stakeholder": "a", "grammar": {"article": "la"}}}),
            false,
        ),
        (
            "a need addressed by no one",
            json!({"type": "NeedAddressed", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"need": "n", "by": []}}),
            false,
        ),
        (
            "a contact field sent as erased",
            json!({"type": "StakeholderProfileChanged", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"stakeholder": "a", "contact": {"email": {"erased": true}}}}),
            false,
        ),
        (
            "a participant sealed as an export writes it (only `import` reads those)",
            json!({"type": "ParticipantAttended", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"session": "s", "participant": {"key": format!("k_{}", "0".repeat(32)), "sealed": "A".repeat(96)}}}),
            false,
        ),
        (
            "a title of invisible characters",
            with(&|v| v["data"]["title"] = json!("\u{200B}\u{FEFF} \u{2060}")),
            false,
        ),
        (
            "a title with a right-to-left override",
            with(&|v| v["data"]["title"] = json!("Workshop \u{202E}pohskrow")),
            false,
        ),
        (
            "a title with an isolate",
            with(&|v| v["data"]["title"] = json!("\u{2067}ورشة\u{2069}")),
            false,
        ),
        (
            "a title in Arabic script with a right-to-left mark",
            with(&|v| v["data"]["title"] = json!("ورشة العمل\u{200F} 2")),
            true,
        ),
        (
            "an output of a tag character only",
            with(&|v| v["data"]["outputs"] = json!(["\u{E0041}"])),
            false,
        ),
        (
            "a date in 1899",
            with(&|v| v["occurred_at"] = json!("1899-12-31")),
            false,
        ),
        (
            "a time in year 0",
            with(&|v| v["occurred_at"] = json!("0000-01-01T00:00:00Z")),
            false,
        ),
        (
            "the first day of 1900",
            with(&|v| v["occurred_at"] = json!("1900-01-01")),
            true,
        ),
        (
            "a follow-up due in 1899",
            json!({"type": "OutreachContactLogged", "programme": "sjdlr", "occurred_at": "2022-02-07",
                   "data": {"from": "a", "to": "b", "channel": "phone", "outcome": "interested",
                            "follow_up_due": "1899-03-01"}}),
            false,
        ),
        (
            "a bad country code",
            json!({"type": "ProgrammeDefined", "programme": "x", "occurred_at": "2022-02-07",
                   "data": {"programme": "x", "name": "X", "country": "fr"}}),
            false,
        ),
    ];
    for (what, body, valid) in cases {
        let parsed = Submission::from_wire(&body).is_ok();
        assert_eq!(parsed, valid, "{what}: the parser disagrees with the test");
        let schema = openapi::validate_request("POST", "/events", JSON, &body);
        assert_eq!(schema.is_ok(), valid, "{what}: the schema says {schema:?}");
    }
    // An empty batch is refused.
    assert!(openapi::validate_request("POST", "/events", JSON, &json!([])).is_err());
}

#[test]
fn write_bodies_are_json_by_their_content_type_and_415_is_documented() {
    let event = json!({"type": "MilestoneMarked", "programme": "sjdlr", "occurred_at": "2022-02-07",
                       "data": {"milestone": "m", "label": "M", "kind": "other"}});
    assert_ok(
        "JSON with a charset",
        openapi::validate_request("POST", "/events", "application/json; charset=utf-8", &event),
    );
    assert_rejected(
        "JSON sent as text/plain",
        openapi::validate_request("POST", "/events", "text/plain", &event),
        "not documented",
    );
    for path in ["/events", "/erasures"] {
        assert_ok(
            "a 415 problem",
            openapi::validate_response(
                "POST",
                path,
                415,
                PROBLEM,
                &problem(415, "/problems/unsupported-media-type"),
            ),
        );
    }
}

// --- responses ----------------------------------------------------------------

#[test]
fn an_event_recorded_before_the_rules_of_new_texts_and_dates_is_a_valid_answer() {
    let data = json!({"from": "a", "to": "b", "channel": "phone", "outcome": "interested",
                      "purpose": "\u{202E}esoprup", "follow_up_due": "1850-03-01"});
    assert_ok(
        "an old contact as answered",
        openapi::validate_schema("StoredOutreachContactLoggedData", &data),
    );
    assert_rejected(
        "the same contact as sent",
        openapi::validate_schema("OutreachContactLoggedData", &data),
        "purpose",
    );
}

#[test]
fn a_hand_made_envelope_and_problem_are_accepted() {
    let env = stored_envelope();
    assert_ok(
        "one envelope",
        openapi::validate_response("POST", "/events", 201, JSON, &env),
    );
    assert_ok(
        "a retried batch",
        openapi::validate_response(
            "POST",
            "/events",
            200,
            "application/json; charset=utf-8",
            &json!([env]),
        ),
    );
    assert_ok(
        "a page",
        openapi::validate_response(
            "GET",
            "/api/v1/events",
            200,
            JSON,
            &json!({"position": 42, "events": [env], "next_after": 42}),
        ),
    );
    assert_ok(
        "a 404",
        openapi::validate_response(
            "GET",
            "/stakeholders/{id}",
            404,
            PROBLEM,
            &problem(404, "/problems/not-found"),
        ),
    );
    assert_ok(
        "a 422",
        openapi::validate_response(
            "POST",
            "/events",
            422,
            PROBLEM,
            &json!({"type": "/problems/validation", "title": "Validation failed", "status": 422,
                    "detail": "1 broken rule; nothing was recorded",
                    "errors": [{"field": "[1].data.to", "message": "no stakeholder \"x\""}]}),
        ),
    );
    assert_ok(
        "a 304",
        openapi::validate_response("GET", "/network", 304, "", &Value::Null),
    );
    assert_ok(
        "health",
        openapi::validate_response("GET", "/healthz", 200, JSON, &json!({"status": "ok"})),
    );
    assert_ok(
        "metrics",
        openapi::validate_response(
            "GET",
            "/metrics",
            200,
            "text/plain; version=0.0.4",
            &json!("# TYPE passerelle_requests_total counter\n"),
        ),
    );
    // A stream's message as a client reads it: `id`, `event`, `data`.
    let message = json!({
        "id": env["position"].to_string(),
        "event": env["type"],
        "data": env.to_string(),
    });
    assert_ok(
        "a stream message",
        openapi::validate_response("GET", "/events/stream", 200, "text/event-stream", &message),
    );
    let mut unnumbered = message.clone();
    unnumbered["id"] = json!("latest");
    assert!(
        openapi::validate_response(
            "GET",
            "/events/stream",
            200,
            "text/event-stream",
            &unnumbered
        )
        .is_err(),
        "a message whose id is not a position"
    );
    assert_ok(
        "the document",
        openapi::validate_response("GET", "/openapi.json", 200, JSON, &openapi::document()),
    );
}

#[test]
fn an_envelope_without_position_is_rejected_by_name() {
    let mut env = stored_envelope();
    env.as_object_mut().unwrap().remove("position");
    assert_rejected(
        "an envelope without position",
        openapi::validate_response("POST", "/events", 201, JSON, &env),
        "position",
    );
    let page = json!({"position": 42, "events": [env], "next_after": 42});
    assert_rejected(
        "a page holding it",
        openapi::validate_response("GET", "/events", 200, JSON, &page),
        "/events/0",
    );
    let mut env = stored_envelope();
    env["data"]["ethnicity"] = json!("x");
    assert_rejected(
        "an envelope with an unknown data field",
        openapi::validate_response("POST", "/events", 201, JSON, &env),
        "ethnicity",
    );
    assert_rejected(
        "a page without position",
        openapi::validate_response(
            "GET",
            "/events",
            200,
            JSON,
            &json!({"events": [], "next_after": 0}),
        ),
        "position",
    );
}

#[test]
fn a_problem_without_status_or_with_the_wrong_one_is_rejected() {
    let mut p = problem(404, "/problems/not-found");
    p.as_object_mut().unwrap().remove("status");
    assert_rejected(
        "a problem without status",
        openapi::validate_response("GET", "/stakeholders/{id}", 404, PROBLEM, &p),
        "status",
    );
    assert_rejected(
        "a problem whose status differs",
        openapi::validate_response(
            "GET",
            "/gaps",
            404,
            PROBLEM,
            &problem(400, "/problems/not-found"),
        ),
        "404",
    );
    assert_rejected(
        "errors outside a 422",
        openapi::validate_response(
            "GET",
            "/gaps",
            400,
            PROBLEM,
            &json!({"type": "/problems/bad-request", "title": "Bad request", "status": 400,
                    "detail": "as_of", "errors": [{"field": "as_of", "message": "bad"}]}),
        ),
        "errors",
    );
    assert_rejected(
        "a 422 without errors",
        openapi::validate_response(
            "POST",
            "/events",
            422,
            PROBLEM,
            &json!({"type": "/problems/validation", "title": "Validation failed", "status": 422, "detail": "x"}),
        ),
        "errors",
    );
}

#[test]
fn undocumented_statuses_content_types_and_operations_are_rejected() {
    assert_rejected(
        "a 418",
        openapi::validate_response(
            "GET",
            "/network",
            418,
            PROBLEM,
            &problem(418, "/problems/teapot"),
        ),
        "not documented",
    );
    assert_rejected(
        "a 413 on a read",
        openapi::validate_response(
            "GET",
            "/network",
            413,
            PROBLEM,
            &problem(413, "/problems/too-large"),
        ),
        "not documented",
    );
    assert_rejected(
        "a 201 on a read",
        openapi::validate_response("GET", "/events", 201, JSON, &json!({})),
        "not documented",
    );
    assert_rejected(
        "an error as plain JSON",
        openapi::validate_response(
            "GET",
            "/gaps",
            404,
            JSON,
            &problem(404, "/problems/not-found"),
        ),
        "content type",
    );
    assert_rejected(
        "a 304 with a body",
        openapi::validate_response("GET", "/gaps", 304, JSON, &json!({})),
        "without a body",
    );
    assert_rejected(
        "an unknown path",
        openapi::validate_response("GET", "/nope", 200, JSON, &json!({})),
        "not a path",
    );
    assert_rejected(
        "an unknown method",
        openapi::validate_response("DELETE", "/events", 200, JSON, &json!({})),
        "no DELETE operation",
    );
}

#[test]
fn the_routers_404_and_405_are_problems() {
    assert_ok(
        "405 for another method on a documented path",
        openapi::validate_response(
            "DELETE",
            "/events",
            405,
            PROBLEM,
            &json!({"type": "/problems/method-not-allowed", "title": "Method not allowed",
                    "status": 405, "detail": "DELETE is not allowed on /api/v1/events"}),
        ),
    );
    assert_ok(
        "404 for an unknown path",
        openapi::validate_response(
            "GET",
            "/api/v1/nope",
            404,
            PROBLEM,
            &problem(404, "/problems/not-found"),
        ),
    );
    assert_rejected(
        "405 as plain JSON",
        openapi::validate_response("DELETE", "/events", 405, JSON, &problem(405, "/x")),
        "content type",
    );
    assert_rejected(
        "405 whose status says otherwise",
        openapi::validate_response("DELETE", "/events", 405, PROBLEM, &problem(404, "/x")),
        "is not 405",
    );
    assert_rejected(
        "404 for an unknown method on a documented path",
        openapi::validate_response("DELETE", "/events", 404, PROBLEM, &problem(404, "/x")),
        "no DELETE operation",
    );
}

/// What the API answers with are envelopes opened for the roles that may see
/// them (admin, coordinator): personal fields in clear, or marked erased.
/// The document describes them, erasures included; a sealed value has no
/// place in an answer.
#[test]
fn stored_demo_envelopes_are_valid_responses_once_opened() {
    let (sealed, stored) = erased_demo();
    let text = Value::Array(stored.clone()).to_string();
    for marker in [
        r#""contact":{"person":{"erased":true},"email":{"erased":true}}"#,
        r#""participant":{"erased":true}"#,
        r#""type":"PersonalDataErased""#,
        // Another stakeholder's contact, opened.
        "accueil@example.org",
    ] {
        assert!(text.contains(marker), "the opened demo holds {marker}");
    }
    for env in &stored {
        assert_ok(
            &format!("stored event {}", env["position"]),
            openapi::validate_response("POST", "/events", 201, JSON, env),
        );
    }
    let head = stored.len();
    assert_ok(
        "the demo as a retried batch",
        openapi::validate_response("POST", "/events", 200, JSON, &Value::Array(stored.clone())),
    );
    assert_ok(
        "a page of the demo",
        openapi::validate_response(
            "GET",
            "/events",
            200,
            JSON,
            &json!({"position": head, "events": stored[..100].to_vec(), "next_after": 100}),
        ),
    );
    assert_ok(
        "the last page, with the erasures",
        openapi::validate_response(
            "GET",
            "/events",
            200,
            JSON,
            &json!({"position": head, "events": stored[head - 10..].to_vec(), "next_after": head}),
        ),
    );
    // The document leaves no room for a sealed value in an answer.
    let contact = sealed
        .iter()
        .find(|e| e["data"]["contact"]["email"]["sealed"].is_string())
        .expect("a sealed contact");
    assert_rejected(
        "an envelope as stored, sealed",
        openapi::validate_response("POST", "/events", 201, JSON, contact),
        "/data/contact/email",
    );
    let attended = sealed
        .iter()
        .find(|e| e["data"]["participant"]["sealed"].is_string())
        .expect("a sealed participant");
    assert_rejected(
        "an attendance as stored, sealed",
        openapi::validate_response("POST", "/events", 201, JSON, attended),
        "/data/participant",
    );
}

#[test]
fn rendered_views_of_the_demo_are_valid_responses() {
    let mut engine = Engine::new();
    for e in recorded_demo() {
        engine.apply(e);
    }
    let settings = Settings::default();
    let programmes: Vec<String> = engine.model().programmes.keys().cloned().collect();
    assert!(programmes.len() >= 2, "{programmes:?}");
    for p in &programmes {
        for as_of in [AsOf::Latest, AsOf::Position(40)] {
            let v = view(&engine, p, as_of, &settings).expect("view");
            let pos = positions(&engine, &v, &settings);
            let network = serde_json::to_value(network_json(&v, &pos)).unwrap();
            assert!(!network["nodes"].as_array().unwrap().is_empty() || as_of != AsOf::Latest);
            assert_ok(
                &format!("network of {p}"),
                openapi::validate_response("GET", "/network", 200, JSON, &network),
            );
            // As the API pages them: a few findings, a few evidence ids each.
            let page: Vec<_> = v.gaps.findings.iter().take(3).collect();
            let gaps = gaps_page_json(
                &v.gaps,
                &page,
                2,
                |f, last| format!("/api/v1/gaps/evidence?finding={}&after={last}", f.id),
                |_| true,
                Some("/api/v1/gaps?after=x".to_owned()),
            );
            let gaps = serde_json::to_value(gaps).unwrap();
            assert_ok(
                &format!("gaps of {p}"),
                openapi::validate_response("GET", "/gaps", 200, JSON, &gaps),
            );
            let mut part = serde_json::to_value(participation_json(
                &participation(&v.programme),
                v.network.position,
                p,
                None,
            ))
            .unwrap();
            assert_ok(
                &format!("participation of {p}"),
                openapi::validate_response("GET", "/participation", 200, JSON, &part),
            );
            // For mentor and viewer tokens, counts of 1 to 4 are null.
            for k in [
                "total",
                "women",
                "men",
                "undisclosed",
                "women_share",
                "first_time",
                "returning",
                "attended",
                "repeat",
            ] {
                if let Some(s) = part["sessions"].get_mut(0) {
                    s[k] = Value::Null;
                }
                if let Some(m) = part["months"].get_mut(0) {
                    if m.get(k).is_some() {
                        m[k] = Value::Null;
                    }
                }
            }
            part["participants"] = Value::Null;
            part["repeat_participants"] = Value::Null;
            assert_ok(
                "suppressed participation",
                openapi::validate_response("GET", "/participation", 200, JSON, &part),
            );
        }
        let milestones = &engine.model().programmes[p].milestones;
        if let Some(m) = milestones.keys().next() {
            let (before, after) = around(&engine, p, m, &settings).expect("around");
            // The API gives the position the read reflects, as every read does.
            let diff = serde_json::to_value(diff_json(
                &before,
                &after,
                &diff_views(&before, &after),
                Some(engine.position()),
            ))
            .unwrap();
            assert_ok(
                &format!("diff of {p} around {m}"),
                openapi::validate_response("GET", "/diff", 200, JSON, &diff),
            );
        }
    }
}

#[test]
fn a_rendered_network_missing_a_metric_is_rejected() {
    let mut engine = Engine::new();
    for e in recorded_demo() {
        engine.apply(e);
    }
    let settings = Settings::default();
    let v = view(&engine, "sjdlr", AsOf::Latest, &settings).expect("view");
    let mut network =
        serde_json::to_value(network_json(&v, &positions(&engine, &v, &settings))).unwrap();
    network["nodes"][0]
        .as_object_mut()
        .unwrap()
        .remove("betweenness");
    assert_rejected(
        "a node without betweenness",
        openapi::validate_response("GET", "/network", 200, JSON, &network),
        "betweenness",
    );
}

#[test]
fn component_schemas_can_be_checked_alone() {
    assert_ok(
        "contact data",
        openapi::validate_schema(
            "OutreachContactLoggedData",
            &json!({"from": "a", "to": "b", "channel": "phone", "outcome": "declined"}),
        ),
    );
    assert_rejected(
        "contact data with a bad outcome",
        openapi::validate_schema(
            "OutreachContactLoggedData",
            &json!({"from": "a", "to": "b", "channel": "phone", "outcome": "maybe"}),
        ),
        "/outcome",
    );
    assert!(openapi::validate_schema("NoSuchSchema", &json!({})).is_err());
}

#[test]
fn texts_and_subject_ids_are_described_as_the_parsers_read_them() {
    use passerelle_events::personal::Subject;
    use passerelle_events::values::Reason;
    for (text, ok) in [
        ("Request of 3 March, by e-mail", true),
        ("Two lines\nand a\ttab", true),
        ("  padded  ", true),
        ("   ", false),
        ("a\u{7}bell", false),
        ("a C1 control \u{97}", false),
        ("\u{7f}", false),
    ] {
        assert_eq!(Reason::parse(text).is_ok(), ok, "the parser, {text:?}");
        assert_eq!(
            openapi::validate_schema("Reason", &json!(text)).is_ok(),
            ok,
            "the document, {text:?}"
        );
    }
    for (id, ok) in [
        ("contact:sjdlr/sj-ccas", true),
        ("participant:sjdlr/P-0042", true),
        ("participant:0/d", true),
        ("contact:sjdlr/Upper", false),
        ("participant:sjdlr/P 42", false),
        ("person:sjdlr/x", false),
        ("00", false),
    ] {
        assert_eq!(Subject::parse(id, None).is_ok(), ok, "the parser, {id:?}");
        assert_eq!(
            openapi::validate_schema("SubjectId", &json!(id)).is_ok(),
            ok,
            "the document, {id:?}"
        );
    }
}

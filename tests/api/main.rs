//! The JSON API as a client meets it: each test serves a fresh store on port
//! 0 through [`helpers::TestApp`] and speaks HTTP to it. Every JSON or
//! problem response is also checked against the OpenAPI document.

mod bounded;
mod connections;
mod csrf;
mod gaps;
mod helpers;
mod input;
mod map;
#[path = "../support/openapi.rs"]
mod openapi;
mod privacy;
mod rights;
mod robustness;
mod scoped;
mod small_counts;
mod stream;
mod tokens;

use std::time::{Duration, Instant};

use helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

/// The ids of an array of envelopes.
fn ids(envelopes: &Value) -> Vec<Value> {
    envelopes
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| e["id"].clone())
        .collect()
}

/// The positions of a page of events.
fn positions(events: &Value) -> Vec<u64> {
    events
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| e["position"].as_u64().expect("a position"))
        .collect()
}

/// The `field` of every `errors[]` entry of a validation problem.
fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("errors[]")
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
            e["field"].as_str().expect("a field").to_owned()
        })
        .collect()
}

/// The `stakeholder` ids of a `/stakeholders` body.
fn stakeholder_ids(body: &Value) -> Vec<String> {
    body["stakeholders"]
        .as_array()
        .expect("stakeholders")
        .iter()
        .map(|s| s["id"].as_str().expect("an id").to_owned())
        .collect()
}

mod post_events {
    use super::*;

    #[tokio::test]
    async fn one_event_is_stored_with_201_and_its_envelope_recorded_by_the_token() {
        let app = TestApp::spawn_empty().await;
        let event = stakeholder(LAB, "food-bank");

        let stored = app
            .post_events(&app.tokens.coordinator, &event)
            .await
            .ok_json(201);

        assert!(stored.is_object(), "an object for an object: {stored}");
        assert_eq!(stored["id"], event["id"]);
        assert_eq!(stored["type"], json!("StakeholderRegistered"));
        assert_eq!(stored["stream"], json!("lab/stakeholder/food-bank"));
        assert_eq!(stored["version"], json!(1));
        assert_eq!(stored["position"], json!(2));
        assert_eq!(stored["recorded_by"], json!(app.tokens.coordinator.name));
        assert!(stored["recorded_at"].is_string(), "{stored}");
        let log = app
            .events(&app.tokens.coordinator, "after=1")
            .await
            .ok_json(200);
        assert_eq!(log["events"], json!([stored]));
    }

    #[tokio::test]
    async fn a_batch_is_answered_with_an_array_of_envelopes_in_order() {
        let app = TestApp::spawn_empty().await;
        let batch = json!([
            stakeholder(LAB, "a"),
            stakeholder(LAB, "b"),
            contact(LAB, "a", "b")
        ]);

        let stored = app
            .post_events(&app.tokens.admin, &batch)
            .await
            .ok_json(201);

        assert_eq!(ids(&stored), ids(&batch));
        assert_eq!(positions(&stored), [2, 3, 4]);
        for e in stored.as_array().unwrap() {
            assert_eq!(e["recorded_by"], json!(app.tokens.admin.name));
        }
        assert_eq!(app.head().await, 4);
    }

    #[tokio::test]
    async fn retrying_the_same_ids_returns_200_with_the_original_envelopes() {
        let app = TestApp::spawn_empty().await;
        let token = &app.tokens.coordinator;
        let one = stakeholder(LAB, "a");
        let batch = json!([stakeholder(LAB, "b"), contact(LAB, "a", "b")]);
        let first_one = app.post_events(token, &one).await.ok_json(201);
        let first_batch = app.post_events(token, &batch).await.ok_json(201);

        let again_one = app.post_events(token, &one).await.ok_json(200);
        let again_batch = app.post_events(token, &batch).await.ok_json(200);

        assert_eq!(again_one, first_one, "same position and recorded_at");
        assert_eq!(again_batch, first_batch);
        assert_eq!(app.head().await, 4, "nothing stored twice");

        // A batch holding a retry and a new event stores only the new one.
        let mixed = json!([one, contact(LAB, "b", "a")]);
        let stored = app.post_events(token, &mixed).await.ok_json(201);
        assert_eq!(stored[0], first_one);
        assert_eq!(stored[1]["position"], json!(5));
    }

    #[tokio::test]
    async fn the_same_id_with_another_body_is_409() {
        let app = TestApp::spawn_empty().await;
        let mut event = stakeholder(LAB, "a");
        app.post_events(&app.tokens.coordinator, &event)
            .await
            .expect(201);

        event["data"]["name"] = json!("Another name");
        let p = app
            .post_events(&app.tokens.coordinator, &event)
            .await
            .problem(409);

        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains(event["id"].as_str().unwrap()),
            "{p}"
        );
        assert_eq!(app.head().await, 2);
    }

    #[tokio::test]
    async fn an_expected_version_that_does_not_match_is_409() {
        let app = TestApp::spawn_empty().await;
        let token = &app.tokens.coordinator;
        let mut new = stakeholder(LAB, "a");
        new["expected_version"] = json!(1);
        app.post_events(token, &new).await.problem(409);
        assert_eq!(app.head().await, 1);

        new["expected_version"] = json!(0);
        new["id"] = json!(new_id());
        let stored = app.post_events(token, &new).await.ok_json(201);
        assert_eq!(stored["version"], json!(1));

        let change = |expected: u64| {
            json!({
                "id": new_id(), "type": "StakeholderProfileChanged", "programme": LAB,
                "occurred_at": "2024-03-05", "expected_version": expected,
                "data": {"stakeholder": "a", "name": "Renamed"},
            })
        };
        app.post_events(token, &change(0)).await.problem(409);
        let stored = app.post_events(token, &change(1)).await.ok_json(201);
        assert_eq!(stored["version"], json!(2));
        assert_eq!(app.head().await, 3);
    }

    #[tokio::test]
    async fn invalid_events_are_422_naming_every_field_and_nothing_is_appended() {
        let app = TestApp::spawn_empty().await;
        let token = &app.tokens.coordinator;

        let mut bad = stakeholder(LAB, "a");
        bad["data"]["ethnicity"] = json!("recorded nowhere");
        bad["occurred_at"] = json!("last tuesday");
        let p = app.post_events(token, &bad).await.problem(422);
        let f = fields(&p);
        assert!(f.contains(&"data.ethnicity".to_owned()), "{p}");
        assert!(f.contains(&"occurred_at".to_owned()), "{p}");

        // In a batch, fields carry the event's index; a later event's broken
        // reference refuses the whole batch.
        let batch = json!([stakeholder(LAB, "b"), contact(LAB, "b", "nobody")]);
        let p = app.post_events(token, &batch).await.problem(422);
        assert_eq!(fields(&p), ["[1].data.to"], "{p}");

        let mut unknown_type = stakeholder(LAB, "c");
        unknown_type["type"] = json!("StakeholderBefriended");
        let batch = json!([stakeholder(LAB, "c"), unknown_type]);
        let p = app.post_events(token, &batch).await.problem(422);
        assert_eq!(fields(&p), ["[1].type"], "{p}");

        app.post_events(token, &json!([])).await.problem(422);

        assert_eq!(app.head().await, 1, "nothing appended");
        let log = app.events(token, "").await.ok_json(200);
        assert_eq!(positions(&log["events"]), [1]);
    }

    #[tokio::test]
    async fn malformed_json_is_400() {
        let app = TestApp::spawn_empty().await;
        for body in ["{\"type\": ", "not json", ""] {
            app.post_events_raw(&app.tokens.coordinator, body)
                .await
                .problem(400);
        }
        assert_eq!(app.head().await, 1);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413() {
        let app = TestApp::spawn_empty().await;
        let mut big = stakeholder(LAB, "a");
        big["data"]["padding"] = json!("x".repeat(BODY_LIMIT as usize));

        app.post_events(&app.tokens.coordinator, &big)
            .await
            .problem(413);

        assert_eq!(app.head().await, 1);
    }
}

mod auth {
    use super::*;

    #[tokio::test]
    async fn no_bad_or_malformed_credentials_are_401_with_www_authenticate() {
        let app = TestApp::spawn_empty().await;
        let unknown = format!("psl_{}", "0".repeat(64));
        let replies = [
            app.stakeholders(Auth::None, "").await,
            app.events(Auth::Bearer(&unknown), "").await,
            app.events(Auth::Bearer("letmein"), "").await,
            app.get(
                "/api/v1/programmes",
                Auth::None,
                "",
                &[("authorization", "Basic YWRhOmFkYQ==")],
            )
            .await,
            app.post_events(Auth::None, &stakeholder(LAB, "a")).await,
            app.metrics(Auth::None).await,
        ];
        for reply in replies {
            reply.problem(401);
            let challenge = reply.header("www-authenticate").expect("WWW-Authenticate");
            assert!(challenge.starts_with("Bearer"), "{challenge}");
        }
        let stream = app.stream(Auth::None, None, None).await;
        assert_eq!(stream.status, 401);
        assert_eq!(stream.problem.expect("a problem")["status"], json!(401));
        assert_eq!(app.head().await, 1);
    }

    #[tokio::test]
    async fn a_revoked_token_is_401() {
        let app = TestApp::spawn_empty().await;
        let viewer = &app.tokens.viewer;
        app.programmes(viewer, "").await.expect(200);

        app.app.tokens().revoke(&viewer.id).expect("revoke");

        let p = app.programmes(viewer, "").await.problem(401);
        assert!(p["detail"].as_str().unwrap().contains("revoked"), "{p}");
    }

    #[tokio::test]
    async fn each_role_appends_only_what_it_may() {
        let app = TestApp::spawn_empty().await;
        let t = &app.tokens;
        let stored = app
            .post_events(&t.admin, &stakeholder(LAB, "a"))
            .await
            .ok_json(201);
        assert_eq!(stored["recorded_by"], json!(t.admin.name));
        let stored = app
            .post_events(&t.coordinator, &stakeholder(LAB, "b"))
            .await
            .ok_json(201);
        assert_eq!(stored["recorded_by"], json!(t.coordinator.name));

        app.post_events(&t.viewer, &note(LAB, "n1", "a"))
            .await
            .problem(403);
        app.post_events(&t.mentor, &stakeholder(LAB, "c"))
            .await
            .problem(403);
        let mixed = json!([note(LAB, "n2", "a"), stakeholder(LAB, "d")]);
        app.post_events(&t.mentor, &mixed).await.problem(403);
        let stored = app
            .post_events(&t.mentor, &note(LAB, "n3", "a"))
            .await
            .ok_json(201);
        assert_eq!(stored["recorded_by"], json!(t.mentor.name));

        let erasure = json!({
            "id": new_id(), "type": "PersonalDataErased", "programme": LAB,
            "occurred_at": "2024-03-04", "data": {"subject": "a"},
        });
        for token in [&t.admin, &t.coordinator] {
            app.post_events(token, &erasure).await.problem(403);
        }
        assert_eq!(app.head().await, 4);
    }

    #[tokio::test]
    async fn a_mentor_cannot_choose_an_event_id_to_probe_which_events_exist() {
        let app = TestApp::spawn().await;
        let mentor = &app.tokens.mentor;
        // The id of an attendance the mentor may not see, and a fresh one:
        // the same refusal, naming the field, and nothing appended.
        let attendance = app
            .events(&app.tokens.coordinator, "type=ParticipantAttended&limit=1")
            .await
            .ok_json(200)["events"][0]["id"]
            .clone();
        let mut answers = Vec::new();
        for id in [attendance, json!(new_id())] {
            let mut probe = note("sjdlr", "probe", "sj-ccas");
            probe["id"] = id;
            let p = app.post_events(mentor, &probe).await.problem(422);
            assert_eq!(p["errors"][0]["field"], json!("id"), "{p}");
            answers.push(p["errors"].clone());
            let batch = json!([note("sjdlr", "probe2", "sj-ccas"), probe]);
            let p = app.post_events(mentor, &batch).await.problem(422);
            assert_eq!(p["errors"][0]["field"], json!("[1].id"), "{p}");
        }
        assert_eq!(answers[0], answers[1]);
        assert_eq!(app.head().await, DEMO_EVENTS);
        // Without an id, the note is recorded.
        app.post_events(mentor, &note("sjdlr", "probe", "sj-ccas"))
            .await
            .ok_json(201);
    }

    #[tokio::test]
    async fn a_token_scoped_to_brussels_reads_and_writes_only_brussels() {
        let app = TestApp::spawn().await;
        let t = &app.tokens.brussels;

        let listed = app.programmes(t, "").await.ok_json(200);
        let ids: Vec<&Value> = listed["programmes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["id"])
            .collect();
        assert_eq!(ids, [&json!("brussels")]);
        let own = app.stakeholders(t, "").await.ok_json(200);
        assert_eq!(own["programme"], json!("brussels"));
        app.stakeholders(t, "programme=sjdlr").await.problem(403);
        app.gaps(t, "programme=sjdlr").await.problem(403);
        app.events(t, "programme=sjdlr").await.problem(403);

        let log = app.events(t, "limit=1000").await.ok_json(200);
        let events = log["events"].as_array().unwrap();
        assert_eq!(events.len(), 99);
        assert!(events.iter().all(|e| e["programme"] == "brussels"));

        let mut stream = app.stream(t, None, None).await;
        let caught_up = stream.events(99).await;
        assert!(caught_up.iter().all(|(_, e)| e["programme"] == "brussels"));
        // Numbered in the programme's own units (see tests/api/stream.rs).
        assert_eq!(caught_up.last().unwrap().0, 99);
        assert!(
            matches!(stream.next().await, Some(Frame::Comment(_))),
            "nothing else"
        );

        app.post_events(t, &stakeholder("sjdlr", "sneaky"))
            .await
            .problem(403);
        let stored = app
            .post_events(t, &stakeholder("brussels", "br-new"))
            .await
            .ok_json(201);
        let (id, streamed) = stream.next_event().await;
        assert_eq!(id, 100);
        assert_eq!(streamed["id"], stored["id"]);
        app.post_events(&app.tokens.admin, &stakeholder("sjdlr", "sj-new"))
            .await
            .expect(201);
        assert!(
            matches!(stream.next().await, Some(Frame::Comment(_))),
            "sjdlr is not streamed"
        );
    }
}

mod event_log {
    use super::*;

    #[tokio::test]
    async fn the_log_pages_by_position() {
        let app = TestApp::spawn().await;
        let (mut after, mut seen, mut sizes) = (0, Vec::new(), Vec::new());
        loop {
            let page = app
                .events(&app.tokens.coordinator, &format!("after={after}&limit=100"))
                .await
                .ok_json(200);
            assert_eq!(page["position"], json!(DEMO_EVENTS));
            let got = positions(&page["events"]);
            if got.is_empty() {
                assert_eq!(page["next_after"], json!(after));
                break;
            }
            after = page["next_after"].as_u64().expect("next_after");
            assert_eq!(after, *got.last().unwrap());
            sizes.push(got.len());
            seen.extend(got);
        }
        assert_eq!(sizes, [100, 100, 100, 64]);
        assert_eq!(seen, (1..=DEMO_EVENTS).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn the_log_filters_by_type_and_programme() {
        let app = TestApp::spawn().await;
        let token = &app.tokens.coordinator;
        let count = |body: &Value| body["events"].as_array().unwrap().len();

        let notes = app
            .events(token, "type=ReviewNoteAdded&limit=1000")
            .await
            .ok_json(200);
        assert_eq!(count(&notes), 9);
        assert!(notes["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["type"] == "ReviewNoteAdded"));

        let brussels = app
            .events(token, "programme=brussels&limit=1000")
            .await
            .ok_json(200);
        assert_eq!(count(&brussels), 99);

        let sessions = app
            .events(
                token,
                "type=CoCreationSessionHeld&programme=sjdlr&limit=1000",
            )
            .await
            .ok_json(200);
        assert_eq!(count(&sessions), 7);

        let first = app
            .events(token, "type=ParticipantAttended&limit=10")
            .await
            .ok_json(200);
        assert_eq!(count(&first), 10);
        assert_eq!(first["next_after"], first["events"][9]["position"]);
        let next = app
            .events(
                token,
                &format!(
                    "type=ParticipantAttended&limit=1000&after={}",
                    first["next_after"]
                ),
            )
            .await
            .ok_json(200);
        assert_eq!(count(&next), 97);
    }

    #[tokio::test]
    async fn mentors_and_viewers_are_refused_the_raw_log_with_the_reason() {
        let app = TestApp::spawn().await;
        let t = &app.tokens;
        for token in [&t.mentor, &t.viewer] {
            for query in ["", "programme=sjdlr", "type=ParticipantAttended&limit=1000"] {
                let p = app.events(token, query).await.problem(403);
                let detail = p["detail"].as_str().unwrap();
                for why in ["coordinators and admins", "attendance", "small counts"] {
                    assert!(detail.contains(why), "{}: {detail}", token.name);
                }
            }
            for (after, last) in [(None, None), (Some(0), None), (None, Some(300))] {
                let stream = app.stream(token, after, last).await;
                assert_eq!(stream.status, 403, "{} opens the stream", token.name);
                let p = stream.problem.expect("a problem document");
                assert_eq!(p["type"], json!("/problems/forbidden"));
                assert!(
                    p["detail"]
                        .as_str()
                        .unwrap()
                        .contains("coordinators and admins"),
                    "{p}"
                );
            }
        }
        // The roles that may read it still do, scoped tokens within their programme.
        for token in [&t.admin, &t.coordinator, &t.brussels, &t.brussels_admin] {
            app.events(token, "limit=1").await.ok_json(200);
            assert_eq!(app.stream(token, Some(0), None).await.status, 200);
        }
    }

    #[tokio::test]
    async fn bad_parameters_of_the_log_are_400() {
        let app = TestApp::spawn_empty().await;
        for query in [
            "limit=0",
            "limit=1001",
            "limit=ten",
            "after=-1",
            "type=StakeholderBefriended",
            "colour=blue",
            "limit=1&limit=2",
        ] {
            let p = app
                .events(&app.tokens.coordinator, query)
                .await
                .problem(400);
            assert!(!p["detail"].as_str().unwrap().is_empty(), "{query}");
        }
    }
}

mod reads {
    use super::*;

    /// Every read, with a query it answers 200 to on the demo.
    const READS: [(&str, &str); 12] = [
        ("/api/v1/programmes", ""),
        ("/api/v1/stakeholders", "programme=sjdlr"),
        ("/api/v1/stakeholders/sj-ccas", "programme=sjdlr"),
        ("/api/v1/partnerships", "programme=sjdlr"),
        ("/api/v1/sessions", "programme=sjdlr"),
        ("/api/v1/needs", "programme=sjdlr"),
        ("/api/v1/milestones", "programme=sjdlr"),
        ("/api/v1/notes", "programme=sjdlr"),
        ("/api/v1/network", "programme=sjdlr"),
        ("/api/v1/gaps", "programme=sjdlr"),
        ("/api/v1/participation", "programme=sjdlr"),
        (
            "/api/v1/diff",
            "programme=sjdlr&from=2021-01-01&to=2022-01-01",
        ),
    ];

    #[tokio::test]
    async fn an_append_to_another_programme_moves_a_reads_position_not_its_content() {
        let app = TestApp::spawn().await;
        let t = &app.tokens.viewer;
        let diff_query = "programme=sjdlr&from=2021-01-01&to=2022-01-01";
        let network = app.network(t, "programme=sjdlr").await;
        let diff = app.diff(t, diff_query).await;
        let (network_body, diff_body) = (network.ok_json(200), diff.ok_json(200));

        let stored = app
            .post_events(&app.tokens.coordinator, &stakeholder("brussels", "br-new"))
            .await
            .ok_json(201);
        let p = stored["position"].as_u64().unwrap();
        assert_eq!(p, DEMO_EVENTS + 1);
        // A viewer is told positions in the events it can see.
        let p = p - DEMO_HIDDEN;
        let seen = format!("programme=sjdlr&min_position={p}");
        let network_after = app.network(t, &seen).await;
        let diff_after = app.diff(t, &format!("{diff_query}&min_position={p}")).await;
        let (mut network_after_body, mut diff_after_body) =
            (network_after.ok_json(200), diff_after.ok_json(200));
        // The read reflects the log up to the append (read-your-writes)...
        assert_eq!(network_after_body["position"], json!(p));
        for field in [
            &diff_after_body["position"],
            &diff_after_body["from"]["position"],
            &diff_after_body["to"]["position"],
        ] {
            assert_eq!(*field, json!(p), "{diff_after_body}");
        }
        assert_ne!(network_after.header("etag"), network.header("etag"));
        assert!(network_after
            .header("etag")
            .unwrap()
            .starts_with(&format!("W/\"{p}-")));
        // ...and sjdlr's answer is otherwise what it was.
        network_after_body["position"] = network_body["position"].clone();
        assert_eq!(network_after_body, network_body);
        for side in ["from", "to"] {
            diff_after_body[side]["position"] = diff_body[side]["position"].clone();
        }
        diff_after_body["position"] = diff_body["position"].clone();
        assert_eq!(diff_after_body, diff_body);

        // An append to sjdlr itself is in the next read.
        let stored = app
            .post_events(&app.tokens.coordinator, &stakeholder("sjdlr", "sj-fresh"))
            .await
            .ok_json(201);
        let p = stored["position"].as_u64().unwrap() - DEMO_HIDDEN;
        let body = app
            .network(t, &format!("programme=sjdlr&min_position={p}"))
            .await
            .ok_json(200);
        assert_eq!(body["position"], json!(p));
        assert!(
            body["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["id"] == "sj-fresh"),
            "{body}"
        );
    }

    /// The position a read's `ETag` names (`W/"<position>-<digest>"`).
    fn etag_position(reply: &Reply) -> u64 {
        let etag = reply.header("etag").expect("an ETag");
        etag.strip_prefix("W/\"")
            .and_then(|e| e.split('-').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("a weak ETag with a position: {etag}"))
    }

    fn milestone(programme: &str, slug: &str) -> Value {
        json!({
            "id": new_id(), "type": "MilestoneMarked", "programme": programme,
            "occurred_at": "2022-03-01",
            "data": {"milestone": slug, "label": "A milestone", "kind": "other"},
        })
    }

    #[tokio::test]
    async fn while_a_view_renders_again_a_read_without_min_position_gets_the_previous_one() {
        let app = TestApp::spawn().await;
        let (t, writer) = (&app.tokens.viewer, &app.tokens.coordinator);
        let app = &app;
        // The log position of the append, and the position the viewer is
        // told (it sees no attendance).
        let append = |event: Value| async move {
            let stored = app.post_events(writer, &event).await.ok_json(201);
            let p = stored["position"].as_u64().expect("a position");
            (p, p - DEMO_HIDDEN)
        };
        let (_, p1) = append(stakeholder("sjdlr", "sj-one")).await;
        let before = app
            .network(t, &format!("programme=sjdlr&min_position={p1}"))
            .await;
        let before_body = before.ok_json(200);
        assert_eq!(before_body["position"], json!(p1));

        // Projected, not yet rendered: the first read of sjdlr's network
        // starts the render and gets the rendering at p1, saying so.
        let (logged, p2) = append(stakeholder("sjdlr", "sj-two")).await;
        assert!(app.app.wait_for(logged).await);
        let stale = app.network(t, "programme=sjdlr").await;
        let stale_body = stale.ok_json(200);
        assert_eq!(stale_body["position"], json!(p1));
        assert_eq!(etag_position(&stale), p1);
        assert_eq!(stale.header("etag"), before.header("etag"));
        assert_eq!(stale_body, before_body);
        // Its ETag still revalidates while the rendering at p2 is not ready.
        let etag = stale.header("etag").unwrap().to_owned();
        let again = app
            .get(
                "/api/v1/network",
                t.into(),
                "programme=sjdlr",
                &[("if-none-match", &etag)],
            )
            .await;
        assert!(
            matches!(again.status.as_u16(), 200 | 304),
            "{}",
            again.status
        );
        if again.status == 200 {
            assert_eq!(
                etag_position(&again),
                again.json()["position"].as_u64().unwrap()
            );
        }

        // A read that asks for p2 waits for its rendering.
        let fresh = app
            .network(t, &format!("programme=sjdlr&min_position={p2}"))
            .await;
        let fresh_body = fresh.ok_json(200);
        assert_eq!(fresh_body["position"], json!(p2));
        assert_eq!(etag_position(&fresh), p2);
        let ids: Vec<&str> = fresh_body["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["id"].as_str())
            .collect();
        assert!(ids.contains(&"sj-two"), "{ids:?}");
        // A read asking for no more than the stale rendering's position may
        // get it; never anything below what it asks.
        let reply = app
            .network(t, &format!("programme=sjdlr&min_position={p1}"))
            .await;
        let position = reply.ok_json(200)["position"].as_u64().unwrap();
        assert!(position >= p1);
        assert_eq!(etag_position(&reply), position);
    }

    #[tokio::test]
    async fn reads_during_appends_with_min_position_never_go_back() {
        let app = TestApp::spawn().await;
        let (t, writer) = (&app.tokens.viewer, &app.tokens.coordinator);
        const APPENDS: u64 = 40;
        let appends = async {
            for i in 0..APPENDS {
                let event = if i % 4 == 0 {
                    stakeholder("sjdlr", &format!("sj-load-{i}"))
                } else {
                    milestone("sjdlr", &format!("load-{i}"))
                };
                app.post_events(writer, &event).await.expect(201);
            }
        };
        let reads = async {
            // Positions as the viewer is told them (no attendance).
            let last = DEMO_VISIBLE + APPENDS;
            let mut seen = DEMO_VISIBLE;
            let mut reads = 0;
            // One connection: each read waits for the one before.
            while seen < last {
                let reply = app
                    .network(t, &format!("programme=sjdlr&min_position={seen}"))
                    .await;
                let position = reply.ok_json(200)["position"].as_u64().unwrap();
                assert!(position >= seen, "{position} after {seen}");
                assert_eq!(etag_position(&reply), position);
                seen = position;

                // Without min_position, any answer says the position its
                // body reflects, in the body and the ETag alike.
                let plain = app.network(t, "programme=sjdlr").await;
                let position = plain.ok_json(200)["position"].as_u64().unwrap();
                assert_eq!(etag_position(&plain), position);
                assert!(position <= app.app.projected() - DEMO_HIDDEN);
                reads += 1;
            }
            reads
        };
        let ((), reads) = tokio::join!(appends, reads);
        assert!(reads > 0);
    }

    #[tokio::test]
    async fn every_read_carries_its_position_and_an_etag_that_revalidates() {
        let app = TestApp::spawn().await;
        let token = (&app.tokens.viewer).into();
        for (path, query) in READS {
            let reply = app.get(path, token, query, &[]).await;
            let body = reply.ok_json(200);
            assert_eq!(body["position"], json!(DEMO_VISIBLE), "{path}");
            let etag = reply
                .header("etag")
                .unwrap_or_else(|| panic!("{path} has no ETag"))
                .to_owned();

            let cached = app
                .get(path, token, query, &[("if-none-match", &etag)])
                .await;
            cached.expect(304);
            assert!(cached.body.is_empty(), "{path}");
            assert_eq!(cached.header("etag"), Some(etag.as_str()));

            let stale = app
                .get(
                    path,
                    token,
                    query,
                    &[("if-none-match", "W/\"1-0000000000000000\"")],
                )
                .await;
            stale.expect(200);
        }
    }

    #[tokio::test]
    async fn each_read_describes_the_programme() {
        let app = TestApp::spawn().await;
        let t = &app.tokens.viewer;
        let q = "programme=sjdlr";
        let non_empty = |body: &Value, key: &str| {
            assert_eq!(body["programme"], json!("sjdlr"), "{key}");
            assert!(
                !body[key]
                    .as_array()
                    .unwrap_or_else(|| panic!("{key}: {body}"))
                    .is_empty(),
                "{key}"
            );
        };

        let programmes = app.programmes(t, "").await.ok_json(200);
        let listed: Vec<&Value> = programmes["programmes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["id"])
            .collect();
        assert_eq!(listed.len(), 2);
        assert!(listed.contains(&&json!("sjdlr")) && listed.contains(&&json!("brussels")));
        non_empty(&app.stakeholders(t, q).await.ok_json(200), "stakeholders");
        non_empty(&app.partnerships(t, q).await.ok_json(200), "partnerships");
        non_empty(&app.sessions(t, q).await.ok_json(200), "sessions");
        non_empty(&app.needs(t, q).await.ok_json(200), "needs");
        non_empty(&app.milestones(t, q).await.ok_json(200), "milestones");
        non_empty(&app.notes(t, q).await.ok_json(200), "notes");
        let network = app.network(t, q).await.ok_json(200);
        non_empty(&network, "nodes");
        non_empty(&network, "edges");
        assert!(
            network["metrics"]["components"].as_u64().is_some(),
            "{}",
            network["metrics"]
        );
        non_empty(&app.gaps(t, q).await.ok_json(200), "findings");
        non_empty(&app.participation(t, q).await.ok_json(200), "sessions");
    }

    #[tokio::test]
    async fn a_stakeholder_comes_with_its_ties_and_contact_history() {
        let app = TestApp::spawn().await;
        let t = &app.tokens.viewer;

        let body = app
            .stakeholder(t, "sj-ccas", "programme=sjdlr")
            .await
            .ok_json(200);

        assert_eq!(body["stakeholder"]["id"], json!("sj-ccas"));
        let ties = body["ties"].as_array().expect("ties");
        assert!(ties.iter().any(|t| t["with"] == "sj-housing"), "{ties:?}");
        let contacts = body["contacts"].as_array().expect("contacts");
        assert!(
            contacts
                .iter()
                .any(|c| c["event"] == "cfaa6f1d-da40-5326-a857-4cb303697e8f"
                    && c["to"] == "sj-housing"
                    && c["outcome"] == "committed"),
            "{contacts:?}"
        );
        assert!(contacts
            .iter()
            .all(|c| c["from"] == "sj-ccas" || c["to"] == "sj-ccas"));

        app.stakeholder(t, "sj-nobody", "programme=sjdlr")
            .await
            .problem(404);
        app.stakeholder(t, "br-city", "programme=sjdlr")
            .await
            .problem(404);
    }

    #[tokio::test]
    async fn contact_details_are_shown_to_coordinators_and_admins_only() {
        let app = TestApp::spawn().await;
        let t = &app.tokens;
        let mut emails = Vec::new();
        for token in [&t.admin, &t.coordinator] {
            let one = app
                .stakeholder(token, "sj-ccas", "programme=sjdlr")
                .await
                .ok_json(200);
            let email = one["stakeholder"]["contact"]["email"].as_str();
            emails.push(
                email
                    .unwrap_or_else(|| panic!("{}: {one}", token.name))
                    .to_owned(),
            );
            let all = app
                .stakeholders(token, "programme=sjdlr")
                .await
                .ok_json(200);
            assert!(all["stakeholders"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s.get("contact").is_some()));
        }
        for token in [&t.mentor, &t.viewer] {
            let one = app
                .stakeholder(token, "sj-ccas", "programme=sjdlr")
                .await
                .ok_json(200);
            assert!(
                one["stakeholder"].get("contact").is_none(),
                "{}: {one}",
                token.name
            );
            let all = app
                .stakeholders(token, "programme=sjdlr")
                .await
                .ok_json(200);
            assert!(all["stakeholders"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s.get("contact").is_none()));
            assert!(!all.to_string().contains(&emails[0]), "{}", token.name);
        }
    }

    #[tokio::test]
    async fn contact_details_do_not_reach_mentors_and_viewers_through_the_log() {
        let app = TestApp::spawn().await;
        let email = "ccas@example.org";
        // The log holds them, opened for the roles that may see them…
        let log = app
            .events(
                &app.tokens.coordinator,
                "type=StakeholderRegistered&limit=1000",
            )
            .await
            .ok_json(200);
        assert!(log.to_string().contains(email), "{log}");
        let mut stream = app.stream(&app.tokens.coordinator, None, Some(1)).await;
        let (_, event) = stream.next_event().await;
        assert_eq!(event["data"]["contact"]["email"], json!(email));
        // …and refuses mentors and viewers however they ask.
        for token in [&app.tokens.mentor, &app.tokens.viewer] {
            for query in [
                "type=StakeholderRegistered&limit=1000",
                "type=StakeholderProfileChanged&programme=sjdlr",
                "after=1&limit=1",
            ] {
                let reply = app.events(token, query).await;
                reply.problem(403);
                assert!(
                    !reply.text().contains(email),
                    "{}: {}",
                    token.name,
                    reply.text()
                );
            }
            let stream = app.stream(token, None, Some(1)).await;
            assert_eq!(stream.status, 403, "{} opens the stream", token.name);
            assert!(!stream.problem.unwrap().to_string().contains(email));
        }
    }

    #[tokio::test]
    async fn sessions_hide_counts_below_five_from_mentors_and_viewers() {
        let app = TestApp::spawn().await;
        let t = &app.tokens;
        let panel = |body: Value| -> Value {
            body["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["id"] == "bses-welcome-panel")
                .expect("the welcome panel")
                .clone()
        };

        for token in [&t.admin, &t.coordinator] {
            let s = panel(app.sessions(token, "programme=brussels").await.ok_json(200));
            assert_eq!(
                s["beneficiaries"]["undisclosed"],
                json!(1),
                "{}",
                token.name
            );
            assert_eq!(s["suppressed"], json!(false));
        }
        for token in [&t.mentor, &t.viewer] {
            let body = app.sessions(token, "programme=brussels").await.ok_json(200);
            for s in body["sessions"].as_array().unwrap() {
                for (key, n) in s["beneficiaries"].as_object().unwrap() {
                    let small = n.as_u64().is_some_and(|n| (1..5).contains(&n));
                    assert!(!small, "{}: {} {key} = {n}", token.name, s["id"]);
                }
            }
            let s = panel(body);
            assert_eq!(
                s["beneficiaries"]["undisclosed"],
                Value::Null,
                "{}",
                token.name
            );
            assert_eq!(s["beneficiaries"]["total"], json!(16));
            assert_eq!(s["suppressed"], json!(true));
        }
    }

    #[tokio::test]
    async fn sessions_hide_a_small_attendance_from_mentors_and_viewers() {
        let app = TestApp::spawn_empty().await;
        let event = |kind: &str, data: Value| json!({"id": new_id(), "type": kind, "programme": LAB, "occurred_at": "2024-04-02", "data": data});
        let batch = json!([
            stakeholder(LAB, "a"),
            event(
                "CoCreationSessionHeld",
                json!({
                    "session": "s1", "title": "Open evening", "level": "consult", "stakeholders": ["a"],
                    "beneficiaries": {"total": 12, "women": 6, "men": 6, "first_time": 12},
                })
            ),
            event(
                "ParticipantAttended",
                json!({"session": "s1", "participant": "lab-p001"})
            ),
            event(
                "ParticipantAttended",
                json!({"session": "s1", "participant": "lab-p002"})
            ),
        ]);
        let stored = app
            .post_events(&app.tokens.coordinator, &batch)
            .await
            .ok_json(201);
        // Read your writes: the projection follows the log shortly after.
        let last = stored[3]["position"].as_u64().unwrap();
        let query = format!("min_position={last}");

        let full = app
            .sessions(&app.tokens.coordinator, &query)
            .await
            .ok_json(200);
        assert_eq!(full["sessions"][0]["attended"], json!(2));
        // Mentors and viewers are told positions without the attendances.
        let query = format!("min_position={}", last - 2);
        for token in [&app.tokens.mentor, &app.tokens.viewer] {
            let body = app.sessions(token, &query).await.ok_json(200);
            assert_eq!(body["position"], json!(last - 2), "{}", token.name);
            assert_eq!(
                body["sessions"][0]["attended"],
                Value::Null,
                "{}: {body}",
                token.name
            );
        }
    }

    #[tokio::test]
    async fn sessions_do_not_let_a_suppressed_count_be_worked_out() {
        let app = TestApp::spawn().await;
        let body = app
            .sessions(&app.tokens.mentor, "programme=brussels")
            .await
            .ok_json(200);
        for s in body["sessions"].as_array().unwrap() {
            let b = &s["beneficiaries"];
            if !b["total"].is_u64() {
                continue;
            }
            for parts in [
                &["women", "men", "undisclosed"][..],
                &["first_time", "returning"][..],
            ] {
                let hidden: Vec<&&str> = parts.iter().filter(|k| b[**k].is_null()).collect();
                assert_ne!(
                    hidden.len(),
                    1,
                    "{}: {} = total − the others: {b}",
                    s["id"],
                    hidden[0]
                );
            }
        }
    }

    #[tokio::test]
    async fn participation_does_not_give_back_a_suppressed_count() {
        let app = TestApp::spawn().await;
        let body = app
            .participation(&app.tokens.mentor, "programme=sjdlr")
            .await
            .ok_json(200);
        for s in body["sessions"].as_array().unwrap() {
            if s["women"].is_null() && s["total"].is_u64() {
                assert!(
                    s["women_share"].is_null(),
                    "{}: women_share {} of total {}",
                    s["session"],
                    s["women_share"],
                    s["total"]
                );
            }
        }
    }

    #[tokio::test]
    async fn a_read_needs_a_programme_when_the_token_sees_several() {
        let app = TestApp::spawn().await;
        let p = app.stakeholders(&app.tokens.viewer, "").await.problem(400);
        assert!(p["detail"].as_str().unwrap().contains("programme"), "{p}");
        app.network(&app.tokens.admin, "").await.problem(400);
        app.stakeholders(&app.tokens.viewer, "programme=atlantis")
            .await
            .problem(404);
        app.gaps(&app.tokens.viewer, "programme=atlantis")
            .await
            .problem(404);
        app.stakeholders(&app.tokens.viewer, "programme=sjdlr&colour=blue")
            .await
            .problem(400);
    }

    #[tokio::test]
    async fn as_of_and_position_go_back_in_time() {
        let app = TestApp::spawn().await;
        let t = &app.tokens.viewer;
        let now = app.stakeholders(t, "programme=sjdlr").await;
        let then = app
            .stakeholders(t, "programme=sjdlr&as_of=2021-01-01")
            .await;
        let early = app.stakeholders(t, "programme=sjdlr&position=10").await;
        let (now_ids, then_ids) = (
            stakeholder_ids(&now.ok_json(200)),
            stakeholder_ids(&then.ok_json(200)),
        );

        assert!(
            then_ids.len() < now_ids.len(),
            "{} vs {}",
            then_ids.len(),
            now_ids.len()
        );
        assert!(then_ids.iter().all(|id| now_ids.contains(id)));
        assert_ne!(now.header("etag"), then.header("etag"));
        let early_body = early.ok_json(200);
        assert_eq!(early_body["position"], json!(10));
        assert_eq!(stakeholder_ids(&early_body).len(), 7);

        let network_now = app.network(t, "programme=sjdlr").await.ok_json(200);
        let network_then = app
            .network(t, "programme=sjdlr&as_of=2021-01-01")
            .await
            .ok_json(200);
        assert!(
            network_then["nodes"].as_array().unwrap().len()
                < network_now["nodes"].as_array().unwrap().len()
        );

        for query in [
            "programme=sjdlr&as_of=2021-01-01&position=10",
            "programme=sjdlr&as_of=soon",
            "programme=sjdlr&position=ten",
        ] {
            app.stakeholders(t, query).await.problem(400);
        }
    }

    #[tokio::test]
    async fn diff_compares_two_dates_or_the_time_around_a_milestone() {
        let app = TestApp::spawn().await;
        let t = &app.tokens.viewer;

        let dates = app
            .diff(t, "programme=sjdlr&from=2021-01-01&to=2022-06-30")
            .await
            .ok_json(200);
        assert_eq!(dates["position"], json!(DEMO_VISIBLE));
        assert!(
            !dates["stakeholders_added"].as_array().unwrap().is_empty(),
            "{dates}"
        );
        let around = app
            .diff(t, "programme=sjdlr&milestone=ms-kickoff")
            .await
            .ok_json(200);
        assert_eq!(around["programme"], json!("sjdlr"));

        app.diff(t, "programme=sjdlr&milestone=ms-nothing")
            .await
            .problem(404);
        for query in [
            "programme=sjdlr&from=2021-13-01&to=2022-01-01",
            "programme=sjdlr&from=2021-01-01&to=whenever",
            "programme=sjdlr&from=2022-01-01&to=2021-01-01",
            "programme=sjdlr&from=2021-01-01",
            "programme=sjdlr",
            "programme=sjdlr&milestone=ms-kickoff&from=2021-01-01&to=2022-01-01",
            "programme=sjdlr&as_of=2021-01-01",
        ] {
            app.diff(t, query).await.problem(400);
        }
    }

    #[tokio::test]
    async fn min_position_reads_your_own_writes() {
        let app = TestApp::spawn().await;
        let stored = app
            .post_events(
                &app.tokens.coordinator,
                &stakeholder("sjdlr", "sj-new-partner"),
            )
            .await
            .ok_json(201);
        // The viewer is told positions in the events it can see.
        let position = stored["position"].as_u64().unwrap() - DEMO_HIDDEN;

        let body = app
            .stakeholders(
                &app.tokens.viewer,
                &format!("programme=sjdlr&min_position={position}"),
            )
            .await
            .ok_json(200);

        assert!(body["position"].as_u64().unwrap() >= position);
        assert!(stakeholder_ids(&body).contains(&"sj-new-partner".to_owned()));
    }

    #[tokio::test]
    async fn min_position_beyond_the_log_is_refused_at_once_naming_the_head() {
        let app = TestApp::spawn_empty().await;
        let started = Instant::now();

        let reply = app
            .stakeholders(&app.tokens.viewer, "min_position=1000000")
            .await;

        let p = reply.problem(409);
        assert_eq!(p["type"], json!("/problems/conflict"), "{p}");
        let detail = p["detail"].as_str().expect("a detail");
        assert!(
            detail.contains("min_position 1000000 is beyond the log's head 1"),
            "{detail}"
        );
        let waited = started.elapsed();
        assert!(waited < MIN_POSITION_TIMEOUT, "{waited:?}");
    }
}

mod service {
    use super::*;

    #[tokio::test]
    async fn health_and_the_openapi_document_need_no_token() {
        let app = TestApp::spawn_empty().await;
        let health = app.healthz().await.ok_json(200);
        // No log position: anyone may ask.
        assert_eq!(health, json!({"status": "ok"}));
        let doc = app.openapi().await.ok_json(200);
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
    }

    #[tokio::test]
    async fn metrics_count_requests_by_route_and_report_projection_lag() {
        let app = TestApp::spawn_empty().await;
        app.stakeholders(&app.tokens.viewer, "").await.expect(200);
        app.stakeholders(Auth::None, "").await.expect(401);
        app.post_events(&app.tokens.coordinator, &stakeholder(LAB, "a"))
            .await
            .expect(201);
        app.stakeholder(&app.tokens.viewer, "a", "min_position=2")
            .await
            .expect(200);

        let reply = app.metrics(&app.tokens.admin).await;

        reply.expect(200);
        assert!(
            reply.content_type().starts_with("text/plain"),
            "{}",
            reply.content_type()
        );
        let text = reply.text();
        for line in [
            r#"passerelle_http_requests_total{method="GET",route="/api/v1/stakeholders",status="200"} 1"#,
            r#"passerelle_http_requests_total{method="GET",route="/api/v1/stakeholders",status="401"} 1"#,
            r#"passerelle_http_requests_total{method="POST",route="/api/v1/events",status="201"} 1"#,
            r#"passerelle_http_requests_total{method="GET",route="/api/v1/stakeholders/{id}",status="200"} 1"#,
            r#"passerelle_http_request_duration_seconds_count{method="POST",route="/api/v1/events"} 1"#,
            "passerelle_events_appended_total 1",
            "passerelle_log_position 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(
            text.lines()
                .any(|l| l.starts_with("passerelle_projection_lag_events ")),
            "{text}"
        );
    }

    #[tokio::test]
    async fn metrics_count_a_method_a_client_invents_as_other() {
        let app = TestApp::spawn_empty().await;
        let viewer = &app.tokens.viewer;
        for method in ["BREW", "PROPFIND"] {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let reply = app
                .send(method, "/api/v1/stakeholders", viewer.into(), "", &[], None)
                .await;
            assert!(reply.status.is_client_error(), "{}", reply.status);
        }

        let text = app.metrics(&app.tokens.admin).await.expect(200).text();

        let counted: u64 = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix(
                    r#"passerelle_http_requests_total{method="other",route="/api/v1/stakeholders","#,
                )
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
        assert_eq!(counted, 2, "{text}");
        assert!(
            !text.contains("BREW") && !text.contains("PROPFIND"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn unknown_routes_are_404_and_other_methods_405_problems() {
        let app = TestApp::spawn_empty().await;
        let viewer = (&app.tokens.viewer).into();
        app.get("/api/v1/nothing-here", viewer, "", &[])
            .await
            .problem(404);
        app.get("/api/v1/nothing-here", Auth::None, "", &[])
            .await
            .problem(404);
        app.get("/elsewhere", Auth::None, "", &[])
            .await
            .problem(404);
        app.get("/api/v2/stakeholders", viewer, "", &[])
            .await
            .problem(404);
        for (method, path) in [
            (Method::DELETE, "/api/v1/events"),
            (Method::PUT, "/api/v1/stakeholders"),
            (Method::POST, "/api/v1/healthz"),
            (Method::PATCH, "/api/v1/events/stream"),
        ] {
            app.send(method, path, viewer, "", &[], None)
                .await
                .problem(405);
        }
    }

    #[tokio::test]
    async fn a_405_names_the_allowed_methods() {
        let app = TestApp::spawn_empty().await;
        let reply = app
            .send(
                Method::DELETE,
                "/api/v1/events",
                (&app.tokens.viewer).into(),
                "",
                &[],
                None,
            )
            .await;
        reply.problem(405);
        let allow = reply.header("allow").expect("an Allow header");
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    }
}

mod login {
    use super::*;

    #[tokio::test]
    async fn a_login_code_sets_a_strict_http_only_session_cookie_once() {
        let app = TestApp::spawn_empty().await;
        let code = app
            .app
            .tokens()
            .issue_login(&app.tokens.viewer.id, Duration::from_secs(60))
            .expect("a login code");

        let reply = app.login(&code).await;

        reply.expect(303);
        assert_eq!(
            reply.header("location"),
            Some("/"),
            "login lands on the map"
        );
        let set_cookie = reply.header("set-cookie").expect("Set-Cookie").to_owned();
        let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
        assert!(attributes.contains(&"HttpOnly"), "{set_cookie}");
        assert!(attributes.contains(&"SameSite=Strict"), "{set_cookie}");
        let cookie = attributes[0];
        assert!(
            !set_cookie.contains(&app.tokens.viewer.secret),
            "the cookie is not the token"
        );

        let programmes = app.programmes(Auth::Cookie(cookie), "").await.ok_json(200);
        assert_eq!(programmes["programmes"][0]["id"], json!(LAB));
        // From the server's own page, the viewer's role still refuses it.
        let refused = app
            .send(
                Method::POST,
                "/api/v1/events",
                Auth::Cookie(cookie),
                "",
                &[("origin", &app.base)],
                Some(stakeholder(LAB, "a").to_string().into()),
            )
            .await
            .problem(403);
        assert!(
            refused["detail"].as_str().unwrap().contains("viewer"),
            "{refused}"
        );

        app.login(&code).await.problem(401);
        app.login(&format!("psl1_{}", "0".repeat(64)))
            .await
            .problem(401);
        app.get("/login", Auth::None, "", &[]).await.problem(400);
        let forged = format!("passerelle_session=psls_{}", "0".repeat(64));
        app.programmes(Auth::Cookie(&forged), "").await.problem(401);

        app.app
            .tokens()
            .revoke(&app.tokens.viewer.id)
            .expect("revoke");
        app.programmes(Auth::Cookie(cookie), "").await.problem(401);
    }
}

mod shutdown {
    use super::*;

    #[tokio::test]
    async fn shutdown_completes_an_in_flight_append_and_ends_open_streams() {
        let mut app = TestApp::spawn_empty().await;
        let mut stream = app.stream(&app.tokens.coordinator, None, None).await;
        assert_eq!(stream.next_event().await.0, 1);
        let event = stakeholder(LAB, "last-word");
        let body = event.to_string().into_bytes();
        let in_flight = app
            .begin_post_events(&app.tokens.coordinator, body.len())
            .await;

        app.trigger_shutdown();

        // The stream ends: the server has begun shutting down.
        while let Some(frame) = stream.next().await {
            assert!(matches!(frame, Frame::Comment(_)), "{frame:?}");
        }
        let (status, stored) = in_flight.finish(body).await;
        assert_eq!(status, 201, "{stored}");
        assert_eq!(stored["id"], event["id"]);
        app.stopped().await;
        let ids = stored_ids(&app.db).await;
        assert_eq!(ids.last(), event["id"].as_str().map(str::to_owned).as_ref());
    }
}

mod web {
    use super::*;

    #[tokio::test]
    async fn pages_and_assets_are_embedded_and_may_load_nothing_from_elsewhere() {
        let app = TestApp::spawn_empty().await;
        for path in [
            "/",
            "/gaps",
            "/participation",
            "/record",
            "/compare",
            "/log",
        ] {
            let page = app.get(path, Auth::None, "", &[]).await;
            page.expect(200);
            assert!(page.content_type().starts_with("text/html"), "{path}");
            assert!(
                page.header("content-security-policy")
                    .is_some_and(|v| v.starts_with("default-src 'self';")),
                "{path}: {:?}",
                page.header("content-security-policy")
            );
            assert!(page.text().contains("/assets/common.js"), "{path}");
        }
        let script = app.get("/assets/map.js", Auth::None, "", &[]).await;
        script.expect(200);
        assert!(script.content_type().starts_with("text/javascript"));
        assert!(!script.text().contains("http://") && !script.text().contains("https://"));
        // The pages' words: the catalogue the reports are written from.
        let messages = app.get("/assets/messages.json", Auth::None, "", &[]).await;
        messages.expect(200);
        assert!(messages.content_type().starts_with("application/json"));
        assert_eq!(
            messages.text(),
            passerelle_projections::messages::SOURCE,
            "the served catalogue is the renderers' one"
        );
        let catalogue: Value = serde_json::from_str(&messages.text()).expect("JSON");
        assert_eq!(catalogue["outcome.no_response"]["fr"], "pas de réponse");
        app.get("/assets/nothing.js", Auth::None, "", &[])
            .await
            .problem(404);
        app.send(Method::POST, "/gaps", Auth::None, "", &[], None)
            .await
            .problem(405);

        let metrics = app.metrics(&app.tokens.admin).await.text();
        for route in ["/", "/gaps", "/assets/{file}"] {
            let line = format!(
                r#"passerelle_http_requests_total{{method="GET",route="{route}",status="200"}}"#
            );
            assert!(metrics.contains(&line), "missing {line} in\n{metrics}");
        }
    }

    #[tokio::test]
    async fn me_names_the_caller_and_its_role() {
        let app = TestApp::spawn_empty().await;
        let me = app
            .get("/api/v1/me", (&app.tokens.mentor).into(), "", &[])
            .await
            .ok_json(200);
        assert_eq!(
            me,
            json!({"name": app.tokens.mentor.name, "role": "mentor", "programme": null})
        );
        let scoped = app
            .get("/api/v1/me", (&app.tokens.brussels).into(), "", &[])
            .await
            .ok_json(200);
        assert_eq!(scoped["programme"], json!("brussels"));
        app.get("/api/v1/me", Auth::None, "", &[])
            .await
            .problem(401);
    }

    #[tokio::test]
    async fn the_sign_in_form_trades_a_token_for_a_session_cookie() {
        let app = TestApp::spawn_empty().await;
        let form = |token: &str| Some(reqwest::Body::from(format!("token={token}")));
        let from_page = [
            ("origin", app.base.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
        ];

        let reply = app
            .send(
                Method::POST,
                "/login",
                Auth::None,
                "",
                &from_page,
                form(&app.tokens.viewer.secret),
            )
            .await;
        reply.expect(303);
        assert_eq!(reply.header("location"), Some("/"));
        let set_cookie = reply.header("set-cookie").expect("Set-Cookie").to_owned();
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let me = app
            .get("/api/v1/me", Auth::Cookie(&cookie), "", &[])
            .await
            .ok_json(200);
        assert_eq!(me["role"], json!("viewer"));

        let refused = app
            .send(
                Method::POST,
                "/login",
                Auth::None,
                "",
                &from_page,
                form("psl_nonsense"),
            )
            .await;
        refused.expect(303);
        assert_eq!(refused.header("location"), Some("/?signin=failed"));
        assert!(refused.header("set-cookie").is_none());

        app.send(
            Method::POST,
            "/login",
            Auth::None,
            "",
            &[
                ("origin", "http://elsewhere.example"),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            form(&app.tokens.viewer.secret),
        )
        .await
        .problem(403);
    }
}

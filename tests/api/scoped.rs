//! A token scoped to one programme learns nothing of the others (decision
//! 015): every position it is told or sends counts its programme's events,
//! an append elsewhere changes none of its answers, and naming another
//! programme is refused alike whether that programme exists or not.

use passerelle::auth::Role;
use passerelle_projections::model::is_hidden_type;
use serde_json::{json, Value};

use super::*;

/// Events of brussels in the demo log.
const BRUSSELS_EVENTS: u64 = 99;

fn positions(page: &Value) -> Vec<u64> {
    page["events"]
        .as_array()
        .expect("events[]")
        .iter()
        .map(|e| e["position"].as_u64().expect("a position"))
        .collect()
}

#[tokio::test]
async fn a_scoped_token_pages_the_log_in_its_programme_units() {
    let app = TestApp::spawn().await;
    let t = &app.tokens.brussels;

    let all = app.events(t, "limit=1000").await.ok_json(200);
    assert_eq!(positions(&all), (1..=BRUSSELS_EVENTS).collect::<Vec<_>>());
    assert_eq!(all["position"], json!(BRUSSELS_EVENTS));
    assert_eq!(all["next_after"], json!(BRUSSELS_EVENTS));

    // Paging: `after` and `next_after` in the same units, no gap, no overlap.
    let first = app.events(t, "limit=10").await.ok_json(200);
    assert_eq!(positions(&first), (1..=10).collect::<Vec<_>>());
    assert_eq!(first["next_after"], json!(10));
    let second = app.events(t, "after=10&limit=10").await.ok_json(200);
    assert_eq!(positions(&second), (11..=20).collect::<Vec<_>>());
    assert_eq!(
        second["events"][0]["id"], all["events"][10]["id"],
        "the 11th event of brussels"
    );
    // A type filter skips events but keeps counting them.
    let typed = app
        .events(t, "type=StakeholderRegistered&limit=1000")
        .await
        .ok_json(200);
    for e in typed["events"].as_array().unwrap() {
        let n = e["position"].as_u64().unwrap() as usize;
        assert_eq!(all["events"][n - 1]["id"], e["id"]);
    }
    let beyond = app
        .events(t, &format!("after={}", BRUSSELS_EVENTS + 1))
        .await
        .problem(400);
    assert!(beyond["detail"].as_str().unwrap().contains("beyond"));

    // Another programme's append moves nothing this token is told.
    let etag = app
        .stakeholders(t, "")
        .await
        .header("etag")
        .map(str::to_owned);
    let elsewhere = app
        .post_events(&app.tokens.admin, &stakeholder("sjdlr", "sj-elsewhere"))
        .await
        .ok_json(201);
    assert!(
        app.app
            .wait_for(elsewhere["position"].as_u64().unwrap())
            .await
    );
    let after = app.events(t, "limit=1000").await.ok_json(200);
    assert_eq!(after, all, "the same page, byte for byte");
    let read = app.stakeholders(t, "").await;
    assert_eq!(read.json()["position"], json!(BRUSSELS_EVENTS));
    assert_eq!(read.header("etag").map(str::to_owned), etag);

    // Its own append: answered, read back and streamed in its units.
    let mine = app
        .post_events(t, &stakeholder("brussels", "br-mine"))
        .await
        .ok_json(201);
    assert_eq!(mine["position"], json!(BRUSSELS_EVENTS + 1));
    let read = app
        .stakeholders(t, &format!("min_position={}", BRUSSELS_EVENTS + 1))
        .await
        .ok_json(200);
    assert_eq!(read["position"], json!(BRUSSELS_EVENTS + 1));
    assert!(read["stakeholders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == "br-mine"));
    let last = app
        .events(t, &format!("after={BRUSSELS_EVENTS}"))
        .await
        .ok_json(200);
    assert_eq!(last["events"][0]["id"], mine["id"]);
    assert_eq!(last["events"][0]["position"], mine["position"]);

    // A read as of a position in its units: the state after its n-th event.
    let early = app.stakeholders(t, "position=3").await.ok_json(200);
    assert_eq!(early["position"], json!(3));
}

#[tokio::test]
async fn a_scoped_mentor_counts_the_visible_events_of_its_programme() {
    let app = TestApp::spawn().await;
    let (info, secret) = app
        .app
        .tokens()
        .create("mia brussels mentor", Role::Mentor, Some("brussels"))
        .expect("a token");
    let mentor = Token {
        id: info.id,
        name: info.name,
        secret,
    };
    let log = app
        .events(&app.tokens.brussels, "limit=1000")
        .await
        .ok_json(200);
    let visible = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !is_hidden_type(e["type"].as_str().unwrap()))
        .count() as u64;
    assert!(
        visible < BRUSSELS_EVENTS,
        "the demo has attendances in brussels"
    );
    let read = app.stakeholders(&mentor, "").await.ok_json(200);
    assert_eq!(read["position"], json!(visible));
    // Its head, and so every `min_position` it may wait for, is the same.
    let reply = app
        .stakeholders(&mentor, &format!("min_position={visible}"))
        .await
        .ok_json(200);
    assert_eq!(reply["position"], json!(visible));
}

#[tokio::test]
async fn another_programme_is_refused_alike_whether_it_exists_or_not() {
    let app = TestApp::spawn().await;
    let t = &app.tokens.brussels;
    for read in ["stakeholders", "gaps", "network", "events"] {
        let path = format!("/api/v1/{read}");
        let existing = app
            .get(&path, t.into(), "programme=sjdlr", &[])
            .await
            .problem(403);
        let missing = app
            .get(&path, t.into(), "programme=atlantis", &[])
            .await
            .problem(403);
        assert_eq!(existing, missing, "{read}");
    }
    // An unscoped token may be told that a programme does not exist.
    app.stakeholders(&app.tokens.coordinator, "programme=atlantis")
        .await
        .problem(404);
}

//! Strict input on the write routes: a key given twice, a text that is
//! invisible or holds a bidirectional control, a date outside its window.
//! Each is refused with 422 naming the field, and the log does not move;
//! query dates before 1900 are refused with 400 naming the parameter.

use chrono::{Days, Months, SecondsFormat, Utc};

use super::*;

/// A `StakeholderRegistered` of `lab` named `name`.
fn named(name: &str) -> Value {
    let mut event = stakeholder(LAB, "asso-x");
    event["data"]["name"] = json!(name);
    event
}

/// Posts `body` as the coordinator and returns the validation problem's
/// fields, checking that nothing was recorded.
async fn refused(app: &TestApp, body: impl Into<reqwest::Body>) -> Value {
    let head = app.head().await;
    let problem = app
        .post_events_raw(&app.tokens.coordinator, body)
        .await
        .problem(422);
    assert_eq!(app.head().await, head, "nothing was recorded: {problem}");
    problem
}

/// The message of the only error of `problem`, which names `field`.
#[track_caller]
fn message_of(problem: &Value, field: &str) -> String {
    assert_eq!(fields(problem), [field], "{problem}");
    problem["errors"][0]["message"]
        .as_str()
        .expect("a message")
        .to_owned()
}

#[tokio::test]
async fn a_key_given_twice_is_named_at_any_depth() {
    let app = TestApp::spawn_empty().await;
    let one = named("Food bank").to_string();
    let twice = one.replacen(
        "\"name\":\"Food bank\"",
        "\"name\":\"Food bank\",\"name\":\"Banque alimentaire\"",
        1,
    );
    assert_ne!(twice, one, "the fixture repeats data.name");
    let problem = refused(&app, twice.clone()).await;
    assert_eq!(message_of(&problem, "data.name"), "is given twice");

    let batch = format!("[{}, {twice}]", contact(LAB, "a", "b"));
    let problem = refused(&app, batch).await;
    assert_eq!(message_of(&problem, "[1].data.name"), "is given twice");

    let envelope = one.replacen('{', "{\"programme\":\"other\",", 1);
    let problem = refused(&app, envelope).await;
    assert_eq!(message_of(&problem, "programme"), "is given twice");
}

#[tokio::test]
async fn malformed_json_stays_a_bad_request() {
    let app = TestApp::spawn_empty().await;
    let head = app.head().await;
    // It repeats a key before it breaks: the syntax is what is wrong.
    app.post_events_raw(&app.tokens.coordinator, r#"{"type": 1, "type": "#)
        .await
        .problem(400);
    assert_eq!(app.head().await, head);
}

#[tokio::test]
async fn a_name_of_invisible_characters_is_empty() {
    let app = TestApp::spawn_empty().await;
    let problem = refused(&app, named("\u{200B}\u{2060} \u{FEFF}").to_string()).await;
    let message = message_of(&problem, "data.name");
    assert!(message.contains("invisible"), "{message}");
}

#[tokio::test]
async fn a_right_to_left_override_is_named_by_its_code_point() {
    let app = TestApp::spawn_empty().await;
    let problem = refused(&app, named("Food \u{202E}knab").to_string()).await;
    let message = message_of(&problem, "data.name");
    assert!(message.contains("U+202E"), "{message}");

    let mut event = named("Food bank");
    event["data"]["contact"]["person"] = json!("\u{2067}Desk");
    let problem = refused(&app, event.to_string()).await;
    message_of(&problem, "data.contact.person");
}

#[tokio::test]
async fn dates_before_1900_are_refused() {
    let app = TestApp::spawn_empty().await;
    for at in ["1899-12-31", "0000-01-01", "0000-01-01T00:00:00Z"] {
        let mut event = named("Food bank");
        event["occurred_at"] = json!(at);
        let problem = refused(&app, event.to_string()).await;
        let message = message_of(&problem, "occurred_at");
        assert!(message.contains("1900-01-01"), "{at}: {message}");
    }
}

#[tokio::test]
async fn two_days_ahead_has_not_happened_yet() {
    let app = TestApp::spawn_empty().await;
    let mut event = named("Food bank");
    let ahead = Utc::now() + chrono::TimeDelta::days(2);
    event["occurred_at"] = json!(ahead.to_rfc3339_opts(SecondsFormat::Secs, true));
    let problem = refused(&app, event.to_string()).await;
    let message = message_of(&problem, "occurred_at");
    assert!(message.contains("server's clock"), "{message}");
    let today = Utc::now().date_naive().to_string();
    assert!(
        message.contains(&today),
        "{message} names the server's date {today}"
    );
}

#[tokio::test]
async fn a_follow_up_is_due_within_five_years() {
    let app = TestApp::spawn_empty().await;
    for slug in ["a", "b"] {
        app.post_events(&app.tokens.coordinator, &stakeholder(LAB, slug))
            .await
            .ok_json(201);
    }
    let today = Utc::now().date_naive();
    let mut call = contact(LAB, "a", "b");
    call["data"]["follow_up_due"] = json!((today + Days::new(365)).to_string());
    app.post_events(&app.tokens.coordinator, &call)
        .await
        .ok_json(201);

    let mut late = contact(LAB, "a", "b");
    let too_far = today + Months::new(12 * 5) + Days::new(1);
    late["data"]["follow_up_due"] = json!(too_far.to_string());
    let problem = refused(&app, late.to_string()).await;
    let message = message_of(&problem, "data.follow_up_due");
    assert!(message.contains("5 years"), "{message}");
}

#[tokio::test]
async fn query_dates_before_1900_name_their_parameter() {
    let app = TestApp::spawn().await;
    let t = &app.tokens.viewer;
    for (query, parameter) in [
        ("programme=sjdlr&as_of=1899-12-31", "as_of"),
        ("programme=sjdlr&as_of=0000-01-01", "as_of"),
    ] {
        let p = app.stakeholders(t, query).await.problem(400);
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(parameter) && detail.contains("1900-01-01"),
            "{detail}"
        );
    }
    for (query, parameter) in [
        ("programme=sjdlr&from=0000-01-01&to=2022-01-01", "from"),
        ("programme=sjdlr&from=2021-01-01&to=1899-01-01", "to"),
    ] {
        let p = app.diff(t, query).await.problem(400);
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(parameter) && detail.contains("1900-01-01"),
            "{detail}"
        );
    }
}

#[tokio::test]
async fn an_erasure_with_a_key_given_twice_is_refused() {
    let app = TestApp::spawn().await;
    let body = r#"{"subject": "contact:sjdlr/sj-ccas", "reason": "Asked", "reason": "Other"}"#;
    let head = app.head().await;
    let reply = app
        .send(
            Method::POST,
            "/api/v1/erasures",
            (&app.tokens.admin).into(),
            "",
            &[],
            Some(body.into()),
        )
        .await;
    let problem = reply.problem(422);
    assert_eq!(message_of(&problem, "reason"), "is given twice");
    assert_eq!(app.head().await, head);
}

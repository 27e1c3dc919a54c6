//! The tokens over HTTP (`GET /api/v1/tokens`, `POST /api/v1/revocations`):
//! what an admin lists and revokes, what a scoped admin may not see or
//! touch, what every other role is refused, and that no answer holds a
//! secret.

use super::*;

/// The names of the tokens a list answer holds, in its order.
fn names(list: &Value) -> Vec<&str> {
    list["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| t["name"].as_str().expect("a name"))
        .collect()
}

fn revocation(token: &Token) -> Value {
    json!({"token": token.id})
}

#[tokio::test]
async fn an_admin_lists_every_token_and_a_scoped_admin_only_its_programmes() {
    let app = TestApp::spawn_empty().await;
    let t = &app.tokens;

    let all = app.list_tokens(&t.admin).await;
    assert_eq!(all.header("cache-control"), Some("no-store"));
    let all = all.ok_json(200);
    assert_eq!(
        names(&all),
        [
            "ada admin",
            "cora coordinator",
            "max mentor",
            "vic viewer",
            "bea brussels",
            "bob brussels admin"
        ]
    );
    let bea = &all["tokens"][4];
    assert_eq!(bea["id"], json!(t.brussels.id));
    assert_eq!(bea["role"], json!("coordinator"));
    assert_eq!(bea["programme"], json!("brussels"));
    assert_eq!(bea["revoked_at"], Value::Null);
    let text = all.to_string();
    for token in [&t.admin, &t.coordinator, &t.brussels, &t.brussels_admin] {
        let hex = token.secret.rsplit('_').next().unwrap();
        assert!(!text.contains(hex), "a secret is in the list: {text}");
    }
    assert!(!text.contains("hash"), "{text}");

    let scoped = app.list_tokens(&t.brussels_admin).await.ok_json(200);
    assert_eq!(names(&scoped), ["bea brussels", "bob brussels admin"]);
}

#[tokio::test]
async fn only_admin_tokens_list_or_revoke() {
    let app = TestApp::spawn_empty().await;
    let t = &app.tokens;
    for token in [&t.coordinator, &t.mentor, &t.viewer, &t.brussels] {
        let p = app.list_tokens(token).await.problem(403);
        assert!(p["detail"].as_str().unwrap().contains("admin"), "{p}");
        app.revoke(token, &revocation(&t.viewer)).await.problem(403);
    }
    app.list_tokens(Auth::None).await.problem(401);
    app.revoke(Auth::None, &revocation(&t.viewer))
        .await
        .problem(401);
    // Nothing was revoked by the refused requests.
    app.programmes(&t.viewer, "").await.expect(200);
}

#[tokio::test]
async fn a_revoked_token_stops_at_once_and_a_second_revocation_is_409() {
    let app = TestApp::spawn_empty().await;
    let t = &app.tokens;
    app.programmes(&t.coordinator, "").await.expect(200);

    let revoked = app
        .revoke(&t.admin, &revocation(&t.coordinator))
        .await
        .ok_json(200);
    assert_eq!(revoked["id"], json!(t.coordinator.id));
    assert_eq!(revoked["name"], json!("cora coordinator"));
    assert!(revoked["revoked_at"].is_string(), "{revoked}");

    let p = app.programmes(&t.coordinator, "").await.problem(401);
    assert!(p["detail"].as_str().unwrap().contains("revoked"), "{p}");
    let listed = app.list_tokens(&t.admin).await.ok_json(200);
    assert_eq!(listed["tokens"][1]["revoked_at"], revoked["revoked_at"]);

    let again = app.revoke(&t.admin, &revocation(&t.coordinator)).await;
    let p = again.problem(409);
    assert!(
        p["detail"].as_str().unwrap().contains("already revoked"),
        "{p}"
    );
    // The other tokens still work.
    app.programmes(&t.viewer, "").await.expect(200);
}

#[tokio::test]
async fn a_scoped_admin_revokes_its_programmes_tokens_and_no_other() {
    let app = TestApp::spawn_empty().await;
    let t = &app.tokens;

    // A token of every programme, and an unknown one, get the same answer:
    // the scoped admin learns nothing about tokens it does not manage.
    let outside = app
        .revoke(&t.brussels_admin, &revocation(&t.coordinator))
        .await
        .problem(404);
    let unknown = app
        .revoke(&t.brussels_admin, &json!({"token": "tok_000000000000"}))
        .await
        .problem(404);
    let detail = |p: &Value, id: &str| p["detail"].as_str().unwrap().replace(id, "ID");
    assert_eq!(
        detail(&outside, &t.coordinator.id),
        detail(&unknown, "tok_000000000000")
    );
    app.programmes(&t.coordinator, "").await.expect(200);

    app.revoke(&t.brussels_admin, &revocation(&t.brussels))
        .await
        .ok_json(200);
    app.programmes(&t.brussels, "").await.problem(401);

    // An admin may revoke its own token.
    app.revoke(&t.brussels_admin, &revocation(&t.brussels_admin))
        .await
        .ok_json(200);
    app.list_tokens(&t.brussels_admin).await.problem(401);
}

#[tokio::test]
async fn a_revocation_is_read_strictly() {
    let app = TestApp::spawn_empty().await;
    let admin = &app.tokens.admin;
    let p = app
        .revoke(admin, &json!({"token": app.tokens.viewer.secret}))
        .await
        .problem(422);
    assert_eq!(fields(&p), ["token"]);
    assert!(
        !p.to_string().contains(&app.tokens.viewer.secret),
        "a secret sent by mistake is not echoed: {p}"
    );
    let p = app
        .revoke(admin, &json!({"token": app.tokens.viewer.id, "also": 1}))
        .await
        .problem(422);
    assert_eq!(fields(&p), ["also"]);
    let reply = app
        .send(
            Method::POST,
            "/api/v1/revocations",
            admin.into(),
            "",
            &[("content-type", "text/plain")],
            Some(revocation(&app.tokens.viewer).to_string().into()),
        )
        .await;
    reply.problem(415);
    app.programmes(&app.tokens.viewer, "").await.expect(200);
}
